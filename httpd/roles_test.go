package httpd

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttputil"

	"appliance/httpd/accounts"
)

// The least role each route needs, written out here independently of the
// permissions in routes.go: a route added without an entry, or with a
// permission that does not match, fails TestEveryRouteChecksItsRole.
// "open" is anyone, signed in or not.
var leastRole = map[string]string{
	"GET /healthz":                      "open",
	"GET /metrics":                      "open",
	"GET /debug/pprof/*":                "open", // the metrics token, checked by the handler
	"GET /static/cs.min.js":             "open",
	"GET <widget>":                      "open",
	"GET /static/cs-widget.*":           "open", // widget chunks of earlier versions (widget_kept.go)
	"POST /t/v1/hit":                    "open",
	"POST /t/v1/event":                  "open",
	"POST /t/v1/visitor":                "open",
	"POST /t/v1/property":               "open",
	"POST /t/v1/captcha":                "open",
	"GET /t/v1/captcha/*":               "open",
	"POST /t/v1/callback":               "open",
	"GET /t/v1/widget":                  "open",
	"POST /t/v1/lease":                  "open",
	"POST /api/v1/calls":                "open", // an API token, checked by the handler
	"GET /api/v1/attribution":           "open",
	"GET /api/v1/reports/sources":       "open", // an API token, checked by the handler
	"GET /api/v1/reports/timeseries":    "open",
	"GET /api/v1/visitors/*":            "open", // an API token, checked by the handler
	"GET /vc/s/":                        "open",
	"GET /img/phone":                    "open",
	"OPTIONS /vc/s/":                    "open",
	"OPTIONS /t/v1/*":                   "open",
	"GET /t/v1/*":                       "open",
	"POST /t/v1/*":                      "open",
	"POST /t/v1/lead":                   "open",
	"POST /api/add_offline_message/":    "open",
	"POST /api/add_offline_message":     "open",
	"OPTIONS /api/add_offline_message/": "open",
	"GET /t/v1/chat/ws":                 "open", // the visitor's ci+key, checked in the socket's hello
	"POST /t/v1/chat":                   "open",
	"GET /t/v1/chat/status":             "open",
	"GET /api/v1/chats":                 "open",
	"GET /api/v1/chats/*/messages":      "open",
	"POST /api/v1/chats/*/messages":     "open",
	"POST /api/v1/chats/*/close":        "open",
	"POST /api/v1/chats/*/transfer":     "open", // an API token, checked by the handler
	"POST /api/v1/operators/presence":   "open",
	"GET /api/v1/leads":                 "open", // an API token, checked by the handler
	"POST /api/v1/leads/*/status":       "open",
	"GET /api/v1/callbacks":             "open",
	"POST /api/v1/callbacks/*/status":   "open",
	"GET /":                             "open",
	"GET /assets/*":                     "open",
	"GET /login":                        "open",
	"POST /login":                       "open",
	"POST /lang":                        "open",
	"GET /setup":                        "open",
	"POST /setup":                       "open",
	"GET /invite":                       "open",
	"POST /invite":                      "open",
	"GET /forgot":                       "open",
	"POST /forgot":                      "open", // the pre-sign-in CSRF token, checked by the handler
	"GET /reset":                        "open", // the reset link's token is the credential
	"GET /digest/unsubscribe":           "open", // the email's signed token is the credential; GET only shows a button
	"POST /digest/unsubscribe":          "open",
	"POST /reset":                       "open",

	"POST /logout":                  accounts.RoleOperator,
	"GET /chat/ws":                  accounts.RoleOperator,
	"GET /account":                  accounts.RoleOperator,
	"POST /account/password":        accounts.RoleOperator,
	"POST /account/logout-others":   accounts.RoleOperator,
	"GET /sites":                    accounts.RoleOperator,
	"GET /sites/*/callbacks":        accounts.RoleOperator,
	"GET /sites/*/callbacks.csv":    accounts.RoleOperator,
	"POST /sites/*/callbacks/mark":  accounts.RoleOperator,
	"GET /chat":                     accounts.RoleOperator,
	"GET /chat/waiting":             accounts.RoleOperator,
	"GET /chat/visitor":             accounts.RoleOperator,
	"POST /sites/*/leads/mark":      accounts.RoleManager,
	"POST /account/digests":         accounts.RoleManager,
	"POST /sites":                   accounts.RoleManager,
	"GET /sites/*":                  accounts.RoleManager,
	"POST /sites/*/origin":          accounts.RoleManager,
	"GET /sites/*/leads":            accounts.RoleManager,
	"GET /sites/*/leads.csv":        accounts.RoleManager,
	"GET /sites/*/webhooks":         accounts.RoleManager,
	"POST /sites/*/webhooks":        accounts.RoleManager,
	"POST /sites/*/webhooks/remove": accounts.RoleManager,
	"POST /sites/*/webhooks/change": accounts.RoleManager,
	"POST /sites/*/webhooks/test":   accounts.RoleManager,
	"POST /sites/*/webhooks/resend": accounts.RoleManager,
	"POST /sites/*/callbacks":       accounts.RoleManager,
	"GET /sites/*/numbers":          accounts.RoleManager,
	"POST /sites/*/numbers":         accounts.RoleManager,
	"GET /sites/*/calls":            accounts.RoleManager,
	"GET /sites/*/calls.csv":        accounts.RoleManager,
	"GET /sites/*/settings":         accounts.RoleManager,
	"POST /sites/*/settings":        accounts.RoleManager,
	"POST /sites/*/remove":          accounts.RoleManager,
	"POST /sites/*/reports/rebuild": accounts.RoleManager,
	"GET /sites/*/reports/rebuild":  accounts.RoleManager,
	"GET /team":                     accounts.RoleOwner,
	"POST /team/invite":             accounts.RoleOwner,
	"POST /team/invites/cancel":     accounts.RoleOwner,
	"POST /team/role":               accounts.RoleOwner,
	"POST /team/remove":             accounts.RoleOwner,
	"GET /tokens":                   accounts.RoleOwner,
	"POST /tokens":                  accounts.RoleOwner,
	"POST /tokens/revoke":           accounts.RoleOwner,
	"POST /tokens/change":           accounts.RoleOwner,
	"GET /sites/*/chat":             accounts.RoleManager,
	"POST /sites/*/chat":            accounts.RoleManager,
	"GET /sites/*/chats.csv":        accounts.RoleManager,

	"GET /sites/*/reports":                accounts.RoleManager,
	"GET /sites/*/reports/sources.csv":    accounts.RoleManager,
	"GET /sites/*/reports/series.csv":     accounts.RoleManager,
	"GET /sites/*/reports/costs":          accounts.RoleManager,
	"GET /sites/*/reports/devices":        accounts.RoleManager,
	"GET /sites/*/reports/devices.csv":    accounts.RoleManager,
	"POST /sites/*/reports/costs":         accounts.RoleManager,
	"GET /sites/*/reports/pages":          accounts.RoleManager,
	"GET /sites/*/reports/pages.csv":      accounts.RoleManager,
	"GET /sites/*/reports/events":         accounts.RoleManager,
	"GET /sites/*/reports/events.csv":     accounts.RoleManager,
	"GET /sites/*/reports/properties":     accounts.RoleManager,
	"GET /sites/*/reports/properties.csv": accounts.RoleManager,
	"GET /sites/*/visitors/*":             accounts.RoleOperator,
	// The search shows leads and calls, which an operator does not see.
	"GET /sites/*/search": accounts.RoleManager,
}

