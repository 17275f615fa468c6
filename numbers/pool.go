package numbers

import (
	"container/heap"
	"errors"
	"fmt"
	"math"
	"math/bits"
	"sync"
	"sync/atomic"
	"time"

	"appliance/internal/usererr"
)

// Reservation bounds: how long a pool keeps a number for a visitor after the
// visitor's last activity.
const (
	DefaultReserve = 20 * time.Minute
	MinReserve     = 5 * time.Minute
	MaxReserve     = 7 * 24 * time.Hour
)

var (
	ErrExhausted     = errors.New("numbers: pool exhausted")
	ErrAddrCap       = errors.New("numbers: address holds its share of the pool")
	ErrUnknownNumber = errors.New("numbers: number not in pool")
	ErrReserve       = errors.New("numbers: reservation time out of range")
	ErrLease         = errors.New("numbers: invalid lease")
	ErrRule          = usererr.New("numbers", 400, "invalid rule").ReasonFirst()
)

// CheckReserve reports whether d is a valid reservation time for a pool
// (MinReserve to MaxReserve). Callers validate user input with it; NewPool
// itself clamps.
func CheckReserve(d time.Duration) error {
	if d < MinReserve || d > MaxReserve {
		return fmt.Errorf("check reserve %s: want %s to %s: %w", FormatReserve(d), FormatReserve(MinReserve), FormatReserve(MaxReserve), ErrReserve)
	}
	return nil
}

// FormatReserve writes a reservation time in the units people set it in:
// 5m, 2h, 7d (a Go duration when it is not whole minutes).
func FormatReserve(d time.Duration) string {
	switch {
	case d == 0:
		return "0"
	case d%(24*time.Hour) == 0:
		return fmt.Sprintf("%dd", d/(24*time.Hour))
	case d%time.Hour == 0:
		return fmt.Sprintf("%dh", d/time.Hour)
	case d%time.Minute == 0:
		return fmt.Sprintf("%dm", d/time.Minute)
	}
	return d.String()
}

// Lease is one visitor's hold on one number of a pool, as of the Acquire that
// returned it.
type Lease struct {
	Slot    int    // index of the number in the pool
	Number  string // the leased number, as given to NewPool
	Visitor uint64
	Since   time.Time // when the visitor claimed the number
	Until   time.Time // when the lease lapses unless renewed
	Fresh   bool      // claimed by this call, not renewed
	// Live is, on a fresh lease, how many leases of the pool were live
	// just after the claim, this one included (the pool's load, for its
	// peak); zero on a renew.
	Live int
	// Recorded is set on a renew when the caller marked the claim
	// recorded (MarkRecorded): its history has the claim, so a renew
	// need only move the until.
	Recorded bool
}

// holding is one lease of one slot. Everything but until is fixed at claim;
// until only moves by compare-and-swap: forward on renew, and to its bitwise
// complement when a claimer retires the lease to take the slot over. Instants
// are unix nanoseconds clamped to zero and up, so a live until is positive and
// a retired one negative: it never reads as live, can never be renewed, and
// still tells when the lease ended. It is not padded to a cache line: two
// holdings share one, and so renews of two visitors may contend on it, which
// on the hit path (one visitor at a time under its own lock, at most a
// writer per core) is rare and cheap, while the padding cost 32 B of every
// lease's memory (issue 15: RSS with 16 pools of 5,000 numbers).
type holding struct {
	until    atomic.Int64
	visitor  uint64
	since    int64
	recorded atomic.Bool // see MarkRecorded
}

// end returns when a lease with the until word u ends (or ended).
func end(u int64) int64 {
	if u < 0 {
		return ^u
	}
	return u
}

// nanos returns t in unix nanoseconds, clamped to zero so that the sign of
// an until word is free to mark retirement.
func nanos(t time.Time) int64 { return max(t.UnixNano(), 0) }

type slot struct {
	cur atomic.Pointer[holding] // nil until first claimed
	// hint is a lower bound of when the current lease ends, kept beside
	// the pointer so that a claimer scanning for a free number passes a
	// live one without loading its holding (see Pool). Four slots share a
	// cache line (16 B each, not padded to 64: 48 B a number).
	hint atomic.Int64
}

