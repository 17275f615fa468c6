package store

import (
	"context"
	"errors"
	"testing"
)

// A point read of a key the store's files do not hold is answered by
// their bloom filters, without reading their blocks.
func TestBloomFiltersAnswerMisses(t *testing.T) {
	d := openTest(t)
	for i := range 200 {
		if err := d.Set(context.Background(), VisitorKey(uint64(2*i)), []byte("v")); err != nil {
			t.Fatal(err)
		}
	}
	if err := d.db.Flush(); err != nil {
		t.Fatal(err)
	}
	// Odd ids fall between the file's first and last keys: only its
	// filter can tell they are not there.
	for i := range 100 {
		if _, err := d.Get(VisitorKey(uint64(2*i + 1))); !errors.Is(err, ErrNotFound) {
			t.Fatalf("Get of a missing visitor: %v", err)
		}
	}
	if m := d.db.Metrics(); m.Filter.Hits == 0 {
		t.Fatalf("no bloom filter answered a miss (filter hits %d, misses %d)", m.Filter.Hits, m.Filter.Misses)
	}
}

// DefaultCacheSize is a 64th of the memory this process may use, within
// its bounds.
func TestDefaultCacheSize(t *testing.T) {
	mem := MachineMemory()
	if got, want := DefaultCacheSize(), min(max(mem/64, MinCacheSize), MaxDefaultCacheSize); got != want || mem <= 0 {
		t.Fatalf("DefaultCacheSize = %d with %d bytes of memory, want %d", got, mem, want)
	}
}
