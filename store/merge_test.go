package store

import (
	"context"
	"slices"
	"testing"
)

// Each merging family combines its blind writes its own way, in the
// group's batch, after a flush and across a reopen: counters add, high-water
// marks keep the larger, a lease's until keeps the later, over a Set until
// written before untils merged.
func TestMergeFamilies(t *testing.T) {
	d := openTest(t)
	ctx := context.Background()
	counter, high := RollupKey(1, 100, "n.1"), HighKey(1, 100, "n.1")
	until := LeaseUntilKey("74950000001", 5)
	write := func(fn func(tx *Tx)) {
		t.Helper()
		if err := d.Update(ctx, func(tx *Tx) error { fn(tx); return nil }); err != nil {
			t.Fatal(err)
		}
	}
	write(func(tx *Tx) { tx.Set(until, EncodeUntil(30)) }) // as renews wrote it before
	write(func(tx *Tx) {
		tx.Add(counter, 0, 2)
		tx.Raise(high, 0, 7)
		tx.ExtendLease(until, 50)
		tx.ExtendLease(until, 40) // an older renew written last
	})
	write(func(tx *Tx) {
		tx.Add(counter, 0, 3)
		tx.Raise(high, 0, 4)
		tx.Raise(high, 1, 9)
		tx.ExtendLease(until, 20)
	})
	check := func(when string) {
		t.Helper()
		b, err := d.Get(counter)
		if lanes, derr := DecodeCounters(b); err != nil || derr != nil || !slices.Equal(lanes, []int64{5}) {
			t.Errorf("%s: counter %v, %v %v; want [5]", when, lanes, err, derr)
		}
		b, err = d.Get(high)
		if lanes, derr := DecodeCounters(b); err != nil || derr != nil || !slices.Equal(lanes, []int64{7, 9}) {
			t.Errorf("%s: high-water mark %v, %v %v; want [7 9]", when, lanes, err, derr)
		}
		b, err = d.Get(until)
		if u, derr := DecodeUntil(b); err != nil || derr != nil || u != 50 {
			t.Errorf("%s: until %d, %v %v; want 50", when, u, err, derr)
		}
	}
	check("in the memtable")
	if err := d.db.Flush(); err != nil {
		t.Fatal(err)
	}
	check("flushed")
	d = reopen(t, d)
	check("reopened")
}
