package store

import (
	"context"
	"fmt"
	"slices"
	"testing"
)

// ScanRanges visits each range in turn with one iterator, forward or
// backward, stopping a range when fn says so and going on to the next.
func TestScanRanges(t *testing.T) {
	d := openTest(t)
	ctx := context.Background()
	if err := d.Update(ctx, func(tx *Tx) error {
		for _, k := range []string{"a1", "a2", "a3", "b1", "c1", "c2"} {
			tx.Set([]byte(k), []byte("v"+k))
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	ranges := []Range{{[]byte("a"), []byte("b")}, {[]byte("b2"), []byte("c")}, {[]byte("c"), []byte("d")}}
	for _, reverse := range []bool{false, true} {
		var got []string
		err := d.ScanRanges(ctx, ranges, reverse, func(i int, k, v []byte) bool {
			got = append(got, fmt.Sprintf("%d:%s=%s", i, k, v))
			return i != 0 || len(got) < 2 // two keys of the first range
		})
		want := []string{"0:a1=va1", "0:a2=va2", "2:c1=vc1", "2:c2=vc2"}
		if reverse {
			want = []string{"0:a3=va3", "0:a2=va2", "2:c2=vc2", "2:c1=vc1"}
		}
		if err != nil || !slices.Equal(got, want) {
			t.Errorf("reverse %v: %v, %v; want %v", reverse, got, err, want)
		}
	}
}
