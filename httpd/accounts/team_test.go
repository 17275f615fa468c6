package accounts

import (
	"context"
	"errors"
	"testing"
	"time"

	"appliance/store"
	"appliance/store/storetest"
)

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

// An invite works once, before it expires, for the address and role the
// owner chose; the user it makes is signed in and has a last sign-in.
func TestInviteAcceptOnce(t *testing.T) {
	ctx := context.Background()
	c := &clock{t: time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)}
	a := NewWithClock(storetest.Open(t), c.now)
	if _, err := a.CreateUser(ctx, "owner@example.com", "a long enough secret", RoleOwner); err != nil {
		t.Fatal(err)
	}
	if _, _, err := a.Invite(ctx, "Owner@Example.com", RoleManager, "owner@example.com"); !errors.Is(err, ErrExists) {
		t.Errorf("invite of an existing user: %v", err)
	}
	if _, _, err := a.Invite(ctx, "m@example.com", "boss", "owner@example.com"); !errors.Is(err, ErrInvalid) {
		t.Errorf("invite with an unknown role: %v", err)
	}
	token, inv, err := a.Invite(ctx, "M@Example.com", RoleManager, "owner@example.com")
	if err != nil || inv.Email != "m@example.com" || inv.Role != RoleManager {
		t.Fatalf("invite: %+v %v", inv, err)
	}
	pending, err := a.Invites(ctx)
	if err != nil || len(pending) != 1 || pending[0].Email != "m@example.com" {
		t.Fatalf("pending invites: %+v %v", pending, err)
	}
	if _, _, _, err := a.AcceptInvite(ctx, token, "short"); !errors.Is(err, ErrInvalid) {
		t.Errorf("accept with a short password: %v", err)
	}
	if _, _, _, err := a.AcceptInvite(ctx, token+"x", "a long enough secret"); !errors.Is(err, ErrInviteUsed) {
		t.Errorf("accept with a wrong token: %v", err)
	}
	c.t = c.t.Add(time.Hour)
	cookie, _, u, err := a.AcceptInvite(ctx, token, "a long enough secret")
	if err != nil || u.Email != "m@example.com" || u.Role != RoleManager {
		t.Fatalf("accept: %+v %v", u, err)
	}
	if _, su, err := a.Session(cookie); err != nil || su.Email != "m@example.com" || su.LastLogin != c.t.UnixMilli() {
		t.Errorf("the new user's session: %+v %v", su, err)
	}
	if _, _, _, err := a.AcceptInvite(ctx, token, "another long secret"); !errors.Is(err, ErrInviteUsed) {
		t.Errorf("second use of the invite: %v", err)
	}
	if pending, _ := a.Invites(ctx); len(pending) != 0 {
		t.Errorf("invites after use: %+v", pending)
	}

	late, _, err := a.Invite(ctx, "o@example.com", RoleOperator, "owner@example.com")
	if err != nil {
		t.Fatal(err)
	}
	c.t = c.t.Add(InviteTTL + time.Second)
	if _, err := a.CheckInvite(late); !errors.Is(err, ErrInviteUsed) {
		t.Errorf("expired invite checks: %v", err)
	}
	if _, _, _, err := a.AcceptInvite(ctx, late, "a long enough secret"); !errors.Is(err, ErrInviteUsed) {
		t.Errorf("expired invite accepted: %v", err)
	}
	if _, err := a.User("o@example.com"); !errors.Is(err, ErrNoUser) {
		t.Errorf("an expired invite made a user")
	}

	cancel, _, err := a.Invite(ctx, "x@example.com", RoleOperator, "owner@example.com")
	if err != nil {
		t.Fatal(err)
	}
	pending, _ = a.Invites(ctx)
	if len(pending) != 1 {
		t.Fatalf("pending: %+v", pending)
	}
	if err := a.CancelInvite(ctx, pending[0].ID); err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := a.AcceptInvite(ctx, cancel, "a long enough secret"); !errors.Is(err, ErrInviteUsed) {
		t.Errorf("cancelled invite accepted: %v", err)
	}
}

