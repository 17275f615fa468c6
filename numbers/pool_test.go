package numbers

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

var t0 = time.Date(2026, 11, 26, 15, 0, 0, 0, time.UTC)

func testNumbers(n int) []string {
	ns := make([]string, n)
	for i := range ns {
		ns[i] = fmt.Sprintf("7495000%04d", i+1)
	}
	return ns
}

func mustAcquire(t *testing.T, p *Pool, v uint64, now time.Time) Lease {
	t.Helper()
	l, err := p.Acquire(v, now)
	if err != nil {
		t.Fatalf("Acquire(%d, %v): %v", v, now, err)
	}
	return l
}

func TestAcquireRenewKeepsNumber(t *testing.T) {
	p := NewPool(1, testNumbers(4), 20*time.Minute)
	first := mustAcquire(t, p, 42, t0)
	if !first.Fresh || first.Visitor != 42 || !first.Since.Equal(t0) || !first.Until.Equal(t0.Add(20*time.Minute)) {
		t.Fatalf("first lease = %+v", first)
	}
	for i := 1; i <= 10; i++ {
		now := t0.Add(time.Duration(i) * 15 * time.Minute)
		l := mustAcquire(t, p, 42, now)
		if l.Fresh || l.Number != first.Number || l.Slot != first.Slot || !l.Since.Equal(t0) {
			t.Fatalf("renew %d = %+v, want the number %s held since %v", i, l, first.Number, t0)
		}
		if got, want := l.Until, now.Add(20*time.Minute); !got.Equal(want) {
			t.Fatalf("renew %d until = %v, want %v", i, got, want)
		}
	}
	if got, want := p.Claims(), uint64(1); got != want {
		t.Errorf("Claims() = %d, want %d", got, want)
	}
}

func TestRenewNeverShortens(t *testing.T) {
	p := NewPool(1, testNumbers(1), 0)
	mustAcquire(t, p, 1, t0.Add(10*time.Minute))
	l := mustAcquire(t, p, 1, t0) // a caller with a late clock
	if got, want := l.Until, t0.Add(10*time.Minute+DefaultReserve); !got.Equal(want) {
		t.Fatalf("until = %v, want %v", got, want)
	}
}

func TestExpiryFreesSlot(t *testing.T) {
	p := NewPool(1, testNumbers(1), 5*time.Minute)
	a := mustAcquire(t, p, 1, t0)
	if _, err := p.Acquire(2, a.Until.Add(-time.Nanosecond)); !errors.Is(err, ErrExhausted) {
		t.Fatalf("Acquire before expiry: err = %v, want ErrExhausted", err)
	}
	if got, want := p.Misses(), uint64(1); got != want {
		t.Fatalf("Misses() = %d, want %d", got, want)
	}
	b := mustAcquire(t, p, 2, a.Until)
	if !b.Fresh || b.Number != a.Number || !b.Since.Equal(a.Until) {
		t.Fatalf("lease after expiry = %+v", b)
	}
	// The first visitor lost the number: renewing now is a claim, and fails.
	if _, err := p.Acquire(1, a.Until.Add(time.Second)); !errors.Is(err, ErrExhausted) {
		t.Fatalf("Acquire by the old holder: err = %v, want ErrExhausted", err)
	}
}

func TestLapsedVisitorGetsOldNumberBack(t *testing.T) {
	p := NewPool(1, testNumbers(16), 5*time.Minute)
	a := mustAcquire(t, p, 7, t0)
	b := mustAcquire(t, p, 7, t0.Add(time.Hour))
	if !b.Fresh || b.Number != a.Number {
		t.Fatalf("lease after lapse = %+v, want a fresh lease on %s", b, a.Number)
	}
}

func TestDistinctVisitorsDistinctNumbers(t *testing.T) {
	p := NewPool(1, testNumbers(8), 0)
	seen := map[string]uint64{}
	for v := uint64(1); v <= 8; v++ {
		l := mustAcquire(t, p, v, t0)
		if other, dup := seen[l.Number]; dup {
			t.Fatalf("visitors %d and %d both hold %s", other, v, l.Number)
		}
		seen[l.Number] = v
	}
	if _, err := p.Acquire(9, t0); !errors.Is(err, ErrExhausted) {
		t.Fatalf("ninth visitor: err = %v, want ErrExhausted", err)
	}
	if got, want := p.Live(t0), 8; got != want {
		t.Errorf("Live = %d, want %d", got, want)
	}
	if got, want := len(p.Leases(t0)), 8; got != want {
		t.Errorf("len(Leases) = %d, want %d", got, want)
	}
	if got, want := p.Live(t0.Add(DefaultReserve)), 0; got != want {
		t.Errorf("Live after reserve = %d, want %d", got, want)
	}
}

