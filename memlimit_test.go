package main

import (
	"runtime/debug"
	"testing"

	"appliance/store"
)

func TestSetMemoryLimit(t *testing.T) {
	t.Setenv("GOMEMLIMIT", "")
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(-1))
	if got := setMemoryLimit(96 << 20); got != 96<<20 || debug.SetMemoryLimit(-1) != 96<<20 {
		t.Errorf("--memory-limit 96M: set %d, runtime has %d", got, debug.SetMemoryLimit(-1))
	}
	want := max(store.MachineMemory()/16, MinMemoryLimit)
	if got := setMemoryLimit(0); got != want || debug.SetMemoryLimit(-1) != want {
		t.Errorf("auto: set %d, runtime has %d, want %d", got, debug.SetMemoryLimit(-1), want)
	}
	// GOMEMLIMIT wins: the flag leaves the runtime's limit as it is.
	debug.SetMemoryLimit(200 << 20)
	t.Setenv("GOMEMLIMIT", "200MiB")
	if got := setMemoryLimit(96 << 20); got != 200<<20 {
		t.Errorf("with GOMEMLIMIT set: %d in force, want 200MiB", got)
	}
}
