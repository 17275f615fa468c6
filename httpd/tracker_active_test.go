package httpd_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync"
	"testing"
	"time"
)

// tryPost posts body to the tracker endpoint path and decodes the result
// into out; safe in any goroutine.
func (f *trFixture) tryPost(path string, body map[string]any, out any) error {
	b, _ := json.Marshal(body)
	req, err := http.NewRequest("POST", f.srv.URL+path, bytes.NewReader(b))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "text/plain;charset=UTF-8")
	req.Header.Set("User-Agent", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var a struct {
		Success bool            `json:"success"`
		Result  json.RawMessage `json:"result"`
	}
	if err := json.Unmarshal(raw, &a); err != nil || resp.StatusCode != http.StatusOK || !a.Success {
		return fmt.Errorf("POST %s: %d %s", path, resp.StatusCode, raw)
	}
	if out != nil {
		return json.Unmarshal(a.Result, out)
	}
	return nil
}

// Hits of one visitor decided at once, beside its events and visitor info:
// the hits that bring a new campaign open one session between them (the
// others continue it), and no write is lost — the session counts every
// hit and event, the visitor keeps its name. The tracker decides hits
// outside the store's writer from what it remembers of the visitor, so
// this is what its per-visitor lock guarantees.
func TestTrackerConcurrentHitsOfOneVisitor(t *testing.T) {
	f := newTrFixture(t, false)
	const visitors, per = 6, 8
	var ids [visitors]struct{ visitor, session uint64 }
	var wg sync.WaitGroup
	for v := range visitors {
		wg.Go(func() {
			var first trHit
			if err := f.tryPost("t/v1/hit", map[string]any{"k": f.site.Key, "u": "https://shop.example.com/", "t": "Shop"}, &first); err != nil {
				t.Error(err)
				return
			}
			campaign := fmt.Sprintf("https://shop.example.com/promo?utm_source=yandex&utm_medium=cpc&utm_campaign=c%d", v)
			name := fmt.Sprintf("Visitor %d", v)
			hits := make([]trHit, per)
			var inner sync.WaitGroup
			for i := range per {
				inner.Go(func() {
					body := map[string]any{"k": f.site.Key, "ci": first.CI, "key": first.Key, "u": campaign, "t": "Promo"}
					if err := f.tryPost("t/v1/hit", body, &hits[i]); err != nil {
						t.Error(err)
					}
				})
			}
			inner.Go(func() {
				body := map[string]any{"k": f.site.Key, "ci": first.CI, "key": first.Key, "name": name}
				if err := f.tryPost("t/v1/visitor", body, nil); err != nil {
					t.Error(err)
				}
			})
			inner.Wait()
			news, sess := 0, hits[0].SessionID
			for _, h := range hits {
				if h.NewSession {
					news++
				}
				if h.SessionID != sess {
					t.Errorf("visitor %d: hits at once answered sessions %d and %d", v, sess, h.SessionID)
				}
			}
			if news != 1 || sess == first.SessionID {
				t.Errorf("visitor %d: %d of %d hits with a new campaign opened a session (session %d, first %d), want 1", v, news, per, sess, first.SessionID)
			}
			ids[v].visitor, ids[v].session = first.VisitorID, sess
			// More pages of that session, with an event on each.
			h := hits[0]
			for i := range per {
				inner.Go(func() {
					body := map[string]any{"k": f.site.Key, "ci": h.CI, "key": h.Key, "u": "https://shop.example.com/item", "t": "Item"}
					if err := f.tryPost("t/v1/hit", body, nil); err != nil {
						t.Error(err)
					}
				})
				inner.Go(func() {
					body := map[string]any{"k": f.site.Key, "ci": h.CI, "key": h.Key, "hi": hits[i].HitID, "c": "cart", "a": "add"}
					if err := f.tryPost("t/v1/event", body, nil); err != nil {
						t.Error(err)
					}
				})
			}
			inner.Wait()
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	// Read back from the store after a restart: nothing remembered.
	f.srv = f.srv.Restart(t)
	for v, id := range ids {
		s := f.session(t, id.session)
		if s.Hits != 2*per || s.Events != per {
			t.Errorf("visitor %d: session has %d hits and %d events, want %d and %d", v, s.Hits, s.Events, 2*per, per)
		}
		if got, want := f.visitor(t, id.visitor).Name, fmt.Sprintf("Visitor %d", v); got != want {
			t.Errorf("visitor %d: name %q, want %q", v, got, want)
		}
	}
	tot := f.totals(t, time.Now())
	if got, want := tot.Sessions, int64(2*visitors); got != want {
		t.Errorf("sessions counted %d, want %d", got, want)
	}
	if got, want := tot.Hits, int64(visitors*(1+2*per)); got != want {
		t.Errorf("hits counted %d, want %d", got, want)
	}
	if got, want := tot.Events, int64(visitors*per); got != want {
		t.Errorf("events counted %d, want %d", got, want)
	}
}
