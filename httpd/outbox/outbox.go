// Package outbox is the one durable queue of work due at a time: webhook
// deliveries waiting for their next attempt, callbacks waiting for the time
// a visitor asked to be called, and whatever else must be done later and
// survive a restart.
//
// The model: an entry is a kind, a due time and an id, with the site the id
// belongs to (store.DueKey, store.DueEntry); the record it is due for lives
// in its domain's own family (a store.Delivery, a store.Callback). A domain
// adds an entry with Put inside the same store.DB.Update that writes its
// record, so both are durable together or neither is; the Update that
// records an attempt's outcome moves the entry (Remove, then Put at the
// next time) or removes it, again together with the record. The queue
// never decides an outcome: it finds what is due and calls the domain's
// attempt function.
//
// Run is the worker of one kind. It calls the attempt function for each
// entry as it comes due, with at most a given number of attempts at once,
// and never two attempts of one id at once (the in-flight set; Claim lets a
// domain take an id for an attempt of its own). It sleeps on a timer until
// the earliest entry's time; a Put that commits an earlier entry, and every
// finished attempt, wake it at once. An attempt that returns an error (the
// store failed) is held back for a backoff that doubles, with jitter, and
// tried again.
//
// Delivery is at least once: the entry is removed in the write that records
// the outcome, so a crash before that write runs the attempt again after the
// restart.
package outbox

import (
	"context"
	"errors"
	"log/slog"
	"math"
	mrand "math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"appliance/store"
)

// Item is one due entry handed to an attempt function.
type Item struct {
	At   time.Time // when it came due (millisecond precision); the key Remove needs
	ID   uint64    // the id of the record it is due for
	Site uint32    // the site the record belongs to
	// Lane is the receiver the attempt goes to, whose attempts in flight
	// Options.PerLane bounds (a webhook endpoint); 0: none.
	Lane uint64
}

// Func is a domain's attempt function: it attempts it once and records the
// outcome, moving or removing the entry in the same Update. ctx ends when
// Run is stopped. An error means the outcome could not be recorded; the
// entry is then tried again after a backoff.
type Func func(ctx context.Context, it Item) error

// Options tune a Queue; the zero value is what serve uses.
type Options struct {
	// Now is the clock due times are compared with; default time.Now.
	Now func() time.Time
	// Tick is the longest Run sleeps without looking at the queue: it wakes
	// for every earlier Put and every due time anyway, so this only bounds
	// how long a jump of the wall clock (or a test's clock) goes unseen.
	// Default 1 min.
	Tick time.Duration
	// Log receives attempts that failed with an error; default slog.Default.
	Log *slog.Logger
	// PerLane bounds the attempts in flight of one lane (Item.Lane), so
	// that a receiver that hangs holds at most that many workers while
	// the others go on with the rest; 0: no bound.
	PerLane int
}

// Backoff limits for an attempt function's errors.
const (
	errorBackoffFirst = time.Second
	errorBackoffLimit = time.Minute
)

// Queue is the due queue of one kind over one store. Its methods are safe
// for concurrent use; run one Run per Queue.
type Queue struct {
	db   *store.DB
	kind store.DueKind
	o    Options
	kick chan struct{}

	// next is the Unix ms of the earliest entry Run sleeps until:
	// math.MaxInt64 while it looks (every commit wakes it) or when nothing
	// is queued, math.MinInt64 while every worker is busy (a finished
	// attempt wakes it). A committed Put earlier than next wakes Run.
	next atomic.Int64

	mu       sync.Mutex
	inflight map[uint64]bool
	held     map[uint64]hold // ids whose attempt returned an error
	lanes    map[uint64]int  // attempts in flight of each lane (Options.PerLane)
}

// hold is an id held back after its attempt failed n times in a row.
type hold struct {
	n     int
	until int64 // Unix ms
}

