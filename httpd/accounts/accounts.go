// Package accounts holds the people who use the dashboard and the machines
// that use the API: users with argon2id password hashes, login sessions
// found by the hash of their cookie token (each with its CSRF token), the
// one-time setup token that creates the owner on first start, and API
// tokens. Secrets are stored only as hashes.
//
// The setup token exists only while the store has no user: every write that
// creates a user deletes it in the same transaction, and setup refuses to
// run once a user exists, so a leaked setup link cannot take over an
// installation. A login session is valid only while its epoch equals its
// user's: a new password or "sign out everywhere" bumps the user's epoch,
// which ends every session started before.
package accounts

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"

	"appliance/httpd/visits"
	"appliance/internal/usererr"
	"appliance/store"
)

// Errors of the accounts package.
var (
	ErrBadLogin   = usererr.New("accounts", 401, "wrong email or password")
	ErrExists     = usererr.New("accounts", 409, "user already exists")
	ErrNoUser     = usererr.New("accounts", 404, "no such user")
	ErrInvalid    = usererr.New("accounts", 400, "invalid input")
	ErrNoSession  = usererr.New("accounts", 401, "not signed in")
	ErrSetupUsed  = usererr.New("accounts", 403, "setup link is invalid, used or from before the server's last start: open the newest link appliance serve printed when it started (while there is no owner, each start prints a new one)")
	ErrSetupDone  = errors.New("accounts: setup is done: a user exists")
	ErrNoToken    = usererr.New("accounts", 401, "invalid API token")
	ErrHashFormat = errors.New("accounts: unknown password hash format")
)

// Roles.
const (
	RoleOwner    = "owner"
	RoleManager  = "manager"
	RoleOperator = "operator"
)

// ValidRole reports whether role is one of the roles.
func ValidRole(role string) bool {
	return role == RoleOwner || role == RoleManager || role == RoleOperator
}

// SessionTTL is how long a login lasts.
const SessionTTL = 30 * 24 * time.Hour

// MinPassword is the shortest password accepted.
const MinPassword = 10

// Accounts works on the users, logins and tokens of one store.
type Accounts struct {
	db   *store.DB
	now  func() time.Time
	used usedTokens
	// resetMu serialises RequestReset (reset.go).
	resetMu sync.Mutex
	// argon holds a slot for each password hash being computed (hash,
	// check): at most one per CPU at once. Each takes argonMemory
	// (19 MiB), and anyone may ask for one (a sign-in with any password,
	// up to 30 a minute from each address): unbounded, 30 at once from
	// one address held 575 MiB, and a few addresses more would have
	// the server killed for its memory. More at once than there are
	// CPUs would finish none sooner.
	argon chan struct{}
	// watch is Watch's fn; nil: none.
	watch atomic.Pointer[func(email string)]
}

// Watch has fn called with a user's email after every write that ended
// some or all of the user's sessions or changed their role: a sign-out
// (Logout), sign-out everywhere, a new or reset password, a new role, the
// user's removal. fn runs in the writer's goroutine once the write is
// durable, before the call that made it returns; it asks Session of the
// tokens it holds what is left. So what a session keeps open (the chat
// console's sockets) ends at once, not at its next check. One fn: a later
// call replaces it.
func (a *Accounts) Watch(fn func(email string)) { a.watch.Store(&fn) }

// changed tells Watch's fn that email's sessions or role changed.
func (a *Accounts) changed(email string) {
	if fn := a.watch.Load(); fn != nil && email != "" {
		(*fn)(email)
	}
}

// New returns Accounts over db.
func New(db *store.DB) *Accounts { return NewWithClock(db, nil) }

// NewWithClock returns Accounts over db on the clock now (nil: time.Now).
func NewWithClock(db *store.DB, now func() time.Time) *Accounts {
	if now == nil {
		now = time.Now
	}
	return &Accounts{db: db, now: now, used: usedTokens{written: map[string]int64{}},
		argon: make(chan struct{}, max(1, runtime.GOMAXPROCS(0)))}
}