// Pool leases a fixed set of numbers to visitors. All methods are safe for
// concurrent use and take no lock.
//
// The invariant: at no instant do two live leases exist on one number. A
// lease is live at t when t < until of its holding and the holding is the
// one the slot points to. It holds because of two rules.
//
//  1. A holding's until word changes only by CAS, and a renew CASes it only
//     from a value that is live at the renewer's now. A claimer that finds the
//     holding expired at its own now first CASes until from that expired value
//     to retired, and only then CASes the slot pointer to its new holding.
//     Renew and retire compete for the same word, so exactly one wins: either
//     the renew lands (and the claimer, on reload, sees a live lease and moves
//     on), or the retire lands (and the renew fails on reload and the old
//     holder claims anew). A retired holding can never be renewed again, so
//     its until is final.
//  2. A claimer takes a slot only when the current lease's end (final, if it
//     is retired) is at or before the claimer's now, and the new lease starts
//     at that now. So on each number the intervals [since, until) of
//     successive leases do not overlap, even when callers pass clocks that
//     disagree: a claimer whose now is behind the end of a lease that a
//     claimer with a later clock has just retired finds the slot busy, as it
//     was at that now.
//
// A claimer scanning for a free number first reads the slot's hint, a
// lower bound of the current lease's end: when it is after the claimer's
// now, the lease is live and the holding need not be loaded. It stays a
// lower bound because it is only ever set to an until some holding of the
// slot had (by the claim that installed it, or a renew that moved it), and
// every later holding of the slot ends after every earlier one (rule 2): a
// late store from an earlier holding only lowers it. Restore, which is not
// bound by rule 2, sets it to zero.
//
// The pointer swap needs no further care: a holding is immutable apart from
// until, the pointer is only replaced when it is nil or retired, and a holding
// is never reused, so there is no ABA.
//
// To find the visitor's slot on renew without a lock, the pool keeps an index:
// buckets chosen by a hash of the visitor id, each a cache line of ways that
// hold a tag from the same hash and a slot. An entry is only a pointer to a
// slot and is always checked against the slot's holding. A claim writes its
// entry (by CAS) over an empty or stale way (one whose slot has since passed
// to a visitor with another tag, or the claimer's own lapsed slot), never
// over the entry of a lease that may live, so when the visitor's bucket has
// no entry for it the visitor holds nothing and Acquire need not look
// further. At most one entry per slot is not stale, and there are at least
// three buckets for eight slots (the next power of two: on average at most
// 2.67 entries in a bucket of 15 ways of 4 bytes), so a bucket whose ways
// are all taken is rare: a chance of 8e-9 a bucket at 5,000 numbers (2,048
// buckets). Should it happen, the bucket is marked and lookups there fall
// back to scanning the slots. A bucket a slot, the first layout, cost 100
// bytes a number, the pool's largest part; 7 ways of 8 bytes for 4 slots,
// the next, 52.
type Pool struct {
	id      uint32
	reserve int64     // nanoseconds
	numbers List      // by slot
	index   listIndex // number -> slot; read-only after NewPool
	slots   []*slot   // pointers, so that a pool made by With can share them

	buckets     []bucket
	bucketShift uint
	slotBits    uint // an index entry is tag<<slotBits | slot+1

	claims  atomic.Uint64
	misses  atomic.Uint64
	limited atomic.Uint64 // claims refused by the address cap
	addrCap atomic.Int64  // see SetAddrCap; 0: none
	addrs   *addrs        // shared with pools made by With
	// full is an instant before which every slot is known to hold a live
	// lease: the earliest end the last scan that found none free saw. A
	// claimer before it misses without scanning, so a pool that has run
	// dry costs each newcomer O(1), not a pass over every slot.
	full atomic.Int64

	load *load
}

// load counts the live leases of a pool for Lease.Live, so that a claim
// learns the pool's load without a pass over the slots. It keeps every
// holding it has counted in a min-heap by the end it had when last looked
// at, which is at or before its true end (ends only move later). A claim
// at t adds its holding, then looks at the top: a holding whose true end is
// at or before t has lapsed and leaves; one renewed since is put back by
// its new end; one whose end is as recorded and after t ends after t, and
// so does every holding below it. Each holding is added once per claim,
// leaves once, and is put back at most once per renew, so a claim costs
// O(log n) amortised. The count is exact when callers' clocks agree; a
// caller whose now is behind a lapse already counted may see one lease
// fewer. Renews do not touch it: the lock is taken by claims only.
type load struct {
	mu   sync.Mutex
	heap ends
}

type end1 struct {
	h   *holding
	end int64
}

