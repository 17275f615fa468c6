package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"appliance/httpd/admin"
	"appliance/store"
)

func TestNumbersCommands(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	_, stop := startServe(t, dir)
	key := addSite(t, dir).Key
	var out bytes.Buffer
	run := func(name string, err error, want ...string) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for _, w := range want {
			if !strings.Contains(out.String(), w) {
				t.Fatalf("%s printed %q, want %q in it", name, out.String(), w)
			}
		}
		out.Reset()
	}
	// A tracking number added before the site's own numbers replaces
	// nothing yet: the command says so and what to run.
	bare := dialAdminSite(t, dir)
	run("static add, no site numbers", runStaticAdd(ctx, StaticOptions{Data: dir, Site: bare, Number: "+7 495 182-51-69"}, &out),
		"static number +74951825169 added", "nothing is replaced yet", "appliance site numbers --site "+bare+" --replace")
	run("pool add, no site numbers", runPoolAdd(ctx, PoolOptions{Data: dir, Site: bare, Name: "ads", Numbers: []string{"74950000011"}}, &out),
		`pool "ads" added`, "nothing is replaced yet", "appliance site numbers --site "+bare+" --replace")
	run("site numbers", runSiteNumbers(ctx, SiteNumbersOptions{Data: dir, Site: key, Replace: []string{"8 (487) 275-14-04"}}, &out),
		"replaces 1 number", "+74872751404", `"8 (487) 275-14-04"`)
	if err := runStaticAdd(ctx, StaticOptions{Data: dir, Site: key, Number: "+7 495 182-51-68", Rule: "utm_source=Yandex", Priority: 2}, &out); err != nil {
		t.Fatalf("static add: %v", err)
	}
	if strings.Contains(out.String(), "nothing is replaced") {
		t.Errorf("static add on a site with its numbers set printed %q", out.String())
	}
	run("static add", nil, "static number +74951825168 added: rule utm_source=yandex, priority 2, replaces all site numbers")
	run("pool add", runPoolAdd(ctx, PoolOptions{Data: dir, Site: key, Name: "ads", Numbers: []string{"74950000001", "74950000002"},
		Fallback: "74950000009", Reserve: "30m", AddrCap: 3, Rule: "utm_medium=cpc"}, &out),
		`pool "ads" added: 2 numbers +74950000001 +74950000002`, "fallback +74950000009, reserve 30m0s, rule utm_medium=cpc")

	file := filepath.Join(t.TempDir(), "numbers.csv")
	os.WriteFile(file, []byte("comment;number\nnew;+7 495 000-00-03\ndup;74950000001\nbad;hello\nnew;8 495 000 00 04\n"), 0o600)
	run("import", runNumbersImport(ctx, ImportOptions{Data: dir, Site: key, Pool: "ads", File: file}, nil, &out),
		`imported 2 numbers into pool "ads", skipped 2`, "added    +74950000003", "added    +74950000004",
		`line 3 "74950000001": 74950000001 is already in pool "ads"`, `line 4 "hello"`)
	run("import stdin", runNumbersImport(ctx, ImportOptions{Data: dir, Site: key, Pool: "ads", File: "-"}, strings.NewReader("74950000005\n"), &out),
		"imported 1 number")
	run("list", runNumbersList(ctx, NumbersListOptions{Data: dir, Site: key}, &out),
		"+74872751404", "+74951825168  rule utm_source=yandex, priority 2", "ads: 5 numbers, rule utm_medium=cpc",
		"leased now 0 of 5, missed today 0, limited by address today 0 (cap 3 a visitor address)")

	for _, tt := range []struct {
		name string
		err  error
		want string
	}{
		{"bad rule", runStaticAdd(ctx, StaticOptions{Data: dir, Site: key, Number: "74951112233", Rule: "utm_sorce=x"}, &out), "unknown key"},
		{"bad number", runStaticAdd(ctx, StaticOptions{Data: dir, Site: key, Number: "12"}, &out), "has the wrong number of digits"},
		{"pool number as static", runStaticAdd(ctx, StaticOptions{Data: dir, Site: key, Number: "74950000001"}, &out), `already in pool "ads"`},
		{"bad reserve", runPoolAdd(ctx, PoolOptions{Data: dir, Site: key, Name: "x", Numbers: []string{"74952220001"}, Reserve: "1m"}, &out), "reserve"},
		{"unknown site", runNumbersList(ctx, NumbersListOptions{Data: dir, Site: strings.Repeat("A", 32)}, &out), "no site has the key"},
		{"no such pool", runNumbersImport(ctx, ImportOptions{Data: dir, Site: key, Pool: "nope", File: file}, nil, &out), `the site has no pool named "nope"`},
		{"missing file", runNumbersImport(ctx, ImportOptions{Data: dir, Site: key, Pool: "ads", File: "/nonexistent.csv"}, nil, &out), "no such file"},
		{"nothing to set", runSiteNumbers(ctx, SiteNumbersOptions{Data: dir, Site: key}, &out), "give --replace"},
	} {
		if tt.err == nil || !strings.Contains(tt.err.Error(), tt.want) {
			t.Errorf("%s: err = %v, want %q", tt.name, tt.err, tt.want)
		}
		if strings.Contains(tt.err.Error(), "tracking: invalid input") {
			t.Errorf("%s: the package's sentinel leaks into %q", tt.name, tt.err)
		}
	}
	if out.Len() != 0 {
		t.Errorf("failed commands printed %q", out.String())
	}
	// The same commands work with no server running.
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	run("pool remove offline", runPoolRemove(ctx, PoolOptions{Data: dir, Site: key, Name: "ads"}, &out), `pool "ads" removed`)
	run("list offline", runNumbersList(ctx, NumbersListOptions{Data: dir, Site: key}, &out), "pools: 0", "static numbers: 1")
	run("static remove offline", runStaticRemove(ctx, StaticOptions{Data: dir, Site: key, Number: "74951825168"}, &out), "removed")
}

