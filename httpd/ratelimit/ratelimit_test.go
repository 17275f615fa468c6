package ratelimit

import (
	"fmt"
	"testing"
	"time"
)

func TestSlidingWindow(t *testing.T) {
	l := New(3, time.Minute, 100)
	t0 := time.Unix(1000, 0)
	for i := 0; i < 3; i++ {
		if !l.Allow("ip", t0.Add(time.Duration(i)*time.Second)) {
			t.Fatalf("event %d refused", i)
		}
	}
	if l.Allow("ip", t0.Add(10*time.Second)) {
		t.Fatal("4th event in the window allowed")
	}
	if !l.Allow("other", t0) {
		t.Fatal("keys are not independent")
	}
	if !l.Allow("ip", t0.Add(time.Minute)) {
		t.Fatal("the window did not slide")
	}
	if got := l.Count("ip", t0.Add(time.Minute)); got != 3 {
		t.Fatalf("count %d", got)
	}
}

func TestMemoryBound(t *testing.T) {
	l := New(1, time.Minute, 10)
	t0 := time.Unix(1000, 0)
	for i := 0; i < 10; i++ {
		l.Allow(fmt.Sprint(i), t0)
	}
	if l.Allow("new", t0) {
		t.Fatal("a key past the bound was tracked")
	}
	if !l.Allow("new", t0.Add(2*time.Minute)) {
		t.Fatal("idle keys were not swept")
	}
	if len(l.keys) != 1 {
		t.Fatalf("%d keys kept", len(l.keys))
	}
}
