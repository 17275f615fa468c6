package leads

import (
	"context"
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
}

// Add checks r (an error of kind ErrInvalid says what is wrong; nothing is
// stored), attributes it to its visitor, session and hit, and durably
// stores it together with one webhook delivery per endpoint of site that
// takes leads, in one write: the lead is never stored without its
// deliveries, nor they without it. It returns the stored lead.
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
	err = s.db.Update(ctx, func(tx *store.Tx) error {
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
	return l, nil
}
