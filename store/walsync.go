package store

import (
	"strings"
	"sync/atomic"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
)

// directGroups counts the writes committed on their own (commitDirect) by
// the log sync that acknowledged them: pebble's log writer merges their
// syncs, so the writes applied to the log between two syncs are one
// group, as the writer's groups are (Metrics.Commits, GroupSizes). It
// sees the syncs through walSyncFS.
type directGroups struct {
	applied atomic.Uint64 // direct writes applied to the log so far
	synced  atomic.Uint64 // applied as of the start of the last sync
	groups  atomic.Uint64
	sizes   groupSizes
	// logged counts every write applied to the log, direct or in one of
	// the writer's groups (a request each); loggedSynced is logged as of
	// the start of the last sync that succeeded. Their difference when a
	// sync ends is the writes waiting for the next one (syncInterval).
	logged       atomic.Uint64
	loggedSynced atomic.Uint64
	// wait is syncInterval's precise wait; nil: pebble's timer waits.
	wait *preciseWait
}

// waitFrom is the number of writes pending at the end of a log sync from
// which the next sync waits walMinSyncInterval for more (syncInterval).
const waitFrom = 12

// syncInterval is the store's WALMinSyncInterval: pebble's log writer
// calls it as each log sync ends and starts no sync before the time it
// returns has passed. The wait trades each write's latency for fewer
// syncs, so less CPU: it returns walMinSyncInterval only while the CPU is
// what the writes wait for, that is while the machine's cores are busy
// (machineSaturated) or at least waitFrom writes are already waiting for
// the next sync (many callers: the process's own load); otherwise 0, sync
// now.
//
// With idle cores the wait only adds latency, and more than it says: with
// the process otherwise idle, Go's timer fires a 300 µs wait after about
// 1.1 ms (the netpoller sleeps whole milliseconds). Measured with httpd's
// BenchmarkHitEndpoint on this project's 2-core VM: 4-6 writes pending at
// a sync's end at 16 connections, 18-28 at 64. On a quiet machine the wait
// cost wall time at 16 connections (README); on a loaded one (load 10-15)
// a rule on the writes pending alone, which did not wait at 16
// connections, took 8 writes a sync instead of 11-12 and more CPU a
// write: there the CPU is what the writes wait for.
//
// The wait itself is precise (preciseWait), in pebble's log writer's
// goroutine before it returns 0: the syncs just done have woken their
// callers already, and a write that comes meanwhile is only copied into
// the log's buffer (one that fills a 32 KiB block waits for the buffer's
// lock). Pebble's own timer, a runtime timer, would fire a 300 µs wait
// after about 1.1 ms while the process is otherwise idle, as it is when
// its callers wait for the disk: it is used only when the precise wait
// cannot be had.
func (g *directGroups) syncInterval() time.Duration {
	if !machineSaturated() && g.logged.Load()-g.loggedSynced.Load() < waitFrom {
		return 0
	}
	if g.wait.wait(walMinSyncInterval) {
		return 0
	}
	return walMinSyncInterval
}

// logSynced records that a sync that started when logged was n
// succeeded.
func (g *directGroups) logSynced(n uint64) {
	for {
		old := g.loggedSynced.Load()
		if n <= old || g.loggedSynced.CompareAndSwap(old, n) {
			return
		}
	}
}

// sync counts the writes applied before a sync that started when applied
// was n, and succeeded, as one group. A write applied while the sync ran
// may be counted in it rather than in the next: the count is of writes
// per sync, not an exact partition.
func (g *directGroups) sync(n uint64) {
	for {
		old := g.synced.Load()
		if n <= old {
			return
		}
		if g.synced.CompareAndSwap(old, n) {
			g.groups.Add(1)
			g.sizes.observe(int(n - old))
			return
		}
	}
}

// walSyncFS is the store's file system with the log files' syncs counted
// for directGroups.
type walSyncFS struct {
	vfs.FS
	g *directGroups
}

func (fs walSyncFS) wrap(name string, f vfs.File, err error) (vfs.File, error) {
	if err != nil || !strings.HasSuffix(name, ".log") {
		return f, err
	}
	return walFile{f, fs.g}, nil
}

func (fs walSyncFS) Create(name string, c vfs.DiskWriteCategory) (vfs.File, error) {
	f, err := fs.FS.Create(name, c)
	return fs.wrap(name, f, err)
}

func (fs walSyncFS) ReuseForWrite(oldname, newname string, c vfs.DiskWriteCategory) (vfs.File, error) {
	f, err := fs.FS.ReuseForWrite(oldname, newname, c)
	return fs.wrap(newname, f, err)
}

func (fs walSyncFS) Unwrap() vfs.FS { return fs.FS }

type walFile struct {
	vfs.File
	g *directGroups
}

func (f walFile) SyncData() error { return f.synced(f.File.SyncData) }

func (f walFile) Sync() error { return f.synced(f.File.Sync) }

// synced runs one of the log's syncs and, when it succeeds, counts the
// direct writes applied before it began as taken by it.
func (f walFile) synced(sync func() error) error {
	n, l := f.g.applied.Load(), f.g.logged.Load()
	err := sync()
	if err == nil {
		f.g.sync(n)
		f.g.logSynced(l)
	}
	return err
}