// TestIndexBucket puts more visitors in one index bucket than it has ways:
// each must still renew its own number, and a newcomer to the bucket must not
// be taken for one of them.
func TestIndexBucket(t *testing.T) {
	p := NewPool(1, testNumbers(32), 0)
	bucketOf := func(v uint64) uint64 { return mix(v) >> p.bucketShift }
	var vs []uint64
	for v := uint64(1); len(vs) < len(bucket{}.ways)+3; v++ {
		if bucketOf(v) == bucketOf(1) {
			vs = append(vs, v)
		}
	}
	held := map[uint64]string{}
	for i, v := range vs[:len(vs)-1] {
		l := mustAcquire(t, p, v, t0.Add(time.Duration(i)*time.Second))
		held[v] = l.Number
	}
	if !p.buckets[bucketOf(1)].overflowed.Load() {
		t.Fatal("bucket not marked overflowed")
	}
	for round := range 2 {
		for _, v := range vs[:len(vs)-1] {
			l := mustAcquire(t, p, v, t0.Add(time.Minute*time.Duration(1+round)))
			if l.Fresh || l.Number != held[v] {
				t.Fatalf("visitor %d: %+v, want a renew of %s", v, l, held[v])
			}
		}
	}
	if l := mustAcquire(t, p, vs[len(vs)-1], t0.Add(time.Minute)); !l.Fresh {
		t.Fatalf("newcomer got %+v, want a fresh lease", l)
	}
}

