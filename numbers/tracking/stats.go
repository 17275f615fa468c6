package tracking

import "time"

// PoolStat is one number pool's state, for monitoring.
type PoolStat struct {
	Site   uint32
	Pool   string
	Size   int    // numbers in the pool
	Live   int    // numbers leased at the time asked
	Misses uint64 // claims refused since start because every number was leased
	// Limited counts claims refused since start because visitors from the
	// claimer's address held the pool's address cap.
	Limited uint64
}

// PoolStats lists every pool of every site at now, in no set order.
func (t *Tracker) PoolStats(now time.Time) []PoolStat {
	var out []PoolStat
	for id, ss := range t.state.Load().sites {
		for _, p := range ss.pools {
			out = append(out, PoolStat{Site: id, Pool: p.cfg.Name, Size: p.live.Size(), Live: p.live.Live(now), Misses: p.live.Misses(), Limited: p.live.Limited()})
		}
	}
	return out
}
