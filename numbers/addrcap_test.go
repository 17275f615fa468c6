package numbers

import (
	"errors"
	"net"
	"testing"
	"time"
)

func TestAddrCap(t *testing.T) {
	p := NewPool(1, testNumbers(20), 10*time.Minute)
	p.SetAddrCap(3)
	a, b := AddrKey(net.ParseIP("203.0.113.7")), AddrKey(net.ParseIP("198.51.100.1"))
	var got []Lease
	for v := uint64(1); v <= 3; v++ {
		l, err := p.AcquireFrom(v, a, t0)
		if err != nil {
			t.Fatalf("visitor %d: %v", v, err)
		}
		got = append(got, l)
	}
	for v := uint64(4); v <= 10; v++ {
		if _, err := p.AcquireFrom(v, a, t0); !errors.Is(err, ErrAddrCap) {
			t.Fatalf("visitor %d over the cap: err %v, want ErrAddrCap", v, err)
		}
	}
	if p.Limited() != 7 || p.Misses() != 0 {
		t.Errorf("limited %d misses %d, want 7 and 0", p.Limited(), p.Misses())
	}
	if n := p.Live(t0); n != 3 {
		t.Errorf("live %d, want 3", n)
	}
	// A visitor holding a lease renews it whatever the cap.
	if l, err := p.AcquireFrom(2, a, t0.Add(time.Minute)); err != nil || l.Fresh || l.Slot != got[1].Slot {
		t.Errorf("returning visitor: %+v %v, want its lease renewed", l, err)
	}
	// Another address is not limited.
	if _, err := p.AcquireFrom(11, b, t0); err != nil {
		t.Errorf("other address: %v", err)
	}
	// A released lease frees its address's slot.
	if _, ok := p.Release(got[0].Slot, t0.Add(2*time.Minute)); !ok {
		t.Fatal("release: no live lease")
	}
	if _, err := p.AcquireFrom(12, a, t0.Add(2*time.Minute)); err != nil {
		t.Errorf("after a release: %v", err)
	}
	if _, err := p.AcquireFrom(13, a, t0.Add(2*time.Minute)); !errors.Is(err, ErrAddrCap) {
		t.Errorf("cap again after the freed slot was taken: %v", err)
	}
	// Leases that lapse free theirs: visitor 2 renewed to 11m, the rest
	// end at 10m and 12m.
	later := t0.Add(11*time.Minute + time.Second)
	if _, err := p.AcquireFrom(14, a, later); err != nil {
		t.Errorf("after lapses: %v", err)
	}
	if n, _ := p.AddrCount(a); n != 2 {
		t.Errorf("address counts %d leases, want 2 (visitor 12's and 14's)", n)
	}
	// Past every lease the address's entry goes once swept; with no cap
	// nothing is counted.
	p.SetAddrCap(0)
	for v := uint64(20); v <= 30; v++ {
		if _, err := p.AcquireFrom(v, a, later); err != nil {
			t.Fatalf("no cap, visitor %d: %v", v, err)
		}
	}
	if n, _ := p.AddrCount(a); n != 2 {
		t.Errorf("claims without a cap counted: %d", n)
	}
}

// The count follows a pool through With, and a pool of many addresses
// keeps entries only for those holding leases.
func TestAddrCapBounded(t *testing.T) {
	p := NewPool(1, testNumbers(8), MinReserve)
	p.SetAddrCap(1)
	for v := uint64(1); v <= 4; v++ {
		if _, err := p.AcquireFrom(v, uint64(v), t0); err != nil {
			t.Fatal(err)
		}
	}
	q := p.With(testNumbers(8), MinReserve)
	if _, err := q.AcquireFrom(100, 1, t0); !errors.Is(err, ErrAddrCap) {
		t.Errorf("after With: %v, want ErrAddrCap", err)
	}
	// A thousand addresses, one visit each, a reservation apart: only the
	// live ones keep entries.
	now := t0
	for v := uint64(1000); v < 2000; v++ {
		now = now.Add(MinReserve / 4)
		if _, err := q.AcquireFrom(v, v, now); err != nil {
			t.Fatalf("visitor %d: %v", v, err)
		}
	}
	q.addrs.mu.Lock()
	n := len(q.addrs.m)
	q.addrs.mu.Unlock()
	if n > 64+16 {
		t.Errorf("%d address entries after 1000 addresses with 4 live leases", n)
	}
	if _, ok := q.AddrCount(1); ok {
		t.Error("address 1's lapsed lease still has an entry")
	}
}

func TestAddrKey(t *testing.T) {
	for _, c := range []struct {
		a, b string
		same bool
	}{
		{"203.0.113.7", "203.0.113.7", true},
		{"203.0.113.7", "::ffff:203.0.113.7", true},
		{"203.0.113.7", "203.0.113.8", false},
		{"2001:db8:1:2::1", "2001:db8:1:2:ffff::9", true},
		{"2001:db8:1:2::1", "2001:db8:1:3::1", false},
	} {
		ka, kb := AddrKey(net.ParseIP(c.a)), AddrKey(net.ParseIP(c.b))
		if ka == 0 || (ka == kb) != c.same {
			t.Errorf("AddrKey(%s) %x, AddrKey(%s) %x, same %v", c.a, ka, c.b, kb, c.same)
		}
	}
	for _, s := range []string{"127.0.0.1", "::1"} {
		if k := AddrKey(net.ParseIP(s)); k != 0 {
			t.Errorf("AddrKey(%s) = %x, want 0 (no cap)", s, k)
		}
	}
	if AddrKey(nil) != 0 {
		t.Error("AddrKey(nil) != 0")
	}
}