// leastAdminRole is the same for the admin API: what a dashboard user
// would need for the action. The socket's caller is the owner.
var leastAdminRole = map[string]string{
	"GET /admin/ping":                   "open",
	"GET /admin/backup":                 accounts.RoleOwner,
	"GET /admin/sites":                  accounts.RoleManager,
	"POST /admin/sites":                 accounts.RoleManager,
	"POST /admin/sites/origin":          accounts.RoleManager,
	"POST /admin/sites/time-zone":       accounts.RoleManager,
	"POST /admin/reports/rebuild":       accounts.RoleManager,
	"POST /admin/export/backfill":       accounts.RoleManager,
	"POST /admin/costs":                 accounts.RoleManager,
	"POST /admin/prune":                 accounts.RoleManager,
	"POST /admin/users":                 accounts.RoleOwner,
	"POST /admin/users/password":        accounts.RoleOwner,
	"POST /admin/users/logout":          accounts.RoleOwner,
	"POST /admin/tokens":                accounts.RoleOwner,
	"GET /admin/webhooks":               accounts.RoleManager,
	"POST /admin/webhooks":              accounts.RoleManager,
	"POST /admin/webhooks/remove":       accounts.RoleManager,
	"POST /admin/webhooks/change":       accounts.RoleManager,
	"POST /admin/callbacks":             accounts.RoleManager,
	"GET /admin/numbers":                accounts.RoleManager,
	"POST /admin/numbers/site":          accounts.RoleManager,
	"POST /admin/numbers/static":        accounts.RoleManager,
	"POST /admin/numbers/static/remove": accounts.RoleManager,
	"POST /admin/numbers/pool":          accounts.RoleManager,
	"POST /admin/numbers/pool/edit":     accounts.RoleManager,
	"POST /admin/numbers/pool/remove":   accounts.RoleManager,
	"POST /admin/numbers/import":        accounts.RoleManager,
	"POST /admin/sites/edit":            accounts.RoleManager,
	"POST /admin/sites/remove":          accounts.RoleManager,
	"GET /admin/users":                  accounts.RoleOwner,
	"POST /admin/users/invite":          accounts.RoleOwner,
	"GET /admin/users/invites":          accounts.RoleOwner,
	"POST /admin/users/invites/cancel":  accounts.RoleOwner,
	"POST /admin/users/role":            accounts.RoleOwner,
	"POST /admin/users/remove":          accounts.RoleOwner,
	"GET /admin/tokens":                 accounts.RoleOwner,
	"POST /admin/tokens/revoke":         accounts.RoleOwner,
	"POST /admin/tokens/change":         accounts.RoleOwner,
}

