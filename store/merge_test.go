package store

import (
	"context"
	"errors"
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

// A lease's claim record set by the claim stays whatever copies renews
// merge (KeepClaim), before or after it, in the memtable, flushed,
// compacted and reopened; of copies alone the first written stays.
func TestKeepClaim(t *testing.T) {
	d := openTest(t)
	ctx := context.Background()
	before, after, copies := LeaseClaimKey("74950000001", 5), LeaseClaimKey("74950000002", 5), LeaseClaimKey("74950000003", 5)
	write := func(fn func(tx *Tx)) {
		t.Helper()
		if err := d.Update(ctx, func(tx *Tx) error { fn(tx); return nil }); err != nil {
			t.Fatal(err)
		}
	}
	write(func(tx *Tx) { tx.KeepClaim(before, []byte("renew")) })
	write(func(tx *Tx) {
		tx.Set(before, []byte("claim"))
		tx.Set(after, []byte("claim"))
		tx.KeepClaim(copies, []byte("first"))
	})
	write(func(tx *Tx) { tx.KeepClaim(after, []byte("renew")); tx.KeepClaim(copies, []byte("second")) })
	write(func(tx *Tx) { tx.KeepClaim(after, []byte("renew2")) })
	check := func(when string) {
		t.Helper()
		for k, want := range map[string]string{string(before): "claim", string(after): "claim", string(copies): "first"} {
			if b, err := d.Get([]byte(k)); err != nil || string(b) != want {
				t.Errorf("%s: claim %x = %q, %v; want %q", when, k, b, err, want)
			}
		}
	}
	check("in the memtable")
	if err := d.db.Flush(); err != nil {
		t.Fatal(err)
	}
	check("flushed")
	if err := d.Compact(ctx); err != nil {
		t.Fatal(err)
	}
	check("compacted")
	d = reopen(t, d)
	check("reopened")
}

// Compact counter operands (AddLanes, Add) merge with each other, with
// operands of 8-byte lanes and over a Set of them (a rebuild's), in the
// memtable, flushed and compacted; a read always has 8-byte lanes.
// Lengths that would be a multiple of 8 are padded, and a malformed
// compact operand is an error.
func TestCompactCounters(t *testing.T) {
	for _, lanes := range [][]int64{{1}, {0, 0, 0, 0, 0, 0, 1}, {1 << 40, -1}, {-5, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1 << 62}} {
		op := appendCompactLanes(nil, lanes)
		if len(op)%8 == 0 {
			t.Errorf("%v: compact operand %x of a length a multiple of 8", lanes, op)
		}
		var c counterValue
		if err := c.operand(op); err != nil || !slices.Equal(c.lanes, lanes) {
			t.Errorf("%v: compact operand %x read as %v, %v", lanes, op, c.lanes, err)
		}
	}
	for _, bad := range [][]byte{{0x80, 0x80, 1}, {2, 0}, {2, 2, 5, 1}, {0x80, 1}, {2, 17}} {
		var c counterValue
		if err := c.operand(bad); !errors.Is(err, ErrCorrupt) {
			t.Errorf("operand %x: %v; want ErrCorrupt", bad, err)
		}
	}

	d := openTest(t)
	ctx := context.Background()
	k, rebuilt := RollupKey(1, 100, "t"), RollupKey(1, 101, "t")
	write := func(fn func(tx *Tx)) {
		t.Helper()
		if err := d.Update(ctx, func(tx *Tx) error { fn(tx); return nil }); err != nil {
			t.Fatal(err)
		}
	}
	write(func(tx *Tx) { tx.Set(rebuilt, EncodeCounters([]int64{10, 20})) })
	write(func(tx *Tx) {
		tx.AddLanes(k, []int64{1, 0, 3})
		tx.Add(k, 5, 2)
		tx.Merge(k, EncodeCounters([]int64{1, 1})) // as written before
		tx.AddLanes(rebuilt, []int64{1, 1, 1})
	})
	check := func(when string) {
		t.Helper()
		for _, c := range []struct {
			key  []byte
			want []int64
		}{{k, []int64{2, 1, 3, 0, 0, 2}}, {rebuilt, []int64{11, 21, 1}}} {
			b, err := d.Get(c.key)
			if lanes, derr := DecodeCounters(b); err != nil || derr != nil || !slices.Equal(lanes, c.want) {
				t.Errorf("%s: %v, %v %v; want %v", when, lanes, err, derr, c.want)
			}
		}
	}
	check("in the memtable")
	if err := d.db.Flush(); err != nil {
		t.Fatal(err)
	}
	check("flushed")
	write(func(tx *Tx) { tx.Add(k, 0, -1); tx.Add(k, 0, 1) })
	if err := d.Compact(ctx); err != nil {
		t.Fatal(err)
	}
	check("compacted")
	d = reopen(t, d)
	check("reopened")
}

// Operands of a counter that add up to nothing leave no row: a read finds
// none, in the memtable, flushed, compacted and across a reopen, and a
// scan of the family lists none (a recount's difference that empties a
// row, a day pruned). Operands summing to nothing above an older value
// drop only themselves; a high-water mark of zeros keeps its row.
func TestCountersSummingToNothing(t *testing.T) {
	d := openTest(t)
	ctx := context.Background()
	gone, kept, high := RollupKey(1, 100, "n.1"), RollupKey(1, 101, "n.1"), HighKey(1, 100, "n.1")
	write := func(fn func(tx *Tx)) {
		t.Helper()
		if err := d.Update(ctx, func(tx *Tx) error { fn(tx); return nil }); err != nil {
			t.Fatal(err)
		}
	}
	flush := func() {
		t.Helper()
		if err := d.db.Flush(); err != nil {
			t.Fatal(err)
		}
	}
	write(func(tx *Tx) {
		tx.AddLanes(gone, []int64{3, 1})
		tx.Add(kept, 1, 4)
		tx.Raise(high, 0, 0)
	})
	flush()
	if err := d.Compact(ctx); err != nil { // kept's 4 in the last level
		t.Fatal(err)
	}
	write(func(tx *Tx) {
		tx.AddLanes(gone, []int64{-3, -1})
		tx.Add(kept, 1, 5)
		tx.Add(kept, 1, -5)
	})
	check := func(when string) {
		t.Helper()
		if b, err := d.Get(gone); !errors.Is(err, ErrNotFound) {
			t.Errorf("%s: the counter that adds up to nothing reads %v, %v; want no row", when, b, err)
		}
		b, err := d.Get(kept)
		if lanes, derr := DecodeCounters(b); err != nil || derr != nil || !slices.Equal(lanes, []int64{0, 4}) {
			t.Errorf("%s: the counter under operands adding up to nothing %v, %v %v; want [0 4]", when, lanes, err, derr)
		}
		if b, err := d.Get(high); err != nil || len(b) != 8 {
			t.Errorf("%s: high-water mark of zero %v, %v; want its row", when, b, err)
		}
		var rows [][]byte
		if err := d.ScanPrefix(ctx, []byte{prefixRollup}, false, 0, func(k, _ []byte) bool {
			rows = append(rows, slices.Clone(k))
			return true
		}); err != nil {
			t.Fatal(err)
		}
		if len(rows) != 1 || !slices.Equal(rows[0], kept) {
			t.Errorf("%s: roll-up rows %q, want only %q", when, rows, kept)
		}
	}
	check("in the memtable")
	flush()
	check("flushed")
	if err := d.Compact(ctx); err != nil {
		t.Fatal(err)
	}
	check("compacted")
	d = reopen(t, d)
	check("reopened")
}
