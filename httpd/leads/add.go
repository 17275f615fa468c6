package leads

import (
	"context"
	"errors"
	"fmt"
	"time"

	"appliance/httpd/visits"
	"appliance/httpd/webhooks"
	"appliance/numbers"
	"appliance/store"
)

// Options tune a Service; the zero value is what serve uses.
type Options struct {
	// Now is the clock a lead is stamped with; default time.Now.
	Now func() time.Time
	// PhoneRegion is the region of a phone typed without its country code
	// (numbers.ParsePhone); default numbers.DefaultRegion.
	PhoneRegion string
	// Count, when set, runs in the write that stores a lead, after the
	// lead's own writes (the reports' roll-ups: reports.Service.CountLead);
	// its error fails the write. It must not block.
	Count func(tx *store.Tx, site *store.Site, l *store.Lead) error
	// Spam, when set, runs in the write of a mark that makes a lead spam
	// or takes that away (reports.Service.CountSpam).
	Spam SpamFunc
}

// Service adds leads to one store: it owns the lead's write and the
// webhook deliveries that go with it.
type Service struct {
	db     *store.DB
	visits *visits.Tracker
	hooks  *webhooks.Hooks
	o      Options
}

// New returns a Service over db that attributes leads through visits and
// queues their webhook deliveries in hooks.
func New(db *store.DB, v *visits.Tracker, hooks *webhooks.Hooks, o Options) *Service {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.PhoneRegion == "" {
		o.PhoneRegion = numbers.DefaultRegion
	}
	return &Service{db: db, visits: v, hooks: hooks, o: o}
}

// PhoneRegion is the region a phone number of site's leads without its
// country code is read in.
func (s *Service) PhoneRegion(site *store.Site) string { return site.Region(s.o.PhoneRegion) }

// Request is a lead of an authenticated visitor: who sent it, how, and
// what they typed.
type Request struct {
	Visitor, Session uint64
	Hit              uint64 // the page's hit; 0 when unknown
	Via              string // ViaJS, ViaServer...
	IP               string
	In               Input
	// Also, when set, runs inside the lead's write with the lead as
	// stored, so that what the lead comes from (a chat that became it)
	// changes in the same durable batch or not at all. Its error fails
	// the whole write. Like every function given to store.DB.Update, it
	// must not block.
	Also func(tx *store.Tx, l *store.Lead) error
	// Once makes a repeat of a lead the same visitor left within
	// RepeatWindow (see Add) the earlier lead, not a second one: the
	// endpoints a page or a site's server calls set it, whose caller may
	// send again a lead it gave up waiting for.
	Once bool
}

// RepeatWindow is how long a visitor's lead makes the same words sent
// again by the same visitor a repeat of it (Request.Once): long enough for
// every retry of a lead whose answer was lost (the snippet gives up after
// 10 s; the visitor presses send again, or sends it from the next page,
// where the widget's form has the words back), short enough that the same
// words meant again later (a second order of the same thing) are a lead
// of their own.
const RepeatWindow = 10 * time.Minute

// maxRepeatLook is how many of a visitor's latest leads a new one is
// compared with: a visitor leaves a few leads, not many, in RepeatWindow
// (the tracker lets an address leave 20 a minute).
const maxRepeatLook = 32

// maxAddressRepeatLook is how many of a site's latest leads a lead
// without a visitor is compared with (repeatOfAddress): every lead of the
// site is among them, so a busy site's ten minutes may hold more; a retry
// comes seconds after the lead it repeats, well inside them.
const maxAddressRepeatLook = 256

// Add checks r (an error of kind ErrInvalid says what is wrong; nothing is
// stored), attributes it to its visitor, session and hit, and durably
// stores it together with one webhook delivery per endpoint of site that
// takes leads, in one write: the lead is never stored without its
// deliveries, nor they without it. It returns the stored lead.
//
// With r.Once, a lead of a visitor whose words are those of a lead the
// visitor left within RepeatWindow, field for field as stored (name,
// email, phone and message as typed, sale, cost, group, form name, and how
// it came; not the page, which a retry from the next page changes), is a
// repeat: Add stores nothing and returns that earlier lead, as it did for
// it. A lead without a visitor (no visit: the page view failed, or the
// site's server sent none) is a repeat of one without a visitor from the
// same address with the same words in that window. The check reads the
// visitor's (or the site's) leads in the lead's own write, serialised
// with every other write, so that two identical requests at once are one
// lead, and it reads the store, so that it holds across a restart.
func (s *Service) Add(ctx context.Context, site *store.Site, r Request) (store.Lead, error) {
	l, err := Check(r.In, r.Via, s.o.Now(), site.Region(s.o.PhoneRegion))
	if err != nil {
		return store.Lead{}, err
	}
	if l.Attribution, err = s.visits.Attribute(site.ID, r.Visitor, r.Session, r.Hit, l.PageURL); err != nil {
		return store.Lead{}, fmt.Errorf("add lead: %w", err)
	}
	l.IP = r.IP
	l.ID = s.db.NextID()
	ev := webhooks.Event{Kind: webhooks.KindLead, ID: l.ID, Site: site.ID, SiteKey: site.Key,
		Time: time.UnixMilli(l.Time), Data: ViewOf(&l)}
	var first store.Lead
	err = s.db.Update(ctx, func(tx *store.Tx) error {
		if r.Once {
			var err error
			if first, err = repeatOf(tx, site.ID, &l, l.Time-RepeatWindow.Milliseconds()); err != nil || first.ID != 0 {
				return err
			}
		}
		Put(tx, site.ID, &l)
		if s.o.Count != nil {
			if err := s.o.Count(tx, site, &l); err != nil {
				return err
			}
		}
		if _, err := s.hooks.Enqueue(tx, ev); err != nil {
			return err
		}
		if r.Also != nil {
			return r.Also(tx, &l)
		}
		return nil
	})
	if err != nil {
		return store.Lead{}, fmt.Errorf("store lead: %w", err)
	}
	if first.ID != 0 {
		return first, nil
	}
	return l, nil
}

