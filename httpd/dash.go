package httpd

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"html/template"
	"net"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/valyala/fasthttp"

	"appliance/httpd/accounts"
	"appliance/httpd/callbacks"
	"appliance/httpd/chats"
	"appliance/httpd/i18n"
	"appliance/httpd/leads"
	"appliance/httpd/reports"
	"appliance/httpd/sites"
	"appliance/httpd/visitors"
	"appliance/httpd/visits"
	"appliance/httpd/webhooks"
	"appliance/numbers/tracking"
	"appliance/store"
)

// dashboardHandlers serve the dashboard: HTML pages for signed-in users
// (a session cookie, the CSRF token on every POST, a role per route), plus
// sign-in, setup and the pages' assets. They hold only what they use.
type dashboardHandlers struct {
	accounts  *accounts.Accounts
	chats     *chats.Service
	signedOut func(email string) // the chat presence a sign-out ends (chatConsoleHandlers.signedOut)
	sites     *sites.Registry
	visits    *visits.Tracker
	numbers   *tracking.Tracker
	leads     *leads.Service
	callbacks *callbacks.Service
	hooks     *webhooks.Hooks
	reports   *reports.Service
	cards     *visitors.Reader // the console's visitor panel (GET /chat/visitor)
	pages     *pages
	signIn    signInLimits
	mail      *accountMail // reset and invite emails; nil without --smtp
	forgot    forgotLimits
	digests   *digests
	rebuilds  *rebuilds

	publicURL   string // ends in "/"
	publicHost  string // for the install code
	cookies     dashCookies
	phoneRegion string
	clientIP    func(*fasthttp.RequestCtx) string
	now         func() time.Time
}

// mount registers the dashboard's routes, each with the permission its
// caller needs (roles.go).
func (s *dashboardHandlers) mount(r *router) {
	r.page("GET", "/", open, s.home)
	r.page("GET", "/assets/*", open, s.serveAsset)
	r.page("GET", "/login", open, s.loginPage)
	r.page("POST", "/login", open, s.login)
	r.page("POST", "/logout", anyUser, withWho(s.logout))
	r.page("POST", "/lang", open, s.setLang)
	r.page("GET", "/setup", open, s.setupPage)
	r.page("POST", "/setup", open, s.setup)
	r.page("GET", "/account", anyUser, withWho(s.accountPage))
	r.page("POST", "/account/password", anyUser, withWho(s.changePassword))
	r.page("POST", "/account/logout-others", anyUser, withWho(s.logoutOthers))
	s.mountReset(r)
	s.mountDigests(r)
	s.mountTeam(r)
	r.page("GET", "/sites", anyUser, withWho(s.sitesPage))
	r.page("POST", "/sites", changeSites, withWho(s.addSite))
	r.page("GET", "/sites/*", seeReports, withWho(s.sitePage))
	r.page("POST", "/sites/*/origin", changeSites, withWho(s.siteOriginPost))
	r.page("GET", "/sites/*/settings", changeSites, withWho(s.settingsPage))
	r.page("POST", "/sites/*/settings", changeSites, withWho(s.settingsPost))
	r.page("POST", "/sites/*/reports/rebuild", changeSites, withWho(s.rebuildPost))
	r.api("GET", "/sites/*/reports/rebuild", changeSites, withWho(s.rebuildState)) // JSON, for the settings page
	r.page("POST", "/sites/*/remove", changeSites, withWho(s.removeSitePost))
	r.page("GET", "/sites/*/leads", seeReports, withWho(s.leadsPage))
	r.page("GET", "/sites/*/leads.csv", seeReports, withWho(s.leadsCSV))
	r.page("POST", "/sites/*/leads/mark", markLeads, withWho(s.markPost("leads", "lead", s.leads.Mark)))
	r.page("GET", "/sites/*/webhooks", seeReports, withWho(s.webhooksPage))
	r.page("POST", "/sites/*/webhooks", changeSites, withWho(s.addWebhook))
	r.page("POST", "/sites/*/webhooks/remove", changeSites, withWho(s.removeWebhook))
	r.page("POST", "/sites/*/webhooks/change", changeSites, withWho(s.changeWebhook))
	r.page("POST", "/sites/*/webhooks/test", changeSites, withWho(s.testWebhook))
	r.page("POST", "/sites/*/webhooks/resend", changeSites, withWho(s.resendDelivery))
	r.page("GET", "/sites/*/callbacks", seeCallbacks, withWho(s.callbacksPage))
	r.page("POST", "/sites/*/callbacks", changeSites, withWho(s.callbackSettingsPost))
	r.page("GET", "/sites/*/callbacks.csv", seeCallbacks, withWho(s.callbacksCSV))
	r.page("POST", "/sites/*/callbacks/mark", markCallbacks, withWho(s.markPost("callbacks", "callback", s.callbacks.Mark)))
	r.page("GET", "/sites/*/numbers", seeReports, withWho(s.numbersPage))
	r.page("POST", "/sites/*/numbers", changeSites, withWho(s.numbersPost))
	r.page("GET", "/sites/*/calls", seeReports, withWho(s.callsPage))
	r.page("GET", "/sites/*/calls.csv", seeReports, withWho(s.callsCSV))
	r.page("GET", "/chat", useChat, withWho(s.chatConsole))
	r.page("GET", "/chat/visitor", useChat, withWho(s.chatVisitor))
	r.page("GET", "/chat/waiting", useChat, withWho(s.chatWaiting))
	r.page("GET", "/sites/*/chat", seeReports, withWho(s.chatSitePage))
	r.page("POST", "/sites/*/chat", changeSites, withWho(s.chatSettingsPost))
	r.page("GET", "/sites/*/chats.csv", seeReports, withWho(s.chatsCSV))
	s.mountReports(r)
}

