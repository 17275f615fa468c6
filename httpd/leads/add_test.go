package leads_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"appliance/httpd/leads"
	"appliance/httpd/visits"
	"appliance/httpd/webhooks"
	"appliance/internal/usererr"
	"appliance/store"
	"appliance/store/storetest"
)

// addFixture is a leads.Service over a real store with one site that has a
// webhook endpoint for leads, and one visitor's page view on it.
type addFixture struct {
	db    *store.DB
	svc   *leads.Service
	hooks *webhooks.Hooks
	site  *store.Site
	hit   visits.HitResult
	now   time.Time
}

func newAddFixture(t *testing.T) *addFixture {
	t.Helper()
	ctx := context.Background()
	f := &addFixture{db: storetest.Open(t), now: time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)}
	clock := func() time.Time { return f.now }
	f.site = &store.Site{ID: 1, Key: "AbCdEfGh0123456789AbCdEfGh012345", Name: "Shop", Domains: []string{"shop.example"}}
	if err := f.db.Set(ctx, store.SiteKey(1), f.site.Encode()); err != nil {
		t.Fatal(err)
	}
	tr := visits.NewTracker(f.db, clock, "")
	f.hooks = webhooks.New(f.db, webhooks.Options{Now: clock, Policy: webhooks.Policy{AllowPrivate: true}})
	if _, err := f.hooks.Add(ctx, 1, "http://127.0.0.1:9/leads", "", []webhooks.Kind{webhooks.KindLead}); err != nil {
		t.Fatal(err)
	}
	f.svc = leads.New(f.db, tr, f.hooks, leads.Options{Now: clock})
	var err error
	f.hit, err = tr.Hit(ctx, f.site, visits.PageView{URL: "https://shop.example/cart?utm_source=google&utm_medium=cpc",
		Title: "Cart", UserAgent: "Mozilla/5.0 (X11; Linux x86_64) Chrome/120.0"})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *addFixture) stored(t *testing.T) ([]store.Lead, []store.Delivery) {
	t.Helper()
	var got []store.Lead
	if err := f.svc.List(context.Background(), f.site.ID, leads.Filter{}, 0, func(l store.Lead) bool {
		got = append(got, l)
		return true
	}); err != nil {
		t.Fatal(err)
	}
	ds, err := f.hooks.Deliveries(context.Background(), f.site.ID, 100)
	if err != nil {
		t.Fatal(err)
	}
	return got, ds
}

// Add stores the lead, attributed to its visitor, session, hit and the
// session's source, together with its webhook delivery.
func TestAdd(t *testing.T) {
	f := newAddFixture(t)
	ci := f.hit.CI
	l, err := f.svc.Add(context.Background(), f.site, leads.Request{Visitor: ci.Visitor, Session: ci.Session, Hit: f.hit.Hit,
		Via: leads.ViaJS, IP: "192.0.2.1", In: leads.Input{Name: " Ann ", Phone: "8 (912) 345-67-89"}})
	if err != nil {
		t.Fatal(err)
	}
	got, ds := f.stored(t)
	if len(got) != 1 || got[0] != l {
		t.Fatalf("stored %+v, want [%+v]", got, l)
	}
	want := store.Attribution{Visitor: ci.Visitor, Session: ci.Session, Hit: f.hit.Hit,
		PageURL: "https://shop.example/cart?utm_source=google&utm_medium=cpc", Source: f.hit.Session.TrafficSource()}
	if l.Attribution != want {
		t.Errorf("attribution %+v, want %+v", l.Attribution, want)
	}
	if l.Source.UTMSource != "google" || l.Name != "Ann" || l.Phone != "79123456789" || l.IP != "192.0.2.1" ||
		l.Time != f.now.UnixMilli() || l.Via != leads.ViaJS || l.ID == 0 {
		t.Errorf("lead %+v", l)
	}
	if len(ds) != 1 || ds[0].Event != string(webhooks.KindLead) || ds[0].EventID != l.ID {
		t.Errorf("deliveries %+v, want one for lead %d", ds, l.ID)
	}
}

// A lead whose session record is gone (or is another visitor's) is kept,
// tied to the ids it named, with the page it named and no source.
func TestAddWithoutSession(t *testing.T) {
	f := newAddFixture(t)
	l, err := f.svc.Add(context.Background(), f.site, leads.Request{Visitor: f.hit.CI.Visitor + 1, Session: f.hit.CI.Session,
		Hit: f.hit.Hit, Via: leads.ViaServer, In: leads.Input{Email: "a@example.com", PageURL: "https://shop.example/form"}})
	if err != nil {
		t.Fatal(err)
	}
	want := store.Attribution{Visitor: f.hit.CI.Visitor + 1, Session: f.hit.CI.Session, PageURL: "https://shop.example/form"}
	if l.Attribution != want {
		t.Errorf("attribution %+v, want %+v", l.Attribution, want)
	}
	if got, _ := f.stored(t); len(got) != 1 {
		t.Errorf("%d leads stored, want 1", len(got))
	}
}

// Invalid input is an ErrInvalid the consumer can answer as is, and
// nothing is stored: no lead, no delivery.
func TestAddRefusesInvalid(t *testing.T) {
	f := newAddFixture(t)
	_, err := f.svc.Add(context.Background(), f.site, leads.Request{Visitor: f.hit.CI.Visitor, Session: f.hit.CI.Session,
		Via: leads.ViaJS, In: leads.Input{Name: " ", Message: "\n"}})
	e, ok := errors.AsType[*usererr.Error](err)
	if !ok || !errors.Is(err, leads.ErrInvalid) || e.Status() != 400 || e.UserMessage() != "the lead is empty: give a name, email, phone or message" {
		t.Fatalf("error %v", err)
	}
	if got, ds := f.stored(t); len(got) != 0 || len(ds) != 0 {
		t.Fatalf("refused lead stored: %+v %+v", got, ds)
	}
}
