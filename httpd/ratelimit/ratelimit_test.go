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

func TestBuckets(t *testing.T) {
	b := NewBuckets(2, 5, 1600)
	t0 := time.Unix(1000, 0)
	for i := 0; i < 5; i++ {
		if !b.Allow("ip", t0) {
			t.Fatalf("event %d of the burst refused", i)
		}
	}
	if b.Allow("ip", t0) {
		t.Fatal("event past the burst allowed")
	}
	if !b.Allow("other", t0) {
		t.Fatal("keys are not independent")
	}
	if !b.Allow("ip", t0.Add(500*time.Millisecond)) || b.Allow("ip", t0.Add(500*time.Millisecond)) {
		t.Fatal("half a second at 2/s should refill exactly one token")
	}
}

func TestBucketsMemoryBound(t *testing.T) {
	b := NewBuckets(1, 1, 16) // one key per shard
	t0 := time.Unix(1000, 0)
	refused := 0
	for i := 0; i < 1000; i++ {
		if !b.Allow(fmt.Sprint("k", i), t0) {
			refused++
		}
	}
	kept := 0
	for i := range b.shards {
		kept += len(b.shards[i].keys)
	}
	if kept > 16 || refused == 0 {
		t.Fatalf("kept %d keys, refused %d new ones", kept, refused)
	}
	// Once the buckets have refilled, new keys take their place.
	if !b.Allow("late", t0.Add(time.Minute)) {
		t.Fatal("idle buckets were not swept")
	}
}

func TestWait(t *testing.T) {
	l := New(2, time.Minute, 2)
	t0 := time.Unix(1000, 0)
	if w := l.Wait("a", t0); w != 0 {
		t.Fatalf("fresh key waits %v", w)
	}
	l.Allow("a", t0)
	l.Allow("a", t0.Add(10*time.Second))
	if w := l.Wait("a", t0.Add(20*time.Second)); w != 40*time.Second {
		t.Errorf("full key waits %v, want 40s (until its oldest event leaves the minute)", w)
	}
	if l.Allow("a", t0.Add(59*time.Second)) || !l.Allow("a", t0.Add(60*time.Second)) {
		t.Error("the wait is not when the key may go again")
	}
	l.Allow("b", t0.Add(60*time.Second))
	if w := l.Wait("c", t0.Add(61*time.Second)); w != time.Minute {
		t.Errorf("a new key in a full limiter waits %v, want the window", w)
	}
}

// Network keys IPv4 clients by their address and IPv6 clients by their
// /64, so that every address of one host counts as one client.
func TestNetwork(t *testing.T) {
	for _, tt := range []struct{ ip, want string }{
		{"192.0.2.7", "192.0.2.7"},
		{"::ffff:192.0.2.7", "::ffff:192.0.2.7"}, // judged as the IPv4 address it is
		{"2001:db8:66:1::1", "2001:db8:66:1::/64"},
		{"2001:db8:66:1:ffff:ffff:ffff:ffff", "2001:db8:66:1::/64"},
		{"fe80::1%eth0", "fe80::/64"},
		{"not an address", "not an address"},
		{"", ""},
	} {
		if got := Network(tt.ip); got != tt.want {
			t.Errorf("Network(%q) = %q, want %q", tt.ip, got, tt.want)
		}
	}
}
