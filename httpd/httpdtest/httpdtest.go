// Package httpdtest starts the real appliance server for tests, like
// net/http/httptest does for handlers: a fresh pebble store in a temporary
// directory, the fasthttp server on 127.0.0.1, and, for browser tests, a
// headless Debian chromium driven by chromedp. Browser tests skip when no
// chromium is installed, except under CI (the CI environment variable set),
// where a missing browser fails the test so it can never pass silently.
package httpdtest

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"appliance/httpd"
	"appliance/httpd/accounts"
	"appliance/store"
	"appliance/store/storetest"
)

// Server is a running appliance on 127.0.0.1 over a temporary store.
type Server struct {
	URL  string // e.g. http://127.0.0.1:41234/ (ends in "/")
	Addr string // host:port
	Dir  string // the data directory
	DB   *store.DB
	HTTP *httpd.Server

	cancel context.CancelFunc
	done   chan error
	ln     net.Listener
}

// Start starts a server; it is stopped at the end of the test. opts may
// change the options before the server is built (PublicURL is set to the
// bound address unless an option sets it).
func Start(t testing.TB, opts ...func(*httpd.Options)) *Server {
	t.Helper()
	dir := t.TempDir()
	return StartAt(t, dir, opts...)
}

// StartAt is Start on a given data directory (to restart over a store).
func StartAt(t testing.TB, dir string, opts ...func(*httpd.Options)) *Server {
	t.Helper()
	return startOn(t, dir, "127.0.0.1:0", opts)
}

// Restart stops the server and starts it again over the same store on the
// same address, as a restarted appliance: pages and consoles that talked
// to it reconnect to the same URL. opts are the new server's options.
func (s *Server) Restart(t testing.TB, opts ...func(*httpd.Options)) *Server {
	t.Helper()
	s.Stop()
	return startOn(t, s.Dir, s.Addr, opts)
}

func startOn(t testing.TB, dir, listen string, opts []func(*httpd.Options)) *Server {
	t.Helper()
	db := storetest.OpenAt(t, dir)
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		db.Close()
		t.Fatalf("listen: %v", err)
	}
	addr := ln.Addr().String()
	o := httpd.Options{
		Listen:    addr,
		PublicURL: "http://" + addr,
		Version:   "test",
		Log:       slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn})),
	}
	for _, f := range opts {
		f(&o)
	}
	ctx, cancel := context.WithCancel(context.Background())
	srv, err := httpd.New(ctx, db, o)
	if err != nil {
		cancel()
		ln.Close()
		db.Close()
		t.Fatalf("new server: %v", err)
	}
	s := &Server{URL: srv.PublicURL(), Addr: addr, Dir: dir, DB: db, HTTP: srv, cancel: cancel, done: make(chan error, 1), ln: ln}
	go func() { s.done <- srv.Serve(ctx, ln, nil) }()
	t.Cleanup(s.Stop)
	return s
}

// Stop shuts the server down gracefully and closes the store; calling it
// again does nothing.
func (s *Server) Stop() {
	if s.cancel == nil {
		return
	}
	s.cancel()
	s.cancel = nil
	<-s.done
	// A server stopped right after it started may return before its
	// HTTP server took the listener (and so before the shutdown could
	// close it): closed here, so that Restart can listen on its address.
	_ = s.ln.Close()
	s.DB.Close()
}

// AllowPrivate is an option of Start: webhooks and callback scenarios may
// reach 127.0.0.1, where tests run their receivers. Without it the server
// refuses them, as it does by default.
func AllowPrivate(o *httpd.Options) { o.Webhooks.Policy.AllowPrivate = true }

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// Owner creates the owner account directly in the store and returns its
// credentials.
func (s *Server) Owner(t testing.TB) (email, password string) {
	t.Helper()
	email, password = "owner@example.com", "correct horse battery"
	if _, err := accounts.New(s.DB).CreateUser(context.Background(), email, password, accounts.RoleOwner); err != nil {
		t.Fatalf("create owner: %v", err)
	}
	return email, password
}

