package main

import (
	"context"
	"io"
	"math"
	"runtime/debug"
	"testing"
)

// gcPercent is the collector's GOGC percent now (-1: off).
func gcPercent() int {
	p := debug.SetGCPercent(-1)
	debug.SetGCPercent(p)
	return p
}

// The collector is off from pauseGC to its resume, then at the default
// percent, unless GOGC is set or no memory limit bounds the heap.
func TestPauseGC(t *testing.T) {
	tests := []struct {
		name   string
		gogc   string
		limit  int64
		paused bool
	}{
		{"default limit", "", DefaultMemoryLimit, true},
		{"GOGC set", "100", DefaultMemoryLimit, false},
		{"no limit", "", math.MaxInt64, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("GOGC", tt.gogc)
			if got := gcPercent(); got != 100 {
				t.Fatalf("GC percent %d before the test", got)
			}
			resume := pauseGC(tt.limit)
			if got, want := gcPercent() == -1, tt.paused; got != want {
				t.Errorf("collector off during the start: %v, want %v", got, want)
			}
			resume()
			resume()
			if got := gcPercent(); got != 100 {
				t.Errorf("GC percent %d after resume, want 100", got)
			}
		})
	}
}

// serve has the collector back on by the time it says it is ready, and
// after it returns.
func TestServeCollectsOnceReady(t *testing.T) {
	t.Setenv("GOGC", "")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var atReady int
	err := runServe(ctx, ServeOptions{Data: t.TempDir(), Listen: "127.0.0.1:0"}, io.Discard, func(string) {
		atReady = gcPercent()
		cancel()
	})
	if err != nil {
		t.Fatal(err)
	}
	if atReady != 100 {
		t.Errorf("GC percent %d once serve is ready, want 100", atReady)
	}
	if got := gcPercent(); got != 100 {
		t.Errorf("GC percent %d after serve returned, want 100", got)
	}
}