// Removing a user ends their sessions at once, also for a user made again
// with the same address; the last owner can be neither removed nor demoted.
func TestRemoveUserAndRoles(t *testing.T) {
	ctx := context.Background()
	a := New(storetest.Open(t))
	for _, u := range []struct{ email, role string }{{"owner@example.com", RoleOwner}, {"m@example.com", RoleManager}} {
		if _, err := a.CreateUser(ctx, u.email, "a long enough secret", u.role); err != nil {
			t.Fatal(err)
		}
	}
	cookie, _, err := a.Login(ctx, "m@example.com", "a long enough secret")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.SetRole(ctx, "owner@example.com", RoleManager); !errors.Is(err, ErrLastOwner) {
		t.Errorf("demote the last owner: %v", err)
	}
	if _, err := a.RemoveUser(ctx, "owner@example.com"); !errors.Is(err, ErrLastOwner) {
		t.Errorf("remove the last owner: %v", err)
	}
	if u, err := a.SetRole(ctx, "m@example.com", RoleOperator); err != nil || u.Role != RoleOperator {
		t.Errorf("set role: %+v %v", u, err)
	}
	if _, u, err := a.Session(cookie); err != nil || u.Role != RoleOperator {
		t.Errorf("session after the role change: %+v %v", u, err)
	}
	if _, err := a.RemoveUser(ctx, "m@example.com"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := a.Session(cookie); !errors.Is(err, ErrNoSession) {
		t.Errorf("the removed user's session: %v", err)
	}
	if _, err := a.CreateUser(ctx, "m@example.com", "a long enough secret", RoleOwner); err != nil {
		t.Fatal(err)
	}
	if _, _, err := a.Session(cookie); !errors.Is(err, ErrNoSession) {
		t.Errorf("a session of the removed user lives on in the user made again: %v", err)
	}
	if _, err := a.RemoveUser(ctx, "nobody@example.com"); !errors.Is(err, ErrNoUser) {
		t.Errorf("remove nobody: %v", err)
	}
	users, err := a.Users(ctx)
	if err != nil || len(users) != 2 {
		t.Errorf("users: %+v %v", users, err)
	}
}

// A token made to act as a user ends with the user, as their sessions do:
// removed, the user cannot keep using the API with it, and a user made
// later with the same address does not inherit it. Other tokens live on.
func TestRemoveUserRevokesTheirTokens(t *testing.T) {
	ctx := context.Background()
	a := New(storetest.Open(t))
	for _, u := range []struct{ email, role string }{{"owner@example.com", RoleOwner}, {"op@example.com", RoleOperator}} {
		if _, err := a.CreateUser(ctx, u.email, "a long enough secret", u.role); err != nil {
			t.Fatal(err)
		}
	}
	theirs, err := a.CreateUserToken(ctx, "crm", nil, "Op@Example.com")
	if err != nil {
		t.Fatal(err)
	}
	ownerBot, err := a.CreateUserToken(ctx, "bot", nil, "owner@example.com")
	if err != nil {
		t.Fatal(err)
	}
	pbx, err := a.CreateToken(ctx, "pbx", nil)
	if err != nil {
		t.Fatal(err)
	}
	if tok, err := a.UseToken(ctx, theirs); err != nil || tok.User != "op@example.com" {
		t.Fatalf("the user's token before: %+v %v", tok, err)
	}
	if _, err := a.RemoveUser(ctx, "op@example.com"); err != nil {
		t.Fatal(err)
	}
	if _, err := a.UseToken(ctx, theirs); !errors.Is(err, ErrNoToken) {
		t.Errorf("the removed user's token still works: %v", err)
	}
	if _, err := a.CreateUser(ctx, "op@example.com", "a long enough secret", RoleOperator); err != nil {
		t.Fatal(err)
	}
	if _, err := a.UseToken(ctx, theirs); !errors.Is(err, ErrNoToken) {
		t.Errorf("the removed user's token passed to the user made again: %v", err)
	}
	for name, tok := range map[string]string{"another user's": ownerBot, "a token of no user": pbx} {
		if _, err := a.UseToken(ctx, tok); err != nil {
			t.Errorf("%s token ended with the removed user: %v", name, err)
		}
	}
	if list, err := a.Tokens(ctx); err != nil || len(list) != 2 {
		t.Errorf("tokens after the removal: %+v %v", list, err)
	}
	if _, err := a.CreateUserToken(ctx, "crm", nil, "nobody@example.com"); !errors.Is(err, ErrNoUser) {
		t.Errorf("a token for no user: %v", err)
	}
}

// Only owners invite, and an invite outlives no authority: removing an
// owner, or making them a manager, ends the invites they made (an owner
// invite among them would let the removed owner back in); removing a user
// ends any invite still pending for their address. Other invites live on.
func TestInvitesEndWithTheirOwner(t *testing.T) {
	ctx := context.Background()
	a := New(storetest.Open(t))
	for _, email := range []string{"ann@example.com", "bob@example.com", "cat@example.com"} {
		if _, err := a.CreateUser(ctx, email, "a long enough secret", RoleOwner); err != nil {
			t.Fatal(err)
		}
	}
	invite := func(email, role, by string) string {
		t.Helper()
		token, _, err := a.Invite(ctx, email, role, by)
		if err != nil {
			t.Fatal(err)
		}
		return token
	}
	byBob := invite("bob-again@example.com", RoleOwner, "bob@example.com")
	byCat := invite("friend@example.com", RoleManager, "cat@example.com")
	forDan := invite("dan@example.com", RoleOperator, "ann@example.com")
	kept := invite("eve@example.com", RoleOperator, "ann@example.com")
	if _, err := a.CreateUser(ctx, "dan@example.com", "a long enough secret", RoleOperator); err != nil { // made from the shell meanwhile
		t.Fatal(err)
	}

	if _, err := a.RemoveUser(ctx, "bob@example.com"); err != nil {
		t.Fatal(err)
	}
	if _, err := a.SetRole(ctx, "cat@example.com", RoleManager); err != nil {
		t.Fatal(err)
	}
	if _, err := a.RemoveUser(ctx, "dan@example.com"); err != nil {
		t.Fatal(err)
	}
	for name, token := range map[string]string{"the removed owner's": byBob, "the demoted owner's": byCat, "the removed user's own": forDan} {
		if _, _, _, err := a.AcceptInvite(ctx, token, "another long secret"); !errors.Is(err, ErrInviteUsed) {
			t.Errorf("%s invite: %v, want it ended", name, err)
		}
	}
	pending, err := a.Invites(ctx)
	if err != nil || len(pending) != 1 || pending[0].Email != "eve@example.com" {
		t.Errorf("pending invites: %+v %v, want only eve's", pending, err)
	}
	if _, _, u, err := a.AcceptInvite(ctx, kept, "another long secret"); err != nil || u.Email != "eve@example.com" {
		t.Errorf("an invite of an owner who stays: %+v %v", u, err)
	}
}

// A token's last use is written at most once a minute; a revoked token is
// refused at once.
func TestTokenLastUsedAndRevoke(t *testing.T) {
	ctx := context.Background()
	c := &clock{t: time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)}
	a := NewWithClock(storetest.Open(t), c.now)
	tok, err := a.CreateToken(ctx, "pbx", []uint32{2})
	if err != nil {
		t.Fatal(err)
	}
	list, err := a.Tokens(ctx)
	if err != nil || len(list) != 1 || list[0].Name != "pbx" || list[0].LastUsed != 0 || len(list[0].Sites) != 1 {
		t.Fatalf("tokens: %+v %v", list, err)
	}
	first := c.t
	if _, err := a.UseToken(ctx, tok); err != nil {
		t.Fatal(err)
	}
	c.t = c.t.Add(30 * time.Second)
	a.UseToken(ctx, tok)
	if list, _ := a.Tokens(ctx); list[0].LastUsed != first.UnixMilli() {
		t.Errorf("last used %d, want the first use %d (one write a minute)", list[0].LastUsed, first.UnixMilli())
	}
	c.t = c.t.Add(31 * time.Second)
	a.UseToken(ctx, tok)
	if list, _ := a.Tokens(ctx); list[0].LastUsed != c.t.UnixMilli() {
		t.Errorf("last used %d, want %d after a minute", list[0].LastUsed, c.t.UnixMilli())
	}
	if _, err := a.RevokeToken(ctx, "nothex"); !errors.Is(err, ErrNoTokenID) {
		t.Errorf("revoke a bad id: %v", err)
	}
	if got, err := a.RevokeToken(ctx, list[0].ID); err != nil || got.Name != "pbx" {
		t.Fatalf("revoke: %+v %v", got, err)
	}
	if _, err := a.UseToken(ctx, tok); !errors.Is(err, ErrNoToken) {
		t.Errorf("revoked token: %v", err)
	}
	if list, _ := a.Tokens(ctx); len(list) != 0 {
		t.Errorf("tokens after revoke: %+v", list)
	}
}

