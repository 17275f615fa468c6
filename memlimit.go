package main

import (
	"context"
	"fmt"
	"os"
	"runtime/debug"
	"runtime/metrics"
	"time"

	"github.com/spf13/cobra"
)

// DefaultMemoryLimit is serve's soft limit of the Go runtime's memory when
// --memory-limit is auto: a budget, not a share of the machine. Issue 15
// asks for a server with 16 pools of 5,000 numbers to stay under 100 MB of
// RSS at load, of which ~35 MB are the binary's own pages and ~20 MB the
// store's memory outside the Go heap (memtables, block cache, the C
// allocator's): 44 MiB is the Go runtime's part. It was 64 MiB while the
// live heap at load was ~31 MB (TestPoolLoad's heap profile); with the
// active visitors packed it is ~26 MB, and 48 MiB left the collector
// about the room 64 did before (peak RSS 97-105 vs 109-113 MB, CPU a hit
// within the noise). On a store grown to 800,000 hits (TestPoolLoad with
// APPLIANCE_POOL_LOAD_HITS=400000, its second round; the collector's own
// CPU from GODEBUG=gctrace=1 over 400,000 hits) 48 MiB peaked at
// 97-100 MB, ~100 collections, 2.4-3.2 µs of GC CPU a hit; 44 MiB at
// 94-98 MB, ~150 collections, 3.3-4.3 µs; 40 MiB at 90-93 MB but ~270
// collections, 6-8 µs (a live heap of 20-26 MB). Without a limit the Go
// heap grows to twice what it holds live before it collects (151-158 MB
// RSS at load, TestPoolLoad); a share of the machine (a 16th, before)
// left that so on any machine of more than 1 GiB. The collector runs
// sooner as the heap nears the limit, which costs CPU in proportion to
// how often it runs; followLiveHeap keeps it from running more often than
// at GOGC=50 when the live heap outgrows the budget.
const DefaultMemoryLimit = 44 << 20

// memoryLimitFlag adds --memory-limit to cmd.
func memoryLimitFlag(cmd *cobra.Command, s *byteSize) {
	cmd.Flags().Var(s, "memory-limit", fmt.Sprintf("soft limit of the Go runtime's memory, e.g. 128M; 0 or auto, the default: %dM, raised to 1.5 times the live heap when that is more; GOMEMLIMIT, when set, wins (env APPLIANCE_MEMORY_LIMIT)", DefaultMemoryLimit>>20))
}

// setMemoryLimit applies --memory-limit unless GOMEMLIMIT is set (the
// runtime has applied that one) and returns the limit in force and
// whether it is the default (which followLiveHeap may raise).
func setMemoryLimit(s byteSize) (int64, bool) {
	if os.Getenv("GOMEMLIMIT") != "" {
		return debug.SetMemoryLimit(-1), false
	}
	limit := int64(s)
	if limit > 0 {
		debug.SetMemoryLimit(limit)
		return limit, false
	}
	debug.SetMemoryLimit(DefaultMemoryLimit)
	return DefaultMemoryLimit, true
}

// heapMetrics are what followLiveHeap reads: the heap the last
// collection found live, all the runtime's memory, and the heap's part of
// it (objects, unused, free and released), so that the rest (stacks, the
// runtime's own structures), which the limit also counts, is kept beside
// the live heap.
var heapMetrics = []string{"/gc/heap/live:bytes", "/memory/classes/total:bytes",
	"/memory/classes/heap/objects:bytes", "/memory/classes/heap/unused:bytes",
	"/memory/classes/heap/free:bytes", "/memory/classes/heap/released:bytes"}

// followLiveHeap keeps the default limit at base or more until ctx ends,
// setting it every second to what liveLimit says: a limit below what
// the server holds live would have the collector run back to back (up to
// half the CPU, the runtime's cap), so a server with more to hold than
// the budget's figures collects as at GOGC=50 instead.
func followLiveHeap(ctx context.Context, base int64) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			debug.SetMemoryLimit(liveLimit(base))
		}
	}
}

// liveLimit is base, or 1.5 times the live heap plus the runtime's memory
// beside the heap when that is more.
func liveLimit(base int64) int64 {
	var s [6]metrics.Sample
	for i, name := range heapMetrics {
		s[i].Name = name
	}
	metrics.Read(s[:])
	var v [6]int64
	for i := range s {
		if s[i].Value.Kind() == metrics.KindUint64 {
			v[i] = int64(s[i].Value.Uint64())
		}
	}
	live, other := v[0], v[1]-(v[2]+v[3]+v[4]+v[5])
	return max(base, live+live/2+max(other, 0))
}