// hash is HashPassword in one of a's argon slots: it waits for one, or
// for ctx to end.
func (a *Accounts) hash(ctx context.Context, pw string) (string, error) {
	if err := a.takeArgon(ctx); err != nil {
		return "", err
	}
	defer func() { <-a.argon }()
	return HashPassword(pw), nil
}

// check is CheckPassword in one of a's argon slots: it waits for one, or
// for ctx to end.
func (a *Accounts) check(ctx context.Context, hash, pw string) (bool, error) {
	if err := a.takeArgon(ctx); err != nil {
		return false, err
	}
	defer func() { <-a.argon }()
	return CheckPassword(hash, pw)
}

func (a *Accounts) takeArgon(ctx context.Context) error {
	select {
	case a.argon <- struct{}{}:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("password hash: %w", ctx.Err())
	}
}

// argon2id parameters (OWASP's recommended minimum: 19 MiB, 2 passes).
const (
	argonTime    = 2
	argonMemory  = 19 * 1024
	argonThreads = 1
	argonKeyLen  = 32
)

// HashPassword returns the argon2id hash of pw in PHC string form.
func HashPassword(pw string) string {
	salt := make([]byte, 16)
	rand.Read(salt)
	key := argon2.IDKey([]byte(pw), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argonMemory, argonTime,
		argonThreads, b64.EncodeToString(salt), b64.EncodeToString(key))
}

// CheckPassword reports whether pw matches the PHC hash.
func CheckPassword(hash, pw string) (bool, error) {
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false, ErrHashFormat
	}
	var version int
	var m uint32
	var t uint32
	var p uint8
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return false, ErrHashFormat
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil || m > 64*1024 || t == 0 || t > 10 || p == 0 {
		return false, ErrHashFormat
	}
	b64 := base64.RawStdEncoding
	salt, err1 := b64.DecodeString(parts[4])
	want, err2 := b64.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(want) == 0 {
		return false, ErrHashFormat
	}
	got := argon2.IDKey([]byte(pw), salt, t, m, p, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}

// normalizeEmail is visits.NormalizeEmail, the one rule for an email
// address the appliance keeps (a visitor's, a lead's, a user's), with the
// error of this package.
func normalizeEmail(email string) (string, error) {
	e, err := visits.NormalizeEmail(email)
	if err != nil {
		return "", ErrInvalid.Errorf("%q is not an email address", strings.TrimSpace(email))
	}
	return e, nil
}

// PasswordRules checks a new password against the rule of a user's
// password, its length.
func PasswordRules(pw string) error {
	if len(pw) < MinPassword {
		return ErrInvalid.Errorf("the password must be at least %d characters", MinPassword)
	}
	if len(pw) > 256 {
		return ErrInvalid.Errorf("the password must be at most 256 characters")
	}
	return nil
}

// HasUsers reports whether any user exists.
func (a *Accounts) HasUsers(ctx context.Context) (bool, error) {
	found := false
	err := a.db.ScanPrefix(ctx, store.UserPrefix(), false, 1, func(_, _ []byte) bool { found = true; return false })
	return found, err
}

// CreateUser adds a user with the given role.
func (a *Accounts) CreateUser(ctx context.Context, email, password, role string) (store.User, error) {
	email, err := normalizeEmail(email)
	if err != nil {
		return store.User{}, err
	}
	if err := PasswordRules(password); err != nil {
		return store.User{}, err
	}
	if !ValidRole(role) {
		return store.User{}, ErrInvalid.Errorf("unknown role %q: give owner, manager or operator", role)
	}
	hash, err := a.hash(ctx, password)
	if err != nil {
		return store.User{}, err
	}
	u := store.User{Email: email, Hash: hash, Role: role, Created: a.now().UnixMilli(), Epoch: firstEpoch()}
	err = a.db.Update(ctx, func(tx *store.Tx) error {
		if _, err := tx.Get(store.UserKey(email)); err == nil {
			return ErrExists
		} else if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		tx.Set(store.UserKey(email), u.Encode())
		tx.Delete(setupKey) // a user exists: setup is over
		return nil
	})
	return u, err
}

