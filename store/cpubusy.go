package store

import (
	"sync/atomic"
	"time"
)

// cpuSampleEvery is how often (at most) the machine's CPU is sampled for
// machineSaturated: /proc/stat counts in ticks of 10 ms, so a tenth of a
// second is 20 ticks on two cores.
const cpuSampleEvery = 100 * time.Millisecond

// saturatedFrom is the share of the machine's CPU time busy (not idle nor
// waiting for I/O; stolen by the hypervisor counts as busy) from which
// machineSaturated reports the CPU as scarce.
const saturatedFrom = 0.9

// cpuLoad is whether the machine's CPU was saturated over the last
// sample: one for the process, as the CPU is the machine's.
var cpuLoad struct {
	saturated atomic.Bool
	sampling  atomic.Bool
	at        atomic.Int64 // when the last sample was taken, since cpuEpoch
	// the last sample's counters (only the sampling goroutine)
	busy, total uint64
}

var cpuEpoch = time.Now()

// machineSaturated reports whether the machine's cores were busy at least
// saturatedFrom of the time between the last two samples, and starts a
// new sample in its own goroutine when the last is older than
// cpuSampleEvery: the caller (pebble's log writer, between syncs) never
// waits for /proc. Where the kernel does not say (not Linux), false.
func machineSaturated() bool {
	if now := int64(time.Since(cpuEpoch)); now-cpuLoad.at.Load() >= int64(cpuSampleEvery) && cpuLoad.sampling.CompareAndSwap(false, true) {
		go sampleCPU()
	}
	return cpuLoad.saturated.Load()
}

func sampleCPU() {
	defer cpuLoad.sampling.Store(false)
	busy, total, ok := readCPUTimes()
	if !ok {
		// Sample no more than every cpuSampleEvery even so.
		cpuLoad.at.Store(int64(time.Since(cpuEpoch)))
		return
	}
	if db, dt := busy-cpuLoad.busy, total-cpuLoad.total; cpuLoad.total != 0 && total > cpuLoad.total && busy >= cpuLoad.busy {
		cpuLoad.saturated.Store(float64(db) >= saturatedFrom*float64(dt))
	}
	cpuLoad.busy, cpuLoad.total = busy, total
	cpuLoad.at.Store(int64(time.Since(cpuEpoch)))
}
