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

// A limiter full of keys forgets the key seen least recently to track a
// new one: a flood of keys (an IPv6 /48 is 65,536 networks) never gets a
// new visitor refused, and memory stays bounded. Idle keys are forgotten
// once their window has passed.
func TestMemoryBound(t *testing.T) {
	l := New(2, time.Minute, 10)
	t0 := time.Unix(1000, 0)
	for i := 0; i < 1000; i++ {
		if !l.Allow(fmt.Sprint("flood", i), t0) {
			t.Fatalf("flood key %d refused: a full limiter refuses new keys", i)
		}
	}
	if !l.Allow("visitor", t0) {
		t.Fatal("a new visitor refused after a flood of keys")
	}
	if n := l.keys.len(); n != 10 {
		t.Fatalf("%d keys kept, want the bound, 10", n)
	}
	if l.Count("flood999", t0) != 1 || l.Count("flood989", t0) != 0 {
		t.Error("the keys kept are not the ones seen last")
	}
	// 1,001 keys came, 10 are kept: each of the others was pushed out.
	if got := l.Evicted(); got != 991 {
		t.Errorf("%d keys counted pushed out, want 991", got)
	}
	if !l.Allow("new", t0.Add(2*time.Minute)) {
		t.Fatal("a new key refused once the window passed")
	}
	if n := l.keys.len(); n != 1 {
		t.Fatalf("%d keys kept, want the idle ones forgotten", n)
	}
	if got := l.Evicted(); got != 991 {
		t.Errorf("%d keys counted pushed out after the window forgot the idle ones, want still 991: they left idle", got)
	}
}

// What a flood gains: a key at its limit is held there while fewer than
// MaxKeys other keys come after it; pushing it out takes as many keys as
// the limiter holds, each with a whole limit of its own anyway.
func TestFloodHoldsKeysAtTheirLimit(t *testing.T) {
	l := New(2, time.Minute, 100)
	t0 := time.Unix(1000, 0)
	l.Allow("abuser", t0)
	l.Allow("abuser", t0)
	for i := 0; i < 98; i++ {
		l.Allow(fmt.Sprint("flood", i), t0)
		if i%10 == 0 && l.Allow("abuser", t0) { // refused, and seen
			t.Fatalf("the abuser allowed a 3rd event after %d keys", i+1)
		}
	}
	if l.Allow("abuser", t0) {
		t.Fatal("the abuser allowed a 3rd event with the limiter full")
	}
	if got := l.Wait("abuser", t0); got != time.Minute {
		t.Errorf("the abuser waits %v, want a minute", got)
	}
}

// Without a bound (keys the caller bounds: accounts that exist) no key is
// ever forgotten within its window, however many there are.
func TestUnbounded(t *testing.T) {
	l := New(3, time.Minute, 0)
	t0 := time.Unix(1000, 0)
	l.Allow("owner@example.com", t0)
	for i := 0; i < 10_000; i++ {
		l.Allow(fmt.Sprint("user", i, "@example.com"), t0)
	}
	if got := l.Count("owner@example.com", t0); got != 1 {
		t.Fatalf("the first key's count is %d after 10,000 others, want 1", got)
	}
	if got := l.Evicted(); got != 0 {
		t.Errorf("an unbounded limiter counts %d keys pushed out", got)
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

// A full shard forgets the bucket seen least recently for a new key: a
// flood of keys never gets a new one refused, and memory stays bounded.
func TestBucketsMemoryBound(t *testing.T) {
	b := NewBuckets(1, 1, 16) // one key per shard
	t0 := time.Unix(1000, 0)
	for i := 0; i < 1000; i++ {
		if !b.Allow(fmt.Sprint("k", i), t0) {
			t.Fatalf("flood key %d refused: a full limiter refuses new keys", i)
		}
	}
	if !b.Allow("late", t0) {
		t.Fatal("a new key refused after a flood of keys")
	}
	kept := 0
	for i := range b.shards {
		kept += b.shards[i].keys.len()
	}
	if kept > 16 {
		t.Fatalf("kept %d keys, want at most 16", kept)
	}
	if got, want := b.Evicted(), uint64(1001-kept); got != want {
		t.Errorf("%d keys counted pushed out, want %d (1,001 came, %d kept)", got, want, kept)
	}
}

// A key kept being seen is not pushed out by fewer keys than its shard
// holds, so it stays held to its bucket.
func TestBucketsFloodHoldsKeys(t *testing.T) {
	b := NewBuckets(1, 2, 16*50)
	t0 := time.Unix(1000, 0)
	b.Allow("abuser", t0)
	b.Allow("abuser", t0)
	for i := 0; i < 40; i++ { // at most 40 of a shard's 50
		b.Allow(fmt.Sprint("k", i), t0)
		if b.Allow("abuser", t0) {
			t.Fatalf("the abuser got a 3rd token after %d keys", i+1)
		}
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
	if w := l.Wait("c", t0.Add(61*time.Second)); w != 0 {
		t.Errorf("a new key in a full limiter waits %v, want none", w)
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

// BenchmarkBucketsAllow is the tracker's per-IP check of every request:
// a key seen before among 10,000, and new keys past the bound (a flood).
func BenchmarkBucketsAllow(b *testing.B) {
	keys := make([]string, 10_000)
	for i := range keys {
		keys[i] = fmt.Sprint("2001:db8:", i, "::/64")
	}
	t0 := time.Unix(1000, 0)
	b.Run("seen", func(b *testing.B) {
		bk := NewBuckets(1e9, 1e9, 200_000)
		for _, k := range keys {
			bk.Allow(k, t0)
		}
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			bk.Allow(keys[i%len(keys)], t0)
		}
	})
	b.Run("flood", func(b *testing.B) {
		bk := NewBuckets(1e9, 1e9, 1600)
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			bk.Allow(keys[i%len(keys)], t0)
		}
	})
}
