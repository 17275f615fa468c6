package export

import (
	"appliance/internal/jsonstr"
	"strconv"
)

// Hits and events are most of the stream, so their messages are written
// field by field rather than through encoding/json's reflection; the bytes
// are the same as json.Marshal's with HTML escaping off (the other kinds'
// encoding), which TestAppendJSON and FuzzAppendJSON hold them to.

// jsonObject appends the fields of one JSON object.
type jsonObject struct {
	b []byte
	n int // fields so far
}

func (w *jsonObject) key(k string) {
	if w.n > 0 {
		w.b = append(w.b, ',')
	}
	w.n++
	w.b = append(append(append(w.b, '"'), k...), '"', ':')
}

func (w *jsonObject) str(k, v string) { w.key(k); w.b = appendJSONString(w.b, v) }

func (w *jsonObject) uint(k string, v uint64) { w.key(k); w.b = strconv.AppendUint(w.b, v, 10) }

func (w *jsonObject) int(k string, v int) { w.key(k); w.b = strconv.AppendInt(w.b, int64(v), 10) }

func (w *jsonObject) bool(k string, v bool) { w.key(k); w.b = strconv.AppendBool(w.b, v) }

func (h *Header) fields(w *jsonObject) {
	w.int("v", h.V)
	w.str("kind", h.Kind)
	w.str("site", h.Site)
	w.uint("id", h.ID)
	w.str("at", h.At)
}

func (s *Source) fields(w *jsonObject) {
	w.str("channel", s.Channel)
	w.str("utm_source", s.UTMSource)
	w.str("utm_medium", s.UTMMedium)
	w.str("utm_campaign", s.UTMCampaign)
	w.str("utm_term", s.UTMTerm)
	w.str("utm_content", s.UTMContent)
	w.str("click", s.Click)
	w.str("referrer", s.Referrer)
	w.str("landing_page", s.Landing)
}

// appendJSON appends h as json.Marshal writes it.
func (h *Hit) appendJSON(b []byte) []byte {
	w := jsonObject{b: append(b, '{')}
	h.Header.fields(&w)
	w.uint("session_id", h.Session)
	w.uint("visitor_id", h.Visitor)
	w.str("url", h.URL)
	w.str("title", h.Title)
	w.bool("bot", h.Bot)
	h.Source.fields(&w)
	return append(w.b, '}')
}

// appendJSON appends ev as json.Marshal writes it.
func (ev *Event) appendJSON(b []byte) []byte {
	w := jsonObject{b: append(b, '{')}
	ev.Header.fields(&w)
	w.uint("session_id", ev.Session)
	w.uint("visitor_id", ev.Visitor)
	w.uint("hit_id", ev.Hit)
	w.str("category", ev.Category)
	w.str("action", ev.Action)
	w.str("name", ev.Name)
	w.str("value", ev.Value)
	w.bool("bot", ev.Bot)
	ev.Source.fields(&w)
	return append(w.b, '}')
}

// appendJSONString appends s quoted as encoding/json does with HTML
// escaping off: a consumer reads the events as data, not as HTML.
func appendJSONString(b []byte, s string) []byte { return jsonstr.Append(b, s, false) }