// SetPassword replaces a user's password and ends all of the user's
// sessions.
func (a *Accounts) SetPassword(ctx context.Context, email, password string) error {
	if err := PasswordRules(password); err != nil {
		return err
	}
	hash, err := a.hash(ctx, password)
	if err != nil {
		return err
	}
	u, err := a.updateUser(ctx, email, func(u *store.User) error {
		u.Hash = hash
		u.Epoch++
		return nil
	})
	if err != nil {
		return err
	}
	a.changed(u.Email)
	return nil
}

// ChangePassword replaces the password of a signed-in user who knows the
// current one: every other session of the user ends, and a fresh session
// is returned for the browser that asked (its cookie token and session).
func (a *Accounts) ChangePassword(ctx context.Context, email, current, password string) (string, store.LoginSession, error) {
	u, err := a.User(email)
	if err != nil {
		return "", store.LoginSession{}, err
	}
	if ok, err := a.check(ctx, u.Hash, current); err != nil {
		return "", store.LoginSession{}, err
	} else if !ok {
		return "", store.LoginSession{}, ErrBadLogin
	}
	if err := a.SetPassword(ctx, email, password); err != nil {
		return "", store.LoginSession{}, err
	}
	return a.startSession(ctx, u.Email)
}

// EndSessions ends every session of the user (sign out everywhere).
func (a *Accounts) EndSessions(ctx context.Context, email string) error {
	u, err := a.updateUser(ctx, email, func(u *store.User) error { u.Epoch++; return nil })
	if err != nil {
		return err
	}
	a.changed(u.Email)
	return nil
}

// EndOtherSessions ends every session of the user and returns a fresh one
// for the browser that asked.
func (a *Accounts) EndOtherSessions(ctx context.Context, email string) (string, store.LoginSession, error) {
	if err := a.EndSessions(ctx, email); err != nil {
		return "", store.LoginSession{}, err
	}
	return a.startSession(ctx, email)
}

// SetLang stores the dashboard language the user chose ("ru", "en"; ""
// for the browser's). The caller checks the language is one the dashboard
// has.
func (a *Accounts) SetLang(ctx context.Context, email, lang string) error {
	_, err := a.updateUser(ctx, email, func(u *store.User) error { u.Lang = lang; return nil })
	return err
}

// updateUser changes the user's record with fn in one write.
func (a *Accounts) updateUser(ctx context.Context, email string, fn func(u *store.User) error) (store.User, error) {
	email, err := normalizeEmail(email)
	if err != nil {
		return store.User{}, err
	}
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
		if err := fn(&u); err != nil {
			return err
		}
		tx.Set(store.UserKey(email), u.Encode())
		return nil
	})
	return u, err
}

// User returns the user with the given email.
func (a *Accounts) User(email string) (store.User, error) {
	v, err := a.db.Get(store.UserKey(email))
	if errors.Is(err, store.ErrNotFound) {
		return store.User{}, ErrNoUser
	} else if err != nil {
		return store.User{}, err
	}
	return store.DecodeUser(v)
}

// Known reports whether a user has the email, as written (lower-case,
// no spaces: the form in which users are kept).
func (a *Accounts) Known(email string) bool {
	_, err := a.db.Get(store.UserKey(email))
	return err == nil
}

// Login checks email and password and starts a login session; the returned
// token goes into the session cookie.
func (a *Accounts) Login(ctx context.Context, email, password string) (token string, s store.LoginSession, err error) {
	email, err = normalizeEmail(email)
	if err != nil {
		return "", s, ErrBadLogin
	}
	u, err := a.User(email)
	if errors.Is(err, ErrNoUser) {
		// The same work as a real check: no user enumeration by timing.
		if _, err := a.check(ctx, dummyHash, password); err != nil && !errors.Is(err, ErrHashFormat) {
			return "", s, err
		}
		return "", s, ErrBadLogin
	} else if err != nil {
		return "", s, err
	}
	ok, err := a.check(ctx, u.Hash, password)
	if err != nil {
		return "", s, err
	}
	if !ok {
		return "", s, ErrBadLogin
	}
	return a.signIn(ctx, u.Email)
}

