package store

import (
	"context"
	"errors"
	"testing"
)

// A session written whole and continued by tails reads as one record —
// by Get, in a scan either way, through the group a later update reads,
// after a flush, a compaction and a reopen — with the tails' latest
// LastHit and Hits whatever order they were written in; a record written
// whole later (an event's) keeps what it says; a tail over a deleted
// session reads as nothing and is compacted away.
func TestSessionTail(t *testing.T) {
	d := openTest(t)
	ctx := context.Background()
	write := func(fn func(tx *Tx)) {
		t.Helper()
		if err := d.Update(ctx, func(tx *Tx) error { fn(tx); return nil }); err != nil {
			t.Fatal(err)
		}
	}
	s := Session{ID: 1 << 40, Visitor: 77, Started: 1_700_000_000_000, LastHit: 1_700_000_000_000, Hits: 1,
		Channel: "ad", UTMSource: "yandex", Referrer: "https://yandex.ru/", Landing: "https://shop.example.com/",
		UserAgent: "Mozilla/5.0", Bot: false}
	key := SessionKey(3, s.ID)
	write(func(tx *Tx) { tx.Set(key, s.Encode()) })
	tail := func(tx *Tx, last int64, hits uint32) {
		c := s
		c.LastHit, c.Hits = last, hits
		tx.ContinueSession(3, &c)
	}
	write(func(tx *Tx) { tail(tx, s.LastHit+5_000, 3) })
	write(func(tx *Tx) {
		tail(tx, s.LastHit+1_000, 2) // an older tail written last
		tail(tx, s.LastHit+4_000, 2)
	})
	want := s
	want.LastHit, want.Hits = s.LastHit+5_000, 3
	check := func(when string, want Session) {
		t.Helper()
		b, err := d.Get(key)
		if err != nil {
			t.Fatalf("%s: %v", when, err)
		}
		got, err := DecodeSession(b)
		if err != nil || got != want {
			t.Errorf("%s: got %+v, %v; want %+v", when, got, err, want)
		}
		for _, reverse := range []bool{false, true} {
			n := 0
			err := d.ScanPrefix(ctx, SessionPrefix(3), reverse, 0, func(_, v []byte) bool {
				got, err := DecodeSession(v)
				if err != nil || got != want {
					t.Errorf("%s: scan (reverse %v) %+v, %v", when, reverse, got, err)
				}
				n++
				return true
			})
			if err != nil || n != 1 {
				t.Errorf("%s: scan (reverse %v) %d sessions, %v", when, reverse, n, err)
			}
		}
	}
	check("in the memtable", want)
	// Read through the group by an update, as an event reads it, and
	// written whole with one more event; a later tail keeps the event.
	write(func(tx *Tx) {
		b, err := tx.Get(key)
		if err != nil {
			t.Fatal(err)
		}
		got, err := DecodeSession(b)
		if err != nil || got != want {
			t.Fatalf("through the group: %+v, %v; want %+v", got, err, want)
		}
		got.Events++
		tx.Set(key, got.Encode())
		tail(tx, s.LastHit+9_000, 4)
	})
	want.Events, want.LastHit, want.Hits = 1, s.LastHit+9_000, 4
	check("after an event", want)
	if err := d.db.Flush(); err != nil {
		t.Fatal(err)
	}
	check("flushed", want)
	write(func(tx *Tx) { tail(tx, s.LastHit+12_000, 5) })
	want.LastHit, want.Hits = s.LastHit+12_000, 5
	if err := d.db.Flush(); err != nil {
		t.Fatal(err)
	}
	check("a tail flushed over the record", want)
	if err := d.Compact(ctx); err != nil {
		t.Fatal(err)
	}
	check("compacted", want)
	d = reopen(t, d)
	check("reopened", want)

	// A tail over a deleted session: nothing, before and after a
	// compaction, and a session written whole again reads as written.
	write(func(tx *Tx) { tx.Delete(key) })
	write(func(tx *Tx) { tail(tx, s.LastHit+20_000, 6) })
	for _, when := range []string{"in the memtable", "compacted"} {
		if when == "compacted" {
			if err := d.Compact(ctx); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := d.Get(key); !errors.Is(err, ErrNotFound) {
			t.Errorf("deleted, then a tail, %s: %v; want ErrNotFound", when, err)
		}
		n := 0
		if err := d.ScanPrefix(ctx, SessionPrefix(3), false, 0, func(_, _ []byte) bool { n++; return true }); err != nil || n != 0 {
			t.Errorf("deleted, then a tail, %s: a scan finds %d, %v", when, n, err)
		}
	}
	write(func(tx *Tx) { tx.Set(key, s.Encode()) })
	check("written whole again", s)
}

// A tail that is not one, or a record a tail cannot be laid over, is an
// error or left as it is: never a half-written session.
func TestSessionTailCorrupt(t *testing.T) {
	var v sessionValue
	if err := v.MergeOlder([]byte{sessionTailTag, 0x80}); !errors.Is(err, ErrCorrupt) {
		t.Errorf("truncated tail: %v", err)
	}
	if err := v.MergeOlder([]byte{sessionTailTag, 2, 3, 4}); !errors.Is(err, ErrCorrupt) {
		t.Errorf("tail with trailing bytes: %v", err)
	}
	for _, rec := range [][]byte{{sessionVersion, 0x80}, {9, 1, 2}, {}} {
		if got := applySessionTail(rec, 5, 5); string(got) != string(rec) {
			t.Errorf("applySessionTail(%x) = %x; want it as it was", rec, got)
		}
	}
}
