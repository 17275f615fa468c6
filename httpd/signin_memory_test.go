package httpd_test

import (
	"net/http"
	"net/url"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"appliance/httpd/httpdtest"
)

// Sign-ins that anyone may send at once do not take the server's memory:
// each password check is an argon2 run that holds 19 MiB, and the 30
// attempts a minute one address may make, sent together, ran 30 at once
// (575 MiB of heap from one address; a few more and a small VPS kills
// the server). Checks run at most one per CPU at once, the others wait
// their turn; every attempt is still answered.
func TestConcurrentSignInsBoundMemory(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(2))   // the server sizes its slots at start
	defer debug.SetGCPercent(debug.SetGCPercent(100)) // garbage collected as by default, whatever GOGC says
	srv := httpdtest.Start(t)
	email, _ := srv.Owner(t)

	var peak atomic.Uint64
	stop, sampled := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(sampled)
		s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
		for {
			metrics.Read(s)
			if v := s[0].Value.Uint64(); v > peak.Load() {
				peak.Store(v)
			}
			select {
			case <-stop:
				return
			case <-time.After(200 * time.Microsecond):
			}
		}
	}()

	// A stranger's form: the pre-sign-in token is any value that its
	// cookie repeats.
	const csrf = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	form := url.Values{"csrf": {csrf}, "email": {email}, "password": {"not the password at all"}}.Encode()
	const attempts = 30 // what one address may try in a minute
	codes := make([]int, attempts)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range codes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			req, _ := http.NewRequest("POST", srv.URL+"login", strings.NewReader(form))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("Cookie", "apl_csrf="+csrf)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
			codes[i] = resp.StatusCode
		}()
	}
	close(start)
	wg.Wait()
	close(stop)
	<-sampled
	for i, code := range codes {
		if code != http.StatusUnauthorized {
			t.Errorf("attempt %d: %d, want 401 (a wrong password, checked)", i, code)
		}
	}
	// Two checks at once hold 38 MiB; with the garbage of those done
	// before the collector runs, the heap stays well under what 30 at
	// once hold (570 MiB).
	if got := peak.Load() >> 20; got > 300 {
		t.Errorf("the heap peaked at %d MiB while %d sign-ins were checked: more than two ran at once", got, attempts)
	}
}
