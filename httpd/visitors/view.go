package visitors

import (
	"time"

	"appliance/httpd/callbacks"
	"appliance/httpd/leads"
	"appliance/httpd/visits"
	"appliance/store"
)

// View is a card as the reports API answers it (GET /api/v1/visitors/ID):
// the result of the README's visitor card. Times are RFC 3339 in UTC;
// every list is newest first, pages and events in the order they happened.
type View struct {
	VisitorID  uint64         `json:"visitor_id"`
	FirstSeen  time.Time      `json:"first_seen"`
	LastSeen   time.Time      `json:"last_seen"`
	Bot        bool           `json:"bot"`
	Contacts   ContactsView   `json:"contacts"`
	Properties []PropertyView `json:"properties"`
	Sessions   []SessionView  `json:"sessions"`
	Leads      []LeadView     `json:"leads"`
	Callbacks  []CallbackView `json:"callbacks"`
	Calls      []CallView     `json:"calls"`
	Chats      []ChatView     `json:"chats"`
	More       MoreView       `json:"more"`
	// Next is, per list, where it goes on: the id of the newest record
	// not shown, the at= of the list's next page
	// (?older=LIST&at=NEXT); 0 when the list is all here.
	Next NextView `json:"next"`
	// List names the one list a page of older records holds (?older=),
	// the others empty; absent on the whole card.
	List string `json:"list,omitempty"`
}

// ContactsView is what the visitor told of themselves (addVisitorInfo).
type ContactsView struct {
	Name   string   `json:"name"`
	Phones []string `json:"phones"` // E.164 digits
	Emails []string `json:"emails"`
	// PhonesTyped and EmailsTyped were given as a phone or an email but did
	// not parse: kept as typed.
	PhonesTyped []string `json:"phones_typed"`
	EmailsTyped []string `json:"emails_typed"`
}

// PropertyView is one visitor property (Comagic.setProperty).
type PropertyView struct {
	Name      string    `json:"name"`
	Value     string    `json:"value"`
	UpdatedAt time.Time `json:"updated_at"`
}

// SessionView is one session: its source, device, pages and events.
type SessionView struct {
	ID         uint64        `json:"id"`
	StartedAt  time.Time     `json:"started_at"`
	LastHitAt  time.Time     `json:"last_hit_at"`
	Hits       uint32        `json:"hits"`
	EventCount uint32        `json:"event_count"`
	Source     store.Source  `json:"source"`
	ClickID    string        `json:"click_id"`
	UserAgent  string        `json:"user_agent"`
	Device     visits.Device `json:"device"`
	Bot        bool          `json:"bot"`
	Pages      []PageView    `json:"pages"`
	MorePages  int           `json:"more_pages"`
	Events     []EventView   `json:"events"`
	MoreEvents int           `json:"more_events"`
}

// PageView is one page view (hit) of a session.
type PageView struct {
	ID    uint64    `json:"id"`
	At    time.Time `json:"at"`
	URL   string    `json:"url"`
	Title string    `json:"title"`
}

// EventView is one custom event (Comagic.trackEvent).
type EventView struct {
	ID       uint64    `json:"id"`
	HitID    uint64    `json:"hit_id"`
	At       time.Time `json:"at"`
	Category string    `json:"category"`
	Action   string    `json:"action"`
	Name     string    `json:"name"`
	Value    string    `json:"value"`
}

// LeadView is a lead as webhooks show it, with staff's mark as the leads
// API gives it.
type LeadView struct {
	leads.View
	MarkView
}

// CallbackView is a callback request as the callbacks API shows it, with
// staff's mark.
type CallbackView struct {
	callbacks.View
	MarkView
}

// MarkView is staff's mark of a lead or callback, as the leads and
// callbacks APIs give it for the same record.
type MarkView struct {
	Status   string     `json:"status"` // new, in_progress, done, spam
	Note     string     `json:"note"`
	StatusBy string     `json:"status_by"` // who set it; "" when never set
	StatusAt *time.Time `json:"status_at"` // null when never set
}

func markView(status, note, by string, at int64) MarkView {
	m := MarkView{Status: status, Note: note, StatusBy: by}
	if at != 0 {
		t := utc(at)
		m.StatusAt = &t
	}
	return m
}

// CallView is a call of the visitor and how it was matched to them.
type CallView struct {
	ID           uint64       `json:"id"`
	StartedAt    time.Time    `json:"started_at"`
	Called       string       `json:"called"`
	CalledExt    string       `json:"called_ext"` // the extension dialled after it ("12"); "" none
	Caller       string       `json:"caller"`
	CallerTyped  string       `json:"caller_typed"` // the caller as reported when not a number ("anonymous")
	Duration     uint32       `json:"duration"`
	Answered     bool         `json:"answered"`
	RecordingURL string       `json:"recording_url"`
	NumberKind   string       `json:"number_kind"` // dynamic, static, fallback, site
	Match        string       `json:"match"`       // lease, static, caller_id, static+caller_id
	SessionID    uint64       `json:"session_id"`
	Source       store.Source `json:"source"`
}

