package httpd_test

import (
	"context"
	"html"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"appliance/httpd"
	"appliance/httpd/httpdtest"
	"appliance/httpd/webhooks"
	"appliance/store"
)

// A server with the default options refuses webhook and callback-scenario
// URLs on the loopback, the cloud metadata address and the private
// networks wherever they are added (dashboard, admin socket), with a 400
// that says how to allow them, and stores nothing. A receiver on
// 127.0.0.1 that got in anyway (written to the store directly, as a name
// that later resolves to the loopback would) hears nothing: the delivery
// fails at dial time and the log says why.
func TestOutboundRefusedByDefault(t *testing.T) {
	srv := httpdtest.Start(t, func(o *httpd.Options) {
		o.Webhooks = webhooks.Options{Tick: 5 * time.Millisecond, Timeout: 2 * time.Second,
			Backoff: func(n int) time.Duration { return time.Hour }}
	})
	site := srv.Site(t, "Shop", "shop.example")
	rc := newHookReceiver(t)
	ts := httptest.NewServer(rc)
	defer ts.Close()
	_, port, _ := net.SplitHostPort(ts.Listener.Addr().String())
	c := srv.Client(t)

	for _, u := range []string{ts.URL + "/hook", "http://localhost:" + port + "/hook", "http://169.254.169.254/latest/meta-data/", "http://[::ffff:10.0.0.1]/"} {
		status, body := postHookForm(t, srv, c, site, u)
		if page := html.UnescapeString(string(body)); status != http.StatusBadRequest ||
			!strings.Contains(strings.ToLower(page), "address not allowed: ") || !strings.Contains(page, "--webhook-allow-private") {
			t.Errorf("dashboard add %s: %d\n%s", u, status, body)
		}
		status, answer := adminPost(t, srv, "/admin/webhooks", map[string]any{"site_key": site, "url": u})
		if status != http.StatusBadRequest || !strings.Contains(strings.ToLower(answer.Error), "address not allowed: ") {
			t.Errorf("admin add %s: %d %q", u, status, answer.Error)
		}
		status, answer = adminPost(t, srv, "/admin/callbacks", map[string]any{"site_key": site, "webhook": u})
		if status != http.StatusBadRequest || !strings.Contains(strings.ToLower(answer.Error), "address not allowed: ") {
			t.Errorf("admin callback scenario %s: %d %q", u, status, answer.Error)
		}
	}
	s, _ := srv.HTTP.Sites().ByKey(site)
	if v, err := srv.DB.Get(store.WebhooksKey(s.ID)); err == nil {
		if w, _ := store.DecodeWebhooks(v); len(w.Endpoints) != 0 {
			t.Fatalf("refused endpoints were stored: %+v", w.Endpoints)
		}
	}
	if v, err := srv.DB.Get(store.WidgetKey(s.ID)); err == nil {
		if w, _ := store.DecodeWidgetSettings(v); w.ScenarioURL != "" {
			t.Fatalf("a refused scenario was stored: %+v", w)
		}
	}

	rc.secret = "dial-time-secret-0123456789"
	w := store.Webhooks{Endpoints: []store.WebhookEndpoint{{ID: 1, URL: "http://localhost:" + port + "/hook", Secret: rc.secret, Events: []string{"lead"}, Created: 1}}}
	if err := srv.DB.Set(context.Background(), store.WebhooksKey(s.ID), w.Encode()); err != nil {
		t.Fatal(err)
	}
	v := trackHit(t, srv, site, "", "https://shop.example/", "")
	if status, out, _ := postJSON(t, srv.URL+"t/v1/lead", leadBody(site, v, map[string]any{"name": "Анна", "phone": "+79101234567"})); status != http.StatusOK {
		t.Fatalf("lead: %d %v", status, out)
	}
	eventually(t, "a refused delivery in the log", func() bool {
		_, body := getPage(t, c, srv.URL+"sites/"+site+"/webhooks")
		return strings.Contains(body, "is a loopback address")
	})
	if calls, _, _ := rc.state(); calls != 0 {
		t.Fatalf("the receiver on 127.0.0.1 got %d requests", calls)
	}
}

// A refused address is explained in the owner's language: the Russian
// dashboard says what kind of address it is and how to allow it, in
// Russian, for a literal address and for a name that resolves to one.
func TestOutboundRefusalTranslated(t *testing.T) {
	srv := httpdtest.Start(t)
	site := srv.Site(t, "Shop", "shop.example")
	c := srv.Client(t)
	for u, want := range map[string]string{
		"http://127.0.0.1:8080/hook":  "Адрес не разрешён: 127.0.0.1 — это адрес обратной петли (loopback); чтобы обращаться в локальную сеть, запустите сервер с --webhook-allow-private или --webhook-allow-cidr",
		"http://192.0.0.192/":         "Адрес не разрешён: 192.0.0.192 — это зарезервированный адрес;",
		"http://localhost:8080/hook":  "Адрес не разрешён: localhost указывает на ",
		"http://[::ffff:10.0.0.1]/":   "Адрес не разрешён: 10.0.0.1 — это адрес частной сети;",
		"http://169.254.169.254/meta": "Адрес не разрешён: 169.254.169.254 — это локальный адрес канала (link-local);",
	} {
		csrf := srv.FormToken(t, c, "sites/"+site+"/webhooks")
		req, _ := http.NewRequest("POST", srv.URL+"sites/"+site+"/webhooks",
			strings.NewReader(url.Values{"csrf": {csrf}, "url": {u}, "events": {"lead"}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Accept-Language", "ru")
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		page := html.UnescapeString(string(body))
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(page, want) {
			t.Errorf("add %s in Russian: %d, want %q in\n%s", u, resp.StatusCode, want, page)
		}
	}
}
