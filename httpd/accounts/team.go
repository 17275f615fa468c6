package accounts

import (
	"cmp"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"appliance/internal/usererr"
	"appliance/store"
)

// Errors of the team: users, invites, tokens.
var (
	ErrLastOwner = usererr.New("accounts", 409, "the appliance needs an owner: make another user owner first")
	// ErrNoOwner refuses a first user (or invite) who is not an owner: the
	// setup link makes the owner only while no user exists, so a manager
	// or operator made first would leave the appliance with no owner and
	// no setup link.
	ErrNoOwner    = usererr.New("accounts", 409, "the appliance has no owner yet: make the owner first (the setup link serve prints, or appliance user add EMAIL --role owner)")
	ErrInviteUsed = usererr.New("accounts", 404, "this invite link is invalid, expired or already used; ask the owner for a new one")
	ErrNoTokenID  = usererr.New("accounts", 404, "no such API token")
)

// InviteTTL is how long an invite link works.
const InviteTTL = 7 * 24 * time.Hour

// Users returns every user, by email.
func (a *Accounts) Users(ctx context.Context) ([]store.User, error) {
	var out []store.User
	var derr error
	err := a.db.ScanPrefix(ctx, store.UserPrefix(), false, 0, func(_, v []byte) bool {
		u, err := store.DecodeUser(v)
		if err != nil {
			derr = err
			return false
		}
		out = append(out, u)
		return true
	})
	if err == nil {
		err = derr
	}
	if err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	return out, nil
}

// otherOwner reports whether a user other than but is an owner. (Read
// before the change it guards, not in its write: two owners demoting each
// other in the same instant could both pass; the admin socket, which acts
// as the owner, still manages the appliance then.)
func (a *Accounts) otherOwner(ctx context.Context, but string) (bool, error) {
	users, err := a.Users(ctx)
	if err != nil {
		return false, err
	}
	return slices.ContainsFunc(users, func(u store.User) bool { return u.Role == RoleOwner && u.Email != but }), nil
}

// OwnerFirst refuses a user or invite of role, other than owner, while
// the appliance has no owner (ErrNoOwner). The admin socket asks it
// before it adds or invites a user: the dashboard's users are made by a
// signed-in manager or owner, and an owner is never removed or demoted
// last, so only the command line could make the first user another
// role. (Read before the write it guards, as otherOwner is.)
func (a *Accounts) OwnerFirst(ctx context.Context, role string) error {
	if role == RoleOwner || !ValidRole(role) {
		return nil // an unknown role is refused in its own words (CreateUser, Invite)
	}
	if ok, err := a.HasOwner(ctx); err != nil || ok {
		return err
	}
	return ErrNoOwner
}

// HasOwner reports whether a user is an owner.
func (a *Accounts) HasOwner(ctx context.Context) (bool, error) { return a.otherOwner(ctx, "") }

// SetRole gives the user a role. The last owner keeps theirs
// (ErrLastOwner): an appliance without an owner could not be managed.
func (a *Accounts) SetRole(ctx context.Context, email, role string) (store.User, error) {
	if !ValidRole(role) {
		return store.User{}, ErrInvalid.Errorf("unknown role %q: give owner, manager or operator", role)
	}
	email, err := normalizeEmail(email)
	if err != nil {
		return store.User{}, err
	}
	if role != RoleOwner {
		if ok, err := a.otherOwner(ctx, email); err != nil {
			return store.User{}, err
		} else if !ok {
			if u, err := a.User(email); err != nil {
				return store.User{}, err
			} else if u.Role == RoleOwner {
				return store.User{}, ErrLastOwner
			}
		}
	}
	u, err := a.updateUser(ctx, email, func(u *store.User) error { u.Role = role; return nil })
	if err != nil {
		return u, err
	}
	a.changed(email)
	if role == RoleOwner {
		return u, nil
	}
	// Only owners invite: the pending invites of one who no longer is
	// one go, rather than let them make users, owners too, in their name.
	if err := a.dropInvites(ctx, func(inv store.Invite) bool { return inv.By == email }); err != nil {
		return u, fmt.Errorf("set role of %q: %w", email, err)
	}
	return u, nil
}