// ChatView is a chat with its first messages.
type ChatView struct {
	ID           uint64        `json:"id"`
	StartedAt    time.Time     `json:"started_at"`
	ClosedAt     *time.Time    `json:"closed_at"` // null while open
	ClosedBy     string        `json:"closed_by"` // visitor, operator, lead, idle
	Operator     string        `json:"operator"`  // who answered first; "" nobody
	LeadID       uint64        `json:"lead_id"`   // the lead an unanswered chat became; 0 none
	SessionID    uint64        `json:"session_id"`
	Source       store.Source  `json:"source"`
	Messages     []MessageView `json:"messages"`
	MoreMessages int           `json:"more_messages"`
}

// MessageView is one chat message.
type MessageView struct {
	From string    `json:"from"` // visitor, operator, system
	Name string    `json:"name"` // the operator's
	Text string    `json:"text"`
	At   time.Time `json:"at"`
}

// MoreView counts what the card leaves out, per list.
type MoreView struct {
	Sessions  int `json:"sessions"`
	Leads     int `json:"leads"`
	Callbacks int `json:"callbacks"`
	Calls     int `json:"calls"`
	Chats     int `json:"chats"`
}

// NextView is where each list of a card goes on (View.Next).
type NextView struct {
	Sessions  uint64 `json:"sessions"`
	Leads     uint64 `json:"leads"`
	Callbacks uint64 `json:"callbacks"`
	Calls     uint64 `json:"calls"`
	Chats     uint64 `json:"chats"`
}

func utc(ms int64) time.Time { return time.UnixMilli(ms).UTC() }

// ViewOf returns the view of c.
func ViewOf(c *Card) View {
	v := c.Visitor
	out := View{
		VisitorID: v.ID, FirstSeen: utc(v.Created), LastSeen: utc(v.LastSeen), Bot: v.Bot,
		Contacts: ContactsView{Name: v.Name, Phones: nonNil(v.Phones), Emails: nonNil(v.Emails),
			PhonesTyped: nonNil(v.PhonesTyped), EmailsTyped: nonNil(v.EmailsTyped)},
		Properties: []PropertyView{}, Sessions: []SessionView{}, Leads: []LeadView{},
		Callbacks: []CallbackView{}, Calls: []CallView{}, Chats: []ChatView{},
		More: MoreView(c.More), Next: NextView(c.Next),
	}
	for _, p := range c.Properties {
		out.Properties = append(out.Properties, PropertyView{Name: p.Name, Value: p.Value, UpdatedAt: utc(p.Updated)})
	}
	for _, s := range c.Sessions {
		sv := SessionView{ID: s.ID, StartedAt: utc(s.Started), LastHitAt: utc(s.LastHit), Hits: s.Hits, EventCount: s.Session.Events,
			Source: s.TrafficSource(), ClickID: s.ClickID, UserAgent: s.UserAgent, Device: s.Device, Bot: s.Bot,
			Pages: []PageView{}, Events: []EventView{}, MorePages: s.MorePages, MoreEvents: s.MoreEvents}
		for _, h := range s.Pages {
			sv.Pages = append(sv.Pages, PageView{ID: h.ID, At: utc(h.Time), URL: h.URL, Title: h.Title})
		}
		for _, e := range s.Events {
			sv.Events = append(sv.Events, EventView{ID: e.ID, HitID: e.Hit, At: utc(e.Time), Category: e.Category,
				Action: e.Action, Name: e.Name, Value: e.Value})
		}
		out.Sessions = append(out.Sessions, sv)
	}
	for _, l := range c.Leads {
		out.Leads = append(out.Leads, LeadView{View: leads.ViewOf(&l.Lead), MarkView: markView(l.Status, l.Note, l.By, l.At)})
	}
	for _, cb := range c.Callbacks {
		out.Callbacks = append(out.Callbacks, CallbackView{View: callbacks.ViewOf(&cb.Callback, c.Groups), MarkView: markView(cb.Status, cb.Note, cb.By, cb.At)})
	}
	for _, call := range c.Calls {
		out.Calls = append(out.Calls, CallView{ID: call.ID, StartedAt: utc(call.Time), Called: call.Called, CalledExt: call.CalledExt, Caller: call.Caller,
			CallerTyped: call.CallerTyped, Duration: call.Duration, Answered: call.Answered, RecordingURL: call.RecordingURL, NumberKind: call.Kind,
			Match: call.Match, SessionID: call.Session, Source: call.Source})
	}
	for _, ch := range c.Chats {
		cv := ChatView{ID: ch.ID, StartedAt: utc(ch.Created), ClosedBy: ch.ClosedBy, Operator: ch.Assigned, LeadID: ch.Lead,
			SessionID: ch.Session, Source: ch.Source, Messages: []MessageView{}, MoreMessages: ch.MoreMessages}
		if ch.Closed != 0 {
			t := utc(ch.Closed)
			cv.ClosedAt = &t
		}
		for _, m := range ch.Messages {
			cv.Messages = append(cv.Messages, MessageView{From: m.From, Name: m.Name, Text: m.Text, At: utc(m.At)})
		}
		out.Chats = append(out.Chats, cv)
	}
	return out
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
