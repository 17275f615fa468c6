package export

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"appliance/store"
)

// Kinds of messages, the last token of their subject and the "kind" field.
const (
	KindHit         = "hit"
	KindEvent       = "event"
	KindVisitor     = "visitor"
	KindLead        = "lead"
	KindCallback    = "callback"
	KindCall        = "call"
	KindChat        = "chat"
	KindChatMessage = "chat_message"
)

// SchemaVersion is the "v" of every message this code writes. A field is
// only ever added within a version; a change of meaning is a new version.
const SchemaVersion = 1

// Header is what every message starts with.
type Header struct {
	V    int    `json:"v"`    // schema version
	Kind string `json:"kind"` // one of the Kind* constants
	Site string `json:"site"` // the site's 32-char key; "" for a call to a number no site has
	ID   uint64 `json:"id"`   // the record's id (for chat_message: the chat's)
	At   string `json:"at"`   // when it happened, RFC 3339 UTC with milliseconds
}

// Source is a session's traffic source, flattened into the messages of
// hits, events and every outcome (lead, callback, call, chat).
type Source struct {
	Channel     string `json:"channel"` // organic, social, referral, direct, ad; "" unknown
	UTMSource   string `json:"utm_source"`
	UTMMedium   string `json:"utm_medium"`
	UTMCampaign string `json:"utm_campaign"`
	UTMTerm     string `json:"utm_term"`
	UTMContent  string `json:"utm_content"`
	Click       string `json:"click"` // click id kind: gclid, yclid, fbclid
	Referrer    string `json:"referrer"`
	Landing     string `json:"landing_page"`
}

func sourceOf(s store.Source) Source { return Source(s) }

// Hit is a page view.
type Hit struct {
	Header
	Session uint64 `json:"session_id"`
	Visitor uint64 `json:"visitor_id"`
	URL     string `json:"url"`
	Title   string `json:"title"`
	Bot     bool   `json:"bot"`
	Source
}

// Event is a custom event (Comagic.trackEvent).
type Event struct {
	Header
	Session  uint64 `json:"session_id"`
	Visitor  uint64 `json:"visitor_id"`
	Hit      uint64 `json:"hit_id"`
	Category string `json:"category"`
	Action   string `json:"action"`
	Name     string `json:"name"`
	Value    string `json:"value"`
	Bot      bool   `json:"bot"`
	Source
}

// Visitor is a visitor's state after a change of their name, phones,
// emails or properties.
type Visitor struct {
	Header
	Created    string            `json:"created"`
	Name       string            `json:"name"`
	Phones     []string          `json:"phones"`
	Emails     []string          `json:"emails"`
	Properties map[string]string `json:"properties"`
	Bot        bool              `json:"bot"`
}

// Attribution is where an outcome came from.
type Attribution struct {
	Visitor uint64 `json:"visitor_id"` // 0: not known
	Session uint64 `json:"session_id"`
	Hit     uint64 `json:"hit_id"`
	PageURL string `json:"page_url"`
	Source
}

func attributionOf(a store.Attribution) Attribution {
	return Attribution{Visitor: a.Visitor, Session: a.Session, Hit: a.Hit, PageURL: a.PageURL, Source: sourceOf(a.Source)}
}

// Lead is a request a visitor left.
type Lead struct {
	Header
	Via      string      `json:"via"` // js, server, form, chat
	Name     string      `json:"name"`
	Email    string      `json:"email"`     // normalised; "" when none parsed
	EmailRaw string      `json:"email_raw"` // as typed
	Phone    string      `json:"phone"`     // E.164 digits; "" when none parsed
	PhoneRaw string      `json:"phone_raw"` // as typed
	Message  string      `json:"message"`
	IsSale   bool        `json:"is_sale"`
	SaleCost json.Number `json:"sale_cost"` // in currency units, two decimals
	GroupID  uint64      `json:"group_id"`
	FormName string      `json:"form_name"`
	Attribution
}

