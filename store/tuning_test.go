package store

import (
	"context"
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2"
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

// Once the store outgrows lbaseMaxBytes, level 0 is compacted into a level
// above the last one instead of into all of it: each flush's keys, spread
// over the whole key space like a hit's, then rewrite a few MB at most,
// not every table of the store (pebble's default base level holds up to
// 64 MB, which took 20-40% of the hit endpoint's throughput at a million
// hits).
func TestBaseLevelStaysSmall(t *testing.T) {
	d := openTest(t)
	ctx := context.Background()
	rnd := rand.New(rand.NewPCG(1, 2))
	value := make([]byte, 512)
	// Incompressible values under keys spread like a hit path's: about
	// eight times lbaseMaxBytes in all, in memtable-sized flushes.
	const batch = 1000
	for round := range 8 * lbaseMaxBytes / (batch * len(value)) {
		err := d.Update(ctx, func(tx *Tx) error {
			for range batch {
				for j := 0; j < len(value); j += 8 {
					binary.LittleEndian.PutUint64(value[j:], rnd.Uint64())
				}
				tx.Set(VisitorKey(rnd.Uint64()), value)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if round%8 == 7 {
			if err := d.db.Flush(); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := d.db.Flush(); err != nil {
		t.Fatal(err)
	}
	// Level 0 is compacted into the last level while the store is
	// small; once that passes lbaseMaxBytes, into the one above it
	// (whose tables move on down in turn). Compactions run in the
	// background: wait for one into a level above the last.
	var m *pebble.Metrics
	for range 12000 {
		m = d.db.Metrics()
		for l := 1; l < len(m.Levels)-1; l++ {
			if m.Levels[l].TableBytesIn > 0 {
				return
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("after %d MB and two minutes nothing was compacted into a level above the last one: level 0 goes into the last level itself, every table of it rewritten\n%s", 8*lbaseMaxBytes>>20, m)
}
