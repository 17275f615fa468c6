package callbacks

import (
	"context"
	"fmt"
	"strings"
	"time"

	"appliance/httpd/leads"
	"appliance/httpd/webhooks"
	"appliance/numbers"
	"appliance/store"
)

// View is a callback as webhooks, scenarios and exports show it: the
// "data" of a callback event.
type View struct {
	ID        uint64    `json:"id"`
	CreatedAt time.Time `json:"created_at"`
	Phone     string    `json:"phone"` // E.164 digits
	PhoneRaw  string    `json:"phone_raw"`
	// PhoneUnparsed flags a phone kept as typed that does not parse as a
	// number (Phone is ""): a person calls it back, no scenario does.
	PhoneUnparsed bool         `json:"phone_unparsed"`
	GroupID       *uint64      `json:"group_id"`   // null when none
	GroupName     string       `json:"group_name"` // from the site's groups; "" when unknown
	CallAt        *time.Time   `json:"delayed_call_time"`
	State         string       `json:"state"` // pending, sent, failed, no_scenario
	PageURL       string       `json:"page_url"`
	VisitorID     uint64       `json:"visitor_id"`
	SessionID     uint64       `json:"session_id"`
	HitID         uint64       `json:"hit_id"`
	Source        store.Source `json:"source"`
}

// State names, as views and the dashboard's filter write them.
var stateNames = map[byte]string{
	store.CallbackPending:    "pending",
	store.CallbackSent:       "sent",
	store.CallbackFailed:     "failed",
	store.CallbackNoScenario: "no_scenario",
}

// StateName names a callback state.
func StateName(state byte) string { return stateNames[state] }

// StateLabel is the words for a state's name (StateName), in English:
// the catalog's key for the reader's language. A name is a code
// (no_scenario), for filters, the API and webhooks; a page shows this.
func StateLabel(name string) string {
	if name == "no_scenario" {
		return "no scenario"
	}
	return name
}

// ViewOf returns the view of cb; groups name its group.
func ViewOf(cb *store.Callback, groups []store.WidgetGroup) View {
	v := View{
		ID: cb.ID, CreatedAt: time.UnixMilli(cb.Time).UTC(), Phone: cb.Phone, PhoneRaw: cb.PhoneRaw,
		PhoneUnparsed: Unparsed(cb), State: StateName(cb.State), PageURL: cb.PageURL, VisitorID: cb.Visitor, SessionID: cb.Session, HitID: cb.Hit,
		Source: cb.Source,
	}
	if cb.GroupID != 0 {
		g := cb.GroupID
		v.GroupID = &g
		for _, wg := range groups {
			if wg.ID == g {
				v.GroupName = wg.Name
			}
		}
	}
	if cb.Delayed != 0 {
		t := time.UnixMilli(cb.Delayed).UTC()
		v.CallAt = &t
	}
	return v
}

// Filter selects callbacks; the zero value selects all.
type Filter struct {
	From, To time.Time // ordered in [From, To); zero: unbounded
	State    string    // a state name; "" any
	// Phone is digits the phone contains, parsed (Phone) or as typed
	// (the digits of PhoneRaw); PhoneText is text the phone as typed
	// contains, in any case. A callback matches either; both "": any.
	Phone     string
	PhoneText string
	Status    string // staff's mark: leads.StatusNew, StatusDone, StatusSpam; "" any
	// At starts the list at the callback with this id and goes on to
	// older ones (a page of a long list); 0: from the newest.
	At uint64
}

func (f *Filter) match(cb *store.Callback) bool {
	t := time.UnixMilli(cb.Time)
	switch {
	case !f.From.IsZero() && t.Before(f.From), !f.To.IsZero() && !t.Before(f.To):
		return false
	case f.State != "" && StateName(cb.State) != f.State:
		return false
	case (f.Phone != "" || f.PhoneText != "") && !f.matchPhone(cb):
		return false
	}
	return true
}

func (f *Filter) matchPhone(cb *store.Callback) bool {
	if f.Phone != "" && (strings.Contains(cb.Phone, f.Phone) || strings.Contains(numbers.Digits(cb.PhoneRaw), f.Phone)) {
		return true
	}
	return f.PhoneText != "" && strings.Contains(strings.ToLower(cb.PhoneRaw), strings.ToLower(f.PhoneText))
}

// ParseState checks a state name of a filter; "" is any.
func ParseState(s string) (string, bool) {
	if s == "" {
		return "", true
	}
	for _, name := range stateNames {
		if name == s {
			return s, true
		}
	}
	return "", false
}

// idSkew is how much later than a newer callback an older one may carry
// its time: ids are taken after the handler read the clock, so concurrent
// requests may be out of order by a little.
const idSkew = time.Minute

