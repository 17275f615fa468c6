package accounts

import (
	"context"
	"encoding/binary"
	"errors"
	"strings"
	"testing"
	"time"

	"appliance/httpd/visits"
	"appliance/store"
	"appliance/store/storetest"
)

func TestPasswordHash(t *testing.T) {
	h := HashPassword("a long passphrase")
	if !strings.HasPrefix(h, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Fatalf("hash %q", h)
	}
	if ok, err := CheckPassword(h, "a long passphrase"); !ok || err != nil {
		t.Fatalf("right password: %v %v", ok, err)
	}
	if ok, _ := CheckPassword(h, "a long passphrasE"); ok {
		t.Fatal("wrong password accepted")
	}
	if h == HashPassword("a long passphrase") {
		t.Fatal("no salt")
	}
}

func TestSetupLoginSessionLogout(t *testing.T) {
	ctx := context.Background()
	a := New(storetest.Open(t))
	if has, _ := a.HasUsers(ctx); has {
		t.Fatal("fresh store has users")
	}
	setup, err := a.NewSetupToken(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := a.CompleteSetup(ctx, "wrong", "o@example.com", "long enough pw"); err != ErrSetupUsed {
		t.Fatalf("wrong setup token: %v", err)
	}
	if _, _, err := a.CompleteSetup(ctx, setup, "o@example.com", "short"); err == nil {
		t.Fatal("short password accepted")
	}
	cookie, sess, err := a.CompleteSetup(ctx, setup, "O@Example.com", "long enough pw")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := a.CompleteSetup(ctx, setup, "x@example.com", "long enough pw"); err != ErrSetupDone {
		t.Fatalf("setup token reused: %v", err)
	}
	got, u, err := a.Session(cookie)
	if err != nil || u.Role != RoleOwner || u.Email != "o@example.com" || got.CSRF != sess.CSRF {
		t.Fatalf("session %+v %+v %v", got, u, err)
	}
	if _, _, err := a.Login(ctx, "o@example.com", "wrong password"); err != ErrBadLogin {
		t.Fatalf("wrong password: %v", err)
	}
	if _, _, err := a.Login(ctx, "nobody@example.com", "long enough pw"); err != ErrBadLogin {
		t.Fatalf("unknown user: %v", err)
	}
	if err := a.Logout(ctx, cookie); err != nil {
		t.Fatal(err)
	}
	if _, _, err := a.Session(cookie); err != ErrNoSession {
		t.Fatalf("after logout: %v", err)
	}
	// Sessions expire.
	cookie, _, _ = a.Login(ctx, "o@example.com", "long enough pw")
	a.now = func() time.Time { return time.Now().Add(SessionTTL + time.Minute) }
	if _, _, err := a.Session(cookie); err != ErrNoSession {
		t.Fatalf("expired session: %v", err)
	}
}

func TestTokens(t *testing.T) {
	ctx := context.Background()
	a := New(storetest.Open(t))
	tok, err := a.CreateToken(ctx, "pbx", nil)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := a.CheckToken(tok); err != nil || got.Name != "pbx" {
		t.Fatalf("token: %+v %v", got, err)
	}
	for _, bad := range []string{"", "apl_nope", tok[:len(tok)-1], "Bearer " + tok} {
		if _, err := a.CheckToken(bad); err != ErrNoToken {
			t.Errorf("%q: %v", bad, err)
		}
	}
	// Its name's limit counts characters, as its message says: 64 Russian
	// letters are 128 bytes, and were refused from 33.
	if _, err := a.CreateToken(ctx, strings.Repeat("Ж", 64), nil); err != nil {
		t.Errorf("a 64-letter Russian name: %v", err)
	}
	if _, err := a.CreateToken(ctx, strings.Repeat("Ж", 65), nil); !errors.Is(err, ErrInvalid) {
		t.Errorf("a 65-letter name: %v", err)
	}
}

func FuzzCheckPassword(f *testing.F) {
	f.Add(HashPassword("pw"), "pw")
	f.Add("$argon2id$v=19$m=1,t=1,p=1$$", "")
	f.Add("$bcrypt$", "x")
	f.Fuzz(func(t *testing.T, hash, pw string) {
		if len(hash) > 200 {
			return
		}
		CheckPassword(hash, pw) // never panics; absurd parameters are refused
	})
}

func FuzzNormalizeEmail(f *testing.F) {
	for _, s := range []string{"a@b.c", "A@B.C ", "<a@b.c>", "a", "a@b@c", "\"x y\"@z.com"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		e, err := normalizeEmail(in)
		if err != nil {
			return
		}
		if again, err := normalizeEmail(e); err != nil || again != e {
			t.Fatalf("%q → %q → %q %v", in, e, again, err)
		}
	})
}

