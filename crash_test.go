package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
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

// startChild runs `appliance serve` as a separate process (this test
// binary, see TestMain) and waits until its admin socket answers.
func startChild(t *testing.T, dir string) (*exec.Cmd, string) {
	t.Helper()
	return startChildCmd(t, dir, exec.Command(os.Args[0], "serve", "--data", dir, "--listen", "127.0.0.1:0"))
}

// startChildCmd is startChild with the command prepared by the caller (a
// wrapper such as prlimit, more flags, its own stderr).
func startChildCmd(t *testing.T, dir string, cmd *exec.Cmd) (*exec.Cmd, string) {
	t.Helper()
	cmd.Env = append(os.Environ(), append(cmd.Env, "APPLIANCE_TEST_MAIN=1")...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if cmd.Stderr == nil {
		cmd.Stderr = os.Stderr
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if _, rest, ok := strings.Cut(sc.Text(), " on "); ok && strings.Contains(sc.Text(), "serving") {
				addr <- strings.Fields(rest)[0]
			}
		}
	}()
	select {
	case a := <-addr:
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		for {
			if c, _, err := admin.Dial(ctx, filepath.Join(dir, admin.SocketName)); err == nil {
				c.Close()
				return cmd, a
			}
			if ctx.Err() != nil {
				t.Fatal("child server did not answer on its admin socket")
			}
			time.Sleep(10 * time.Millisecond)
		}
	case <-time.After(time.Minute):
		cmd.Process.Kill()
		t.Fatal("child server did not start")
	}
	return nil, ""
}

// A serving child process under write load is SIGKILLed at random moments,
// several rounds on one data directory. Every restart must open the store
// without a repair step, and at the end every acknowledged write must be
// there.
func TestCrashLosesNoAcknowledgedWrite(t *testing.T) {
	dir := t.TempDir()
	rounds := 5
	if testing.Short() {
		rounds = 2
	}
	var acked []string
	var hits []ackedHit
	var site siteRef
	for round := 0; round < rounds; round++ {
		cmd, addr := startChild(t, dir)
		if round == 0 {
			site = addSite(t, dir)
		}
		ctx, cancel := context.WithCancel(context.Background())
		got, wait := writeLoad(ctx, dir, 8)
		gotHits, waitHits := hitLoad(ctx, "http://"+addr, site.Key, 16)
		for len(got()) < 50 || len(gotHits()) < 50 {
			time.Sleep(2 * time.Millisecond)
		}
		time.Sleep(time.Duration(rand.IntN(200)) * time.Millisecond) // a random moment mid-load
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		cmd.Wait()
		cancel()
		wait()
		waitHits()
		acked = append(acked, got()...)
		hits = append(hits, gotHits()...)
		t.Logf("round %d: %d admin writes and %d hits acknowledged before SIGKILL", round, len(got()), len(gotHits()))
	}
	db := storetest.OpenAt(t, dir)
	a := accounts.New(db)
	for _, tok := range acked {
		if _, err := a.CheckToken(tok); err != nil {
			t.Fatalf("acknowledged write lost: %v", err)
		}
	}
	for _, h := range hits {
		if _, err := db.Get(store.HitKey(site.ID, h.Session, h.Hit)); err != nil {
			t.Fatalf("acknowledged hit %+v lost: %v", h, err)
		}
		if _, err := db.Get(store.SessionKey(site.ID, h.Session)); err != nil {
			t.Fatalf("session of acknowledged hit %+v lost: %v", h, err)
		}
	}
}

type siteRef struct {
	ID  uint32 `json:"id"`
	Key string `json:"site_key"`
}

func addSite(t *testing.T, dir string) siteRef {
	t.Helper()
	s, err := dialAdmin(t, dir).AddSite(context.Background(), admin.AddSite{Name: "Crash", Domains: []string{"crash.example"}})
	if err != nil {
		t.Fatal(err)
	}
	return siteRef{ID: s.ID, Key: s.Key}
}

// dialAdmin is a client for the admin socket of the server on dir, closed
// when the test ends.
func dialAdmin(t *testing.T, dir string) *admin.Client {
	t.Helper()
	c, _, err := admin.Dial(context.Background(), filepath.Join(dir, admin.SocketName))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

type ackedHit struct{ Session, Hit uint64 }

// hitLoad keeps n simulated visitors posting page views to the tracker at
// base until ctx ends; it returns the hits the server acknowledged.
func hitLoad(ctx context.Context, base, siteKey string, n int) (acked func() []ackedHit, wait func()) {
	var mu sync.Mutex
	var hits []ackedHit
	var wg sync.WaitGroup
	for w := 0; w < n; w++ {
		wg.Go(func() {
			ci, key := "", ""
			for i := 0; ctx.Err() == nil; i++ {
				body, _ := json.Marshal(map[string]string{"k": siteKey, "ci": ci, "key": key, "u": fmt.Sprintf("https://crash.example/p/%d/%d", w, i), "t": "page"})
				req, _ := http.NewRequestWithContext(ctx, "POST", base+"/t/v1/hit", bytes.NewReader(body))
				req.Header.Set("Content-Type", "text/plain")
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					continue
				}
				var out struct {
					Success bool `json:"success"`
					Result  struct {
						CI        string `json:"ci"`
						SessionID uint64 `json:"session_id"`
						HitID     uint64 `json:"hit_id"`
						Key       string `json:"key"`
					} `json:"result"`
				}
				err = json.NewDecoder(resp.Body).Decode(&out)
				resp.Body.Close()
				if err != nil || !out.Success {
					continue
				}
				ci, key = out.Result.CI, out.Result.Key
				mu.Lock()
				hits = append(hits, ackedHit{out.Result.SessionID, out.Result.HitID})
				mu.Unlock()
			}
		})
	}
	return func() []ackedHit {
		mu.Lock()
		defer mu.Unlock()
		return append([]ackedHit(nil), hits...)
	}, wg.Wait
}
