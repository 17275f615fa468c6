package store

import (
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// gateLog is a log for a syncGate: writes numbered as they are appended,
// and a sync that makes durable what was appended when it started.
type gateLog struct {
	appended, durable atomic.Uint64
	syncs             atomic.Int64
	hold              chan struct{} // when not nil, the first sync waits for it
	fail              error         // the first sync's error
}

func (l *gateLog) sync() error {
	n := l.syncs.Add(1)
	upto := l.appended.Load()
	if n == 1 && l.hold != nil {
		<-l.hold
	}
	if n == 1 && l.fail != nil {
		return l.fail
	}
	l.durable.Store(max(l.durable.Load(), upto))
	return nil
}

// write appends one write and then hands out its ticket, as applyLocked
// does (mu makes the two one step, so the test can count what a sync
// covers).
func (l *gateLog) write(g *syncGate, mu *sync.Mutex) (idx, ticket uint64) {
	mu.Lock()
	defer mu.Unlock()
	return l.appended.Add(1), g.ticket()
}

// acknowledged waits for the write idx with ticket and checks that it was
// durable when the gate answered.
func (l *gateLog) acknowledged(t *testing.T, g *syncGate, idx, ticket uint64) {
	if err := g.wait(ticket); err != nil {
		t.Error(err)
	}
	if l.durable.Load() < idx {
		t.Errorf("write %d acknowledged, durable up to %d", idx, l.durable.Load())
	}
}

// holding returns once the first sync has started (and is held).
func (l *gateLog) holding() {
	for l.syncs.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
}

// eightBehindOne makes two syncs of l, whose first is held: a write
// alone, then the 8 that wait behind it. The gate's largest recent sync is
// then 8.
func (l *gateLog) eightBehindOne(t *testing.T, g *syncGate, mu *sync.Mutex) {
	var wg sync.WaitGroup
	for i := range 9 {
		idx, ticket := l.write(g, mu)
		wg.Go(func() { l.acknowledged(t, g, idx, ticket) })
		if i == 0 {
			l.holding()
		}
	}
	close(l.hold)
	wg.Wait()
}

// TestSyncGateDurable: every write the gate acknowledges was appended
// before a sync that ended, and the writes that wait while a sync runs
// share the next one.
func TestSyncGateDurable(t *testing.T) {
	l := &gateLog{hold: make(chan struct{})}
	g := newSyncGate(l.sync, time.Hour)
	var mu sync.Mutex
	const writers = 64
	var wg sync.WaitGroup
	idx, ticket := l.write(g, &mu)
	wg.Go(func() { l.acknowledged(t, g, idx, ticket) })
	l.holding()
	// The first sync is held: the others write and wait behind it.
	var tickets sync.WaitGroup
	for range writers - 1 {
		tickets.Add(1)
		wg.Go(func() {
			idx, ticket := l.write(g, &mu)
			tickets.Done()
			l.acknowledged(t, g, idx, ticket)
		})
	}
	tickets.Wait()
	close(l.hold)
	wg.Wait()
	if n := l.syncs.Load(); n != 2 {
		t.Errorf("%d syncs for %d writes, want 2: the first, then one for the %d that waited behind it", n, writers, writers-1)
	}
}

// TestSyncGateAlone: a write with no other in sight is synced at once,
// not after the gate's longest wait.
func TestSyncGateAlone(t *testing.T) {
	l := &gateLog{}
	g := newSyncGate(l.sync, time.Hour)
	var mu sync.Mutex
	for i := range 5 {
		idx, ticket := l.write(g, &mu)
		if err := g.wait(ticket); err != nil {
			t.Fatal(err)
		}
		if l.durable.Load() < idx || l.syncs.Load() != int64(i+1) {
			t.Fatalf("write %d: durable up to %d after %d syncs", idx, l.durable.Load(), l.syncs.Load())
		}
	}
	if started, _ := g.stats(); started != [GateReasons]uint64{GateFull: 5} {
		t.Errorf("syncs by reason %v, want all 5 full (a lone write is as many as recent syncs carried)", started)
	}
}

// TestSyncGateWaitsOut: fewer writes than the last syncs carried wait for
// more, and are synced once the gate's longest wait has passed.
func TestSyncGateWaitsOut(t *testing.T) {
	l := &gateLog{hold: make(chan struct{})}
	g := newSyncGate(l.sync, 5*time.Millisecond)
	g.idle = func() bool { return false }
	var mu sync.Mutex
	l.eightBehindOne(t, g, &mu)
	// One write now is fewer than the 8 of the last sync: it waits for
	// the timer, which syncs it.
	idx, ticket := l.write(g, &mu)
	if err := g.wait(ticket); err != nil {
		t.Fatal(err)
	}
	if l.durable.Load() < idx || l.syncs.Load() != 3 {
		t.Fatalf("write %d: durable up to %d after %d syncs, want 3", idx, l.durable.Load(), l.syncs.Load())
	}
	if started, _ := g.stats(); started != [GateReasons]uint64{GateFull: 2, GateTimer: 1} {
		t.Errorf("syncs by reason %v, want 2 full, then 1 by the timer", started)
	}
}

// TestSyncGateIdle: three quarters of the writes the last syncs carried
// are synced at once when the process has nothing else to run, all in one
// sync.
func TestSyncGateIdle(t *testing.T) {
	l := &gateLog{hold: make(chan struct{})}
	g := newSyncGate(l.sync, time.Hour)
	g.idle = func() bool { return true }
	var mu sync.Mutex
	l.eightBehindOne(t, g, &mu)
	var wg sync.WaitGroup
	// 5 writes are fewer than 3/4 of 8 and wait (the timer is an hour
	// away); the sixth makes 6, synced at once with the five.
	for range 6 {
		idx, ticket := l.write(g, &mu)
		wg.Go(func() { l.acknowledged(t, g, idx, ticket) })
	}
	wg.Wait()
	if n := l.syncs.Load(); n != 3 {
		t.Errorf("%d syncs, want 3: the 6 writes share one", n)
	}
	if started, _ := g.stats(); started != [GateReasons]uint64{GateFull: 2, GateIdle: 1} {
		t.Errorf("syncs by reason %v, want 2 full, then 1 on idle", started)
	}
}

// TestSyncGateError: a failed sync fails every write it covered and
// every write after it (pebble's log stays failed).
func TestSyncGateError(t *testing.T) {
	boom := errors.New("disk gone")
	l := &gateLog{fail: boom}
	g := newSyncGate(l.sync, time.Hour)
	var mu sync.Mutex
	for range 3 {
		_, ticket := l.write(g, &mu)
		if err := g.wait(ticket); !errors.Is(err, boom) {
			t.Fatalf("wait: %v, want %v", err, boom)
		}
	}
}
