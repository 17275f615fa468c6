package main

import (
	"math"
	"os"
	"runtime/debug"
	"sync"
)

// pauseGC turns the garbage collector off for serve's start and returns
// the function that turns it back on, which serve calls once it is ready
// (and again when it returns; calls after the first do nothing).
//
// A start allocates about twice what it keeps: with 16 pools of 5,000
// numbers the heap grows from nothing to ~30 MB live through ~56 MB of
// allocations, and the collector, which starts at a 4 MB heap and doubles
// its goal each cycle, ran 7 times before READY=1, ~100-190 ms of CPU on
// two cores (gctrace, at load 20), a third of the start's. With it off the
// heap holds the start's garbage until it is ready, and the collection
// serve does then (FreeOSMemory after READY=1) finds it all at once. The
// memory limit still applies: a start that would outgrow it collects at
// the limit, as the runtime does with GOGC=off. Without a limit (GOMEMLIMIT
// off) or with GOGC set, the collector is left as it is.
func pauseGC(limit int64) (resume func()) {
	if os.Getenv("GOGC") != "" || limit <= 0 || limit == math.MaxInt64 {
		return func() {}
	}
	debug.SetGCPercent(-1)
	// The default, not the percent before: two servers started at once
	// in one process (tests) must not leave it off.
	return sync.OnceFunc(func() { debug.SetGCPercent(100) })
}
