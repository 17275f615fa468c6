package outbox_test

import (
	"context"
	"errors"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"appliance/httpd/outbox"
	"appliance/store"
	"appliance/store/storetest"
)

// clock is a settable clock in Unix ms (the queue's precision): tests
// move time instead of sleeping.
type clock struct{ ms atomic.Int64 }

func newClock() *clock {
	c := &clock{}
	c.ms.Store(time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC).UnixMilli())
	return c
}

func (c *clock) Now() time.Time      { return time.UnixMilli(c.ms.Load()) }
func (c *clock) Add(d time.Duration) { c.ms.Add(d.Milliseconds()) }

// noTick is a Tick no test waits for: whatever a test sees happen was
// woken by a Put, a finished attempt or a due time, not by polling.
const noTick = time.Hour

// put queues items in one Update.
func put(t *testing.T, db *store.DB, q *outbox.Queue, items ...outbox.Item) {
	t.Helper()
	err := db.Update(context.Background(), func(tx *store.Tx) error {
		for _, it := range items {
			q.Put(tx, it)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// remove takes it out of the queue, as an attempt that succeeded does.
func remove(ctx context.Context, db *store.DB, q *outbox.Queue, it outbox.Item) error {
	return db.Update(context.WithoutCancel(ctx), func(tx *store.Tx) error { q.Remove(tx, it.At, it.ID); return nil })
}

// run runs q until the test ends or stop is called.
func run(t *testing.T, q *outbox.Queue, workers int, fn outbox.Func) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { q.Run(ctx, workers, fn); close(done) }()
	var once sync.Once
	stop = func() { once.Do(func() { cancel(); <-done }) }
	t.Cleanup(stop)
	return stop
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func queued(t *testing.T, db *store.DB, kind store.DueKind) int {
	t.Helper()
	n := 0
	if err := db.ScanPrefix(context.Background(), store.DuePrefix(kind), false, 0, func(k, v []byte) bool { n++; return true }); err != nil {
		t.Fatal(err)
	}
	return n
}

// counter counts attempts per id.
type counter struct {
	mu    sync.Mutex
	n     map[uint64]int
	order []uint64
}

func (c *counter) add(id uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n == nil {
		c.n = map[uint64]int{}
	}
	c.n[id]++
	c.order = append(c.order, id)
}

func (c *counter) snapshot() (map[uint64]int, []uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	m := map[uint64]int{}
	for k, v := range c.n {
		m[k] = v
	}
	return m, slices.Clone(c.order)
}

// Items queued before a restart, and items whose attempt a stop cut short,
// are attempted by the next Run; each item that succeeded is attempted
// exactly once, across three opens of the store, and items of another kind
// are left alone.
func TestRestartAttemptsPendingOnce(t *testing.T) {
	dir := t.TempDir()
	clk := newClock()
	o := outbox.Options{Now: clk.Now, Tick: noTick}
	const n = 40

	db := storetest.OpenAt(t, dir)
	q := outbox.New(db, store.DueDelivery, o)
	var items []outbox.Item
	for i := range n {
		items = append(items, outbox.Item{At: clk.Now().Add(-time.Duration(i) * time.Second), ID: uint64(100 + i), Site: uint32(i % 3)})
	}
	put(t, db, q, items...)
	put(t, db, outbox.New(db, store.DueCallback, o), outbox.Item{At: clk.Now(), ID: 1, Site: 1})
	if err := db.Close(); err != nil { // never ran: all are due
		t.Fatal(err)
	}

	// Second life: most items succeed; four hang until Run stops and stay
	// queued.
	db = storetest.OpenAt(t, dir)
	q = outbox.New(db, store.DueDelivery, o)
	var got counter
	var hung atomic.Int32
	hangs := func(id uint64) bool { return id%10 == 1 }
	stop := run(t, q, 8, func(ctx context.Context, it outbox.Item) error {
		if it.Site != uint32((it.ID-100)%3) {
			t.Errorf("item %d: site %d", it.ID, it.Site)
		}
		if hangs(it.ID) {
			hung.Add(1)
			<-ctx.Done()
			return ctx.Err()
		}
		got.add(it.ID)
		return remove(ctx, db, q, it)
	})
	eventually(t, "the others are done", func() bool { m, _ := got.snapshot(); return len(m) == n-4 })
	eventually(t, "the four are attempted", func() bool { return hung.Load() == 4 })
	stop()
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	// Third life: the four, once; no other item again.
	db = storetest.OpenAt(t, dir)
	if k := queued(t, db, store.DueDelivery); k != 4 {
		t.Fatalf("%d items queued after the stop, want 4", k)
	}
	q = outbox.New(db, store.DueDelivery, o)
	run(t, q, 4, func(ctx context.Context, it outbox.Item) error {
		got.add(it.ID)
		return remove(ctx, db, q, it)
	})
	eventually(t, "every item is done", func() bool { return queued(t, db, store.DueDelivery) == 0 })
	m, _ := got.snapshot()
	for _, it := range items {
		if m[it.ID] != 1 {
			t.Errorf("item %d attempted %d times to success, want 1", it.ID, m[it.ID])
		}
	}
	if k := queued(t, db, store.DueCallback); k != 1 {
		t.Errorf("%d items of the other kind, want 1 left alone", k)
	}
}

// With many workers, items that stay due (each attempt puts its item back
// at once, as a failed attempt with no backoff would) and a caller that
// claims ids of its own, no id is ever attempted twice at once. Run it with
// -race.
func TestInFlightNeverDoubled(t *testing.T) {
	db := storetest.Open(t)
	clk := newClock()
	q := outbox.New(db, store.DueDelivery, outbox.Options{Now: clk.Now, Tick: noTick})
	const items, rounds = 50, 4
	var mu sync.Mutex
	running := map[uint64]bool{}
	attempts := map[uint64]int{}
	enter := func(id uint64, who string) bool {
		mu.Lock()
		defer mu.Unlock()
		if running[id] {
			t.Errorf("item %d: %s while an attempt runs", id, who)
			return false
		}
		running[id] = true
		return true
	}
	leave := func(id uint64) { mu.Lock(); delete(running, id); mu.Unlock() }

	for i := range items {
		put(t, db, q, outbox.Item{At: clk.Now(), ID: uint64(i + 1), Site: 1})
	}
	run(t, q, 16, func(ctx context.Context, it outbox.Item) error {
		if !enter(it.ID, "attempt") {
			return nil
		}
		defer leave(it.ID)
		mu.Lock()
		attempts[it.ID]++
		last := attempts[it.ID] >= rounds
		mu.Unlock()
		return db.Update(context.WithoutCancel(ctx), func(tx *store.Tx) error {
			q.Remove(tx, it.At, it.ID)
			if !last {
				q.Put(tx, outbox.Item{At: clk.Now(), ID: it.ID, Site: it.Site})
			}
			return nil
		})
	})
	// A caller taking ids for attempts of its own (as an immediate callback
	// does) while Run works on them.
	claimsDone := make(chan struct{})
	var claimed atomic.Int32
	go func() {
		defer close(claimsDone)
		for range 2000 {
			id := uint64(rand.IntN(items) + 1)
			release, ok := q.Claim(id)
			if !ok {
				continue
			}
			if enter(id, "claim") {
				claimed.Add(1)
				leave(id)
			}
			release()
		}
	}()
	eventually(t, "every item is done", func() bool { return queued(t, db, store.DueDelivery) == 0 })
	<-claimsDone
	mu.Lock()
	defer mu.Unlock()
	for i := range items {
		if attempts[uint64(i+1)] != rounds {
			t.Errorf("item %d attempted %d times, want %d", i+1, attempts[uint64(i+1)], rounds)
		}
	}
	if claimed.Load() == 0 {
		t.Error("no claim succeeded: the test claimed nothing")
	}
}

// A Run sleeping until a far item wakes for an earlier one as soon as the
// Update that puts it commits: nothing polls (Tick is an hour), so the
// earlier item is attempted only if the wake-up works.
func TestPutWakesForEarlierItem(t *testing.T) {
	db := storetest.Open(t)
	clk := newClock()
	q := outbox.New(db, store.DueDelivery, outbox.Options{Now: clk.Now, Tick: noTick})
	put(t, db, q, outbox.Item{At: clk.Now().Add(30 * time.Minute), ID: 1, Site: 1})
	var got counter
	run(t, q, 2, func(ctx context.Context, it outbox.Item) error {
		got.add(it.ID)
		return remove(ctx, db, q, it)
	})
	for id := uint64(2); id <= 4; id++ {
		// The first look may not have happened yet: each Put must wake
		// Run whether it sleeps already or is about to.
		put(t, db, q, outbox.Item{At: clk.Now(), ID: id, Site: 1})
		eventually(t, "the earlier item is attempted", func() bool { m, _ := got.snapshot(); return m[id] == 1 })
	}
	if m, _ := got.snapshot(); m[1] != 0 {
		t.Fatalf("the far item was attempted before its time: %v", m)
	}
	// A later item does not need to wake Run; once the clock passes both,
	// a wake (as the timer gives) attempts them.
	put(t, db, q, outbox.Item{At: clk.Now().Add(time.Hour), ID: 5, Site: 1})
	clk.Add(time.Hour)
	q.Wake()
	eventually(t, "the far items are attempted", func() bool { m, _ := got.snapshot(); return m[1] == 1 && m[5] == 1 })
}

// Due items are attempted in the order they came due (a retried item
// after its backoff, behind items due before it), and an attempt that
// fails with an error is held back for a backoff instead of being retried
// at once.
func TestOrderAndBackoff(t *testing.T) {
	db := storetest.Open(t)
	clk := newClock()
	q := outbox.New(db, store.DueDelivery, outbox.Options{Now: clk.Now, Tick: noTick})
	t0 := clk.Now()
	// Item 1 failed twice already (retried at t0+Backoff(2)), items 2 and 3
	// came due in between.
	put(t, db, q,
		outbox.Item{At: t0.Add(40 * time.Second), ID: 1, Site: 1},
		outbox.Item{At: t0.Add(10 * time.Second), ID: 2, Site: 1},
		outbox.Item{At: t0.Add(30 * time.Second), ID: 3, Site: 1},
		outbox.Item{At: t0.Add(30 * time.Second), ID: 4, Site: 1},
		outbox.Item{At: t0.Add(time.Hour), ID: 5, Site: 1},
	)
	var got counter
	var failOnce atomic.Bool
	failOnce.Store(true)
	boom := errors.New("the store failed")
	run(t, q, 1, func(ctx context.Context, it outbox.Item) error {
		got.add(it.ID)
		if it.ID == 3 && failOnce.Swap(false) {
			return boom
		}
		return remove(ctx, db, q, it)
	})
	clk.Add(time.Minute)
	q.Wake()
	// 3 fails and is held back (the clock stands still), so 4 and 1 go
	// first; 5 is not due.
	eventually(t, "the due items are attempted", func() bool { m, _ := got.snapshot(); return m[1] == 1 && m[4] == 1 })
	for range 5 {
		q.Wake() // looks at the queue again: 3 is still held
	}
	clk.Add(time.Minute) // past any error backoff (at most a minute)
	q.Wake()
	eventually(t, "the failed item is tried again", func() bool { m, _ := got.snapshot(); return m[3] == 2 })
	_, order := got.snapshot()
	if want := []uint64{2, 3, 4, 1, 3}; !slices.Equal(order, want) {
		t.Errorf("attempted in order %v, want %v", order, want)
	}
	if k := queued(t, db, store.DueDelivery); k != 1 {
		t.Errorf("%d items queued, want only the one not due", k)
	}
}

// Backoff doubles from first up to limit, each wait in the upper half of
// its step (the bounds of the queue's own backoff after an error).
func TestBackoff(t *testing.T) {
	for n, want := range []time.Duration{1: time.Second, 2: 2 * time.Second, 3: 4 * time.Second, 7: time.Minute, 8: time.Minute, 9: time.Minute} {
		if want == 0 {
			continue
		}
		for range 50 {
			if d := outbox.Backoff(n, time.Second, time.Minute); d < want/2 || d > want {
				t.Fatalf("Backoff(%d) = %s, want in [%s, %s]", n, d, want/2, want)
			}
		}
	}
}

// Run returns once its context ends, after every attempt it started has
// returned; an attempt cut short stays queued. A claimed item is left
// alone until its claim is released.
func TestStopAndClaim(t *testing.T) {
	db := storetest.Open(t)
	clk := newClock()
	q := outbox.New(db, store.DueDelivery, outbox.Options{Now: clk.Now, Tick: noTick})
	release, ok := q.Claim(2)
	if !ok {
		t.Fatal("claim of a free id refused")
	}
	if _, ok := q.Claim(2); ok {
		t.Fatal("a claimed id was claimed again")
	}
	put(t, db, q, outbox.Item{At: clk.Now(), ID: 1, Site: 1}, outbox.Item{At: clk.Now(), ID: 2, Site: 1})
	started := make(chan struct{})
	var returned atomic.Bool
	var got counter
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		q.Run(ctx, 4, func(ctx context.Context, it outbox.Item) error {
			got.add(it.ID)
			if it.ID == 1 {
				close(started)
				<-ctx.Done()
				returned.Store(true)
				return ctx.Err()
			}
			return remove(ctx, db, q, it)
		})
		close(done)
	}()
	<-started
	for range 5 {
		q.Wake()
	}
	if m, _ := got.snapshot(); m[2] != 0 {
		t.Fatalf("a claimed item was attempted: %v", m)
	}
	release()
	eventually(t, "the released item is attempted", func() bool { m, _ := got.snapshot(); return m[2] == 1 })
	cancel()
	<-done
	if !returned.Load() {
		t.Fatal("Run returned before its attempt did")
	}
	if k := queued(t, db, store.DueDelivery); k != 1 {
		t.Fatalf("%d items queued after the stop, want the cut-short one", k)
	}
}

// A lane whose receiver hangs holds at most PerLane workers: the other
// workers go on with other lanes' entries, due after its own, while its
// attempts still hang; once they end, the rest of the lane is attempted,
// never more than PerLane of it at once. Entries written before lanes
// (version 1, lane 0) are bounded by none.
func TestLaneBoundsAHangingReceiver(t *testing.T) {
	db := storetest.Open(t)
	c := newClock()
	q := outbox.New(db, store.DueDelivery, outbox.Options{Now: c.Now, Tick: noTick, PerLane: 2})
	const hung = 7
	var items []outbox.Item
	for i := range 6 {
		items = append(items, outbox.Item{At: c.Now().Add(time.Duration(i) * time.Millisecond), ID: uint64(100 + i), Site: 1, Lane: hung})
	}
	other := outbox.Item{At: c.Now().Add(time.Second), ID: 200, Site: 2, Lane: 8}
	plain := outbox.Item{At: c.Now().Add(2 * time.Second), ID: 300, Site: 3}
	put(t, db, q, append(items, other, plain)...)
	c.Add(3 * time.Second)

	release := make(chan struct{})
	var mu sync.Mutex
	inHung, maxHung := 0, 0
	var otherDone, plainDone atomic.Bool
	run(t, q, 3, func(ctx context.Context, it outbox.Item) error {
		switch it.Lane {
		case hung:
			mu.Lock()
			inHung++
			maxHung = max(maxHung, inHung)
			mu.Unlock()
			<-release
			mu.Lock()
			inHung--
			mu.Unlock()
		case 8:
			otherDone.Store(true)
		default:
			plainDone.Store(true)
		}
		return remove(ctx, db, q, it)
	})
	var once sync.Once
	unhang := func() { once.Do(func() { close(release) }) }
	t.Cleanup(unhang) // before run's: a failed wait must not leave Run waiting on hung workers
	// With three workers and no lanes, the six hung entries, due first,
	// would take every worker and nothing else would be attempted.
	eventually(t, "the other lane's and the unlaned entries are attempted while the hung lane hangs", func() bool {
		return otherDone.Load() && plainDone.Load()
	})
	unhang()
	eventually(t, "the hung lane drains", func() bool { return queued(t, db, store.DueDelivery) == 0 })
	if maxHung > 2 {
		t.Errorf("%d attempts of one lane at once, PerLane 2", maxHung)
	}
}