func TestRestore(t *testing.T) {
	ns := testNumbers(3)
	p := NewPool(1, ns, 0)
	since := t0.Add(-5 * time.Minute)
	if err := p.Restore(ns[1], 7, since, t0.Add(15*time.Minute)); err != nil {
		t.Fatal(err)
	}
	// An older lease of the same number, replayed later, changes nothing.
	if err := p.Restore(ns[1], 8, since.Add(-time.Hour), t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	l := mustAcquire(t, p, 7, t0)
	if l.Fresh || l.Number != ns[1] || !l.Since.Equal(since) {
		t.Fatalf("after restore: %+v, want a renew of %s since %v", l, ns[1], since)
	}
	if v, s, ok := p.Holder(ns[1], t0); !ok || v != 7 || !s.Equal(since) {
		t.Fatalf("Holder = %d, %v, %v", v, s, ok)
	}
	// A newer lease replaces it.
	if err := p.Restore(ns[1], 9, t0.Add(time.Hour), t0.Add(2*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if v, _, ok := p.Holder(ns[1], t0.Add(90*time.Minute)); !ok || v != 9 {
		t.Fatalf("Holder after newer restore = %d, %v", v, ok)
	}

	if err := p.Restore("70000000000", 7, t0, t0.Add(time.Minute)); !errors.Is(err, ErrUnknownNumber) {
		t.Errorf("unknown number: err = %v", err)
	}
	if err := p.Restore(ns[0], 7, t0, t0); !errors.Is(err, ErrLease) {
		t.Errorf("empty interval: err = %v", err)
	}
}

func TestHolder(t *testing.T) {
	ns := testNumbers(2)
	p := NewPool(1, ns, 5*time.Minute)
	l := mustAcquire(t, p, 3, t0)
	for _, c := range []struct {
		name   string
		number string
		at     time.Time
		want   uint64
	}{
		{"at claim", l.Number, t0, 3},
		{"inside", l.Number, t0.Add(4 * time.Minute), 3},
		{"before claim", l.Number, t0.Add(-time.Second), 0},
		{"at expiry", l.Number, l.Until, 0},
		{"free number", ns[1-l.Slot], t0, 0},
		{"unknown number", "123", t0, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			v, since, ok := p.Holder(c.number, c.at)
			if got := map[bool]uint64{true: v}[ok]; got != c.want {
				t.Fatalf("Holder = %d, %v, want %d", v, ok, c.want)
			}
			if ok && !since.Equal(t0) {
				t.Fatalf("since = %v, want %v", since, t0)
			}
		})
	}
}

func TestReserve(t *testing.T) {
	for _, c := range []struct {
		in, want time.Duration
		valid    bool
	}{
		{0, DefaultReserve, false},
		{time.Minute, MinReserve, false},
		{MinReserve, MinReserve, true},
		{20 * time.Minute, 20 * time.Minute, true},
		{MaxReserve, MaxReserve, true},
		{MaxReserve + time.Second, MaxReserve, false},
	} {
		if got := NewPool(1, nil, c.in).Reserve(); got != c.want {
			t.Errorf("NewPool(reserve %v).Reserve() = %v, want %v", c.in, got, c.want)
		}
		if err := CheckReserve(c.in); (err == nil) != c.valid || err != nil && !errors.Is(err, ErrReserve) {
			t.Errorf("CheckReserve(%v) = %v, want valid %v", c.in, err, c.valid)
		}
	}
}

func TestNewPoolDropsDuplicates(t *testing.T) {
	p := NewPool(1, []string{"1", "2", "1"}, 0)
	if got, want := p.Numbers(), []string{"1", "2"}; !slices.Equal(got, want) {
		t.Fatalf("Numbers() = %v, want %v", got, want)
	}
	if _, err := NewPool(1, nil, 0).Acquire(1, t0); !errors.Is(err, ErrExhausted) {
		t.Fatalf("empty pool: err = %v", err)
	}
}

func TestRenewAllocs(t *testing.T) {
	p := NewPool(1, testNumbers(8), 0)
	now := t0
	mustAcquire(t, p, 5, now)
	allocs := testing.AllocsPerRun(1000, func() {
		now = now.Add(time.Second)
		if l, err := p.Acquire(5, now); err != nil || l.Fresh {
			t.Fatalf("renew: %+v, %v", l, err)
		}
	})
	if allocs != 0 {
		t.Fatalf("renew allocates %v times, want 0", allocs)
	}
}

// record is what one successful Acquire returned.
type record struct {
	number  string
	visitor uint64
	since   int64
	until   int64
	fresh   bool
}

// checkNoOverlap asserts that on each number the leases (one per number,
// visitor and claim time, lasting to the latest until any call returned for
// it) never overlap. The check is sound with callers whose clocks disagree:
// Until only reports values the pool stored, and a claim happens only at a
// now at or after the previous holder's final expiry.
func checkNoOverlap(t *testing.T, recs []record) {
	t.Helper()
	type id struct {
		number  string
		visitor uint64
		since   int64
	}
	until := map[id]int64{}
	for _, r := range recs {
		k := id{r.number, r.visitor, r.since}
		until[k] = max(until[k], r.until)
	}
	byNumber := map[string][]id{}
	for k := range until {
		byNumber[k.number] = append(byNumber[k.number], k)
	}
	for n, ls := range byNumber {
		slices.SortFunc(ls, func(a, b id) int { return int(a.since - b.since) })
		for i := 1; i < len(ls); i++ {
			prev, next := ls[i-1], ls[i]
			if until[prev] > next.since {
				t.Errorf("number %s: visitor %d holds [%v, %v), visitor %d claimed at %v",
					n, prev.visitor, time.Unix(0, prev.since).UTC(), time.Unix(0, until[prev]).UTC(),
					next.visitor, time.Unix(0, next.since).UTC())
			}
		}
	}
}

// TestStressFreeClock runs claims and renews from hundreds of goroutines
// against a small pool while the shared clock runs ahead under them, so
// callers pass disagreeing nows, then checks that no number ever had two
// overlapping leases.
func TestStressFreeClock(t *testing.T) {
	const (
		goroutines = 300
		visitors   = 300
		ops        = 400
	)
	p := NewPool(1, testNumbers(8), MinReserve)
	var clock atomic.Int64
	clock.Store(t0.UnixNano())
	recs := make([][]record, goroutines)
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(g), 1))
			for range ops {
				if r.IntN(4) == 0 {
					clock.Add(int64(r.IntN(int(5 * time.Second))))
				}
				now := time.Unix(0, clock.Load())
				v := uint64(1 + r.IntN(visitors))
				l, err := p.Acquire(v, now)
				if errors.Is(err, ErrExhausted) {
					continue
				}
				if err != nil {
					t.Errorf("Acquire: %v", err)
					return
				}
				if l.Visitor != v || l.Until.Sub(now) < MinReserve || l.Fresh && !l.Since.Equal(now) {
					t.Errorf("Acquire(%d, %v) = %+v", v, now, l)
				}
				recs[g] = append(recs[g], record{l.Number, v, l.Since.UnixNano(), l.Until.UnixNano(), l.Fresh})
			}
		})
	}
	wg.Wait()
	all := slices.Concat(recs...)
	checkNoOverlap(t, all)
	if p.Misses() == 0 || p.Claims() < 8 {
		t.Errorf("misses %d, claims %d: the test did not exhaust and turn over the pool", p.Misses(), p.Claims())
	}
}

