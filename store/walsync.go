package store

import (
	"strings"
	"sync/atomic"

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
	n := f.g.applied.Load()
	err := sync()
	if err == nil {
		f.g.sync(n)
	}
	return err
}
