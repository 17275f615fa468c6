package store

import (
	"os"
	"runtime"
	"sync"

	"github.com/cockroachdb/pebble/v2"
)

// backgroundNice is the nice value pebble's flushes and compactions run
// at: below the threads of the requests, which wait on the CPU the jobs
// would take. See lowerJob.
const backgroundNice = 10

// background counts the pebble jobs running on a thread of lowered
// priority (every store of the process: GOMAXPROCS is the process's) and
// raises GOMAXPROCS by as many, so that the Ps those threads hold while
// the kernel keeps them waiting are not taken from the other goroutines.
var background struct {
	mu   sync.Mutex
	jobs int
	base int         // GOMAXPROCS before the first job raised it
	ids  map[int]int // jobs lowered, by job id: how many of that id
}

// lowerBackground makes pebble's flushes and compactions run at
// backgroundNice where threads have a priority of their own (Linux).
func lowerBackground(opts *pebble.Options) {
	if !threadNice {
		return
	}
	l := opts.EventListener
	l.CompactionBegin, l.CompactionEnd = lowered(l.CompactionBegin, l.CompactionEnd,
		func(info pebble.CompactionInfo) int { return info.JobID })
	l.FlushBegin, l.FlushEnd = lowered(l.FlushBegin, l.FlushEnd,
		func(info pebble.FlushInfo) int { return info.JobID })
}

// lowered wraps a job's begin and end listeners: lowerJob before begin,
// jobDone after end.
func lowered[I any](begin, end func(I), job func(I) int) (func(I), func(I)) {
	return func(info I) {
			lowerJob(job(info))
			begin(info)
		}, func(info I) {
			end(info)
			jobDone(job(info))
		}
}

// lowerJob runs in the goroutine of a pebble job (a compaction or a flush:
// pebble starts each in a goroutine of its own, which ends with it). It
// locks the goroutine to its thread, lowers the thread's priority to
// backgroundNice and gives the process one more P for as long as the job
// runs. The thread is never put back: it stays locked to the goroutine,
// and the runtime discards it when the goroutine ends (an unprivileged
// process cannot raise a thread's priority back).
//
// A thread of lower priority is unsound in a Go process on its own (see
// idleReads): the runtime hands it one of the GOMAXPROCS Ps, and while
// the kernel keeps it waiting behind the busier threads that P runs
// nothing. With one more P a job, the others keep their GOMAXPROCS Ps:
// the kernel runs the job on what CPU they leave, rather than the job
// taking a whole P from the requests for its run (pebble's compactions
// run for a second and more on a grown store). The last job's end puts
// back the value the first found (restoreProcs).
//
// Measured (BenchmarkHitEndpoint, 5 runs alternated): hits' p99 at 64
// connections 8.0-9.8 ms, median 8.1, vs 8.2-13.9, median 9.6, with the
// same wall and CPU a hit; the jobs run 31-41% of the time vs 22-25%.
func lowerJob(id int) {
	runtime.LockOSThread()
	if !lowerThread(backgroundNice) {
		runtime.UnlockOSThread()
		return
	}
	b := &background
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.jobs == 0 {
		b.base = runtime.GOMAXPROCS(0)
	}
	if b.ids == nil {
		b.ids = make(map[int]int)
	}
	b.ids[id]++
	b.jobs++
	runtime.GOMAXPROCS(b.base + b.jobs)
}

// jobDone gives back the P of a job lowerJob lowered. Its thread stays as
// it is until its goroutine ends, soon after.
func jobDone(id int) {
	b := &background
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.ids[id] == 0 {
		return
	}
	if b.ids[id]--; b.ids[id] == 0 {
		delete(b.ids, id)
	}
	b.jobs--
	if b.jobs > 0 {
		runtime.GOMAXPROCS(b.base + b.jobs)
		return
	}
	restoreProcs(b.base)
}

// restoreProcs puts GOMAXPROCS back to base once no job runs. A value set
// by runtime.GOMAXPROCS stays as set, while the runtime's default follows
// a container's CPU limit as it changes: when base is the default (and
// the GOMAXPROCS variable did not set it), the default itself is put back,
// so that a job does not leave the process pinned to the CPUs it had.
func restoreProcs(base int) {
	if os.Getenv("GOMAXPROCS") == "" {
		if runtime.SetDefaultGOMAXPROCS(); runtime.GOMAXPROCS(0) == base {
			return
		}
	}
	runtime.GOMAXPROCS(base)
}