// TestStressPhases holds the clock still within each phase while hundreds of
// goroutines claim and renew, and advances it between phases. Within a phase
// a slot live at now stays live at now (nothing but a claimer at a later now
// can retire it), so when Acquire reports ErrExhausted, Live(now) == Size()
// must hold at once and until the phase ends.
func TestStressPhases(t *testing.T) {
	const (
		goroutines = 200
		visitors   = 300
		phases     = 100
		ops        = 10
	)
	p := NewPool(1, testNumbers(8), MinReserve)
	r := rand.New(rand.NewPCG(1, 2))
	now := t0
	var all []record
	var exhausted, served int
	for phase := range phases {
		// Some phases bring fewer visitors than numbers, some more.
		active, first := 1+r.IntN(16), r.IntN(visitors)
		recs := make([][]record, goroutines)
		var misses atomic.Int64
		var wg sync.WaitGroup
		for g := range goroutines {
			wg.Go(func() {
				r := rand.New(rand.NewPCG(uint64(phase), uint64(g)))
				for range ops {
					v := uint64(1 + (first+r.IntN(active))%visitors)
					l, err := p.Acquire(v, now)
					if errors.Is(err, ErrExhausted) {
						misses.Add(1)
						if live := p.Live(now); live != p.Size() {
							t.Errorf("phase %d: ErrExhausted with %d of %d slots live", phase, live, p.Size())
						}
						continue
					}
					if err != nil {
						t.Errorf("Acquire: %v", err)
						return
					}
					recs[g] = append(recs[g], record{l.Number, v, l.Since.UnixNano(), l.Until.UnixNano(), l.Fresh})
				}
			})
		}
		wg.Wait()
		if misses.Load() > 0 {
			exhausted++
			if live := p.Live(now); live != p.Size() {
				t.Errorf("phase %d: %d misses but %d of %d slots live at its end", phase, misses.Load(), live, p.Size())
			}
		}
		// The last lease returned on each number in the phase is the holder.
		phaseRecs := slices.Concat(recs...)
		last := map[string]record{}
		for _, rec := range phaseRecs {
			if l, ok := last[rec.number]; !ok || rec.since > l.since {
				last[rec.number] = rec
			}
		}
		for n, rec := range last {
			if v, _, ok := p.Holder(n, now); !ok || v != rec.visitor {
				t.Errorf("phase %d: Holder(%s) = %d, %v, want %d", phase, n, v, ok, rec.visitor)
			}
		}
		served += len(phaseRecs)
		all = append(all, phaseRecs...)
		now = now.Add(time.Duration(10+r.IntN(350)) * time.Second)
	}
	checkNoOverlap(t, all)
	if exhausted == 0 || exhausted == phases || served == 0 {
		t.Errorf("%d of %d phases exhausted the pool: the test does not exercise both cases", exhausted, phases)
	}
}

// A released number is out of service: its lease ends (it can no longer
// be renewed), no one claims it again, however late their clock, through
// the pool or one that shares its slots, and it counts as no lease; Revive
// frees it.
func TestRelease(t *testing.T) {
	p := NewPool(1, testNumbers(1), 20*time.Minute)
	held := mustAcquire(t, p, 42, t0)
	shared := p.With(testNumbers(1), 30*time.Minute)
	l, ok := p.Release(held.Slot, t0.Add(5*time.Minute))
	if !ok || l.Visitor != 42 || !l.Since.Equal(t0) || !l.Until.Equal(t0.Add(20*time.Minute)) {
		t.Fatalf("Release = %+v, %v; want visitor 42's lease until t0+20m", l, ok)
	}
	if _, ok := p.Release(held.Slot, t0.Add(6*time.Minute)); ok {
		t.Fatal("a second Release ended a lease again")
	}
	for _, q := range []*Pool{p, shared} {
		if _, ok := q.Renew(42, t0.Add(6*time.Minute)); ok {
			t.Fatal("the released lease was renewed")
		}
		for _, at := range []time.Duration{6 * time.Minute, time.Hour, 30 * 24 * time.Hour} {
			for _, v := range []uint64{42, 7} {
				if l, err := q.Acquire(v, t0.Add(at)); !errors.Is(err, ErrExhausted) {
					t.Fatalf("at t0+%v visitor %d acquired %+v, %v; want the released number never handed out", at, v, l, err)
				}
			}
		}
		if _, _, ok := q.Holder(held.Number, t0.Add(10*time.Minute)); ok {
			t.Fatal("the released number has a holder")
		}
		if n, ls := q.Live(t0.Add(10*time.Minute)), q.Leases(t0.Add(10*time.Minute)); n != 0 || len(ls) != 0 {
			t.Fatalf("live %d, leases %+v after the release", n, ls)
		}
	}
	if _, ok := NewPool(1, testNumbers(1), 0).Release(0, t0); ok {
		t.Fatal("Release of a free number ended a lease")
	}
	p.Revive(held.Slot)
	if l := mustAcquire(t, p, 7, t0.Add(time.Hour)); !l.Fresh || l.Number != held.Number {
		t.Fatalf("after Revive: %+v", l)
	}
}
