package store

import (
	"context"
	"fmt"

	"github.com/cockroachdb/pebble/v2"
)

// Range is the key range [Lower, Upper).
type Range struct{ Lower, Upper []byte }

// ScanRanges is Scan over each range in turn: it calls fn(i, key, value)
// for the keys of ranges[i] in order (reverse order when reverse is set)
// until fn returns false, then goes on to range i+1. One iterator serves
// every range, so ranges given in key order read each block of the store
// once instead of once per range: it is how start-up reads the last lease
// of tens of thousands of numbers. Key and value are valid only during the
// call; the ranges must not change until ScanRanges returns.
func (d *DB) ScanRanges(ctx context.Context, ranges []Range, reverse bool, fn func(i int, key, value []byte) bool) error {
	if len(ranges) == 0 {
		return nil
	}
	it, err := d.db.NewIterWithContext(ctx, &pebble.IterOptions{LowerBound: ranges[0].Lower, UpperBound: ranges[0].Upper})
	if err != nil {
		return fmt.Errorf("scan ranges: %w", err)
	}
	valid, next := it.First, it.Next
	if reverse {
		valid, next = it.Last, it.Prev
	}
	for i, r := range ranges {
		if err := ctx.Err(); err != nil {
			it.Close()
			return err
		}
		if i > 0 {
			it.SetBounds(r.Lower, r.Upper)
		}
		for ok := valid(); ok; ok = next() {
			v, err := it.ValueAndErr()
			if err != nil {
				it.Close()
				return fmt.Errorf("scan ranges: %w", err)
			}
			if !fn(i, it.Key(), v) {
				break
			}
		}
		if err := it.Error(); err != nil {
			it.Close()
			return fmt.Errorf("scan ranges: %w", err)
		}
	}
	if err := it.Close(); err != nil {
		return fmt.Errorf("scan ranges: %w", err)
	}
	return nil
}
