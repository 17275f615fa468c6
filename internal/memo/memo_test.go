package memo

import (
	"strconv"
	"sync"
	"testing"
)

// Get answers f's value, calls f once per key while the key is kept, starts
// over when full, and keeps a copy of the key, not the caller's bytes.
func TestCache(t *testing.T) {
	c := Cache[int]{Max: 3}
	calls := 0
	f := func(s string) int { calls++; return len(s) }
	buf := []byte("abc")
	if got := c.Get(string(buf[:2]), f); got != 2 {
		t.Fatalf("Get = %d, want 2", got)
	}
	if got := c.Get("ab", f); got != 2 || calls != 1 {
		t.Fatalf("second Get = %d after %d calls, want 2 after 1", got, calls)
	}
	copy(buf, "zz")
	if got := c.Get("ab", f); got != 2 || calls != 1 {
		t.Errorf("the kept key changed with the caller's buffer: %d after %d calls", got, calls)
	}
	for i := range 5 {
		c.Get(strconv.Itoa(i*1000), f)
	}
	if len(c.seen) > c.Max {
		t.Errorf("%d answers kept, Max %d", len(c.seen), c.Max)
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 100 {
				if k := strconv.Itoa(g * i % 7); c.Get(k, func(s string) int { return len(s) }) != len(k) {
					t.Error("wrong answer under concurrency")
				}
			}
		})
	}
	wg.Wait()
}
