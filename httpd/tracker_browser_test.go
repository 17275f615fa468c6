package httpd_test

import (
	"context"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"appliance/httpd/httpdtest"
)

// bypassCSP turns the tab's Content-Security-Policy off, so that only the
// dashboard's escaping stands between a payload and its execution.
func bypassCSP(t *testing.T, ctx context.Context) {
	t.Helper()
	httpdtest.Must(t, ctx, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, page.SetBypassCSP, page.SetBypassCSPParams{Enabled: true})
		return err
	}))
}

// XSS payloads stored through the tracker endpoints (visitor name, event
// fields, property names and values, page titles, URLs and UTM tags) show
// as text on the site page's recent visits, and none runs.
func TestBrowserRecentVisitsXSSInert(t *testing.T) {
	f := newTrFixture(t, false)
	ctx := httpdtest.Browser(t)
	const script = `<script>window.__xss=1</script>`
	const img = `"><img src=x onerror="window.__xss=1">`

	h := f.hit(t, "", "https://shop.example.com/?utm_source="+url.QueryEscape(img)+"&utm_campaign="+url.QueryEscape(script),
		"https://ref.example.org/"+url.PathEscape(img), script+img)
	h2 := f.hit(t, h.CI, "https://shop.example.com/next", "", img)
	for _, req := range []struct {
		path string
		body map[string]any
	}{
		{"t/v1/visitor", map[string]any{"name": script + img, "email": "ann@example.com"}},
		{"t/v1/event", map[string]any{"hi": h2.HitID, "c": script, "a": img, "n": img, "v": script}},
		{"t/v1/property", map[string]any{"op": "set", "name": img, "value": script}},
		{"t/v1/property", map[string]any{"op": "set", "name": script, "value": img}},
	} {
		if a := f.post(t, req.path, f.creds(h, req.body)); a.Status != 200 {
			t.Fatalf("%s: %d %s", req.path, a.Status, a.Raw)
		}
	}

	email, password := f.srv.Owner(t)
	bypassCSP(t, ctx)
	httpdtest.Must(t, ctx,
		chromedp.Navigate(f.srv.URL+"login"),
		chromedp.SendKeys(chromedp.CSS(`input[name=email]`), email),
		chromedp.SendKeys(chromedp.CSS(`input[name=password]`), password),
	)
	submit(t, ctx, `button[type=submit]`)
	httpdtest.Must(t, ctx, chromedp.Navigate(f.srv.URL+"sites/"+f.site.Key), chromedp.WaitVisible(chromedp.ID("recent-visits")))
	// Give any onerror of a broken image the time to fire.
	httpdtest.Eval[bool](t, ctx, `new Promise(r => setTimeout(() => r(true), 300))`)

	row := "#visit-" + itoa(h.SessionID)
	if got := httpdtest.Eval[bool](t, ctx, `window.__xss === undefined`); !got {
		t.Error("window.__xss was set: a payload ran")
	}
	if n := httpdtest.Eval[int](t, ctx, `document.querySelectorAll('main img, main svg, main script:not([src])').length`); n != 0 {
		t.Errorf("%d elements made from the payloads", n)
	}
	for _, c := range []struct{ sel, want string }{
		{row + " .visitor-name", script + img},
		{row + " .events .category", script},
		{row + " .events .action", img},
		{row + " .events .name", img},
		{row + " .events .value", script},
		{row + " .pages li:first-child .title", script + img},
		{row + " .pages li:nth-child(2) .title", img},
		{row + " .referrer", "https://ref.example.org/" + url.PathEscape(img)},
	} {
		if got := httpdtest.Eval[string](t, ctx, `document.querySelector(`+jsString(c.sel)+`).textContent.trim()`); got != c.want {
			t.Errorf("%s shows %q, want %q", c.sel, got, c.want)
		}
	}
	props := httpdtest.Eval[string](t, ctx, `document.querySelector(`+jsString(row+" .props")+`).innerText`)
	utm := httpdtest.Eval[string](t, ctx, `document.querySelector(`+jsString(row+" .source")+`).innerText`)
	for _, want := range []string{img, script} {
		if !strings.Contains(props, want) {
			t.Errorf("properties %q lack %q", props, want)
		}
		if !strings.Contains(utm, want) {
			t.Errorf("source %q lacks %q", utm, want)
		}
	}
	httpdtest.SaveScreenshot(t, ctx, "recent-visits")

	// Control: with the CSP off, markup that does reach the DOM runs, so
	// the checks above could fail.
	httpdtest.Eval[bool](t, ctx, `(document.body.insertAdjacentHTML("beforeend", '<img src=x onerror="window.__control=1">'), true)`)
	ran := false
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline) && !ran; time.Sleep(50 * time.Millisecond) {
		ran = httpdtest.Eval[bool](t, ctx, `window.__control === 1`)
	}
	if !ran {
		t.Error("control: an injected onerror did not run; the XSS check proves nothing")
	}
}

