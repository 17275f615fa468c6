package store

import (
	"runtime"
	"testing"
	"time"
)

func TestReadCPUTimes(t *testing.T) {
	busy, total, ok := readCPUTimes()
	if runtime.GOOS != "linux" {
		if ok {
			t.Fatal("CPU times outside Linux")
		}
		return
	}
	if !ok || total == 0 || busy > total {
		t.Fatalf("readCPUTimes() = %d, %d, %v", busy, total, ok)
	}
}

// TestSyncInterval: a sync waits for more writes while many are pending
// behind it, whatever the machine's load.
func TestSyncInterval(t *testing.T) {
	var g directGroups
	g.logged.Store(100)
	g.logSynced(100 - waitFrom)
	if d := g.syncInterval(); d != walMinSyncInterval {
		t.Fatalf("%d pending: interval %v, want %v", waitFrom, d, walMinSyncInterval)
	}
	g.logSynced(80) // an older sync's end changes nothing
	if g.loggedSynced.Load() != 100-waitFrom {
		t.Fatalf("loggedSynced went back to %d", g.loggedSynced.Load())
	}
	g.logSynced(100)
	if d := g.syncInterval(); d != 0 && d != walMinSyncInterval {
		t.Fatalf("nothing pending: interval %v", d)
	}
}

func TestPreciseWait(t *testing.T) {
	w := newPreciseWait()
	if runtime.GOOS != "linux" {
		if w.wait(time.Microsecond) {
			t.Fatal("a precise wait outside Linux")
		}
		return
	}
	if w == nil {
		t.Skip("no timerfd")
	}
	for range 3 {
		if !w.wait(100 * time.Microsecond) {
			t.Fatal("wait failed")
		}
	}
	w.close()
	if w.wait(time.Microsecond) {
		t.Fatal("a closed wait waited")
	}
}
