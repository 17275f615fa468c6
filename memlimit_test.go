package main

import (
	"runtime"
	"runtime/debug"
	"testing"
)

func TestSetMemoryLimit(t *testing.T) {
	t.Setenv("GOMEMLIMIT", "")
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(-1))
	if got, auto := setMemoryLimit(96 << 20); got != 96<<20 || auto || debug.SetMemoryLimit(-1) != 96<<20 {
		t.Errorf("--memory-limit 96M: set %d (auto %v), runtime has %d", got, auto, debug.SetMemoryLimit(-1))
	}
	if got, auto := setMemoryLimit(0); got != DefaultMemoryLimit || !auto || debug.SetMemoryLimit(-1) != DefaultMemoryLimit {
		t.Errorf("auto: set %d (auto %v), runtime has %d, want %d", got, auto, debug.SetMemoryLimit(-1), DefaultMemoryLimit)
	}
	// GOMEMLIMIT wins: the flag leaves the runtime's limit as it is.
	debug.SetMemoryLimit(200 << 20)
	t.Setenv("GOMEMLIMIT", "200MiB")
	if got, auto := setMemoryLimit(96 << 20); got != 200<<20 || auto {
		t.Errorf("with GOMEMLIMIT set: %d in force (auto %v), want 200MiB", got, auto)
	}
}

// The default limit follows a live heap larger than its budget: 1.5 times
// it and more, never below the budget.
func TestLiveLimit(t *testing.T) {
	const base = 16 << 20
	runtime.GC()
	if got := liveLimit(base); got < base {
		t.Fatalf("limit %d below the base %d", got, base)
	}
	held := make([][]byte, 64)
	for i := range held {
		held[i] = make([]byte, 1<<20) // 64 MiB live
	}
	runtime.GC()
	if got, want := liveLimit(base), int64(96<<20); got < want {
		t.Errorf("64 MiB live: limit %d MiB, want at least %d MiB", got>>20, want>>20)
	}
	runtime.KeepAlive(held)
}
