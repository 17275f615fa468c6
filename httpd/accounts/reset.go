package accounts

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"appliance/internal/usererr"
	"appliance/store"
)

// A password reset is a one-time link, mailed to a user who forgot their
// password, that sets a new one. Only its token's hash is stored. It works
// once, for ResetTTL, and only while nothing newer happened to the
// account: a newer link deletes the older ones, a new password or "sign out
// everywhere" bumps the user's epoch (the link holds the epoch it was made
// in), and removing the user deletes it (the link also holds the user's
// creation time, so that it never serves a user made later at the same
// address).

// ResetTTL is how long a password reset link works.
const ResetTTL = time.Hour

// ErrResetUsed refuses a reset link that is unknown, used, expired or
// outdated.
var ErrResetUsed = usererr.New("accounts", 404, "this password reset link is invalid, expired or already used; ask for a new one on the sign-in page")

// RequestReset makes a reset link for the user with email, deleting the
// user's earlier ones, and returns its token (to be mailed, never shown)
// and the user. An address without a user is ErrNoUser: the caller must
// not tell the asker so.
func (a *Accounts) RequestReset(ctx context.Context, email string) (string, store.User, error) {
	email, err := normalizeEmail(email)
	if err != nil {
		return "", store.User{}, err
	}
	// One request at a time: the earlier links found below are all
	// deleted in the write that makes the new one.
	a.resetMu.Lock()
	defer a.resetMu.Unlock()
	older, err := a.resetsOf(ctx, func(r store.PasswordReset) bool { return r.Email == email })
	if err != nil {
		return "", store.User{}, err
	}
	token := RandomToken()
	now := a.now()
	var u store.User
	err = a.db.Update(ctx, func(tx *store.Tx) error {
		v, err := tx.Get(store.UserKey(email))
		if errors.Is(err, store.ErrNotFound) {
			return ErrNoUser
		} else if err != nil {
			return err
		}
		if u, err = store.DecodeUser(v); err != nil {
			return err
		}
		for _, k := range older {
			tx.Delete(k)
		}
		r := store.PasswordReset{Email: email, Created: now.UnixMilli(), Expires: now.Add(ResetTTL).UnixMilli(), UserCreated: u.Created, Epoch: u.Epoch}
		tx.Set(store.ResetKey(hashToken(token)), r.Encode())
		return nil
	})
	if err != nil {
		return "", store.User{}, fmt.Errorf("password reset: %w", err)
	}
	return token, u, nil
}

// resetsOf returns the keys of the resets that match, and of every expired
// or unreadable one on the way (which go with them). Resets are few: one
// a user at most, made a few an hour.
func (a *Accounts) resetsOf(ctx context.Context, match func(store.PasswordReset) bool) ([][]byte, error) {
	var keys [][]byte
	now := a.now().UnixMilli()
	err := a.db.ScanPrefix(ctx, store.ResetPrefix(), false, 0, func(k, v []byte) bool {
		if r, err := store.DecodePasswordReset(v); err != nil || r.Expires < now || match(r) {
			keys = append(keys, slices.Clone(k))
		}
		return true
	})
	if err != nil {
		return nil, fmt.Errorf("password resets: %w", err)
	}
	return keys, nil
}

// dropResets deletes the resets that match (and the expired ones).
func (a *Accounts) dropResets(ctx context.Context, match func(store.PasswordReset) bool) error {
	keys, err := a.resetsOf(ctx, match)
	if err != nil || len(keys) == 0 {
		return err
	}
	return a.db.Update(ctx, func(tx *store.Tx) error {
		for _, k := range keys {
			tx.Delete(k)
		}
		return nil
	})
}

// liveReset reads the reset of token in tx (or the store, tx nil) and
// checks it still opens its user's account, whose record it returns.
func (a *Accounts) liveReset(get func([]byte) ([]byte, error), token string) (store.PasswordReset, store.User, error) {
	if token == "" || len(token) > 100 {
		return store.PasswordReset{}, store.User{}, ErrResetUsed
	}
	v, err := get(store.ResetKey(hashToken(token)))
	if errors.Is(err, store.ErrNotFound) {
		return store.PasswordReset{}, store.User{}, ErrResetUsed
	} else if err != nil {
		return store.PasswordReset{}, store.User{}, err
	}
	r, err := store.DecodePasswordReset(v)
	if err != nil {
		return r, store.User{}, err
	}
	if r.Expires < a.now().UnixMilli() {
		return r, store.User{}, ErrResetUsed
	}
	v, err = get(store.UserKey(r.Email))
	if errors.Is(err, store.ErrNotFound) {
		return r, store.User{}, ErrResetUsed
	} else if err != nil {
		return r, store.User{}, err
	}
	u, err := store.DecodeUser(v)
	if err != nil {
		return r, u, err
	}
	if u.Created != r.UserCreated || u.Epoch != r.Epoch {
		return r, u, ErrResetUsed
	}
	return r, u, nil
}

// CheckReset returns the user whose password the live reset link of token
// sets; ErrResetUsed when it sets none.
func (a *Accounts) CheckReset(token string) (store.User, error) {
	_, u, err := a.liveReset(a.db.Get, token)
	return u, err
}

// ResetPassword uses the reset link of token: the user's password becomes
// password, every session of theirs ends, the link is used up, and a fresh
// session is returned for the browser that used it (its cookie token and
// session), with the user.
func (a *Accounts) ResetPassword(ctx context.Context, token, password string) (string, store.LoginSession, store.User, error) {
	if err := PasswordRules(password); err != nil {
		return "", store.LoginSession{}, store.User{}, err
	}
	if _, err := a.CheckReset(token); err != nil {
		return "", store.LoginSession{}, store.User{}, err
	}
	hash, err := a.hash(ctx, password) // outside the writer: argon2 is slow
	if err != nil {
		return "", store.LoginSession{}, store.User{}, err
	}
	var u store.User
	err = a.db.Update(ctx, func(tx *store.Tx) error {
		_, cur, err := a.liveReset(tx.Get, token)
		if err != nil {
			return err
		}
		u = cur
		u.Hash = hash
		u.Epoch++ // ends every session, and every other link of the user
		tx.Delete(store.ResetKey(hashToken(token)))
		tx.Set(store.UserKey(u.Email), u.Encode())
		return nil
	})
	if err != nil {
		return "", store.LoginSession{}, store.User{}, fmt.Errorf("reset password: %w", err)
	}
	a.changed(u.Email)
	cookie, s, err := a.signIn(ctx, u.Email)
	return cookie, s, u, err
}
