package store

import (
	"context"
	"encoding/binary"
	"errors"
	"testing"
)

// DueEntry joins the generic codec tests of records_test.go.
func init() {
	codecs = append(codecs,
		codec{"due", func(b []byte) (any, error) { return DecodeDueEntry(b) }, func(r any) []byte { e := r.(DueEntry); return e.Encode() }})
	samples["due"] = []any{DueEntry{}, DueEntry{Site: 1}, DueEntry{Site: 1<<32 - 1}}
}

// retiredKey is a key of a retired queue family, written as the code before
// the one queue wrote it.
func retiredKey(prefix byte, due int64, id uint64) []byte {
	b := binary.BigEndian.AppendUint64([]byte{prefix}, uint64(due))
	return binary.BigEndian.AppendUint64(b, id)
}

// A data directory with pending deliveries and scheduled calls under the
// retired families has them under prefixDue after Open, with their times,
// ids and sites; nothing is left under the old prefixes, and a second Open
// changes nothing.
func TestOpenMovesRetiredQueues(t *testing.T) {
	d := openTest(t)
	ctx := context.Background()
	site := func(s uint32) []byte { return binary.BigEndian.AppendUint32(nil, s) }
	err := d.Update(ctx, func(tx *Tx) error {
		tx.Set(retiredKey(prefixOutbox, 1700000000000, 10), site(1))
		tx.Set(retiredKey(prefixOutbox, 1700000000500, 11), site(2))
		tx.Set(retiredKey(prefixCallbackDue, 1700000000100, 20), site(1))
		tx.Set(retiredKey(prefixCallbackDue, 1700000000200, 21), []byte("junk")[:3]) // never sent by the old code
		tx.Set(LeadKey(1, 5), []byte("a lead stays"))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	d = reopen(t, d)

	type entry struct {
		kind DueKind
		due  int64
		id   uint64
		site uint32
	}
	var got []entry
	err = d.ScanPrefix(ctx, []byte{prefixDue}, false, 0, func(k, v []byte) bool {
		kind, due, id, ok := ParseDueKey(k)
		e, err := DecodeDueEntry(v)
		if !ok || err != nil {
			t.Errorf("entry %x = %x: %v, %v", k, v, ok, err)
		}
		got = append(got, entry{kind, due, id, e.Site})
		return true
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []entry{{DueCallback, 1700000000100, 20, 1}, {DueDelivery, 1700000000000, 10, 1}, {DueDelivery, 1700000000500, 11, 2}}
	if len(got) != len(want) {
		t.Fatalf("moved %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("entry %d = %+v, want %+v", i, got[i], want[i])
		}
	}
	for _, p := range []byte{prefixOutbox, prefixCallbackDue} {
		if err := d.ScanPrefix(ctx, []byte{p}, false, 0, func(k, v []byte) bool { t.Errorf("left behind: %x", k); return true }); err != nil {
			t.Fatal(err)
		}
	}
	if v, err := d.Get(LeadKey(1, 5)); err != nil || string(v) != "a lead stays" {
		t.Errorf("lead = %q, %v", v, err)
	}
	before := scanAll(t, d)
	d = reopen(t, d)
	after := scanAll(t, d)
	if len(after) != len(before) {
		t.Fatalf("second open: %d keys, want %d", len(after), len(before))
	}
	for i := range before {
		if before[i] != after[i] {
			t.Errorf("second open changed key %x", before[i].k)
		}
	}
}

// A function registered with AfterCommit runs after its Update is durable,
// and not at all when the Update fails.
func TestAfterCommit(t *testing.T) {
	d := openTest(t)
	ctx := context.Background()
	var ran []string
	err := d.Update(ctx, func(tx *Tx) error {
		tx.Set([]byte("mk"), []byte("v"))
		tx.AfterCommit(func() {
			if _, err := d.Get([]byte("mk")); err != nil {
				t.Errorf("the write is not there when AfterCommit runs: %v", err)
			}
			ran = append(ran, "ok")
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	err = d.Update(ctx, func(tx *Tx) error {
		tx.AfterCommit(func() { ran = append(ran, "failed") })
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatal(err)
	}
	if err := d.Update(ctx, func(tx *Tx) error { return nil }); err != nil { // a pooled request comes back clean
		t.Fatal(err)
	}
	if len(ran) != 1 || ran[0] != "ok" {
		t.Fatalf("ran %v, want [ok]", ran)
	}
}