// dropInvites deletes the pending invites that match.
func (a *Accounts) dropInvites(ctx context.Context, match func(store.Invite) bool) error {
	var drop [][]byte
	if err := a.db.ScanPrefix(ctx, store.InvitePrefix(), false, 0, func(k, v []byte) bool {
		if inv, err := store.DecodeInvite(v); err == nil && match(inv) {
			drop = append(drop, slices.Clone(k))
		}
		return true
	}); err != nil {
		return fmt.Errorf("invites: %w", err)
	}
	if len(drop) == 0 {
		return nil
	}
	return a.db.Update(ctx, func(tx *store.Tx) error {
		for _, k := range drop {
			tx.Delete(k)
		}
		return nil
	})
}

// RemoveUser deletes the user; every session of theirs ends at once (a
// session needs its user) and is deleted, and so is every API token made
// to act as them (token add --user), so that neither outlives them nor
// passes to a user made later with the same address, nor do their report
// digests. The invites they
// made, and any still pending for their address, are deleted too: none
// brings them, or anyone in their name, back. The last owner cannot be
// removed (ErrLastOwner).
func (a *Accounts) RemoveUser(ctx context.Context, email string) (store.User, error) {
	email, err := normalizeEmail(email)
	if err != nil {
		return store.User{}, err
	}
	u, err := a.User(email)
	if err != nil {
		return store.User{}, err
	}
	if u.Role == RoleOwner {
		if ok, err := a.otherOwner(ctx, email); err != nil {
			return store.User{}, err
		} else if !ok {
			return store.User{}, ErrLastOwner
		}
	}
	// The user goes in one write with their sessions, tokens and digest
	// subscriptions, so a crash never leaves a removed user's token or
	// session behind for a later account at the address to inherit.
	ended, err := a.userKeys(ctx, email)
	if err != nil {
		return u, fmt.Errorf("remove user %q: %w", email, err)
	}
	if err := a.db.Update(ctx, func(tx *store.Tx) error {
		if _, err := tx.Get(store.UserKey(email)); errors.Is(err, store.ErrNotFound) {
			return ErrNoUser
		} else if err != nil {
			return err
		}
		tx.Delete(store.UserKey(email))
		for _, k := range ended {
			tx.Delete(k)
		}
		return nil
	}); err != nil {
		return store.User{}, fmt.Errorf("remove user %q: %w", email, err)
	}
	a.changed(email)
	// Scanned again after the delete: a session begins, and a user's token
	// is made, in the writer only while its user exists, so one begun
	// while the first scan ran is written by now.
	if late, err := a.userKeys(ctx, email); err != nil {
		return u, fmt.Errorf("remove user %q: %w", email, err)
	} else if len(late) > 0 {
		if err := a.db.Update(ctx, func(tx *store.Tx) error {
			for _, k := range late {
				tx.Delete(k)
			}
			return nil
		}); err != nil {
			return u, fmt.Errorf("remove user %q: sessions, tokens and digests: %w", email, err)
		}
	}
	if err := a.dropInvites(ctx, func(inv store.Invite) bool { return inv.By == email || inv.Email == email }); err != nil {
		return u, fmt.Errorf("remove user %q: %w", email, err)
	}
	// A pending password reset is dead already (it names the removed
	// user's creation time); it goes too.
	if err := a.dropResets(ctx, func(r store.PasswordReset) bool { return r.Email == email }); err != nil {
		return u, fmt.Errorf("remove user %q: %w", email, err)
	}
	return u, nil
}