// hitAnswer is what the tests read of a hit's answer.
type hitAnswer struct {
	CI        string `json:"ci"`
	VisitorID uint64 `json:"visitor_id"`
	SessionID uint64 `json:"session_id"`
	Key       string `json:"key"`
	Phones    *struct {
		Numbers []struct {
			Raw  string `json:"raw"`
			Type string `json:"type"`
		} `json:"numbers"`
	} `json:"phones"`
}

func (h hitAnswer) number() string {
	if h.Phones == nil || len(h.Phones.Numbers) == 0 {
		return ""
	}
	return h.Phones.Numbers[0].Raw
}

func postJSON(t *testing.T, url, auth string, body any) []byte {
	t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest("POST", url, bytes.NewReader(b))
	req.Header.Set("Content-Type", "text/plain")
	req.Header.Set("User-Agent", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36")
	if auth != "" {
		req.Header.Set("Authorization", "Bearer "+auth)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", url, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var env struct {
		Success bool            `json:"success"`
		Result  json.RawMessage `json:"result"`
	}
	if json.Unmarshal(raw, &env); resp.StatusCode != 200 || !env.Success {
		t.Fatalf("POST %s: %d %s", url, resp.StatusCode, raw)
	}
	return env.Result
}

// hit posts a page view of the visitor of prev's answer (a new visitor for
// the zero hitAnswer).
func hit(t *testing.T, addr, key string, prev hitAnswer, u string) hitAnswer {
	t.Helper()
	var h hitAnswer
	raw := postJSON(t, "http://"+addr+"/t/v1/hit", "", map[string]string{"k": key, "ci": prev.CI, "key": prev.Key, "u": u, "r": "", "t": "page"})
	if err := json.Unmarshal(raw, &h); err != nil {
		t.Fatal(err)
	}
	return h
}

// Leases and their history survive a SIGKILL of the server: after the
// restart the visitor keeps its number, nobody else can take it, and a
// call to it is attributed to the visitor.
func TestLeasesSurviveSIGKILL(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	cmd, addr := startChild(t, dir)
	kill := func() { cmd.Process.Signal(syscall.SIGKILL); cmd.Wait() }
	t.Cleanup(func() { kill() })
	key := addAdsPoolSite(t, dir)
	var out bytes.Buffer
	out.Reset()
	if err := runTokenAdd(ctx, TokenOptions{Data: dir, Name: "pbx"}, &out); err != nil {
		t.Fatal(err)
	}
	token := strings.TrimSpace(out.String()[strings.LastIndex(strings.TrimSpace(out.String()), "\n"):])

	const landing = "https://crash.example/promo?utm_source=google&utm_medium=cpc&utm_campaign=winter"
	a := hit(t, addr, key, hitAnswer{}, landing)
	b := hit(t, addr, key, hitAnswer{}, "https://crash.example/?utm_source=vk&utm_medium=cpc")
	if a.number() == "" || b.number() == "" || a.number() == b.number() || a.number() == "74950000009" {
		t.Fatalf("before the crash: a %s, b %s", a.number(), b.number())
	}
	kill()
	cmd, addr = startChild(t, dir)
	if c := hit(t, addr, key, hitAnswer{}, landing); c.number() != "74950000009" {
		t.Fatalf("after the restart a newcomer got %s, want the fallback: both numbers are leased", c.number())
	}
	if again := hit(t, addr, key, a, "https://crash.example/cart"); again.number() != a.number() {
		t.Fatalf("after the restart visitor a got %s, want %s", again.number(), a.number())
	}
	raw := postJSON(t, "http://"+addr+"/api/v1/calls", token, map[string]any{"called": a.number(), "caller": "79161234567",
		"started_at": time.Now().UTC().Format(time.RFC3339), "duration": 30, "answered": true})
	var res map[string]any
	json.Unmarshal(raw, &res)
	if res["attributed"] != true || res["visitor_id"] != float64(a.VisitorID) || res["session_id"] != float64(a.SessionID) ||
		res["utm_campaign"] != "winter" || res["landing_page"] != landing || res["source"] != "ad" {
		t.Fatalf("call after the restart: %s (visitor %d session %d)", raw, a.VisitorID, a.SessionID)
	}
}

// A clean stop seals the pools' leases for the next start; a lease taken
// after that start and then a SIGKILL must not be lost to them: after the
// second restart both visitors keep their numbers and a newcomer gets the
// fallback.
func TestLeasesAfterCleanStopThenSIGKILL(t *testing.T) {
	dir := t.TempDir()
	cmd, addr := startChild(t, dir)
	t.Cleanup(func() { cmd.Process.Signal(syscall.SIGKILL); cmd.Wait() })
	key := addAdsPoolSite(t, dir)
	const landing = "https://crash.example/promo?utm_source=google&utm_medium=cpc"
	a := hit(t, addr, key, hitAnswer{}, landing)
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("clean stop: %v", err)
	}
	db, err := store.Open(dir, store.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	_, err = db.Get(store.SealedKey("pools"))
	db.Close()
	if err != nil {
		t.Fatalf("after a clean stop the pools' leases are not sealed: %v", err)
	}
	cmd, addr = startChild(t, dir)
	if again := hit(t, addr, key, a, "https://crash.example/cart"); again.number() != a.number() {
		t.Fatalf("after the clean restart visitor a got %s, want %s", again.number(), a.number())
	}
	b := hit(t, addr, key, hitAnswer{}, landing)
	if b.number() == "" || b.number() == a.number() || b.number() == "74950000009" {
		t.Fatalf("after the clean restart: a %s, b %s", a.number(), b.number())
	}
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	cmd, addr = startChild(t, dir)
	if c := hit(t, addr, key, hitAnswer{}, landing); c.number() != "74950000009" {
		t.Fatalf("after the SIGKILL a newcomer got %s, want the fallback: both numbers are leased", c.number())
	}
	for _, v := range []hitAnswer{a, b} {
		if again := hit(t, addr, key, v, "https://crash.example/cart"); again.number() != v.number() {
			t.Fatalf("after the SIGKILL visitor %d got %s, want %s", v.VisitorID, again.number(), v.number())
		}
	}
}

// addAdsPoolSite adds a site with a static number and a pool "ads" of two
// numbers for cpc traffic (20 minutes' reserve) through the CLI, with the
// server of dir running, and returns its key.
func addAdsPoolSite(t *testing.T, dir string) string {
	t.Helper()
	ctx := context.Background()
	key := addSite(t, dir).Key
	var out bytes.Buffer
	if err := runSiteNumbers(ctx, SiteNumbersOptions{Data: dir, Site: key, Replace: []string{"74872751404"}}, &out); err != nil {
		t.Fatal(err)
	}
	if err := runPoolAdd(ctx, PoolOptions{Data: dir, Site: key, Name: "ads", Numbers: []string{"74950000001", "74950000002"},
		Fallback: "74950000009", Reserve: "20m", Rule: "utm_medium=cpc"}, &out); err != nil {
		t.Fatal(err)
	}
	return key
}

// dialAdminSite adds a second site on the server of dir, with no numbers
// set, and returns its key.
func dialAdminSite(t *testing.T, dir string) string {
	t.Helper()
	s, err := dialAdmin(t, dir).AddSite(context.Background(), admin.AddSite{Name: "Bare", Domains: []string{"bare.example"}})
	if err != nil {
		t.Fatal(err)
	}
	return s.Key
}

// What a command prints for an error keeps the command's name: the package
// prefixes taken out of it ("sites: ", "tracking: ") are those that begin
// the message or follow a ": ", not a command's last word ("site numbers:
// " lost "numbers: ", leaving "site no site has the key", "site site number").
// A phone number that is none is a usage error (2), a site not there a
// failure (1).
func TestErrorKeepsCommandName(t *testing.T) {
	dir, key := offlineSite(t)
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"site", "numbers", "--site", "nokey", "--replace", "74950000000"}, 1,
			"appliance: site numbers: no site has the key \"nokey\" (appliance site list shows them)\n"},
		{[]string{"site", "numbers", "--site", key, "--replace", "foo"}, 2,
			"appliance: site numbers: site number: phone \"foo\" is not a phone number\n"},
	} {
		_, err := cli(t, dir, tc.args...)
		if err == nil {
			t.Fatalf("appliance %s: no error", strings.Join(tc.args, " "))
		}
		var stderr bytes.Buffer
		code := exitCode(err, &stderr)
		if line, _, _ := strings.Cut(stderr.String(), "\n"); code != tc.code || line+"\n" != tc.want {
			t.Errorf("appliance %s: exit %d, printed %q; want exit %d, %q", strings.Join(tc.args, " "), code, stderr.String(), tc.code, tc.want)
		}
	}
}

