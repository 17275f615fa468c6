package httpd_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image/png"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"appliance/captcha"
	"appliance/httpd"
	"appliance/httpd/admin"
	"appliance/httpd/callbacks"
	"appliance/httpd/httpdtest"
	"appliance/httpd/webhooks"
	"appliance/store"
)

// Callbacks (tracker-protocol.md §7, §8) over the real server, with real
// HTTP receivers on 127.0.0.1 as the PBX's callback scenario.

// captchaDigits makes every captcha of a test server read "4242": the
// browser and HTTP tests solve captchas as a visitor who can read would,
// and nothing else about the captcha store changes.
func captchaDigits(o *httpd.Options) {
	o.Captcha.Digits = func(n int) []byte { return bytes.Repeat([]byte{4, 2}, n)[:n] }
}

const captchaAnswer = "4242"

// pbx is a callback scenario: it verifies each request's signature and
// counts the calls it took per X-Appliance-Delivery (the callback id).
type pbx struct {
	t      testing.TB
	srv    *httptest.Server
	secret string

	mu     sync.Mutex
	status int    // the answer; 200 by default
	errMsg string // the body of an answer other than 200
	got    map[string]int
	bodies map[string]callbacks.ScenarioBody
}

func newPBX(t testing.TB) *pbx {
	p := &pbx{t: t, status: http.StatusOK, got: map[string]int{}, bodies: map[string]callbacks.ScenarioBody{}}
	p.srv = httptest.NewServer(p)
	t.Cleanup(p.srv.Close)
	return p
}

func (p *pbx) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := webhooks.Verify(p.secret, r.Header.Get("X-Appliance-Signature"), body, time.Now(), time.Hour); err != nil {
		p.t.Errorf("pbx: %v", err)
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	if r.Header.Get("X-Appliance-Event") != "callback" {
		p.t.Errorf("pbx: event header %q", r.Header.Get("X-Appliance-Event"))
	}
	if p.status != http.StatusOK {
		http.Error(w, p.errMsg, p.status)
		return
	}
	id := r.Header.Get("X-Appliance-Delivery")
	p.got[id]++
	var b callbacks.ScenarioBody
	if err := json.Unmarshal(body, &b); err != nil {
		p.t.Errorf("pbx: body %s: %v", body, err)
	}
	p.bodies[id] = b
	w.WriteHeader(http.StatusOK)
}

func (p *pbx) setStatus(code int) { p.fail(code, "no free line") }

// fail makes the pbx answer code with msg (200: take calls again).
func (p *pbx) fail(code int, msg string) {
	p.mu.Lock()
	p.status, p.errMsg = code, msg
	p.mu.Unlock()
}

// calls returns how often each callback id was taken.
func (p *pbx) calls() map[string]int {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := map[string]int{}
	for k, v := range p.got {
		out[k] = v
	}
	return out
}

// body returns the last body about callback id.
func (p *pbx) body(id uint64) (callbacks.ScenarioBody, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, b := range p.bodies {
		if b.ID == id {
			return b, true
		}
	}
	return callbacks.ScenarioBody{}, false
}

// cbFixture is a server with one site, a visitor who has viewed a page,
// and a clock.
type cbFixture struct {
	srv   *httpdtest.Server
	clock *trClock
	key   string
	site  *store.Site
	v     visit
}

func newCBFixture(t *testing.T, opts ...func(*httpd.Options)) *cbFixture {
	t.Helper()
	f := &cbFixture{clock: &trClock{now: time.Now()}}
	all := append([]func(*httpd.Options){httpdtest.AllowPrivate, captchaDigits, func(o *httpd.Options) { o.Now = f.clock.Now }}, opts...)
	f.srv = httpdtest.Start(t, all...)
	f.key = f.srv.Site(t, "Shop", "shop.example")
	f.site, _ = f.srv.HTTP.Sites().ByKey(f.key)
	f.v = trackHit(t, f.srv, f.key, "", "https://shop.example/?utm_source=google&utm_medium=cpc", "")
	return f
}

// configure sets the site's callback settings through the admin handler
// the CLI uses.
func (f *cbFixture) configure(t *testing.T, in map[string]any) admin.CallbackSettings {
	t.Helper()
	in["site_key"] = f.key
	var info admin.CallbackSettings
	adminCall(t, f.srv, "/admin/callbacks", in, &info)
	return info
}

// adminAnswer is the envelope of every admin API answer.
type adminAnswer struct {
	Success bool            `json:"success"`
	Result  json.RawMessage `json:"result"`
	Error   string          `json:"error"`
}

// adminPost posts in to the admin API's handler, as the CLI does over the
// unix socket, and returns the status and the decoded answer.
func adminPost(t *testing.T, srv *httpdtest.Server, path string, in any) (int, adminAnswer) {
	t.Helper()
	b, _ := json.Marshal(in)
	var req fasthttp.Request
	req.Header.SetMethod("POST")
	req.SetRequestURI(path)
	req.SetBody(b)
	var ctx fasthttp.RequestCtx
	ctx.Init(&req, nil, nil)
	srv.HTTP.AdminHandler(&ctx)
	var answer adminAnswer
	if err := json.Unmarshal(ctx.Response.Body(), &answer); err != nil {
		t.Fatalf("admin %s: %d %s", path, ctx.Response.StatusCode(), ctx.Response.Body())
	}
	return ctx.Response.StatusCode(), answer
}