// userKeys are the keys of email's sessions, tokens and report digest
// subscriptions (and their sent marks); the tokens' last-use notes are
// forgotten.
func (a *Accounts) userKeys(ctx context.Context, email string) ([][]byte, error) {
	var keys [][]byte
	if err := a.db.ScanPrefix(ctx, store.AuthPrefix(), false, 0, func(k, v []byte) bool {
		if s, err := store.DecodeLoginSession(v); err == nil && s.Email == email {
			keys = append(keys, slices.Clone(k))
		}
		return true
	}); err != nil {
		return nil, fmt.Errorf("sessions: %w", err)
	}
	if err := a.db.ScanPrefix(ctx, store.TokenPrefix(), false, 0, func(k, v []byte) bool {
		if t, err := store.DecodeToken(v); err == nil && t.User == email {
			keys = append(keys, slices.Clone(k))
			a.used.forget(string(k[1:]))
		}
		return true
	}); err != nil {
		return nil, fmt.Errorf("tokens: %w", err)
	}
	// Their report digests: a user made later with the address subscribes
	// for themselves. Keys end with the email, after the site (and kind).
	for _, p := range []struct {
		prefix []byte
		head   int
	}{{store.DigestSubPrefix(), 5}, {store.DigestSentPrefix(), 6}} {
		if err := a.db.ScanPrefix(ctx, p.prefix, false, 0, func(k, _ []byte) bool {
			if len(k) > p.head && string(k[p.head:]) == email {
				keys = append(keys, slices.Clone(k))
			}
			return true
		}); err != nil {
			return nil, fmt.Errorf("digests: %w", err)
		}
	}
	return keys, nil
}

// PendingInvite is an invite not yet taken up, with the id that cancels it
// (the hex of its token's hash: it names the invite, it does not open it).
type PendingInvite struct {
	ID string
	store.Invite
}

// Invite makes a one-time link for email to become a user with role,
// valid for InviteTTL; only its hash is stored, so the token is shown
// once. An address that already has a user is refused (ErrExists).
func (a *Accounts) Invite(ctx context.Context, email, role, by string) (string, store.Invite, error) {
	email, err := normalizeEmail(email)
	if err != nil {
		return "", store.Invite{}, err
	}
	if !ValidRole(role) {
		return "", store.Invite{}, ErrInvalid.Errorf("unknown role %q: give owner, manager or operator", role)
	}
	now := a.now()
	inv := store.Invite{Email: email, Role: role, By: by, Created: now.UnixMilli(), Expires: now.Add(InviteTTL).UnixMilli()}
	token := RandomToken()
	err = a.db.Update(ctx, func(tx *store.Tx) error {
		if _, err := tx.Get(store.UserKey(email)); err == nil {
			return ErrExists.Errorf("%s already has an account", email)
		} else if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		tx.Set(store.InviteKey(hashToken(token)), inv.Encode())
		return nil
	})
	if err != nil {
		return "", store.Invite{}, fmt.Errorf("invite %q: %w", email, err)
	}
	return token, inv, nil
}

// InviteID is the id (PendingInvite.ID) of the invite of token.
func InviteID(token string) string { return hex.EncodeToString(hashToken(token)) }

// Invites returns the invites not yet taken up nor expired, oldest first;
// expired ones are deleted on the way.
func (a *Accounts) Invites(ctx context.Context) ([]PendingInvite, error) {
	var out []PendingInvite
	var expired [][]byte
	now := a.now().UnixMilli()
	err := a.db.ScanPrefix(ctx, store.InvitePrefix(), false, 0, func(k, v []byte) bool {
		inv, err := store.DecodeInvite(v)
		if err != nil || inv.Expires < now {
			expired = append(expired, slices.Clone(k))
			return true
		}
		out = append(out, PendingInvite{ID: hex.EncodeToString(k[1:]), Invite: inv})
		return true
	})
	if err != nil {
		return nil, fmt.Errorf("list invites: %w", err)
	}
	if len(expired) > 0 {
		if err := a.db.Update(ctx, func(tx *store.Tx) error {
			for _, k := range expired {
				tx.Delete(k)
			}
			return nil
		}); err != nil {
			return nil, fmt.Errorf("list invites: %w", err)
		}
	}
	slices.SortFunc(out, func(x, y PendingInvite) int { return cmp.Compare(x.Created, y.Created) })
	return out, nil
}

// CancelInvite deletes the invite with the id Invites gave it.
func (a *Accounts) CancelInvite(ctx context.Context, id string) error {
	hash, err := hex.DecodeString(id)
	if err != nil || len(hash) != 32 {
		return ErrInviteUsed
	}
	return a.db.Update(ctx, func(tx *store.Tx) error {
		if _, err := tx.Get(store.InviteKey(hash)); errors.Is(err, store.ErrNotFound) {
			return ErrInviteUsed
		} else if err != nil {
			return err
		}
		tx.Delete(store.InviteKey(hash))
		return nil
	})
}