// Package prefixes one after another all go; a word that only ends in a
// package's name stays.
func TestPlainError(t *testing.T) {
	for in, want := range map[string]string{
		"store: disk full":                                "disk full",
		"backup: webhooks: store: disk full":              "backup: disk full",
		"user add: accounts: invalid input: too short":    "user add: too short",
		"site numbers: sites: no site has the key":        "site numbers: no site has the key",
		"restore: bad archive\nstore: closing: disk full": "restore: bad archive\nclosing: disk full",
	} {
		if got := plainError(errors.New(in)); got != want {
			t.Errorf("plainError(%q) = %q, want %q", in, got, want)
		}
	}
}

// numbers pool add of a name the site's pools have says what the shell
// can do about it; it said "(edit it instead)", the Numbers page's words,
// when no command edited a pool.
func TestPoolAddOfATakenNameSaysWhatToDo(t *testing.T) {
	dir, key := offlineSite(t)
	if out, err := cli(t, dir, "numbers", "pool", "add", "--site", key, "--name", "ads", "--numbers", "74950000001"); err != nil {
		t.Fatalf("pool add: %v %q", err, out)
	}
	_, err := cli(t, dir, "numbers", "pool", "add", "--site", key, "--name", "ads", "--numbers", "74950000002")
	var stderr bytes.Buffer
	code := exitCode(err, &stderr)
	want := `appliance: numbers pool add: pool "ads": the site has a pool of that name: numbers import --site ` + key + ` --pool ads FILE adds numbers to it, numbers pool edit --site ` + key + ` --name ads changes its settings` + "\n"
	if line, _, _ := strings.Cut(stderr.String(), "\n"); code != 2 || line+"\n" != want {
		t.Errorf("pool add of a taken name: exit %d, printed %q; want 2, %q", code, stderr.String(), want)
	}
}

