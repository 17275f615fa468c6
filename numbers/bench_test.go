package numbers

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"appliance/internal/cputime"
)

// acquirer is what the benchmarks drive: the lock-free Pool, or the
// mutexPool baseline.
type acquirer interface {
	Acquire(visitor uint64, now time.Time) (Lease, error)
}

// mutexPool is the obvious design the lock-free Pool is measured against:
// one mutex over a visitor -> slot map and the slots, with the same
// semantics as Pool.Acquire (renew without shortening, prefer the lapsed
// slot, scan from a hashed offset, count misses).
type mutexPool struct {
	mu        sync.Mutex
	reserve   int64
	numbers   []string
	byVisitor map[uint64]int
	slots     []mutexSlot
	misses    uint64
}

type mutexSlot struct {
	visitor      uint64
	since, until int64
}

func newMutexPool(numbers []string, reserve time.Duration) *mutexPool {
	return &mutexPool{
		reserve:   int64(reserve),
		numbers:   numbers,
		byVisitor: make(map[uint64]int),
		slots:     make([]mutexSlot, len(numbers)),
	}
}

func (m *mutexPool) Acquire(visitor uint64, now time.Time) (Lease, error) {
	t := nanos(now)
	m.mu.Lock()
	defer m.mu.Unlock()
	prev := -1
	if i, ok := m.byVisitor[visitor]; ok {
		s := &m.slots[i]
		if s.visitor == visitor && s.until > t {
			s.until = max(s.until, t+m.reserve)
			return m.lease(i, false), nil
		}
		prev = i
	}
	take := func(i int) bool {
		s := &m.slots[i]
		if s.until > t {
			return false
		}
		if j, ok := m.byVisitor[s.visitor]; ok && j == i {
			delete(m.byVisitor, s.visitor)
		}
		*s = mutexSlot{visitor: visitor, since: t, until: t + m.reserve}
		m.byVisitor[visitor] = i
		return true
	}
	n := len(m.slots)
	if prev >= 0 && take(prev) {
		return m.lease(prev, true), nil
	}
	start := int(mix(visitor) % uint64(n))
	for k := range n {
		if i := (start + k) % n; take(i) {
			return m.lease(i, true), nil
		}
	}
	m.misses++
	return Lease{}, ErrExhausted
}

func (m *mutexPool) lease(i int, fresh bool) Lease {
	s := m.slots[i]
	return Lease{Slot: i, Number: m.numbers[i], Visitor: s.visitor,
		Since: time.Unix(0, s.since).UTC(), Until: time.Unix(0, s.until).UTC(), Fresh: fresh}
}

const (
	benchSize      = 512
	benchResidents = 4  // visitors per goroutine who hold a lease and come back
	benchNewEvery  = 64 // one call in this many is a visitor not seen before
	// benchTick is how far the shared clock moves per call, so that a lease
	// lives about 8192 calls: residents of 64 goroutines renew well within it,
	// and the newcomers it holds at once leave the pool about a quarter free.
	benchTick = DefaultReserve / 8192
)

// benchAcquire spreads b.N calls over g goroutines. Each has its own resident
// visitors, who renew on most calls, and brings a new visitor, who claims,
// once in benchNewEvery calls. The clock is shared and moves in steps.
func benchAcquire(b *testing.B, newPool func() acquirer, g int, newEvery int) {
	p := newPool()
	var clock atomic.Int64
	clock.Store(t0.UnixNano())
	for w := range g {
		for r := range benchResidents {
			p.Acquire(uint64(w)<<32|uint64(r), t0)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	cpu := cputime.Process()
	defer func() { b.ReportMetric(float64(cputime.Process()-cpu)/float64(b.N), "cpu-ns/op") }()
	var wg sync.WaitGroup
	for w := range g {
		calls := b.N / g
		if w < b.N%g {
			calls++
		}
		wg.Go(func() {
			base := uint64(w) << 32
			fresh := uint64(benchResidents)
			const step = 1024
			for i := range calls {
				if i%step == 0 {
					clock.Add(int64(step * benchTick))
				}
				v := base | uint64(i%benchResidents)
				if newEvery > 0 && i%newEvery == newEvery-1 {
					v = base | fresh
					fresh++
				}
				p.Acquire(v, time.Unix(0, clock.Load()))
			}
		})
	}
	wg.Wait()
}

var benchImpls = []struct {
	name string
	new  func() acquirer
}{
	{"lockfree", func() acquirer { return NewPool(1, testNumbers(benchSize), DefaultReserve) }},
	{"mutex", func() acquirer { return newMutexPool(testNumbers(benchSize), DefaultReserve) }},
	{"addrcap", func() acquirer {
		p := NewPool(1, testNumbers(benchSize), DefaultReserve)
		p.SetAddrCap(DefaultAddrCap)
		return cappedPool{p}
	}},
}

// cappedPool is the lock-free pool with its address cap, its visitors
// coming from 4,096 IPv4 addresses (each worker's residents spread over
// them).
type cappedPool struct{ *Pool }

func (c cappedPool) Acquire(visitor uint64, now time.Time) (Lease, error) {
	return c.AcquireFrom(visitor, 0xffffffff<<32|(visitor>>32*benchResidents+visitor)&4095, now)
}

// BenchmarkAcquire is the hit path: mostly renews, some claims.
func BenchmarkAcquire(b *testing.B) {
	for _, impl := range benchImpls {
		for _, g := range []int{1, 8, 64} {
			b.Run(fmt.Sprintf("%s/g=%d", impl.name, g), func(b *testing.B) {
				benchAcquire(b, impl.new, g, benchNewEvery)
			})
		}
	}
}

// BenchmarkRenew is renews only: the lock-free pool must not allocate.
func BenchmarkRenew(b *testing.B) {
	for _, impl := range benchImpls {
		for _, g := range []int{1, 8, 64} {
			b.Run(fmt.Sprintf("%s/g=%d", impl.name, g), func(b *testing.B) {
				benchAcquire(b, impl.new, g, 0)
			})
		}
	}
}

// BenchmarkClaimHeavy is a load where one call in four is a new visitor:
// the claim path (scan for a free number, index the visitor) dominates.
func BenchmarkClaimHeavy(b *testing.B) {
	for _, impl := range benchImpls {
		for _, g := range []int{1, 64} {
			b.Run(fmt.Sprintf("%s/g=%d", impl.name, g), func(b *testing.B) {
				benchAcquire(b, impl.new, g, 4)
			})
		}
	}
}
