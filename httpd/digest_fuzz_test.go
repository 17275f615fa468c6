package httpd

import (
	"strings"
	"testing"
	"time"

	"appliance/store"
)

// FuzzDigestToken: the unsubscribe token parser takes any string without
// panicking; what it accepts is a token it made (the same kind, site and
// email come back), and no other secret's token and no changed byte of
// one passes.
func FuzzDigestToken(f *testing.F) {
	d := &digests{secret: []byte("0123456789abcdef0123456789abcdef")}
	other := &digests{secret: []byte("another secret, another server.")}
	good := d.token(store.DigestWeekly, 7, "Owner@Example.com")
	f.Add(good)
	f.Add(d.token(store.DigestDaily, 1<<32-1, "a@b"))
	f.Add(other.token(store.DigestWeekly, 7, "owner@example.com"))
	f.Add("")
	f.Add(".")
	f.Add("AA.AA")
	f.Add(good + "x")
	f.Add(strings.Repeat("A", 600) + "." + strings.Repeat("A", 22))
	f.Fuzz(func(t *testing.T, tok string) {
		kind, site, email, err := d.parseToken(tok)
		if err != nil {
			if kind != 0 || site != 0 || email != "" {
				t.Fatalf("%q: refused, yet says %d %d %q", tok, kind, site, email)
			}
			return
		}
		if kind != store.DigestDaily && kind != store.DigestWeekly {
			t.Fatalf("%q: kind %d", tok, kind)
		}
		if again := d.token(kind, site, email); again != tok && email == strings.ToLower(email) {
			// base64 without padding has one encoding; a token that
			// parses is the one the server makes.
			t.Fatalf("%q parses to %d %d %q, whose token is %q", tok, kind, site, email, again)
		}
		if _, _, _, err := other.parseToken(tok); err == nil {
			t.Fatalf("%q passes under another secret", tok)
		}
	})
}

// A token made for one digest comes back as it; a changed one does not.
func TestDigestTokenRoundTrip(t *testing.T) {
	d := &digests{secret: []byte("0123456789abcdef0123456789abcdef")}
	tok := d.token(store.DigestWeekly, 42, "Owner@Example.com")
	kind, site, email, err := d.parseToken(tok)
	if err != nil || kind != store.DigestWeekly || site != 42 || email != "owner@example.com" {
		t.Fatalf("%q: %d %d %q %v", tok, kind, site, email, err)
	}
	b := []byte(tok)
	for i := range b {
		c := b[i]
		b[i] ^= 1
		if _, _, _, err := d.parseToken(string(b)); err == nil {
			t.Errorf("token changed at %d still parses: %s", i, b)
		}
		b[i] = c
	}
}

// digestPeriod: the latest period due, by the site's clock: a day at
// 08:00 the day after, a Monday–Sunday week at 08:00 the Monday after.
func TestDigestPeriod(t *testing.T) {
	msk, err := time.LoadLocation("Europe/Moscow")
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		kind        byte
		now         time.Time
		first, last string
	}{
		{store.DigestDaily, time.Date(2026, 12, 1, 8, 0, 0, 0, msk), "2026-11-30", "2026-11-30"},
		{store.DigestDaily, time.Date(2026, 12, 1, 7, 59, 0, 0, msk), "2026-11-29", "2026-11-29"},
		{store.DigestDaily, time.Date(2026, 12, 1, 5, 30, 0, 0, time.UTC), "2026-11-30", "2026-11-30"}, // 08:30 in Moscow
		{store.DigestWeekly, time.Date(2026, 11, 30, 8, 0, 0, 0, msk), "2026-11-23", "2026-11-29"},
		{store.DigestWeekly, time.Date(2026, 11, 30, 7, 59, 0, 0, msk), "2026-11-16", "2026-11-22"},
		{store.DigestWeekly, time.Date(2026, 12, 6, 23, 59, 0, 0, msk), "2026-11-23", "2026-11-29"},
		{store.DigestWeekly, time.Date(2026, 11, 29, 22, 0, 0, 0, time.UTC), "2026-11-16", "2026-11-22"}, // Monday 01:00 in Moscow
	} {
		first, last := digestPeriod(tt.kind, tt.now, msk)
		if first.String() != tt.first || last.String() != tt.last {
			t.Errorf("kind %d at %s: %s – %s, want %s – %s", tt.kind, tt.now, first, last, tt.first, tt.last)
		}
	}
}