// ends is a container/heap of holdings by recorded end.
type ends []end1

func (e ends) Len() int           { return len(e) }
func (e ends) Less(i, j int) bool { return e[i].end < e[j].end }
func (e ends) Swap(i, j int)      { e[i], e[j] = e[j], e[i] }
func (e *ends) Push(x any)        { *e = append(*e, x.(end1)) }
func (e *ends) Pop() any {
	old := *e
	x := old[len(old)-1]
	*e = old[:len(old)-1]
	return x
}

// push is heap.Push(e, x) without boxing x in an interface (an allocation
// a claim).
func (e *ends) push(x end1) {
	*e = append(*e, x)
	heap.Fix(e, len(*e)-1)
}

// pop is heap.Pop(e), its result dropped, without boxing it.
func (e *ends) pop() {
	n := len(*e) - 1
	e.Swap(0, n)
	*e = (*e)[:n]
	if n > 0 {
		heap.Fix(e, 0)
	}
}

// add counts c, claimed at t, and returns the leases live at t.
func (l *load) add(c *holding, t int64) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.heap.push(end1{c, end(c.until.Load())})
	for len(l.heap) > 0 {
		top := &l.heap[0]
		e := end(top.h.until.Load())
		switch {
		case e <= t:
			l.heap.pop()
		case e > top.end:
			top.end = e
			heap.Fix(&l.heap, 0)
		default:
			return len(l.heap)
		}
	}
	return 0
}

// NewPool returns a pool of the given numbers, all free. Duplicate numbers are
// dropped (a number has one slot). A zero reserve means DefaultReserve; one
// out of range is clamped to it (validate input with CheckReserve).
func NewPool(id uint32, numbers []string, reserve time.Duration) *Pool {
	return NewPoolOf(id, ListOf(numbers...), reserve)
}

// NewPoolOf is NewPool of a List: the pool keeps it (a pool of 5,000
// numbers need not copy them) unless it has duplicates.
func NewPoolOf(id uint32, numbers List, reserve time.Duration) *Pool {
	switch {
	case reserve == 0:
		reserve = DefaultReserve
	case reserve < MinReserve:
		reserve = MinReserve
	case reserve > MaxReserve:
		reserve = MaxReserve
	}
	p := &Pool{id: id, reserve: int64(reserve), load: &load{}, addrs: &addrs{}}
	index, dups := newListIndex(numbers)
	if len(dups) > 0 {
		var b ListBuilder
		b.Grow(numbers.Len()-len(dups), len(numbers.s))
		for i := range numbers.Len() {
			if len(dups) > 0 && dups[0] == i {
				dups = dups[1:]
				continue
			}
			b.Add(numbers.At(i))
		}
		numbers = b.List()
		index, _ = newListIndex(numbers)
	}
	p.numbers, p.index = numbers, index
	p.slots = make([]*slot, numbers.Len())
	block := make([]slot, numbers.Len())
	for i := range p.slots {
		p.slots[i] = &block[i]
	}
	logSize := bits.Len(uint(max(8, numbers.Len()*3/8) - 1)) // a bucket is a cache line: at 5,000 numbers, 26 B a number
	p.buckets = make([]bucket, 1<<logSize)
	p.bucketShift = uint(64 - logSize)
	p.slotBits = uint(bits.Len(uint(numbers.Len())))
	return p
}

// With returns a pool of the given numbers and reserve (as NewPool takes
// them) that shares the lease state of every number it has in common with
// p: a lease claimed or renewed through either pool is seen by both, so the
// invariant on Pool holds across a change of a pool's numbers while hits
// still run on the old one. The new pool indexes the leases it finds; a
// visitor who claims through p after With has looked at its slot is not
// indexed there, and on its next Acquire through the new pool claims again
// (its old lease lapses). Numbers new to the list start free; numbers of p
// not in it leave with p.
func (p *Pool) With(numbers []string, reserve time.Duration) *Pool {
	return p.WithList(ListOf(numbers...), reserve)
}

// WithList is With of a List, which the new pool keeps as NewPoolOf does.
func (p *Pool) WithList(numbers List, reserve time.Duration) *Pool {
	q := NewPoolOf(p.id, numbers, reserve)
	q.addrs = p.addrs
	q.addrCap.Store(p.addrCap.Load())
	for i := range q.numbers.Len() {
		j := p.index.find(p.numbers, q.numbers.At(i))
		if j < 0 {
			continue
		}
		q.slots[i] = p.slots[j]
		if c := q.slots[i].cur.Load(); c != nil {
			q.remember(c.visitor, i)
			q.load.heap = append(q.load.heap, end1{c, end(c.until.Load())})
		}
	}
	heap.Init(&q.load.heap)
	return q
}