// Callback is a callback request, in its state when exported.
type Callback struct {
	Header
	Phone    string `json:"phone"`
	PhoneRaw string `json:"phone_raw"`
	GroupID  uint64 `json:"group_id"`
	Delayed  string `json:"delayed_to"` // when to call; "" at once
	State    string `json:"state"`      // pending, sent, failed, no_scenario
	Attempts uint32 `json:"attempts"`
	Sent     string `json:"sent_at"` // "" until the scenario took it
	Attribution
}

// Call is an inbound call the telephony side reported.
type Call struct {
	Header
	Called       string `json:"called"`
	Caller       string `json:"caller"`
	Received     string `json:"received_at"`
	Duration     uint32 `json:"duration"`
	Answered     bool   `json:"answered"`
	RecordingURL string `json:"recording_url"`
	NumberKind   string `json:"number_kind"` // dynamic, static, fallback, site, unknown
	Attributed   bool   `json:"attributed"`
	Match        string `json:"match"` // lease, static, caller_id, static+caller_id; "" none
	Visitor      uint64 `json:"visitor_id"`
	Session      uint64 `json:"session_id"`
	Source
}

// Chat is a chat's state when it opened or closed.
type Chat struct {
	Header
	Created  string `json:"created"`
	Closed   string `json:"closed_at"` // "" while open
	ClosedBy string `json:"closed_by"` // visitor, operator, lead, idle
	Assigned string `json:"assigned"`  // the operator who answered first
	Answered string `json:"answered_at"`
	Messages uint64 `json:"messages"`
	Lead     uint64 `json:"lead_id"` // the lead an unanswered chat became
	Attribution
}

// ChatMessage is one message of a chat.
type ChatMessage struct {
	Header
	Message uint64 `json:"message"` // the message's number in its chat, 1, 2, ...
	From    string `json:"from"`    // visitor, operator, system
	Name    string `json:"name"`    // the operator's name
	Text    string `json:"text"`
	Attribution
}

// Message is one encoded message, ready to publish.
type Message struct {
	Site  uint32 // the site's id in this store
	Kind  string
	MsgID string // Nats-Msg-Id: the same record (or change) always gets the same
	Body  []byte
	At    int64 // Unix ms
}

// Subject is the message's subject under the export subject:
// SUBJECT.SITEKEY.KIND ("_" for a call no site has).
func (m *Message) Subject(base, siteKey string) string {
	if siteKey == "" {
		siteKey = "_"
	}
	return base + "." + siteKey + "." + m.Kind
}

// kinds names the message kind of each record family.
var kinds = map[store.RecordFamily]string{
	store.RecordHit: KindHit, store.RecordEvent: KindEvent, store.RecordVisitor: KindVisitor,
	store.RecordLead: KindLead, store.RecordCallback: KindCallback, store.RecordCall: KindCall,
	store.RecordChat: KindChat, store.RecordChatMessage: KindChatMessage,
}

// errGone is a record an entry names that is no longer there.
var errGone = errors.New("export: record gone")

// encoder turns export log entries into messages: it reads the record the
// entry names (and what it joins: a hit's session) from the store.
type encoder struct {
	db    *store.DB
	sites map[uint32]string // site id -> key
	buf   bytes.Buffer
}

func newEncoder(db *store.DB) *encoder { return &encoder{db: db, sites: map[uint32]string{}} }

func timeText(ms int64) string {
	if ms == 0 {
		return ""
	}
	return time.UnixMilli(ms).UTC().Format("2006-01-02T15:04:05.000Z")
}

func (e *encoder) siteKey(id uint32) (string, error) {
	if id == 0 {
		return "", nil
	}
	if k, ok := e.sites[id]; ok {
		return k, nil
	}
	b, err := e.db.Get(store.SiteKey(id))
	if err != nil {
		return "", fmt.Errorf("site %d: %w", id, err)
	}
	s, err := store.DecodeSite(b)
	if err != nil {
		return "", fmt.Errorf("site %d: %w", id, err)
	}
	e.sites[id] = s.Key
	return s.Key, nil
}