// adminCall posts to the admin API's handler and decodes its result; a
// failure ends the test.
func adminCall(t *testing.T, srv *httpdtest.Server, path string, in, out any) {
	t.Helper()
	status, answer := adminPost(t, srv, path, in)
	if !answer.Success {
		t.Fatalf("admin %s: %d %s", path, status, answer.Error)
	}
	if out != nil {
		if err := json.Unmarshal(answer.Result, out); err != nil {
			t.Fatalf("admin %s result %s: %v", path, answer.Result, err)
		}
	}
}

// order posts a callback request of the fixture's visitor.
func (f *cbFixture) order(t *testing.T, v visit, fields map[string]any) (int, map[string]any) {
	t.Helper()
	b := map[string]any{"k": f.key, "ci": v.CI, "key": v.Key, "hi": v.HitID}
	for k, x := range fields {
		b[k] = x
	}
	status, out, h := postJSON(t, f.srv.URL+"t/v1/callback", b)
	if h.Get("Access-Control-Allow-Origin") != "*" {
		t.Errorf("callback answer without CORS")
	}
	return status, out
}

// wantStatus checks an answer in sitePhoneCall's shape.
func wantStatus(t *testing.T, what string, status int, out map[string]any, wantStatus int, wantCode string) {
	t.Helper()
	res, _ := out["result"].(map[string]any)
	if status != http.StatusOK || res == nil || res["status"] != float64(wantStatus) || res["code"] != wantCode ||
		out["success"] != (wantStatus == 0) || len(out) != 2 || len(res) != 2 {
		t.Errorf("%s: %d %v, want {success:%v, result:{status:%d, code:%q}}", what, status, out, wantStatus == 0, wantStatus, wantCode)
	}
}

// wantFailure checks a refused request's answer: {success:false, error,
// result:{status, code}}, so that a page reading resp.result.status does
// not throw.
func wantFailure(t *testing.T, what string, out map[string]any, wantStatus int, wantCode string) {
	t.Helper()
	res, _ := out["result"].(map[string]any)
	if msg, _ := out["error"].(string); msg == "" || out["success"] != false || res == nil || res["status"] != float64(wantStatus) ||
		res["code"] != wantCode || len(res) != 2 || len(out) != 3 {
		t.Errorf("%s: %v, want {success:false, error, result:{status:%d, code:%q}}", what, out, wantStatus, wantCode)
	}
}

