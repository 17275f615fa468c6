package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"syscall"
	"testing"

	"github.com/creack/pty"

	"appliance/httpd/accounts"
	"appliance/store"
	"appliance/store/storetest"
)

var (
	setupLinkRe = regexp.MustCompile(`http://\S+/setup\?token=\S+`)
	csrfFieldRe = regexp.MustCompile(`name="csrf" value="([^"]+)"`)
)

// browser is a cookie-keeping HTTP client that does not follow redirects.
func browser() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// get fetches u and returns its status and body.
func get(t *testing.T, c *http.Client, u string) (int, string) {
	t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// signIn signs c in through the login form and fails the test unless it
// worked.
func signIn(t *testing.T, c *http.Client, base, email, password string) {
	t.Helper()
	_, body := get(t, c, base+"login")
	m := csrfFieldRe.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no csrf on the login page: %s", body)
	}
	resp, err := c.PostForm(base+"login", url.Values{"csrf": {m[1]}, "email": {email}, "password": {password}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign in as %s: status %d", email, resp.StatusCode)
	}
}

// signedIn reports whether c's session still opens the dashboard.
func signedIn(t *testing.T, c *http.Client, base string) bool {
	t.Helper()
	code, _ := get(t, c, base+"sites")
	return code == http.StatusOK
}

// The attack of issue 13: `serve` prints a setup link, the owner is made
// with `appliance user add` instead, and the link, still live, let anyone
// replace the owner's password. The link must die with the first user,
// also across a restart.
func TestSetupLinkDiesWhenTheOwnerIsAddedByCLI(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	addr, out, stop := startServeOutput(t, dir)
	link := setupLinkRe.FindString(out)
	if link == "" {
		t.Fatalf("serve printed no setup link: %q", out)
	}
	// The link names the listen address (port 0): keep its path.
	path := link[strings.Index(link, "/setup"):]
	base := "http://" + addr + "/"
	link = base + path[1:]
	c := browser()
	if code, _ := get(t, c, link); code != http.StatusOK {
		t.Fatalf("setup link before any user: %d", code)
	}
	if err := runUserAdd(ctx, UserOptions{Data: dir, Email: "owner@example.com"}, strings.NewReader("the owner's passphrase\n"), io.Discard); err != nil {
		t.Fatal(err)
	}

	attack := func(when string) {
		t.Helper()
		attacker := browser()
		if code, _ := get(t, attacker, link); code != http.StatusNotFound {
			t.Errorf("%s: GET the setup link: %d, want 404", when, code)
		}
		// The setup form needs the pre-sign-in CSRF cookie, which the
		// login page hands out.
		_, body := get(t, attacker, base+"login")
		csrf := csrfFieldRe.FindStringSubmatch(body)[1]
		token := link[strings.Index(link, "token=")+len("token="):]
		resp, err := attacker.PostForm(base+"setup", url.Values{"csrf": {csrf}, "token": {token},
			"email": {"owner@example.com"}, "password": {"the attacker's password"}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("%s: POST /setup over the owner: %d, want 404", when, resp.StatusCode)
		}
	}
	attack("after user add")
	signIn(t, browser(), base, "owner@example.com", "the owner's passphrase")

	if err := stop(); err != nil {
		t.Fatal(err)
	}
	addr, out, stop = startServeOutput(t, dir)
	if setupLinkRe.MatchString(out) {
		t.Errorf("serve printed a setup link with a user in the store: %q", out)
	}
	base = "http://" + addr + "/"
	link = base + path[1:]
	attack("after restart")
	signIn(t, browser(), base, "owner@example.com", "the owner's passphrase")
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	db := storetest.OpenAt(t, dir)
	if _, err := db.Get(store.MetaKey("setup")); err != store.ErrNotFound {
		t.Errorf("setup token still in the store: %v", err)
	}
}

// A store written before the fix may hold a user and a live setup token:
// serve deletes the token at start.
func TestServeDeletesALeftOverSetupToken(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db := storetest.OpenAt(t, dir)
	a := accounts.New(db)
	token, err := a.NewSetupToken(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// As the old `user add` did: a user, and the token left alone.
	u := store.User{Email: "owner@example.com", Hash: accounts.HashPassword("the owner's passphrase"), Role: accounts.RoleOwner}
	if err := db.Set(ctx, store.UserKey(u.Email), u.Encode()); err != nil {
		t.Fatal(err)
	}
	db.Close()

	addr, out, stop := startServeOutput(t, dir)
	if setupLinkRe.MatchString(out) {
		t.Errorf("serve printed a setup link: %q", out)
	}
	if code, _ := get(t, browser(), "http://"+addr+"/setup?token="+token); code != http.StatusNotFound {
		t.Errorf("old setup link: %d, want 404", code)
	}
	stop()
	db = storetest.OpenAt(t, dir)
	if _, err := db.Get(store.MetaKey("setup")); err != store.ErrNotFound {
		t.Errorf("setup token still in the store: %v", err)
	}
}

// `user passwd` and `user logout` sign the user out of every browser.
func TestUserPasswdAndLogoutEndSessions(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	addr, stop := startServe(t, dir)
	defer stop()
	base := "http://" + addr + "/"
	if err := runUserAdd(ctx, UserOptions{Data: dir, Email: "owner@example.com"}, strings.NewReader("the owner's passphrase\n"), io.Discard); err != nil {
		t.Fatal(err)
	}
	if err := runUserAdd(ctx, UserOptions{Data: dir, Email: "ops@example.com", Role: "operator"}, strings.NewReader("the operator's passphrase\n"), io.Discard); err != nil {
		t.Fatal(err)
	}
	owner, ops := browser(), browser()
	signIn(t, owner, base, "owner@example.com", "the owner's passphrase")
	signIn(t, ops, base, "ops@example.com", "the operator's passphrase")

	var out strings.Builder
	if err := runUserLogout(ctx, UserOptions{Data: dir, Email: "ops@example.com"}, &out); err != nil {
		t.Fatal(err)
	}
	if signedIn(t, ops, base) {
		t.Error("the operator is still signed in after user logout")
	}
	if !signedIn(t, owner, base) {
		t.Error("user logout of the operator signed the owner out")
	}
	if err := runUserLogout(ctx, UserOptions{Data: dir, Email: "nobody@example.com"}, &out); err == nil {
		t.Error("user logout of an unknown user succeeded")
	}
	// The password stays: the operator signs in again.
	signIn(t, ops, base, "ops@example.com", "the operator's passphrase")

	if err := runUserPasswd(ctx, UserOptions{Data: dir, Email: "owner@example.com"}, strings.NewReader("a new owner passphrase\n"), &out); err != nil {
		t.Fatal(err)
	}
	if signedIn(t, owner, base) {
		t.Error("the owner's old session survived user passwd")
	}
	if !signedIn(t, ops, base) {
		t.Error("user passwd of the owner signed the operator out")
	}
	signIn(t, owner, base, "owner@example.com", "a new owner passphrase")
}

// `token add --site KEY` makes a token for that site only; an unknown key
// is refused; without --site the token is for every site.
func TestTokenAddForSites(t *testing.T) {
	ctx := context.Background()
	dir, key := offlineSite(t)
	var out strings.Builder
	if err := runTokenAdd(ctx, TokenOptions{Data: dir, Name: "crm", Sites: []string{key}}, &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "only the sites "+key) {
		t.Errorf("token add printed %q", out.String())
	}
	scoped := regexp.MustCompile(`apl_\S+`).FindString(out.String())
	out.Reset()
	if err := runTokenAdd(ctx, TokenOptions{Data: dir, Name: "pbx"}, &out); err != nil {
		t.Fatal(err)
	}
	all := regexp.MustCompile(`apl_\S+`).FindString(out.String())
	if err := runTokenAdd(ctx, TokenOptions{Data: dir, Name: "x", Sites: []string{"NoSuchSiteKey"}}, &out); err == nil || !strings.Contains(err.Error(), "no site has the key") {
		t.Errorf("token for an unknown site: %v", err)
	}
	db := storetest.OpenAt(t, dir)
	a := accounts.New(db)
	tk, err := a.CheckToken(scoped)
	if err != nil || len(tk.Sites) != 1 || tk.AllowsSite(tk.Sites[0]+1) {
		t.Errorf("scoped token %+v %v", tk, err)
	}
	if tk, err := a.CheckToken(all); err != nil || tk.Sites != nil {
		t.Errorf("all-sites token %+v %v", tk, err)
	}
}

// user add on a terminal asks for the password twice and never shows it;
// two that differ change nothing; from a pipe without a line it says how
// to give one. Run as the binary, on a pseudo-terminal.
func TestUserPasswordTypedOnTerminal(t *testing.T) {
	dir, _ := offlineSite(t)
	const pw = "typed-secret-77"
	add := func(email, first, second string) (string, error) {
		t.Helper()
		ptmx, tty, err := pty.Open()
		if err != nil {
			t.Skipf("no pseudo-terminal here: %v", err)
		}
		defer ptmx.Close()
		cmd := appliance("user", "add", email, "--data", dir)
		cmd.Stdin, cmd.Stdout, cmd.Stderr = tty, tty, tty
		err = cmd.Start()
		tty.Close()
		if err != nil {
			t.Fatal(err)
		}
		var out bytes.Buffer
		// type answers once its prompt is there: typed before, the terminal
		// would still echo it.
		waitFor := func(s string) {
			b := make([]byte, 1)
			for !strings.HasSuffix(out.String(), s) {
				if _, err := ptmx.Read(b); err != nil {
					t.Fatalf("terminal closed before %q: %v\n%q", s, err, out.String())
				}
				out.Write(b)
			}
		}
		waitFor("Password (at least 10 characters): ")
		io.WriteString(ptmx, first+"\r")
		waitFor("again: ")
		io.WriteString(ptmx, second+"\r")
		if _, err := io.Copy(&out, ptmx); err != nil && !errors.Is(err, syscall.EIO) {
			t.Fatal(err)
		}
		return out.String(), cmd.Wait()
	}
	out, err := add("typist@example.com", pw, pw)
	if err != nil || !strings.Contains(out, "user typist@example.com added") {
		t.Fatalf("user add on a terminal: %v\n%q", err, out)
	}
	if strings.Contains(out, pw) {
		t.Errorf("user add showed the password typed: %q", out)
	}
	out, err = add("slip@example.com", pw, pw+"x")
	if err == nil || !strings.Contains(out, "the two passwords typed differ") {
		t.Errorf("user add with two different passwords: %v\n%q", err, out)
	}

	db := storetest.OpenAt(t, dir)
	a := accounts.New(db)
	if _, _, err := a.Login(context.Background(), "typist@example.com", pw); err != nil {
		t.Errorf("sign-in with the password typed: %v", err)
	}
	if _, err := a.User("slip@example.com"); err == nil {
		t.Error("user add with two different passwords added the user")
	}
	db.Close()

	cmd := appliance("user", "add", "piped@example.com", "--data", dir)
	cmd.Stdin = strings.NewReader("")
	got, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(got), "no password on stdin") || strings.Contains(string(got), "EOF") {
		t.Errorf("user add with nothing piped in: %v, %q", err, got)
	}
}

// `token add --scope calls` on a running server makes a token that
// reports calls and is refused the leads, naming the scope; the list
// shows its scopes; an unknown scope is refused, listing the real ones,
// and makes no token.
func TestTokenAddScopes(t *testing.T) {
	dir, key := offlineSite(t)
	addr, _ := startServe(t, dir)
	out, err := cli(t, dir, "token", "add", "--name", "pbx", "--scope", "calls")
	token := regexp.MustCompile(`apl_\S+`).FindString(out)
	if err != nil || token == "" || !strings.Contains(out, "only the scopes calls") {
		t.Fatalf("token add --scope calls: %v %q", err, out)
	}
	do := func(method, path, body string) (int, string) {
		req, _ := http.NewRequest(method, "http://"+addr+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := do("POST", "/api/v1/calls", `{"called":"74950000001"}`); code != http.StatusOK {
		t.Errorf("a call with the PBX token: %d %s", code, body)
	}
	if code, body := do("GET", "/api/v1/leads?site="+key, ""); code != http.StatusForbidden || !strings.Contains(body, `"scope":"leads:read"`) {
		t.Errorf("leads with the PBX token: %d %s", code, body)
	}
	if out, err := cli(t, dir, "token", "list"); err != nil || !regexp.MustCompile(`pbx\s+every site\s+scopes: calls\s`).MatchString(out) {
		t.Errorf("token list: %v %q", err, out)
	}
	out, err = cli(t, dir, "token", "add", "--name", "crm", "--scope", "leads:read,leads")
	if err == nil || !strings.Contains(err.Error(), `no scope is named "leads"; the scopes are calls, reports:read, leads:read`) {
		t.Errorf("an unknown scope: %v %q", err, out)
	}
	if out, _ := cli(t, dir, "token", "list"); strings.Contains(out, "crm") {
		t.Errorf("a refused token was made: %q", out)
	}
}

// user add and user passwd where there is no store say so before they ask
// for a password: a newcomer in the wrong directory typed one twice, then
// read "no store in ./data" (or, piping none, "no password on stdin").
func TestUserPasswordAskedOnlyWithAStore(t *testing.T) {
	dir := t.TempDir()
	for _, args := range [][]string{{"user", "add", "owner@example.com"}, {"user", "passwd", "owner@example.com"}} {
		var out bytes.Buffer
		root := newRoot(&out)
		root.SetIn(strings.NewReader(""))
		root.SetArgs(append(args, "--data", dir))
		err := root.Execute()
		if err == nil || !strings.Contains(err.Error(), "no store in "+dir) {
			t.Errorf("appliance %s in an empty directory: %v, want no store in %s", strings.Join(args, " "), err, dir)
		}
		if out.Len() > 0 {
			t.Errorf("appliance %s in an empty directory printed %q", strings.Join(args, " "), out.String())
		}
	}
}
