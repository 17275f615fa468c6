package export

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"
	"unsafe"

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
	Created string   `json:"created"`
	Name    string   `json:"name"`
	Phones  []string `json:"phones"`
	Emails  []string `json:"emails"`
	// PhonesTyped and EmailsTyped were given as a phone or an email but
	// did not parse: kept as typed.
	PhonesTyped []string          `json:"phones_typed"`
	EmailsTyped []string          `json:"emails_typed"`
	Properties  map[string]string `json:"properties"`
	Bot         bool              `json:"bot"`
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
	CalledExt    string `json:"called_ext"` // the extension dialled after it ("12"); "" none
	Caller       string `json:"caller"`
	CallerTyped  string `json:"caller_typed"` // as reported when not a number ("anonymous")
	Received     string `json:"received_at"`
	Duration     uint32 `json:"duration"`
	Answered     bool   `json:"answered"`
	RecordingURL string `json:"recording_url"`
	NumberKind   string `json:"number_kind"` // dynamic, static, fallback, site, unknown
	Attributed   bool   `json:"attributed"`
	Match        string `json:"match"` // lease, static, caller_id, static+caller_id; "" none
	Pool         string `json:"pool"`  // the pool's name when the call was stored; "" none (or stored before it was kept)
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

// encoder turns export log entries into messages. A hit's or event's
// entry carries the record and its session as written (store.Tx.ExportValue),
// so nothing is read for them; for the other entries it reads the record
// the entry names (and an event's session, for an entry written before
// entries carried them) from the store. A batch is read ahead (prefetch)
// in key order with one iterator for the records and one for the
// sessions, each session once; encode then takes them from there.
type encoder struct {
	db       *store.DB
	sites    map[uint32]string    // site id -> key
	subjects map[subjectOf]string // a site's and kind's subject, without the base
	buf      bytes.Buffer
	json     *json.Encoder // into buf
	body     []byte        // the message encode returned last
	id       []byte        // its Nats-Msg-Id
	atBuf    []byte        // its time (at)

	// The batch prefetch read; entry i's record is arena[rec[i].from:rec[i].to]
	// (from < 0: gone) and its session, for a hit or event, sessions[sess[i]].
	refs     []store.RecordRef
	rec      []span
	sess     []int
	sessions []prefetched
	arena    []byte
	order    []int
	keys     [][]byte
	skeys    []sessionKey
}

type subjectOf struct {
	site uint32
	kind string
}

type span struct{ from, to int }

type sessionKey struct {
	key   []byte
	entry int
}

type prefetched struct {
	s     store.Session
	found bool
	err   error
}

func newEncoder(db *store.DB) *encoder {
	e := &encoder{db: db, sites: map[uint32]string{}, subjects: map[subjectOf]string{}}
	e.json = json.NewEncoder(&e.buf)
	e.json.SetEscapeHTML(false)
	return e
}

// prefetch reads what encoding batch needs: every entry's record, and the
// session of every hit and event, each in key order with one iterator.
// Entries whose key is not a record key are left to encode to refuse.
func (e *encoder) prefetch(ctx context.Context, batch []pending) error {
	n := len(batch)
	e.refs, e.rec, e.sess = resize(e.refs, n), resize(e.rec, n), resize(e.sess, n)
	e.arena, e.order, e.keys, e.skeys, e.sessions = e.arena[:0], e.order[:0], e.keys[:0], e.skeys[:0], e.sessions[:0]
	for i := range batch {
		e.rec[i], e.sess[i] = span{-1, -1}, -1
		ref, ok := store.ParseRecordKey(batch[i].entry.Key)
		e.refs[i] = ref
		if !ok {
			continue
		}
		if batch[i].entry.Record == nil {
			e.order = append(e.order, i)
		}
		if (ref.Family == store.RecordHit || ref.Family == store.RecordEvent) && batch[i].entry.Session == nil {
			e.skeys = append(e.skeys, sessionKey{store.SessionKey(ref.Site, ref.Session), i})
		}
	}
	slices.SortFunc(e.order, func(a, b int) int { return bytes.Compare(batch[a].entry.Key, batch[b].entry.Key) })
	for _, i := range e.order {
		e.keys = append(e.keys, batch[i].entry.Key)
	}
	err := e.db.GetSorted(ctx, e.keys, func(j int, v []byte) {
		if v != nil {
			from := len(e.arena)
			e.arena = append(e.arena, v...)
			e.rec[e.order[j]] = span{from, len(e.arena)}
		}
	})
	if err != nil {
		return err
	}
	slices.SortFunc(e.skeys, func(a, b sessionKey) int { return bytes.Compare(a.key, b.key) })
	e.keys = e.keys[:0]
	for _, k := range e.skeys {
		if len(e.keys) == 0 || !bytes.Equal(e.keys[len(e.keys)-1], k.key) {
			e.keys = append(e.keys, k.key)
		}
		e.sess[k.entry] = len(e.keys) - 1
	}
	return e.db.GetSorted(ctx, e.keys, func(_ int, v []byte) {
		p := prefetched{found: v != nil}
		if p.found {
			p.s, p.err = store.DecodeSession(v)
		}
		e.sessions = append(e.sessions, p)
	})
}

