package httpd_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"appliance/httpd/httpdtest"
	"appliance/httpd/sites"
	"appliance/numbers/tracking"
	"appliance/store"
	"appliance/store/storetest"
)

// crashChildEnv names the data directory of the child server of
// TestTrackerWritesSurviveKill.
const crashChildEnv = "APPLIANCE_TRACKER_CRASH_DIR"

// TestTrackerCrashChild is the server TestTrackerWritesSurviveKill kills:
// it runs only as that test's child process.
func TestTrackerCrashChild(t *testing.T) {
	dir := os.Getenv(crashChildEnv)
	if dir == "" {
		t.Skip("the child process of TestTrackerWritesSurviveKill")
	}
	srv := httpdtest.StartAt(t, dir)
	// Every visitor leases a number of a pool: a hit and its lease are
	// one write.
	site := srv.HTTP.Sites().List()[0]
	var pool []string
	for i := range 2000 {
		pool = append(pool, fmt.Sprintf("7495%07d", i+1))
	}
	ctx, now := context.Background(), time.Now()
	if _, err := srv.HTTP.Numbers().SetSiteNumbers(ctx, site.ID, []string{"74872751404"}, now); err != nil {
		t.Fatal(err)
	}
	if _, err := srv.HTTP.Numbers().AddPool(ctx, site.ID, tracking.PoolInput{Name: "all", Numbers: pool}, now); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "url.tmp"), []byte(srv.URL), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(filepath.Join(dir, "url.tmp"), filepath.Join(dir, "url")); err != nil {
		t.Fatal(err)
	}
	select {} // until SIGKILL
}

