package leads

import (
	"context"
	"fmt"
	"time"

	"appliance/store"
)

// View is a lead as webhooks and exports show it: the "data" of a lead
// event. Field names follow the reference's request fields.
type View struct {
	ID        uint64    `json:"id"`
	CreatedAt time.Time `json:"created_at"`
	Via       string    `json:"via"`
	Name      string    `json:"name"`
	Email     string    `json:"email"`     // normalised; "" when none or not parsable
	EmailRaw  string    `json:"email_raw"` // as typed
	Phone     string    `json:"phone"`     // E.164 digits; "" when none or not parsable
	PhoneRaw  string    `json:"phone_raw"` // as typed
	// PhoneUnparsed and EmailUnparsed flag what was typed but is not a
	// phone number or an email address.
	PhoneUnparsed bool         `json:"phone_unparsed"`
	EmailUnparsed bool         `json:"email_unparsed"`
	Message       string       `json:"message"`
	IsSale        bool         `json:"is_sale"`
	SaleCost      *string      `json:"sale_cost"` // decimal; null when none
	GroupID       *uint64      `json:"group_id"`  // null when none
	FormName      string       `json:"form_name"`
	PageURL       string       `json:"page_url"`
	VisitorID     uint64       `json:"visitor_id"`
	SessionID     uint64       `json:"session_id"`
	HitID         uint64       `json:"hit_id"`
	Source        store.Source `json:"source"` // of the session the lead came from

	// NoVisit flags a lead of the site without a visit: sent with the
	// site key before the visitor's first page view was answered
	// (getCredentials() then), or by the snippet when that page view
	// failed; its visitor, session and hit are 0 and its source empty.
	NoVisit bool `json:"no_visit"`
}

// ViewOf returns the view of l.
func ViewOf(l *store.Lead) View {
	v := View{
		ID: l.ID, CreatedAt: time.UnixMilli(l.Time).UTC(), Via: l.Via, Name: l.Name, Email: l.Email,
		EmailRaw: l.EmailRaw, Phone: l.Phone, PhoneRaw: l.PhoneRaw, PhoneUnparsed: l.PhoneUnparsed,
		EmailUnparsed: l.EmailUnparsed, Message: l.Message, IsSale: l.IsSale, FormName: l.FormName,
		PageURL: l.PageURL, VisitorID: l.Visitor, SessionID: l.Session, HitID: l.Hit,
		Source: l.Source, NoVisit: l.Visitor == 0,
	}
	if l.IsSale && l.SaleCost != 0 {
		// Two decimals always, as documented (README, webhooks), as
		// the event stream says it.
		c := store.Money(l.SaleCost)
		v.SaleCost = &c
	}
	if l.GroupID != 0 {
		g := l.GroupID
		v.GroupID = &g
	}
	return v
}

// Filter selects leads; the zero value selects all.
type Filter struct {
	From, To time.Time // arrival in [From, To); zero: unbounded
	FormName string    // exact form name; "" any
	HasPhone bool      // only leads with a phone
	Sale     string    // "yes" only sales, "no" only non-sales, "" both
	Status   string    // StatusNew, StatusDone, StatusSpam; "" any
	// At starts the list at the lead with this id and goes on to older
	// ones (a page of a long list: the id is where the page before
	// stopped); 0: from the newest.
	At uint64
}

func (f *Filter) match(l *store.Lead) bool {
	t := time.UnixMilli(l.Time)
	switch {
	case !f.From.IsZero() && t.Before(f.From), !f.To.IsZero() && !t.Before(f.To):
		return false
	case f.FormName != "" && l.FormName != f.FormName:
		return false
	case f.HasPhone && l.PhoneRaw == "":
		return false
	case f.Sale == "yes" && !l.IsSale, f.Sale == "no" && l.IsSale:
		return false
	}
	return true
}

// idSkew is how much later than a newer lead an older one may carry its
// time: ids are taken before the write queues, times when the handler ran,
// so concurrent leads may be out of order by a little.
const idSkew = time.Minute

