package export_test

import (
	"context"
	"testing"
	"time"

	"appliance/export"
	"appliance/store"
	"appliance/store/storetest"
)

// Backfill reports its progress in the site's top-level records (sessions,
// leads, callbacks, calls, chats), those before from too, and none of
// another site's: from (0, total), growing, to done == total.
func TestBackfillProgress(t *testing.T) {
	db := storetest.Open(t)
	db.EnableExport(store.ExportOptions{})
	ctx := context.Background()
	const site, from = 1, 1000
	if err := db.Update(ctx, func(tx *store.Tx) error {
		for i := range uint64(250) { // the first 200 before from
			s := store.Session{ID: i + 1, Started: int64(i) * 5, LastHit: int64(i) * 5}
			tx.Set(store.SessionKey(site, s.ID), s.Encode())
			h := store.Hit{ID: 1, Session: s.ID, Time: s.Started, URL: "https://shop.example/"}
			tx.Set(store.HitKey(site, s.ID, h.ID), h.Encode())
		}
		for i, at := range []int64{10, 2000} {
			l := store.Lead{Time: at, Name: "Ann"}
			tx.Set(store.LeadKey(site, uint64(i+1)), l.Encode())
		}
		other := store.Lead{Time: 2000}
		tx.Set(store.LeadKey(site+1, 1), other.Encode())
		cb := store.Callback{Time: 2000, Phone: "74950000001"}
		tx.Set(store.CallbackKey(site, 1), cb.Encode())
		for i := range uint64(2) {
			c := store.Call{Time: 2000, Called: "74950000002"}
			tx.Set(store.CallKey(site, i+1), c.Encode())
		}
		chat := store.Chat{Site: site, Created: 2000, Last: 2}
		tx.Set(store.ChatKey(site, 1), chat.Encode())
		for i := range uint64(2) {
			m := store.ChatMessage{From: "visitor", Text: "hello", At: 2000}
			tx.Set(store.ChatMessageKey(site, 1, i+1), m.Encode())
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	const records = 250 + 2 + 1 + 2 + 1

	var got [][2]int64
	res, err := export.Backfill(ctx, db, site, from, time.Millisecond, func(done, total int64) {
		got = append(got, [2]int64{done, total})
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := (export.BackfillResult{Hits: 50, Leads: 1, Callbacks: 1, Calls: 2, Chats: 1, ChatMessages: 2}); res != want {
		t.Errorf("queued %+v, want %+v", res, want)
	}
	if len(got) < 3 || got[0] != [2]int64{0, records} || got[len(got)-1] != [2]int64{records, records} {
		t.Fatalf("progress %v, want (0, %d) first, (%[2]d, %[2]d) last, and some between", got, records)
	}
	for i := 1; i < len(got); i++ {
		if got[i][0] <= got[i-1][0] || got[i][1] != records {
			t.Errorf("progress %v: call %d does not advance towards %d", got, i, records)
		}
	}

	// Without a progress function it queues the same.
	if again, err := export.Backfill(ctx, db, site, from, time.Millisecond, nil); err != nil || again != res {
		t.Errorf("without progress: %+v, %v; want %+v", again, err, res)
	}
}
