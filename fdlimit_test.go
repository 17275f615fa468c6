package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// fdLimit is the open file limit (soft = hard, so raising the soft limit
// to the hard one changes nothing) of the child server in
// TestServeSurvivesFDExhaustion; the flood holds more connections than that.
const (
	fdLimit   = 256
	floodConn = 400
)

// A serving child process under a low open file limit is flooded with idle
// connections from one client, more than it has file descriptors. It must
// keep serving: once the flood is gone it answers /healthz and a hit.
// By default the connection cap (derived from the limit) turns the excess
// away; with the cap above the limit, accept itself runs out of
// descriptors, and the server must back off and retry instead of stopping,
// count the errors in /metrics and log them once.
func TestServeSurvivesFDExhaustion(t *testing.T) {
	prlimit, err := exec.LookPath("prlimit")
	if err != nil {
		t.Skip("prlimit (util-linux) not installed: cannot start the server under a low open file limit")
	}
	for _, tc := range []struct {
		name     string
		maxConns string // APPLIANCE_MAX_CONNS; empty: the default from the limit
	}{
		{"connection cap", ""},
		{"accept out of descriptors", "100000"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			cmd := exec.Command(prlimit, fmt.Sprintf("--nofile=%d:%d", fdLimit, fdLimit), "--",
				os.Args[0], "serve", "--data", dir, "--listen", "127.0.0.1:0")
			cmd.Env = []string{"APPLIANCE_METRICS_TOKEN=fd-test"}
			if tc.maxConns != "" {
				cmd.Env = append(cmd.Env, "APPLIANCE_MAX_CONNS="+tc.maxConns)
			}
			stderr := &syncWriter{w: new(bytes.Buffer)}
			cmd.Stderr = io.MultiWriter(os.Stderr, stderr)
			cmd, addr := startChildCmd(t, dir, cmd)
			exited := make(chan error, 1)
			go func() { exited <- cmd.Wait() }()
			t.Cleanup(func() {
				cmd.Process.Kill()
				<-exited
			})
			site := addSite(t, dir)

			flood(t, addr, floodConn)

			select {
			case err := <-exited:
				exited <- err
				t.Fatalf("the server stopped under the flood: %v\n%s", err, stderr.String())
			default:
			}
			base := "http://" + addr
			resp, err := http.Get(base + "/healthz")
			if err != nil {
				t.Fatalf("/healthz after the flood: %v", err)
			}
			resp.Body.Close()
			if resp.StatusCode != 200 {
				t.Fatalf("/healthz after the flood: status %d", resp.StatusCode)
			}
			body, _ := json.Marshal(map[string]string{"k": site.Key, "u": "https://crash.example/after-flood", "t": "page"})
			req, _ := http.NewRequest("POST", base+"/t/v1/hit", bytes.NewReader(body))
			req.Header.Set("Content-Type", "text/plain")
			req.Header.Set("Origin", "https://crash.example")
			resp, err = http.DefaultClient.Do(req)
			if err != nil {
				t.Fatalf("hit after the flood: %v", err)
			}
			out, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 || !strings.Contains(string(out), `"success":true`) {
				t.Fatalf("hit after the flood: %d %s", resp.StatusCode, out)
			}

			if tc.maxConns != "" {
				if n := acceptErrors(t, base); n == 0 {
					t.Errorf("appliance_http_accept_errors_total = 0, want the accept errors counted")
				}
				if n := strings.Count(stderr.String(), "out of file descriptors"); n != 1 {
					t.Errorf("the log says %d times that accept ran out of file descriptors, want once:\n%s", n, stderr.String())
				}
			}
		})
	}
}

// flood opens n idle connections to addr, then waits until the server has
// dealt with each one (closed it: turned away, timed out idle, or the
// server died), and closes them. Connections the kernel cannot even queue
// are counted as refused.
func flood(t *testing.T, addr string, n int) {
	t.Helper()
	var conns []net.Conn
	refused := 0
	for range n {
		c, err := net.DialTimeout("tcp", addr, 10*time.Second)
		if err != nil {
			refused++
			continue
		}
		conns = append(conns, c)
	}
	t.Logf("flood: %d idle connections open, %d refused", len(conns), refused)
	var wg sync.WaitGroup
	for _, c := range conns {
		wg.Go(func() {
			defer c.Close()
			// A safety net, not a timed assertion: the server's read
			// timeout closes an idle connection well before.
			c.SetReadDeadline(time.Now().Add(3 * time.Minute))
			_, err := io.Copy(io.Discard, c)
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				t.Errorf("the server never closed an idle connection")
			}
		})
	}
	wg.Wait()
}

// acceptErrors reads appliance_http_accept_errors_total from /metrics.
func acceptErrors(t *testing.T, base string) int {
	t.Helper()
	req, _ := http.NewRequest("GET", base+"/metrics", nil)
	req.Header.Set("Authorization", "Bearer fd-test")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "appliance_http_accept_errors_total "); ok {
			n, err := strconv.Atoi(v)
			if err != nil {
				t.Fatalf("metric %q: %v", line, err)
			}
			return n
		}
	}
	t.Fatalf("no appliance_http_accept_errors_total in /metrics:\n%s", b)
	return 0
}
