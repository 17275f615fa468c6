package store

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"testing"
)

func init() {
	codecs = append(codecs,
		codec{"phone visitor", func(b []byte) (any, error) { return DecodePhoneVisitor(b) }, func(r any) []byte { p := r.(PhoneVisitor); return p.Encode() }},
		codec{"contacts", func(b []byte) (any, error) { return DecodeContacts(b) }, func(r any) []byte { c := r.(Contacts); return c.Encode() }},
	)
	samples["contacts"] = []any{
		Contacts{},
		Contacts{Name: "Иван <b>", Phones: []string{"79161234567", "79031112233"}, Emails: []string{"ivan@example.com"},
			PhonesTyped: []string{"доб. 12"}, EmailsTyped: []string{"ivan at example"}},
	}
	samples["phone visitor"] = []any{
		PhoneVisitor{},
		PhoneVisitor{Visitor: 1<<53 - 1, Session: 7, Time: 1700000000000},
		PhoneVisitor{Visitor: 1<<64 - 1, Session: 1<<64 - 1, Time: -1 << 63},
	}
}

func TestVisitorItemKeys(t *testing.T) {
	// A visitor's items of one kind are one range in id order, apart from
	// their other kinds and from the next visitor's.
	keys := [][]byte{
		VisitorItemKey(1, ItemLead, 1<<60),
		VisitorItemKey(1, ItemCallback, 0),
		VisitorItemKey(1, ItemCallback, 1<<63),
		VisitorItemKey(1, ItemSession, 3),
		VisitorItemKey(1, ItemSession, 4),
		VisitorItemKey(2, ItemLead, 0),
	}
	for i := 1; i < len(keys); i++ {
		if bytes.Compare(keys[i-1], keys[i]) >= 0 {
			t.Errorf("key %d %x not below key %d %x", i-1, keys[i-1], i, keys[i])
		}
	}
	p := VisitorItemPrefix(1, ItemSession)
	for i, k := range keys {
		if got, want := bytes.HasPrefix(k, p), i == 3 || i == 4; got != want {
			t.Errorf("key %d %x in the range of visitor 1's sessions: %v, want %v", i, k, got, want)
		}
	}
	// One phone's key is not the prefix of a longer phone's.
	if bytes.HasPrefix(PhoneVisitorKey(1, "791612345678"), PhoneVisitorKey(1, "79161234567")) {
		t.Error("phone keys share a prefix")
	}
}

// The phone index names the last visitor to leave a number on a site, and
// only on that site.
func TestIndexPhone(t *testing.T) {
	db := openTest(t)
	ctx := context.Background()
	put := func(site uint32, phone string, p PhoneVisitor) {
		t.Helper()
		if err := db.Update(ctx, func(tx *Tx) error { IndexPhone(tx, site, phone, p); return nil }); err != nil {
			t.Fatal(err)
		}
	}
	put(1, "79161234567", PhoneVisitor{Visitor: 10, Session: 11, Time: 1})
	put(1, "79161234567", PhoneVisitor{Visitor: 20, Session: 21, Time: 2})
	put(1, "", PhoneVisitor{Visitor: 30})
	put(1, "79990000000", PhoneVisitor{})
	for _, tt := range []struct {
		site  uint32
		phone string
		want  uint64
	}{{1, "79161234567", 20}, {2, "79161234567", 0}, {1, "7916123456", 0}, {1, "", 0}, {1, "79990000000", 0}} {
		p, ok, err := db.LookupPhone(tt.site, tt.phone)
		if err != nil || ok != (tt.want != 0) || p.Visitor != tt.want {
			t.Errorf("LookupPhone(%d, %q) = %+v, %v, %v; want visitor %d", tt.site, tt.phone, p, ok, err, tt.want)
		}
	}
}

