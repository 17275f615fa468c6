package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"appliance/httpd/admin"
	"appliance/store"
	"appliance/store/storetest"
)

// mountTmpfs mounts a tmpfs of size (mount's syntax, "64m") on a fresh
// directory and unmounts it at the end. It skips the test where mounting
// is not allowed (not root, no CAP_SYS_ADMIN); CI runs as root, so there
// the test runs.
func mountTmpfs(t *testing.T, size string) string {
	t.Helper()
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size, "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a small tmpfs to fill (needs root): %v %s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v %s", dir, err, out)
		}
	})
	return dir
}

// fillDisk writes path until the file system is full.
func fillDisk(t *testing.T, path string) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	chunk := make([]byte, 1<<20)
	for {
		if _, err := f.Write(chunk); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatal(err)
			}
			break
		}
	}
	for { // the last partial pages
		if _, err := f.Write(chunk[:512]); err != nil {
			break
		}
	}
}

type diskHit struct {
	Status     int
	RetryAfter string
	Body       string
	Hit        ackedHit
}

func postHit(t *testing.T, base, siteKey string, n int) diskHit {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"k": siteKey, "u": fmt.Sprintf("https://crash.example/full/%d", n), "t": "page"})
	req, _ := http.NewRequest("POST", base+"/t/v1/hit", bytes.NewReader(body))
	req.Header.Set("Content-Type", "text/plain")
	req.Header.Set("Origin", "https://crash.example")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("hit: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	a := diskHit{Status: resp.StatusCode, RetryAfter: resp.Header.Get("Retry-After"), Body: string(b)}
	var out struct {
		Result struct {
			SessionID uint64 `json:"session_id"`
			HitID     uint64 `json:"hit_id"`
		} `json:"result"`
	}
	if json.Unmarshal(b, &out) == nil {
		a.Hit = ackedHit{out.Result.SessionID, out.Result.HitID}
	}
	return a
}