// numbers pool edit changes the settings given and keeps the others, with
// a server running or without; a pool that is not there, or a value the
// server refuses, is a usage error (exit 2).
func TestPoolEdit(t *testing.T) {
	dir, key := offlineSite(t)
	must := func(want string, args ...string) {
		t.Helper()
		out, err := cli(t, dir, args...)
		if err != nil || !strings.Contains(out, want) {
			t.Fatalf("%v: %v, printed %q; want %q in it", args, err, out, want)
		}
	}
	must(`pool "ads" added`, "numbers", "pool", "add", "--site", key, "--name", "ads", "--numbers", "74950000001,74950000002",
		"--fallback", "74950000009", "--reserve", "30m", "--addr-cap", "3", "--rule", "utm_medium=cpc", "--priority", "2")
	edit := func(args ...string) []string {
		return append([]string{"numbers", "pool", "edit", "--site", key}, args...)
	}
	must(`pool "ads" changed: 2 numbers +74950000001 +74950000002`+"\n  fallback +74950000009, reserve 45m0s, rule utm_medium=cpc, priority 2, replaces all",
		edit("--name", "ads", "--reserve", "45m")...)
	must("ads: 2 numbers, rule utm_medium=cpc, priority 2", "numbers", "list", "--site", key)
	must("(cap 3 a visitor address)", "numbers", "list", "--site", key)

	// Renamed, its cap lifted, its fallback the site's own, all at once.
	must(`pool "cpc" changed: 2 numbers +74950000001 +74950000002`+"\n  fallback none, reserve 45m0s, rule utm_medium=cpc",
		edit("--name", "ads", "--rename", "cpc", "--addr-cap", "0", "--fallback", "")...)
	must("cpc: 2 numbers", "numbers", "list", "--site", key)
	must("(cap none)", "numbers", "list", "--site", key)

	// With a server running: its numbers replaced, its rule cleared.
	_, stop := startServe(t, dir)
	must(`pool "cpc" changed: 1 number +74950000003`+"\n  fallback none, reserve 45m0s, rule: all traffic, priority 2",
		edit("--name", "cpc", "--numbers", "8 495 000-00-03", "--rule", "")...)
	if err := stop(); err != nil {
		t.Fatal(err)
	}

	// A pool not there is a failure (1), as numbers pool remove's is; a
	// value the pool cannot take a usage error (2).
	for _, tt := range []struct {
		args []string
		code int
		want string
	}{
		{edit("--name", "ads", "--reserve", "1h"), 1, `appliance: numbers pool edit: the site has no pool named "ads" (appliance numbers list --site ` + key + ` shows them; numbers pool add makes one)`},
		{edit("--name", "cpc", "--reserve", "1m"), 2, "appliance: numbers pool edit: "},
	} {
		_, err := cli(t, dir, tt.args...)
		var stderr bytes.Buffer
		if code := exitCode(err, &stderr); code != tt.code || !strings.HasPrefix(stderr.String(), tt.want) {
			t.Errorf("%v: exit %d, printed %q; want %d, %q", tt.args, code, stderr.String(), tt.code, tt.want)
		}
	}
	must("cpc: 1 number", "numbers", "list", "--site", key)
	must("reserve 45m", "numbers", "list", "--site", key)
}