// ID returns the id the pool was created with.
func (p *Pool) ID() uint32 { return p.id }

// Size returns the number of numbers in the pool.
func (p *Pool) Size() int { return len(p.slots) }

// Reserve returns the reservation time after a visitor's last activity.
func (p *Pool) Reserve() time.Duration { return time.Duration(p.reserve) }

// Numbers returns the pool's numbers in slot order, as a new slice.
func (p *Pool) Numbers() []string { return p.numbers.Strings() }

// List returns the pool's numbers in slot order.
func (p *Pool) List() List { return p.numbers }

// Number returns the number of slot i.
func (p *Pool) Number(i int) string { return p.numbers.At(i) }

// Slot returns the slot of number; -1 when the pool has no such number.
func (p *Pool) Slot(number string) int { return p.index.find(p.numbers, number) }

// Claims returns how many leases Acquire has claimed since the pool was
// created; a report turns its rate into the arrival rate for
// EstimateSize.
func (p *Pool) Claims() uint64 { return p.claims.Load() }

// Misses returns how many times Acquire failed with ErrExhausted.
func (p *Pool) Misses() uint64 { return p.misses.Load() }

// Limited returns how many times AcquireFrom refused a claim because the
// visitor's address held its share of the pool (ErrAddrCap).
func (p *Pool) Limited() uint64 { return p.limited.Load() }

// SetAddrCap sets how many leases of the pool visitors from one address
// may hold at once (AcquireFrom); 0 or less: no cap. It may be called
// while the pool serves.
func (p *Pool) SetAddrCap(n int) { p.addrCap.Store(int64(max(n, 0))) }

// AddrCap returns the cap SetAddrCap set.
func (p *Pool) AddrCap() int { return int(p.addrCap.Load()) }

// AcquireFrom is Acquire for a visitor coming from addr (AddrKey of its
// address; 0: unknown, no cap). A visitor that holds a live lease renews
// it whatever the cap. One that claims is refused with ErrAddrCap, and
// the refusal counted (Limited, not Misses), when visitors from addr
// already hold AddrCap live leases of the pool: one address cannot drain
// the pool. The count is kept in memory from the claims made through the
// pool and the pools made from it by With; a lease that lapses or is
// released stops counting. Leases restored from history are not counted
// (they do not know their address): after a restart an address may hold
// up to twice the cap for at most one reservation time.
func (p *Pool) AcquireFrom(visitor, addr uint64, now time.Time) (Lease, error) {
	t := nanos(now)
	h := mix(visitor)
	i, c, u, prev := p.renewLive(visitor, h, t)
	if c != nil {
		return p.renewed(i, c, u), nil
	}
	limit := int(p.addrCap.Load())
	if addr == 0 || limit <= 0 {
		l, _, err := p.claim(visitor, h, prev, t)
		return l, err
	}
	if !p.addrs.enter(addr, limit, t, len(p.slots)) {
		p.limited.Add(1)
		return Lease{}, ErrAddrCap
	}
	l, c, err := p.claim(visitor, h, prev, t)
	p.addrs.leave(addr, c)
	return l, err
}

// Acquire gives the visitor its number at now. If the visitor holds a live
// lease, Acquire renews it to now plus the reservation time (it never
// shortens it) and returns it with Fresh false; a renew allocates nothing.
// Otherwise it claims a free or expired slot, preferring the visitor's
// previous one, and returns the new lease with Fresh true. When every slot
// holds a live lease at now, it counts a miss and returns ErrExhausted.
//
// Two concurrent first calls for one visitor may claim two slots; later calls
// renew one of them and the other lapses.
func (p *Pool) Acquire(visitor uint64, now time.Time) (Lease, error) {
	t := nanos(now)
	h := mix(visitor)
	i, c, u, prev := p.renewLive(visitor, h, t)
	if c != nil {
		return p.renewed(i, c, u), nil
	}
	l, _, err := p.claim(visitor, h, prev, t)
	return l, err
}