// dummyHash is a hash with today's parameters that no password is known
// to match; checking against it costs what a real check costs. A constant,
// so that starting the program does not pay for an argon2 run.
const dummyHash = "$argon2id$v=19$m=19456,t=2,p=1$hlTpSdgkOT53IpABLdOmpg$b3UfeYPE58hw6gJ+5hjWeQ6C7GabCwXB2/dxwJPhQnM"

// startSession starts a session of the user in the user's current epoch.
func (a *Accounts) startSession(ctx context.Context, email string) (string, store.LoginSession, error) {
	return a.beginSession(ctx, email, false)
}

// signIn starts a session of the user who just proved who they are (a
// password, setup, an invite), and notes the time as their last sign-in.
func (a *Accounts) signIn(ctx context.Context, email string) (string, store.LoginSession, error) {
	return a.beginSession(ctx, email, true)
}

func (a *Accounts) beginSession(ctx context.Context, email string, signIn bool) (string, store.LoginSession, error) {
	token := RandomToken()
	s := store.LoginSession{Email: email, CSRF: RandomToken(), Expires: a.now().Add(SessionTTL).UnixMilli()}
	err := a.db.Update(ctx, func(tx *store.Tx) error {
		// Read in the writer, so that a session cannot begin in an epoch
		// that a concurrent password change has just ended.
		v, err := tx.Get(store.UserKey(email))
		if errors.Is(err, store.ErrNotFound) {
			return ErrNoUser
		} else if err != nil {
			return err
		}
		u, err := store.DecodeUser(v)
		if err != nil {
			return err
		}
		s.Epoch = u.Epoch
		tx.Set(store.AuthKey(hashToken(token)), s.Encode())
		if signIn {
			u.LastLogin = a.now().UnixMilli()
			tx.Set(store.UserKey(email), u.Encode())
		}
		return nil
	})
	if err != nil {
		return "", s, fmt.Errorf("start session: %w", err)
	}
	return token, s, nil
}

// Session returns the live login session and user of a cookie token.
func (a *Accounts) Session(token string) (store.LoginSession, store.User, error) {
	if token == "" || len(token) > 100 {
		return store.LoginSession{}, store.User{}, ErrNoSession
	}
	v, err := a.db.Get(store.AuthKey(hashToken(token)))
	if errors.Is(err, store.ErrNotFound) {
		return store.LoginSession{}, store.User{}, ErrNoSession
	} else if err != nil {
		return store.LoginSession{}, store.User{}, err
	}
	s, err := store.DecodeLoginSession(v)
	if err != nil {
		return s, store.User{}, err
	}
	if s.Expires < a.now().UnixMilli() {
		return s, store.User{}, ErrNoSession
	}
	u, err := a.User(s.Email)
	if err != nil || u.Epoch != s.Epoch {
		return s, u, ErrNoSession
	}
	return s, u, nil
}

// Logout ends the login session of a cookie token.
func (a *Accounts) Logout(ctx context.Context, token string) error {
	key := store.AuthKey(hashToken(token))
	var email string
	if v, err := a.db.Get(key); err == nil {
		if s, err := store.DecodeLoginSession(v); err == nil {
			email = s.Email
		}
	}
	if err := a.db.Delete(ctx, key); err != nil {
		return err
	}
	a.changed(email)
	return nil
}

// hostCookiesKey holds when the server first named the session cookie
// with the __Host- prefix: Unix ms, uint64 BE.
var hostCookiesKey = store.MetaKey("host-cookies")

// HostCookiesSince returns when the server first named the session cookie
// with the __Host- prefix (it does over https), recording now as that time
// the first time it is asked: a session begun before it was issued under
// the plain name.
func (a *Accounts) HostCookiesSince(ctx context.Context) (time.Time, error) {
	v, err := a.db.Get(hostCookiesKey)
	if err == nil && len(v) == 8 {
		return time.UnixMilli(int64(binary.BigEndian.Uint64(v))), nil
	}
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return time.Time{}, fmt.Errorf("read when the cookies were renamed: %w", err)
	}
	now := a.now()
	if err := a.db.Set(ctx, hostCookiesKey, binary.BigEndian.AppendUint64(nil, uint64(now.UnixMilli()))); err != nil {
		return time.Time{}, fmt.Errorf("record when the cookies were renamed: %w", err)
	}
	return now, nil
}

