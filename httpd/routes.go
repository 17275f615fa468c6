package httpd

import (
	"errors"
	"strings"
	"time"

	"github.com/valyala/fasthttp"

	"appliance/httpd/ratelimit"
	"appliance/httpd/search"
	"appliance/httpd/visitors"
	"appliance/internal/memo"
	"appliance/store"
)

// publicRoutes is every route of the public server: the server's own
// (health, metrics), then each audience's group mounts its routes, each
// with the permission its caller needs (roles.go), which the dispatcher
// checks before the handler runs. The groups: the tracker (tracker*.go:
// public, CORS), the API (api_*.go: bearer token) and the dashboard
// (dash*.go: session and CSRF); the admin socket has its own router
// (admin.go). Each group holds only the dependencies it uses.
func (s *Server) publicRoutes() *router {
	r := newRouter()
	r.api("GET", "/healthz", open, s.healthz)
	r.api("GET", "/metrics", open, s.serveMetrics)
	r.api("GET", "/debug/pprof/*", open, s.servePprof)

	tracker := &trackerHandlers{
		cookieDomains: memo.Cache[string]{Max: maxCookieDomains},
		sites:         s.sites, visits: s.visits, numbers: s.numbers, leads: s.leads, callbacks: s.callbacks,
		captcha: s.captcha, snippet: s.snippet, chats: s.chats,
		ipRate:         s.opts.Limits.perIP(),
		siteRate:       s.opts.Limits.perSite(),
		leadRate:       ratelimit.New(leadsPerMinute, time.Minute, s.opts.Limits.keys(maxLeadKeys)),
		serverLeadRate: ratelimit.New(serverLeadsPerMinute, time.Minute, s.opts.Limits.keys(maxLeadKeys/10)),
		captchaRate:    ratelimit.New(captchasPerMinute, time.Minute, s.opts.Limits.keys(maxLeadKeys)),
		publicURL:      s.PublicURL(), clientIP: s.clientIP, clientAddr: s.clientAddr, now: s.opts.Now,
	}
	tracker.mount(r)
	api := &apiHandlers{accounts: s.accounts, numbers: s.numbers, sites: s.sites, hooks: s.hooks, reports: s.reports, chats: s.chats,
		leads: s.leads, callbacks: s.callbacks, now: s.opts.Now}
	api.mount(r)
	cards := visitors.New(s.db, visitors.Limits{})
	(&visitorsAPI{api: api, sites: s.sites, cards: cards}).mount(r)

	limits := s.opts.ChatLimits.withDefaults()
	chatVisitor := &chatVisitorHandlers{
		sites: s.sites, chats: s.chats, sockets: s.chatSockets, upgrader: newChatUpgrader(), limits: limits,
		visitorRate: ratelimit.New(limits.MessagesPerVisitor, time.Minute, 100_000),
		ipRate:      ratelimit.New(limits.MessagesPerIP, time.Minute, 100_000),
		requestRate: tracker.ipRate,
		clientIP:    s.clientIP, now: s.opts.Now,
	}
	chatVisitor.mount(r)
	chatConsole := &chatConsoleHandlers{accounts: s.accounts, sites: s.sites, chats: s.chats, sockets: s.chatSockets,
		upgrader: newChatUpgrader(), origin: strings.TrimSuffix(s.PublicURL(), "/"), cookies: s.cookies}
	chatConsole.mount(r)
	s.accounts.Watch(chatConsole.revoke)

	dash := &dashboardHandlers{
		accounts: s.accounts, chats: s.chats, signedOut: chatConsole.signedOut, sites: s.sites, visits: s.visits, numbers: s.numbers, leads: s.leads,
		callbacks: s.callbacks, hooks: s.hooks, reports: s.reports, cards: cards, pages: s.pages, signIn: newSignInLimits(s.accounts.Known, signInKeys),
		publicURL: s.PublicURL(), publicHost: s.public.Host, cookies: s.cookies, phoneRegion: s.opts.PhoneRegion,
		clientIP: s.clientIP, now: s.opts.Now,
		mail: s.mail, forgot: newForgotLimits(s.accounts.Known, signInKeys), digests: s.digests, rebuilds: s.rebuilds,
	}
	dash.mount(r)
	(&visitorPage{dashboardHandlers: dash, cards: cards}).mount(r)
	(&searchPage{dashboardHandlers: dash, search: search.New(s.db)}).mount(r)

	cbSite, cbVisitor, cbIP := s.callbacks.Limiters()
	s.limiters = []namedLimiter{
		{"lead_ip", tracker.leadRate}, {"server_lead_ip", tracker.serverLeadRate}, {"captcha_ip", tracker.captchaRate},
		{"chat_visitor", chatVisitor.visitorRate}, {"chat_ip", chatVisitor.ipRate},
		{"callback_site", cbSite}, {"callback_visitor", cbVisitor}, {"callback_ip", cbIP},
		{"signin_ip", dash.signIn.ip}, {"signin_account_ip", dash.signIn.accountIP}, {"signin_unknown_account", dash.signIn.unknown},
		{"reset_ip", dash.forgot.ip}, {"reset_unknown_account", dash.forgot.unknown},
	}
	// The tracker's buckets are off (nil) with a negative rate.
	if tracker.ipRate != nil {
		s.limiters = append(s.limiters, namedLimiter{"tracker_ip", tracker.ipRate})
	}
	if tracker.siteRate != nil {
		s.limiters = append(s.limiters, namedLimiter{"tracker_site", tracker.siteRate})
	}
	return r
}

// namedLimiter is a rate limiter bounded in keys, by the name its
// evictions are counted under in the metrics
// (appliance_ratelimit_evictions_total{limiter}). The limiters of keys the
// caller bounds (the accounts that exist) forget none and are not listed.
type namedLimiter struct {
	name    string
	limiter interface{ Evicted() uint64 }
}

func (s *Server) healthz(ctx *fasthttp.RequestCtx) error {
	// A read proves the store answers; the writer is checked by every write.
	if _, err := s.db.Get(store.MetaKey("seq")); err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	if err := s.db.CheckDiskSpace(); err != nil {
		ctx.Response.Header.Set("Retry-After", diskFullRetry)
		return errorf(fasthttp.StatusServiceUnavailable, "disk full: reads work, writes are refused until space is freed on the server's disk")
	}
	writeJSON(ctx, fasthttp.StatusOK, map[string]any{"success": true, "result": map[string]string{"status": "ok", "version": s.opts.Version}})
	return nil
}
