package tracking

import (
	"testing"
	"time"

	"appliance/store"
	"appliance/store/storetest"
)

// putSession stores a session of site 1 for visitor, with its entry in
// the visitor's index, as a page view does.
func putSession(t *testing.T, db *store.DB, visitor, id uint64, started time.Time, src store.Source) {
	t.Helper()
	s := store.Session{ID: id, Visitor: visitor, Started: started.UnixMilli(), LastHit: started.UnixMilli(), Hits: 1,
		Channel: src.Channel, UTMSource: src.UTMSource, UTMMedium: src.UTMMedium, Landing: src.Landing}
	err := db.Update(ctx, func(tx *store.Tx) error {
		tx.Set(store.SessionKey(1, id), s.Encode())
		store.IndexVisitorItem(tx, visitor, store.ItemSession, id)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// Caller-ID matching: a call that no lease ties to a visitor is tied to
// the visitor who last left the caller's number on the call's site, in
// their latest session that began by the call; a static number keeps its
// rule's source. A lease is never overridden, and a hidden caller, a
// number nobody left or one left on another site matches nothing.
func TestCallerIDMatch(t *testing.T) {
	db := storetest.Open(t)
	tr := open(t, db, t0)
	nums := setUp(t, tr, 1)
	paid := store.Source{Channel: "ad", UTMSource: "google", UTMMedium: "cpc", Landing: "https://shop.example/promo"}
	organic := store.Source{Channel: "organic", Landing: "https://shop.example/"}
	// Visitor 7: a paid session, then an organic one an hour later (in
	// which they left their phone), then one after the calls.
	putSession(t, db, 7, 100, t0.Add(-2*time.Hour), paid)
	putSession(t, db, 7, 101, t0.Add(-time.Hour), organic)
	putSession(t, db, 7, 102, t0.Add(time.Hour), store.Source{Channel: "direct"})
	// Visitor 8 left a number that visitor 9 left later: 9 is the one.
	// Visitor 10's only visit, in which they left their number, began
	// a day after the calls: a call made before it is theirs, no visit's;
	// visitor 11's began three minutes after (the PBX's clock is behind).
	putSession(t, db, 10, 110, t0.Add(24*time.Hour), paid)
	putSession(t, db, 11, 111, t0.Add(4*time.Minute), paid)
	err := db.Update(ctx, func(tx *store.Tx) error {
		store.IndexPhone(tx, 1, "79161010101", store.PhoneVisitor{Visitor: 10, Session: 110, Time: t0.Add(24 * time.Hour).UnixMilli()})
		store.IndexPhone(tx, 1, "79161111111", store.PhoneVisitor{Visitor: 11, Session: 111, Time: t0.Add(5 * time.Minute).UnixMilli()})
		store.IndexPhone(tx, 1, "79161234567", store.PhoneVisitor{Visitor: 7, Session: 101, Time: t0.Add(-time.Hour).UnixMilli()})
		store.IndexPhone(tx, 1, "79160000008", store.PhoneVisitor{Visitor: 8, Session: 0, Time: 1})
		store.IndexPhone(tx, 1, "79160000008", store.PhoneVisitor{Visitor: 9, Session: 0, Time: 2})
		store.IndexPhone(tx, 2, "79165550000", store.PhoneVisitor{Visitor: 50, Session: 0, Time: 2})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	assign(t, tr, 3, cpc, false, t0) // visitor 3 leases nums[0] (session 30)

	for _, tt := range []struct {
		name, called, caller string
		visitor, session     uint64
		attributed           bool
		match                string
		source               store.Source
	}{
		{"site number, caller left it", siteNum, "+7 916 123-45-67", 7, 101, true, store.MatchCallerID, organic},
		{"fallback, caller left it", fallback, "89161234567", 7, 101, true, store.MatchCallerID, organic},
		{"static number keeps its rule", yandex, "79161234567", 7, 101, true, store.MatchStaticCallerID,
			store.Source{Channel: "organic", UTMSource: "yandex"}},
		{"latest visitor to leave it", siteNum, "79160000008", 9, 0, true, store.MatchCallerID, store.Source{}},
		{"lease wins over caller ID", nums[0], "79161234567", 3, 30, true, store.MatchLease, store.Source{Channel: "ad",
			UTMSource: "google", UTMMedium: "cpc", Landing: "https://shop.example/promo"}},
		{"left only after the call", siteNum, "79161010101", 10, 0, false, store.MatchCallerID, store.Source{}},
		{"static, left only after the call", yandex, "79161010101", 10, 0, true, store.MatchStaticCallerID,
			store.Source{Channel: "organic", UTMSource: "yandex"}},
		{"left minutes after, the clocks differ", siteNum, "79161111111", 11, 111, true, store.MatchCallerID, paid},
		{"number nobody left", siteNum, "79169999999", 0, 0, false, "", store.Source{}},
		{"left on another site", siteNum, "79165550000", 0, 0, false, "", store.Source{}},
		{"hidden caller", siteNum, "", 0, 0, false, "", store.Source{}},
		{"static, unknown caller", yandex, "79169999999", 0, 0, true, store.MatchStatic, store.Source{Channel: "organic", UTMSource: "yandex"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c, a, err := tr.RecordCall(ctx, CallInput{Called: tt.called, Caller: tt.caller}, t0.Add(time.Minute))
			if err != nil {
				t.Fatal(err)
			}
			if c.Visitor != tt.visitor || c.Session != tt.session || c.Attributed != tt.attributed || c.Match != tt.match || c.Source != tt.source {
				t.Errorf("call = visitor %d session %d attributed %v match %q source %+v; want %d %d %v %q %+v",
					c.Visitor, c.Session, c.Attributed, c.Match, c.Source, tt.visitor, tt.session, tt.attributed, tt.match, tt.source)
			}
			if a.Visitor != c.Visitor || a.Match != c.Match || a.Attributed != c.Attributed {
				t.Errorf("answer %+v does not say what was stored: %+v", a, c)
			}
			// The stored call says the same, and is in its visitor's index.
			b, err := db.Get(store.CallKey(1, c.ID))
			if err != nil {
				t.Fatal(err)
			}
			if got, err := store.DecodeCall(c.ID, b); err != nil || got.Match != tt.match || got.Visitor != tt.visitor {
				t.Errorf("stored call %+v, %v", got, err)
			}
			_, err = db.Get(store.VisitorItemKey(tt.visitor, store.ItemCall, c.ID))
			if indexed := err == nil; indexed != (tt.visitor != 0) {
				t.Errorf("call in visitor %d's index: %v", tt.visitor, indexed)
			}
		})
	}
}
