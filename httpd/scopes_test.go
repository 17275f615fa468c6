package httpd

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"appliance/httpd/accounts"
)

// The scope each /api/v1 route needs, written out here independently of
// the registrations: a route added without an entry, or with another
// scope, fails TestEveryAPIRouteNeedsItsScope.
var apiRouteScope = map[string]string{
	"POST /api/v1/calls":              "calls",
	"GET /api/v1/attribution":         "calls",
	"GET /api/v1/reports/sources":     "reports:read",
	"GET /api/v1/reports/timeseries":  "reports:read",
	"GET /api/v1/leads":               "leads:read",
	"POST /api/v1/leads/*/status":     "leads:write",
	"GET /api/v1/callbacks":           "callbacks:read",
	"POST /api/v1/callbacks/*/status": "callbacks:write",
	"GET /api/v1/visitors/*":          "visitors:read",
	"GET /api/v1/chats":               "chats",
	"GET /api/v1/chats/*/messages":    "chats",
	"POST /api/v1/chats/*/messages":   "chats",
	"POST /api/v1/chats/*/close":      "chats",
	"POST /api/v1/chats/*/transfer":   "chats",
	"POST /api/v1/operators/presence": "chats",
}

// Every /api/v1 route, walked with a token for each scope alone: the
// token made for the route's scope gets past the check (whatever the
// handler then says of the empty request), every other gets a JSON 403
// naming the scope the route needs; a token made without scopes, as every
// token was before them, gets past everywhere. No route outside /api/v1
// has a scope, and no scope is without a route.
func TestEveryAPIRouteNeedsItsScope(t *testing.T) {
	s, base := startInternal(t, Options{})
	ctx := context.Background()
	if _, err := s.sites.Create(ctx, "Shop", []string{"shop.example"}); err != nil {
		t.Fatal(err)
	}
	tokens := map[string]string{}
	for _, sc := range APIScopes() {
		tok, err := s.accounts.MakeToken(ctx, accounts.NewToken{Name: sc, Scopes: []string{sc}})
		if err != nil {
			t.Fatal(err)
		}
		tokens[sc] = tok
	}
	full, err := s.accounts.CreateToken(ctx, "all", nil)
	if err != nil {
		t.Fatal(err)
	}
	type answer struct {
		status int
		body   struct {
			Success bool
			Error   string
			Result  struct{ Code, Scope string }
		}
		challenge string
	}
	call := func(rt *route, token string) answer {
		req, _ := http.NewRequest(rt.method, base+routeURL(s.routes, rt, "1"), strings.NewReader("{}"))
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		a := answer{status: resp.StatusCode, challenge: resp.Header.Get("WWW-Authenticate")}
		json.Unmarshal(raw, &a.body)
		return a
	}

	used := map[string]bool{}
	seen := map[string]bool{}
	for _, rt := range s.routes.all {
		name := routeName(s.routes, rt, s.snippet.widgetPath)
		want, listed := apiRouteScope[name]
		if !strings.HasPrefix(rt.path, "/api/v1/") {
			if rt.scope != noScope || listed {
				t.Errorf("%s: scope %q on a route that takes no API token", name, rt.scope)
			}
			continue
		}
		seen[name] = true
		if !listed {
			t.Errorf("%s: no entry in apiRouteScope; add one with the scope the route needs", name)
			continue
		}
		if got := rt.scope.String(); got != want {
			t.Errorf("%s: registered with scope %q, want %q", name, got, want)
		}
		used[want] = true
		for _, sc := range APIScopes() {
			a := call(rt, tokens[sc])
			refused := a.status == http.StatusForbidden && a.body.Result.Code == "insufficient_scope"
			if sc == want {
				if refused || a.status == http.StatusUnauthorized {
					t.Errorf("%s with a %s token: %d %+v, want past the check", name, sc, a.status, a.body)
				}
				continue
			}
			if !refused || a.body.Success || a.body.Result.Scope != want ||
				!strings.Contains(a.body.Error, "needs the scope "+want) || !strings.Contains(a.body.Error, "made for "+sc) ||
				// The route as the README's scope table writes it: ID
				// where the path takes one, not the router's pattern.
				!strings.Contains(a.body.Error, "; "+strings.ReplaceAll(name, "*", "ID")+" needs") ||
				!strings.Contains(a.challenge, `error="insufficient_scope", scope="`+want+`"`) {
				t.Errorf("%s with a %s token: %d %+v %q, want 403 naming %s", name, sc, a.status, a.body, a.challenge, want)
			}
		}
		if a := call(rt, full); a.status == http.StatusForbidden || a.status == http.StatusUnauthorized {
			t.Errorf("%s with a token for every scope: %d %+v", name, a.status, a.body)
		}
	}
	for name := range apiRouteScope {
		if !seen[name] {
			t.Errorf("apiRouteScope names %s, which is no route", name)
		}
	}
	for _, sc := range APIScopes() {
		if !used[sc] {
			t.Errorf("scope %s opens no route", sc)
		}
	}
}