// Renew renews the visitor's lease, as Acquire does, when the visitor
// holds one live at now; ok is false, and nothing is claimed or counted,
// when it holds none. It is for a visitor whose page view no rule of the
// pool covers (a return to the site by a bookmark) but who still keeps
// the number leased to them.
func (p *Pool) Renew(visitor uint64, now time.Time) (l Lease, ok bool) {
	i, c, u, _ := p.renewLive(visitor, mix(visitor), nanos(now))
	if c == nil {
		return Lease{}, false
	}
	return p.renewed(i, c, u), true
}

// renewLive renews the live lease at t of the visitor (h its hash) and
// returns its slot, holding and new until; c is nil when the visitor holds
// none, and prev is then its lapsed slot to claim again if still free (-1:
// none).
func (p *Pool) renewLive(visitor, h uint64, t int64) (i int, c *holding, u int64, prev int) {
	b := &p.buckets[h>>p.bucketShift]
	tag := p.tag(h)
	prev = -1
	for w := range b.ways {
		e := b.ways[w].Load()
		if e == 0 || e>>p.slotBits != tag {
			continue
		}
		i := int(e&(1<<p.slotBits-1)) - 1
		if c, u := p.renew(i, visitor, t); c != nil {
			return i, c, u, prev
		}
		if c := p.slots[i].cur.Load(); c != nil && c.visitor == visitor {
			prev = i
		}
	}
	if b.overflowed.Load() {
		for i := range p.slots {
			if c, u := p.renew(i, visitor, t); c != nil {
				return i, c, u, prev
			}
		}
	}
	return -1, nil, 0, prev
}

// renew extends the visitor's lease on slot i if it is live at t, and
// returns the holding and its new until; nil if there is no such lease. (It
// returns no Lease: copying one through the calls costs more than the renew.)
func (p *Pool) renew(i int, visitor uint64, t int64) (*holding, int64) {
	c := p.slots[i].cur.Load()
	if c == nil || c.visitor != visitor {
		return nil, 0
	}
	next := t + p.reserve
	for {
		u := c.until.Load()
		if u <= t {
			return nil, 0 // lapsed, or retired (negative)
		}
		if next <= u {
			return c, u
		}
		if c.until.CompareAndSwap(u, next) {
			p.slots[i].hint.Store(next)
			return c, next
		}
	}
}

// claim takes the first slot not live at t, trying prev (the visitor's last
// slot) first, then scanning from an offset hashed from the visitor so that
// concurrent claimers spread over the pool. It returns the new holding too.
func (p *Pool) claim(visitor, h uint64, prev int, t int64) (Lease, *holding, error) {
	n := len(p.slots)
	if n > 0 && t >= p.full.Load() {
		var c *holding // made when a free slot is found: a miss allocates nothing
		// The earliest end among the live leases seen: no slot can be
		// free before it (ends only move later).
		soonest := int64(math.MaxInt64)
		if prev >= 0 {
			ok, e := p.take(prev, &c, visitor, t)
			if ok {
				return p.claimed(prev, c), c, nil
			}
			soonest = min(soonest, e)
		}
		start := int(h % uint64(n))
		for k := range n {
			i := start + k
			if i >= n {
				i -= n
			}
			if i == prev {
				continue
			}
			ok, e := p.take(i, &c, visitor, t)
			if ok {
				return p.claimed(i, c), c, nil
			}
			soonest = min(soonest, e)
		}
		for f := p.full.Load(); soonest > f && !p.full.CompareAndSwap(f, soonest); f = p.full.Load() {
		}
	}
	p.misses.Add(1)
	return Lease{}, nil, ErrExhausted
}

func (p *Pool) claimed(i int, c *holding) Lease {
	p.claims.Add(1)
	p.remember(c.visitor, i)
	// Not c.until: a claimer with a later clock may have retired it already.
	l := p.lease(i, c, c.since+p.reserve, true)
	l.Live = p.load.add(c, c.since)
	return l
}

func (p *Pool) renewed(i int, c *holding, until int64) Lease {
	l := p.lease(i, c, until, false)
	l.Recorded = c.recorded.Load()
	return l
}

// MarkRecorded notes that the claim of l is in the caller's durable
// history, so that later renews of it come with Recorded set. A caller
// that writes a renew without its claim when Recorded is unset keeps a
// lease whole in its history whatever order its writes reach the disk in.
// It does nothing when the slot has passed to another lease.
func (p *Pool) MarkRecorded(l Lease) {
	if l.Slot < 0 || l.Slot >= len(p.slots) {
		return
	}
	if c := p.slots[l.Slot].cur.Load(); c != nil && c.visitor == l.Visitor && c.since == nanos(l.Since) {
		c.recorded.Store(true)
	}
}

