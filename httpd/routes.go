package httpd

import (
	"errors"

	"github.com/valyala/fasthttp"

	"appliance/store"
)

// publicRoutes is every route of the public server, in one table.
func (s *Server) publicRoutes() *router {
	r := newRouter()
	r.api("GET", "/healthz", s.healthz)
	r.api("GET", "/metrics", s.metrics)

	r.api("GET", snippetCorePath, s.serveSnippetCore)
	r.api("GET", s.snippet.widgetPath, s.serveSnippetWidget)

	r.api("POST", "/t/v1/hit", s.tracker(s.trackHit))
	r.api("POST", "/t/v1/event", s.tracker(s.trackEvent))
	r.api("POST", "/t/v1/visitor", s.tracker(s.trackVisitor))
	r.api("POST", "/t/v1/property", s.tracker(s.trackProperty))
	r.api("POST", "/t/v1/captcha", s.tracker(s.trackCaptcha))
	r.api("GET", captchaPath+"*", s.tracker(s.captchaImage))
	r.api("POST", "/t/v1/callback", s.tracker(s.trackCallback))
	r.api("GET", "/t/v1/widget", s.tracker(s.widgetSettings))
	r.api("POST", "/t/v1/lease", s.tracker(s.trackLease))
	r.api("POST", "/api/v1/calls", s.apiAuth(s.postCall))
	r.api("GET", "/api/v1/attribution", s.apiAuth(s.getAttribution))
	r.api("GET", "/vc/s/", s.tracker(s.vcSet))
	r.api("OPTIONS", "/vc/s/", s.tracker(s.trackerPreflight))
	r.api("OPTIONS", "/t/v1/*", s.tracker(s.trackerPreflight))
	r.api("GET", "/t/v1/*", s.tracker(s.trackerFallback))
	r.api("POST", "/t/v1/*", s.tracker(s.trackerFallback))

	r.api("POST", "/t/v1/lead", s.trackerLead)
	r.api("POST", "/api/add_offline_message/", s.offlineMessage)
	r.api("POST", "/api/add_offline_message", s.offlineMessage)
	r.api("OPTIONS", "/api/add_offline_message/", s.tracker(s.trackerPreflight))

	r.page("GET", "/", s.home)
	r.page("GET", "/assets/*", s.serveAsset)
	r.page("GET", "/login", s.loginPage)
	r.page("POST", "/login", s.login)
	r.page("POST", "/logout", s.authed(s.logout))
	r.page("GET", "/setup", s.setupPage)
	r.page("POST", "/setup", s.setup)
	r.page("GET", "/account", s.authed(s.accountPage))
	r.page("POST", "/account/password", s.authed(s.changePassword))
	r.page("POST", "/account/logout-others", s.authed(s.logoutOthers))
	r.page("GET", "/sites", s.authed(s.sitesPage))
	r.page("POST", "/sites", s.authed(s.addSite))
	r.page("GET", "/sites/*", s.authed(s.sitePage))
	r.page("GET", "/sites/*/leads", s.authed(s.leadsPage))
	r.page("GET", "/sites/*/leads.csv", s.authed(s.leadsCSV))
	r.page("GET", "/sites/*/webhooks", s.authed(s.webhooksPage))
	r.page("POST", "/sites/*/webhooks", s.authed(s.addWebhook))
	r.page("POST", "/sites/*/webhooks/remove", s.authed(s.removeWebhook))
	r.page("POST", "/sites/*/webhooks/resend", s.authed(s.resendDelivery))
	r.page("GET", "/sites/*/callbacks", s.authed(s.callbacksPage))
	r.page("POST", "/sites/*/callbacks", s.authed(s.callbackSettingsPost))
	r.page("GET", "/sites/*/callbacks.csv", s.authed(s.callbacksCSV))
	r.page("GET", "/sites/*/numbers", s.authed(s.numbersPage))
	r.page("POST", "/sites/*/numbers", s.authed(s.numbersPost))
	r.page("GET", "/sites/*/calls", s.authed(s.callsPage))
	r.page("GET", "/sites/*/calls.csv", s.authed(s.callsCSV))
	return r
}

// adminRoutes is the admin API served on the unix socket.
func (s *Server) adminRoutes() *router {
	r := newRouter()
	r.api("GET", "/admin/ping", s.adminPing)
	r.api("GET", "/admin/backup", s.adminBackup)
	r.api("GET", "/admin/sites", s.adminListSites)
	r.api("POST", "/admin/sites", s.adminAddSite)
	r.api("POST", "/admin/users", s.adminAddUser)
	r.api("POST", "/admin/users/password", s.adminSetPassword)
	r.api("POST", "/admin/users/logout", s.adminEndSessions)
	r.api("POST", "/admin/tokens", s.adminAddToken)
	r.api("GET", "/admin/webhooks", s.adminListWebhooks)
	r.api("POST", "/admin/webhooks", s.adminAddWebhook)
	r.api("POST", "/admin/webhooks/remove", s.adminRemoveWebhook)
	r.api("POST", "/admin/callbacks", s.adminSetCallbacks)
	r.api("GET", "/admin/numbers", s.adminNumbers)
	r.api("POST", "/admin/numbers/site", s.adminSetSiteNumbers)
	r.api("POST", "/admin/numbers/static", s.adminAddStatic)
	r.api("POST", "/admin/numbers/static/remove", s.adminRemoveStatic)
	r.api("POST", "/admin/numbers/pool", s.adminAddPool)
	r.api("POST", "/admin/numbers/pool/edit", s.adminEditPool)
	r.api("POST", "/admin/numbers/pool/remove", s.adminRemovePool)
	r.api("POST", "/admin/numbers/import", s.adminImport)
	return r
}

func (s *Server) healthz(ctx *fasthttp.RequestCtx) error {
	// A read proves the store answers; the writer is checked by every write.
	if _, err := s.db.Get(store.MetaKey("seq")); err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	writeJSON(ctx, fasthttp.StatusOK, map[string]any{"success": true, "result": map[string]string{"status": "ok", "version": s.opts.Version}})
	return nil
}