// setupKey holds the hash of the one-time setup token while the store has
// no user.
var setupKey = store.MetaKey("setup")

// NewSetupToken makes a fresh one-time setup token (replacing any earlier
// one) for creating the owner. Once a user exists there is no setup: it
// deletes any token left over (a store written by an older version) and
// returns ErrSetupDone.
func (a *Accounts) NewSetupToken(ctx context.Context) (string, error) {
	has, err := a.HasUsers(ctx)
	if err != nil {
		return "", fmt.Errorf("setup token: %w", err)
	}
	if has {
		if err := a.db.Delete(ctx, setupKey); err != nil {
			return "", fmt.Errorf("setup token: %w", err)
		}
		return "", ErrSetupDone
	}
	token := RandomToken()
	if err := a.db.Set(ctx, setupKey, hashToken(token)); err != nil {
		return "", fmt.Errorf("setup token: %w", err)
	}
	return token, nil
}

// SetupOpen reports whether setup can still run: no user exists.
func (a *Accounts) SetupOpen(ctx context.Context) (bool, error) {
	has, err := a.HasUsers(ctx)
	return !has, err
}

// CheckSetupToken reports whether token is the live setup token of a store
// without users.
func (a *Accounts) CheckSetupToken(ctx context.Context, token string) bool {
	if open, err := a.SetupOpen(ctx); err != nil || !open {
		return false
	}
	v, err := a.db.Get(setupKey)
	return err == nil && subtle.ConstantTimeCompare(v, hashToken(token)) == 1
}

// CompleteSetup uses the setup token to create the owner and signs them in.
// The token works once, and only while no user exists (ErrSetupDone); it
// never replaces a user.
func (a *Accounts) CompleteSetup(ctx context.Context, token, email, password string) (string, store.LoginSession, error) {
	email, err := normalizeEmail(email)
	if err != nil {
		return "", store.LoginSession{}, err
	}
	if err := PasswordRules(password); err != nil {
		return "", store.LoginSession{}, err
	}
	if open, err := a.SetupOpen(ctx); err != nil {
		return "", store.LoginSession{}, err
	} else if !open {
		return "", store.LoginSession{}, ErrSetupDone
	}
	hash, err := a.hash(ctx, password)
	if err != nil {
		return "", store.LoginSession{}, err
	}
	u := store.User{Email: email, Hash: hash, Role: RoleOwner, Created: a.now().UnixMilli(), Epoch: firstEpoch()}
	err = a.db.Update(ctx, func(tx *store.Tx) error {
		// Every write that makes a user deletes the setup token in the
		// same transaction, and writes are serialised: a token still
		// here means no user was made since the check above.
		v, err := tx.Get(setupKey)
		if err != nil || subtle.ConstantTimeCompare(v, hashToken(token)) != 1 {
			return ErrSetupUsed
		}
		if _, err := tx.Get(store.UserKey(email)); err == nil {
			return ErrSetupDone
		} else if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		tx.Delete(setupKey)
		tx.Set(store.UserKey(email), u.Encode())
		return nil
	})
	if err != nil {
		return "", store.LoginSession{}, err
	}
	return a.signIn(ctx, email)
}

// MaxTokenSites bounds the sites one API token names.
const MaxTokenSites = 100

// maxTokenScopes bounds the scopes one API token names, well above the
// API's own few.
const maxTokenScopes = 32

// CreateToken makes an API token for the sites (ids; none: every site);
// only its hash is stored, so the returned token is shown once.
func (a *Accounts) CreateToken(ctx context.Context, name string, sites []uint32) (string, error) {
	return a.MakeToken(ctx, NewToken{Name: name, Sites: sites})
}

// CreateUserToken is CreateToken for a token that acts as the user with
// the email (the chat's operator API answers as that user).
func (a *Accounts) CreateUserToken(ctx context.Context, name string, sites []uint32, email string) (string, error) {
	if _, err := normalizeEmail(email); err != nil {
		return "", err
	}
	return a.MakeToken(ctx, NewToken{Name: name, Sites: sites, User: email})
}

