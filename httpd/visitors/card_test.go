package visitors

import (
	"errors"
	"testing"

	"appliance/store"
	"appliance/store/storetest"
)

// A card reads only what the visitor's index names, newest first, within
// its limits, and counts what it leaves out; another site's visitor is no
// visitor of this one.
func TestCardLimitsAndSites(t *testing.T) {
	db := storetest.Open(t)
	ctx := t.Context()
	v := store.Visitor{ID: 1, Site: 1, Created: 1000}
	err := db.Update(ctx, func(tx *store.Tx) error {
		tx.Set(store.VisitorKey(v.ID), v.Encode())
		for i := uint64(10); i < 15; i++ {
			s := store.Session{ID: i, Visitor: 1, Started: int64(i) * 1000, Hits: 3}
			tx.Set(store.SessionKey(1, i), s.Encode())
			store.IndexVisitorItem(tx, 1, store.ItemSession, i)
			for h := uint64(0); h < 3; h++ {
				hit := store.Hit{ID: i*100 + h, Session: i, Time: int64(i) * 1000, URL: "https://shop.example/"}
				tx.Set(store.HitKey(1, i, hit.ID), hit.Encode())
			}
		}
		// Another visitor's session of the same site is not theirs.
		other := store.Session{ID: 20, Visitor: 2, Started: 20000}
		tx.Set(store.SessionKey(1, 20), other.Encode())
		store.IndexVisitorItem(tx, 2, store.ItemSession, 20)
		for i := uint64(30); i < 33; i++ {
			l := store.Lead{ID: i, Time: int64(i), Name: "n"}
			l.Visitor = 1
			tx.Set(store.LeadKey(1, i), l.Encode())
			store.IndexVisitorItem(tx, 1, store.ItemLead, i)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	c, err := New(db, Limits{Sessions: 2, Pages: 2, Items: 2}).Card(ctx, 1, 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Sessions) != 2 || c.Sessions[0].ID != 14 || c.Sessions[1].ID != 13 || c.More.Sessions != 3 {
		t.Fatalf("sessions %+v, more %d", c.Sessions, c.More.Sessions)
	}
	if s := c.Sessions[0]; len(s.Pages) != 2 || s.Pages[0].ID != 1400 || s.MorePages != 1 {
		t.Errorf("pages %+v, more %d", s.Pages, s.MorePages)
	}
	if len(c.Leads) != 2 || c.Leads[0].ID != 32 || c.More.Leads != 1 || c.Leads[0].Status != "new" {
		t.Errorf("leads %+v, more %d", c.Leads, c.More.Leads)
	}
	if len(c.Chats) != 0 || len(c.Calls) != 0 || len(c.Callbacks) != 0 {
		t.Errorf("card %+v", c)
	}
	for _, tt := range []struct {
		site uint32
		id   uint64
	}{{2, 1}, {1, 99}} {
		if _, err := New(db, Limits{}).Card(ctx, tt.site, tt.id); !errors.Is(err, ErrNoVisitor) {
			t.Errorf("Card(site %d, visitor %d): %v, want ErrNoVisitor", tt.site, tt.id, err)
		}
	}
}
