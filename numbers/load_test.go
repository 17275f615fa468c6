package numbers

import (
	"math/rand/v2"
	"testing"
	"time"
)

// A fresh lease tells how many leases of the pool are live just after it,
// as a pass over every slot counts them (Live), through claims, renews,
// lapses, retired leases, restored ones and a change of numbers, with a
// clock that never goes back.
func TestLeaseLiveCountsThePool(t *testing.T) {
	nums := testNumbers(40)
	p := NewPool(1, nums[:32], 5*time.Minute)
	if err := p.Restore(nums[3], 1000, t0.Add(-time.Minute), t0.Add(2*time.Minute)); err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(1, 2))
	now := t0
	claims := 0
	for i := range 20000 {
		now = now.Add(time.Duration(r.IntN(3000)) * time.Millisecond)
		if i == 10000 {
			p = p.With(nums[8:], 5*time.Minute)
		}
		// Few visitors come back, so leases renew, lapse and are taken over.
		v := uint64(r.IntN(400))
		l, err := p.Acquire(v, now)
		if err != nil {
			continue
		}
		if !l.Fresh {
			if l.Live != 0 {
				t.Fatalf("call %d: a renew says %d live", i, l.Live)
			}
			continue
		}
		claims++
		if got, want := l.Live, p.Live(now); got != want {
			t.Fatalf("call %d at %v: claim says %d live, the slots %d", i, now.Sub(t0), got, want)
		}
	}
	if claims < 1000 {
		t.Fatalf("only %d claims: the test does not exercise the count", claims)
	}
}

// MarkRecorded marks the lease it is given, and only while it holds the
// number: a renew of it comes with Recorded, a later lease of the number
// without.
func TestMarkRecorded(t *testing.T) {
	p := NewPool(1, testNumbers(1), MinReserve)
	l := mustAcquire(t, p, 1, t0)
	if l.Recorded {
		t.Fatalf("fresh lease recorded: %+v", l)
	}
	if r := mustAcquire(t, p, 1, t0.Add(time.Second)); r.Recorded {
		t.Fatalf("renew before MarkRecorded is recorded: %+v", r)
	}
	p.MarkRecorded(l)
	if r := mustAcquire(t, p, 1, t0.Add(2*time.Second)); !r.Recorded {
		t.Fatalf("renew after MarkRecorded not recorded: %+v", r)
	}
	later := t0.Add(time.Hour)
	n := mustAcquire(t, p, 2, later)
	p.MarkRecorded(l) // the slot has passed to visitor 2
	if r := mustAcquire(t, p, 2, later.Add(time.Second)); r.Recorded || n.Number != l.Number {
		t.Fatalf("another visitor's lease marked by the old lease: %+v", r)
	}
	if err := p.Restore(l.Number, 3, later.Add(time.Minute), later.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if r := mustAcquire(t, p, 3, later.Add(2*time.Minute)); !r.Recorded {
		t.Fatalf("a restored lease comes from the history, so it is recorded: %+v", r)
	}
}
