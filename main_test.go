package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"regexp"
	"runtime/pprof"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"appliance/httpd/accounts"
	"appliance/httpd/admin"
	"appliance/store"
	"appliance/store/storetest"
)

// TestMain lets the test binary act as the appliance binary: the crash test
// re-executes it with APPLIANCE_TEST_MAIN set to run a real `serve` child
// process that it can SIGKILL.
func TestMain(m *testing.M) {
	if os.Getenv("APPLIANCE_TEST_MAIN") == "1" {
		if name := os.Getenv("APPLIANCE_TEST_CPUPROFILE"); name != "" {
			profiledMain(name)
		}
		main()
		return
	}
	if os.Getenv("APPLIANCE_TEST_PRIORITY") == "1" {
		printThreadNices()
		return
	}
	os.Exit(m.Run())
}

// profiledMain is main with a CPU profile written to name, for
// BenchmarkHitsDuringBackup's backup commands.
func profiledMain(name string) {
	f, err := os.Create(name)
	if err != nil {
		return
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	cmd, err := newRoot(os.Stdout).ExecuteContextC(ctx)
	stop()
	pprof.StopCPUProfile()
	f.Close()
	os.Exit(exitCode(usageOf(cmd, err), os.Stderr))
}

// startServe runs `serve` in-process on dir and returns its address and a
// stop function that waits for a clean shutdown.
func startServe(t *testing.T, dir string) (addr string, stop func() error) {
	t.Helper()
	addr, _, stop = startServeOutput(t, dir)
	return addr, stop
}

// startServeOutput is startServe that also returns what serve printed
// (the setup link) once it is ready.
func startServeOutput(t *testing.T, dir string) (addr, output string, stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	done := make(chan error, 1)
	var out bytes.Buffer
	w := &syncWriter{w: &out}
	go func() {
		done <- runServe(ctx, ServeOptions{Data: dir, Listen: "127.0.0.1:0", Version: "test"}, w, func(a string) { ready <- a })
	}()
	select {
	case addr = <-ready:
	case err := <-done:
		cancel()
		t.Fatalf("serve: %v", err)
	}
	var once sync.Once
	var stopErr error
	stop = func() error {
		once.Do(func() { cancel(); stopErr = <-done })
		return stopErr
	}
	t.Cleanup(func() { stop() })
	w.mu.Lock()
	output = out.String()
	w.mu.Unlock()
	return addr, output, stop
}

type syncWriter struct {
	mu sync.Mutex
	w  *bytes.Buffer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

func (s *syncWriter) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.String()
}

// offlineSite makes a store in a temporary directory with one site, through
// `site add` with no server running, and returns the directory and the
// site key it printed.
func offlineSite(t *testing.T) (dir, siteKey string) {
	t.Helper()
	dir = t.TempDir()
	db := storetest.OpenAt(t, dir)
	db.Close()
	var out bytes.Buffer
	if err := runSiteAdd(context.Background(), SiteAddOptions{Data: dir, Name: "Shop", Domains: []string{"shop.example"}}, &out); err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`site key: (\w+)`).FindStringSubmatch(out.String())
	if m == nil {
		t.Fatalf("site add printed %q", out.String())
	}
	return dir, m[1]
}

func TestSecondServeRefuses(t *testing.T) {
	dir := t.TempDir()
	startServe(t, dir)
	err := runServe(context.Background(), ServeOptions{Data: dir, Listen: "127.0.0.1:0"}, &bytes.Buffer{}, nil)
	if err == nil || !strings.Contains(err.Error(), "in use by a running server (pid") {
		t.Fatalf("second serve: %v", err)
	}
}