// rank orders the roles: a role may do what any role of lower rank may.
var rank = map[string]int{"open": 0, accounts.RoleOperator: 1, accounts.RoleManager: 2, accounts.RoleOwner: 3}

// routeName is "METHOD path" as registered ("*" kept).
func routeName(r *router, rt *route, widget string) string {
	p := rt.path
	if slices.Contains(r.prefix, rt) {
		p += "*"
	}
	if p == widget {
		p = "<widget>"
	}
	return rt.method + " " + p
}

// routeURL is a concrete path that reaches rt: a site key in place of a
// pattern's "*", something after a prefix.
func routeURL(r *router, rt *route, siteKey string) string {
	if slices.Contains(r.prefix, rt) {
		return rt.path + "x"
	}
	return strings.ReplaceAll(rt.path, "/*/", "/"+siteKey+"/")
}

// Every route, walked for each role and for a stranger: a role the route
// allows gets its answer (whatever the handler says of the empty request),
// a role it does not allow gets 403 with the role message, a stranger is
// sent to sign in. The table of expectations above must name every route.
func TestEveryRouteChecksItsRole(t *testing.T) {
	s, base := startInternal(t, Options{})
	ctx := context.Background()
	site, err := s.sites.Create(ctx, "Shop", []string{"shop.example"})
	if err != nil {
		t.Fatal(err)
	}
	pw := "a long enough passphrase"
	for _, role := range []string{accounts.RoleOwner, accounts.RoleManager, accounts.RoleOperator} {
		if _, err := s.accounts.CreateUser(ctx, role+"@example.com", pw, role); err != nil {
			t.Fatal(err)
		}
	}
	// signIn returns a live cookie token and CSRF token of role, signing
	// in again when a route (sign out) ended the last one.
	sessions := map[string][2]string{}
	signIn := func(role string) (string, string) {
		if c, ok := sessions[role]; ok {
			if _, _, err := s.accounts.Session(c[0]); err == nil {
				return c[0], c[1]
			}
		}
		token, sess, err := s.accounts.Login(ctx, role+"@example.com", pw)
		if err != nil {
			t.Fatal(err)
		}
		sessions[role] = [2]string{token, sess.CSRF}
		return token, sess.CSRF
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

	seen := map[string]bool{}
	for _, rt := range s.routes.all {
		name := routeName(s.routes, rt, s.snippet.widgetPath)
		seen[name] = true
		least, ok := leastRole[name]
		if !ok {
			t.Errorf("%s: no entry in leastRole; add one with the least role the route needs", name)
			continue
		}
		for _, caller := range []string{"", accounts.RoleOperator, accounts.RoleManager, accounts.RoleOwner} {
			form := url.Values{}
			req, _ := http.NewRequest(rt.method, base+routeURL(s.routes, rt, site.Key), nil)
			if caller != "" {
				token, csrf := signIn(caller)
				req.AddCookie(&http.Cookie{Name: sessionCookie, Value: token})
				form.Set("csrf", csrf)
			}
			if rt.method == "POST" {
				req, _ = http.NewRequest(rt.method, req.URL.String(), strings.NewReader(form.Encode()))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				if caller != "" {
					req.AddCookie(&http.Cookie{Name: sessionCookie, Value: sessions[caller][0]})
				}
			}
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if c := resp.Header.Get("Set-Cookie"); strings.HasPrefix(c, sessionCookie+"=") {
				delete(sessions, caller) // a new session (sign out others): sign in afresh
			}
			who := caller
			if who == "" {
				who = "stranger"
			}
			forbidden := resp.StatusCode == http.StatusForbidden && strings.Contains(string(body), "does not give access")
			toLogin := resp.StatusCode == http.StatusSeeOther && strings.HasSuffix(resp.Header.Get("Location"), "/login")
			switch {
			case least == "open":
				if forbidden || (toLogin && rt.method != "POST") {
					t.Errorf("%s as %s: %d %s, want the open route's answer", name, who, resp.StatusCode, resp.Header.Get("Location"))
				}
			case caller == "":
				// A JSON route (the console's socket) answers 401 instead.
				if !toLogin && !(!rt.page && resp.StatusCode == http.StatusUnauthorized) {
					t.Errorf("%s as a stranger: %d, want a redirect to /login", name, resp.StatusCode)
				}
			case rank[caller] >= rank[least]:
				if resp.StatusCode == http.StatusForbidden || (toLogin && name != "POST /logout") {
					t.Errorf("%s as %s: %d %s, want it allowed", name, who, resp.StatusCode, body)
				}
			default:
				if !forbidden {
					t.Errorf("%s as %s: %d, want 403 with the role message", name, who, resp.StatusCode)
				}
			}
		}
	}
	for name := range leastRole {
		if !seen[name] {
			t.Errorf("leastRole names %s, which is no route", name)
		}
	}

	// The admin socket's caller is the owner: every action is allowed, and
	// each names the permission a dashboard user would need.
	ln := fasthttputil.NewInmemoryListener()
	srv := &fasthttp.Server{Handler: s.AdminHandler}
	go srv.Serve(ln)
	defer srv.Shutdown()
	admin := &http.Client{Transport: &http.Transport{
		DialContext: func(context.Context, string, string) (net.Conn, error) { return ln.Dial() },
	}}
	seen = map[string]bool{}
	for _, rt := range s.admin.all {
		name := routeName(s.admin, rt, "")
		seen[name] = true
		least, ok := leastAdminRole[name]
		if !ok {
			t.Errorf("admin %s: no entry in leastAdminRole", name)
			continue
		}
		for _, role := range []string{accounts.RoleOperator, accounts.RoleManager, accounts.RoleOwner} {
			if got, want := rt.need.allows(role), least == "open" || rank[role] >= rank[least]; got != want {
				t.Errorf("admin %s: %s allowed %v, want %v", name, role, got, want)
			}
		}
		req, _ := http.NewRequest(rt.method, "http://admin"+rt.path, strings.NewReader("{}"))
		resp, err := admin.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode == http.StatusForbidden {
			t.Errorf("admin %s: 403 on the socket: %s", name, body)
		}
	}
	for name := range leastAdminRole {
		if !seen[name] {
			t.Errorf("leastAdminRole names %s, which is no route", name)
		}
	}
}

// The README's paragraph of roles says what an operator may do, and so
// does grants: each operator permission whose words are below is in the
// paragraph (an operator's token reads visitor cards; the README once
// said they saw callbacks and the chat console, "nothing else").
func TestREADMERolesSayWhatOperatorsMay(t *testing.T) {
	data, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, para, ok := strings.Cut(string(data), "Roles (`httpd/roles.go` holds the one table)")
	if !ok {
		t.Fatal("README: no paragraph of roles")
	}
	para, _, _ = strings.Cut(para, "nothing else")
	para = strings.Join(strings.Fields(para), " ")
	_, para, _ = strings.Cut(para, "**operator**")
	for p, words := range map[permission]string{seeCallbacks: "callbacks", markCallbacks: "may mark them", useChat: "chat console", seeVisitors: "visitor cards"} {
		if says := strings.Contains(para, words); says != grants[p].operator {
			t.Errorf("README says of operators %q; %q there: %v, the role table: %v", para, words, says, grants[p].operator)
		}
	}
}