// New returns the queue of kind over db. Entries are attempted only while
// Run runs.
func New(db *store.DB, kind store.DueKind, o Options) *Queue {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Tick <= 0 {
		o.Tick = time.Minute
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	q := &Queue{db: db, kind: kind, o: o, kick: make(chan struct{}, 1),
		inflight: map[uint64]bool{}, held: map[uint64]hold{}, lanes: map[uint64]int{}}
	q.next.Store(math.MaxInt64)
	return q
}

// Put queues it within tx, due at it.At. Entries are keyed by time and id,
// so to move an entry, Remove the old one in the same tx. Once tx commits,
// Run is woken if it sleeps past it.At. Like every function given to
// Update, Put does not block.
func (q *Queue) Put(tx *store.Tx, it Item) {
	e := store.DueEntry{Site: it.Site, Lane: it.Lane}
	at := it.At.UnixMilli()
	tx.Set(store.DueKey(q.kind, at, it.ID), e.Encode())
	tx.AfterCommit(func() {
		q.mu.Lock()
		delete(q.held, it.ID) // queued anew: no reason to wait for an old error
		q.mu.Unlock()
		if at < q.next.Load() {
			q.Wake()
		}
	})
}

// Remove deletes within tx the entry of id due at at (as Item.At gave it,
// or as it was Put).
func (q *Queue) Remove(tx *store.Tx, at time.Time, id uint64) {
	tx.Delete(store.DueKey(q.kind, at.UnixMilli(), id))
}

// Backlog counts the queue's entries and returns, of them, the one of the
// lowest id (ids grow with time: the oldest record still waiting). It
// reads the whole queue: for a scrape, not for a request.
func (q *Queue) Backlog(ctx context.Context) (n int, oldest Item, err error) {
	prefix := store.DuePrefix(q.kind)
	var derr error
	err = q.db.Scan(ctx, prefix, store.PrefixEnd(prefix), false, 0, func(k, v []byte) bool {
		_, at, id, ok := store.ParseDueKey(k)
		if !ok {
			return true
		}
		n++
		if n == 1 || id < oldest.ID {
			e, err := store.DecodeDueEntry(v)
			if err != nil {
				derr = err
				return false
			}
			oldest = Item{At: time.UnixMilli(at), ID: id, Site: e.Site, Lane: e.Lane}
		}
		return true
	})
	if err == nil {
		err = derr
	}
	return n, oldest, err
}

// Lanes counts the entries of site by lane. Like Backlog it reads the
// whole queue: for a page that shows them, not for every request.
func (q *Queue) Lanes(ctx context.Context, site uint32) (map[uint64]int, error) {
	out := map[uint64]int{}
	prefix := store.DuePrefix(q.kind)
	var derr error
	err := q.db.Scan(ctx, prefix, store.PrefixEnd(prefix), false, 0, func(k, v []byte) bool {
		e, err := store.DecodeDueEntry(v)
		if err != nil {
			derr = err
			return false
		}
		if e.Site == site {
			out[e.Lane]++
		}
		return true
	})
	if err == nil {
		err = derr
	}
	return out, err
}

// Claim marks id as in flight, so that Run leaves it alone while its caller
// attempts it; ok is false when it already is. Call release when done.
func (q *Queue) Claim(id uint64) (release func(), ok bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.inflight[id] {
		return nil, false
	}
	q.inflight[id] = true
	return func() { q.done(id, nil); q.Wake() }, true
}

// done takes id out of the in-flight set; err holds it back for a backoff.
// The caller wakes Run once it has given back what Run waits for.
func (q *Queue) done(id uint64, err error) {
	q.mu.Lock()
	delete(q.inflight, id)
	if err != nil {
		h := q.held[id]
		h.n++
		h.until = q.o.Now().Add(Backoff(h.n, errorBackoffFirst, errorBackoffLimit)).UnixMilli()
		q.held[id] = h
	} else {
		delete(q.held, id)
	}
	q.mu.Unlock()
}

// leaveLane counts an attempt of lane out of flight.
func (q *Queue) leaveLane(lane uint64) {
	if lane == 0 {
		return
	}
	q.mu.Lock()
	if q.lanes[lane]--; q.lanes[lane] <= 0 {
		delete(q.lanes, lane)
	}
	q.mu.Unlock()
}

// Wake makes Run look at the queue now. It never blocks.
func (q *Queue) Wake() {
	select {
	case q.kick <- struct{}{}:
	default:
	}
}

// Run attempts due entries with fn, at most workers at once, until ctx
// ends. On return every attempt it started has returned; one cut short by
// ctx is still queued and is attempted again by the next Run.
func (q *Queue) Run(ctx context.Context, workers int, fn Func) {
	workers = max(workers, 1)
	var wg sync.WaitGroup
	defer wg.Wait()
	slots := make(chan struct{}, workers)
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		q.next.Store(math.MaxInt64) // a commit while we look wakes us again
		wait := q.o.Tick
		next, err := q.dispatch(ctx, &wg, slots, fn)
		switch {
		case err != nil:
			if ctx.Err() == nil {
				q.o.Log.Error("outbox: read queue", "kind", string(rune(q.kind)), "err", err)
			}
		case next == math.MinInt64: // every worker busy: a finished one wakes us
		case next != math.MaxInt64:
			wait = min(wait, time.UnixMilli(next).Sub(q.o.Now()))
		}
		q.next.Store(next)
		timer.Reset(max(wait, 0))
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		case <-q.kick:
		}
	}
}

