package httpd_test

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"appliance/httpd/accounts"
	"appliance/httpd/httpdtest"
	"appliance/store"
)

// scopedToken makes a token for every site and the scopes.
func scopedToken(t *testing.T, srv *httpdtest.Server, name string, scopes ...string) string {
	t.Helper()
	tok, err := accounts.New(srv.DB).MakeToken(t.Context(), accounts.NewToken{Name: name, Scopes: scopes})
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// wantScopeRefused checks a 403 that names the scope the request needs.
func wantScopeRefused(t *testing.T, what string, status int, out map[string]any, scope string) {
	t.Helper()
	res, _ := out["result"].(map[string]any)
	msg, _ := out["error"].(string)
	if status != http.StatusForbidden || out["success"] != false || res["code"] != "insufficient_scope" || res["scope"] != scope ||
		!strings.Contains(msg, "needs the scope "+scope) {
		t.Errorf("%s: %d %v, want 403 naming %s", what, status, out, scope)
	}
}

// A PBX's token (token add --scope calls) reports calls and reads nothing
// else; a CRM's read-only token reads leads and neither marks them nor
// reports calls. A refused request changes nothing. A token stored before
// scopes existed (a version 4 record) still does everything.
func TestScopedTokens(t *testing.T) {
	f := newCBFixture(t)
	srv, key := f.srv, f.key
	if status, out, _ := postJSON(t, srv.URL+"t/v1/lead", leadBody(key, f.v, map[string]any{"name": "Ann", "phone": "+7 910 123-45-67"})); status != http.StatusOK {
		t.Fatalf("lead: %d %v", status, out)
	}
	f.clock.Set(f.clock.Now().Add(11 * time.Second))
	all := chatToken(t, srv, "all")
	leadsURL := srv.URL + "api/v1/leads?site=" + key
	lead := ids(apiList(t, leadsURL, all))[0]
	statusURL := fmt.Sprintf("%sapi/v1/leads/%d/status", srv.URL, lead)
	calls := func() int {
		n := 0
		for _, site := range []uint32{0, f.site.ID} {
			srv.DB.ScanPrefix(t.Context(), store.CallPrefix(site), false, 0, func(_, _ []byte) bool { n++; return true })
		}
		return n
	}
	call := map[string]any{"called": "74950000001", "caller": "79161234567", "duration": 10, "answered": true}

	pbx := scopedToken(t, srv, "pbx", "calls")
	if status, out := apiCall(t, "POST", srv.URL+"api/v1/calls", pbx, call); status != http.StatusOK || calls() != 1 {
		t.Fatalf("call with the PBX's token: %d %v, %d calls stored", status, out, calls())
	}
	if status, out := apiCall(t, "GET", srv.URL+"api/v1/attribution?number=74950000001", pbx, nil); status != http.StatusOK {
		t.Errorf("attribution with the PBX's token: %d %v", status, out)
	}
	status, out := apiCall(t, "GET", leadsURL, pbx, nil)
	wantScopeRefused(t, "leads with the PBX's token", status, out, "leads:read")
	status, out = apiCall(t, "GET", fmt.Sprintf("%sapi/v1/visitors/%d?site=%s", srv.URL, 1, key), pbx, nil)
	wantScopeRefused(t, "a visitor card with the PBX's token", status, out, "visitors:read")
	status, out = apiCall(t, "POST", srv.URL+"api/v1/chats/1/messages", pbx, map[string]any{"text": "hello"})
	wantScopeRefused(t, "a chat message with the PBX's token", status, out, "chats")

	crm := scopedToken(t, srv, "crm", "leads:read")
	if got := apiList(t, leadsURL, crm); len(got) != 1 || got[0]["name"] != "Ann" {
		t.Errorf("leads with the CRM's read token: %v", got)
	}
	status, out = apiCall(t, "POST", statusURL, crm, map[string]any{"status": "spam"})
	wantScopeRefused(t, "marking a lead with a read token", status, out, "leads:write")
	status, out = apiCall(t, "POST", srv.URL+"api/v1/calls", crm, call)
	wantScopeRefused(t, "a call with the CRM's token", status, out, "calls")
	if got := apiList(t, leadsURL, all); got[0]["status"] != "new" || calls() != 1 {
		t.Errorf("after refused requests: lead %v, %d calls", got[0], calls())
	}

	// A token written by the version before scopes: version 4, name,
	// created, no sites, never used, no user.
	old := "apl_tokenMadeBeforeScopes0123456789abcdefghijk"
	rec := []byte{4}
	rec = binary.AppendUvarint(rec, 3)
	rec = append(rec, "pbx"...)
	rec = binary.AppendVarint(rec, f.clock.Now().UnixMilli())
	rec = binary.AppendUvarint(rec, 0)
	rec = binary.AppendVarint(rec, 0)
	rec = binary.AppendUvarint(rec, 0)
	h := sha256.Sum256([]byte(old))
	if err := srv.DB.Set(t.Context(), store.TokenKey(h[:]), rec); err != nil {
		t.Fatal(err)
	}
	if got := apiList(t, leadsURL, old); len(got) != 1 {
		t.Errorf("leads with the old token: %v", got)
	}
	if status, out := apiCall(t, "POST", statusURL, old, map[string]any{"status": "done"}); status != http.StatusOK {
		t.Errorf("marking a lead with the old token: %d %v", status, out)
	}
	if status, out := apiCall(t, "POST", srv.URL+"api/v1/calls", old, call); status != http.StatusOK || calls() != 2 {
		t.Errorf("a call with the old token: %d %v, %d calls", status, out, calls())
	}
	if got := apiList(t, leadsURL, all); got[0]["status"] != "done" {
		t.Errorf("the old token's mark: %v", got[0])
	}
}

// The token form makes a token for the scopes ticked, the list shows
// them, and a scope the form does not offer is refused with no token
// made.
func TestTokenFormScopes(t *testing.T) {
	srv := httpdtest.Start(t)
	srv.Site(t, "Shop", "shop.example")
	c := srv.Client(t)
	status, body := submitForm(t, c, srv, "tokens", "tokens", url.Values{"name": {"crm"}, "scope": {"leads:read", "reports:read"}})
	token := regexp.MustCompile(`apl_[A-Za-z0-9_-]+`).FindString(body)
	if status != http.StatusOK || token == "" {
		t.Fatalf("make a token: %d %s", status, body)
	}
	tk, err := accounts.New(srv.DB).CheckToken(token)
	if err != nil || strings.Join(tk.Scopes, ",") != "leads:read,reports:read" {
		t.Errorf("the form's token has scopes %q, %v", tk.Scopes, err)
	}
	if !strings.Contains(body, "<code>leads:read</code>, <code>reports:read</code>") {
		t.Errorf("the list does not show the scopes:\n%s", body)
	}
	status, body = submitForm(t, c, srv, "tokens", "tokens", url.Values{"name": {"x"}, "scope": {"admin"}})
	if status != http.StatusBadRequest || !strings.Contains(body, "no scope is named") {
		t.Errorf("an unknown scope: %d %s", status, body)
	}
	list, err := accounts.New(srv.DB).Tokens(t.Context())
	if err != nil || len(list) != 1 {
		t.Errorf("tokens after a refused form: %v %v", list, err)
	}
}

// A token's sites and scopes are changed on its row of the tokens page
// without making a new one: the integration keeps its token, and its next
// request is held to the change. A refused change changes nothing.
func TestTokenChangedInPlace(t *testing.T) {
	f := newCBFixture(t)
	srv, key := f.srv, f.key
	if status, out, _ := postJSON(t, srv.URL+"t/v1/lead", leadBody(key, f.v, map[string]any{"name": "Ann", "phone": "+7 910 123-45-67"})); status != http.StatusOK {
		t.Fatalf("lead: %d %v", status, out)
	}
	f.clock.Set(f.clock.Now().Add(11 * time.Second))
	other := srv.Site(t, "Other", "other.example")
	crm := scopedToken(t, srv, "crm")
	leadsURL := srv.URL + "api/v1/leads?site=" + key
	if got := apiList(t, leadsURL, crm); len(got) != 1 {
		t.Fatalf("leads with the token for everything: %v", got)
	}
	a := accounts.New(srv.DB)
	list, err := a.Tokens(t.Context())
	if err != nil || len(list) != 1 {
		t.Fatalf("tokens: %v %v", list, err)
	}
	id, made := list[0].ID, list[0].Created
	c := srv.Client(t)
	page := func() string {
		resp, err := c.Get(srv.URL + "tokens")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	if body := page(); !strings.Contains(body, `action="/tokens/change"`) || !strings.Contains(body, `value="`+id+`"`) {
		t.Fatalf("the tokens page has no change form for the token:\n%s", body)
	}

	// The CRM only reads leads, of the shop only.
	status, body := submitForm(t, c, srv, "tokens", "tokens/change", url.Values{"id": {id}, "name": {"shop crm"}, "site": {key}, "scope": {"leads:read"}})
	if status != http.StatusSeeOther {
		t.Fatalf("change: %d %s", status, body)
	}
	if resp, err := c.Get(srv.URL + "tokens?done=changed"); err != nil {
		t.Fatal(err)
	} else if b, _ := io.ReadAll(resp.Body); !strings.Contains(string(b), "Token changed") {
		t.Errorf("no word of the change on the page:\n%s", b)
	} else {
		resp.Body.Close()
	}
	if got := apiList(t, leadsURL, crm); len(got) != 1 || got[0]["name"] != "Ann" {
		t.Errorf("leads with the changed token: %v", got)
	}
	status, out := apiCall(t, "POST", srv.URL+"api/v1/calls", crm, map[string]any{"called": "74950000001"})
	wantScopeRefused(t, "a call with the changed token", status, out, "calls")
	if status, out := apiCall(t, "GET", srv.URL+"api/v1/leads?site="+other, crm, nil); status != http.StatusNotFound {
		t.Errorf("the other site's leads with the changed token: %d %v", status, out)
	}
	tk, err := a.CheckToken(crm)
	if err != nil || tk.Name != "shop crm" || strings.Join(tk.Scopes, ",") != "leads:read" || len(tk.Sites) != 1 || tk.Sites[0] != f.site.ID || tk.Created != made {
		t.Errorf("the changed token: %+v %v", tk, err)
	}
	// Its row's form is ticked with what it has now.
	body = page()
	row := body[strings.Index(body, `id="token-`+id+`"`):]
	row = row[:strings.Index(row, "</tr>")]
	if !strings.Contains(row, `name="scope" value="leads:read" checked`) || strings.Contains(row, `name="scope" value="calls" checked`) ||
		!strings.Contains(row, `name="site" value="`+key+`" checked`) || strings.Contains(row, `name="site" value="`+other+`" checked`) {
		t.Errorf("the row's change form is not ticked with the token's grant:\n%s", row)
	}

	// Refused: an unknown scope, an empty name, no such token. Nothing
	// changes.
	for _, form := range []url.Values{
		{"id": {id}, "name": {"x"}, "scope": {"admin"}},
		{"id": {id}, "name": {"  "}},
		{"id": {strings.Repeat("ab", 32)}, "name": {"x"}},
		{"id": {"not hex"}, "name": {"x"}},
	} {
		if status, body := submitForm(t, c, srv, "tokens", "tokens/change", form); status < 400 || status >= 500 {
			t.Errorf("change %v: %d %s", form, status, body)
		}
	}
	if tk2, err := a.CheckToken(crm); err != nil || tk2.Name != "shop crm" || strings.Join(tk2.Scopes, ",") != "leads:read" || len(tk2.Sites) != 1 {
		t.Errorf("after refused changes: %+v %v", tk2, err)
	}

	// None ticked: every site, everything, as a token made so.
	if status, body := submitForm(t, c, srv, "tokens", "tokens/change", url.Values{"id": {id}, "name": {"crm"}}); status != http.StatusSeeOther {
		t.Fatalf("change back: %d %s", status, body)
	}
	if status, out := apiCall(t, "POST", srv.URL+"api/v1/calls", crm, map[string]any{"called": "74950000001"}); status != http.StatusOK {
		t.Errorf("a call with the token for everything again: %d %v", status, out)
	}
}

// The owner ticks calls on the token form for the PBX: the token reports
// calls, is refused the leads, and the list says what it may do.
func TestBrowserScopedToken(t *testing.T) {
	srv := httpdtest.Start(t)
	key := srv.Site(t, "Shop", "shop.example")
	ctx := httpdtest.Browser(t)
	email, password := srv.Owner(t)
	signInBrowser(t, ctx, srv, email, password)
	httpdtest.Must(t, ctx, chromedp.Navigate(srv.URL+"tokens"), chromedp.SendKeys(chromedp.CSS(`#token-form input[name=name]`), "pbx"),
		chromedp.Click(chromedp.CSS(`#token-scopes input[value=calls]`)))
	submit(t, ctx, `#token-form button`)
	token := strings.TrimSpace(httpdtest.Eval[string](t, ctx, `document.getElementById("token-value").textContent`))
	if got := httpdtest.Eval[string](t, ctx, `document.querySelector("#tokens .token-scopes").textContent`); got != "calls" {
		t.Errorf("the list's scopes say %q", got)
	}
	if status, out := apiCall(t, "POST", srv.URL+"api/v1/calls", token, map[string]any{"called": "74950000001"}); status != http.StatusOK {
		t.Errorf("a call with the form's PBX token: %d %v", status, out)
	}
	status, out := apiCall(t, "GET", srv.URL+"api/v1/leads?site="+key, token, nil)
	wantScopeRefused(t, "leads with the form's PBX token", status, out, "leads:read")
}

// The owner makes, on the tokens page, a token that acts as a user of the
// team (as token add --user does): the form offers the team's users, the
// list shows whom a token acts as, and the token holds no more than that
// user's role (an operator's reads callbacks, not leads). A user no longer
// on the team is refused with no token made; so is a form without its
// CSRF token; the scopes' texts say a write scope does not read.
func TestTokenFormActsAsUser(t *testing.T) {
	srv := httpdtest.Start(t)
	key := srv.Site(t, "Shop", "shop.example")
	acc := accounts.New(srv.DB)
	if _, err := acc.CreateUser(t.Context(), "olga@shop.example", "a long enough passphrase", accounts.RoleOperator); err != nil {
		t.Fatal(err)
	}
	c := srv.Client(t)
	_, page := getPage(t, c, srv.URL+"tokens")
	if !strings.Contains(page, `<select name="user" id="token-user"`) || !strings.Contains(page, `<option value="olga@shop.example" >olga@shop.example (operator)</option>`) {
		t.Fatalf("the token form does not offer the team's users:\n%s", cutAt(page, `id="add-token"`, "</section>"))
	}
	if !strings.Contains(page, "<code>leads:write</code>: set a lead's status and note; not read leads") {
		t.Errorf("the form does not say leads:write reads no leads:\n%s", cutAt(page, `id="token-scopes"`, "</fieldset>"))
	}
	status, body := submitForm(t, c, srv, "tokens", "tokens", url.Values{"name": {"olga's bridge"}, "user": {"olga@shop.example"}})
	token := regexp.MustCompile(`apl_[A-Za-z0-9_-]+`).FindString(body)
	if status != http.StatusOK || token == "" {
		t.Fatalf("make a token acting as olga: %d %s", status, body)
	}
	if tk, err := acc.CheckToken(token); err != nil || tk.User != "olga@shop.example" {
		t.Fatalf("the form's token acts as %q, %v", tk.User, err)
	}
	if row := cutAt(html.UnescapeString(body), `<td data-label="Acts as" class="token-user">`, "</td>"); !strings.HasSuffix(row, "olga@shop.example") {
		t.Errorf("the list does not show whom the token acts as: %q", row)
	}
	if status, out := apiCall(t, "GET", srv.URL+"api/v1/leads?site="+key, token, nil); status != http.StatusForbidden || !strings.Contains(fmt.Sprint(out["error"]), "olga@shop.example") {
		t.Errorf("the operator's token reading leads: %d %v, want 403 naming olga", status, out)
	}
	if status, out := apiCall(t, "GET", srv.URL+"api/v1/callbacks?site="+key, token, nil); status != http.StatusOK {
		t.Errorf("the operator's token reading callbacks: %d %v", status, out)
	}

	status, body = submitForm(t, c, srv, "tokens", "tokens", url.Values{"name": {"ghost"}, "user": {"gone@shop.example"}})
	if status != http.StatusBadRequest || !strings.Contains(body, "no longer on the team") {
		t.Errorf("a token acting as no user of the team: %d %s", status, cutAt(body, `role="alert"`, "</p>"))
	}
	resp, err := c.PostForm(srv.URL+"tokens", url.Values{"name": {"no csrf"}, "user": {"olga@shop.example"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("the token form without its CSRF token: %d, want 403", resp.StatusCode)
	}
	if list, err := acc.Tokens(t.Context()); err != nil || len(list) != 1 {
		t.Errorf("tokens after the refused forms: %d, %v; want olga's alone", len(list), err)
	}
}