// List calls fn with each callback of site that f selects, newest first,
// until fn returns false or limit callbacks were given (limit <= 0: all).
// The callback is fn's to keep.
func (s *Service) List(ctx context.Context, site uint32, f Filter, limit int, fn func(store.Callback) bool) error {
	var marks map[uint64]store.Mark
	if f.Status != "" {
		var err error
		if marks, err = s.Marks(ctx, site); err != nil {
			return fmt.Errorf("list callbacks: %w", err)
		}
	}
	n := 0
	var derr error
	prefix := store.CallbackPrefix(site)
	upper := store.PrefixEnd(prefix)
	if f.At != 0 {
		upper = append(store.CallbackKey(site, f.At), 0)
	}
	err := s.db.Scan(ctx, prefix, upper, true, 0, func(k, v []byte) bool {
		id, _ := store.IDFromKey(k)
		cb, err := store.DecodeCallback(id, v)
		if err != nil {
			derr = fmt.Errorf("callback %d: %w", id, err)
			return false
		}
		if !f.From.IsZero() && time.UnixMilli(cb.Time).Before(f.From.Add(-idSkew)) {
			return false // every older callback is before From too
		}
		if !f.match(&cb) || f.Status != "" && leads.StatusOf(marks[id]) != f.Status {
			return true
		}
		n++
		return fn(cb) && (limit <= 0 || n < limit)
	})
	if err == nil {
		err = derr
	}
	if err != nil {
		return fmt.Errorf("list callbacks: %w", err)
	}
	return nil
}

// Since calls fn with each callback of site that f selects whose id is
// above after, oldest first, with its mark, until fn returns false or
// limit callbacks were given (limit <= 0: all); it stops at the first
// callback ordered at or after until (zero: no bound), as leads.Since does
// and for the same reason. The callback is fn's to keep.
func (s *Service) Since(ctx context.Context, site uint32, f Filter, after uint64, until time.Time, limit int, fn func(store.Callback, store.Mark) bool) error {
	marks, err := s.Marks(ctx, site)
	if err != nil {
		return fmt.Errorf("list callbacks: %w", err)
	}
	// A filter's end stops the scan idSkew after it, not at it: a
	// callback of the range may carry a later id than one just past its
	// end (the filter leaves those out). The settling bound stays exact.
	if end := f.To.Add(idSkew); !f.To.IsZero() && (until.IsZero() || end.Before(until)) {
		until = end
	}
	n := 0
	var derr error
	err = s.db.Scan(ctx, store.CallbackKey(site, after+1), store.PrefixEnd(store.CallbackPrefix(site)), false, 0, func(k, v []byte) bool {
		id, _ := store.IDFromKey(k)
		if id <= after {
			return true
		}
		cb, err := store.DecodeCallback(id, v)
		if err != nil {
			derr = fmt.Errorf("callback %d: %w", id, err)
			return false
		}
		if !until.IsZero() && !time.UnixMilli(cb.Time).Before(until) {
			return false
		}
		if !f.match(&cb) || f.Status != "" && leads.StatusOf(marks[id]) != f.Status {
			return true
		}
		n++
		return fn(cb, marks[id]) && (limit <= 0 || n < limit)
	})
	if err == nil {
		err = derr
	}
	if err != nil {
		return fmt.Errorf("list callbacks: %w", err)
	}
	return nil
}

// Reasons a callback was not handed to its scenario that are the
// callbacks' own; below them, store.Callback.LastReason holds a
// webhooks.Reason* of the scenario's request. Their numbers are stored:
// never renumber one.
const (
	ReasonNoScenario byte = 100 // the scenario was removed before the call came due
	ReasonTooLate    byte = 101 // the call came due while the appliance was down, too late to make
)

// ReasonText is the words of a callback's LastReason for the callbacks
// page, a key of the dashboard's catalog; "" for none.
func ReasonText(reason byte) string {
	switch reason {
	case ReasonNoScenario:
		return "The callback scenario was removed before the call came due: call the visitor yourself."
	case ReasonTooLate:
		return "The call came due while the server was down and was too late to make: call the visitor yourself."
	}
	return webhooks.ReasonText(reason)
}

// Detail is what the scenario's side said of cb's last failed attempt
// (its answer, or the network's error), as the receiver and Go word it,
// in English: for the callbacks page to show as a technical detail under
// ReasonText's words. It is "" when there is nothing beyond those words,
// as for the callbacks' own reasons, which ReasonText says whole.
func Detail(cb *store.Callback) string {
	switch cb.LastReason {
	case ReasonNoScenario, ReasonTooLate:
		return ""
	}
	return cb.LastError
}