// Client returns an HTTP client with a cookie jar, signed in as the owner
// (created when missing), for tests that drive the dashboard without a
// browser. It does not follow redirects.
func (s *Server) Client(t testing.TB) *http.Client {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	email, password := "owner@example.com", "correct horse battery"
	if _, err := accounts.New(s.DB).User(email); err != nil {
		s.Owner(t)
	}
	csrf := s.formToken(t, c, "login")
	resp, err := c.PostForm(s.URL+"login", url.Values{"csrf": {csrf}, "email": {email}, "password": {password}})
	if err != nil {
		t.Fatalf("login: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("login: status %d", resp.StatusCode)
	}
	return c
}

var csrfRe = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// formToken fetches a page and returns the CSRF token of its first form.
func (s *Server) formToken(t testing.TB, c *http.Client, path string) string {
	t.Helper()
	resp, err := c.Get(s.URL + path)
	if err != nil {
		t.Fatalf("get %s: %v", path, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	m := csrfRe.FindSubmatch(body)
	if m == nil {
		t.Fatalf("no csrf token on /%s (status %d)", path, resp.StatusCode)
	}
	return string(m[1])
}

// FormToken returns the CSRF token of the first form on a dashboard page,
// fetched with the signed-in client c.
func (s *Server) FormToken(t testing.TB, c *http.Client, path string) string {
	t.Helper()
	return s.formToken(t, c, strings.TrimPrefix(path, "/"))
}

// Site creates a site directly through the server's registry and returns
// its key.
func (s *Server) Site(t testing.TB, name, domain string) string {
	t.Helper()
	site, err := s.HTTP.Sites().Create(context.Background(), name, []string{domain})
	if err != nil {
		t.Fatalf("create site: %v", err)
	}
	return site.Key
}

// TestSite serves pages of a web site on another origin than the appliance
// (its own 127.0.0.1 port), as a site owner's site would be. page maps a
// path to the HTML served there; nil answers 404.
func TestSite(t testing.TB, page func(path string) (html string, ok bool)) *httptest.Server {
	t.Helper()
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		html, ok := page(r.URL.Path)
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		io.WriteString(w, html)
	}))
	t.Cleanup(ts.Close)
	return ts
}

// chromiumPath finds Debian's chromium (or another Chrome) on this machine.
func chromiumPath() string {
	for _, p := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if path, err := exec.LookPath(p); err == nil {
			return path
		}
	}
	return ""
}

// Browser starts a headless chromium for the test and returns its first
// tab's context; everything is closed at the end of the test, and every
// browser action fails after three minutes. Without chromium the test is
// skipped, or failed under CI. When the test fails, a screenshot of the tab
// is saved and its path logged.
func Browser(t testing.TB) context.Context {
	t.Helper()
	return BrowserFor(t, 3*time.Minute)
}

// BrowserFor is Browser for a test that drives the browser for longer
// than three minutes in all (the screenshot sweep): its actions fail after
// limit.
func BrowserFor(t testing.TB, limit time.Duration) context.Context {
	t.Helper()
	path := chromiumPath()
	if path == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("chromium not found, and CI is set: browser tests must run (apt-get install chromium)")
		}
		t.Skip("chromium not found; install Debian's chromium to run browser tests")
	}
	// A chromium that does not come up (its DevTools address not printed
	// in time on a loaded machine) is the machine's trouble, not the
	// test's: it is started again, with a fresh profile, up to three times.
	var (
		ctx                                   context.Context
		cancelAlloc, cancelCtx, cancelTimeout context.CancelFunc
		err                                   error
	)
	for attempt := 1; attempt <= 3; attempt++ {
		ctx, cancelAlloc, cancelCtx, cancelTimeout, err = startChromium(path, t.TempDir(), limit)
		if err == nil {
			break
		}
		t.Logf("start chromium, attempt %d of 3: %v", attempt, err)
	}
	if err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			SaveScreenshot(t, ctx, "failure")
		}
		cancelTimeout()
		cancelCtx()
		cancelAlloc()
	})
	if !Eval[bool](t, ctx, `matchMedia("(prefers-reduced-motion: reduce)").matches`) {
		t.Fatal("chromium does not prefer reduced motion: the dashboard's smooth scroll would move buttons under the tests' clicks")
	}
	return ctx
}

