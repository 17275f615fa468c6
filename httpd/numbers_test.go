package httpd_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"appliance/httpd"
	"appliance/httpd/accounts"
	"appliance/numbers"
	"appliance/numbers/tracking"
	"appliance/store"
)

// Call tracking over the real server: the "phones" of hits and heartbeats
// (tracker-protocol.md §7) and the call API (SPEC §5).

const (
	tkSite     = "74872751404"
	tkYandex   = "74951825168"
	tkFallback = "74950000009"
)

var (
	tkPool   = []string{"74950000001", "74950000002"}
	cpcVisit = numbers.Visit{UTMMedium: "cpc"}
)

// setUpNumbers gives the fixture's site one site number, a static number
// for utm_source=yandex and a pool "ads" of two numbers for cpc traffic.
func setUpNumbers(t *testing.T, f *trFixture) {
	t.Helper()
	tr, ctx, now := f.srv.HTTP.Numbers(), context.Background(), f.clock.Now()
	if _, err := tr.SetSiteNumbers(ctx, f.site.ID, []string{"8 (487) 275-14-04"}, now); err != nil {
		t.Fatal(err)
	}
	if _, err := tr.SetSelectors(ctx, f.site.ID, []string{".phone"}, now); err != nil {
		t.Fatal(err)
	}
	if _, err := tr.AddStatic(ctx, f.site.ID, tracking.StaticInput{Number: tkYandex, RuleInput: tracking.RuleInput{Rule: "utm_source=yandex"}}, now); err != nil {
		t.Fatal(err)
	}
	if _, err := tr.AddPool(ctx, f.site.ID, tracking.PoolInput{Name: "ads", Numbers: tkPool, Fallback: tkFallback,
		RuleInput: tracking.RuleInput{Rule: "utm_medium=cpc", Priority: 1}}, now); err != nil {
		t.Fatal(err)
	}
}

// tkPhones is the "phones" of an answer.
type tkPhones struct {
	V       int `json:"v"`
	Numbers []struct {
		Site struct {
			Raw, CC, NSN, Trunk string
		} `json:"site"`
		Raw   string            `json:"raw"`
		CC    string            `json:"cc"`
		NSN   string            `json:"nsn"`
		Trunk string            `json:"trunk"`
		Text  string            `json:"text"`
		Type  string            `json:"type"`
		TTL   int64             `json:"ttl"`
		Forms map[string]string `json:"forms"`
	} `json:"numbers"`
	Selectors []string `json:"selectors"`
	TTL       int64    `json:"ttl"`
	Renew     int64    `json:"renew"`
}

// hitPhones posts a hit and returns its result and "phones" (nil for null).
func (f *trFixture) hitPhones(t *testing.T, ua, ci, u string) (trHit, *tkPhones) {
	t.Helper()
	b, _ := json.Marshal(map[string]string{"k": f.site.Key, "ci": ci, "key": f.ciKey(ci), "u": u, "r": "", "t": "page"})
	a := f.do(t, "POST", "t/v1/hit", ua, b)
	if a.Status != http.StatusOK {
		t.Fatalf("hit %s: %d %s", u, a.Status, a.Raw)
	}
	var res struct {
		trHit
		Phones *tkPhones `json:"phones"`
	}
	if err := json.Unmarshal(a.Body.Result, &res); err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(a.Body.Result, []byte(`"phones":`)) {
		t.Fatalf("hit result has no phones field: %s", a.Body.Result)
	}
	return res.trHit, res.Phones
}

func shownNumber(p *tkPhones) (raw, typ string) {
	if p == nil || len(p.Numbers) == 0 {
		return "", ""
	}
	return p.Numbers[0].Raw, p.Numbers[0].Type
}

const botUA = "Mozilla/5.0 (compatible; YandexBot/3.0; +http://yandex.com/bots)"

func TestHitPhones(t *testing.T) {
	f := newTrFixture(t, true)
	setUpNumbers(t, f)
	const page = "https://shop.example.com/"

	_, p := f.hitPhones(t, "", "", page+"?utm_source=yandex")
	if raw, typ := shownNumber(p); raw != tkYandex || typ != "static" {
		t.Fatalf("yandex visit: %s %s", raw, typ)
	}
	n := p.Numbers[0]
	if p.V != 2 || n.Site.Raw != tkSite || n.Site.NSN != "4872751404" || n.Site.Trunk != "8" || n.Site.CC != "7" ||
		n.NSN != "4951825168" || n.Text != "+7 495 182-51-68" || n.TTL != 0 || p.TTL != 1800 || p.Renew != 0 ||
		strings.Join(p.Selectors, ",") != ".phone" {
		t.Fatalf("static phones %+v", p)
	}
	if got, want := fmt.Sprint(n.Forms), "map[4872751404:4951825168 74872751404:74951825168 84872751404:84951825168]"; got != want {
		t.Errorf("static phones' forms %s, want %s", got, want)
	}

	a, p := f.hitPhones(t, "", "", page+"?utm_source=google&utm_medium=cpc")
	numA, typ := shownNumber(p)
	if typ != "dynamic" || (numA != tkPool[0] && numA != tkPool[1]) || p.TTL != 1200 || p.Numbers[0].TTL != 1200 || p.Renew != 300 {
		t.Fatalf("cpc visit: %+v", p)
	}
	f.clock.Add(5 * time.Minute)
	if _, p := f.hitPhones(t, "", a.CI, page+"cart"); func() string { r, _ := shownNumber(p); return r }() != numA {
		t.Fatalf("visitor A's next page: %+v, want %s", p, numA)
	}
	_, p = f.hitPhones(t, "", "", page+"?utm_medium=cpc&utm_source=vk")
	if numB, _ := shownNumber(p); numB == numA || numB == tkFallback {
		t.Fatalf("visitor B got %s (A has %s)", numB, numA)
	}
	// The pool is full: C sees the fallback, which reserves nothing.
	_, p = f.hitPhones(t, "", "", page+"?utm_medium=cpc")
	if raw, typ := shownNumber(p); raw != tkFallback || typ != "static" || p.Renew != 0 {
		t.Fatalf("full pool: %+v", p)
	}
	// Bots never lease.
	live := f.srv.HTTP.Numbers().Preview(f.site.ID, cpcVisit, f.clock.Now())[0].Free
	_, p = f.hitPhones(t, botUA, "", page+"?utm_medium=cpc")
	if raw, _ := shownNumber(p); raw != tkFallback {
		t.Fatalf("bot: %+v", p)
	}
	if got := f.srv.HTTP.Numbers().Preview(f.site.ID, cpcVisit, f.clock.Now())[0].Free; got != live {
		t.Fatalf("a bot changed the free numbers %d -> %d", live, got)
	}
	// Direct traffic: no rule, nothing replaced.
	if _, p := f.hitPhones(t, "", "", page); p != nil {
		t.Fatalf("direct visit: %+v, want null", p)
	}
}

