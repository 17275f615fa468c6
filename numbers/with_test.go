package numbers

import (
	"sync"
	"testing"
	"time"
)

// A pool made by With shares the leases of the numbers it keeps: the
// holder renews through the new pool, no one else can take the number
// through either pool, and the new numbers start free.
func TestWithSharesLeases(t *testing.T) {
	nums := testNumbers(3)
	old := NewPool(1, nums[:2], DefaultReserve)
	a := mustAcquire(t, old, 1, t0)
	b := mustAcquire(t, old, 2, t0)
	q := old.With([]string{b.Number, nums[2]}, 30*time.Minute) // drops a's number, keeps b's
	if q.Size() != 2 || q.Reserve() != 30*time.Minute || q.ID() != 1 {
		t.Fatalf("With: size %d reserve %v id %d", q.Size(), q.Reserve(), q.ID())
	}
	if l := mustAcquire(t, q, 2, t0.Add(time.Minute)); l.Number != b.Number || l.Fresh {
		t.Fatalf("holder through the new pool: %+v, want a renew of %s", l, b.Number)
	}
	if l := mustAcquire(t, q, 3, t0.Add(time.Minute)); l.Number != nums[2] {
		t.Fatalf("newcomer got %s, want the new number %s", l.Number, nums[2])
	}
	if _, err := q.Acquire(4, t0.Add(time.Minute)); err != ErrExhausted {
		t.Fatalf("full new pool: %v", err)
	}
	// The old pool sees the renew made through the new one.
	if v, _, ok := old.Holder(b.Number, t0.Add(DefaultReserve+30*time.Second)); !ok || v != 2 {
		t.Fatalf("old pool does not see the renew: %d %v", v, ok)
	}
	if q.Slot(a.Number) >= 0 {
		t.Fatalf("dropped number %s still in the new pool", a.Number)
	}
}

// While hits still run on the old pool, With never lets one number carry
// two live leases.
func TestWithConcurrentNoOverlap(t *testing.T) {
	nums := testNumbers(8)
	old := NewPool(1, nums, DefaultReserve)
	var mu sync.Mutex
	var recs []record
	var wg sync.WaitGroup
	run := func(p *Pool, base uint64) {
		defer wg.Done()
		for i := range 2000 {
			now := t0.Add(time.Duration(i) * time.Second)
			l, err := p.Acquire(base+uint64(i%40), now)
			if err == nil {
				mu.Lock()
				recs = append(recs, record{number: l.Number, visitor: l.Visitor, since: l.Since.UnixNano(),
					until: l.Until.UnixNano(), fresh: l.Fresh})
				mu.Unlock()
			}
		}
	}
	wg.Add(1)
	go run(old, 0)
	q := old.With(nums, DefaultReserve)
	wg.Add(1)
	go run(q, 1000)
	wg.Wait()
	checkNoOverlap(t, recs)
}
