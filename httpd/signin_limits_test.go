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
	l := newSignInLimits(a.Known)
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
