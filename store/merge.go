package store

import (
	"encoding/binary"
	"fmt"
	"io"

	"github.com/cockroachdb/pebble/v2"
)

// Roll-up counters: a value is a list of int64 lanes (8 bytes each, little
// endian); merging adds lanes pairwise. A write adds to one lane of a key
// without reading it, so daily totals stay current as data arrives and a
// year of reports reads 365 small values instead of millions of hits.

// MaxLanes bounds the lanes of one counter value.
const MaxLanes = 16

var counterMerger = &pebble.Merger{
	Name: "appliance.counters.v1",
	Merge: func(key, value []byte) (pebble.ValueMerger, error) {
		m := &counterValue{}
		return m, m.add(value)
	},
}

type counterValue struct{ lanes []int64 }

func (c *counterValue) add(v []byte) error {
	if len(v)%8 != 0 || len(v)/8 > MaxLanes {
		return fmt.Errorf("%w: counter of %d bytes", ErrCorrupt, len(v))
	}
	for i := 0; i < len(v)/8; i++ {
		if i >= len(c.lanes) {
			c.lanes = append(c.lanes, 0)
		}
		c.lanes[i] += int64(binary.LittleEndian.Uint64(v[i*8:]))
	}
	return nil
}

func (c *counterValue) MergeNewer(v []byte) error { return c.add(v) }
func (c *counterValue) MergeOlder(v []byte) error { return c.add(v) }
func (c *counterValue) Finish(bool) ([]byte, io.Closer, error) {
	out := make([]byte, 0, 8*len(c.lanes))
	for _, l := range c.lanes {
		out = binary.LittleEndian.AppendUint64(out, uint64(l))
	}
	return out, nil, nil
}

func counterOperand(lane int, delta int64) []byte {
	if lane < 0 || lane >= MaxLanes {
		panic(fmt.Sprintf("store: counter lane %d out of range", lane))
	}
	b := make([]byte, 8*(lane+1))
	binary.LittleEndian.PutUint64(b[8*lane:], uint64(delta))
	return b
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
