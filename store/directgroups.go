package store

import "sync/atomic"

// directGroups counts the writes committed on their own (commitDirect) by
// the log sync that acknowledged them: the sync gate syncs them together,
// so the writes applied to the log between two syncs are one group, as
// the writer's groups are (Metrics.Commits, GroupSizes). The gate's sync
// reports each sync that succeeds (startWriter).
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