// A removed user's report digests end with them: a user made later with
// the address does not get what the removed one subscribed to. Another
// user's subscriptions to the same site stay.
func TestRemoveUserEndsTheirDigests(t *testing.T) {
	ctx := context.Background()
	db := storetest.Open(t)
	a := New(db)
	for _, email := range []string{"owner@example.com", "m@example.com"} {
		if _, err := a.CreateUser(ctx, email, "a long enough secret", RoleOwner); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.Update(ctx, func(tx *store.Tx) error {
		for _, email := range []string{"owner@example.com", "m@example.com"} {
			tx.Set(store.DigestSubKey(7, email), []byte{store.DigestWeekly})
			tx.Set(store.DigestSentKey(store.DigestWeekly, 7, email), []byte{0, 0, 80, 0})
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.RemoveUser(ctx, "m@example.com"); err != nil {
		t.Fatal(err)
	}
	for key, want := range map[string]bool{
		string(store.DigestSubKey(7, "m@example.com")):                          false,
		string(store.DigestSentKey(store.DigestWeekly, 7, "m@example.com")):     false,
		string(store.DigestSubKey(7, "owner@example.com")):                      true,
		string(store.DigestSentKey(store.DigestWeekly, 7, "owner@example.com")): true,
	} {
		if _, err := db.Get([]byte(key)); (err == nil) != want {
			t.Errorf("%q kept %v after the removal, want %v (%v)", key, err == nil, want, err)
		}
	}
}

// What a crash between the two writes of an older RemoveUser left behind
// (the user's record deleted, their sessions and tokens not yet) gives no
// access: the tokens end with their user, and neither they nor the
// sessions pass to a user made later at the same address.
func TestRemovedUsersLeftoversAreDead(t *testing.T) {
	ctx := context.Background()
	db := storetest.Open(t)
	a := New(db)
	clock := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	a.now = func() time.Time { clock = clock.Add(time.Second); return clock }
	for _, u := range []struct{ email, role string }{{"owner@example.com", RoleOwner}, {"op@example.com", RoleOperator}} {
		if _, err := a.CreateUser(ctx, u.email, "a long enough secret", u.role); err != nil {
			t.Fatal(err)
		}
	}
	token, err := a.CreateUserToken(ctx, "crm", nil, "op@example.com")
	if err != nil {
		t.Fatal(err)
	}
	cookie, _, err := a.Login(ctx, "op@example.com", "a long enough secret")
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Delete(ctx, store.UserKey("op@example.com")); err != nil { // the crash's leftovers
		t.Fatal(err)
	}
	if _, err := a.UseToken(ctx, token); !errors.Is(err, ErrNoToken) {
		t.Errorf("a removed user's token left behind works: %v", err)
	}
	if _, err := a.CreateUser(ctx, "op@example.com", "another long secret", RoleOperator); err != nil {
		t.Fatal(err)
	}
	if _, err := a.UseToken(ctx, token); !errors.Is(err, ErrNoToken) {
		t.Errorf("a removed user's token left behind passed to the user made again: %v", err)
	}
	if _, _, err := a.Session(cookie); !errors.Is(err, ErrNoSession) {
		t.Errorf("a removed user's session left behind passed to the user made again: %v", err)
	}
	// The new user's own token and session work.
	mine, err := a.CreateUserToken(ctx, "crm", nil, "op@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if tok, err := a.UseToken(ctx, mine); err != nil || tok.User != "op@example.com" {
		t.Errorf("the new user's token: %+v %v", tok, err)
	}
	fresh, _, err := a.Login(ctx, "op@example.com", "another long secret")
	if err != nil {
		t.Fatal(err)
	}
	if _, u, err := a.Session(fresh); err != nil || u.Email != "op@example.com" {
		t.Errorf("the new user's session: %+v %v", u, err)
	}
}

// The first user is the owner: OwnerFirst, which the admin socket asks
// before it adds or invites a user, refuses a manager or operator while no
// owner exists (ErrNoOwner), so the setup link, which lives while no user
// exists, is not lost to an appliance with no owner; once an owner
// exists, every role passes.
func TestFirstUserIsTheOwner(t *testing.T) {
	ctx := context.Background()
	a := New(storetest.Open(t))
	for _, role := range []string{RoleManager, RoleOperator} {
		if err := a.OwnerFirst(ctx, role); !errors.Is(err, ErrNoOwner) {
			t.Errorf("a first %s: %v, want ErrNoOwner", role, err)
		}
	}
	if err := a.OwnerFirst(ctx, RoleOwner); err != nil {
		t.Errorf("a first owner: %v", err)
	}
	// An unknown role is refused by CreateUser and Invite in their words.
	if err := a.OwnerFirst(ctx, "admin"); err != nil {
		t.Errorf("an unknown role: %v, want it left to CreateUser and Invite", err)
	}
	if _, err := a.CreateUser(ctx, "owner@example.com", "a long enough secret", RoleOwner); err != nil {
		t.Fatal(err)
	}
	if has, err := a.HasOwner(ctx); err != nil || !has {
		t.Errorf("HasOwner with an owner: %v %v", has, err)
	}
	for _, role := range []string{RoleManager, RoleOperator, RoleOwner} {
		if err := a.OwnerFirst(ctx, role); err != nil {
			t.Errorf("a %s once an owner exists: %v", role, err)
		}
	}
}
