package store

import (
	"fmt"
	"path/filepath"
	"runtime"
	"sync"
	"testing"

	"github.com/cockroachdb/pebble/v2"
	"golang.org/x/sys/unix"
)

// A compaction runs on a thread of its own at backgroundNice, with one
// more P than the process had while it runs; once it is done the process
// has its Ps back, and the thread (locked to the compaction's goroutine)
// goes with it.
func TestCompactionLowered(t *testing.T) {
	base := runtime.GOMAXPROCS(0)
	var mu sync.Mutex
	type seen struct{ nice, procs, tid int }
	var during []seen
	opts := pebbleOptions(false, MinCacheSize)
	opts.EventListener.CompactionBegin = func(pebble.CompactionInfo) {
		// Runs after lowerJob, on the compaction's goroutine.
		nice, err := unix.Getpriority(unix.PRIO_PROCESS, unix.Gettid())
		if err != nil {
			t.Error(err)
		}
		mu.Lock()
		// getpriority(2)'s system call answers 20 - nice.
		during = append(during, seen{20 - nice, runtime.GOMAXPROCS(0), unix.Gettid()})
		mu.Unlock()
	}
	lowerBackground(opts)
	db, err := pebble.Open(filepath.Join(t.TempDir(), DBDir), opts)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 4 {
		for j := range 100 {
			if err := db.Set(fmt.Appendf(nil, "k%03d", j), fmt.Appendf(nil, "v%d", i), pebble.NoSync); err != nil {
				t.Fatal(err)
			}
		}
		if err := db.Flush(); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.Compact(t.Context(), []byte("k"), []byte("l"), true); err != nil {
		t.Fatal(err)
	}
	// Close waits for the jobs pebble started on its own too.
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(during) == 0 {
		t.Fatal("no compaction began")
	}
	for _, s := range during {
		if s.nice != backgroundNice {
			t.Errorf("a compaction ran at nice %d, want %d", s.nice, backgroundNice)
		}
		if s.procs <= base {
			t.Errorf("GOMAXPROCS %d while a compaction ran, want more than the process's %d", s.procs, base)
		}
		if s.tid == unix.Gettid() {
			t.Errorf("the compaction ran on the test's thread")
		}
	}
	if got := runtime.GOMAXPROCS(0); got != base {
		t.Errorf("GOMAXPROCS %d once the compactions were done, want %d back", got, base)
	}
	// The test's own thread keeps its priority.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if nice, err := unix.Getpriority(unix.PRIO_PROCESS, unix.Gettid()); err != nil || 20-nice != 0 {
		t.Errorf("the test's thread at nice %d (%v), want 0", 20-nice, err)
	}
}

// jobDone of a job lowerJob did not lower (its thread could not be, or it
// began before the listener was set) gives back no P.
func TestJobDoneUnknown(t *testing.T) {
	base := runtime.GOMAXPROCS(0)
	jobDone(987654)
	if got := runtime.GOMAXPROCS(0); got != base {
		t.Errorf("GOMAXPROCS %d, want %d", got, base)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		lowerJob(987655)
		if got := runtime.GOMAXPROCS(0); got != base+1 {
			t.Errorf("GOMAXPROCS %d while a job runs, want %d", got, base+1)
		}
		jobDone(987655)
		jobDone(987655) // once only
	}()
	<-done
	if got := runtime.GOMAXPROCS(0); got != base {
		t.Errorf("GOMAXPROCS %d, want %d", got, base)
	}
}

// A GOMAXPROCS set by hand (not the runtime's default) is what a job's
// end puts back, not the default.
func TestJobDoneKeepsSetProcs(t *testing.T) {
	orig := runtime.GOMAXPROCS(0)
	t.Cleanup(func() { runtime.GOMAXPROCS(orig) })
	set := orig + 2
	runtime.GOMAXPROCS(set)
	done := make(chan struct{})
	go func() {
		defer close(done)
		lowerJob(987656)
		jobDone(987656)
	}()
	<-done
	if got := runtime.GOMAXPROCS(0); got != set {
		t.Errorf("GOMAXPROCS %d after a job, want %d as set", got, set)
	}
}