// `site add --any-origin` and `site set --any-origin` decide where a site
// takes page views from; the server applies the setting at once.
func TestSiteAnyOriginCommands(t *testing.T) {
	dir := t.TempDir()
	addr, stop := startServe(t, dir)
	ctx := context.Background()
	var out bytes.Buffer
	if err := runSiteAdd(ctx, SiteAddOptions{Data: dir, Name: "Shop", Domains: []string{"shop.example.com"}}, &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "takes page views only from shop.example.com and its sub-domains") {
		t.Errorf("site add printed %q", out.String())
	}
	// The server has no --public-url: its install code names this
	// machine, which no visitor's browser reaches, and site add says so
	// as the site's page in the dashboard does.
	if !strings.Contains(out.String(), "This code points at "+addr+", this machine") || !strings.Contains(out.String(), "--public-url") {
		t.Errorf("site add of a server on %s printed no word of it pointing at this machine:\n%s", addr, out.String())
	}
	_, after, _ := strings.Cut(out.String(), "site key: ")
	key, _, _ := strings.Cut(after, "\n")
	mirror := func() int {
		t.Helper()
		b, _ := json.Marshal(map[string]string{"k": key, "u": "https://mirror.example/", "t": "x"})
		resp, err := http.Post("http://"+addr+"/t/v1/hit", "text/plain", bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if got := mirror(); got != http.StatusForbidden {
		t.Fatalf("a hit from another domain: %d, want 403", got)
	}
	out.Reset()
	if err := runSiteSet(ctx, SiteSetOptions{Data: dir, Site: key, AnyOrigin: new(true)}, &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "takes page views from pages on any domain") {
		t.Errorf("site set printed %q", out.String())
	}
	if got := mirror(); got != http.StatusOK {
		t.Fatalf("a hit from another domain after site set --any-origin=true: %d, want 200", got)
	}
	if err := runSiteAdd(ctx, SiteAddOptions{Data: dir, Name: "Open", Domains: []string{"open.example"}, AnyOrigin: true}, &out); err != nil {
		t.Fatal(err)
	}
	if err := runSiteSet(ctx, SiteSetOptions{Data: dir, Site: "NoSuchSite0123456789012345678901", AnyOrigin: new(true)}, &out); err == nil {
		t.Error("site set of an unknown site succeeded")
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if err := runSiteList(ctx, AdminOptions{Data: dir}, &out); err != nil {
		t.Fatal(err)
	}
	if lines := regexp.MustCompile(`(?m)^\w+  .*$`).FindAllString(out.String(), -1); len(lines) != 2 || !strings.HasSuffix(lines[0], "(any origin)") || !strings.HasSuffix(lines[1], "(any origin)") {
		t.Errorf("site list printed %q, want both sites marked (any origin)", out.String())
	}
}

// `site add --time-zone` and `site set --time-zone` set the zone of a
// site's days; a name the zone database does not know is refused with
// nothing changed; `site list` shows the zone.
func TestSiteTimeZoneCommands(t *testing.T) {
	dir := t.TempDir()
	_, stop := startServe(t, dir)
	ctx := context.Background()
	var out bytes.Buffer
	if err := runSiteAdd(ctx, SiteAddOptions{Data: dir, Name: "Shop", Domains: []string{"shop.example"}, TimeZone: "Mars/Olympus"}, &out); err == nil || !strings.Contains(err.Error(), "unknown time zone") {
		t.Fatalf("site add --time-zone Mars/Olympus: %v", err)
	}
	if err := runSiteAdd(ctx, SiteAddOptions{Data: dir, Name: "Shop", Domains: []string{"shop.example"}, TimeZone: "Europe/Moscow"}, &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "days and hours in Europe/Moscow") {
		t.Errorf("site add printed %q", out.String())
	}
	_, after, _ := strings.Cut(out.String(), "site key: ")
	key, _, _ := strings.Cut(after, "\n")
	out.Reset()
	if err := runSiteSet(ctx, SiteSetOptions{Data: dir, Site: key, TimeZone: new("Local")}, &out); err == nil {
		t.Error("site set --time-zone Local succeeded")
	}
	if err := runSiteSet(ctx, SiteSetOptions{Data: dir, Site: key, TimeZone: new("America/New_York")}, &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "days and hours in America/New_York") {
		t.Errorf("site set printed %q", out.String())
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if err := runSiteList(ctx, AdminOptions{Data: dir}, &out); err != nil {
		t.Fatal(err)
	}
	if got := out.String(); strings.Count(got, "[America/New_York, server phones]") != 1 || strings.Contains(got, "Mars") {
		t.Errorf("site list printed %q, want one site in America/New_York", got)
	}
}

// `site add --phone-region` and `site set --phone-region` set where the
// site's phones without a country code are read; a code the phone parser
// does not know is refused with nothing changed; `site list` shows it.
func TestSitePhoneRegionCommands(t *testing.T) {
	dir := t.TempDir()
	_, stop := startServe(t, dir)
	ctx := context.Background()
	var out bytes.Buffer
	if err := runSiteAdd(ctx, SiteAddOptions{Data: dir, Name: "Shop", Domains: []string{"shop.example"}, PhoneRegion: "XX"}, &out); err == nil || !strings.Contains(err.Error(), "two-letter country code") {
		t.Fatalf("site add --phone-region XX: %v", err)
	}
	if err := runSiteAdd(ctx, SiteAddOptions{Data: dir, Name: "Shop", Domains: []string{"shop.example"}, PhoneRegion: "kz"}, &out); err != nil {
		t.Fatal(err)
	}
	_, after, _ := strings.Cut(out.String(), "site key: ")
	key, _, _ := strings.Cut(after, "\n")
	out.Reset()
	if err := runSiteSet(ctx, SiteSetOptions{Data: dir, Site: key, PhoneRegion: new("RUS")}, &out); err == nil {
		t.Error("site set --phone-region RUS succeeded")
	}
	out.Reset()
	if err := runSiteList(ctx, AdminOptions{Data: dir}, &out); err != nil {
		t.Fatal(err)
	}
	if got := out.String(); strings.Count(got, "[server time, KZ]") != 1 {
		t.Errorf("site list printed %q, want one site in KZ", got)
	}
	out.Reset()
	if err := runSiteSet(ctx, SiteSetOptions{Data: dir, Site: key, PhoneRegion: new("BY")}, &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "read as BY") {
		t.Errorf("site set printed %q", out.String())
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if err := runSiteList(ctx, AdminOptions{Data: dir}, &out); err != nil {
		t.Fatal(err)
	}
	if got := out.String(); strings.Count(got, "[server time, BY]") != 1 {
		t.Errorf("site list printed %q, want one site in BY", got)
	}
}

func TestAdminCommandsWithAndWithoutServer(t *testing.T) {
	dir := t.TempDir()
	var out bytes.Buffer
	if err := runSiteAdd(context.Background(), SiteAddOptions{Data: dir, Name: "x", Domains: []string{"x.com"}}, &out); err == nil {
		t.Fatal("site add without a store should fail")
	}
	_, stop := startServe(t, dir)
	ctx := context.Background()
	if err := runSiteAdd(ctx, SiteAddOptions{Data: dir, Name: "Shop", Domains: []string{"shop.example.com"}}, &out); err != nil {
		t.Fatalf("site add while serving: %v", err)
	}
	if !strings.Contains(out.String(), "site key: ") || !strings.Contains(out.String(), "static/cs.min.js") {
		t.Fatalf("site add printed %q", out.String())
	}
	if err := runUserAdd(ctx, UserOptions{Data: dir, Email: "Owner@Example.com"}, strings.NewReader("a long passphrase\n"), &out); err != nil {
		t.Fatalf("user add: %v", err)
	}
	if err := runUserAdd(ctx, UserOptions{Data: dir, Email: "x@example.com"}, strings.NewReader("short\n"), &out); err == nil {
		t.Fatal("short password accepted")
	}
	if err := stop(); err != nil {
		t.Fatalf("stop: %v", err)
	}
	// Without the server, the same commands open the store themselves.
	out.Reset()
	if err := runSiteList(ctx, AdminOptions{Data: dir}, &out); err != nil {
		t.Fatalf("site list offline: %v", err)
	}
	if !strings.Contains(out.String(), "Shop") {
		t.Fatalf("site list printed %q", out.String())
	}
	if err := runUserPasswd(ctx, UserOptions{Data: dir, Email: "owner@example.com"}, strings.NewReader("another long one\n"), &out); err != nil {
		t.Fatalf("user passwd offline: %v", err)
	}
	out.Reset()
	if err := runTokenAdd(ctx, TokenOptions{Data: dir, Name: "pbx"}, &out); err != nil {
		t.Fatalf("token add: %v", err)
	}
	token := strings.TrimSpace(out.String()[strings.LastIndex(strings.TrimSpace(out.String()), "\n"):])
	db := storetest.OpenAt(t, dir)
	a := accounts.New(db)
	if _, _, err := a.Login(ctx, "owner@example.com", "another long one"); err != nil {
		t.Errorf("login with the new password: %v", err)
	}
	if tk, err := a.CheckToken(token); err != nil || tk.Name != "pbx" {
		t.Errorf("token %q: %+v %v", token, tk, err)
	}
}

// A site added while the server is stopped gets the install code of the
// host the server is reached at (its --public-url), not of a default
// localhost:8080 that no visitor's browser can load the snippet from.
func TestSiteAddOfflineNamesThePublicHost(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	ready := make(chan string, 1)
	go func() {
		done <- runServe(ctx, ServeOptions{Data: dir, Listen: "127.0.0.1:0", PublicURL: "https://track.shop.example", Version: "test"},
			io.Discard, func(a string) { ready <- a })
	}()
	select {
	case <-ready:
	case err := <-done:
		cancel()
		t.Fatalf("serve: %v", err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("serve: %v", err)
	}
	out, err := cli(t, dir, "site", "add", "--name", "Shop", "--domain", "shop.example")
	if err != nil {
		t.Fatalf("site add: %v\n%s", err, out)
	}
	for _, want := range []string{`__cs.push(["setCsHost", "//track.shop.example/"]);`, `src="//track.shop.example/static/cs.min.js"`} {
		if !strings.Contains(out, want) {
			t.Errorf("site add with the server stopped printed no %s:\n%s", want, out)
		}
	}
	if strings.Contains(out, "this machine") {
		t.Errorf("site add of a server with a public URL warns of an install code for this machine:\n%s", out)
	}
	key := regexp.MustCompile(`site key: (\w+)`).FindStringSubmatch(out)
	if key == nil {
		t.Fatalf("no site key in %q", out)
	}
	if out, err = cli(t, dir, "site", "list"); err != nil || !strings.Contains(out, "//track.shop.example/static/cs.min.js") {
		t.Errorf("site list: %v\n%s", err, out)
	}
}

func TestRestoreRefusals(t *testing.T) {
	ctx := context.Background()
	src := t.TempDir()
	_, stop := startServe(t, src)
	var out bytes.Buffer
	if err := runSiteAdd(ctx, SiteAddOptions{Data: src, Name: "Shop", Domains: []string{"shop.example.com"}}, &out); err != nil {
		t.Fatal(err)
	}
	archive := filepath.Join(t.TempDir(), "b.tar")
	if err := runBackup(ctx, BackupOptions{Data: src, Output: archive}, &out); err != nil {
		t.Fatalf("backup: %v", err)
	}
	// Restore onto the live server's directory is refused, in one sentence
	// that says what to do (not trailed by ErrLocked's own text).
	err := runRestore(ctx, RestoreOptions{Data: src, File: archive, Force: true}, &out)
	if !errors.Is(err, store.ErrLocked) || !strings.Contains(err.Error(), "running") {
		t.Fatalf("restore onto a live server: %v", err)
	}
	var stderr bytes.Buffer
	exitCode(err, &stderr)
	if got := stderr.String(); !strings.HasSuffix(got, "; stop it first\n") {
		t.Errorf("restore onto a live server printed %q, want it to end with \"stop it first\"", got)
	}
	// Without --force too: the store is in use, which --force (what the
	// refusal of a store in the way asks for) would not get past.
	err = runRestore(ctx, RestoreOptions{Data: src, File: archive}, &out)
	if !errors.Is(err, store.ErrLocked) || errors.Is(err, store.ErrNotEmpty) || strings.Contains(err.Error(), "--force") {
		t.Errorf("restore onto a live server without --force: %v; want it in use, not --force", err)
	}
	stop()

	dst := t.TempDir()
	if err := runRestore(ctx, RestoreOptions{Data: dst, File: archive}, &out); err != nil {
		t.Fatalf("restore into empty dir: %v", err)
	}
	if err := runRestore(ctx, RestoreOptions{Data: dst, File: archive}, &out); !errors.Is(err, store.ErrNotEmpty) {
		t.Fatalf("restore onto non-empty without --force: %v", err)
	}
	// A corrupt archive is refused and the current data stays.
	raw, _ := os.ReadFile(archive)
	bad := bytes.Clone(raw)
	bad[len(bad)/2] ^= 0xff
	badPath := filepath.Join(t.TempDir(), "bad.tar")
	os.WriteFile(badPath, bad, 0o600)
	if err := runRestore(ctx, RestoreOptions{Data: dst, File: badPath, Force: true}, &out); err == nil {
		t.Fatal("corrupt archive accepted")
	}
	out.Reset()
	if err := runSiteList(ctx, AdminOptions{Data: dst}, &out); err != nil || !strings.Contains(out.String(), "Shop") {
		t.Fatalf("after refused restore: %q %v", out.String(), err)
	}
}

// restore refuses a data directory that holds a store, not one that holds
// other things: a fresh file system's lost+found, a note, the archive
// itself. It restores into it without --force and leaves them be.
func TestRestoreIntoADirectoryWithOtherFiles(t *testing.T) {
	src, _ := offlineSite(t)
	dir := t.TempDir()
	archive := filepath.Join(dir, "backup.tar")
	if err := runBackup(t.Context(), BackupOptions{Data: src, Output: archive}, io.Discard); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "lost+found"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "NOTES"), []byte("moved from the old VPS\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := runRestore(t.Context(), RestoreOptions{Data: dir, File: archive}, &out); err != nil {
		t.Fatalf("restore into a directory with other files but no store: %v", err)
	}
	for _, name := range []string{"lost+found", "NOTES", "backup.tar"} {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			t.Errorf("restore lost %s: %v", name, err)
		}
	}
	out.Reset()
	if err := runSiteList(t.Context(), AdminOptions{Data: dir}, &out); err != nil || !strings.Contains(out.String(), "Shop") {
		t.Fatalf("site list after the restore: %q %v", out.String(), err)
	}
	if err := runRestore(t.Context(), RestoreOptions{Data: dir, File: archive}, io.Discard); !errors.Is(err, store.ErrNotEmpty) {
		t.Fatalf("restore again, onto the store it made, without --force: %v, want it refused", err)
	}
}

// writeLoad keeps n goroutines making durable writes through the admin API
// of the server on dir until ctx ends, and returns the names of the tokens
// whose creation was acknowledged, in acknowledgement order per writer.
func writeLoad(ctx context.Context, dir string, n int) (acked func() []string, wait func()) {
	var mu sync.Mutex
	var names []string
	var wg sync.WaitGroup
	for w := 0; w < n; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, _, err := admin.Dial(ctx, filepath.Join(dir, admin.SocketName))
			if err != nil {
				return
			}
			defer c.Close()
			for i := 0; ctx.Err() == nil; i++ {
				name := fmt.Sprintf("w%d-%d", w, i)
				res, err := c.AddToken(ctx, admin.AddToken{Name: name})
				if err != nil {
					continue
				}
				mu.Lock()
				names = append(names, res.Token)
				mu.Unlock()
			}
		}()
	}
	return func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), names...)
	}, wg.Wait
}