func resize[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	return s[:n]
}

// subject is the message's subject under base (Message.Subject), made
// once per site and kind.
func (e *encoder) subject(base string, m *Message) string {
	k := subjectOf{m.Site, m.Kind}
	s, ok := e.subjects[k]
	if !ok {
		s = m.Subject(base, e.sites[m.Site])
		e.subjects[k] = s
	}
	return s
}

// timeLayout is how times are written: RFC 3339, UTC, milliseconds.
const timeLayout = "2006-01-02T15:04:05.000Z"

// timeText writes the Unix millisecond ms in timeLayout ("" for 0).
func timeText(ms int64) string { return string(appendTime(nil, ms)) }

// appendTime appends the Unix millisecond ms in timeLayout (nothing for
// 0), by hand for years 0 to 9999 (time.Format is a sixth of the
// exporter's CPU otherwise); TestTimeText holds it to time.Format.
func appendTime(dst []byte, ms int64) []byte {
	if ms == 0 {
		return dst
	}
	t := time.UnixMilli(ms).UTC()
	y, mo, d := t.Date()
	if y < 0 || y > 9999 {
		return t.AppendFormat(dst, timeLayout)
	}
	h, mi, sec := t.Clock()
	var b [len(timeLayout)]byte
	put := func(at, v, digits int) {
		for i := at + digits - 1; i >= at; i-- {
			b[i] = byte('0' + v%10)
			v /= 10
		}
	}
	put(0, y, 4)
	b[4] = '-'
	put(5, int(mo), 2)
	b[7] = '-'
	put(8, d, 2)
	b[10] = 'T'
	put(11, h, 2)
	b[13] = ':'
	put(14, mi, 2)
	b[16] = ':'
	put(17, sec, 2)
	b[19] = '.'
	put(20, t.Nanosecond()/1e6, 3)
	b[23] = 'Z'
	return append(dst, b[:]...)
}

// at is timeText written into the encoder's own buffer, valid until the
// next call: for the message being encoded.
func (e *encoder) at(ms int64) string {
	e.atBuf = appendTime(e.atBuf[:0], ms)
	return view(e.atBuf)
}

// view is b as a string, without a copy: valid while b is unchanged.
func view(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }

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

// session is the session of batch entry i, a hit or event of session id:
// the one its entry carries, else the one prefetched. The strings of one
// the entry carries alias it.
func (e *encoder) session(i int, id uint64, entry *store.ExportEntry) (store.Session, error) {
	if entry.Session != nil {
		return store.DecodeSessionView(entry.Session)
	}
	p := e.sessions[e.sess[i]]
	if !p.found {
		return store.Session{ID: id}, nil // a hit outlives nothing; keep what the key says
	}
	return p.s, p.err
}