// startChromium starts one headless chromium on the profile directory and
// opens its first tab, whose actions fail after limit.
func startChromium(path, profile string, limit time.Duration) (context.Context, context.CancelFunc, context.CancelFunc, context.CancelFunc, error) {
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.UserDataDir(profile),
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		// The dashboard scrolls smoothly to a row a form came back to
		// unless the visitor asked for less motion; a click aimed at a
		// button while the page still glides lands beside it.
		chromedp.Flag("force-prefers-reduced-motion", true),
		chromedp.WindowSize(1280, 900),
	)
	if os.Geteuid() == 0 {
		opts = append(opts, chromedp.NoSandbox)
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(allocCtx)
	ctx, cancelTimeout := context.WithTimeout(ctx, limit)
	if err := chromedp.Do(ctx); err != nil {
		cancelTimeout()
		cancelCtx()
		cancelAlloc()
		return nil, nil, nil, nil, err
	}
	return ctx, cancelAlloc, cancelCtx, cancelTimeout, nil
}

// NewVisitor returns a tab in a new browser context of the same browser:
// its own cookies and storage, as a second visitor on another device.
func NewVisitor(t testing.TB, browser context.Context) context.Context {
	t.Helper()
	ctx, cancel := chromedp.NewContext(browser, chromedp.WithNewBrowserContext())
	if err := chromedp.Do(ctx); err != nil {
		cancel()
		t.Fatalf("new browser context: %v", err)
	}
	t.Cleanup(cancel)
	return ctx
}

// ArtifactDir is where screenshots are kept: $ARTIFACTS_DIR (what CI
// collects), else $APPLIANCE_ARTIFACTS, else test-artifacts at the root of
// the module (git ignores it), else appliance-test-artifacts in the system
// temp directory. Unlike t.TempDir it outlives the test, so a screenshot
// can be looked at.
func ArtifactDir(t testing.TB) string {
	dir := os.Getenv("ARTIFACTS_DIR")
	if dir == "" {
		dir = os.Getenv("APPLIANCE_ARTIFACTS")
	}
	if dir == "" {
		dir = filepath.Join(os.TempDir(), "appliance-test-artifacts")
		if root := moduleRoot(); root != "" {
			dir = filepath.Join(root, "test-artifacts")
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Logf("artifact dir: %v", err)
	}
	return dir
}

// moduleRoot is the nearest directory at or above the working directory
// (a test runs in its package's) that holds go.mod, or "".
func moduleRoot() string {
	dir, err := os.Getwd()
	if err != nil {
		return ""
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
}

// SaveScreenshot saves a full-page PNG of the tab as an artifact named
// after the test and name, and logs its path.
func SaveScreenshot(t testing.TB, ctx context.Context, name string) string {
	buf, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Logf("screenshot %s: %v", name, err)
		return ""
	}
	safe := strings.NewReplacer("/", "_", " ", "_").Replace(t.Name() + "-" + name)
	p := filepath.Join(ArtifactDir(t), safe+".png")
	if err := os.WriteFile(p, buf, 0o644); err != nil {
		t.Logf("screenshot %s: %v", name, err)
		return ""
	}
	t.Logf("screenshot saved: %s", p)
	return p
}

// Eval evaluates js in the tab (awaiting a promise result) and returns its
// value as T; it fails the test on error.
func Eval[T any](t testing.TB, ctx context.Context, js string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("evaluate %s: %v", js, err)
	}
	return v
}

// Must runs chromedp actions and fails the test on error.
func Must(t testing.TB, ctx context.Context, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, actions...); err != nil {
		t.Fatal(fmt.Errorf("browser: %w", err))
	}
}
