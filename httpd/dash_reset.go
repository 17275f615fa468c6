package httpd

import (
	"errors"
	"strconv"
	"time"

	"github.com/valyala/fasthttp"

	"appliance/httpd/accounts"
	"appliance/httpd/ratelimit"
	"appliance/httpd/visits"
)

// "Forgot the password?": with an SMTP server a user who forgot their
// password asks for a one-time link by email (accountMail sends it) and
// sets a new one with it; without one the page says, as the sign-in page
// did before, who sets a new password.

// mountReset registers the reset's routes: open, as sign-in is (the
// link's token is the credential).
func (s *dashboardHandlers) mountReset(r *router) {
	r.page("GET", "/forgot", open, s.forgotPage)
	r.page("POST", "/forgot", open, s.forgotPost)
	r.page("GET", "/reset", open, s.resetPage)
	r.page("POST", "/reset", open, s.resetPost)
}

// Limits of reset requests: per client network, answered "wait" (it
// tells nothing of any account), and per address, past which requests
// are answered as any other but send nothing (no one fills a user's
// inbox, and the answer does not tell the address has a user).
const (
	forgotsPerIP      = 10
	forgotsPerAccount = 3
	forgotWindow      = time.Hour
)

type forgotLimits struct {
	ip *ratelimit.Limiter
	// Requests per address, split as the sign-in's failures are
	// (signInLimits): the addresses of users in a limiter without a bound
	// on its keys, which no flood of other addresses makes forget how
	// many links a user's inbox was sent, and the rest, which are sent
	// nothing anyway, in one a flood may push out.
	account, unknown *ratelimit.Limiter
	known            func(email string) bool
}

// newForgotLimits returns the reset request limits, the client-keyed ones
// tracking at most keys keys each. A flood past it pushes out the keys
// seen least recently rather than refuse new ones (a flood of networks
// would have kept every user from asking for a link), which gives it no
// more than its own networks each have anyway.
func newForgotLimits(known func(email string) bool, keys int) forgotLimits {
	return forgotLimits{
		ip:      ratelimit.New(forgotsPerIP, forgotWindow, keys),
		account: ratelimit.New(forgotsPerAccount, forgotWindow, 0),
		unknown: ratelimit.New(forgotsPerAccount, forgotWindow, keys),
		known:   known,
	}
}

// send counts a reset request for email (as forgotAddress gives it) at
// now and reports whether a link may be sent for it.
func (l forgotLimits) send(email string, now time.Time) bool {
	if l.known(email) {
		return l.account.Allow(email, now)
	}
	return l.unknown.Allow(email, now)
}

// forgotData is the reset request page: whether links go by email, and
// whether one was just asked for.
type forgotData struct {
	Mail, Sent bool
}

// forgotPage is GET /forgot: the form for the address, or, with no SMTP
// server, who sets a new password.
func (s *dashboardHandlers) forgotPage(ctx *fasthttp.RequestCtx) error {
	return s.pages.render(ctx, fasthttp.StatusOK, "forgot", view{Title: "Forgot the password?", CSRF: s.preCSRF(ctx), Data: forgotData{Mail: s.mail != nil}})
}

// forgotPost is POST /forgot: a reset link is mailed to the address if a
// user has it. The request is queued on disk for every address alike and
// the answer is the same page, given once it is; the worker does the rest.
func (s *dashboardHandlers) forgotPost(ctx *fasthttp.RequestCtx) error {
	if err := s.checkPreCSRF(ctx); err != nil {
		return err
	}
	if s.mail == nil {
		return s.forgotPage(ctx)
	}
	ip, now := ratelimit.Network(s.clientIP(ctx)), s.now()
	if !s.forgot.ip.Allow(ip, now) {
		wait := max(time.Minute, s.forgot.ip.Wait(ip, now))
		ctx.Response.Header.Set("Retry-After", strconv.Itoa(int((wait+time.Second-1)/time.Second)))
		tr := s.pages.printer(ctx, nil)
		return s.pages.render(ctx, fasthttp.StatusTooManyRequests, "forgot", view{Title: "Forgot the password?", CSRF: s.preCSRF(ctx),
			Error: tr.T("Too many reset requests from your network; wait %d min and try again.", int((wait+time.Minute-1)/time.Minute)),
			Data:  forgotData{Mail: true}})
	}
	if email, ok := forgotAddress(string(ctx.PostArgs().Peek("email"))); ok && s.forgot.send(email, now) {
		if err := s.mail.askReset(ctx, email, langOf(ctx, nil)); err != nil {
			return err
		}
	}
	return s.pages.render(ctx, fasthttp.StatusOK, "forgot", view{Title: "Forgot the password?", CSRF: s.preCSRF(ctx), Data: forgotData{Mail: true, Sent: true}})
}

// forgotAddress is the address of a reset request as users are kept
// (visits.NormalizeEmail): lower case, trimmed. Text that is none can be
// no user's, and is sent nothing (and told what any address is told).
func forgotAddress(raw string) (string, bool) {
	if len(raw) > 1024 {
		return "", false
	}
	email, err := visits.NormalizeEmail(raw)
	return email, err == nil
}

type resetData struct{ Token, Email string }

// noReferrer keeps a page's URL, which holds a one-time token, out of
// the Referer of what the page loads or links to.
func noReferrer(ctx *fasthttp.RequestCtx) { ctx.Response.Header.Set("Referrer-Policy", "no-referrer") }

// resetPage is GET /reset?token=: the new password's form.
func (s *dashboardHandlers) resetPage(ctx *fasthttp.RequestCtx) error {
	noReferrer(ctx)
	token := string(ctx.QueryArgs().Peek("token"))
	u, err := s.accounts.CheckReset(token)
	if err != nil {
		return err
	}
	err = s.pages.render(ctx, fasthttp.StatusOK, "reset", view{Title: "Set a new password", CSRF: s.preCSRF(ctx), Data: resetData{Token: token, Email: u.Email}})
	noReferrer(ctx)
	return err
}

// resetPost is POST /reset: the link's user gets the password, every
// other session of theirs ends, this browser is signed in, and the link is
// used up.
func (s *dashboardHandlers) resetPost(ctx *fasthttp.RequestCtx) error {
	noReferrer(ctx)
	if err := s.checkPreCSRF(ctx); err != nil {
		return err
	}
	args := ctx.PostArgs()
	token := string(args.Peek("token"))
	cookie, _, u, err := s.accounts.ResetPassword(ctx, token, string(args.Peek("password")))
	if errors.Is(err, accounts.ErrInvalid) {
		cu, cerr := s.accounts.CheckReset(token)
		if cerr != nil {
			return cerr
		}
		err = s.pages.render(ctx, fasthttp.StatusBadRequest, "reset", view{Title: "Set a new password", CSRF: s.preCSRF(ctx),
			Error: errText(s.pages.printer(ctx, nil), err), Field: passwordField(string(args.Peek("password"))), Data: resetData{Token: token, Email: cu.Email}})
		noReferrer(ctx)
		return err
	}
	if err != nil {
		return err
	}
	s.cookies.set(ctx, s.cookies.session, cookie, accounts.SessionTTL)
	if u.Lang != "" {
		s.cookies.set(ctx, langCookie, u.Lang, 365*24*time.Hour)
	}
	s.seeOther(ctx, "/account?done=reset")
	return nil
}
