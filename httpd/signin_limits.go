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
	account   *ratelimit.Limiter // failures per account
}

func newSignInLimits() signInLimits {
	return signInLimits{
		ip:        ratelimit.New(signInsPerIP, time.Minute, 100_000),
		accountIP: ratelimit.New(failsPerAccountIP, failWindow, 100_000),
		account:   ratelimit.New(failsPerAccount, failWindow, 10_000),
	}
}

// allow reports whether a sign-in to account (a lower-case email) from ip
// may be tried at now; when not, wait is how long to wait. (Counted, not
// Wait alone: a limiter full of other keys must not refuse everyone.)
func (l signInLimits) allow(account, ip string, now time.Time) (ok bool, wait time.Duration) {
	if k := account + " " + ip; l.accountIP.Count(k, now) >= failsPerAccountIP {
		wait = l.accountIP.Wait(k, now)
	}
	if l.account.Count(account, now) >= failsPerAccount {
		wait = max(wait, l.account.Wait(account, now))
	}
	if wait > 0 {
		return false, wait
	}
	if !l.ip.Allow(ip, now) {
		return false, max(time.Second, l.ip.Wait(ip, now))
	}
	return true, 0
}

// failed counts a wrong password for account from ip.
func (l signInLimits) failed(account, ip string, now time.Time) {
	l.accountIP.Allow(account+" "+ip, now)
	l.account.Allow(account, now)
}

// tooManyAttempts is the message of a refused sign-in.
func tooManyAttempts(tr i18n.Printer, wait time.Duration) string {
	if wait <= time.Minute {
		return tr.T("Too many attempts; wait a minute and try again.")
	}
	return tr.N("Too many attempts; wait %d minute and try again.", int((wait+time.Minute-1)/time.Minute))
}
