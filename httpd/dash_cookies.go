package httpd

import (
	"time"

	"github.com/valyala/fasthttp"

	"appliance/httpd/accounts"
	"appliance/store"
)

// The dashboard's cookies: the session, and the double-submit token of
// the forms before sign-in.
const (
	sessionCookie = "apl_session"
	preCSRFCookie = "apl_csrf"
	// hostPrefix makes a browser keep a cookie only if this very host set
	// it Secure, with Path=/ and no Domain: a page of a sibling
	// sub-domain (any app on shop.example.com beside track.example.com)
	// can set a cookie for the whole example.com, and so could plant its
	// own pre-sign-in token and sign a browser in to an account of its
	// choosing (login CSRF), or its own session; it cannot set a __Host-
	// one. Browsers take such cookies over https only.
	hostPrefix = "__Host-"
)

// dashCookies names the session and pre-sign-in CSRF cookies: with
// hostPrefix when the public URL is https, plain over http (a local
// install, where no browser would keep a __Host- cookie).
type dashCookies struct {
	session, csrf string
	secure        bool
	// legacyBefore (Unix ms; 0: none) is when the server first named the
	// session cookie with hostPrefix (accounts.HostCookiesSince): a
	// session begun before it was issued under the plain name, which is
	// still read for it, once, and the cookie issued again under the new
	// one (upgrading signs no one out). A session begun since has never
	// had a plain cookie, so one under the plain name was planted, and is
	// not read.
	legacyBefore int64
}

func plainCookies() dashCookies { return dashCookies{session: sessionCookie, csrf: preCSRFCookie} }

func hostCookies(since time.Time) dashCookies {
	return dashCookies{session: hostPrefix + sessionCookie, csrf: hostPrefix + preCSRFCookie, secure: true, legacyBefore: since.UnixMilli()}
}

// token is the session token of a request's cookie; legacy when it came
// under the plain name (see legacyBefore), so that only a session valid
// allows may be taken from it.
func (c dashCookies) token(ctx *fasthttp.RequestCtx) (token string, legacy bool) {
	if t := ctx.Request.Header.Cookie(c.session); len(t) > 0 || c.legacyBefore == 0 {
		return string(t), false
	}
	return string(ctx.Request.Header.Cookie(sessionCookie)), true
}

// valid reports whether sess, a live session, may be taken from a
// cookie under the name token said: any under the current name, under
// the plain one only a session begun before the server renamed it.
func (c dashCookies) valid(sess store.LoginSession, legacy bool) bool {
	return !legacy || sess.Expires-accounts.SessionTTL.Milliseconds() < c.legacyBefore
}

// live is the live session and user of a request's cookie, and its
// token; accounts.ErrNoSession when there is none (or a planted one under
// the plain name). A session that came under the plain name gets its
// cookie again under the current name, and the plain one is deleted.
func (c dashCookies) live(ctx *fasthttp.RequestCtx, a *accounts.Accounts, now time.Time) (string, store.LoginSession, store.User, error) {
	token, legacy := c.token(ctx)
	sess, user, err := a.Session(token)
	if err != nil {
		return "", sess, user, err
	}
	if !c.valid(sess, legacy) {
		return "", store.LoginSession{}, store.User{}, accounts.ErrNoSession
	}
	if legacy {
		c.set(ctx, c.session, token, max(time.Second, time.UnixMilli(sess.Expires).Sub(now)))
		c.set(ctx, sessionCookie, "", -1)
	}
	return token, sess, user, nil
}

// set sets the cookie name to value for maxAge (negative: deletes it):
// HttpOnly, SameSite=Lax, Path=/, no Domain, Secure over https.
func (c dashCookies) set(ctx *fasthttp.RequestCtx, name, value string, maxAge time.Duration) {
	k := fasthttp.AcquireCookie()
	defer fasthttp.ReleaseCookie(k)
	k.SetKey(name)
	k.SetValue(value)
	k.SetPath("/")
	k.SetHTTPOnly(true)
	k.SetSameSite(fasthttp.CookieSameSiteLaxMode)
	k.SetSecure(c.secure)
	if maxAge < 0 {
		k.SetExpire(fasthttp.CookieExpireDelete)
	} else {
		k.SetMaxAge(int(maxAge / time.Second))
	}
	ctx.Response.Header.SetCookie(k)
}