// A serving child on a small tmpfs: once the disk is full, writes are
// refused with 507 and Retry-After, /healthz says "disk full", reads work,
// the log says so once; once space is freed, writes resume by themselves.
// Every acknowledged write survives a SIGKILL. A server started on the
// full disk says so and exits instead of spinning.
func TestDiskFull(t *testing.T) {
	data := mountTmpfs(t, "64m")
	stderr := &syncWriter{w: new(bytes.Buffer)}
	cmd := exec.Command(os.Args[0], "serve", "--data", data, "--listen", "127.0.0.1:0")
	cmd.Stderr = io.MultiWriter(os.Stderr, stderr)
	cmd, addr := startChildCmd(t, data, cmd)
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	killed := false
	t.Cleanup(func() {
		if !killed {
			cmd.Process.Kill()
			<-exited
		}
	})
	base := "http://" + addr
	site := addSite(t, data)
	var acked []ackedHit
	for i := range 20 {
		a := postHit(t, base, site.Key, i)
		if a.Status != 200 {
			t.Fatalf("hit before the disk is full: %d %s", a.Status, a.Body)
		}
		acked = append(acked, a.Hit)
	}

	ac := dialAdmin(t, data)
	if _, err := ac.AddUser(context.Background(), admin.AddUser{Email: "owner@example.com", Password: "correct horse battery"}); err != nil {
		t.Fatal(err)
	}
	dash := dashboardLogin(t, base, "owner@example.com", "correct horse battery")

	filler := filepath.Join(data, "filler")
	fillDisk(t, filler)
	for i := range 3 {
		a := postHit(t, base, site.Key, 100+i)
		if a.Status != 507 || a.RetryAfter == "" || !strings.Contains(a.Body, `"success":false`) || !strings.Contains(a.Body, "disk is full") {
			t.Fatalf("hit on a full disk: %d Retry-After %q %s, want 507 with Retry-After and a JSON error", a.Status, a.RetryAfter, a.Body)
		}
	}
	_, err := ac.AddSite(context.Background(), admin.AddSite{Name: "Full", Domains: []string{"full.example"}})
	if err == nil || !strings.Contains(err.Error(), "disk is full") {
		t.Fatalf("site add on a full disk: %v", err)
	}
	resp, err := http.Get(base + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	hb, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 503 || !strings.Contains(string(hb), "disk full") {
		t.Fatalf("/healthz on a full disk: %d %s", resp.StatusCode, hb)
	}
	sites, err := ac.Sites(context.Background())
	if err != nil || len(sites) != 1 || sites[0].Key != site.Key {
		t.Fatalf("site list (a read) on a full disk: %+v %v", sites, err)
	}
	resp, err = dash.Get(base + "/sites")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(page), "Crash") {
		t.Fatalf("the dashboard's site list on a full disk: %d\n%s", resp.StatusCode, page)
	}
	csrf := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindSubmatch(page)
	if csrf == nil {
		t.Fatal("no form on the site list")
	}
	resp, err = dash.PostForm(base+"/sites", url.Values{"csrf": {string(csrf[1])}, "name": {"Full"}, "domain": {"full.example"}})
	if err != nil {
		t.Fatal(err)
	}
	page, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 507 || !strings.Contains(string(page), "disk is full") {
		t.Fatalf("adding a site in the dashboard on a full disk: %d\n%s", resp.StatusCode, page)
	}
	if n := strings.Count(stderr.String(), `msg="disk full`); n != 1 {
		t.Errorf("the log says %d times that the disk is full, want once:\n%s", n, stderr.String())
	}

	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		a := postHit(t, base, site.Key, 200+i)
		if a.Status != 200 {
			t.Fatalf("hit after space was freed: %d %s", a.Status, a.Body)
		}
		acked = append(acked, a.Hit)
	}
	resp, err = http.Get(base + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("/healthz after space was freed: %d", resp.StatusCode)
	}

	cmd.Process.Signal(syscall.SIGKILL)
	<-exited
	killed = true
	db := storetest.OpenAt(t, data)
	for _, h := range acked {
		if _, err := db.Get(store.HitKey(site.ID, h.Session, h.Hit)); err != nil {
			t.Errorf("acknowledged hit %+v lost: %v", h, err)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	// Start-up on a full disk: a clear message and a non-zero exit, in
	// bounded time (the context is a safety net against a spinning start).
	fillDisk(t, filler)
	defer os.Remove(filler)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	start := exec.CommandContext(ctx, os.Args[0], "serve", "--data", data, "--listen", "127.0.0.1:0")
	start.Env = append(os.Environ(), "APPLIANCE_TEST_MAIN=1")
	out, err := start.CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("serve on a full disk did not exit:\n%s", out)
	}
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() == 0 || !strings.Contains(string(out), "disk full") {
		t.Fatalf("serve on a full disk: %v\n%s", err, out)
	}
	t.Logf("serve on a full disk: %s", bytes.TrimSpace(out))

	// A backup with the server stopped cannot open the store either: it
	// says how to move the store off the full disk.
	backup := exec.CommandContext(ctx, os.Args[0], "backup", "--data", data, "-o", filepath.Join(t.TempDir(), "b.tar"))
	backup.Env = append(os.Environ(), "APPLIANCE_TEST_MAIN=1")
	out, err = backup.CombinedOutput()
	if !errors.As(err, &ee) || ee.ExitCode() == 0 || !strings.Contains(string(out), "disk full") || !strings.Contains(string(out), "cp -a "+data) {
		t.Fatalf("backup on a full disk, the server stopped: %v\n%s", err, out)
	}
	t.Logf("backup on a full disk: %s", bytes.TrimSpace(out))
}

// dashboardLogin signs in to the dashboard at base and returns the client
// holding the session cookie.
func dashboardLogin(t *testing.T, base, email, password string) *http.Client {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Get(base + "/login")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindSubmatch(body)
	if m == nil {
		t.Fatalf("no csrf token on /login (status %d)", resp.StatusCode)
	}
	resp, err = c.PostForm(base+"/login", url.Values{"csrf": {string(m[1])}, "email": {email}, "password": {password}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("login: status %d", resp.StatusCode)
	}
	return c
}