// Repeat returns the earlier lead r repeats (see Add: r.Once, the same
// visitor, or address for a lead without one, and the same words within
// RepeatWindow), read from the store outside any write; none, or words
// Add would refuse: a zero Lead. The tracker asks it before the address's
// rate limit, so that a page sending again a lead whose answer it lost is
// told it was taken, and uses up nothing, whatever else its address sent
// that minute; Add looks again inside its write, serialised with the
// others.
func (s *Service) Repeat(site *store.Site, r Request) (store.Lead, error) {
	if !r.Once {
		return store.Lead{}, nil
	}
	l, err := Check(r.In, r.Via, s.o.Now(), site.Region(s.o.PhoneRegion))
	if err != nil {
		return store.Lead{}, nil // Add says what is wrong
	}
	l.Visitor, l.IP = r.Visitor, r.IP
	tx := s.db.Prepare()
	defer tx.Discard()
	return repeatOf(tx, site.ID, &l, l.Time-RepeatWindow.Milliseconds())
}

// repeatOf returns the latest lead of l's visitor on site, left at or
// after since, whose words are l's (sameWords); none: a zero Lead. A lead
// without a visitor (its page view failed, or a site's server sent it
// without one) is compared with the site's latest leads without a visitor
// from its address (repeatOfAddress).
func repeatOf(tx *store.Tx, site uint32, l *store.Lead, since int64) (store.Lead, error) {
	if l.Visitor == 0 {
		return repeatOfAddress(tx, site, l, since)
	}
	ids, err := store.LatestVisitorItems(tx, l.Visitor, store.ItemLead, maxRepeatLook)
	if err != nil {
		return store.Lead{}, fmt.Errorf("read the visitor's leads: %w", err)
	}
	for _, id := range ids { // newest first
		v, err := tx.Get(store.LeadKey(site, id))
		if errors.Is(err, store.ErrNotFound) {
			continue // gone, its index entry left
		}
		if err != nil {
			return store.Lead{}, fmt.Errorf("read the visitor's leads: %w", err)
		}
		old, err := store.DecodeLead(id, v)
		if err != nil {
			return store.Lead{}, err
		}
		if old.Time < since {
			break // the earlier ones are older still
		}
		if sameWords(&old, l) {
			return old, nil
		}
	}
	return store.Lead{}, nil
}

// repeatOfAddress returns the latest lead of site left at or after since
// without a visitor, from l's address, whose words are l's; none: a zero
// Lead. It reads the site's leads newest first (ids grow with time), at
// most maxAddressRepeatLook of them: no visitor tells whose a lead is, so
// the address does, with the words: two people behind one address who
// type the same words field for field within RepeatWindow are as unlikely
// as a retry is likely.
func repeatOfAddress(tx *store.Tx, site uint32, l *store.Lead, since int64) (store.Lead, error) {
	var (
		first store.Lead
		bad   error
	)
	err := tx.ScanPrefix(store.LeadPrefix(site), true, maxAddressRepeatLook, func(k, v []byte) bool {
		id, ok := store.IDFromKey(k)
		if !ok {
			return true
		}
		old, err := store.DecodeLead(id, v)
		if err != nil {
			bad = err
			return false
		}
		if old.Time < since {
			return false // the earlier ones are older still
		}
		if old.Visitor == 0 && old.IP == l.IP && sameWords(&old, l) {
			first = old
			return false
		}
		return true
	})
	if err == nil {
		err = bad
	}
	if err != nil {
		return store.Lead{}, fmt.Errorf("read the site's leads: %w", err)
	}
	return first, nil
}

// sameWords reports whether a and b say the same: every field the visitor
// or the page's code gave, as stored (trimmed, as Check keeps them), and
// how they came. The page, the visit and the time are not compared.
func sameWords(a, b *store.Lead) bool {
	return a.Via == b.Via && a.Name == b.Name && a.EmailRaw == b.EmailRaw && a.PhoneRaw == b.PhoneRaw &&
		a.Message == b.Message && a.IsSale == b.IsSale && a.SaleCost == b.SaleCost &&
		a.GroupID == b.GroupID && a.FormName == b.FormName
}