// encode builds the message of entry i of the batch prefetch read last.
// errGone: the record is no longer there (nothing to publish). The
// message's Body and MsgID are valid until the next call.
func (e *encoder) encode(ctx context.Context, i int, entry store.ExportEntry) (Message, error) {
	k := entry.Key
	ref := e.refs[i]
	if _, ok := store.ParseRecordKey(k); !ok {
		return Message{}, fmt.Errorf("export entry names key %x: %w", k, store.ErrCorrupt)
	}
	siteKey, err := e.siteKey(ref.Site)
	if err != nil {
		return Message{}, err
	}
	v := entry.Record
	if v == nil {
		r := e.rec[i]
		if r.from < 0 {
			return Message{}, errGone
		}
		v = e.arena[r.from:r.to]
	}
	h := Header{V: SchemaVersion, Site: siteKey, ID: ref.ID}
	switch ref.Family {
	case store.RecordHit, store.RecordEvent, store.RecordLead, store.RecordCall, store.RecordChatMessage:
		// at is the record's own time, set below
	default:
		h.At = timeText(entry.At)
	}
	m := Message{Site: ref.Site, At: entry.At}
	id := func(parts ...uint64) string {
		e.id = append(append(append(e.id[:0], siteKey...), '.'), m.Kind...)
		for _, p := range parts {
			e.id = strconv.AppendUint(append(e.id, '.'), p, 10)
		}
		return view(e.id)
	}
	m.Kind = kinds[ref.Family]
	h.Kind = m.Kind
	var body any
	switch ref.Family {
	case store.RecordHit:
		hit, err := store.DecodeHitView(ref.Session, ref.ID, v)
		if err != nil {
			return m, err
		}
		s, err := e.session(i, ref.Session, &entry)
		if err != nil {
			return m, err
		}
		m.At, h.At = hit.Time, e.at(hit.Time)
		m.MsgID = id(ref.ID)
		msg := Hit{Header: h, Session: s.ID, Visitor: s.Visitor, URL: hit.URL, Title: hit.Title, Bot: s.Bot,
			Source: sourceOf(s.TrafficSource())}
		e.body = msg.appendJSON(e.body[:0])
		m.Body = e.body
		return m, nil
	case store.RecordEvent:
		ev, err := store.DecodeEventView(ref.Session, ref.ID, v)
		if err != nil {
			return m, err
		}
		s, err := e.session(i, ref.Session, &entry)
		if err != nil {
			return m, err
		}
		m.At, h.At = ev.Time, e.at(ev.Time)
		m.MsgID = id(ref.ID)
		msg := Event{Header: h, Session: s.ID, Visitor: s.Visitor, Hit: ev.Hit, Category: ev.Category,
			Action: ev.Action, Name: ev.Name, Value: ev.Value, Bot: s.Bot, Source: sourceOf(s.TrafficSource())}
		e.body = msg.appendJSON(e.body[:0])
		m.Body = e.body
		return m, nil
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
			Emails: nonNil(vis.Emails), PhonesTyped: nonNil(vis.PhonesTyped), EmailsTyped: nonNil(vis.EmailsTyped), Properties: props, Bot: vis.Bot}
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
		if entry.At != c.Time { // a later report's change (tracking.RecordCall)
			m.MsgID = id(ref.ID, uint64(max(entry.At, 0)))
		}
		body = Call{Header: h, Called: c.Called, CalledExt: c.CalledExt, Caller: c.Caller, CallerTyped: c.CallerTyped, Received: timeText(c.Received),
			Duration: c.Duration, Answered: c.Answered, RecordingURL: c.RecordingURL, NumberKind: c.Kind,
			Attributed: c.Attributed, Match: c.Match, Pool: c.PoolName, Visitor: c.Visitor, Session: c.Session, Source: sourceOf(c.Source)}
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
	if err := e.json.Encode(body); err != nil {
		return m, fmt.Errorf("encode %s %d: %w", m.Kind, ref.ID, err)
	}
	m.Body = bytes.TrimSuffix(e.buf.Bytes(), []byte("\n"))
	return m, nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// money writes hundredths as a decimal with two places.
func money(hundredths int64) json.Number { return json.Number(store.Money(hundredths)) }

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
