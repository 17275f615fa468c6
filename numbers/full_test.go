package numbers

import (
	"testing"
	"time"
)

// A pool that ran dry answers newcomers without scanning, and lets them in
// the moment the first lease ends, renewed or not.
func TestFullPoolFastPath(t *testing.T) {
	p := NewPool(1, testNumbers(2), DefaultReserve)
	mustAcquire(t, p, 1, t0)                         // until t0+20m
	b := mustAcquire(t, p, 2, t0.Add(5*time.Minute)) // until t0+25m
	at := func(d time.Duration) time.Time { return t0.Add(d) }
	if _, err := p.Acquire(3, at(10*time.Minute)); err != ErrExhausted {
		t.Fatalf("full pool: %v", err)
	}
	if got, want := p.full.Load(), at(20*time.Minute).UnixNano(); got != want {
		t.Fatalf("full = %v, want the first end %v", time.Unix(0, got).UTC(), time.Unix(0, want).UTC())
	}
	mustAcquire(t, p, 1, at(15*time.Minute)) // renewed to t0+35m
	if _, err := p.Acquire(3, at(21*time.Minute)); err != ErrExhausted {
		t.Fatalf("both still live at +21m: %v", err)
	}
	if l := mustAcquire(t, p, 3, at(25*time.Minute)); l.Number != b.Number {
		t.Fatalf("at +25m the newcomer got %s, want %s, whose lease just ended", l.Number, b.Number)
	}
	if got := p.Misses(); got != 2 {
		t.Fatalf("misses = %d, want 2", got)
	}
	// Restore may put back a lease that ends before what the last scan saw.
	q := NewPool(1, testNumbers(1), DefaultReserve)
	mustAcquire(t, q, 1, t0)
	q.Acquire(2, t0)
	if err := q.Restore(q.Numbers()[0], 7, t0, at(time.Minute)); err != nil {
		t.Fatal(err)
	}
	mustAcquire(t, q, 2, at(2*time.Minute))
}