// leasePost posts a heartbeat for h and returns the answer.
func (f *trFixture) leasePost(t *testing.T, h trHit) (trAnswer, *tkPhones) {
	t.Helper()
	a := f.post(t, "t/v1/lease", f.creds(h, nil))
	if a.Status != http.StatusOK {
		return a, nil
	}
	var res struct {
		Phones *tkPhones `json:"phones"`
	}
	if err := json.Unmarshal(a.Body.Result, &res); err != nil {
		t.Fatal(err)
	}
	return a, res.Phones
}

// A page kept visible renews its lease by heartbeat; a call an hour later
// is still the visitor's.
func TestLeaseHeartbeat(t *testing.T) {
	f := newTrFixture(t, true)
	setUpNumbers(t, f)
	h, p := f.hitPhones(t, "", "", "https://shop.example.com/?utm_medium=cpc&utm_source=google")
	num, _ := shownNumber(p)
	for range 4 {
		f.clock.Add(15 * time.Minute)
		a, p := f.leasePost(t, h)
		if raw, typ := shownNumber(p); a.Status != http.StatusOK || raw != num || typ != "dynamic" {
			t.Fatalf("heartbeat: %d %s", a.Status, a.Raw)
		}
		if a.Header.Get("Access-Control-Allow-Origin") != "*" {
			t.Fatal("heartbeat answer without CORS")
		}
	}
	// Nobody else can have it meanwhile.
	_, p = f.hitPhones(t, "", "", "https://shop.example.com/?utm_medium=cpc")
	if raw, _ := shownNumber(p); raw == num {
		t.Fatalf("another visitor got the renewed number %s", num)
	}
	res := attribution(t, f, num, f.clock.Now().Add(5*time.Minute))
	if !res.Attributed || res.VisitorID != h.VisitorID || res.SessionID != h.SessionID || res.UTMSource != "google" {
		t.Fatalf("attribution after heartbeats: %+v", res)
	}

	bad := f.creds(h, nil)
	bad["key"] = strings.Repeat("0", 32)
	if a := f.post(t, "t/v1/lease", bad); a.Status != http.StatusForbidden || a.Body.Success {
		t.Fatalf("wrong key: %d %s", a.Status, a.Raw)
	}
	if a := f.do(t, "GET", "t/v1/lease", "", nil); a.Status != http.StatusMethodNotAllowed {
		t.Fatalf("GET: %d %s", a.Status, a.Raw)
	}
}

// tkResult is the result of /api/v1/calls and /api/v1/attribution.
type tkResult struct {
	CallID      uint64 `json:"call_id"`
	Attributed  bool   `json:"attributed"`
	VisitorID   uint64 `json:"visitor_id"`
	SessionID   uint64 `json:"session_id"`
	Source      string `json:"source"`
	UTMSource   string `json:"utm_source"`
	UTMMedium   string `json:"utm_medium"`
	UTMCampaign string `json:"utm_campaign"`
	LandingPage string `json:"landing_page"`
	Pool        string `json:"pool"`
	Match       string `json:"match"`
}

