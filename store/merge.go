package store

import (
	"encoding/binary"
	"fmt"
	"io"
	"slices"

	"github.com/cockroachdb/pebble/v2"
)

// Merge operands: a write that only adds to or raises a value does so
// without reading it (a blind write), and a read combines what was written.
// Five families merge, each by its key prefix:
//
//   - Roll-up counters (prefixRollup, prefixReport, prefixCost and the
//     rest): a value is a list of int64 lanes (8 bytes each, little
//     endian); merging adds lanes pairwise, so daily totals stay current as
//     data arrives and a year of reports reads 365 small values instead of
//     millions of hits.
//   - High-water marks (prefixHigh): the same lanes, merged by the larger
//     of each pair, so that a peak is raised without reading it.
//   - A lease's until (prefixLease, part leaseUntil): 8 bytes big endian,
//     merged by the later, so that a renew never moves it back whatever
//     order concurrent renews are written in.
//   - A lease's claim record (prefixLease, part leaseClaim), which a claim
//     sets and a renew written before the claim is known durable merges a
//     copy of (KeepClaim): the oldest wins, and so the claim's own record,
//     a set, whatever order the two writes reach the log in.
//   - A session (prefixSession): the record as written when it started,
//     and the tails of the hits that continued it (session_tail.go).
//
// The merger keeps the name it had when only counters merged: pebble refuses
// to open a store under another name, and counters merge as before. (An
// older binary would add untils instead of taking the later: do not go back
// to one on a store this one wrote; one older than session tails cannot
// read a store with tails in it.)

// MaxLanes bounds the lanes of one counter value.
const MaxLanes = 16

var counterMerger = &pebble.Merger{
	Name: "appliance.counters.v1",
	Merge: func(key, value []byte) (pebble.ValueMerger, error) {
		switch {
		case isSessionKey(key):
			m := &sessionValue{}
			return m, m.add(value, false)
		case isUntilKey(key):
			m := &untilValue{}
			return m, m.add(value)
		case isClaimKey(key):
			return &claimValue{v: slices.Clone(value)}, nil
		case len(key) > 0 && key[0] == prefixHigh:
			m := &counterValue{max: true}
			return m, m.operand(value)
		}
		m := &counterValue{}
		return m, m.operand(value)
	},
}

// isUntilKey reports whether key is the until of a lease (LeaseUntilKey).
func isUntilKey(key []byte) bool {
	return len(key) >= 2 && key[0] == prefixLease && len(key) == 2+int(key[1])+9 && key[len(key)-1] == leaseUntil
}

// isClaimKey reports whether key is the claim record of a lease
// (LeaseClaimKey).
func isClaimKey(key []byte) bool {
	return len(key) >= 2 && key[0] == prefixLease && len(key) == 2+int(key[1])+9 && key[len(key)-1] == leaseClaim
}

// claimValue merges the copies of a lease's claim record: the oldest wins.
// The claim's own record is a set, which pebble hands over as the oldest
// value (a set shadows every operand before it), so a copy merged by a
// renew never replaces it.
type claimValue struct{ v []byte }

func (c *claimValue) MergeNewer([]byte) error { return nil }
func (c *claimValue) MergeOlder(v []byte) error {
	c.v = append(c.v[:0], v...)
	return nil
}
func (c *claimValue) Finish(bool) ([]byte, io.Closer, error) { return c.v, nil, nil }

type counterValue struct {
	lanes []int64
	max   bool // a high-water mark: lanes merge by the larger, not the sum
}

func (c *counterValue) add(v []byte) error {
	if len(v)%8 != 0 || len(v)/8 > MaxLanes {
		return fmt.Errorf("%w: counter of %d bytes", ErrCorrupt, len(v))
	}
	for i := 0; i < len(v)/8; i++ {
		if i >= len(c.lanes) {
			c.lanes = append(c.lanes, 0)
		}
		x := int64(binary.LittleEndian.Uint64(v[i*8:]))
		if c.max {
			c.lanes[i] = max(c.lanes[i], x)
		} else {
			c.lanes[i] += x
		}
	}
	return nil
}

// operand adds a merge operand: lanes of 8 bytes, or compact lanes.
func (c *counterValue) operand(v []byte) error {
	if len(v)%8 == 0 {
		return c.add(v)
	}
	return c.addCompact(v)
}

// Compact counter operands: what the hit path merges (AddLanes, Add) is
// mostly small numbers in a few lanes, 8 bytes each as a value has them
// (a new session's traffic operand 104 bytes, a report row's 24). An
// operand may instead be its lanes as zig-zag varints followed by one
// byte, the number of lanes (1 to MaxLanes), with one zero byte before
// it when the length would otherwise be a multiple of 8: a length that is
// not one tells the two kinds apart. Only operands are compact: what the
// merger outputs, and so every read, has lanes of 8 bytes.
func appendCompactLanes(dst []byte, lanes []int64) []byte {
	if len(lanes) == 0 {
		return dst
	}
	n := len(dst)
	for _, l := range lanes {
		dst = binary.AppendVarint(dst, l)
	}
	if (len(dst)-n+1)%8 == 0 {
		dst = append(dst, 0)
	}
	return append(dst, byte(len(lanes)))
}