// take installs a new holding of visitor from t in slot i unless the
// slot's lease is live at t, making *c when it is nil. It retires an expired
// holding before replacing it; see the invariant on Pool. When the slot is
// busy it returns a time at or before the end of its lease.
func (p *Pool) take(i int, c **holding, visitor uint64, t int64) (bool, int64) {
	s := p.slots[i]
	if h := s.hint.Load(); h > t {
		return false, h // live at t: no need to look at the holding
	}
	for {
		old := s.cur.Load()
		if old != nil {
			u := old.until.Load()
			if e := end(u); e > t {
				return false, e // live at t, or retired by a claimer ahead of t
			}
			if u >= 0 && !old.until.CompareAndSwap(u, ^u) {
				continue // renewed or retired meanwhile: look again
			}
		}
		if *c == nil {
			*c = &holding{visitor: visitor, since: t}
			(*c).until.Store(t + p.reserve)
		}
		if s.cur.CompareAndSwap(old, *c) {
			s.hint.Store(t + p.reserve)
			return true, 0
		}
	}
}

// Restore puts back a lease read from persisted history, on start before
// serving. It installs the lease unless the slot already holds one claimed
// later, so replaying history in any order leaves the newest lease of each
// number; whether it is still live is decided at each call's time.
func (p *Pool) Restore(number string, visitor uint64, since, until time.Time) error {
	i := p.Slot(number)
	if i < 0 {
		return fmt.Errorf("restore lease of %s: %w", number, ErrUnknownNumber)
	}
	return p.RestoreSlot(i, visitor, since, until)
}

// RestoreSlot is Restore of the number in slot i (Lease.Slot), for a
// caller that kept leases by slot: it need not look the number up.
func (p *Pool) RestoreSlot(i int, visitor uint64, since, until time.Time) error {
	if i < 0 || i >= len(p.slots) {
		return fmt.Errorf("restore lease of slot %d: %w", i, ErrUnknownNumber)
	}
	if !until.After(since) || until.UnixNano() <= 0 {
		return fmt.Errorf("restore lease of %s: until %v not after since %v: %w", p.numbers.At(i), until, since, ErrLease)
	}
	c := &holding{visitor: visitor, since: nanos(since)}
	c.until.Store(until.UnixNano())
	c.recorded.Store(true) // read from the history
	s := p.slots[i]
	for {
		old := s.cur.Load()
		if old != nil {
			u := old.until.Load()
			if u >= 0 && old.since > c.since {
				return nil
			}
			if u >= 0 && !old.until.CompareAndSwap(u, ^u) {
				continue
			}
		}
		if s.cur.CompareAndSwap(old, c) {
			// A restored lease is not bound by rule 2: forget what the
			// hints and the last full scan said.
			s.hint.Store(0)
			p.full.Store(0)
			p.remember(visitor, i)
			p.load.mu.Lock()
			p.load.heap.push(end1{c, end(c.until.Load())})
			p.load.mu.Unlock()
			return nil
		}
	}
}

// released is the until word of the holding Release puts in a slot: retired
// (negative), and ending never, so no claim takes the slot again.
const released = math.MinInt64

// Release takes the number of slot i out of service at at, for a number
// that leaves the pool (moved to another role, or dropped): the lease on
// it, live or not, is retired, so it can no longer be renewed, and no
// Acquire through this pool, or a pool that shares its slot (With), hands
// the number out again. It returns the lease it ended, with Until when it
// was to lapse, and ok when that lease was live at at: the caller ends it
// in its history too. A pool made after it does not share the slot of a
// number it does not have, so a number released and given back to the pool
// later starts free.
func (p *Pool) Release(i int, at time.Time) (l Lease, ok bool) {
	if i < 0 || i >= len(p.slots) {
		return Lease{}, false
	}
	s := p.slots[i]
	tomb := &holding{since: nanos(at)}
	tomb.until.Store(released)
	for {
		old := s.cur.Load()
		var u int64
		if old != nil {
			if u = old.until.Load(); u == released {
				return Lease{}, false // released already
			}
			if u >= 0 && !old.until.CompareAndSwap(u, ^u) {
				continue // renewed or retired meanwhile: look again
			}
		}
		if s.cur.CompareAndSwap(old, tomb) {
			s.hint.Store(math.MaxInt64)
			if old == nil || end(u) <= nanos(at) {
				return Lease{}, false
			}
			return p.lease(i, old, end(u), false), true
		}
	}
}