func (f *cbFixture) callbacks(t *testing.T) []store.Callback {
	t.Helper()
	var out []store.Callback
	if err := f.srv.HTTP.Callbacks().List(context.Background(), f.site.ID, callbacks.Filter{}, 0, func(cb store.Callback) bool {
		out = append(out, cb)
		return true
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

// newCaptcha asks for a captcha as Comagic.Captcha.get_captcha does.
func (f *cbFixture) newCaptcha(t *testing.T) string {
	t.Helper()
	status, out, _ := postJSON(t, f.srv.URL+"t/v1/captcha", map[string]any{"k": f.key, "ci": f.v.CI, "key": f.v.Key, "hi": f.v.HitID})
	res, _ := out["result"].(map[string]any)
	if status != http.StatusOK || res == nil {
		t.Fatalf("captcha: %d %v", status, out)
	}
	return res["key"].(string)
}

// The reference's statuses, one by one: no scenario (0 "queued" by
// default, 2 with the queue off; the callback kept and sent to the
// webhooks either way), accepted (0, the PBX got it signed), PBX
// failing and PBX down (3, kept as failed), captcha missing and wrong (1,
// nothing kept), captcha right (0).
func TestCallbackStatuses(t *testing.T) {
	f := newCBFixture(t, func(o *httpd.Options) { o.Callbacks.VisitorLimit = 100 })
	hook := newPBX(t) // a CRM taking the site's webhooks, signed the same way
	hook.secret = addCallbackHook(t, f.srv, f.key, hook.srv.URL)

	status, out := f.order(t, f.v, map[string]any{"phone": "+7 (910) 123-45-67"})
	wantStatus(t, "no scenario", status, out, callbacks.StatusAccepted, callbacks.CodeQueued)
	cbs := f.callbacks(t)
	if len(cbs) != 1 || cbs[0].State != store.CallbackNoScenario || cbs[0].Phone != "79101234567" ||
		cbs[0].Visitor != f.v.VisitorID || cbs[0].Session != f.v.SessionID || cbs[0].Hit != f.v.HitID ||
		cbs[0].UTMSource != "google" || cbs[0].PageURL != "https://shop.example/?utm_source=google&utm_medium=cpc" {
		t.Fatalf("stored %+v", cbs)
	}
	eventually(t, "the callback webhook is delivered", func() bool { return len(hook.calls()) == 1 })
	if b, _ := hook.body(cbs[0].ID); b.Data.State != "no_scenario" || b.Data.Phone != "79101234567" || b.Data.VisitorID != f.v.VisitorID {
		t.Errorf("the webhook got %+v", b)
	}
	if info := f.configure(t, map[string]any{"queue": "off"}); info.Queue {
		t.Fatalf("queue off: %+v", info)
	}
	// another number: the same one again would be a repeat of the first
	// request (leads.RepeatWindow), answered as it was
	status, out = f.order(t, f.v, map[string]any{"phone": "+7 (910) 123-45-68"})
	wantStatus(t, "no scenario, queue off", status, out, callbacks.StatusNoScenario, callbacks.CodeNoScenario)
	if cbs := f.callbacks(t); len(cbs) != 2 || cbs[0].State != store.CallbackNoScenario {
		t.Fatalf("with the queue off the callback is still kept: %+v", cbs)
	}

	p := newPBX(t)
	info := f.configure(t, map[string]any{"webhook": p.srv.URL + "/cb", "secret": "pbx-secret-0123456789"})
	if info.Webhook != p.srv.URL+"/cb" || info.Secret != "pbx-secret-0123456789" {
		t.Fatalf("configured %+v", info)
	}
	p.secret = info.Secret
	status, out = f.order(t, f.v, map[string]any{"phone": "89101234567", "group_id": "16587", "u": "https://shop.example/contacts"})
	wantStatus(t, "scenario up", status, out, callbacks.StatusAccepted, callbacks.CodeCalling)
	sent := f.callbacks(t)[0]
	if sent.State != store.CallbackSent || sent.Attempts != 1 || sent.LastCode != 200 || sent.GroupID != 16587 || sent.PageURL != "https://shop.example/contacts" {
		t.Errorf("sent callback %+v", sent)
	}
	if b, ok := p.body(sent.ID); !ok || b.Event != "callback" || b.SiteKey != f.key || b.Data.Phone != "79101234567" ||
		b.Data.GroupID == nil || *b.Data.GroupID != 16587 || b.Data.CallAt != nil || b.Data.Source.UTMSource != "google" {
		t.Errorf("the pbx got %+v (%v)", b, ok)
	}

	p.setStatus(http.StatusServiceUnavailable)
	status, out = f.order(t, f.v, map[string]any{"phone": 79101234567})
	wantStatus(t, "scenario failing", status, out, callbacks.StatusFailed, callbacks.CodeTelephonyFailed)
	if cb := f.callbacks(t)[0]; cb.State != store.CallbackFailed || cb.LastCode != 503 || !strings.Contains(cb.LastError, "no free line") {
		t.Errorf("failed callback %+v", cb)
	}
	p.srv.Close()
	status, out = f.order(t, f.v, map[string]any{"phone": "79101234567"})
	wantStatus(t, "scenario down", status, out, callbacks.StatusFailed, callbacks.CodeTelephonyFailed)
	if cb := f.callbacks(t)[0]; cb.State != store.CallbackFailed || cb.LastCode != 0 || cb.LastError == "" {
		t.Errorf("failed callback %+v", cb)
	}

	p2 := newPBX(t)
	p2.secret = "pbx-secret-0123456789"
	f.configure(t, map[string]any{"webhook": p2.srv.URL, "captcha": "on"})
	before := len(f.callbacks(t))
	status, out = f.order(t, f.v, map[string]any{"phone": "79101234567"})
	wantStatus(t, "no captcha", status, out, callbacks.StatusWrongCaptcha, callbacks.CodeCaptchaRequired)
	ck := f.newCaptcha(t)
	status, out = f.order(t, f.v, map[string]any{"phone": "79101234567", "captcha_key": ck, "captcha_value": "1111"})
	wantStatus(t, "wrong captcha", status, out, callbacks.StatusWrongCaptcha, callbacks.CodeWrongCaptcha)
	status, out = f.order(t, f.v, map[string]any{"phone": "79101234567", "captcha_key": ck, "captcha_value": captchaAnswer})
	wantStatus(t, "the right answer to a used captcha", status, out, callbacks.StatusWrongCaptcha, callbacks.CodeWrongCaptcha)
	if n := len(f.callbacks(t)); n != before {
		t.Errorf("%d callbacks stored by requests with a bad captcha", n-before)
	}
	ck = f.newCaptcha(t)
	status, out = f.order(t, f.v, map[string]any{"phone": "79101234567", "captcha_key": ck, "captcha_value": " 42 42 "})
	wantStatus(t, "right captcha", status, out, callbacks.StatusAccepted, callbacks.CodeCalling)
	if len(p2.calls()) != 1 {
		t.Errorf("the pbx got %v", p2.calls())
	}
	eventually(t, "every stored callback reaches the webhook", func() bool { return len(hook.calls()) == len(f.callbacks(t)) })
}

// addCallbackHook adds a webhook endpoint taking callbacks through the
// admin API and returns its secret.
func addCallbackHook(t *testing.T, srv *httpdtest.Server, site, hookURL string) string {
	t.Helper()
	var ep admin.Endpoint
	adminCall(t, srv, "/admin/webhooks", map[string]any{"site_key": site, "url": hookURL, "events": []string{"callback"}}, &ep)
	return ep.Secret
}

// A captcha is good only on the site it was issued for: one solved for
// site A (by a bot farm, or a person paid to) is a wrong captcha on site B,
// and spent there like any answer.
func TestCaptchaOfAnotherSite(t *testing.T) {
	f := newCBFixture(t)
	f.configure(t, map[string]any{"captcha": "on"})
	otherKey := f.srv.Site(t, "Other", "other.example")
	adminCall(t, f.srv, "/admin/callbacks", map[string]any{"site_key": otherKey, "captcha": "on"}, nil)
	other := &cbFixture{srv: f.srv, clock: f.clock, key: otherKey}
	other.site, _ = f.srv.HTTP.Sites().ByKey(otherKey)
	other.v = trackHit(t, f.srv, otherKey, "", "https://other.example/", "")

	ckA := f.newCaptcha(t)
	status, out := other.order(t, other.v, map[string]any{"phone": "79101234567", "captcha_key": ckA, "captcha_value": captchaAnswer})
	wantStatus(t, "site A's captcha, rightly answered, on site B", status, out, callbacks.StatusWrongCaptcha, callbacks.CodeWrongCaptcha)
	if n := len(other.callbacks(t)); n != 0 {
		t.Errorf("%d callbacks stored on site B with site A's captcha", n)
	}
	status, out = f.order(t, f.v, map[string]any{"phone": "79101234567", "captcha_key": ckA, "captcha_value": captchaAnswer})
	wantStatus(t, "site A's captcha after it was offered on B", status, out, callbacks.StatusWrongCaptcha, callbacks.CodeWrongCaptcha)

	status, out = other.order(t, other.v, map[string]any{"phone": "79101234567", "captcha_key": other.newCaptcha(t), "captcha_value": captchaAnswer})
	wantStatus(t, "site B's own captcha", status, out, callbacks.StatusAccepted, callbacks.CodeQueued)
}

// get_captcha's endpoint answers {key, url}; the url is an absolute PNG on
// the appliance, CORS-readable and never cached, gone once answered.
func TestCaptchaEndpoint(t *testing.T) {
	f := newCBFixture(t)
	status, out, h := postJSON(t, f.srv.URL+"t/v1/captcha", map[string]any{"k": f.key})
	res, _ := out["result"].(map[string]any)
	key, _ := res["key"].(string)
	u, _ := res["url"].(string)
	if status != http.StatusOK || out["success"] != true || len(res) != 2 || key == "" || u != f.srv.URL+"t/v1/captcha/"+key+".png" ||
		h.Get("Access-Control-Allow-Origin") != "*" {
		t.Fatalf("captcha: %d %v", status, out)
	}
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "image/png" ||
		resp.Header.Get("Cache-Control") != "no-store" || resp.Header.Get("Access-Control-Allow-Origin") != "*" {
		t.Fatalf("captcha image: %d %v %v", resp.StatusCode, resp.Header, err)
	}
	if b := img.Bounds(); b.Dx() != captcha.DefaultWidth || b.Dy() != captcha.DefaultHeight {
		t.Errorf("captcha image is %v", b)
	}
	// The same digits spoken, for a visitor who cannot see the picture.
	wav := strings.TrimSuffix(u, ".png") + ".wav"
	for _, lang := range []string{"ru", "en", ""} {
		resp, err := http.Get(wav + "?lang=" + lang)
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "audio/wav" ||
			resp.Header.Get("Cache-Control") != "no-store" || resp.Header.Get("Access-Control-Allow-Origin") != "*" ||
			len(b) < 44 || string(b[:4]) != "RIFF" || string(b[8:12]) != "WAVE" {
			t.Fatalf("captcha sound (lang %q): %d %v %v", lang, resp.StatusCode, resp.Header, err)
		}
	}

	for _, tc := range []struct {
		body   string
		status int
	}{
		{`{"k":"nope"}`, http.StatusNotFound},
		{`{}`, http.StatusBadRequest},
		{`{"k":` + strconv.Quote(f.key) + `,"x":1}`, http.StatusBadRequest},
		{`[1]`, http.StatusBadRequest},
	} {
		if status, out, _ := post(t, f.srv.URL+"t/v1/captcha", "text/plain", []byte(tc.body)); status != tc.status || out["success"] != false {
			t.Errorf("captcha %s: %d %v, want %d", tc.body, status, out, tc.status)
		}
	}
	for _, p := range []string{"t/v1/captcha", "t/v1/callback"} {
		resp, err := http.Get(f.srv.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Access-Control-Allow-Origin") != "*" {
			t.Errorf("GET /%s: %d, want 405 with CORS", p, resp.StatusCode)
		}
	}
	for _, p := range []string{"t/v1/captcha/nope.png", "t/v1/captcha/" + key, "t/v1/captcha/.png", "t/v1/captcha/nope.wav",
		"t/v1/captcha/.wav", "t/v1/captcha/" + key + ".mp3"} {
		resp, err := http.Get(f.srv.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("GET /%s: %d, want 404", p, resp.StatusCode)
		}
	}
}

// A flood of captcha requests from many networks (the per-IP limit does
// not stop it) keeps the store within its bound: the oldest are dropped,
// and /metrics counts them.
func TestCaptchaFloodStaysBounded(t *testing.T) {
	const max, n = 50, 300
	f := newCBFixture(t, func(o *httpd.Options) {
		o.Captcha.Max = max
		o.TrustProxy = true
		o.MetricsToken = "metrics-token"
	})
	body := []byte(`{"k":"` + f.key + `"}`)
	for i := range n {
		req, _ := http.NewRequest("POST", f.srv.URL+"t/v1/captcha", bytes.NewReader(body))
		req.Header.Set("X-Forwarded-For", "203.0.113.1, 198.51.100."+strconv.Itoa(i%250))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("captcha %d: %d", i, resp.StatusCode)
		}
	}
	req, _ := http.NewRequest("GET", f.srv.URL+"metrics", nil)
	req.Header.Set("Authorization", "Bearer metrics-token")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	m, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{"\nappliance_captcha_live " + strconv.Itoa(max) + "\n", "\nappliance_captcha_dropped_total " + strconv.Itoa(n-max) + "\n"} {
		if !strings.Contains(string(m), want) {
			t.Errorf("metrics lack %q:\n%s", want, m)
		}
	}

	// One address is held to its limit a minute.
	limited := 0
	for range 40 {
		if status, _, _ := post(t, f.srv.URL+"t/v1/captcha", "text/plain", body); status == http.StatusTooManyRequests {
			limited++
		}
	}
	if limited != 10 {
		t.Errorf("%d of 40 captchas from one address refused, want 10 (30 a minute)", limited)
	}

	// An IPv6 host is held to the limit of its /64, whichever of its
	// addresses asks: it cannot push every visitor's captcha out.
	limited = 0
	for i := range 40 {
		req, _ := http.NewRequest("POST", f.srv.URL+"t/v1/captcha", bytes.NewReader(body))
		req.Header.Set("X-Forwarded-For", fmt.Sprintf("2001:db8:66:1::%x", i+1))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode == http.StatusTooManyRequests {
			limited++
		}
	}
	if limited != 10 {
		t.Errorf("%d of 40 captchas from 40 addresses of one /64 refused, want 10 (30 a minute)", limited)
	}
}

// The reference's 10 calls a minute per site: the 11th is status 4, and a
// minute later calls are taken again. The per-visitor and per-IP limits
// answer status 4 too, with their own codes.
func TestCallbackLimits(t *testing.T) {
	t.Run("site", func(t *testing.T) {
		f := newCBFixture(t, func(o *httpd.Options) { o.Callbacks.VisitorLimit, o.Callbacks.IPLimit = 100, 100 })
		p := newPBX(t)
		p.secret = f.configure(t, map[string]any{"webhook": p.srv.URL}).Secret
		// each call another number: the same one again would be a repeat
		// of the first (leads.RepeatWindow), not a call of its own
		for i := range 10 {
			status, out := f.order(t, f.v, map[string]any{"phone": "7910123450" + strconv.Itoa(i)})
			wantStatus(t, "call "+strconv.Itoa(i+1), status, out, 0, callbacks.CodeCalling)
		}
		status, out := f.order(t, f.v, map[string]any{"phone": "79101234567"})
		wantStatus(t, "call 11", status, out, callbacks.StatusLimit, callbacks.CodeSiteLimit)
		other := trackHit(t, f.srv, f.key, "", "https://shop.example/", "")
		status, out = f.order(t, other, map[string]any{"phone": "79101234568"})
		wantStatus(t, "another visitor's call 12", status, out, callbacks.StatusLimit, callbacks.CodeSiteLimit)
		f.clock.Add(time.Minute)
		status, out = f.order(t, f.v, map[string]any{"phone": "79101234567"})
		wantStatus(t, "a minute later", status, out, 0, callbacks.CodeCalling)
		if got := len(f.callbacks(t)); got != 11 {
			t.Errorf("%d callbacks stored, want 11 (refused ones are not)", got)
		}
	})
	t.Run("visitor", func(t *testing.T) {
		f := newCBFixture(t)
		for i := range 3 { // each another number: the same again would be a repeat, which no limit counts
			status, out := f.order(t, f.v, map[string]any{"phone": "7910123456" + strconv.Itoa(i)})
			wantStatus(t, "no scenario", status, out, callbacks.StatusAccepted, callbacks.CodeQueued)
		}
		status, out := f.order(t, f.v, map[string]any{"phone": "79101234567"})
		wantStatus(t, "4th call of one visitor", status, out, callbacks.StatusLimit, callbacks.CodeVisitorLimit)
		other := trackHit(t, f.srv, f.key, "", "https://shop.example/", "")
		status, out = f.order(t, other, map[string]any{"phone": "79101234568"})
		wantStatus(t, "another visitor", status, out, callbacks.StatusAccepted, callbacks.CodeQueued)
	})
	t.Run("ip", func(t *testing.T) {
		f := newCBFixture(t, func(o *httpd.Options) { o.Callbacks.IPLimit = 2 })
		for i := range 3 {
			v := trackHit(t, f.srv, f.key, "", "https://shop.example/", "")
			status, out := f.order(t, v, map[string]any{"phone": "79101234567"})
			if i < 2 {
				wantStatus(t, "call", status, out, callbacks.StatusAccepted, callbacks.CodeQueued)
			} else {
				wantStatus(t, "3rd call from one address", status, out, callbacks.StatusLimit, callbacks.CodeIPLimit)
			}
		}
	})
}

// Input the request cannot be taken with is a 4xx error: nothing is
// stored, and the captcha is not spent, so the visitor fixes the phone and
// sends the same answer again.
func TestCallbackBadInput(t *testing.T) {
	f := newCBFixture(t)
	p := newPBX(t)
	p.secret = f.configure(t, map[string]any{"webhook": p.srv.URL, "captcha": "on"}).Secret
	ck := f.newCaptcha(t)
	now := f.clock.Now()
	for _, tc := range []struct {
		name   string
		v      visit
		fields map[string]any
		status int
		reason string
		code   string // of the result every answer carries
	}{
		{"no phone", f.v, map[string]any{}, 400, "phone is required", "invalid_phone"},
		{"control characters", f.v, map[string]any{"phone": "7910\x001234567"}, 400, "phone", "invalid_phone"},
		{"too long", f.v, map[string]any{"phone": strings.Repeat("1", 65)}, 400, "phone", "invalid_phone"},
		{"seconds", f.v, map[string]any{"phone": "79101234567", "delayed_call_time": now.Unix()}, 400, "milliseconds", "invalid_time"},
		{"too far", f.v, map[string]any{"phone": "79101234567", "delayed_call_time": now.AddDate(0, 2, 0).UnixMilli()}, 400, "days ahead", "invalid_time"},
		{"not a time", f.v, map[string]any{"phone": "79101234567", "delayed_call_time": "tomorrow"}, 400, "delayed_call_time", "invalid_request"},
		{"group", f.v, map[string]any{"phone": "79101234567", "group_id": "sales"}, 400, "group_id", "invalid_request"},
		{"group too big", f.v, map[string]any{"phone": "79101234567", "group_id": "9007199254740992"}, 400, "group_id", "invalid_request"},
		{"group object", f.v, map[string]any{"phone": "79101234567", "group_id": map[string]any{}}, 400, "string or a number", "invalid_request"},
		{"wrong key", visit{CI: f.v.CI, Key: strings.Repeat("0", 32)}, map[string]any{"phone": "79101234567"}, 403, "key", "wrong_key"},
		{"no ci", visit{Key: f.v.Key}, map[string]any{"phone": "79101234567"}, 400, "ci", "invalid_request"},
	} {
		tc.fields["captcha_key"], tc.fields["captcha_value"] = ck, captchaAnswer
		status, out := f.order(t, tc.v, tc.fields)
		if msg, _ := out["error"].(string); status != tc.status || out["success"] != false || !strings.Contains(msg, tc.reason) {
			t.Errorf("%s: %d %v, want %d with %q", tc.name, status, out, tc.status, tc.reason)
		}
		wantFailure(t, tc.name, out, 3, tc.code)
	}
	status, out, _ := post(t, f.srv.URL+"t/v1/callback", "text/plain", []byte(`{"k":"nope","ci":"1.1.1","key":"x","phone":"1"}`))
	if status != 404 {
		t.Errorf("unknown site: %d %v", status, out)
	}
	wantFailure(t, "unknown site", out, 3, "unknown_site")
	status, out, _ = post(t, f.srv.URL+"t/v1/callback", "text/plain", []byte(`{"k":`))
	if status != 400 {
		t.Errorf("not JSON: %d %v", status, out)
	}
	wantFailure(t, "not JSON", out, 3, "invalid_request")
	if n := len(f.callbacks(t)); n != 0 {
		t.Fatalf("%d callbacks stored by bad requests", n)
	}
	status, out = f.order(t, f.v, map[string]any{"phone": "79101234567", "captcha_key": ck, "captcha_value": captchaAnswer})
	wantStatus(t, "the same captcha after bad input", status, out, 0, callbacks.CodeCalling)
}

// A phone the parser cannot read (a short local number, an extension, a
// typo) is not a reason to lose the visitor's request: the callback is
// stored as typed and flagged, answered as kept for staff to call back,
// never sent to the scenario that could not dial it, and the callbacks page
// shows it with the flag.
func TestCallbackOddPhoneKeptAsTyped(t *testing.T) {
	f := newCBFixture(t, func(o *httpd.Options) { o.Callbacks.VisitorLimit = 100 })
	p := newPBX(t)
	p.secret = f.configure(t, map[string]any{"webhook": p.srv.URL, "captcha": "on"}).Secret
	typed := []string{"27-14-04", "позвоните на рабочий, доб. 12", "8 (487) 2"}
	for _, phone := range typed {
		status, out := f.order(t, f.v, map[string]any{"phone": phone, "captcha_key": f.newCaptcha(t), "captcha_value": captchaAnswer})
		wantStatus(t, phone, status, out, 0, callbacks.CodeQueued)
	}
	cbs := f.callbacks(t)
	if len(cbs) != len(typed) {
		t.Fatalf("%d callbacks stored, want %d: %+v", len(cbs), len(typed), cbs)
	}
	for _, cb := range cbs {
		if cb.Phone != "" || !slices.Contains(typed, cb.PhoneRaw) || cb.State != store.CallbackNoScenario || !callbacks.Unparsed(&cb) {
			t.Errorf("stored %+v, want the phone as typed, flagged, kept for staff", cb)
		}
		if v := callbacks.ViewOf(&cb, nil); !v.PhoneUnparsed || v.PhoneRaw != cb.PhoneRaw {
			t.Errorf("the view of %q does not flag it: %+v", cb.PhoneRaw, v)
		}
	}
	if n := len(p.calls()); n != 0 {
		t.Errorf("the scenario was asked to dial %d numbers it cannot read", n)
	}
	// A number that parses still goes to the scenario.
	status, out := f.order(t, f.v, map[string]any{"phone": "8 910 123-45-67", "captcha_key": f.newCaptcha(t), "captcha_value": captchaAnswer})
	wantStatus(t, "a good number", status, out, 0, callbacks.CodeCalling)

	c := f.srv.Client(t)
	page := f.srv.URL + "sites/" + f.key + "/callbacks"
	_, body := getPage(t, c, page)
	if !strings.Contains(body, "позвоните на рабочий, доб. 12") || strings.Count(body, `class="flag unparsed-phone"`) != len(typed) {
		t.Errorf("the callbacks page does not show the typed phones with their flag:\n%s", body)
	}
	// The phone filter finds them by what was typed: its digits, or its
	// text; and the parsed number still by its digits.
	for _, tt := range []struct{ filter, want string }{
		{"27 14 04", "27-14-04"},
		{"271404", "27-14-04"},
		{"доб. 12", "позвоните на рабочий, доб. 12"},
		{"(487) 2", "8 (487) 2"},
		{"910 123", "+79101234567"},
	} {
		_, body := getPage(t, c, page+"?phone="+url.QueryEscape(tt.filter))
		if n := strings.Count(body, `<tr id="callback-`); n != 1 || !strings.Contains(body, tt.want) {
			t.Errorf("phone filter %q lists %d callbacks, want the one of %q", tt.filter, n, tt.want)
		}
	}
	if _, body := getPage(t, c, page+"?phone="+url.QueryEscape("доб. 13")); strings.Contains(body, `<tr id="callback-`) {
		t.Errorf("phone filter %q lists callbacks it does not match", "доб. 13")
	}
}

// Delayed calls wait in the persisted schedule: one comes due and is sent
// while the first server runs; the other is pending when it stops, and the
// second server over the same store sends it when it comes due; each is
// sent exactly once.
func TestCallbackDelayedAcrossRestart(t *testing.T) {
	dir := t.TempDir()
	clock := &trClock{now: time.Now()}
	opts := func(o *httpd.Options) {
		httpdtest.AllowPrivate(o)
		captchaDigits(o)
		o.Now = clock.Now
		o.Callbacks.Tick = 5 * time.Millisecond
	}
	srv := httpdtest.StartAt(t, dir, opts)
	f := &cbFixture{srv: srv, clock: clock, key: srv.Site(t, "Shop", "shop.example")}
	f.site, _ = srv.HTTP.Sites().ByKey(f.key)
	f.v = trackHit(t, srv, f.key, "", "https://shop.example/", "")
	p := newPBX(t)
	p.secret = f.configure(t, map[string]any{"webhook": p.srv.URL}).Secret

	soon, later := clock.Now().Add(5*time.Minute), clock.Now().Add(20*time.Minute)
	for _, at := range []time.Time{soon, later} {
		status, out := f.order(t, f.v, map[string]any{"phone": "79101234567", "delayed_call_time": at.UnixMilli()})
		wantStatus(t, "delayed", status, out, 0, callbacks.CodeScheduled)
	}
	cbs := f.callbacks(t) // newest first
	if len(cbs) != 2 || cbs[1].Delayed != soon.UnixMilli() || cbs[0].Delayed != later.UnixMilli() ||
		cbs[0].State != store.CallbackPending || cbs[1].State != store.CallbackPending {
		t.Fatalf("stored %+v", cbs)
	}
	first, second := strconv.FormatUint(cbs[1].ID, 10), strconv.FormatUint(cbs[0].ID, 10)
	if got := p.calls(); len(got) != 0 {
		t.Fatalf("delayed calls sent before they were due: %v", got)
	}

	clock.Add(6 * time.Minute)
	eventually(t, "the first delayed call is sent", func() bool { return p.calls()[first] == 1 })
	eventually(t, "the first is recorded as sent", func() bool { return f.callbacks(t)[1].State == store.CallbackSent })
	if b, _ := p.body(cbs[1].ID); b.Data.CallAt == nil || !b.Data.CallAt.Equal(time.UnixMilli(soon.UnixMilli())) {
		t.Errorf("the pbx got delayed_call_time %v, want %v", b.Data.CallAt, soon)
	}
	srv.Stop()

	srv = httpdtest.StartAt(t, dir, opts)
	f.srv = srv
	clock.Add(15 * time.Minute)
	eventually(t, "the second delayed call is sent after the restart", func() bool { return p.calls()[second] == 1 })
	eventually(t, "the second is recorded as sent", func() bool { return f.callbacks(t)[0].State == store.CallbackSent })
	n := 0
	if err := srv.DB.ScanPrefix(context.Background(), store.DuePrefix(store.DueCallback), false, 0, func(k, v []byte) bool { n++; return true }); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Errorf("%d schedule entries left after both calls were sent", n)
	}
	srv.Stop() // every send has been recorded: nothing can be sent again
	if got := p.calls(); len(got) != 2 || got[first] != 1 || got[second] != 1 {
		t.Errorf("the pbx took %v, want each callback once", got)
	}
}

// The snippet cuts a page URL and a referrer to 2048 bytes; a cut that
// falls inside a %-escape ("…%D0%9") is mended, not refused: the hit, the
// lead and the callback are taken with the URL up to the last whole
// character, and nothing the visitor left is lost.
func TestPageURLCutMidEscape(t *testing.T) {
	f := newCBFixture(t)
	// cut is a URL of base, padded, whose last 2048 bytes end in tail, as
	// the snippet's cut of a longer one leaves it.
	cut := func(base, tail string) string { return base + strings.Repeat("a", 2048-len(base)-len(tail)) + tail }
	const page, ref = "https://shop.example/каталог/", "https://blog.other.example/статья/"
	hitURL, refURL := cut(page, "%D0%9F%D0%9"), cut(ref, "%D0%")
	v := trackHit(t, f.srv, f.key, "", hitURL, refURL) // a 200, or it fails the test
	leadURL, cbURL := cut(page, "#%E2%82%AC%E2%8"), cut(page, "%D")

	status, out, _ := postJSON(t, f.srv.URL+"t/v1/lead", leadBody(f.key, v, map[string]any{"phone": "8 912 345-67-89", "u": leadURL}))
	if status != http.StatusOK || out["success"] != true {
		t.Fatalf("lead with a URL cut mid-escape: %d %v", status, out)
	}
	status, out = f.order(t, v, map[string]any{"phone": "8 912 345-67-89", "u": cbURL})
	wantStatus(t, "callback with a URL cut mid-escape", status, out, 0, callbacks.CodeQueued)

	ls := siteLeads(t, f.srv, f.key)
	if len(ls) != 1 {
		t.Fatalf("%d leads stored, want 1", len(ls))
	}
	l := ls[0]
	if want := leadURL[:len(leadURL)-len("%E2%8")]; l.PageURL != want {
		t.Errorf("lead's page stored as …%q, want …%q", tailOf(l.PageURL), tailOf(want))
	}
	if want := hitURL[:len(hitURL)-len("%D0%9")]; l.Landing != want {
		t.Errorf("landing page stored as …%q, want …%q", tailOf(l.Landing), tailOf(want))
	}
	if want := refURL[:len(refURL)-len("%D0%")]; l.Referrer != want {
		t.Errorf("referrer stored as …%q, want …%q", tailOf(l.Referrer), tailOf(want))
	}
	cbs := f.callbacks(t)
	if len(cbs) != 1 {
		t.Fatalf("%d callbacks stored, want 1", len(cbs))
	}
	if want := cbURL[:len(cbURL)-len("%D")]; cbs[0].PageURL != want {
		t.Errorf("callback's page stored as …%q, want …%q", tailOf(cbs[0].PageURL), tailOf(want))
	}

	// What is malformed before the end is still refused, nothing stored.
	status, out, _ = postJSON(t, f.srv.URL+"t/v1/lead", leadBody(f.key, v, map[string]any{"phone": "1", "u": page + "%zz/x"}))
	if status != http.StatusBadRequest || out["success"] != false {
		t.Errorf("lead with a malformed URL: %d %v, want a 400", status, out)
	}
	if n := len(siteLeads(t, f.srv, f.key)); n != 1 {
		t.Errorf("%d leads stored, want 1", n)
	}
}

func tailOf(s string) string { return s[max(0, len(s)-24):] }