// NewToken is what an API token is made for.
type NewToken struct {
	Name  string
	Sites []uint32 // ids; none: every site
	// Scopes name what the token may do (store.Token.Scopes); none:
	// everything. The caller checks them against the API's table of
	// scopes; they are stored sorted, each once.
	Scopes []string
	User   string // email of the user the token acts as; "": none
}

// MakeToken makes an API token; only its hash is stored, so the returned
// token is shown once.
func (a *Accounts) MakeToken(ctx context.Context, nt NewToken) (string, error) {
	user := ""
	if nt.User != "" {
		email, err := normalizeEmail(nt.User)
		if err != nil {
			return "", err
		}
		user = email
	}
	t := store.Token{Created: a.now().UnixMilli(), User: user}
	if err := tokenGrant(&t, nt.Name, nt.Sites, nt.Scopes); err != nil {
		return "", err
	}
	token := "apl_" + RandomToken()
	err := a.db.Update(ctx, func(tx *store.Tx) error {
		if user != "" {
			// Checked in the writer: RemoveUser deletes the tokens of a
			// user it has deleted, so none is made for them after.
			if _, err := tx.Get(store.UserKey(user)); errors.Is(err, store.ErrNotFound) {
				return ErrNoUser
			} else if err != nil {
				return err
			}
		}
		tx.Set(store.TokenKey(hashToken(token)), t.Encode())
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("create token: %w", err)
	}
	return token, nil
}

// tokenGrant is what a token's owner may change after it is made: its name,
// sites and scopes, checked and stored as MakeToken and ChangeToken store
// them (sites and scopes sorted, each once; none: every one).
func tokenGrant(t *store.Token, name string, sites []uint32, scopes []string) error {
	name = strings.TrimSpace(name)
	if name == "" || utf8.RuneCountInString(name) > 64 {
		return ErrInvalid.Errorf("token name must be 1 to 64 characters")
	}
	if len(sites) > MaxTokenSites {
		return ErrInvalid.Errorf("a token names at most %d sites", MaxTokenSites)
	}
	if len(scopes) > maxTokenScopes {
		return ErrInvalid.Errorf("a token names at most %d scopes", maxTokenScopes)
	}
	t.Name, t.Sites, t.Scopes = name, nil, nil
	if len(sites) > 0 {
		t.Sites = slices.Compact(slices.Sorted(slices.Values(sites)))
	}
	if len(scopes) > 0 {
		t.Scopes = slices.Compact(slices.Sorted(slices.Values(scopes)))
	}
	return nil
}

// CheckToken returns the API token record for a bearer token.
func (a *Accounts) CheckToken(token string) (store.Token, error) {
	if !strings.HasPrefix(token, "apl_") || len(token) > 100 {
		return store.Token{}, ErrNoToken
	}
	v, err := a.db.Get(store.TokenKey(hashToken(token)))
	if errors.Is(err, store.ErrNotFound) {
		return store.Token{}, ErrNoToken
	} else if err != nil {
		return store.Token{}, err
	}
	t, err := store.DecodeToken(v)
	if err != nil || t.User == "" {
		return t, err
	}
	// A user's token lives while its user does: not after the user is
	// removed (should a crash have left it behind), nor for a later user
	// at the same address.
	u, err := a.User(t.User)
	if errors.Is(err, ErrNoUser) || err == nil && u.Created > t.Created {
		return store.Token{}, ErrNoToken
	}
	return t, err
}

// firstEpoch is a new user's Epoch: random, so that a session of an
// earlier user at the same address (one a crash left behind when that user
// was removed) is no session of the new one.
func firstEpoch() uint32 {
	var b [4]byte
	rand.Read(b[:])
	return binary.LittleEndian.Uint32(b[:])
}

// RandomToken returns 32 bytes of crypto randomness, URL-safe base64.
func RandomToken() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func hashToken(t string) []byte {
	h := sha256.Sum256([]byte(t))
	return h[:]
}