func (c *counterValue) addCompact(v []byte) error {
	n := int(v[len(v)-1])
	if n == 0 || n > MaxLanes {
		return fmt.Errorf("%w: compact counter of %d lanes", ErrCorrupt, n)
	}
	b := v[:len(v)-1]
	for i := range n {
		x, w := binary.Varint(b)
		if w <= 0 {
			return fmt.Errorf("%w: compact counter lane %d", ErrCorrupt, i)
		}
		b = b[w:]
		if i >= len(c.lanes) {
			c.lanes = append(c.lanes, 0)
		}
		if c.max {
			c.lanes[i] = max(c.lanes[i], x)
		} else {
			c.lanes[i] += x
		}
	}
	if len(b) > 1 || (len(b) == 1 && b[0] != 0) {
		return fmt.Errorf("%w: compact counter with trailing bytes", ErrCorrupt)
	}
	return nil
}

func (c *counterValue) MergeNewer(v []byte) error { return c.operand(v) }
func (c *counterValue) MergeOlder(v []byte) error { return c.operand(v) }
func (c *counterValue) Finish(bool) ([]byte, io.Closer, error) {
	out := make([]byte, 0, 8*len(c.lanes))
	for _, l := range c.lanes {
		out = binary.LittleEndian.AppendUint64(out, uint64(l))
	}
	return out, nil, nil
}

// DeletableFinish is Finish, except that operands of a sum that add up to
// nothing in every lane leave no row: a read finds none (which every reader
// of a roll-up takes for zero), and a compaction drops them. Deleting them
// is right whether or not they include the key's oldest value (pebble's
// includesBase), because the older operands they leave are summed apart
// from them: what a recount took back (a reports rebuild writes each row's
// difference) or a day pruned leaves no row of zeros behind. A high-water
// mark keeps its row: its operands are not a sum.
func (c *counterValue) DeletableFinish(includesBase bool) ([]byte, bool, io.Closer, error) {
	if !c.max && !slices.ContainsFunc(c.lanes, func(l int64) bool { return l != 0 }) {
		return nil, true, nil, nil
	}
	v, closer, err := c.Finish(includesBase)
	return v, false, closer, err
}

// untilValue merges the operands of a lease's until: the latest wins.
type untilValue struct{ until int64 }

func (u *untilValue) add(v []byte) error {
	x, err := DecodeUntil(v)
	if err != nil {
		return fmt.Errorf("merge lease until: %w", err)
	}
	u.until = max(u.until, x)
	return nil
}

func (u *untilValue) MergeNewer(v []byte) error { return u.add(v) }
func (u *untilValue) MergeOlder(v []byte) error { return u.add(v) }
func (u *untilValue) Finish(bool) ([]byte, io.Closer, error) {
	return AppendUntil(make([]byte, 0, 8), u.until), nil, nil
}

func counterOperand(lane int, delta int64) []byte {
	var b [8 * MaxLanes]byte
	return append([]byte(nil), counterOperandIn(&b, lane, delta)...)
}

// counterOperandIn is counterOperand written in b: the hit path adds to
// several lanes a hit, and Batch.Merge copies the operand.
func counterOperandIn(b *[8 * MaxLanes]byte, lane int, delta int64) []byte {
	if lane < 0 || lane >= MaxLanes {
		panic(fmt.Sprintf("store: counter lane %d out of range", lane))
	}
	clear(b[:8*lane])
	binary.LittleEndian.PutUint64(b[8*lane:], uint64(delta))
	return b[:8*(lane+1)]
}

// DecodeCounters decodes a roll-up value into its lanes.
func DecodeCounters(v []byte) ([]int64, error) {
	var c counterValue
	if err := c.add(v); err != nil {
		return nil, err
	}
	return c.lanes, nil
}

// EncodeCounters is the value of a roll-up with the given lanes, to Set
// where a rebuild replaces what the merges added (at most MaxLanes).
func EncodeCounters(lanes []int64) []byte {
	out := make([]byte, 0, 8*len(lanes))
	for _, l := range lanes {
		out = binary.LittleEndian.AppendUint64(out, uint64(l))
	}
	return out
}

// Raise raises lane of a high-water mark (HighKey) to v unless it is
// higher already, without reading it. v must not be negative.
func (t *Tx) Raise(key []byte, lane int, v int64) {
	t.Merge(key, counterOperand(lane, max(v, 0)))
}

// KeepClaim writes rec as the claim record of a lease (LeaseClaimKey)
// unless the claim's own record is there, whenever it is written: a renew
// of a lease whose claim is not known durable writes a copy of it, so that
// no order of writes keeps the renew without a claim, and the copy never
// replaces the record the claim sets (Set), before or after it. Of two
// copies without the claim's record, the one written first is kept.
func (t *Tx) KeepClaim(key, rec []byte) { t.Merge(key, rec) }

// ExtendLease moves the until of a lease (LeaseUntilKey) to until unless it
// is later already, without reading it: concurrent renews of one lease may
// be written in any order.
func (t *Tx) ExtendLease(key []byte, until int64) {
	var b [8]byte
	t.Merge(key, AppendUntil(b[:0], until))
}