// The constant dummy hash has today's parameters, so a login for an
// unknown email costs what a real one does.
func TestDummyHashMatchesParameters(t *testing.T) {
	want := HashPassword("x")
	prefix := want[:strings.LastIndex(want[:strings.LastIndex(want, "$")], "$")]
	if !strings.HasPrefix(dummyHash, prefix+"$") {
		t.Fatalf("dummy hash %q does not use the parameters of %q", dummyHash, prefix)
	}
	if ok, err := CheckPassword(dummyHash, "not a password of anyone"); err != nil || !ok {
		t.Fatalf("dummy hash does not parse: %v %v", ok, err)
	}
}

// A user made by `user add` ends setup: the token is gone and setup cannot
// replace the user.
func TestCreateUserEndsSetup(t *testing.T) {
	ctx := context.Background()
	db := storetest.Open(t)
	a := New(db)
	setup, err := a.NewSetupToken(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.CreateUser(ctx, "o@example.com", "the owner's pw", RoleOwner); err != nil {
		t.Fatal(err)
	}
	if a.CheckSetupToken(ctx, setup) {
		t.Error("setup token valid after a user was made")
	}
	if _, err := db.Get(store.MetaKey("setup")); err != store.ErrNotFound {
		t.Errorf("setup token left in the store: %v", err)
	}
	if _, _, err := a.CompleteSetup(ctx, setup, "o@example.com", "attacker's pw"); err != ErrSetupDone {
		t.Errorf("setup over the owner: %v", err)
	}
	if _, err := a.NewSetupToken(ctx); err != ErrSetupDone {
		t.Errorf("new setup token with a user: %v", err)
	}
	if _, _, err := a.Login(ctx, "o@example.com", "the owner's pw"); err != nil {
		t.Errorf("owner's password changed: %v", err)
	}
}

// Sessions written before epochs existed (version 1 records) stay valid
// until the user's epoch moves.
func TestOldSessionsAndEpochs(t *testing.T) {
	ctx := context.Background()
	db := storetest.Open(t)
	a := New(db)
	u, err := a.CreateUser(ctx, "o@example.com", "the owner's pw", RoleOwner)
	if err != nil {
		t.Fatal(err)
	}
	u.Epoch = 0 // a user from before epochs: its record reads as epoch 0
	if err := db.Set(ctx, store.UserKey(u.Email), u.Encode()); err != nil {
		t.Fatal(err)
	}
	old := []byte{1} // a version 1 login session: email, csrf, expires
	old = append(old, byte(len(u.Email)))
	old = append(old, u.Email...)
	old = append(old, 4, 'c', 's', 'r', 'f')
	old = binary.AppendVarint(old, time.Now().Add(time.Hour).UnixMilli())
	if err := db.Set(ctx, store.AuthKey(hashToken("old-cookie")), old); err != nil {
		t.Fatal(err)
	}
	if s, _, err := a.Session("old-cookie"); err != nil || s.CSRF != "csrf" {
		t.Fatalf("version 1 session: %+v %v", s, err)
	}
	fresh, _, err := a.Login(ctx, "o@example.com", "the owner's pw")
	if err != nil {
		t.Fatal(err)
	}
	if err := a.EndSessions(ctx, "O@example.com"); err != nil {
		t.Fatal(err)
	}
	for _, c := range []string{"old-cookie", fresh} {
		if _, _, err := a.Session(c); err != ErrNoSession {
			t.Errorf("session after EndSessions: %v", err)
		}
	}
	if err := a.EndSessions(ctx, "nobody@example.com"); err != ErrNoUser {
		t.Errorf("EndSessions of nobody: %v", err)
	}
}

// A user's email follows the rule of a visitor's and a lead's
// (visits.NormalizeEmail): the same address is accepted, lower-cased, or
// refused everywhere.
func TestEmailRuleIsTheVisitorsRule(t *testing.T) {
	for _, in := range []string{"Owner@Example.COM ", "a.b+tag@sub.example.com", "иван@пример.рф",
		"a@b", "a@b.", "plain", "Name <a@example.com>", "a@exa\nmple.com", "\"x y\"@z.com", strings.Repeat("a", 250) + "@x.com"} {
		got, err := normalizeEmail(in)
		want, werr := visits.NormalizeEmail(in)
		if got != want || (err == nil) != (werr == nil) {
			t.Errorf("%q: accounts %q %v, visits %q %v", in, got, err, want, werr)
		}
		if err != nil && !errors.Is(err, ErrInvalid) {
			t.Errorf("%q: %v does not wrap ErrInvalid", in, err)
		}
	}
	db := storetest.Open(t)
	if _, err := New(db).CreateUser(context.Background(), "owner@localhost", "a long passphrase", RoleOwner); !errors.Is(err, ErrInvalid) {
		t.Errorf("a user without a dotted domain: %v", err)
	}
}