// The site page lists recent visits newest first with source, pages,
// events, visitor info and today's totals, and on a phone-sized screen
// each visit is a card that shows every cell, labelled.
func TestBrowserRecentVisits(t *testing.T) {
	f := newTrFixture(t, false)
	ctx := httpdtest.Browser(t)
	first := f.hit(t, "", "https://shop.example.com/?utm_source=yandex&utm_medium=cpc&utm_campaign=spring&yclid=42", "https://yandex.ru/", "Главная")
	f.hit(t, first.CI, "https://shop.example.com/catalog", "https://shop.example.com/", "Каталог")
	f.post(t, "t/v1/event", f.creds(first, map[string]any{"hi": first.HitID, "c": "Offer", "a": "DownloadBook"}))
	f.post(t, "t/v1/visitor", f.creds(first, map[string]any{"name": "Дмитрий", "phone": "8 (912) 345-67-89"}))
	f.post(t, "t/v1/property", f.creds(first, map[string]any{"op": "set", "name": "Тип посетителя", "value": "Потенциальный"}))
	second := f.hitUA(t, "curl/8.5.0", "", "https://shop.example.com/about", "https://vk.com/", "О нас")

	email, password := f.srv.Owner(t)
	httpdtest.Must(t, ctx,
		chromedp.Navigate(f.srv.URL+"login"),
		chromedp.SendKeys(chromedp.CSS(`input[name=email]`), email),
		chromedp.SendKeys(chromedp.CSS(`input[name=password]`), password),
	)
	submit(t, ctx, `button[type=submit]`)
	httpdtest.Must(t, ctx, chromedp.Navigate(f.srv.URL+"sites/"+f.site.Key), chromedp.WaitVisible(chromedp.ID("recent-visits")))

	ids := httpdtest.Eval[[]string](t, ctx, `[...document.querySelectorAll("#recent-visits tbody tr")].map(r => r.id)`)
	if len(ids) != 2 || ids[0] != "visit-"+itoa(second.SessionID) || ids[1] != "visit-"+itoa(first.SessionID) {
		t.Fatalf("rows %v, want the newest session first", ids)
	}
	row := httpdtest.Eval[string](t, ctx, `document.getElementById("visit-`+itoa(first.SessionID)+`").innerText`)
	for _, want := range []string{"ad", "Source: yandex", "Medium: cpc", "Campaign: spring", "yclid: 42", "https://yandex.ru/",
		"Главная", "Каталог", "https://shop.example.com/catalog", "Offer", "DownloadBook", "Дмитрий", "8 (912) 345-67-89",
		"Тип посетителя", "Потенциальный", "#" + itoa(first.VisitorID)} {
		if !strings.Contains(row, want) {
			t.Errorf("the first visit's row lacks %q:\n%s", want, row)
		}
	}
	// What the visitor and the pages wrote is set apart from the row's own
	// text, so right-to-left letters in it cannot reorder the row.
	for _, sel := range []string{".utm", ".visitor-name", ".title", ".url"} {
		if got := httpdtest.Eval[string](t, ctx, `getComputedStyle(document.querySelector("#visit-`+itoa(first.SessionID)+` `+sel+`")).unicodeBidi`); got != "isolate" {
			t.Errorf("%s is unicode-bidi %q, want isolate", sel, got)
		}
	}
	bot := httpdtest.Eval[string](t, ctx, `document.getElementById("visit-`+itoa(second.SessionID)+`").innerText`)
	if !strings.Contains(bot, "bot") || !strings.Contains(bot, "social") || !strings.Contains(bot, "https://vk.com/") {
		t.Errorf("the bot's row:\n%s", bot)
	}
	for id, want := range map[string]string{"today-hits": "2", "today-sessions": "1", "today-visitors": "1", "today-events": "1"} {
		if got := httpdtest.Eval[string](t, ctx, `document.getElementById("`+id+`").textContent.trim()`); !strings.HasPrefix(got, want) {
			t.Errorf("%s shows %q, want %s", id, got, want)
		}
	}

	// In Russian the UTM tags' labels are Russian too.
	httpdtest.Eval[any](t, ctx, `document.cookie = "apl_lang=ru; path=/"`)
	httpdtest.Must(t, ctx, chromedp.Reload(), chromedp.WaitVisible(chromedp.ID("recent-visits")))
	row = httpdtest.Eval[string](t, ctx, `document.getElementById("visit-`+itoa(first.SessionID)+`").innerText`)
	for _, want := range []string{"Источник: yandex", "Тип трафика: cpc", "Кампания: spring"} {
		if !strings.Contains(row, want) {
			t.Errorf("the Russian row lacks %q:\n%s", want, row)
		}
	}
	httpdtest.Eval[any](t, ctx, `document.cookie = "apl_lang=en; path=/"`)

	// A phone, in Russian: each visit is a card, every cell of it on the
	// screen under its column's name, so the link to the visitor's card is
	// in view. The table scrolled sideways before: on a 375 px screen the
	// time and the source showed, the visitor a swipe past four columns.
	httpdtest.Eval[any](t, ctx, `document.cookie = "apl_lang=ru; path=/"`)
	httpdtest.Must(t, ctx, chromedp.EmulateViewport(375, 740), chromedp.Reload())
	httpdtest.Must(t, ctx, chromedp.WaitVisible(chromedp.ID("recent-visits")))
	hidden := httpdtest.Eval[int](t, ctx, `[...document.querySelectorAll("#recent-visits td")].filter(c => getComputedStyle(c).display == "none").length`)
	if hidden != 0 {
		t.Errorf("%d cells hidden on a small screen", hidden)
	}
	offScreen := httpdtest.Eval[[]string](t, ctx, `[...document.querySelectorAll("#recent-visits td, #recent-visits a.visitor-link")].filter(e => { const r = e.getBoundingClientRect(); return r.left < 0 || r.right > innerWidth; }).map(e => e.className + " " + Math.round(e.getBoundingClientRect().left) + ".." + Math.round(e.getBoundingClientRect().right))`)
	if len(offScreen) != 0 {
		t.Errorf("on a 375px screen these are off the screen: %v", offScreen)
	}
	labels := httpdtest.Eval[[]string](t, ctx, `[...document.querySelectorAll("#visit-`+itoa(first.SessionID)+` td")].map(c => getComputedStyle(c, "::before").content)`)
	for _, want := range []string{"Начало", "Источник", "Откуда перешли", "Страница входа", "Посетитель"} {
		if !strings.Contains(strings.Join(labels, "|"), want) {
			t.Errorf("the phone's visit card does not name %q: %q", want, labels)
		}
	}
	httpdtest.Eval[any](t, ctx, `document.cookie = "apl_lang=en; path=/"`)
	pageWidth := httpdtest.Eval[int](t, ctx, `document.documentElement.scrollWidth`)
	if pageWidth > 400 {
		t.Errorf("the page is %dpx wide on a 375px screen: the table pushes it", pageWidth)
	}
	httpdtest.SaveScreenshot(t, ctx, "recent-visits-phone")
}

func itoa(n uint64) string { return strconv.FormatUint(n, 10) }

// jsString quotes s as a JavaScript string literal.
func jsString(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`, "\n", `\n`).Replace(s) + "'"
}