// signedIn is the user behind a dashboard request.
type signedIn struct {
	user    store.User
	session store.LoginSession
}

func tokenEqual(a, b string) bool {
	return a != "" && subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

// preCSRF returns the pre-sign-in form token, setting its cookie when new.
func (s *dashboardHandlers) preCSRF(ctx *fasthttp.RequestCtx) string {
	if t := string(ctx.Request.Header.Cookie(s.cookies.csrf)); len(t) == 43 {
		return t
	}
	t := accounts.RandomToken()
	s.cookies.set(ctx, s.cookies.csrf, t, time.Hour)
	return t
}

func (s *dashboardHandlers) checkPreCSRF(ctx *fasthttp.RequestCtx) error {
	if !tokenEqual(string(ctx.PostArgs().Peek("csrf")), string(ctx.Request.Header.Cookie(s.cookies.csrf))) {
		return errorf(fasthttp.StatusForbidden, "This form has expired; reload the page and try again.")
	}
	return nil
}

func (s *dashboardHandlers) home(ctx *fasthttp.RequestCtx) error {
	has, err := s.accounts.HasUsers(ctx)
	if err != nil {
		return err
	}
	if !has {
		tr := s.pages.printer(ctx, nil)
		return s.pages.render(ctx, fasthttp.StatusOK, "error", view{Title: "Setup needed", Data: struct {
			Status  string
			Message string
		}{tr.T("Setup needed"), tr.T("Open the one-time setup link printed by `appliance serve` to create the owner account.")}})
	}
	s.seeOther(ctx, "/sites")
	return nil
}

// loginData is the sign-in form: the address as sent, and whether a
// forgotten password can be reset by email (an SMTP server is set).
type loginData struct {
	Email string
	Mail  bool
}

func (s *dashboardHandlers) loginPage(ctx *fasthttp.RequestCtx) error {
	return s.pages.render(ctx, fasthttp.StatusOK, "login", view{Title: "Sign in", CSRF: s.preCSRF(ctx), Data: loginData{Mail: s.mail != nil}})
}

func (s *dashboardHandlers) login(ctx *fasthttp.RequestCtx) error {
	if err := s.checkPreCSRF(ctx); err != nil {
		return err
	}
	email := strings.TrimSpace(string(ctx.PostArgs().Peek("email")))
	account, ip, now := strings.ToLower(email), s.clientIP(ctx), s.now()
	if ok, wait, why := s.signIn.allow(account, ip, now); !ok {
		ctx.Response.Header.Set("Retry-After", strconv.Itoa(int((wait+time.Second-1)/time.Second)))
		return s.pages.render(ctx, fasthttp.StatusTooManyRequests, "login", view{Title: "Sign in", CSRF: s.preCSRF(ctx),
			Error: tooManyAttempts(s.pages.printer(ctx, nil), why, wait), Data: loginData{Email: email, Mail: s.mail != nil}})
	}
	token, sess, err := s.accounts.Login(ctx, email, string(ctx.PostArgs().Peek("password")))
	if errors.Is(err, accounts.ErrBadLogin) {
		s.signIn.failed(account, ip, now)
		return s.pages.render(ctx, fasthttp.StatusUnauthorized, "login", view{Title: "Sign in", CSRF: s.preCSRF(ctx),
			Error: "Wrong email or password.", Field: "password", Data: loginData{Email: email, Mail: s.mail != nil}})
	}
	if err != nil {
		return err
	}
	s.cookies.set(ctx, s.cookies.session, token, accounts.SessionTTL)
	if u, err := s.accounts.User(sess.Email); err == nil && u.Lang != "" {
		// This browser speaks the user's language also once signed out.
		s.cookies.set(ctx, langCookie, u.Lang, 365*24*time.Hour)
	}
	s.seeOther(ctx, "/sites")
	return nil
}

func (s *dashboardHandlers) logout(ctx *fasthttp.RequestCtx, who signedIn) error {
	token, _ := s.cookies.token(ctx) // authorize took it
	if err := s.accounts.Logout(ctx, token); err != nil {
		return err
	}
	s.signedOut(who.user.Email)
	s.cookies.set(ctx, s.cookies.session, "", -1)
	s.seeOther(ctx, "/login")
	return nil
}

func (s *dashboardHandlers) accountPage(ctx *fasthttp.RequestCtx, who signedIn) error {
	v := view{Title: "Your account", User: &who.user, CSRF: who.session.CSRF}
	switch string(ctx.QueryArgs().Peek("done")) {
	case "password":
		v.Flash = "Password changed. Every other browser was signed out."
	case "sessions":
		v.Flash = "Every other browser was signed out."
	case "reset":
		v.Flash = "Your new password is set and you are signed in. Every other browser was signed out."
	case "digests":
		v.Flash = "Your report digests are saved."
	}
	v.Data = s.digestsData(who.user)
	return s.pages.render(ctx, fasthttp.StatusOK, "account", v)
}

// changePassword sets a new password for the signed-in user, who must
// give the current one; the user's other sessions end and this browser
// gets a fresh session.
func (s *dashboardHandlers) changePassword(ctx *fasthttp.RequestCtx, who signedIn) error {
	ip, now := s.clientIP(ctx), s.now()
	if ok, wait, why := s.signIn.allow(who.user.Email, ip, now); !ok {
		ctx.Response.Header.Set("Retry-After", strconv.Itoa(int((wait+time.Second-1)/time.Second)))
		return s.pages.render(ctx, fasthttp.StatusTooManyRequests, "account", view{Title: "Your account", User: &who.user, CSRF: who.session.CSRF,
			Error: tooManyAttempts(s.pages.printer(ctx, &who.user), why, wait)})
	}
	args := ctx.PostArgs()
	token, _, err := s.accounts.ChangePassword(ctx, who.user.Email, string(args.Peek("current")), string(args.Peek("password")))
	if errors.Is(err, accounts.ErrBadLogin) {
		s.signIn.failed(who.user.Email, ip, now)
	}
	if errors.Is(err, accounts.ErrBadLogin) || errors.Is(err, accounts.ErrInvalid) {
		msg, field := errText(s.pages.printer(ctx, &who.user), err), passwordField(string(args.Peek("password")))
		if errors.Is(err, accounts.ErrBadLogin) {
			msg, field = "The current password is wrong.", "current"
		}
		return s.pages.render(ctx, fasthttp.StatusBadRequest, "account", view{Title: "Your account", User: &who.user, CSRF: who.session.CSRF, Error: msg, Field: field})
	}
	if err != nil {
		return err
	}
	s.cookies.set(ctx, s.cookies.session, token, accounts.SessionTTL)
	s.seeOther(ctx, "/account?done=password")
	return nil
}

// logoutOthers ends every session of the signed-in user but this one.
func (s *dashboardHandlers) logoutOthers(ctx *fasthttp.RequestCtx, who signedIn) error {
	token, _, err := s.accounts.EndOtherSessions(ctx, who.user.Email)
	if err != nil {
		return err
	}
	s.cookies.set(ctx, s.cookies.session, token, accounts.SessionTTL)
	s.seeOther(ctx, "/account?done=sessions")
	return nil
}

// setLang is the header's language switch, POST /lang with lang=ru|en
// and back, the page to return to: the browser keeps the choice in a
// cookie and a signed-in user's record keeps it for every browser. A
// signed-in form carries the session's CSRF token, any other the
// pre-sign-in one.
func (s *dashboardHandlers) setLang(ctx *fasthttp.RequestCtx) error {
	l, ok := i18n.Parse(string(ctx.PostArgs().Peek("lang")))
	if !ok {
		return errorf(fasthttp.StatusBadRequest, "No such language.")
	}
	if _, sess, user, err := s.cookies.live(ctx, s.accounts, s.now()); err == nil {
		if !tokenEqual(string(ctx.PostArgs().Peek("csrf")), sess.CSRF) {
			return errorf(fasthttp.StatusForbidden, "This form has expired; reload the page and try again.")
		}
		if err := s.accounts.SetLang(ctx, user.Email, string(l)); err != nil {
			return err
		}
	} else if err := s.checkPreCSRF(ctx); err != nil {
		return err
	}
	s.cookies.set(ctx, langCookie, string(l), 365*24*time.Hour)
	back := string(ctx.PostArgs().Peek("back")) // a path on this server: seeOther puts the public URL before it
	if !strings.HasPrefix(back, "/") {
		back = "/"
	}
	s.seeOther(ctx, back)
	return nil
}

type setupData struct{ Token, Email string }

// setupGone answers 404 once a user exists: there is no setup any more,
// whatever token a request carries.
func (s *dashboardHandlers) setupGone(ctx *fasthttp.RequestCtx) error {
	open, err := s.accounts.SetupOpen(ctx)
	if err != nil {
		return err
	}
	if !open {
		return errorf(fasthttp.StatusNotFound, "No such page: setup is done. Sign in instead.")
	}
	return nil
}

func (s *dashboardHandlers) setupPage(ctx *fasthttp.RequestCtx) error {
	if err := s.setupGone(ctx); err != nil {
		return err
	}
	token := string(ctx.QueryArgs().Peek("token"))
	if !s.accounts.CheckSetupToken(ctx, token) {
		return accounts.ErrSetupUsed
	}
	return s.pages.render(ctx, fasthttp.StatusOK, "setup", view{Title: "Setup", CSRF: s.preCSRF(ctx), Data: setupData{Token: token}})
}

func (s *dashboardHandlers) setup(ctx *fasthttp.RequestCtx) error {
	if err := s.setupGone(ctx); err != nil {
		return err
	}
	if err := s.checkPreCSRF(ctx); err != nil {
		return err
	}
	args := ctx.PostArgs()
	token, email := string(args.Peek("token")), string(args.Peek("email"))
	cookie, _, err := s.accounts.CompleteSetup(ctx, token, email, string(args.Peek("password")))
	if errors.Is(err, accounts.ErrSetupDone) {
		return errorf(fasthttp.StatusNotFound, "No such page: setup is done. Sign in instead.")
	}
	if errors.Is(err, accounts.ErrInvalid) {
		field := passwordField(string(args.Peek("password")))
		if _, bad := visits.NormalizeEmail(email); bad != nil {
			field = "email" // CompleteSetup checks the address first
		}
		return s.pages.render(ctx, fasthttp.StatusBadRequest, "setup", view{Title: "Setup", CSRF: s.preCSRF(ctx),
			Error: errText(s.pages.printer(ctx, nil), err), Field: field, Data: setupData{Token: token, Email: email}})
	}
	if err != nil {
		return err
	}
	s.cookies.set(ctx, s.cookies.session, cookie, accounts.SessionTTL)
	s.seeOther(ctx, "/sites")
	return nil
}

// capitalize is s with its first letter upper-cased (any alphabet).
func capitalize(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	if n == 0 {
		return s
	}
	return string(unicode.ToUpper(r)) + s[n:]
}

// errText is err's message for a page in the reader's language (tr): its
// translation (translateError), capitalized; for an error that is not a
// user's to see, its text (the caller logs or fails on those).
func errText(tr i18n.Printer, err error) string {
	ue := asUserError(err)
	if ue == nil {
		return capitalize(err.Error())
	}
	return capitalize(translateError(tr, ue))
}

// passwordField is the key of a form's new password field ("password")
// when pw breaks the rule of a password, for a refusal of ErrInvalid: it is
// about that field; else "", a refusal about no one field.
func passwordField(pw string) string {
	if accounts.PasswordRules(pw) != nil {
		return "password"
	}
	return ""
}

// refusedField is the form field (its key in the page's template:
// invalidAttrs) a refusal err is about: of pairs, a message format's
// beginning and then a field's key, the key of the first that begins err's
// format (usererr's MessageFormat, else its message); def when none does.
func refusedField(err error, def string, pairs ...string) string {
	ue := asUserError(err)
	if ue == nil {
		return def
	}
	format := ue.UserMessage()
	if f, ok := ue.(interface{ MessageFormat() (string, []any) }); ok {
		format, _ = f.MessageFormat()
	}
	for i := 0; i+1 < len(pairs); i += 2 {
		if strings.HasPrefix(format, pairs[i]) {
			return pairs[i+1]
		}
	}
	return def
}

type sitesData struct {
	Sites        []*store.Site
	Name, Domain string
	Unknown      []callRow // latest calls to numbers no site has
	Zone         string    // the zone of Unknown's times (accountZone)
	// FailingHooks counts each site's failing webhook endpoints
	// (webhooks.FailingAfter), by site id: the list links them.
	FailingHooks map[uint32]int
}

// maxUnknownShown bounds the calls to unknown numbers on the sites page.
const maxUnknownShown = 20

func (s *dashboardHandlers) sitesPage(ctx *fasthttp.RequestCtx, who signedIn) error {
	d := sitesData{Sites: s.sites.List()}
	// The PBX reports calls to every number it has; one that no site has
	// (a number not entered yet, a typo) would otherwise go unseen.
	if !seeReports.allows(who.user.Role) {
		return s.pages.render(ctx, fasthttp.StatusOK, "sites", view{Title: "Sites", User: &who.user, CSRF: who.session.CSRF, Data: d})
	}
	// Calls no site has belong to no site: the team and tokens pages' zone.
	tr := s.pages.printer(ctx, &who.user)
	loc, zone := s.accountZone()
	d.Zone = zone
	err := s.numbers.ListCalls(ctx, 0, s.now().AddDate(0, 0, -30), maxUnknownShown, func(c store.Call) bool {
		d.Unknown = append(d.Unknown, callRow{Call: c, When: tr.DateTime(time.UnixMilli(c.Time).In(loc))})
		return true
	})
	if err != nil {
		return err
	}
	health, err := s.hooks.AllHealth(ctx)
	if err != nil {
		return err
	}
	for _, hl := range health {
		if s.hooks.Failing(hl) {
			if d.FailingHooks == nil {
				d.FailingHooks = map[uint32]int{}
			}
			d.FailingHooks[hl.Site]++
		}
	}
	v := view{Title: "Sites", User: &who.user, CSRF: who.session.CSRF, Data: d}
	if ctx.QueryArgs().Has("added") {
		v.Flash = "Site added. Its install code is below."
	}
	if ctx.QueryArgs().Has("removed") {
		v.Flash = "Site removed. What it gathered stays in the store and in your backups."
	}
	return s.pages.render(ctx, fasthttp.StatusOK, "sites", v)
}

func (s *dashboardHandlers) addSite(ctx *fasthttp.RequestCtx, who signedIn) error {
	name, domain := string(ctx.PostArgs().Peek("name")), string(ctx.PostArgs().Peek("domain"))
	site, err := s.sites.Create(ctx, name, sites.SplitDomains(domain))
	if err != nil {
		if ue := asUserError(err); ue != nil && ue.Status() == fasthttp.StatusBadRequest {
			return s.pages.render(ctx, fasthttp.StatusBadRequest, "sites", view{Title: "Sites", User: &who.user, CSRF: who.session.CSRF,
				Error: errText(s.pages.printer(ctx, &who.user), err), Field: refusedField(err, "domain", "name must be", "name"),
				Data: sitesData{Sites: s.sites.List(), Name: name, Domain: domain}})
		}
		return err
	}
	// The adding browser's zone (dashboard.js), when it names one: the
	// site's days are then its owner's, not the server's. A zone the
	// server does not know leaves the site on the server's, as before.
	if zone, err := sites.ParseTimeZone(string(ctx.PostArgs().Peek("tz"))); err == nil && zone != "" {
		if _, err := s.sites.SetTimeZone(ctx, site.Key, zone); err != nil {
			return err
		}
	}
	s.seeOther(ctx, "/sites/"+site.Key+"?added=1")
	return nil
}

// siteFromPath finds the site of a /sites/KEY[/...] path.
func (s *dashboardHandlers) siteFromPath(ctx *fasthttp.RequestCtx) (*store.Site, string, error) {
	rest := strings.TrimPrefix(string(ctx.Path()), "/sites/")
	key, sub, _ := strings.Cut(rest, "/")
	site, err := s.sites.ByKey(key)
	if err != nil {
		return nil, "", errorf(fasthttp.StatusNotFound, "No such site.")
	}
	return site, sub, nil
}

type siteData struct {
	Site        *store.Site
	InstallCode string
	LocalHost   string // the install code's host when it is localhost/a loopback address
	Visits      visitsView
}

// zoneLabel names loc for a table's heading: its IANA name
// (Europe/Moscow), or for the server's own zone its abbreviation at now
// (MSK, UTC).
func zoneLabel(loc *time.Location, now time.Time) string {
	if loc == time.Local {
		name, _ := now.In(loc).Zone()
		return name
	}
	return loc.String()
}

// loopbackHost is hostport when its host is localhost or a loopback
// address, which pages on other machines cannot reach; else "".
func loopbackHost(hostport string) string {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	host = strings.ToLower(strings.Trim(host, "[]"))
	if ip := net.ParseIP(host); host == "localhost" || strings.HasSuffix(host, ".localhost") || ip != nil && (ip.IsLoopback() || ip.IsUnspecified()) {
		return hostport
	}
	return ""
}

func (s *dashboardHandlers) sitePage(ctx *fasthttp.RequestCtx, who signedIn) error {
	site, sub, err := s.siteFromPath(ctx)
	if err != nil {
		return err
	}
	if sub != "" {
		return errorf(fasthttp.StatusNotFound, "No such page.")
	}
	recent, err := s.siteVisits(ctx, site, s.pages.printer(ctx, &who.user))
	if err != nil {
		return err
	}
	v := view{Title: site.Name, TitleIsData: true, User: &who.user, CSRF: who.session.CSRF,
		Data: siteData{Site: site, InstallCode: installCode(s.publicHost, site.Key), LocalHost: loopbackHost(s.publicHost), Visits: recent}}
	if ctx.QueryArgs().Has("added") {
		v.Flash = "Site added. Paste the install code below into every page of the site."
	}
	if string(ctx.QueryArgs().Peek("done")) == "origin" {
		v.Flash = "Saved: where page views may come from."
	}
	return s.renderSite(ctx, who, site, "site", v)
}

// siteOriginPost is POST /sites/KEY/origin: whether the site takes page
// views from pages on any domain (any_origin=1) or only from its own
// domains and their sub-domains, as `appliance site set --any-origin`.
func (s *dashboardHandlers) siteOriginPost(ctx *fasthttp.RequestCtx, who signedIn) error {
	site, _, err := s.siteFromPath(ctx)
	if err != nil {
		return err
	}
	if _, err := s.sites.SetAnyOrigin(ctx, site.Key, string(ctx.PostArgs().Peek("any_origin")) == "1"); err != nil {
		return err
	}
	s.seeOther(ctx, "/sites/"+site.Key+"?done=origin")
	return nil
}

// InstallCode is the snippet a site owner pastes into their pages (SPEC §4).
func (s *Server) InstallCode(siteKey string) string { return installCode(s.public.Host, siteKey) }

// installCode is the snippet of the site with siteKey, for a server
// browsers reach at host.
func installCode(host, siteKey string) string {
	host = "//" + host + "/"
	return fmt.Sprintf(`<script>
var __cs = __cs || [];
__cs.push(["setCsAccount", "%s"]);
__cs.push(["setCsHost", "%s"]);
</script>
<script async src="%sstatic/cs.min.js"></script>`, template.JSEscapeString(siteKey), host, host)
}

// SetupURL returns a fresh one-time setup link when the store has no users,
// else "" (and any setup token left in the store is deleted).
func (s *Server) SetupURL(ctx context.Context) (string, error) {
	token, err := s.accounts.NewSetupToken(ctx)
	if errors.Is(err, accounts.ErrSetupDone) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	return s.PublicURL() + "setup?token=" + token, nil
}
