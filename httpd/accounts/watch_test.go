package accounts

import (
	"context"
	"testing"

	"appliance/store/storetest"
)

// Every write that ends sessions of a user or changes their role tells
// Watch's fn once, with the user's email as stored: what a session keeps
// open (the chat console) is closed by it, and a write that forgot would
// leave it open until its next check. The fn runs after the write: the
// session it ended is gone by then.
func TestWatchToldOfEverySessionEnd(t *testing.T) {
	ctx := context.Background()
	a := New(storetest.Open(t))
	pw := "a long enough passphrase"
	if _, err := a.CreateUser(ctx, "owner@example.com", pw, RoleOwner); err != nil {
		t.Fatal(err)
	}
	if _, err := a.CreateUser(ctx, "ann@example.com", pw, RoleManager); err != nil {
		t.Fatal(err)
	}
	var token string // ann's session, begun before each case
	var told []string
	a.Watch(func(email string) {
		told = append(told, email)
		if _, u, err := a.Session(token); err == nil && u.Role == RoleManager {
			t.Errorf("told of %s while the session and role are as they were", email)
		}
	})
	cases := []struct {
		name string
		do   func() error
	}{
		{"logout", func() error { return a.Logout(ctx, token) }},
		{"sign out everywhere", func() error { return a.EndSessions(ctx, " Ann@Example.com") }},
		{"set password", func() error {
			err := a.SetPassword(ctx, "ann@example.com", "another long passphrase")
			pw = "another long passphrase"
			return err
		}},
		{"change password", func() error {
			_, _, err := a.ChangePassword(ctx, "ann@example.com", pw, "a third long passphrase")
			pw = "a third long passphrase"
			return err
		}},
		{"reset password", func() error {
			link, _, err := a.RequestReset(ctx, "ann@example.com")
			if err != nil {
				return err
			}
			_, _, _, err = a.ResetPassword(ctx, link, "a fourth long passphrase")
			pw = "a fourth long passphrase"
			return err
		}},
		{"role", func() error { _, err := a.SetRole(ctx, "ann@example.com", RoleOperator); return err }},
		{"removal", func() error { _, err := a.RemoveUser(ctx, "ann@example.com"); return err }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var err error
			if token, _, err = a.Login(ctx, "ann@example.com", pw); err != nil {
				t.Fatal(err)
			}
			told = nil
			if err := c.do(); err != nil {
				t.Fatal(err)
			}
			if len(told) != 1 || told[0] != "ann@example.com" {
				t.Fatalf("Watch was told %q, want ann@example.com once", told)
			}
		})
	}
}
