package store

import (
	"runtime/metrics"
	"sync"
	"sync/atomic"
	"time"
)

// syncGate decides when the store's log is synced. Writes are applied to
// pebble without a sync of their own, each numbered by a ticket once its
// apply returned, and wait until a sync that started after that ends.
// One waiter at a time leads a sync (pebble's log synced through a
// log-only record), which covers every ticket handed out when it starts;
// the writes that come in while it runs share the next one.
//
// When the next sync starts, following the load rather than a fixed
// interval:
//   - at once when as many writes wait as the largest sync of the last
//     100-200 ms carried (a closed loop of 16 writers: when all 16 are in;
//     a lone writer: at once);
//   - at once when three quarters of that many wait and the process has
//     nothing else to run (no further write is being prepared);
//   - else maxGateWait after the last sync ended (a timer).
//
// Pebble's own pacing (WALMinSyncInterval, 300 µs after the last sync)
// waits on a Go timer, which fires a whole millisecond late once the
// process idles (the runtime's netpoller sleeps in whole milliseconds), so
// a closed loop of 16 writers synced every ~1.3 ms whatever it carried
// (BenchmarkDurableFloor at 16 writers: 99 µs a write, 14-19 with the
// gate; BenchmarkHitEndpoint's durable-hello at 16 connections 85-92 vs
// 44-51 µs a request).
type syncGate struct {
	sync    func() error // syncs the log: every write applied before the call
	maxWait time.Duration

	applied atomic.Uint64 // tickets handed out, each after its write's apply

	mu      sync.Mutex
	covered uint64 // tickets the sync in flight (or the last) covers
	synced  uint64 // tickets durable
	syncing bool
	failed  uint64 // the first ticket of a failed sync (0: none); the log's errors are sticky
	err     error
	done    chan struct{} // closed when the sync in flight ends
	next    chan struct{} // closed when the sync after it ends
	lastEnd time.Time
	timer   *time.Timer
	armed   bool
	// recent is the largest sync of this window and of the last (each
	// window 100 ms): an early sync waits for three quarters of it.
	recent   [2]uint64
	windowAt time.Time
	// idle reports whether the process has nothing else to run.
	idle  func() bool
	sched []metrics.Sample
	// The syncs led, by what started them, and their total wall time
	// (Metrics.GateSyncs, GateSyncTime).
	started  [GateReasons]uint64
	syncTime time.Duration
}

// Why the sync gate started a sync (Metrics.GateSyncs).
const (
	// GateFull: as many writes waited as the largest recent sync carried
	// (a lone write after a quiet spell too).
	GateFull = iota
	// GateIdle: three quarters of that many, and the process had nothing
	// else to run.
	GateIdle
	// GateTimer: maxGateWait had passed since the last sync ended.
	GateTimer
	GateReasons
)

// GateReasonName is the name of a GateFull, GateIdle or GateTimer, as
// /metrics labels it.
func GateReasonName(r int) string { return [GateReasons]string{"full", "idle", "timer"}[r] }

// maxGateWait is the longest a write waits for others to share its sync
// (from the end of the sync before). Measured against 500 µs
// (BenchmarkHitEndpoint, alternated, 2 rounds each): at 64 connections a
// sync carries 29-31 writes vs 23-24 for the same wall time a hit, and at
// 16 connections the syncs left to the timer carry more.
const maxGateWait = time.Millisecond

func newSyncGate(sync func() error, maxWait time.Duration) *syncGate {
	g := &syncGate{sync: sync, maxWait: maxWait, done: make(chan struct{}), next: make(chan struct{})}
	g.sched = []metrics.Sample{{Name: "/sched/goroutines/running:goroutines"}, {Name: "/sched/goroutines/runnable:goroutines"}}
	g.idle = g.schedIdle
	g.timer = time.AfterFunc(time.Hour, g.fire)
	g.timer.Stop()
	return g
}

// ticket numbers a write whose apply to the log returned: a sync that
// starts once the ticket is handed out covers it.
func (g *syncGate) ticket() uint64 { return g.applied.Add(1) }

