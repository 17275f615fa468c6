package httpd

import (
	"errors"
	"time"

	"github.com/valyala/fasthttp"

	"appliance/httpd/ratelimit"
	"appliance/store"
)

// publicRoutes is every route of the public server, in one table. Each
// names the permission its caller needs (roles.go); the dispatcher checks
// it before the handler runs.
func (s *Server) publicRoutes() *router {
	r := newRouter()
	r.api("GET", "/healthz", open, s.healthz)
	r.api("GET", "/metrics", open, s.metrics)

	tracker := &trackerHandlers{
		sites: s.sites, visits: s.visits, numbers: s.numbers, leads: s.leads, callbacks: s.callbacks,
		captcha: s.captcha, snippet: s.snippet,
		ipRate:         s.opts.Limits.perIP(),
		siteRate:       s.opts.Limits.perSite(),
		leadRate:       ratelimit.New(leadsPerMinute, time.Minute, 100_000),
		serverLeadRate: ratelimit.New(serverLeadsPerMinute, time.Minute, 10_000),
		captchaRate:    ratelimit.New(captchasPerMinute, time.Minute, 100_000),
		publicURL:      s.PublicURL(), clientIP: s.clientIP, now: s.opts.Now,
	}
	tracker.mount(r)
	api := &apiHandlers{accounts: s.accounts, numbers: s.numbers, sites: s.sites, hooks: s.hooks, now: s.opts.Now}
	api.mount(r)

	r.page("GET", "/", open, s.home)
	r.page("GET", "/assets/*", open, s.serveAsset)
	r.page("GET", "/login", open, s.loginPage)
	r.page("POST", "/login", open, s.login)
	r.page("POST", "/logout", anyUser, withWho(s.logout))
	r.page("GET", "/setup", open, s.setupPage)
	r.page("POST", "/setup", open, s.setup)
	r.page("GET", "/account", anyUser, withWho(s.accountPage))
	r.page("POST", "/account/password", anyUser, withWho(s.changePassword))
	r.page("POST", "/account/logout-others", anyUser, withWho(s.logoutOthers))
	r.page("GET", "/sites", anyUser, withWho(s.sitesPage))
	r.page("POST", "/sites", changeSites, withWho(s.addSite))
	r.page("GET", "/sites/*", seeReports, withWho(s.sitePage))
	r.page("POST", "/sites/*/origin", changeSites, withWho(s.siteOriginPost))
	r.page("GET", "/sites/*/leads", seeReports, withWho(s.leadsPage))
	r.page("GET", "/sites/*/leads.csv", seeReports, withWho(s.leadsCSV))
	r.page("GET", "/sites/*/webhooks", seeReports, withWho(s.webhooksPage))
	r.page("POST", "/sites/*/webhooks", changeSites, withWho(s.addWebhook))
	r.page("POST", "/sites/*/webhooks/remove", changeSites, withWho(s.removeWebhook))
	r.page("POST", "/sites/*/webhooks/resend", changeSites, withWho(s.resendDelivery))
	r.page("GET", "/sites/*/callbacks", seeCallbacks, withWho(s.callbacksPage))
	r.page("POST", "/sites/*/callbacks", changeSites, withWho(s.callbackSettingsPost))
	r.page("GET", "/sites/*/callbacks.csv", seeCallbacks, withWho(s.callbacksCSV))
	r.page("GET", "/sites/*/numbers", seeReports, withWho(s.numbersPage))
	r.page("POST", "/sites/*/numbers", changeSites, withWho(s.numbersPost))
	r.page("GET", "/sites/*/calls", seeReports, withWho(s.callsPage))
	r.page("GET", "/sites/*/calls.csv", seeReports, withWho(s.callsCSV))
	return r
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