// CheckInvite returns the live invite of token.
func (a *Accounts) CheckInvite(token string) (store.Invite, error) {
	if token == "" || len(token) > 100 {
		return store.Invite{}, ErrInviteUsed
	}
	v, err := a.db.Get(store.InviteKey(hashToken(token)))
	if errors.Is(err, store.ErrNotFound) {
		return store.Invite{}, ErrInviteUsed
	} else if err != nil {
		return store.Invite{}, err
	}
	inv, err := store.DecodeInvite(v)
	if err != nil {
		return inv, err
	}
	if inv.Expires < a.now().UnixMilli() {
		return store.Invite{}, ErrInviteUsed
	}
	return inv, nil
}

// AcceptInvite takes up the invite of token: the invited user is made
// with password and signed in. The invite works once: it is deleted in
// the write that makes the user.
func (a *Accounts) AcceptInvite(ctx context.Context, token, password string) (string, store.LoginSession, store.User, error) {
	if err := PasswordRules(password); err != nil {
		return "", store.LoginSession{}, store.User{}, err
	}
	if _, err := a.CheckInvite(token); err != nil {
		return "", store.LoginSession{}, store.User{}, err
	}
	hash, err := a.hash(ctx, password) // outside the writer: argon2 is slow
	if err != nil {
		return "", store.LoginSession{}, store.User{}, err
	}
	var u store.User
	err = a.db.Update(ctx, func(tx *store.Tx) error {
		v, err := tx.Get(store.InviteKey(hashToken(token)))
		if errors.Is(err, store.ErrNotFound) {
			return ErrInviteUsed
		} else if err != nil {
			return err
		}
		inv, err := store.DecodeInvite(v)
		if err != nil {
			return err
		}
		if inv.Expires < a.now().UnixMilli() {
			return ErrInviteUsed
		}
		if _, err := tx.Get(store.UserKey(inv.Email)); err == nil {
			return ErrExists.Errorf("%s already has an account; sign in instead", inv.Email)
		} else if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		u = store.User{Email: inv.Email, Hash: hash, Role: inv.Role, Created: a.now().UnixMilli(), Epoch: firstEpoch()}
		tx.Delete(store.InviteKey(hashToken(token)))
		tx.Set(store.UserKey(u.Email), u.Encode())
		tx.Delete(setupKey)
		return nil
	})
	if err != nil {
		return "", store.LoginSession{}, store.User{}, fmt.Errorf("accept invite: %w", err)
	}
	cookie, s, err := a.signIn(ctx, u.Email)
	return cookie, s, u, err
}

// TokenInfo is an API token as its list shows it: the id that revokes it
// (the hex of its hash: it names the token, it does not open it).
type TokenInfo struct {
	ID string
	store.Token
}

// Tokens returns every API token, oldest first.
func (a *Accounts) Tokens(ctx context.Context) ([]TokenInfo, error) {
	var out []TokenInfo
	var derr error
	err := a.db.ScanPrefix(ctx, store.TokenPrefix(), false, 0, func(k, v []byte) bool {
		t, err := store.DecodeToken(v)
		if err != nil {
			derr = err
			return false
		}
		out = append(out, TokenInfo{ID: hex.EncodeToString(k[1:]), Token: t})
		return true
	})
	if err == nil {
		err = derr
	}
	if err != nil {
		return nil, fmt.Errorf("list tokens: %w", err)
	}
	slices.SortFunc(out, func(x, y TokenInfo) int { return cmp.Compare(x.Created, y.Created) })
	return out, nil
}

// RevokeToken deletes the API token with the id Tokens gave it; the next
// request with it is refused.
func (a *Accounts) RevokeToken(ctx context.Context, id string) (store.Token, error) {
	var hash []byte
	t, err := a.updateToken(ctx, id, func(tx *store.Tx, key []byte, _ *store.Token) error {
		hash = key
		tx.Delete(store.TokenKey(key))
		return nil
	})
	if err != nil {
		return store.Token{}, fmt.Errorf("revoke token: %w", err)
	}
	a.used.forget(string(hash))
	return t, nil
}

