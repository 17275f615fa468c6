package httpd_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"appliance/httpd"
	"appliance/httpd/admin"
	"appliance/numbers"
	"appliance/numbers/tracking"
)

// hitFrom posts a hit as a visitor at ip, which the server (trusting its
// proxy) reads from X-Forwarded-For, and returns its result and phones.
func (f *trFixture) hitFrom(t *testing.T, ip, ci, u string) (trHit, *tkPhones) {
	t.Helper()
	b, _ := json.Marshal(map[string]string{"k": f.site.Key, "ci": ci, "key": f.ciKey(ci), "u": u, "r": "", "t": "page"})
	req, err := http.NewRequest("POST", f.srv.URL+"t/v1/hit", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "text/plain;charset=UTF-8")
	req.Header.Set("User-Agent", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36")
	req.Header.Set("X-Forwarded-For", ip)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var a struct {
		Success bool `json:"success"`
		Result  struct {
			trHit
			Phones *tkPhones `json:"phones"`
		} `json:"result"`
	}
	if resp.StatusCode != http.StatusOK || json.Unmarshal(raw, &a) != nil || !a.Success {
		t.Fatalf("hit from %s: %d %s", ip, resp.StatusCode, raw)
	}
	return a.Result.trHit, a.Result.Phones
}

// One address cannot drain a pool: of 30 new visitors from it, the
// pool's address cap (10 by default) get numbers and the rest the
// fallback, counted as limited by address; a visitor from elsewhere still
// gets a number, and one of the 10 keeps its number when it comes back.
func TestPoolAddrCapOverHTTP(t *testing.T) {
	const token = "scrape-token"
	clock := &trClock{now: time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)}
	f := shopFixture(t, clock, func(o *httpd.Options) {
		o.Now, o.Chats.Sweep = clock.Now, time.Hour
		o.TrustProxy, o.MetricsToken = true, token
		o.Limits.PerIP = -1 // the attack keeps within any rate; not what is tested
	})
	tr, ctx, now := f.srv.HTTP.Numbers(), t.Context(), clock.Now()
	if _, err := tr.SetSiteNumbers(ctx, f.site.ID, []string{tkSite}, now); err != nil {
		t.Fatal(err)
	}
	var pool []string
	for i := range 40 {
		pool = append(pool, fmt.Sprintf("749500001%02d", i))
	}
	p, err := tr.AddPool(ctx, f.site.ID, tracking.PoolInput{Name: "ads", Numbers: pool, Fallback: tkFallback,
		RuleInput: tracking.RuleInput{Rule: "utm_medium=cpc"}}, now)
	if err != nil {
		t.Fatal(err)
	}
	if p.AddrCap != numbers.DefaultAddrCap {
		t.Fatalf("a new pool's cap is %d, want %d", p.AddrCap, numbers.DefaultAddrCap)
	}
	const page = "https://shop.example.com/?utm_medium=cpc"
	const attacker = "203.0.113.7"
	held := map[string]trHit{}
	fallbacks := 0
	for range 30 {
		h, ph := f.hitFrom(t, attacker, "", page)
		switch raw, typ := shownNumber(ph); {
		case typ == "dynamic":
			if _, dup := held[raw]; dup {
				t.Fatalf("%s leased twice", raw)
			}
			held[raw] = h
		case raw == tkFallback && typ == "static":
			fallbacks++
		default:
			t.Fatalf("visitor from %s shown %s %s", attacker, raw, typ)
		}
	}
	if len(held) != numbers.DefaultAddrCap || fallbacks != 30-numbers.DefaultAddrCap {
		t.Fatalf("30 new visitors from one address: %d pool numbers, %d fallbacks; want %d and %d",
			len(held), fallbacks, numbers.DefaultAddrCap, 30-numbers.DefaultAddrCap)
	}
	// Another address is not held back.
	if _, ph := f.hitFrom(t, "198.51.100.9", "", page); func() string { _, typ := shownNumber(ph); return typ }() != "dynamic" {
		t.Fatalf("visitor from another address: %+v, want a pool number", ph)
	}
	// A returning visitor over the cap keeps, and renews, its number.
	clock.Add(5 * time.Minute)
	for num, h := range held {
		if _, ph := f.hitFrom(t, attacker, h.CI, "https://shop.example.com/cart"); func() string { raw, _ := shownNumber(ph); return raw }() != num {
			t.Fatalf("returning visitor: %+v, want its %s", ph, num)
		}
		break
	}
	// The owner sees the attack: in the pool's report, and in /metrics.
	reports, err := tr.Report(ctx, f.site.ID, clock.Now(), clock.Now(), clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	if len(reports) != 1 || reports[0].Limited != 20 || reports[0].Misses != 0 || reports[0].Live != numbers.DefaultAddrCap+1 {
		t.Fatalf("report %+v, want 20 limited, no misses, %d live", reports, numbers.DefaultAddrCap+1)
	}
	if got := value(scrape(t, f.srv, token), "appliance_pool_limited_total", "site", f.site.Key, "pool", "ads"); got != 20 {
		t.Errorf("appliance_pool_limited_total = %v, want 20", got)
	}
	// A rebuild of the reports, which recounts the pool's hours from the
	// lease history, keeps the page views the cap refused.
	if _, err := admin.InProcess(f.srv.HTTP.AdminHandler, nil).Rebuild(ctx, admin.Rebuild{Site: f.site.Key}, nil); err != nil {
		t.Fatal(err)
	}
	if reports, err = tr.Report(ctx, f.site.ID, clock.Now(), clock.Now(), clock.Now()); err != nil || reports[0].Limited != 20 {
		t.Fatalf("after a rebuild: %+v %v, want 20 limited", reports, err)
	}
	if res, err := f.srv.HTTP.Reports().Rebuild(ctx, f.site, nil); err != nil || res.Changed != 0 {
		t.Errorf("a second rebuild changed %d (%v)", res.Changed, err)
	}
}

// The Numbers page sets a pool's address cap, and says it: a new pool's
// form takes it, an edit that leaves it empty keeps it, 0 lifts it, and a
// cap that is no number is refused in the reader's language.
func TestPoolFormAddrCap(t *testing.T) {
	f := newCBFixture(t)
	c := f.srv.Client(t)
	page := "sites/" + f.key + "/numbers"
	post := func(lang string, form url.Values) (int, string) {
		t.Helper()
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
		if resp.StatusCode == http.StatusSeeOther { // saved: the page as it is now
			req, _ := http.NewRequest("GET", f.srv.URL+page, nil)
			req.Header.Set("Accept-Language", lang)
			if resp, err = c.Do(req); err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ = io.ReadAll(resp.Body)
		}
		return resp.StatusCode, string(body)
	}
	capOf := func() int64 {
		t.Helper()
		pools := f.srv.HTTP.Numbers().Config(f.site.ID).Pools
		if len(pools) != 1 {
			t.Fatalf("pools %+v", pools)
		}
		return pools[0].AddrCap
	}
	pool := func(action, addrCap string) url.Values {
		return url.Values{"action": {action}, "pool": {"ads"}, "name": {"ads"}, "rule": {"utm_medium=cpc"},
			"numbers": {"74950000001\n74950000002"}, "addr_cap": {addrCap}}
	}
	if status, body := post("en", pool("pool-add", "3")); status >= 400 || capOf() != 3 ||
		!strings.Contains(body, "at most 3 per visitor address") || !strings.Contains(body, `name="addr_cap" inputmode="numeric" value="3"`) {
		t.Fatalf("pool-add with cap 3: %d, cap %d:\n%s", status, capOf(), cutAt(body, `id="pools"`, "</h3>"))
	}
	if status, _ := post("en", pool("pool-edit", "")); status >= 400 || capOf() != 3 {
		t.Fatalf("an edit with the cap empty: %d, cap %d, want 3 kept", status, capOf())
	}
	if status, body := post("ru", pool("pool-edit", "0")); status >= 400 || capOf() != 0 || !strings.Contains(body, "без ограничения на адрес") {
		t.Fatalf("cap 0: %d, cap %d:\n%s", status, capOf(), cutAt(body, `id="pools"`, "</h3>"))
	}
	if status, body := post("ru", pool("pool-edit", "много")); status != http.StatusBadRequest || capOf() != 0 ||
		!strings.Contains(body, "Номеров на адрес: укажите целое число, 0 — без ограничения.") {
		t.Fatalf("cap \"много\": %d, cap %d:\n%s", status, capOf(), cutAt(body, `role="alert"`, "</p>"))
	}
	if status, body := post("ru", pool("pool-edit", "2000000")); status != http.StatusBadRequest || capOf() != 0 ||
		!strings.Contains(body, "ограничение на адрес 2000000: нужно от 0 (без ограничения) до 1000000") {
		t.Fatalf("cap 2000000: %d, cap %d:\n%s", status, capOf(), cutAt(body, `role="alert"`, "</p>"))
	}
}