func TestBackupWhileServingUnderLoad(t *testing.T) {
	src := t.TempDir()
	startServe(t, src)
	ctx, cancel := context.WithCancel(context.Background())
	acked, wait := writeLoad(ctx, src, 8)
	for len(acked()) < 200 {
		time.Sleep(5 * time.Millisecond)
	}
	before := acked()
	archive := filepath.Join(t.TempDir(), "b.tar")
	var out bytes.Buffer
	err := runBackup(context.Background(), BackupOptions{Data: src, Output: archive}, &out)
	cancel()
	wait()
	if err != nil {
		t.Fatalf("backup under load: %v", err)
	}
	dst := t.TempDir()
	if err := runRestore(context.Background(), RestoreOptions{Data: dst, File: archive}, &out); err != nil {
		t.Fatalf("restore: %v", err)
	}
	db := storetest.OpenAt(t, dst)
	a := accounts.New(db)
	for _, tok := range before {
		if _, err := a.CheckToken(tok); err != nil {
			t.Fatalf("token acknowledged before the backup is missing from it: %v", err)
		}
	}
	t.Logf("%d writes acknowledged before the backup, all restored", len(before))
}

// serve takes --phone-region (any case) and refuses an unknown one as a
// usage error, before it opens the store.
func TestServePhoneRegion(t *testing.T) {
	dir := t.TempDir()
	err := runServe(context.Background(), ServeOptions{Data: dir, Listen: "127.0.0.1:0", PhoneRegion: "Narnia"}, io.Discard, nil)
	var ue usageError
	if !errors.As(err, &ue) || !strings.Contains(err.Error(), "--phone-region") {
		t.Fatalf("serve --phone-region Narnia: %v, want a usage error", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- runServe(ctx, ServeOptions{Data: dir, Listen: "127.0.0.1:0", PhoneRegion: "gb"}, io.Discard, func(string) { cancel() })
	}()
	if err := <-done; err != nil {
		t.Fatalf("serve --phone-region gb: %v", err)
	}
}

// A backup that the server's stop cuts short says so, and what to do, not
// "500 Internal Server Error" with the server's JSON; no archive is left.
func TestBackupCutShortByServerStop(t *testing.T) {
	dir, _ := offlineSite(t)
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		// One byte a second: the backup is still summing the store's
		// files when the server stops.
		done <- runServe(ctx, ServeOptions{Data: dir, Listen: "127.0.0.1:0", Version: "test", Store: StoreOptions{BackupRate: 1}},
			io.Discard, func(a string) { ready <- a })
	}()
	select {
	case <-ready:
	case err := <-done:
		cancel()
		t.Fatalf("serve: %v", err)
	}
	archive := filepath.Join(t.TempDir(), "b.tar")
	backup := make(chan error, 1)
	go func() {
		backup <- runBackup(context.Background(), BackupOptions{Data: dir, Output: archive}, io.Discard)
	}()
	for {
		// The backup's checkpoint is taken: the server is in the backup.
		if m, _ := filepath.Glob(filepath.Join(dir, ".backup-*", "cp")); len(m) > 0 {
			break
		}
		select {
		case err := <-backup:
			cancel()
			t.Fatalf("backup ended before the server stopped: %v", err)
		case <-time.After(10 * time.Millisecond):
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("serve: %v", err)
	}
	err := <-backup
	var stderr bytes.Buffer
	if exitCode(err, &stderr) != 1 || !strings.Contains(stderr.String(), "the server stopped before the backup was ready") ||
		strings.Contains(stderr.String(), "500") || strings.Contains(stderr.String(), "{") {
		t.Errorf("backup cut short by the server's stop printed %q", stderr.String())
	}
	if _, err := os.Stat(archive); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("backup cut short left %s (%v)", archive, err)
	}
}
