package httpd

import (
	"time"

	"appliance/httpd/i18n"
	"appliance/httpd/ratelimit"
)

// Sign-in limits. Wrong passwords are counted per account and client IP,
// and per account over all IPs with a limit ten times higher: an attacker
// on one address locks only that address out of the account while the
// owner signs in from any other, and only many addresses at once lock the
// account, for the window after their last failures, never for good.
const (
	signInsPerIP      = 30 // attempts per minute from one IP, any accounts
	failsPerAccountIP = 10 // wrong passwords per failWindow, one account from one IP
	failsPerAccount   = 100
	failWindow        = 15 * time.Minute
)

type signInLimits struct {
	ip        *ratelimit.Limiter // attempts per IP
	accountIP *ratelimit.Limiter // failures per account and IP
	// Failures per account, in two limiters: one for the accounts that
	// exist, one for addresses of no user. Only real accounts key the
	// first, so it needs no bound on its keys and has none: no flood of
	// other keys, however large, makes it forget a real account's
	// failures. The second locks a made-up address as a real one is
	// locked, so that the answers do not tell which addresses have a
	// user; a flood of made-up addresses pushes out the oldest of them
	// (ratelimit: never a refusal for a new key), which lets it tell only
	// what the flood could guess anyway: that an address it flooded out
	// was no user's.
	account, unknown *ratelimit.Limiter
	known            func(account string) bool // whether a user has the (lower-case) address
}

// newSignInLimits returns the sign-in limits, each of the client-keyed
// ones tracking at most keys keys (the made-up addresses a tenth of it).
// Past that a flood pushes out the keys seen least recently rather than
// refuse new ones: were new keys refused, a flood of networks would lock
// every user out of signing in. What a flood gains by pushing out a key
// (its attempts and its per-IP failures start afresh) is what its own
// networks each have anyway; the failures per real account, which hold
// an attacker of many networks, are never pushed out.
func newSignInLimits(known func(account string) bool, keys int) signInLimits {
	return signInLimits{
		ip:        ratelimit.New(signInsPerIP, time.Minute, keys),
		accountIP: ratelimit.New(failsPerAccountIP, failWindow, keys),
		account:   ratelimit.New(failsPerAccount, failWindow, 0),
		unknown:   ratelimit.New(failsPerAccount, failWindow, max(1, keys/10)),
		known:     known,
	}
}

// signInKeys is how many keys each sign-in limit tracks.
const signInKeys = 100_000

// accounts is the limiter of failures per account that counts account.
func (l signInLimits) accounts(account string) *ratelimit.Limiter {
	if l.known(account) {
		return l.account
	}
	return l.unknown
}

// refusal says which limit refused a sign-in, for its message.
type refusal int

const (
	tooFastFromIP     refusal = iota // attempts from one address, any accounts
	tooManyFromIP                    // wrong passwords for one account from one address
	tooManyForAccount                // wrong passwords for one account from many addresses
)

// allow reports whether a sign-in to account (a lower-case email) from ip
// may be tried at now; when not, wait is how long to wait and why which
// limit refused it.
func (l signInLimits) allow(account, ip string, now time.Time) (ok bool, wait time.Duration, why refusal) {
	ip = ratelimit.Network(ip)
	if k := account + " " + ip; l.accountIP.Count(k, now) >= failsPerAccountIP {
		wait, why = l.accountIP.Wait(k, now), tooManyFromIP
	}
	if acc := l.accounts(account); acc.Count(account, now) >= failsPerAccount {
		if w := acc.Wait(account, now); w > wait {
			wait, why = w, tooManyForAccount
		}
	}
	if wait > 0 {
		return false, wait, why
	}
	if !l.ip.Allow(ip, now) {
		return false, max(time.Second, l.ip.Wait(ip, now)), tooFastFromIP
	}
	return true, 0, 0
}

// failed counts a wrong password for account from ip.
func (l signInLimits) failed(account, ip string, now time.Time) {
	ip = ratelimit.Network(ip)
	l.accountIP.Allow(account+" "+ip, now)
	l.accounts(account).Allow(account, now)
}

// tooManyAttempts is the message of a sign-in refused by why for wait, in
// the reader's language: which limit it was, and how long to wait (whole
// minutes, at least one).
func tooManyAttempts(tr i18n.Printer, why refusal, wait time.Duration) string {
	minutes := max(1, int((wait+time.Minute-1)/time.Minute))
	switch why {
	case tooManyFromIP:
		return tr.T("Too many wrong passwords for this account from your network; wait %d min and try again. Signing in from another network still works.", minutes)
	case tooManyForAccount:
		return tr.T("Too many wrong passwords for this account from many networks: it is locked for everyone for %d min to stop the guessing. Try again then, or ask the owner to set you a new password.", minutes)
	}
	return tr.T("Too many sign-in attempts from your network; wait %d min and try again.", minutes)
}