// Every hit, event, visitor info and property the server acknowledged is
// in the store after the server process is SIGKILLed mid-load: the
// handlers answer only after the write is committed to the write-ahead log
// (and synced: the sync itself only a power cut could test). Every visitor
// leases a number: each acknowledged hit's visitor has its lease, and
// every lease stored has its session (a hit and its lease are one write).
func TestTrackerWritesSurviveKill(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a child process")
	}
	dir := t.TempDir()
	db := storetest.OpenAt(t, dir)
	reg, err := sites.Open(context.Background(), db, nil)
	if err != nil {
		t.Fatal(err)
	}
	site, err := reg.Create(context.Background(), "Shop", []string{"shop.example.com"})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()

	cmd := exec.Command(os.Args[0], "-test.run=^TestTrackerCrashChild$")
	cmd.Env = append(os.Environ(), crashChildEnv+"="+dir)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	killed := false
	defer func() {
		if !killed {
			cmd.Process.Kill()
			cmd.Wait()
		}
	}()
	var base string
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if b, err := os.ReadFile(filepath.Join(dir, "url")); err == nil {
			base = string(b)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the child server did not start:\n%s", out.String())
		}
	}

	client := &http.Client{Timeout: 10 * time.Second}
	post := func(path string, body map[string]any) (json.RawMessage, error) {
		b, _ := json.Marshal(body)
		req, err := http.NewRequest("POST", base+path, bytes.NewReader(b))
		if err != nil {
			return nil, err
		}
		req.Header.Set("Content-Type", "text/plain")
		// A browser's: a bot's page views lease no number.
		req.Header.Set("User-Agent", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36")
		resp, err := client.Do(req)
		if err != nil {
			return nil, err
		}
		defer resp.Body.Close()
		var a struct {
			Success bool            `json:"success"`
			Result  json.RawMessage `json:"result"`
			Error   string          `json:"error"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&a); err != nil {
			return nil, err
		}
		if !a.Success {
			return nil, fmt.Errorf("%s: %d %s", path, resp.StatusCode, a.Error)
		}
		return a.Result, nil
	}

	// Each worker is a visitor: a page view, then an event, visitor info
	// and a property on it, over and over, noting what was acknowledged.
	type acked struct {
		visitor, session, hit uint64
		what                  string // "hit", "event", "visitor", "property"
		n                     int
	}
	var (
		mu    sync.Mutex
		acks  []acked
		count atomic.Int64
		stop  atomic.Bool
		wg    sync.WaitGroup
	)
	for w := range 8 {
		wg.Go(func() {
			ci, key := "", ""
			for n := 0; !stop.Load(); n++ {
				res, err := post("t/v1/hit", map[string]any{"k": site.Key, "ci": ci, "key": key, "u": fmt.Sprintf("https://shop.example.com/p/%d/%d", w, n), "r": "", "t": "Page"})
				if err != nil {
					return
				}
				var h struct {
					CI        string `json:"ci"`
					VisitorID uint64 `json:"visitor_id"`
					SessionID uint64 `json:"session_id"`
					HitID     uint64 `json:"hit_id"`
					Key       string `json:"key"`
				}
				if err := json.Unmarshal(res, &h); err != nil {
					t.Errorf("hit result %s: %v", res, err)
					return
				}
				ci, key = h.CI, h.Key
				a := acked{h.VisitorID, h.SessionID, h.HitID, "hit", n}
				mu.Lock()
				acks = append(acks, a)
				mu.Unlock()
				count.Add(1)
				cred := map[string]any{"k": site.Key, "ci": h.CI, "key": h.Key}
				with := func(kv ...any) map[string]any {
					m := map[string]any{}
					for k, v := range cred {
						m[k] = v
					}
					for i := 0; i < len(kv); i += 2 {
						m[kv[i].(string)] = kv[i+1]
					}
					return m
				}
				for _, r := range []struct {
					path, what string
					body       map[string]any
				}{
					{"t/v1/event", "event", with("hi", h.HitID, "c", "n", "a", fmt.Sprint(n))},
					{"t/v1/visitor", "visitor", with("hi", h.HitID, "name", fmt.Sprintf("v%d", n))},
					{"t/v1/property", "property", with("op", "set", "name", "n", "value", fmt.Sprint(n))},
				} {
					if _, err := post(r.path, r.body); err != nil {
						return
					}
					a.what = r.what
					mu.Lock()
					acks = append(acks, a)
					mu.Unlock()
					count.Add(1)
				}
			}
		})
	}
	for deadline := time.Now().Add(60 * time.Second); count.Load() < 400; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("only %d writes acknowledged in a minute", count.Load())
		}
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	killed = true
	cmd.Wait()
	stop.Store(true)
	wg.Wait()

	db = storetest.OpenAt(t, dir)
	// The latest acknowledged event, name and property value of each
	// visitor; events are counted per session.
	lastName := map[uint64]int{}
	lastProp := map[uint64]int{}
	events := map[uint64]int{}
	for _, a := range acks {
		switch a.what {
		case "hit":
			if _, err := db.Get(store.HitKey(site.ID, a.session, a.hit)); err != nil {
				t.Errorf("acknowledged hit %d of session %d: %v", a.hit, a.session, err)
			}
		case "event":
			events[a.session]++
		case "visitor":
			lastName[a.visitor] = max(lastName[a.visitor], a.n)
		case "property":
			lastProp[a.visitor] = max(lastProp[a.visitor], a.n)
		}
	}
	for session, n := range events {
		got := 0
		db.ScanPrefix(context.Background(), store.EventPrefix(site.ID, session), false, 0, func(k, v []byte) bool { got++; return true })
		if got < n {
			t.Errorf("session %d: %d events stored, %d acknowledged", session, got, n)
		}
	}
	for visitor, n := range lastName {
		b, err := db.Get(store.VisitorKey(visitor))
		if err != nil {
			t.Errorf("visitor %d: %v", visitor, err)
			continue
		}
		v, _ := store.DecodeVisitor(b)
		var got int
		if _, err := fmt.Sscanf(v.Name, "v%d", &got); err != nil || got < n {
			t.Errorf("visitor %d: name %q, acknowledged v%d", visitor, v.Name, n)
		}
	}
	for visitor, n := range lastProp {
		b, err := db.Get(store.PropertyKey(visitor, "n"))
		if err != nil {
			t.Errorf("visitor %d property: %v", visitor, err)
			continue
		}
		p, _ := store.DecodeProperty(b)
		var got int
		if _, err := fmt.Sscanf(p.Value, "%d", &got); err != nil || got < n {
			t.Errorf("visitor %d: property %q, acknowledged %d", visitor, p.Value, n)
		}
	}
	leased := map[uint64]bool{}
	for i := range 2000 {
		err := db.ScanPrefix(context.Background(), store.LeasePrefix(fmt.Sprintf("7495%07d", i+1)), false, 0, func(k, v []byte) bool {
			if _, _, until, ok := store.ParseLeaseKey(k); !ok || until {
				return true
			}
			l, err := store.DecodeLease(v)
			if err != nil {
				t.Errorf("lease %q: %v", k, err)
				return false
			}
			leased[l.Visitor] = true
			if _, err := db.Get(store.SessionKey(site.ID, l.Session)); err != nil {
				t.Errorf("lease of visitor %d stored without its session %d: %v", l.Visitor, l.Session, err)
			}
			return true
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, a := range acks {
		if a.what == "hit" && !leased[a.visitor] {
			t.Errorf("acknowledged hit %d of visitor %d: no lease stored", a.hit, a.visitor)
		}
	}
	if len(acks) < 400 || strings.Contains(out.String(), "panic") {
		t.Errorf("%d acknowledged writes; child output:\n%s", len(acks), out.String())
	}
	t.Logf("%d acknowledged writes checked after SIGKILL", len(acks))
}