func apiToken(t *testing.T, f *trFixture) string {
	t.Helper()
	tok, err := accounts.New(f.srv.DB).CreateToken(context.Background(), "pbx", nil)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// api sends an /api/v1 request with the bearer token ("" for none).
func api(t *testing.T, f *trFixture, method, path, token, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, f.srv.URL+path, strings.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func decodeResult(t *testing.T, raw string) tkResult {
	t.Helper()
	var env struct {
		Success bool            `json:"success"`
		Result  json.RawMessage `json:"result"`
	}
	if err := json.Unmarshal([]byte(raw), &env); err != nil || !env.Success {
		t.Fatalf("answer %s: %v", raw, err)
	}
	// Exactly the fields of SPEC §5, "pool" and "match", no more.
	var fields map[string]any
	json.Unmarshal(env.Result, &fields)
	for _, k := range []string{"call_id", "attributed", "visitor_id", "session_id", "source", "utm_source", "utm_medium", "utm_campaign", "landing_page", "pool", "match"} {
		if _, ok := fields[k]; !ok {
			t.Fatalf("result %s lacks %s", env.Result, k)
		}
		delete(fields, k)
	}
	if len(fields) != 0 {
		t.Fatalf("result has fields beyond SPEC §5: %v", fields)
	}
	var r tkResult
	json.Unmarshal(env.Result, &r)
	return r
}

func attribution(t *testing.T, f *trFixture, number string, at time.Time) tkResult {
	t.Helper()
	q := url.Values{"number": {number}, "at": {at.Format(time.RFC3339)}}
	code, raw := api(t, f, "GET", "api/v1/attribution?"+q.Encode(), apiToken(t, f), "")
	if code != http.StatusOK {
		t.Fatalf("attribution: %d %s", code, raw)
	}
	return decodeResult(t, raw)
}

// storedCalls counts the calls stored under the site and under site 0.
func storedCalls(t *testing.T, f *trFixture) int {
	t.Helper()
	n := 0
	for _, site := range []uint32{0, f.site.ID} {
		f.srv.DB.ScanPrefix(context.Background(), store.CallPrefix(site), false, 0, func(_, _ []byte) bool { n++; return true })
	}
	return n
}

func TestCallsAPI(t *testing.T) {
	f := newTrFixture(t, true)
	setUpNumbers(t, f)
	h, p := f.hitPhones(t, "", "", "https://shop.example.com/promo?utm_source=google&utm_medium=cpc&utm_campaign=winter")
	num, _ := shownNumber(p)
	token := apiToken(t, f)
	start := f.clock.Now().Add(2 * time.Minute)
	f.clock.Add(3 * time.Minute)

	for _, tt := range []struct {
		name, token, body string
		status            int
		says              string
	}{
		{"no token", "", `{"called":"` + num + `"}`, 401, "Bearer"},
		{"bad token", "nope", `{"called":"` + num + `"}`, 401, "not valid"},
		{"not JSON", token, `{"called":`, 400, "not JSON"},
		{"unknown field", token, `{"called":"` + num + `","calld":"x"}`, 400, "unknown field"},
		// The PBX's own name for its id is not ours: the answer lists ours.
		{"unknown field lists the fields", token, `{"called":"` + num + `","call_id":"x"}`, 400, "pbx_call_id"},
		{"long pbx_call_id", token, `{"called":"` + num + `","pbx_call_id":"` + strings.Repeat("x", 129) + `"}`, 400, "pbx_call_id"},
		{"two objects", token, `{"called":"` + num + `"}{}`, 400, "one JSON object"},
		{"no called", token, `{"caller":"79161234567"}`, 400, "called"},
		{"bad called", token, `{"called":"hello"}`, 400, "phone"},
		{"bad started_at", token, `{"called":"` + num + `","started_at":"yesterday"}`, 400, "RFC 3339"},
		{"future started_at", token, `{"called":"` + num + `","started_at":"2030-01-01T00:00:00Z"}`, 400, "future"},
		{"old started_at", token, `{"called":"` + num + `","started_at":"1999-12-31T23:59:59Z"}`, 400, "before 2000"},
		// Go's zero time, which a PBX written in Go may send for "unknown":
		// not a call of now.
		{"year one started_at", token, `{"called":"` + num + `","started_at":"0001-01-01T00:00:00Z"}`, 400, "before 2000"},
		{"negative duration", token, `{"called":"` + num + `","duration":-1}`, 400, "duration"},
		{"fractional duration", token, `{"called":"` + num + `","duration":1.5}`, 400, "duration"},
		{"bad recording", token, `{"called":"` + num + `","recording_url":"javascript:alert(1)"}`, 400, "recording_url"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			code, raw := api(t, f, "POST", "api/v1/calls", tt.token, tt.body)
			if code != tt.status || !strings.Contains(raw, `"success":false`) || !strings.Contains(raw, tt.says) {
				t.Fatalf("%d %s; want %d saying %q", code, raw, tt.status, tt.says)
			}
			if n := storedCalls(t, f); n != 0 {
				t.Fatalf("%d calls stored by a refused request", n)
			}
		})
	}

	body := `{"called":"+7 (495) ` + num[4:7] + `-` + num[7:9] + `-` + num[9:] + `","caller":"8 916 123-45-67","started_at":"` +
		start.Format(time.RFC3339) + `","duration":65,"answered":true,"recording_url":"https://pbx.example/r/1.mp3"}`
	code, raw := api(t, f, "POST", "api/v1/calls", token, body)
	if code != http.StatusOK {
		t.Fatalf("post call: %d %s", code, raw)
	}
	r := decodeResult(t, raw)
	want := tkResult{CallID: r.CallID, Attributed: true, VisitorID: h.VisitorID, SessionID: h.SessionID, Source: "ad",
		UTMSource: "google", UTMMedium: "cpc", UTMCampaign: "winter", LandingPage: "https://shop.example.com/promo?utm_source=google&utm_medium=cpc&utm_campaign=winter",
		Pool: "ads", Match: "lease"}
	if r != want || r.CallID == 0 {
		t.Fatalf("call result %+v\nwant %+v", r, want)
	}
	// started_at is optional (now); a number no site has is stored,
	// unattributed. A body that begins with a byte-order mark (as some
	// Windows tools write UTF-8) is read as the JSON after it.
	code, raw = api(t, f, "POST", "api/v1/calls", token, "\ufeff"+`{"called":"79990001122"}`)
	if r := decodeResult(t, raw); code != http.StatusOK || r.Attributed || r.VisitorID != 0 || r.CallID == 0 {
		t.Fatalf("unknown number: %d %s", code, raw)
	}
	// The static number is attributed to its rule's source, not a visitor.
	code, raw = api(t, f, "POST", "api/v1/calls", token, `{"called":"`+tkYandex+`"}`)
	if r := decodeResult(t, raw); code != http.StatusOK || !r.Attributed || r.VisitorID != 0 || r.UTMSource != "yandex" {
		t.Fatalf("static number: %d %s", code, raw)
	}
	if n := storedCalls(t, f); n != 3 {
		t.Fatalf("%d calls stored, want 3", n)
	}
	days, err := f.srv.HTTP.Numbers().CallDays(f.site.ID, f.clock.Now(), f.clock.Now())
	if err != nil || days[0].Calls != 2 || days[0].Attributed != 2 || days[0].Answered != 1 {
		t.Fatalf("call roll-up %+v %v", days, err)
	}

	// The live lookup gives the same answer and stores nothing.
	if r := attribution(t, f, num, start); !r.Attributed || r.VisitorID != h.VisitorID || r.CallID != 0 {
		t.Fatalf("attribution %+v", r)
	}
	if n := storedCalls(t, f); n != 3 {
		t.Fatalf("attribution stored a call: %d", n)
	}
	for _, q := range []string{"", "number=", "number=abc", "number=" + num + "&at=soon",
		// Year one is not "now", nor are times a lease history cannot hold.
		"number=" + num + "&at=0001-01-01T00:00:00Z", "number=" + num + "&at=1999-12-31T23:59:59Z", "number=" + num + "&at=2262-04-12T00:00:00Z"} {
		code, raw := api(t, f, "GET", "api/v1/attribution?"+q, token, "")
		if code != http.StatusBadRequest {
			t.Errorf("attribution?%s: %d %s", q, code, raw)
		}
	}
	// An offset's + sent unescaped arrives as a space: the error says so.
	if code, raw := api(t, f, "GET", "api/v1/attribution?number="+num+"&at=2026-11-26T18:00:00+03:00", token, ""); code != http.StatusBadRequest || !strings.Contains(raw, "%2B") {
		t.Errorf("attribution at an unescaped +03:00: %d %s, want 400 saying to write %%2B", code, raw)
	}
	if code, _ := api(t, f, "GET", "api/v1/attribution?number="+num, "", ""); code != http.StatusUnauthorized {
		t.Errorf("attribution without token: %d", code)
	}
}

// A PBX that gives its own id of a call (pbx_call_id) and retries a
// report it did not see answered, without started_at, gets the first call
// back: it is stored, counted and sent to webhooks once. Without the id, or
// without started_at, such a retry was a second call.
func TestCallsAPIRetryByPBXCallID(t *testing.T) {
	f := newTrFixture(t, true)
	setUpNumbers(t, f)
	h, p := f.hitPhones(t, "", "", "https://shop.example.com/?utm_source=google&utm_medium=cpc")
	num, _ := shownNumber(p)
	token := apiToken(t, f)
	f.clock.Add(time.Minute)
	body := `{"called":"` + num + `","caller":"79161234567","pbx_call_id":"1764158400.42"}`
	code, raw := api(t, f, "POST", "api/v1/calls", token, body)
	if code != http.StatusOK {
		t.Fatalf("post call: %d %s", code, raw)
	}
	first := decodeResult(t, raw)
	f.clock.Add(30 * time.Second)
	code, raw = api(t, f, "POST", "api/v1/calls", token, body)
	if r := decodeResult(t, raw); code != http.StatusOK || r != first || r.VisitorID != h.VisitorID {
		t.Fatalf("retry: %d %+v, want the first %+v", code, r, first)
	}
	if n := storedCalls(t, f); n != 1 {
		t.Fatalf("%d calls stored, want 1", n)
	}
	days, err := f.srv.HTTP.Numbers().CallDays(f.site.ID, f.clock.Now(), f.clock.Now())
	if err != nil || days[0].Calls != 1 {
		t.Fatalf("call roll-up %+v %v", days, err)
	}
}

// A call from a hidden caller or an internal extension, as PBXs write
// them ("anonymous", "101"), reported with the called number as a SIP URI,
// is stored and tied to the visitor who held the number; the calls page
// shows the caller as reported, flagged. Such calls were refused with 400
// and lost.
func TestCallFromCallerThatIsNoNumber(t *testing.T) {
	f := newTrFixture(t, true)
	setUpNumbers(t, f)
	h, p := f.hitPhones(t, "", "", "https://shop.example.com/?utm_source=google&utm_medium=cpc")
	num, _ := shownNumber(p)
	token := apiToken(t, f)
	f.clock.Add(time.Minute)
	for _, caller := range []string{"anonymous", "101"} {
		body := `{"called":"sip:` + num + `@pbx.example","caller":"` + caller + `","started_at":"` + f.clock.Now().Format(time.RFC3339) + `"}`
		code, raw := api(t, f, "POST", "api/v1/calls", token, body)
		if code != http.StatusOK {
			t.Fatalf("call from %q: %d %s", caller, code, raw)
		}
		if r := decodeResult(t, raw); !r.Attributed || r.VisitorID != h.VisitorID || r.Match != "lease" {
			t.Fatalf("call from %q: %+v, want visitor %d by lease", caller, r, h.VisitorID)
		}
	}
	if n := storedCalls(t, f); n != 2 {
		t.Fatalf("%d calls stored, want 2", n)
	}
	page := okPage(t, f.srv.Client(t), f.srv.URL+"sites/"+f.site.Key+"/calls")
	for _, caller := range []string{"anonymous", "101"} {
		if !strings.Contains(page, `<span class="caller-typed">`+caller+`</span> <span class="flag unparsed-phone">`) {
			t.Errorf("the calls page does not show the caller %q as reported, flagged", caller)
		}
	}
}

// A call to a static number answers its rule's source, channel included; a
// call to a pool's fallback number is not attributed to anyone, and names
// the pool and what its rule says.
func TestCallsToStaticAndFallback(t *testing.T) {
	f := newTrFixture(t, true)
	setUpNumbers(t, f)
	tr, ctx := f.srv.HTTP.Numbers(), context.Background()
	for _, st := range []tracking.StaticInput{
		{Number: "74951110001", RuleInput: tracking.RuleInput{Rule: "utm_source=yandex&utm_medium=cpc&utm_campaign=spring", Priority: 5}},
		{Number: "74951110002", RuleInput: tracking.RuleInput{Rule: "channel=social&utm_source=vk", Priority: 5}},
	} {
		if _, err := tr.AddStatic(ctx, f.site.ID, st, f.clock.Now()); err != nil {
			t.Fatal(err)
		}
	}
	token := apiToken(t, f)
	for _, tt := range []struct {
		name, called string
		want         tkResult
	}{
		{"static from utm tags", "74951110001", tkResult{Attributed: true, Source: "ad", UTMSource: "yandex", UTMMedium: "cpc", UTMCampaign: "spring", Match: "static"}},
		{"static with a channel term", "74951110002", tkResult{Attributed: true, Source: "social", UTMSource: "vk", Match: "static"}},
		{"static of one tag", tkYandex, tkResult{Attributed: true, Source: "organic", UTMSource: "yandex", Match: "static"}},
		{"fallback", "+7 495 000-00-09", tkResult{Attributed: false, Source: "ad", UTMMedium: "cpc", Pool: "ads"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			code, raw := api(t, f, "POST", "api/v1/calls", token, `{"called":"`+tt.called+`"}`)
			if code != http.StatusOK {
				t.Fatalf("%d %s", code, raw)
			}
			r := decodeResult(t, raw)
			if r.CallID == 0 {
				t.Fatalf("no call id: %s", raw)
			}
			tt.want.CallID = r.CallID
			if r != tt.want {
				t.Fatalf("result %+v\nwant   %+v", r, tt.want)
			}
			if a := attribution(t, f, tt.called, f.clock.Now()); a.Attributed != tt.want.Attributed || a.Source != tt.want.Source || a.Pool != tt.want.Pool {
				t.Fatalf("attribution %+v, want %+v", a, tt.want)
			}
		})
	}
	days, err := f.srv.HTTP.Numbers().CallDays(f.site.ID, f.clock.Now(), f.clock.Now())
	if err != nil || days[0].Calls != 4 || days[0].Attributed != 3 {
		t.Fatalf("call roll-up %+v %v: want 4 calls, the fallback's not attributed", days, err)
	}
}

// adsPoolPage is a site with the pool "ads" (74950000001) and postNumbers,
// which posts the numbers page's form in a language and returns the
// status and the page.
func adsPoolPage(t *testing.T) (postNumbers func(lang string, form url.Values) (int, string)) {
	f := newCBFixture(t)
	if _, err := f.srv.HTTP.Numbers().AddPool(t.Context(), f.site.ID, tracking.PoolInput{Name: "ads", Numbers: []string{"74950000001"},
		RuleInput: tracking.RuleInput{Rule: "utm_medium=cpc"}}, time.Now()); err != nil {
		t.Fatal(err)
	}
	c := f.srv.Client(t)
	page := "sites/" + f.key + "/numbers"
	return func(lang string, form url.Values) (int, string) {
		form.Set("csrf", f.srv.FormToken(t, c, page))
		req, _ := http.NewRequest("POST", f.srv.URL+page, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Accept-Language", lang)
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
}

// The answer to a numbers import says what it did in the reader's
// language, with the noun in the plural form the count takes: it was
// formatted in English for every reader ("Imported 1 numbers").
func TestNumbersImportFlashTranslated(t *testing.T) {
	post := adsPoolPage(t)
	for _, tt := range []struct{ lang, csv, want string }{
		{"en", "74950000002\nhello\n74950000001", "Imported 1 number into ads; 2 skipped."},
		{"ru", "74950000003\n74950000004\nhello\n74950000001\n74950000003", "В пул ads загружено 2 номера; пропущено строк: 3."},
	} {
		status, body := post(tt.lang, url.Values{"action": {"import"}, "pool": {"ads"}, "csv": {tt.csv}})
		if status != http.StatusOK || !strings.Contains(body, `<p class="flash" role="status">`+tt.want+`</p>`) {
			t.Errorf("%s: import answered %d without the flash %q:\n%s", tt.lang, status, tt.want, body)
		}
		// So does why each line was skipped.
		if tt.lang == "ru" {
			for _, why := range []string{"<td>74950000001 уже в пуле &#34;ads&#34;</td>", "<td>74950000003 уже есть выше в файле</td>"} {
				if !strings.Contains(body, why) {
					t.Errorf("the skipped lines lack %s:\n%s", why, cutAt(body, "<table", "</table>"))
				}
			}
		}
	}
}

// The numbers page's pool form takes its numbers one a line or as a list,
// separated as people paste them: commas, semicolons (a Russian
// spreadsheet's CSV), tabs (a spreadsheet row). "74950000002;
// 74950000003" was refused as one number with an extension.
func TestPoolFormTakesPastedLists(t *testing.T) {
	f := newCBFixture(t)
	c := f.srv.Client(t)
	page := "sites/" + f.key + "/numbers"
	form := url.Values{"action": {"pool-add"}, "name": {"seo"}, "rule": {"utm_medium=organic"},
		"numbers": {"74950000002; 74950000003\t8 (495) 000-00-04\n+7 495 000-00-05,74950000006"}}
	form.Set("csrf", f.srv.FormToken(t, c, page))
	resp, err := c.PostForm(f.srv.URL+page, form)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode >= 400 {
		t.Fatalf("pool-add answered %d: %s", resp.StatusCode, cutAt(string(body), `role="alert"`, "</p>"))
	}
	pools := f.srv.HTTP.Numbers().Config(f.site.ID).Pools
	if len(pools) != 1 || strings.Join(pools[0].Numbers, " ") != "74950000002 74950000003 74950000004 74950000005 74950000006" {
		t.Fatalf("pools %+v, want seo of five numbers", pools)
	}
}

// The numbers page's live leases say which number each visitor holds, the
// visitor linked to their card, as the calls page links the caller's.
func TestLiveLeasesLinkTheVisitor(t *testing.T) {
	f := newTrFixture(t, true)
	setUpNumbers(t, f)
	f.srv.Owner(t)
	h, p := f.hitPhones(t, "", "", "https://shop.example.com/?utm_medium=cpc")
	if _, typ := shownNumber(p); typ != "dynamic" {
		t.Fatalf("the visit leased nothing: %+v", p)
	}
	page := okPage(t, f.srv.Client(t), f.srv.URL+"sites/"+f.site.Key+"/numbers")
	id := strconv.FormatUint(h.VisitorID, 10)
	if want := `<a class="visitor-link" href="/sites/` + f.site.Key + `/visitors/` + id + `">#` + id + `</a>`; !strings.Contains(page, want) {
		t.Fatalf("the live leases lack %s:\n%s", want, cutAt(page, `<table class="list leases">`, "</table>"))
	}
}

// Two sites sharing a number by mistake: the numbers page names the site
// that has it, by the name the owner gave it; it said "(id 1)", an id no
// page shows.
func TestNumberOfAnotherSiteNamesIt(t *testing.T) {
	f := newCBFixture(t)
	if _, err := f.srv.HTTP.Numbers().AddPool(t.Context(), f.site.ID, tracking.PoolInput{Name: "ads", Numbers: []string{"74950000001"},
		RuleInput: tracking.RuleInput{Rule: "utm_medium=cpc"}}, time.Now()); err != nil {
		t.Fatal(err)
	}
	blog := f.srv.Site(t, "Blog", "blog.example")
	c := f.srv.Client(t)
	page := "sites/" + blog + "/numbers"
	for _, tt := range []struct{ lang, want string }{
		{"en", "74950000001 is a number of another site, &#34;Shop&#34;: a tracking number belongs to one site"},
		{"ru", "74950000001 — номер другого сайта, &#34;Shop&#34;: номер отслеживания принадлежит одному сайту"},
	} {
		form := url.Values{"action": {"static-add"}, "number": {"8 495 000-00-01"}, "rule": {"utm_source=yandex"}, "csrf": {f.srv.FormToken(t, c, page)}}
		req, _ := http.NewRequest("POST", f.srv.URL+page, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Accept-Language", tt.lang)
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), tt.want) {
			t.Errorf("%s: answered %d without %q:\n%s", tt.lang, resp.StatusCode, tt.want, cutAt(string(body), `role="alert"`, "</p>"))
		}
	}
}

// What the numbers page refuses is said in the reader's language, the
// error's context and phrases too: the numbers' errors are in the catalog
// (TestCatalogHasEveryKey scans them); they were English on the Russian
// page.
func TestNumbersErrorsTranslated(t *testing.T) {
	post := adsPoolPage(t)
	for _, tt := range []struct {
		form url.Values
		want string
	}{
		{url.Values{"action": {"pool-add"}, "name": {"ads"}, "numbers": {"74950000002"}, "rule": {"utm_medium=cpc"}},
			"Пул &#34;ads&#34;: у сайта уже есть пул с таким именем (измените его)"},
		{url.Values{"action": {"pool-add"}, "name": {"seo"}, "numbers": {"74950000001"}, "rule": {"utm_medium=organic"}},
			"Пул &#34;seo&#34;: 74950000001 уже в пуле &#34;ads&#34;"},
		{url.Values{"action": {"pool-add"}, "name": {"seo"}, "numbers": {"74950000005"}, "rule": {"utm_medium"}},
			"Пул &#34;seo&#34;: правило: условие &#34;utm_medium&#34;: нужно ключ=значение"},
		{url.Values{"action": {"import"}, "pool": {"ads"}, "csv": {"\xff\xfe"}},
			"Загрузка: файл не в UTF-8 (сохраните его как CSV в UTF-8)"},
	} {
		status, body := post("ru", tt.form)
		if status != http.StatusBadRequest || !strings.Contains(body, tt.want) {
			t.Errorf("%s: answered %d without %q:\n%s", tt.form.Get("action"), status, tt.want, cutAt(body, `role="alert"`, "</p>"))
		}
	}
}

// A visitor who came from an ad and leased a number keeps it across
// sessions while the lease lives (SPEC §5, the Numbers page): back by a
// bookmark (direct traffic, which no rule covers) an hour and a half
// later, within the pool's 3 h reserve, they are shown the same number and
// it is renewed, so a call on it is the ad visit's. They were shown the
// site's own number, and their call went unattributed.
func TestLeaseKeptOnReturnNoRuleCovers(t *testing.T) {
	f := newTrFixture(t, true)
	tr, ctx, now := f.srv.HTTP.Numbers(), context.Background(), f.clock.Now()
	if _, err := tr.SetSiteNumbers(ctx, f.site.ID, []string{"8 (487) 275-14-04"}, now); err != nil {
		t.Fatal(err)
	}
	if _, err := tr.AddPool(ctx, f.site.ID, tracking.PoolInput{Name: "ads", Numbers: tkPool, Fallback: tkFallback, Reserve: 3 * time.Hour,
		RuleInput: tracking.RuleInput{Rule: "utm_medium=cpc"}}, now); err != nil {
		t.Fatal(err)
	}
	ad, p := f.hitPhones(t, "", "", "https://shop.example.com/?utm_source=google&utm_medium=cpc")
	num, _ := shownNumber(p)
	f.clock.Add(90 * time.Minute)
	back, p := f.hitPhones(t, "", ad.CI, "https://shop.example.com/")
	if back.SessionID == ad.SessionID {
		t.Fatal("the return is in the same session: the test needs a new one")
	}
	if raw, typ := shownNumber(p); raw != num || typ != "dynamic" || p.Renew == 0 {
		t.Fatalf("return by a bookmark within the reserve: shown %+v, want %s, dynamic, renewed by heartbeat", p, num)
	}
	// Renewed: 3 h from the return, not from the ad visit.
	f.clock.Add(2 * time.Hour)
	if a, p := f.leasePost(t, back); a.Status != http.StatusOK || func() string { r, _ := shownNumber(p); return r }() != num {
		t.Fatalf("heartbeat of the returned page: %d %s", a.Status, a.Raw)
	}
	token := apiToken(t, f)
	code, raw := api(t, f, "POST", "api/v1/calls", token, `{"called":"`+num+`","caller":"79161234567"}`)
	if r := decodeResult(t, raw); code != http.StatusOK || !r.Attributed || r.VisitorID != ad.VisitorID || r.SessionID != ad.SessionID || r.UTMSource != "google" {
		t.Fatalf("call on the kept number: %d %s", code, raw)
	}
	// Another direct visitor holds nothing: the site's number stays.
	if _, p := f.hitPhones(t, "", "", "https://shop.example.com/"); p != nil && len(p.Numbers) > 0 {
		t.Fatalf("a direct visitor without a lease was shown %+v", p)
	}
	// Once the lease has lapsed, a return shows the site's number again.
	f.clock.Add(4 * time.Hour)
	if _, p := f.hitPhones(t, "", ad.CI, "https://shop.example.com/"); p != nil && len(p.Numbers) > 0 {
		t.Fatalf("a return after the lease lapsed was shown %+v", p)
	}
}

// A PBX that passes the SIP From and To headers on as they are, the
// address followed by its parameters, has its call stored and tied to the
// visitor who held the number; the called number so written was refused
// with 400 and the call lost.
func TestCallWithSIPHeaderParameters(t *testing.T) {
	f := newTrFixture(t, true)
	setUpNumbers(t, f)
	h, p := f.hitPhones(t, "", "", "https://shop.example.com/?utm_source=google&utm_medium=cpc")
	num, _ := shownNumber(p)
	f.clock.Add(time.Minute)
	body := `{"called":"<sip:8` + num[1:] + `@pbx.example;user=phone>;tag=1928301774","caller":"\"Ivan\" <sip:+79161234567@pbx.example>;tag=a6c85cf"}`
	code, raw := api(t, f, "POST", "api/v1/calls", apiToken(t, f), body)
	if code != http.StatusOK {
		t.Fatalf("call: %d %s", code, raw)
	}
	if r := decodeResult(t, raw); !r.Attributed || r.VisitorID != h.VisitorID || r.Match != "lease" {
		t.Fatalf("call %+v, want visitor %d by lease", r, h.VisitorID)
	}
	var c store.Call
	f.srv.DB.ScanPrefix(context.Background(), store.CallPrefix(f.site.ID), false, 0, func(k, v []byte) bool {
		id, _ := store.IDFromKey(k)
		c, _ = store.DecodeCall(id, v)
		return false
	})
	if c.Called != num || c.Caller != "79161234567" || c.CallerTyped != "" {
		t.Fatalf("stored call %+v", c)
	}
}

// A number moved from its pool to a static number is the static number's
// from the move on: a call to it answers the static rule's source, not the
// visitor who held it in the pool, before and after a restart, and no
// visitor is shown it from the pool. It went to the old holder until the
// lease lapsed.
func TestCallToNumberMovedFromPoolToStatic(t *testing.T) {
	f := newTrFixture(t, true)
	setUpNumbers(t, f)
	_, p := f.hitPhones(t, "", "", "https://shop.example.com/?utm_source=google&utm_medium=cpc")
	num, _ := shownNumber(p)
	rest := tkPool[0]
	if rest == num {
		rest = tkPool[1]
	}
	tr, ctx := f.srv.HTTP.Numbers(), context.Background()
	f.clock.Add(time.Minute)
	if _, err := tr.UpdatePool(ctx, f.site.ID, "ads", tracking.PoolInput{Name: "ads", Numbers: []string{rest}, Fallback: tkFallback,
		RuleInput: tracking.RuleInput{Rule: "utm_medium=cpc", Priority: 1}}, f.clock.Now()); err != nil {
		t.Fatal(err)
	}
	if _, err := tr.AddStatic(ctx, f.site.ID, tracking.StaticInput{Number: num, RuleInput: tracking.RuleInput{Rule: "utm_source=vk"}}, f.clock.Now()); err != nil {
		t.Fatal(err)
	}
	token := apiToken(t, f)
	call := func(when string, id string) {
		t.Helper()
		f.clock.Add(time.Minute)
		code, raw := api(t, f, "POST", "api/v1/calls", token, `{"called":"`+num+`","pbx_call_id":"`+id+`"}`)
		if code != http.StatusOK {
			t.Fatalf("%s: %d %s", when, code, raw)
		}
		if r := decodeResult(t, raw); !r.Attributed || r.VisitorID != 0 || r.Match != "static" || r.UTMSource != "vk" || r.Pool != "" {
			t.Fatalf("%s: call to the moved number %+v, want the static rule's source", when, r)
		}
	}
	call("after the move", "1")
	f.srv = f.srv.Restart(t, func(o *httpd.Options) { o.Now = f.clock.Now; o.Chats.Sweep = time.Hour })
	call("after a restart", "2")
	for i := range 3 {
		_, p := f.hitPhones(t, "", "", "https://shop.example.com/?utm_source=google&utm_medium=cpc&n="+strconv.Itoa(i))
		if n, _ := shownNumber(p); n == num {
			t.Fatalf("a new visitor was shown the moved number %s from the pool", num)
		}
	}
}

// storedCallsOf is the site's stored calls, newest first.
func storedCallsOf(t *testing.T, f *trFixture) []store.Call {
	t.Helper()
	var out []store.Call
	if err := f.srv.HTTP.Numbers().ListCalls(context.Background(), f.site.ID, time.Time{}, 0, func(c store.Call) bool {
		out = append(out, c)
		return true
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

// A called number with an extension, however the PBX writes it (in
// brackets as people do, after a dial string's pause, as a tel URI's
// parameter), is the call of the number: stored, tied to the visitor who
// held it, its extension kept with it and shown beside the number on the
// calls page (in the reader's language), the visitor card and the CSV.
// Those in brackets, after a pause and in a tel URI were refused with 400
// (a lost call) or their extension dropped.
func TestCallToNumberWithExtension(t *testing.T) {
	f := newTrFixture(t, true)
	setUpNumbers(t, f)
	h, p := f.hitPhones(t, "", "", "https://shop.example.com/?utm_source=google&utm_medium=cpc")
	num, _ := shownNumber(p)
	token := apiToken(t, f)
	area, rest := num[1:4], num[4:]
	for i, called := range []string{
		"8 " + area + " " + rest[:3] + " " + rest[3:5] + " " + rest[5:] + " (доб. 12)",
		"+7 " + area + " " + rest[:3] + "-" + rest[3:5] + "-" + rest[5:] + " ext. 12",
		num + "x12", num + "p12", num + ",,12",
		"tel:+" + num + ";ext=12",
		"<sip:" + num + ";ext=12@pbx.example;user=phone>;tag=1928301774",
	} {
		f.clock.Add(time.Second)
		b, _ := json.Marshal(map[string]string{"called": called, "caller": "79161234567", "pbx_call_id": strconv.Itoa(i)})
		code, raw := api(t, f, "POST", "api/v1/calls", token, string(b))
		if code != http.StatusOK {
			t.Fatalf("called %q: %d %s", called, code, raw)
		}
		if r := decodeResult(t, raw); !r.Attributed || r.VisitorID != h.VisitorID || r.Match != "lease" || r.Pool != "ads" {
			t.Fatalf("called %q: %+v, want visitor %d's lease", called, r, h.VisitorID)
		}
	}
	calls := storedCallsOf(t, f)
	if len(calls) != 7 {
		t.Fatalf("%d calls stored, want 7", len(calls))
	}
	for _, c := range calls {
		if c.Called != num || c.CalledExt != "12" {
			t.Errorf("stored call %d: called %q ext %q, want %s ext 12", c.ID, c.Called, c.CalledExt, num)
		}
	}
	c := f.srv.Client(t)
	for lang, want := range map[string]string{"en": "ext. 12", "ru": "доб. 12"} {
		_, page := getPageIn(t, c, f.srv.URL+"sites/"+f.site.Key+"/calls", lang)
		for _, call := range calls {
			if cell := rowCell(t, page, "call-"+strconv.FormatUint(call.ID, 10), "number"); !strings.Contains(cell, want) {
				t.Errorf("%s calls page: the called cell %q does not say %q", lang, cell, want)
			}
		}
	}
	card := okPage(t, c, f.srv.URL+"sites/"+f.site.Key+"/visitors/"+strconv.FormatUint(h.VisitorID, 10))
	if n := strings.Count(card, `<span class="ext">ext. 12</span>`); n != 7 {
		t.Errorf("the visitor card shows the extension on %d calls, want 7", n)
	}
	csv := rawPage(t, c, f.srv.URL+"sites/"+f.site.Key+"/calls.csv")
	lines := strings.Split(strings.TrimSpace(csv), "\n")
	if !strings.HasSuffix(strings.TrimSpace(lines[0]), ",called_ext,pool") || len(lines) != 8 {
		t.Fatalf("calls CSV:\n%s", csv)
	}
	for _, l := range lines[1:] {
		if !strings.HasSuffix(strings.TrimSpace(l), ",12,ads") {
			t.Errorf("calls CSV row %q lacks the extension and the pool", l)
		}
	}
}

// A removed pool's calls still say which pool: on the calls page, in its
// CSV, and in the answer to a call reported late (started while the
// number was leased, reported after the pool went). They said nothing.
func TestRemovedPoolKeepsItsNameOnCalls(t *testing.T) {
	f := newTrFixture(t, true)
	setUpNumbers(t, f)
	h, p := f.hitPhones(t, "", "", "https://shop.example.com/?utm_source=google&utm_medium=cpc")
	num, _ := shownNumber(p)
	token := apiToken(t, f)
	f.clock.Add(time.Minute)
	started := f.clock.Now()
	if code, raw := api(t, f, "POST", "api/v1/calls", token, `{"called":"`+num+`","pbx_call_id":"a"}`); code != http.StatusOK {
		t.Fatalf("call: %d %s", code, raw)
	}
	f.clock.Add(time.Minute)
	if err := f.srv.HTTP.Numbers().RemovePool(context.Background(), f.site.ID, "ads", f.clock.Now()); err != nil {
		t.Fatal(err)
	}
	f.clock.Add(time.Minute)
	code, raw := api(t, f, "POST", "api/v1/calls", token, `{"called":"`+num+`","pbx_call_id":"b","started_at":"`+started.Add(30*time.Second).Format(time.RFC3339)+`"}`)
	if r := decodeResult(t, raw); code != http.StatusOK || r.VisitorID != h.VisitorID || r.Pool != "ads" {
		t.Fatalf("a call reported after its pool was removed: %d %+v, want visitor %d of pool ads", code, r, h.VisitorID)
	}
	c := f.srv.Client(t)
	page := okPage(t, c, f.srv.URL+"sites/"+f.site.Key+"/calls")
	for _, call := range storedCallsOf(t, f) {
		if cell := rowCell(t, page, "call-"+strconv.FormatUint(call.ID, 10), "number"); !strings.Contains(cell, "· ads") {
			t.Errorf("the removed pool's call %d shows %q, not its pool", call.ID, cell)
		}
	}
	csv := strings.TrimSpace(rawPage(t, c, f.srv.URL+"sites/"+f.site.Key+"/calls.csv"))
	for _, l := range strings.Split(csv, "\n")[1:] {
		if !strings.HasSuffix(strings.TrimSpace(l), ",ads") {
			t.Errorf("calls CSV row %q does not name the pool", l)
		}
	}
}

// A site with tracking numbers but none of its own replaces nothing on its
// pages: the numbers page says so and what to enter, in the reader's
// language, until the site's numbers are set. A newcomer who added a
// static number first saw it saved and never shown.
func TestNumbersPageSaysNothingIsReplacedWithoutSiteNumbers(t *testing.T) {
	f := newCBFixture(t)
	c := f.srv.Client(t)
	page := f.srv.URL + "sites/" + f.key + "/numbers"
	if _, body := getPageIn(t, c, page, "en"); strings.Contains(body, `id="site-numbers-missing"`) {
		t.Error("a site with no numbers at all is warned that nothing is replaced")
	}
	if _, err := f.srv.HTTP.Numbers().AddPool(t.Context(), f.site.ID, tracking.PoolInput{Name: "ads", Numbers: []string{"74950000001"},
		RuleInput: tracking.RuleInput{Rule: "utm_medium=cpc"}}, time.Now()); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ lang, want string }{
		{"en", "Nothing is replaced yet: tracking numbers replace only the site&#39;s own numbers."},
		{"ru", "Пока ничего не заменяется: номера отслеживания заменяют только номера сайта."},
	} {
		if _, body := getPageIn(t, c, page, tt.lang); !strings.Contains(cutAt(body, `id="site-numbers-missing"`, "</p>"), tt.want) {
			t.Errorf("%s: the page with a pool and no site numbers lacks %q:\n%s", tt.lang, tt.want, cutAt(body, `<section class="card" id="site-numbers">`, "</section>"))
		}
	}
	if _, err := f.srv.HTTP.Numbers().SetSiteNumbers(t.Context(), f.site.ID, []string{"8 (487) 275-14-04"}, time.Now()); err != nil {
		t.Fatal(err)
	}
	if _, body := getPageIn(t, c, page, "en"); strings.Contains(body, `id="site-numbers-missing"`) {
		t.Error("the warning stays once the site's numbers are set")
	}
}

// A pool's heading says its reservation time in the reader's words, with
// the plural the count takes: "резерв 20 мин", "резерв 7 дней". It showed
// the form's own notation, "резерв 20m", in Russian too.
func TestPoolHeadingSaysReserveInWords(t *testing.T) {
	f := newCBFixture(t)
	for i, d := range []time.Duration{20 * time.Minute, 90 * time.Minute, 2 * time.Hour, 24 * time.Hour, 7 * 24 * time.Hour} {
		if _, err := f.srv.HTTP.Numbers().AddPool(t.Context(), f.site.ID, tracking.PoolInput{Name: "p" + strconv.Itoa(i), Numbers: []string{"7495000000" + strconv.Itoa(i)},
			Reserve: d, RuleInput: tracking.RuleInput{Rule: "utm_campaign=c" + strconv.Itoa(i)}}, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	c := f.srv.Client(t)
	for lang, want := range map[string][]string{
		"ru": {"резерв 20\u00a0мин", "резерв 1\u00a0ч 30\u00a0мин", "резерв 2\u00a0ч", "резерв 1 день", "резерв 7 дней"},
		"en": {"reserve 20 min", "reserve 1 h 30 min", "reserve 2 h", "reserve 1 day", "reserve 7 days"},
	} {
		req, _ := http.NewRequest("GET", f.srv.URL+"sites/"+f.key+"/numbers", nil)
		req.Header.Set("Accept-Language", lang)
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		var got []string
		for _, m := range regexp.MustCompile(`<h3>p\d <small class="muted">.*? · ((?:резерв|reserve) [^·]*?) · `).FindAllStringSubmatch(string(body), -1) {
			got = append(got, m[1])
		}
		if strings.Join(got, "|") != strings.Join(want, "|") {
			t.Errorf("%s: the pools' headings say %q, want %q", lang, got, want)
		}
	}
}

// The pool form's reserve takes Russian units, as a Russian owner writes
// them and as the page writes them back ("20 мин", "7 дн", "2 ч",
// "20мин", "1 ч 30 мин", "7 дней"), beside Go's "20m" and "7d"; what it
// cannot read is refused with a 400 that says how to write it, and adds
// nothing. It took "20m" and "7d" only.
func TestPoolFormTakesRussianUnits(t *testing.T) {
	f := newCBFixture(t)
	c := f.srv.Client(t)
	page := "sites/" + f.key + "/numbers"
	post := func(i int, reserve string) (int, string) {
		t.Helper()
		form := url.Values{"action": {"pool-add"}, "name": {"p" + strconv.Itoa(i)}, "rule": {"utm_campaign=c" + strconv.Itoa(i)},
			"numbers": {"749500000" + strconv.Itoa(10+i)}, "reserve": {reserve}}
		form.Set("csrf", f.srv.FormToken(t, c, page))
		req, _ := http.NewRequest("POST", f.srv.URL+page, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Accept-Language", "ru")
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp.StatusCode, string(body)
	}
	for i, tt := range []struct {
		in   string
		want time.Duration
	}{
		{"20 мин", 20 * time.Minute}, {"20мин", 20 * time.Minute}, {"7 дн", 7 * 24 * time.Hour}, {"2 ч", 2 * time.Hour},
		{"1 ч 30 мин", 90 * time.Minute}, {"1\u00a0ч 30\u00a0мин", 90 * time.Minute}, {"7 дней", 7 * 24 * time.Hour}, {"1 день", 24 * time.Hour},
		{"45 Минут", 45 * time.Minute}, {"3 часа", 3 * time.Hour}, {"2 сут", 48 * time.Hour}, {"10 мин.", 10 * time.Minute},
		{"20m", 20 * time.Minute}, {"7d", 7 * 24 * time.Hour}, {"1h30m", 90 * time.Minute}, {"2 days", 48 * time.Hour},
	} {
		if status, body := post(i, tt.in); status >= 400 {
			t.Errorf("reserve %q answered %d: %s", tt.in, status, cutAt(body, `role="alert"`, "</p>"))
			continue
		}
		pools := f.srv.HTTP.Numbers().Config(f.site.ID).Pools
		if got := pools[len(pools)-1]; got.Name != "p"+strconv.Itoa(i) || time.Duration(got.Reserve)*time.Millisecond != tt.want {
			t.Errorf("reserve %q kept as %d ms in pool %q, want %s", tt.in, got.Reserve, got.Name, tt.want)
		}
	}
	n := len(f.srv.HTTP.Numbers().Config(f.site.ID).Pools)
	for i, in := range []string{"20 мес", "мин", "20 минутт", "20 мин 5", "1000000000 дн"} {
		status, body := post(100+i, in)
		if status != http.StatusBadRequest || !strings.Contains(body, "пишите как 20 мин, 2 ч или 7 дн") {
			t.Errorf("reserve %q answered %d, want 400 that says how to write it: %s", in, status, cutAt(body, `role="alert"`, "</p>"))
		}
	}
	if got := len(f.srv.HTTP.Numbers().Config(f.site.ID).Pools); got != n {
		t.Errorf("%d pools after refused forms, want %d", got, n)
	}
	for lang, hint := range map[string]string{"ru": "от 5 мин до 7 дн: 20 мин, 2 ч, 7 дн", "en": "5m to 7d: 20m, 2h, 7d"} {
		if _, body := getPageIn(t, c, f.srv.URL+page, lang); !strings.Contains(body, hint) {
			t.Errorf("%s: the reserve field's hint does not say %q", lang, hint)
		}
	}
}