// A store written before the visitor indexes gets them when the server
// next starts, once: every record with a visitor in its visitor's index, each phone
// naming the visitor who left it last.
func TestIndexVisitorsOfOlderStore(t *testing.T) {
	dir := t.TempDir()
	db := openDir(t, dir)
	ctx := context.Background()
	err := db.Update(ctx, func(tx *Tx) error {
		v := Visitor{ID: 1, Site: 3, LastSeen: 50, Phones: []string{"79160000001", "79160000002"}}
		tx.Set(VisitorKey(1), v.Encode())
		s := Session{ID: 2, Visitor: 1}
		tx.Set(SessionKey(3, 2), s.Encode())
		l := Lead{ID: 4, Time: 100, Phone: "79160000001"}
		l.Visitor, l.Session = 1, 2
		tx.Set(LeadKey(3, 4), l.Encode())
		cb := Callback{ID: 5, Time: 10, Phone: "79160000002"}
		cb.Visitor = 9 // an earlier visitor than the contacts' 50
		tx.Set(CallbackKey(3, 5), cb.Encode())
		c := Call{ID: 6, Visitor: 1, Kind: "dynamic", Attributed: true}
		tx.Set(CallKey(3, 6), c.Encode())
		nobody := Call{ID: 7}
		tx.Set(CallKey(3, 7), nobody.Encode())
		ch := Chat{ID: 8, Site: 3, Created: 1}
		ch.Visitor = 1
		tx.Set(ChatKey(3, 8), ch.Encode())
		// As before the indexes: no entries, no "visitor-index".
		tx.Delete(MetaKey("visitor-index"))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	db = openDir(t, dir)
	if err := db.IndexVisitors(ctx); err != nil {
		t.Fatal(err)
	}
	for _, k := range [][]byte{VisitorItemKey(1, ItemSession, 2), VisitorItemKey(1, ItemLead, 4), VisitorItemKey(9, ItemCallback, 5),
		VisitorItemKey(1, ItemCall, 6), VisitorItemKey(1, ItemChat, 8)} {
		if _, err := db.Get(k); err != nil {
			t.Errorf("index entry %x: %v", k, err)
		}
	}
	n := 0
	db.ScanPrefix(ctx, []byte{prefixVisitorItem}, false, 0, func(_, _ []byte) bool { n++; return true })
	if n != 5 {
		t.Errorf("%d index entries, want 5", n)
	}
	for _, tt := range []struct {
		phone   string
		visitor uint64
		session uint64
	}{{"79160000001", 1, 2}, {"79160000002", 1, 0}} {
		p, ok, err := db.LookupPhone(3, tt.phone)
		if err != nil || !ok || p.Visitor != tt.visitor || p.Session != tt.session {
			t.Errorf("phone %s: %+v %v %v, want visitor %d session %d", tt.phone, p, ok, err, tt.visitor, tt.session)
		}
	}
	// Once built, a later start leaves the indexes as they are.
	if err := db.Update(ctx, func(tx *Tx) error { tx.Delete(VisitorItemKey(1, ItemLead, 4)); return nil }); err != nil {
		t.Fatal(err)
	}
	if err := db.IndexVisitors(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Get(VisitorItemKey(1, ItemLead, 4)); !errors.Is(err, ErrNotFound) {
		t.Errorf("the index was built again: %v", err)
	}
}

// A new store is marked indexed at its first start, so that the records
// it gets afterwards (each written with its entries) are not all read
// again at the next one; and a store with more entries to build than one
// write holds gets them all.
func TestIndexVisitorsNewAndLargeStores(t *testing.T) {
	ctx := context.Background()
	db := openDir(t, t.TempDir())
	if err := db.IndexVisitors(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Get(MetaKey("visitor-index")); err != nil {
		t.Fatalf("a new store is not marked indexed: %v", err)
	}

	db = openDir(t, t.TempDir())
	const sessions = 2*indexBatch + 7
	err := db.Update(ctx, func(tx *Tx) error {
		for id := uint64(1); id <= sessions; id++ {
			s := Session{ID: id, Visitor: id%100 + 1}
			tx.Set(SessionKey(1, id), s.Encode())
		}
		tx.Delete(MetaKey("visitor-index"))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.IndexVisitors(ctx); err != nil {
		t.Fatal(err)
	}
	n := 0
	db.ScanPrefix(ctx, []byte{prefixVisitorItem}, false, 0, func(_, _ []byte) bool { n++; return true })
	if n != sessions {
		t.Errorf("%d index entries, want %d", n, sessions)
	}
	if _, err := db.Get(VisitorItemKey(sessions%100+1, ItemSession, sessions)); err != nil {
		t.Errorf("the last session's entry: %v", err)
	}
}

// The email index gives the visitors of one site who gave exactly that
// email, not a longer one it begins, nor another site's; and a store from
// before it gets its entries built once from the visitor records.
func TestEmailVisitors(t *testing.T) {
	db := openTest(t)
	ctx := t.Context()
	if err := db.Update(ctx, func(tx *Tx) error {
		IndexEmail(tx, 1, "a@b.ru", 10)
		IndexEmail(tx, 1, "a@b.ru", 12)
		IndexEmail(tx, 1, "a@b.rus", 11)
		IndexEmail(tx, 2, "a@b.ru", 13)
		IndexEmail(tx, 1, "", 14)
		IndexEmail(tx, 1, "x@y.ru", 0)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	got := func(site uint32, email string) []uint64 {
		var out []uint64
		if err := db.EmailVisitors(ctx, site, email, func(v uint64) bool { out = append(out, v); return true }); err != nil {
			t.Fatal(err)
		}
		return out
	}
	if g := got(1, "a@b.ru"); !slices.Equal(g, []uint64{10, 12}) {
		t.Errorf("site 1 a@b.ru: %v, want [10 12]", g)
	}
	if g := got(2, "a@b.ru"); !slices.Equal(g, []uint64{13}) {
		t.Errorf("site 2 a@b.ru: %v, want [13]", g)
	}
	if g := got(1, "x@y.ru"); g != nil {
		t.Errorf("visitor 0 indexed: %v", g)
	}

	v := Visitor{ID: 20, Site: 3, Emails: []string{"old@mail.ru", "second@mail.ru"}}
	if err := db.Set(ctx, VisitorKey(v.ID), v.Encode()); err != nil {
		t.Fatal(err)
	}
	if err := db.Delete(ctx, MetaKey("email-index")); err != nil {
		t.Fatal(err)
	}
	if err := db.IndexVisitorEmails(ctx); err != nil {
		t.Fatal(err)
	}
	for _, e := range v.Emails {
		if g := got(3, e); !slices.Equal(g, []uint64{20}) {
			t.Errorf("built %s: %v, want [20]", e, g)
		}
	}
}

// The contact index holds a site's visitors who gave contacts, theirs
// only, and is built once for the visitors stored before it.
func TestVisitorContacts(t *testing.T) {
	db := openTest(t)
	ctx := t.Context()
	vs := []Visitor{
		{ID: 30, Site: 4, Name: "Анна"},
		{ID: 31, Site: 4},
		{ID: 32, Site: 4, PhonesTyped: []string{"доб. 5"}},
		{ID: 33, Site: 5, Emails: []string{"a@b.ru"}},
	}
	if err := db.Update(ctx, func(tx *Tx) error {
		for i := range vs {
			tx.Set(VisitorKey(vs[i].ID), vs[i].Encode())
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	got := func(site uint32) map[uint64]Contacts {
		out := map[uint64]Contacts{}
		if err := db.ScanPrefix(ctx, VisitorContactPrefix(site), false, 0, func(k, v []byte) bool {
			id, _ := IDFromKey(k)
			c, err := DecodeContacts(v)
			if err != nil {
				t.Fatal(err)
			}
			out[id] = c
			return true
		}); err != nil {
			t.Fatal(err)
		}
		return out
	}
	if err := db.Delete(ctx, MetaKey("contact-index")); err != nil {
		t.Fatal(err)
	}
	if err := db.IndexVisitorContacts(ctx); err != nil {
		t.Fatal(err)
	}
	if g := got(4); len(g) != 2 || g[30].Name != "Анна" || !slices.Equal(g[32].PhonesTyped, []string{"доб. 5"}) {
		t.Errorf("site 4: %+v, want visitors 30 and 32", g)
	}
	if g := got(5); len(g) != 1 || !slices.Equal(g[33].Emails, []string{"a@b.ru"}) {
		t.Errorf("site 5: %+v, want visitor 33", g)
	}
	// Written with the visitor record: the latest contacts.
	vs[1].Name = "Пётр"
	if err := db.Update(ctx, func(tx *Tx) error { IndexContacts(tx, &vs[1]); return nil }); err != nil {
		t.Fatal(err)
	}
	if g := got(4); g[31].Name != "Пётр" {
		t.Errorf("after IndexContacts: %+v", g)
	}
}