func (e *encoder) get(key []byte) ([]byte, error) {
	b, err := e.db.Get(key)
	if errors.Is(err, store.ErrNotFound) {
		return nil, errGone
	}
	return b, err
}

func (e *encoder) session(site uint32, id uint64) (store.Session, error) {
	b, err := e.get(store.SessionKey(site, id))
	if errors.Is(err, errGone) {
		return store.Session{ID: id}, nil // a hit outlives nothing; keep what the key says
	}
	if err != nil {
		return store.Session{}, err
	}
	return store.DecodeSession(b)
}

// encode builds the message of entry. errGone: the record is no longer
// there (nothing to publish).
func (e *encoder) encode(ctx context.Context, entry store.ExportEntry) (Message, error) {
	k := entry.Key
	ref, ok := store.ParseRecordKey(k)
	if !ok {
		return Message{}, fmt.Errorf("export entry names key %x: %w", k, store.ErrCorrupt)
	}
	siteKey, err := e.siteKey(ref.Site)
	if err != nil {
		return Message{}, err
	}
	v, err := e.get(k)
	if err != nil {
		return Message{}, err
	}
	h := Header{V: SchemaVersion, Site: siteKey, ID: ref.ID, At: timeText(entry.At)}
	m := Message{Site: ref.Site, At: entry.At}
	id := func(parts ...uint64) string {
		s := siteKey + "." + m.Kind
		for _, p := range parts {
			s += "." + strconv.FormatUint(p, 10)
		}
		return s
	}
	m.Kind = kinds[ref.Family]
	h.Kind = m.Kind
	var body any
	switch ref.Family {
	case store.RecordHit:
		hit, err := store.DecodeHit(ref.Session, ref.ID, v)
		if err != nil {
			return m, err
		}
		s, err := e.session(ref.Site, ref.Session)
		if err != nil {
			return m, err
		}
		m.At, h.At = hit.Time, timeText(hit.Time)
		m.MsgID = id(ref.ID)
		body = Hit{Header: h, Session: s.ID, Visitor: s.Visitor, URL: hit.URL, Title: hit.Title, Bot: s.Bot,
			Source: sourceOf(s.TrafficSource())}
	case store.RecordEvent:
		ev, err := store.DecodeEvent(ref.Session, ref.ID, v)
		if err != nil {
			return m, err
		}
		s, err := e.session(ref.Site, ref.Session)
		if err != nil {
			return m, err
		}
		m.At, h.At = ev.Time, timeText(ev.Time)
		m.MsgID = id(ref.ID)
		body = Event{Header: h, Session: s.ID, Visitor: s.Visitor, Hit: ev.Hit, Category: ev.Category,
			Action: ev.Action, Name: ev.Name, Value: ev.Value, Bot: s.Bot, Source: sourceOf(s.TrafficSource())}
	case store.RecordVisitor:
		vis, err := store.DecodeVisitor(v)
		if err != nil {
			return m, err
		}
		if siteKey, err = e.siteKey(vis.Site); err != nil {
			return m, err
		}
		h.Site, m.Site = siteKey, vis.Site
		props := map[string]string{}
		err = e.db.ScanPrefix(ctx, store.PropertyPrefix(vis.ID), false, 0, func(pk, pv []byte) bool {
			p, perr := store.DecodeProperty(pv)
			if perr != nil {
				err = perr
				return false
			}
			name := p.Name
			if name == "" {
				name = string(pk[len(store.PropertyPrefix(vis.ID)):])
			}
			props[name] = p.Value
			return true
		})
		if err != nil {
			return m, err
		}
		m.MsgID = id(vis.ID, uint64(max(entry.At, 0)))
		body = Visitor{Header: h, Created: timeText(vis.Created), Name: vis.Name, Phones: nonNil(vis.Phones),
			Emails: nonNil(vis.Emails), Properties: props, Bot: vis.Bot}
	case store.RecordLead:
		l, err := store.DecodeLead(ref.ID, v)
		if err != nil {
			return m, err
		}
		m.At, h.At = l.Time, timeText(l.Time)
		m.MsgID = id(ref.ID)
		body = Lead{Header: h, Via: l.Via, Name: l.Name, Email: l.Email, EmailRaw: l.EmailRaw, Phone: l.Phone,
			PhoneRaw: l.PhoneRaw, Message: l.Message, IsSale: l.IsSale, SaleCost: money(l.SaleCost),
			GroupID: l.GroupID, FormName: l.FormName, Attribution: attributionOf(l.Attribution)}
	case store.RecordCallback:
		c, err := store.DecodeCallback(ref.ID, v)
		if err != nil {
			return m, err
		}
		m.MsgID = id(ref.ID, uint64(max(entry.At, 0)))
		body = Callback{Header: h, Phone: c.Phone, PhoneRaw: c.PhoneRaw, GroupID: c.GroupID,
			Delayed: timeText(c.Delayed), State: callbackState(c.State), Attempts: c.Attempts,
			Sent: timeText(c.Sent), Attribution: attributionOf(c.Attribution)}
	case store.RecordCall:
		c, err := store.DecodeCall(ref.ID, v)
		if err != nil {
			return m, err
		}
		m.At, h.At = c.Time, timeText(c.Time)
		m.MsgID = id(ref.ID)
		body = Call{Header: h, Called: c.Called, Caller: c.Caller, Received: timeText(c.Received),
			Duration: c.Duration, Answered: c.Answered, RecordingURL: c.RecordingURL, NumberKind: c.Kind,
			Attributed: c.Attributed, Match: c.Match, Visitor: c.Visitor, Session: c.Session, Source: sourceOf(c.Source)}
	case store.RecordChat:
		c, err := store.DecodeChat(ref.Site, ref.ID, v)
		if err != nil {
			return m, err
		}
		m.MsgID = id(ref.ID, uint64(max(entry.At, 0)))
		body = Chat{Header: h, Created: timeText(c.Created), Closed: timeText(c.Closed), ClosedBy: c.ClosedBy,
			Assigned: c.Assigned, Answered: timeText(c.Answered), Messages: c.Last, Lead: c.Lead,
			Attribution: attributionOf(c.Attribution)}
	case store.RecordChatMessage:
		msg, err := store.DecodeChatMessage(ref.ID, v)
		if err != nil {
			return m, err
		}
		cb, err := e.get(store.ChatKey(ref.Site, ref.Session))
		if err != nil {
			return m, err
		}
		c, err := store.DecodeChat(ref.Site, ref.Session, cb)
		if err != nil {
			return m, err
		}
		h.ID = c.ID
		m.At, h.At = msg.At, timeText(msg.At)
		m.MsgID = id(c.ID, msg.ID)
		body = ChatMessage{Header: h, Message: msg.ID, From: msg.From, Name: msg.Name, Text: msg.Text,
			Attribution: attributionOf(c.Attribution)}
	default:
		return m, fmt.Errorf("export entry names key %x: no message for its family", k)
	}
	e.buf.Reset()
	enc := json.NewEncoder(&e.buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(body); err != nil {
		return m, fmt.Errorf("encode %s %d: %w", m.Kind, ref.ID, err)
	}
	m.Body = bytes.TrimSuffix(e.buf.Bytes(), []byte("\n"))
	m.Body = bytes.Clone(m.Body)
	return m, nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// money writes hundredths as a decimal with two places.
func money(hundredths int64) json.Number {
	neg := ""
	if hundredths < 0 {
		neg, hundredths = "-", -hundredths
	}
	return json.Number(fmt.Sprintf("%s%d.%02d", neg, hundredths/100, hundredths%100))
}

func callbackState(s byte) string {
	switch s {
	case store.CallbackPending:
		return "pending"
	case store.CallbackSent:
		return "sent"
	case store.CallbackFailed:
		return "failed"
	case store.CallbackNoScenario:
		return "no_scenario"
	}
	return "unknown"
}