// parseScopes takes the table's names, with space around them and each
// once or more, and refuses any other naming the ones there are.
func TestParseScopes(t *testing.T) {
	got, err := parseScopes([]string{" calls", "leads:read ", "", "calls"})
	if err != nil || !slices.Equal(got, []string{"calls", "leads:read", "calls"}) {
		t.Errorf("parseScopes = %q, %v", got, err)
	}
	if got, err := parseScopes(nil); err != nil || got != nil {
		t.Errorf("no scopes = %q, %v; want none (every scope)", got, err)
	}
	for _, bad := range []string{"leads", "Calls", "leads:*", "admin"} {
		_, err := parseScopes([]string{"calls", bad})
		if ue := asUserError(err); ue == nil || ue.Status() != http.StatusBadRequest || !strings.Contains(err.Error(), "the scopes are calls, reports:read") {
			t.Errorf("parseScopes(%q) = %v, want a 400 listing the scopes", bad, err)
		}
	}
}

// parseScopes, on any comma-separated input (the CLI's --scope, the
// form's boxes), keeps only the table's names, else answers a 400.
func FuzzParseScopes(f *testing.F) {
	for _, seed := range []string{"calls", "calls,leads:read", " calls , chats ", "", ",", "leads", "CALLS", "calls\x00", "leads:read,leads:write,visitors:read"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, in string) {
		got, err := parseScopes(strings.Split(in, ","))
		if err != nil {
			if ue := asUserError(err); ue == nil || ue.Status() != http.StatusBadRequest {
				t.Fatalf("parseScopes(%q): %v, want a 400", in, err)
			}
			return
		}
		for _, sc := range got {
			if !slices.Contains(APIScopes(), sc) {
				t.Fatalf("parseScopes(%q) kept %q", in, sc)
			}
		}
	})
}

// The README's table of scopes (section "API tokens") is what integrators
// make their tokens by: each route it names is in the scope the server
// asks for, and every route of apiRouteScope is named in the row of its
// scope (`/api/v1/chats...` stands for every route under it; ID for *).
func TestREADMEScopeTable(t *testing.T) {
	data, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, table, ok := strings.Cut(string(data), "| Scope | Routes | For |")
	if !ok {
		t.Fatal("README: no table of scopes (| Scope | Routes | For |)")
	}
	table, _, _ = strings.Cut(table, "\n\n")
	span := regexp.MustCompile("`([^`]+)`")
	named := map[string]string{}    // "POST /api/v1/leads/*/status" → scope
	prefixes := map[string]string{} // "/api/v1/chats" → scope
	rows := 0
	for _, line := range strings.Split(table, "\n") {
		cells := strings.Split(line, "|")
		if len(cells) < 4 || strings.HasPrefix(strings.TrimSpace(cells[1]), "---") {
			continue
		}
		m := span.FindStringSubmatch(cells[1])
		if m == nil {
			t.Errorf("README: scope row %q names no scope", line)
			continue
		}
		sc := m[1]
		if !slices.Contains(APIScopes(), sc) {
			t.Errorf("README: the table names a scope %q, which is none of %v", sc, APIScopes())
		}
		rows++
		for _, r := range span.FindAllStringSubmatch(cells[2], -1) {
			route := strings.TrimSuffix(strings.ReplaceAll(r[1]+"/", "/ID/", "/*/"), "/")
			if strings.HasSuffix(route, "...") {
				prefixes[strings.TrimSuffix(route, "...")] = sc
				continue
			}
			if prev, ok := named[route]; ok && prev != sc {
				t.Errorf("README: %s is in two scopes, %s and %s", route, prev, sc)
			}
			named[route] = sc
		}
	}
	if rows != len(APIScopes()) {
		t.Errorf("README: the table has %d scopes, the server %d (%v)", rows, len(APIScopes()), APIScopes())
	}
	for route, sc := range named {
		if want, ok := apiRouteScope[route]; !ok {
			t.Errorf("README: the table names %s (scope %s), which is no route", route, sc)
		} else if want != sc {
			t.Errorf("README: the table puts %s in %s; the server asks %s", route, sc, want)
		}
	}
	for route, want := range apiRouteScope {
		sc, ok := named[route]
		if !ok {
			for p, psc := range prefixes {
				if _, path, _ := strings.Cut(route, " "); path == p || strings.HasPrefix(path, p+"/") {
					sc, ok = psc, true
				}
			}
		}
		if !ok {
			t.Errorf("README: the table of scopes does not name %s (scope %s)", route, want)
		} else if sc != want {
			t.Errorf("README: the table puts %s in %s; the server asks %s", route, sc, want)
		}
	}
}