// TokenChange is what ChangeToken changes in a token; nil keeps it. Sites
// and Scopes replace the token's: an empty list is every site, or
// everything (as a token made without them).
type TokenChange struct {
	Name   *string
	Sites  *[]uint32
	Scopes *[]string // checked by the caller against the API's scopes
}

// ChangeToken changes the name, sites or scopes of the API token with the
// id Tokens gave it, keeping the token itself: the integration using it
// goes on without a new one, and its next request is held to the change.
// It returns the token as it is now.
func (a *Accounts) ChangeToken(ctx context.Context, id string, ch TokenChange) (store.Token, error) {
	t, err := a.updateToken(ctx, id, func(tx *store.Tx, hash []byte, t *store.Token) error {
		name, sites, scopes := t.Name, t.Sites, t.Scopes
		if ch.Name != nil {
			name = *ch.Name
		}
		if ch.Sites != nil {
			sites = *ch.Sites
		}
		if ch.Scopes != nil {
			scopes = *ch.Scopes
		}
		if err := tokenGrant(t, name, sites, scopes); err != nil {
			return err
		}
		tx.Set(store.TokenKey(hash), t.Encode())
		return nil
	})
	if err != nil {
		return store.Token{}, fmt.Errorf("change token: %w", err)
	}
	return t, nil
}

// updateToken reads the API token with the id Tokens gave it and lets fn
// change or delete it (hash: the token's hash, its key) in one write; it
// returns the token as fn left it.
func (a *Accounts) updateToken(ctx context.Context, id string, fn func(tx *store.Tx, hash []byte, t *store.Token) error) (store.Token, error) {
	hash, err := hex.DecodeString(strings.TrimSpace(id))
	if err != nil || len(hash) != 32 {
		return store.Token{}, ErrNoTokenID
	}
	var t store.Token
	err = a.db.Update(ctx, func(tx *store.Tx) error {
		v, err := tx.Get(store.TokenKey(hash))
		if errors.Is(err, store.ErrNotFound) {
			return ErrNoTokenID
		} else if err != nil {
			return err
		}
		if t, err = store.DecodeToken(v); err != nil {
			return err
		}
		return fn(tx, hash, &t)
	})
	return t, err
}

// TokenUseEvery is how often at most a token's last use is written: a PBX
// posting calls all day costs one small write a minute, not one per call.
const TokenUseEvery = time.Minute

// usedTokens remembers when each token's last use was last written.
type usedTokens struct {
	mu      sync.Mutex
	written map[string]int64 // token hash -> Unix ms of the last write
}

func (u *usedTokens) due(hash string, now int64) bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	if now-u.written[hash] < TokenUseEvery.Milliseconds() {
		return false
	}
	if len(u.written) > 10_000 { // tokens are few; bound it anyway
		clear(u.written)
	}
	u.written[hash] = now
	return true
}

func (u *usedTokens) forget(hash string) {
	u.mu.Lock()
	delete(u.written, hash)
	u.mu.Unlock()
}

// UseToken is CheckToken for a request that uses the token: it notes the
// time as the token's last use, written at most once per TokenUseEvery.
// A failed note does not refuse the request (the next use tries again): it
// is a hint for the owner, not a record anyone relies on.
func (a *Accounts) UseToken(ctx context.Context, token string) (store.Token, error) {
	t, err := a.CheckToken(token)
	if err != nil {
		return t, err
	}
	hash := hashToken(token)
	now := a.now().UnixMilli()
	if !a.used.due(string(hash), now) {
		return t, nil
	}
	err = a.db.Update(ctx, func(tx *store.Tx) error {
		v, err := tx.Get(store.TokenKey(hash))
		if err != nil {
			return err // revoked meanwhile: nothing to note
		}
		cur, err := store.DecodeToken(v)
		if err != nil {
			return err
		}
		cur.LastUsed = now
		tx.Set(store.TokenKey(hash), cur.Encode())
		return nil
	})
	if err != nil {
		a.used.forget(string(hash))
	}
	return t, nil
}
