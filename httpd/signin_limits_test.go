package httpd

import (
	"context"
	"fmt"
	"testing"
	"time"

	"appliance/httpd/accounts"
	"appliance/store/storetest"
)

// A flood of wrong passwords for made-up addresses, as many as the limits
// track, does not stop them counting a real account's: guesses at the
// owner's password from many networks still lock the account for everyone.
// A made-up address is locked the same way, so the lock tells no one
// which addresses have a user.
func TestSignInLimitsOutlastAFloodOfMadeUpAccounts(t *testing.T) {
	ctx := context.Background()
	a := accounts.New(storetest.Open(t))
	if _, err := a.CreateUser(ctx, "owner@example.com", "a long enough secret", accounts.RoleOwner); err != nil {
		t.Fatal(err)
	}
	l := newSignInLimits(a.Known, signInKeys)
	now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	guess := func(account string, n int) {
		t.Helper()
		for i := range n {
			ip := fmt.Sprintf("198.51.%d.%d", i/250, i%250+1)
			if ok, _, why := l.allow(account, ip, now); !ok {
				t.Fatalf("guess %d at %s from %s refused (%d) before the limit", i+1, account, ip, why)
			}
			l.failed(account, ip, now)
		}
	}
	guess("nobody@example.com", failsPerAccount)
	if ok, _, why := l.allow("nobody@example.com", "203.0.113.9", now); ok || why != tooManyForAccount {
		t.Errorf("a made-up address after %d wrong passwords: allowed %v (%d), want locked as an account is", failsPerAccount, ok, why)
	}

	for i := range 20_000 {
		l.failed(fmt.Sprintf("bot%d@example.com", i), fmt.Sprintf("2001:db8:%x::1", i), now)
	}
	guess("owner@example.com", failsPerAccount)
	ok, wait, why := l.allow("owner@example.com", "203.0.113.9", now)
	if ok || why != tooManyForAccount || wait <= 0 {
		t.Errorf("the owner's account after %d wrong passwords from many networks, past a flood of made-up accounts: allowed %v (%d, wait %v), want locked",
			failsPerAccount, ok, why, wait)
	}
}

// A flood of attempts from more networks than the limits track, on
// made-up addresses, neither locks the users out nor unlocks an account:
// a user signing in from a network the limits have not seen is let in
// (a limiter full of keys refused every new one), and the failures of an
// account guessed at before the flood still lock it after (the keys the
// flood pushes out are its own and other made-up ones, never a real
// account's).
func TestSignInLimitsUnderAFloodOfNetworks(t *testing.T) {
	ctx := context.Background()
	a := accounts.New(storetest.Open(t))
	for _, email := range []string{"owner@example.com", "boss@example.com"} {
		if _, err := a.CreateUser(ctx, email, "a long enough secret", accounts.RoleOwner); err != nil {
			t.Fatal(err)
		}
	}
	const keys = 100
	l := newSignInLimits(a.Known, keys)
	now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	for i := range failsPerAccount {
		ip := fmt.Sprintf("2001:db8:0:%x::1", i)
		if ok, _, why := l.allow("owner@example.com", ip, now); !ok {
			t.Fatalf("guess %d refused (%d) before the limit", i+1, why)
		}
		l.failed("owner@example.com", ip, now)
	}
	for i := range 10 * keys { // a /48's networks, each trying made-up addresses
		ip := fmt.Sprintf("2001:db8:1:%x::1", i)
		for j := range 3 {
			account := fmt.Sprintf("bot%d-%d@example.com", i, j)
			if ok, _, _ := l.allow(account, ip, now); ok {
				l.failed(account, ip, now)
			}
		}
	}
	if ok, wait, why := l.allow("boss@example.com", "203.0.113.9", now); !ok {
		t.Errorf("a user from a new network after a flood of %d networks: refused (%d, wait %v)", 10*keys, why, wait)
	}
	if ok, _, why := l.allow("owner@example.com", "203.0.113.10", now); ok || why != tooManyForAccount {
		t.Errorf("the owner's account guessed at %d times before a flood: allowed %v (%d) after it, want still locked", failsPerAccount, ok, why)
	}
	if ok, _, why := l.allow("new-bot@example.com", "2001:db8:2::1", now); !ok {
		t.Errorf("a new made-up address from a new network after the flood: refused (%d)", why)
	}
}

// A flood of reset requests from more networks than the limits track,
// for made-up addresses, neither keeps a user from getting a link nor
// lets more than forgotsPerAccount links an hour reach a user's inbox.
func TestForgotLimitsUnderAFloodOfNetworks(t *testing.T) {
	ctx := context.Background()
	a := accounts.New(storetest.Open(t))
	for _, email := range []string{"owner@example.com", "boss@example.com"} {
		if _, err := a.CreateUser(ctx, email, "a long enough secret", accounts.RoleOwner); err != nil {
			t.Fatal(err)
		}
	}
	const keys = 100
	l := newForgotLimits(a.Known, keys)
	now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	for i := range forgotsPerAccount {
		if !l.send("owner@example.com", now) {
			t.Fatalf("link %d for the owner refused before the limit", i+1)
		}
	}
	for i := range 10 * keys {
		if ip := fmt.Sprintf("2001:db8:1:%x::1", i); !l.ip.Allow(ip, now) {
			t.Fatalf("request from new network %d refused", i)
		}
		l.send(fmt.Sprintf("bot%d@example.com", i), now)
	}
	if !l.ip.Allow("203.0.113.9", now) || !l.send("boss@example.com", now) {
		t.Error("a user's first reset request after a flood of made-up addresses from many networks: refused")
	}
	if l.send("owner@example.com", now) {
		t.Errorf("a link past the %d an hour for the owner sent after a flood of %d made-up addresses", forgotsPerAccount, 10*keys)
	}
}
