package accounts

import (
	"context"
	"errors"
	"testing"
	"time"

	"appliance/store/storetest"
)

// A reset link sets the password once, within the hour, and only while it
// is the user's newest and nothing ended their sessions since; a removed
// user's link is dead, also for a user made again at the address.
func TestPasswordReset(t *testing.T) {
	ctx := context.Background()
	c := &clock{t: time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)}
	a := NewWithClock(storetest.Open(t), c.now)
	if _, err := a.CreateUser(ctx, "owner@example.com", "the owner's passphrase", RoleOwner); err != nil {
		t.Fatal(err)
	}
	if _, err := a.CreateUser(ctx, "ann@example.com", "the old passphrase", RoleManager); err != nil {
		t.Fatal(err)
	}
	if _, _, err := a.RequestReset(ctx, "nobody@example.com"); !errors.Is(err, ErrNoUser) {
		t.Errorf("reset of no user: %v", err)
	}
	old, _, err := a.Login(ctx, "ann@example.com", "the old passphrase")
	if err != nil {
		t.Fatal(err)
	}
	first, u, err := a.RequestReset(ctx, " Ann@Example.com ")
	if err != nil || u.Email != "ann@example.com" {
		t.Fatalf("reset: %+v %v", u, err)
	}
	second, _, err := a.RequestReset(ctx, "ann@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.CheckReset(first); !errors.Is(err, ErrResetUsed) {
		t.Errorf("the older link once a newer is sent: %v", err)
	}
	if _, _, _, err := a.ResetPassword(ctx, second, "short"); !errors.Is(err, ErrInvalid) {
		t.Errorf("a short password: %v", err)
	}
	c.t = c.t.Add(ResetTTL - time.Minute)
	cookie, _, u, err := a.ResetPassword(ctx, second, "the new passphrase")
	if err != nil || u.Email != "ann@example.com" {
		t.Fatalf("reset password: %+v %v", u, err)
	}
	if _, _, err := a.Session(old); !errors.Is(err, ErrNoSession) {
		t.Errorf("the session from before the reset: %v", err)
	}
	if _, _, err := a.Session(cookie); err != nil {
		t.Errorf("the session the reset started: %v", err)
	}
	if _, _, err := a.Login(ctx, "ann@example.com", "the new passphrase"); err != nil {
		t.Errorf("sign in with the new password: %v", err)
	}
	if _, _, _, err := a.ResetPassword(ctx, second, "a third passphrase"); !errors.Is(err, ErrResetUsed) {
		t.Errorf("the link used twice: %v", err)
	}

	// Expiry.
	late, _, _ := a.RequestReset(ctx, "ann@example.com")
	c.t = c.t.Add(ResetTTL + time.Millisecond)
	if _, _, _, err := a.ResetPassword(ctx, late, "a third passphrase"); !errors.Is(err, ErrResetUsed) {
		t.Errorf("an expired link: %v", err)
	}

	// A new password set another way outdates the link.
	other, _, _ := a.RequestReset(ctx, "ann@example.com")
	if err := a.SetPassword(ctx, "ann@example.com", "set by the admin"); err != nil {
		t.Fatal(err)
	}
	if _, err := a.CheckReset(other); !errors.Is(err, ErrResetUsed) {
		t.Errorf("a link from before a password change: %v", err)
	}

	// A removed user's link is dead, also once the address is a user again.
	gone, _, _ := a.RequestReset(ctx, "ann@example.com")
	if _, err := a.RemoveUser(ctx, "ann@example.com"); err != nil {
		t.Fatal(err)
	}
	if _, err := a.CreateUser(ctx, "ann@example.com", "a fresh passphrase", RoleOperator); err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := a.ResetPassword(ctx, gone, "the taker's passphrase"); !errors.Is(err, ErrResetUsed) {
		t.Errorf("a removed user's link: %v", err)
	}
}

// FuzzCheckReset: whatever a link carries, checking it neither panics nor
// opens an account.
func FuzzCheckReset(f *testing.F) {
	ctx := context.Background()
	a := New(storetest.Open(f))
	if _, err := a.CreateUser(ctx, "owner@example.com", "the owner's passphrase", RoleOwner); err != nil {
		f.Fatal(err)
	}
	if _, err := a.CreateUser(ctx, "ann@example.com", "the old passphrase", RoleManager); err != nil {
		f.Fatal(err)
	}
	token, _, err := a.RequestReset(ctx, "ann@example.com")
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range []string{"", token[:len(token)-1], token + "=", "ann@example.com", "\x00", string(make([]byte, 101))} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if _, err := a.CheckReset(s); s != token && err == nil {
			t.Fatalf("CheckReset(%q) opened an account", s)
		}
	})
}
