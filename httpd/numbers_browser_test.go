package httpd_test

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"appliance/httpd/httpdtest"
	"appliance/numbers"
	"appliance/numbers/tracking"
)

// A site owner sets up call tracking on the Numbers page: the site's
// number, a static number, a pool; tests the rules; imports numbers; sees a
// visitor's lease and the call it brought, with visitor-typed text inert.
func TestBrowserNumbersAndCalls(t *testing.T) {
	f := newTrFixture(t, false)
	srv, key := f.srv, f.site.Key
	srv.Owner(t)
	ctx := httpdtest.Browser(t)
	httpdtest.Must(t, ctx,
		chromedp.Navigate(srv.URL+"login"),
		chromedp.SendKeys(chromedp.CSS(`input[name=email]`), "owner@example.com"),
		chromedp.SendKeys(chromedp.CSS(`input[name=password]`), "correct horse battery"),
	)
	submit(t, ctx, `button[type=submit]`)
	httpdtest.Must(t, ctx, chromedp.Navigate(srv.URL+"sites/"+key))
	httpdtest.Must(t, ctx, chromedp.Click(chromedp.ID("site-numbers")), chromedp.WaitVisible(chromedp.ID("site-numbers-form")))
	text := func(sel string) string {
		t.Helper()
		return httpdtest.Eval[string](t, ctx, `(document.querySelector(`+jsString(sel)+`) || {innerText: ""}).innerText`)
	}
	flash := func() string { return text("p.flash") + text("p.error") }

	httpdtest.Must(t, ctx, chromedp.SendKeys(chromedp.CSS(`#site-numbers-form textarea[name=numbers]`), "8 (487) 275-14-04"))
	submit(t, ctx, `#site-numbers-form button`)
	if !strings.Contains(flash(), "saved") || !strings.Contains(text("#site-numbers-list"), "8 (487) 275-14-04") {
		t.Fatalf("after saving the site number: %q / %q", flash(), text("#site-numbers-list"))
	}

	// A typo in a rule is refused with the reason, and what was typed stays.
	httpdtest.Must(t, ctx,
		chromedp.SendKeys(chromedp.CSS(`#add-static input[name=number]`), "+7 495 182-51-68"),
		chromedp.SendKeys(chromedp.CSS(`#add-static input[name=rule]`), "utm_sorce=yandex"),
	)
	submit(t, ctx, `#add-static button`)
	if got := flash(); !strings.Contains(got, "unknown key") {
		t.Fatalf("bad rule: %q", got)
	}
	if got := httpdtest.Eval[string](t, ctx, `document.querySelector("#add-static input[name=number]").value`); got != "+7 495 182-51-68" {
		t.Fatalf("the refused form lost the number: %q", got)
	}
	httpdtest.Must(t, ctx, chromedp.SetValue(chromedp.CSS(`#add-static input[name=rule]`), "utm_source=yandex"))
	submit(t, ctx, `#add-static button`)
	if got := text("#statics-list"); !strings.Contains(got, "8 (495) 182-51-68") || !strings.Contains(got, "utm_source=yandex") {
		t.Fatalf("statics: %q (%s)", got, flash())
	}

	httpdtest.Must(t, ctx,
		chromedp.SendKeys(chromedp.CSS(`#add-pool input[name=name]`), "ads"),
		chromedp.SendKeys(chromedp.CSS(`#add-pool textarea[name=numbers]`), "74950000001\n+7 495 000-00-02"),
		chromedp.SendKeys(chromedp.CSS(`#add-pool input[name=fallback]`), "74950000009"),
		chromedp.SendKeys(chromedp.CSS(`#add-pool input[name=reserve]`), "30m"),
		chromedp.SendKeys(chromedp.CSS(`#add-pool input[name=rule]`), "utm_medium=cpc"),
		chromedp.SendKeys(chromedp.CSS(`#add-pool input[name=priority]`), "1"),
	)
	submit(t, ctx, `#add-pool button`)
	if got := text("#pool-ads .pool-live"); got != "0 / 2" {
		t.Fatalf("new pool leased %q (%s)", got, flash())
	}

	// The rule test: a paid visit gets the pool, a yandex one the static.
	for _, tt := range []struct{ url, want string }{
		{"https://shop.example.com/?utm_source=google&utm_medium=cpc", "a number of pool ads"},
		{"https://shop.example.com/?utm_source=yandex", "8 (495) 182-51-68"},
		{"https://shop.example.com/", "unchanged"},
	} {
		httpdtest.Must(t, ctx, chromedp.SetValue(chromedp.CSS(`#rule-test-form input[name=test_url]`), tt.url))
		submit(t, ctx, `#rule-test-form button`)
		if got := text("#rule-test-result .shown"); !strings.Contains(got, tt.want) {
			t.Errorf("rule test %s: %q, want %q", tt.url, got, tt.want)
		}
	}

	// A visitor from an ad leases a number; its landing page carries markup.
	const payload = `<img src=x onerror="window.__xss=1">`
	h, p := f.hitPhones(t, "", "", "https://shop.example.com/?utm_medium=cpc&utm_campaign="+url.QueryEscape(payload))
	leased, _ := shownNumber(p)
	httpdtest.Must(t, ctx, chromedp.Navigate(srv.URL+"sites/"+key+"/numbers"))
	if got := text("#pool-ads .pool-live"); got != "1 / 2" {
		t.Fatalf("after a visit the pool shows %q leased", got)
	}
	code, raw := api(t, f, "POST", "api/v1/calls", apiToken(t, f), `{"called":"`+leased+`","caller":"79161234567","duration":12,"answered":true}`)
	if code != http.StatusOK || !strings.Contains(raw, `"attributed":true`) {
		t.Fatalf("call: %d %s", code, raw)
	}

	// Import into the pool: one number added, a bad line skipped with why.
	httpdtest.Must(t, ctx,
		chromedp.Click(chromedp.CSS(`#pool-ads details:last-of-type summary`)),
		chromedp.SendKeys(chromedp.CSS(`#pool-ads .pool-import textarea`), "74950000003\nhello\n74950000001"),
	)
	submit(t, ctx, `#pool-ads .pool-import button`)
	if got := flash(); !strings.Contains(got, "Imported 1 number into ads; 2 skipped") {
		t.Fatalf("import: %q", got)
	}
	if got := text("#import-result"); !strings.Contains(got, "hello") || !strings.Contains(got, `already in pool "ads"`) {
		t.Fatalf("import result %q", got)
	}

	// On a phone the page does not scroll sideways: wide tables scroll in
	// their own wrapper. The rule test's answer, the live leases and the
	// days are open, so every table is measured; a static number has a
	// long rule of the kind ads use.
	if _, err := srv.HTTP.Numbers().AddStatic(t.Context(), f.site.ID, tracking.StaticInput{Number: "74951110001",
		RuleInput: tracking.RuleInput{Rule: "utm_source=yandex&utm_medium=cpc&utm_campaign=black_friday_2026"}}, time.Now()); err != nil {
		t.Fatal(err)
	}
	if _, err := srv.HTTP.Numbers().AddPool(t.Context(), f.site.ID, tracking.PoolInput{Name: "black-friday", Numbers: []string{"74951110002"},
		RuleInput: tracking.RuleInput{Rule: "utm_source=google&utm_medium=cpc&utm_campaign=black_friday_2026"}}, time.Now()); err != nil {
		t.Fatal(err)
	}
	httpdtest.Must(t, ctx, chromedp.Navigate(srv.URL+"sites/"+key+"/numbers?test_url="+url.QueryEscape("https://shop.example.com/?utm_source=yandex")),
		chromedp.EmulateViewport(390, 844), chromedp.Reload(), chromedp.WaitVisible(chromedp.ID("rule-test-result")))
	httpdtest.Eval[bool](t, ctx, `(document.querySelectorAll("details").forEach(d => d.open = true), true)`)
	if w := httpdtest.Eval[int](t, ctx, `document.documentElement.scrollWidth`); w > 390 {
		wide := httpdtest.Eval[string](t, ctx, `[...document.querySelectorAll("main *")].filter(e => e.getBoundingClientRect().right > 390).slice(0, 5).map(e => e.tagName + (e.id ? "#" + e.id : "") + "." + e.className).join(" ")`)
		httpdtest.SaveScreenshot(t, ctx, "numbers-phone")
		t.Errorf("the numbers page is %dpx wide on a 390px screen; too wide: %s", w, wide)
	}
	httpdtest.SaveScreenshot(t, ctx, "numbers-phone")
	httpdtest.Must(t, ctx, chromedp.EmulateViewport(1280, 900))

	httpdtest.Must(t, ctx, chromedp.Click(chromedp.ID("calls-link")), chromedp.WaitVisible(chromedp.ID("calls")))
	row := text("#calls tbody tr")
	for _, want := range []string{numbers.FormatPhone(leased, "RU"), "8 (916) 123-45-67", "visitor #", "ad", payload} {
		if !strings.Contains(row, want) {
			t.Errorf("calls row %q lacks %q", row, want)
		}
	}
	if !strings.Contains(row, "#"+strconv.FormatUint(h.VisitorID, 10)) {
		t.Errorf("calls row %q does not name visitor %d", row, h.VisitorID)
	}
	if got := text("#calls-attributed"); got != "1" {
		t.Errorf("attributed total %q", got)
	}
	if httpdtest.Eval[bool](t, ctx, `window.__xss !== undefined || document.querySelectorAll("main img[src=x]").length > 0`) {
		t.Fatal("the landing page's markup ran on the calls page")
	}
	csv := httpdtest.Eval[string](t, ctx, `fetch(document.getElementById("calls-csv").href).then(r => r.text())`)
	if !strings.Contains(csv, "call_id,started_at") || !strings.Contains(csv, leased) {
		t.Fatalf("calls CSV %q", csv)
	}

	// Removing the static number.
	httpdtest.Must(t, ctx, chromedp.Navigate(srv.URL+"sites/"+key+"/numbers"))
	submit(t, ctx, `#statics-list form:has(input[value="74951825168"]) button`)
	if got := text("#statics"); strings.Contains(got, "8 (495) 182-51-68") {
		t.Fatalf("static still listed after removal: %q", got)
	}
}