// List calls fn with each lead of site that f selects, newest first, until
// fn returns false or limit leads were given (limit <= 0: all). The lead is
// fn's to keep.
func (s *Service) List(ctx context.Context, site uint32, f Filter, limit int, fn func(store.Lead) bool) error {
	var marks map[uint64]store.Mark
	if f.Status != "" {
		var err error
		if marks, err = s.Marks(ctx, site); err != nil {
			return fmt.Errorf("list leads: %w", err)
		}
	}
	n := 0
	var derr error
	prefix := store.LeadPrefix(site)
	upper := store.PrefixEnd(prefix)
	if f.At != 0 {
		upper = append(store.LeadKey(site, f.At), 0)
	}
	err := s.db.Scan(ctx, prefix, upper, true, 0, func(k, v []byte) bool {
		id, _ := store.IDFromKey(k)
		l, err := store.DecodeLead(id, v)
		if err != nil {
			derr = fmt.Errorf("lead %d: %w", id, err)
			return false
		}
		if !f.From.IsZero() && time.UnixMilli(l.Time).Before(f.From.Add(-idSkew)) {
			return false // every older lead is before From too
		}
		if !f.match(&l) || f.Status != "" && StatusOf(marks[id]) != f.Status {
			return true
		}
		n++
		return fn(l) && (limit <= 0 || n < limit)
	})
	if err == nil {
		err = derr
	}
	if err != nil {
		return fmt.Errorf("list leads: %w", err)
	}
	return nil
}

// Put stores l, with its id set, as a lead of site within tx, with its
// entries in the visitor's index and, when it has a phone, the phone
// index (a later call from the number is the visitor's).
func Put(tx *store.Tx, site uint32, l *store.Lead) {
	tx.Set(store.LeadKey(site, l.ID), l.Encode())
	tx.Export(store.LeadKey(site, l.ID), l.Time)
	store.IndexVisitorItem(tx, l.Visitor, store.ItemLead, l.ID)
	store.IndexPhone(tx, site, l.Phone, store.PhoneVisitor{Visitor: l.Visitor, Session: l.Session, Time: l.Time})
}

// Since calls fn with each lead of site that f selects whose id is above
// after, oldest first, with its mark, until fn returns false or limit
// leads were given (limit <= 0: all). It stops at the first lead that
// arrived at or after until (zero: no bound) rather than skip it, so that a
// reader that goes on from the last id it was given misses no lead: one
// that took an id earlier but is written later arrived before it. The lead
// is fn's to keep.
func (s *Service) Since(ctx context.Context, site uint32, f Filter, after uint64, until time.Time, limit int, fn func(store.Lead, store.Mark) bool) error {
	marks, err := s.Marks(ctx, site)
	if err != nil {
		return fmt.Errorf("list leads: %w", err)
	}
	// A filter's end stops the scan idSkew after it, not at it: a lead
	// of the range may carry a later id than one just past its end (the
	// filter leaves those out). The settling bound stays exact.
	if end := f.To.Add(idSkew); !f.To.IsZero() && (until.IsZero() || end.Before(until)) {
		until = end
	}
	n := 0
	var derr error
	err = s.db.Scan(ctx, store.LeadKey(site, after+1), store.PrefixEnd(store.LeadPrefix(site)), false, 0, func(k, v []byte) bool {
		id, _ := store.IDFromKey(k)
		if id <= after {
			return true // after+1 wrapped to 0
		}
		l, err := store.DecodeLead(id, v)
		if err != nil {
			derr = fmt.Errorf("lead %d: %w", id, err)
			return false
		}
		if !until.IsZero() && !time.UnixMilli(l.Time).Before(until) {
			return false
		}
		if !f.match(&l) || f.Status != "" && StatusOf(marks[id]) != f.Status {
			return true
		}
		n++
		return fn(l, marks[id]) && (limit <= 0 || n < limit)
	})
	if err == nil {
		err = derr
	}
	if err != nil {
		return fmt.Errorf("list leads: %w", err)
	}
	return nil
}