// wait returns once the write with ticket t is synced, or with the error
// of the sync that failed it.
func (g *syncGate) wait(t uint64) error {
	g.mu.Lock()
	for {
		if t <= g.synced {
			err := g.errFor(t)
			g.mu.Unlock()
			return err
		}
		if !g.syncing && t > g.covered {
			if r := g.due(); r >= 0 {
				g.lead(r)
				continue
			}
		}
		if !g.syncing {
			g.arm()
		}
		// The sync that will cover t closes done if it is in flight or
		// none is; next if one is in flight without it.
		ch := g.done
		if g.syncing && t > g.covered {
			ch = g.next
		}
		g.mu.Unlock()
		<-ch
		g.mu.Lock()
	}
}

func (g *syncGate) errFor(t uint64) error {
	if g.failed != 0 && t >= g.failed {
		return g.err
	}
	return nil
}

// fire is the timer's: a sync once maxWait has passed with writes waiting.
func (g *syncGate) fire() {
	g.mu.Lock()
	g.armed = false
	g.mu.Unlock()
	g.leadDue()
}

// due returns, with mu held and no sync in flight, why a sync should start
// now (GateFull, GateIdle or GateTimer), or -1 when none should.
func (g *syncGate) due() int {
	waiting := g.applied.Load() - g.covered
	most := max(g.recent[0], g.recent[1])
	switch {
	case waiting >= most:
		return GateFull
	case time.Since(g.lastEnd) >= g.maxWait:
		return GateTimer
	case 4*waiting >= 3*most && g.idle():
		return GateIdle
	}
	return -1
}

// schedIdle reports whether no goroutine but the caller runs or waits to.
func (g *syncGate) schedIdle() bool {
	metrics.Read(g.sched)
	return g.sched[0].Value.Uint64() <= 1 && g.sched[1].Value.Uint64() == 0
}

// lead runs one sync, started for reason, with mu held (released while it
// runs). When writes came in while it ran, the next sync is due at once or
// the timer is set: a due one is led by a new goroutine, so that the
// leader's own write is answered without waiting for the others' syncs.
func (g *syncGate) lead(reason int) {
	from := g.covered + 1
	g.covered = g.applied.Load()
	g.syncing = true
	if g.armed {
		g.armed = !g.timer.Stop()
	}
	g.started[reason]++
	g.mu.Unlock()
	start := time.Now()
	err := g.sync()
	end := time.Now()
	g.mu.Lock()
	g.syncTime += end.Sub(start)
	if err != nil && g.failed == 0 {
		g.failed, g.err = from, err
	}
	g.synced, g.syncing, g.lastEnd = g.covered, false, end
	if end.Sub(g.windowAt) >= 100*time.Millisecond {
		g.recent[1], g.recent[0], g.windowAt = g.recent[0], 0, end
	}
	g.recent[0] = max(g.recent[0], g.covered-from+1)
	close(g.done)
	g.done, g.next = g.next, make(chan struct{})
	if g.applied.Load() == g.covered {
		return
	}
	if r := g.due(); r >= 0 {
		go g.leadDue()
	} else {
		g.arm()
	}
}

// stop stops the timer: the store is closing, and no write waits.
func (g *syncGate) stop() { g.timer.Stop() }

// arm sets the timer, unless it is set, to fire maxWait after the last
// sync ended.
func (g *syncGate) arm() {
	if !g.armed {
		g.armed = true
		g.timer.Reset(g.maxWait - time.Since(g.lastEnd))
	}
}

// leadDue leads the next sync if one is due when it runs (due), unless
// another goroutine took it first; else it sets the timer. It decides
// anew rather than trusting the caller's reason: started by a sync's end
// on its own goroutine, it may run after another sync, led by a waiter,
// has taken the writes it was for, and a sync of the few written since
// would then leave the rest to the timer.
func (g *syncGate) leadDue() {
	g.mu.Lock()
	if !g.syncing && g.applied.Load() > g.covered {
		if r := g.due(); r >= 0 {
			g.lead(r)
		} else {
			g.arm()
		}
	}
	g.mu.Unlock()
}

// stats returns the syncs led by what started them and their total wall
// time.
func (g *syncGate) stats() ([GateReasons]uint64, time.Duration) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.started, g.syncTime
}