// Revive undoes Release of slot i, for a caller whose release did not
// take (its write failed): the slot is free again; the caller restores
// the lease Release returned (RestoreSlot).
func (p *Pool) Revive(i int) {
	if i < 0 || i >= len(p.slots) {
		return
	}
	s := p.slots[i]
	if old := s.cur.Load(); old != nil && old.until.Load() == released && s.cur.CompareAndSwap(old, nil) {
		s.hint.Store(0)
		p.full.Store(0)
	}
}

// Holder returns the visitor whose live lease covers the instant at, and when
// that lease was claimed. It knows only each number's current lease; older
// ones are the caller's history.
func (p *Pool) Holder(number string, at time.Time) (visitor uint64, since time.Time, ok bool) {
	i := p.Slot(number)
	if i < 0 {
		return 0, time.Time{}, false
	}
	c := p.slots[i].cur.Load()
	t := nanos(at)
	if c == nil || t < c.since || t >= end(c.until.Load()) || c.until.Load() == released {
		return 0, time.Time{}, false
	}
	return c.visitor, time.Unix(0, c.since).UTC(), true
}

// Live returns how many slots hold a lease live at now: those Acquire at now
// finds busy.
func (p *Pool) Live(now time.Time) int {
	t := nanos(now)
	n := 0
	for i := range p.slots {
		if c := p.slots[i].cur.Load(); c != nil && end(c.until.Load()) > t && c.until.Load() != released {
			n++
		}
	}
	return n
}

// Leases returns the leases live at now, in slot order, for reports and for
// persisting a snapshot; Recorded tells those whose claim the caller marked
// recorded (MarkRecorded, or restored). The result is the caller's.
func (p *Pool) Leases(now time.Time) []Lease {
	t := nanos(now)
	var ls []Lease
	for i := range p.slots {
		c := p.slots[i].cur.Load()
		if c == nil {
			continue
		}
		if u := end(c.until.Load()); u > t && c.until.Load() != released {
			l := p.lease(i, c, u, false)
			l.Recorded = c.recorded.Load()
			ls = append(ls, l)
		}
	}
	return ls
}

func (p *Pool) lease(i int, c *holding, until int64, fresh bool) Lease {
	return Lease{
		Slot:    i,
		Number:  p.numbers.At(i),
		Visitor: c.visitor,
		Since:   time.Unix(0, c.since).UTC(),
		Until:   time.Unix(0, until).UTC(),
		Fresh:   fresh,
	}
}

// bucket is one cache line of the visitor index; see Pool.
type bucket struct {
	ways       [15]atomic.Uint32 // tag<<slotBits | slot+1, or 0
	overflowed atomic.Bool
}

// tag is the part of a visitor's hash h its index entries hold: the bits
// of its low word that the slot leaves (the bucket is chosen by the high
// ones). At 5,000 numbers, 19 bits.
func (p *Pool) tag(h uint64) uint32 { return uint32(h) >> p.slotBits }

// remember indexes the visitor's claim of slot i.
func (p *Pool) remember(visitor uint64, i int) {
	h := mix(visitor)
	b := &p.buckets[h>>p.bucketShift]
	e := p.tag(h)<<p.slotBits | uint32(i+1)
	for {
		free, old := -1, uint32(0)
		for w := range b.ways {
			x := b.ways[w].Load()
			if x == e {
				return
			}
			if free < 0 && p.stale(x, visitor, i) {
				free, old = w, x
			}
		}
		if free < 0 {
			b.overflowed.Store(true)
			return
		}
		if b.ways[free].CompareAndSwap(old, e) {
			return
		}
	}
}

// stale reports whether the index entry x can make way for the visitor's
// claim of slot i: it is empty, its slot has passed to a visitor with another
// tag, or it is the visitor's own earlier slot.
func (p *Pool) stale(x uint32, visitor uint64, i int) bool {
	if x == 0 {
		return true
	}
	j := int(x&(1<<p.slotBits-1)) - 1
	c := p.slots[j].cur.Load()
	if c == nil || p.tag(mix(c.visitor)) != x>>p.slotBits {
		return true
	}
	return c.visitor == visitor && j != i
}

// mix is the splitmix64 finalizer: sequential visitor ids land far apart.
func mix(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}