// dispatch starts an attempt for each due entry not in flight nor held,
// while a worker slot is free, and returns the Unix ms at which Run should
// look again (see Queue.next).
func (q *Queue) dispatch(ctx context.Context, wg *sync.WaitGroup, slots chan struct{}, fn Func) (next int64, err error) {
	now := q.o.Now().UnixMilli()
	free := cap(slots) - len(slots) // only dispatch fills slots: free can only grow
	next = math.MaxInt64
	var due []Item
	picked := map[uint64]int{} // due's items of each lane
	prefix := store.DuePrefix(q.kind)
	err = q.db.Scan(ctx, prefix, store.PrefixEnd(prefix), false, 0, func(k, v []byte) bool {
		_, at, id, ok := store.ParseDueKey(k)
		if !ok {
			return true
		}
		if at > now {
			next = min(next, at)
			return false
		}
		q.mu.Lock()
		busy, h := q.inflight[id], q.held[id]
		q.mu.Unlock()
		if busy {
			return true
		}
		if h.until > now {
			next = min(next, h.until)
			return true
		}
		if len(due) == free {
			next = math.MinInt64
			return false
		}
		e, err := store.DecodeDueEntry(v)
		if err != nil {
			q.o.Log.Error("outbox: entry", "kind", string(rune(q.kind)), "id", id, "err", err)
			q.done(id, err) // held back, not dropped: the entry is kept for whoever can read it
			q.mu.Lock()
			next = min(next, q.held[id].until)
			q.mu.Unlock()
			return true
		}
		if e.Lane != 0 && q.o.PerLane > 0 {
			q.mu.Lock()
			full := q.lanes[e.Lane]+picked[e.Lane] >= q.o.PerLane
			q.mu.Unlock()
			if full {
				return true // its lane's attempt ending wakes Run
			}
			picked[e.Lane]++
		}
		due = append(due, Item{At: time.UnixMilli(at), ID: id, Site: e.Site, Lane: e.Lane})
		return true
	})
	if err != nil {
		return next, err
	}
	started := 0
	for _, it := range due {
		q.mu.Lock()
		taken := q.inflight[it.ID] // claimed since the scan
		q.inflight[it.ID] = true
		if !taken && it.Lane != 0 {
			q.lanes[it.Lane]++
		}
		q.mu.Unlock()
		if taken {
			continue
		}
		// The scan may have read the queue before an attempt of this id
		// that has finished since wrote its outcome: look again now that
		// no attempt can write it.
		if _, err := q.db.Get(store.DueKey(q.kind, it.At.UnixMilli(), it.ID)); err != nil {
			if !errors.Is(err, store.ErrNotFound) {
				q.o.Log.Error("outbox: read queue", "kind", string(rune(q.kind)), "id", it.ID, "err", err)
				q.done(it.ID, err)
			} else {
				q.done(it.ID, nil)
			}
			q.leaveLane(it.Lane)
			continue
		}
		slots <- struct{}{}
		started++
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := fn(ctx, it)
			if err != nil && ctx.Err() != nil {
				err = nil // cut short by shutdown: due again at the next Run
			}
			if err != nil {
				q.o.Log.Error("outbox: attempt", "kind", string(rune(q.kind)), "id", it.ID, "err", err)
			}
			q.done(it.ID, err)
			q.leaveLane(it.Lane)
			<-slots
			q.Wake()
		}()
	}
	switch {
	case started == free:
		return math.MinInt64, nil
	case started < len(due):
		// Skipped ones are in flight, gone or held now; others may be due
		// behind them.
		return now, nil
	}
	return next, nil
}

// Backoff is the wait after the n-th failed attempt (n >= 1): first,
// doubling up to limit, each wait drawn from its upper half so that items
// failing together do not retry together.
func Backoff(n int, first, limit time.Duration) time.Duration {
	d := first
	for i := 1; i < n && d < limit; i++ {
		d *= 2
	}
	d = min(d, limit)
	return d/2 + mrand.N(d/2+1)
}
