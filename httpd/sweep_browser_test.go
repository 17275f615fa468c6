package httpd_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"appliance/httpd"
	"appliance/httpd/accounts"
	"appliance/httpd/admin"
	"appliance/httpd/httpdtest"
	"appliance/httpd/notice"
	"appliance/httpd/notice/mailtest"
	"appliance/httpd/webhooks"
	"appliance/numbers/tracking"
	"appliance/store"
)

// sweepURLs gives a concrete URL for a dashboard route whose pattern has
// more than the site's "*" ("/sites/*/visitors/*"): KEY is the fixture
// site's key. A route the sweep cannot fill fails the sweep until it has
// an entry here; "" leaves a route out (it serves no page).
var sweepURLs = map[string]string{
	"/assets/*":     "",
	"/chat/visitor": "", // JSON for the console
	"/chat/waiting": "", // JSON for the menu's count (dashboard.js)
	// VISITOR: the visitor of the fixture's first visit (sweepVisitor).
	"/sites/*/visitors/*": "/sites/KEY/visitors/VISITOR",
	// RESET: a live password reset link's token, the owner's.
	"/reset": "/reset?token=RESET",
	// UNSUB: the token of the owner's weekly digest link.
	"/digest/unsubscribe": "/digest/unsubscribe?token=UNSUB",
}

// sweepExtra are pages the route table does not show by itself: a form's
// answer, a filter, an error page.
var sweepExtra = []string{
	"/sites/KEY/numbers?test_url=" + url.QueryEscape("https://shop.example.com/?utm_source=yandex&utm_medium=cpc&utm_campaign=black_friday_2026"),
	"/sites/KEY/leads?status=spam&form=no-such-form",
	"/sites/KEY/search?q=" + url.QueryEscape("8 912 345 67 89"),
	"/sites/no-such-site/leads",
}

// sweepMust are what a page must show with the fixture's data, so the
// sweep measures filled pages and not empty ones.
var sweepMust = map[string]string{
	"/sites":             "#sites a, #unknown-calls a.tel",
	"/sites/*":           "#recent-visits a.tel",
	"/sites/*/leads":     "#leads a.tel",
	"/sites/*/callbacks": "#callbacks a.tel",
	"/sites/*/calls":     "#calls a.tel",
	"/sites/*/numbers":   "#statics-list a.tel",
	"/sites/*/webhooks":  "#endpoints, #deliveries",
	"/account":           "#password-form",
}

// sweepFits are the tables that fit their box with the fixture's data,
// without scrolling sideways: at 1280 px as tables, at 800 and 1024 px as
// cards.
var sweepFits = map[string]string{
	"/sites/*/leads":     "#leads",
	"/sites/*/callbacks": "#callbacks",
}

// sweepChecks runs in each page at each width and answers what is wrong:
// the page wider than the window, a touch target under 44 px (at phone
// width), a field without a label, text under the WCAG AA contrast ratio
// (4.5:1, 3:1 for large text) on its background, a phone number with no
// tel: link beside it, an overflowing table box without its hint, a CSP
// violation the page saw.
const sweepChecks = `(() => {
  const problems = [];
  const desc = el => el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") +
    (typeof el.className === "string" && el.className ? "." + el.className.trim().split(/\s+/).join(".") : "") +
    (el.name ? "[name=" + el.name + "]" : "") + ' "' + (el.textContent || el.value || "").trim().slice(0, 30) + '"';
  const shown = el => el.getClientRects().length > 0 && getComputedStyle(el).visibility !== "hidden" && !el.closest(".skip-link, .sr-only");
  const vw = window.innerWidth, phone = vw < 600;
  if (document.documentElement.scrollWidth > vw) {
    const wide = [...document.body.querySelectorAll("*")].filter(e => shown(e) && e.getBoundingClientRect().right > vw + 1 && !e.closest(".table-scroll, .table-wrap, pre"));
    problems.push("page is " + document.documentElement.scrollWidth + "px wide in a " + vw + "px window; widest: " + wide.slice(-4).map(desc).join(", "));
  }
  if (phone) {
    document.querySelectorAll("button, select, textarea, summary, input:not([type=hidden]), a, label.check").forEach(el => {
      if (!shown(el) || el.matches("input[type=checkbox], input[type=radio]") && el.closest("label")) return;
      if (el.matches("a") && getComputedStyle(el).display === "inline") return; // a link in text: the spacing exception of WCAG 2.5.8
      const r = el.getBoundingClientRect();
      if (r.height < 43.5 || r.width < 43.5) problems.push("touch target " + Math.round(r.width) + "x" + Math.round(r.height) + "px: " + desc(el));
    });
  }
  document.querySelectorAll("input:not([type=hidden]):not([type=submit]):not([type=button]), select, textarea").forEach(el => {
    if (!(el.labels && el.labels.length) && !el.getAttribute("aria-label") && !el.getAttribute("aria-labelledby")) problems.push("no label: " + desc(el));
  });
  const parse = c => { const m = /rgba?\(([^)]+)\)/.exec(c); if (!m) return null; const p = m[1].split(/[\s,\/]+/).filter(Boolean).map(Number); return [p[0], p[1], p[2], p.length > 3 ? p[3] : 1]; };
  const over = (top, bottom) => [0, 1, 2].map(i => top[i] * top[3] + bottom[i] * (1 - top[3])).concat(1);
  const background = el => {
    const layers = [];
    for (let e = el; e; e = e.parentElement) {
      const c = parse(getComputedStyle(e).backgroundColor);
      if (c && c[3] > 0) { layers.push(c); if (c[3] >= 1) break; }
    }
    let base = matchMedia("(prefers-color-scheme: dark)").matches ? [0, 0, 0, 1] : [255, 255, 255, 1];
    for (let i = layers.length - 1; i >= 0; i--) base = over(layers[i], base);
    return base;
  };
  const lum = c => { const f = v => (v /= 255) <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); return 0.2126 * f(c[0]) + 0.7152 * f(c[1]) + 0.0722 * f(c[2]); };
  const ratio = (a, b) => { const x = lum(a), y = lum(b); return (Math.max(x, y) + 0.05) / (Math.min(x, y) + 0.05); };
  const seen = new Set(), walk = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walk.nextNode()) {
    const el = walk.currentNode.parentElement;
    if (!walk.currentNode.textContent.trim() || seen.has(el) || !shown(el) || el.closest("option, [disabled]")) continue;
    seen.add(el);
    const cs = getComputedStyle(el), bg = background(el), fg = over(parse(cs.color), bg);
    const size = parseFloat(cs.fontSize), large = size >= 24 || size >= 18.66 && parseInt(cs.fontWeight) >= 700;
    const r = ratio(fg, bg);
    if (r < (large ? 3 : 4.5)) problems.push("contrast " + r.toFixed(2) + ":1 (" + cs.color + " on rgb(" + bg.slice(0, 3).map(Math.round) + ")): " + desc(el));
  }
  document.querySelectorAll(".table-scroll.overflowing, .table-wrap.overflowing").forEach(box => {
    const prev = box.previousElementSibling;
    if (!prev || !prev.classList.contains("scroll-hint")) problems.push("a table box scrolls without its hint: " + desc(box));
  });
  const phoneRe = /^(\+?\d{1,3}|8)[\s(]*\d{3}[\s)]*\d{3}[\s-]?\d{2}[\s-]?\d{2}$|^\+\d{10,15}$/;
  const texts = document.createTreeWalker(document.querySelector("main") || document.body, NodeFilter.SHOW_TEXT);
  while (texts.nextNode()) {
    const n = texts.currentNode, el = n.parentElement;
    if (!phoneRe.test(n.textContent.trim()) || !shown(el) || el.closest('a[href^="tel:"], option, code, textarea, label, .flag')) continue;
    const box = el.closest("td, th, li, dd, p") || el.closest("div");
    if (!box || !box.querySelector('a[href^="tel:"]')) problems.push("a phone number that is not a tel: link: " + desc(el));
  }
  (window.__cspViolations || []).forEach(v => problems.push("CSP violation: " + v));
  return problems;
})()`

// recordViolations runs before any script of each page and keeps what the
// Content-Security-Policy refused, so the sweep can ask.
const recordViolations = `window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", e => window.__cspViolations.push(e.violatedDirective + " blocked " + (e.blockedURI || "inline") + " at " + e.sourceFile + ":" + e.lineNumber + " " + (e.sample || "")));`

// sweepFixture fills a server with a site that has what every page shows:
// visits with sources, leads, callbacks, tracking numbers with a pool,
// calls (one to a number no site has), a webhook with deliveries. Texts
// are long where real ones are (Russian names, campaign tags, URLs).
func sweepFixture(t *testing.T, srv *httpdtest.Server) string {
	t.Helper()
	ctx := context.Background()
	key := srv.Site(t, "Аквалюкс — сантехника и отопление для дома", "aqualux-santehnika-i-otoplenie.example.com")
	srv.Site(t, "Second shop", "second.example")
	site, err := srv.HTTP.Sites().ByKey(key)
	if err != nil {
		t.Fatal(err)
	}
	hooks := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(hooks.Close)
	adminCall(t, srv, admin.PathWebhooks, admin.AddWebhook{Site: key, URL: hooks.URL + "/crm/hooks/appliance-leads-and-callbacks?token=0123456789abcdef", Events: []string{"lead", "callback", "call"}}, nil)

	tr, now := srv.HTTP.Numbers(), time.Now()
	if _, err := tr.SetSiteNumbers(ctx, site.ID, []string{"8 (487) 275-14-04"}, now); err != nil {
		t.Fatal(err)
	}
	if _, err := tr.AddStatic(ctx, site.ID, tracking.StaticInput{Number: "74951825168", RuleInput: tracking.RuleInput{Rule: "utm_source=yandex&utm_medium=cpc&utm_campaign=black_friday_2026"}}, now); err != nil {
		t.Fatal(err)
	}
	if _, err := tr.AddPool(ctx, site.ID, tracking.PoolInput{Name: "context-ads-moscow", Numbers: []string{"74950000001", "74950000002"}, Fallback: "74950000009",
		RuleInput: tracking.RuleInput{Rule: "utm_medium=cpc", Priority: 1}}, now); err != nil {
		t.Fatal(err)
	}

	const home = "https://aqualux-santehnika-i-otoplenie.example.com/"
	ad := sweepHit(t, srv, key, visit{}, home+"catalog/kotly/gazovye?utm_source=yandex&utm_medium=cpc&utm_campaign=black_friday_2026&yclid=1234567890", "https://yandex.ru/search/?text=газовый+котёл", "Газовые котлы — купить в Москве с установкой")
	sweepHit(t, srv, key, ad, home+"catalog/kotly/gazovye/baxi-eco-nova-24f", "", "BAXI ECO Nova 24F")
	organic := sweepHit(t, srv, key, visit{}, home, "https://www.google.com/", "Аквалюкс")
	sweepHit(t, srv, key, organic, home+"contacts", "", "Контакты")
	trackHit(t, srv, key, "", home, "") // a bot: a client that says it is none of the browsers
	for _, ev := range []map[string]any{{"c": "form", "a": "submit", "n": "callback-panel"}, {"c": "video", "a": "play", "n": "installation-guide", "v": "42"}} {
		b := map[string]any{"k": key, "ci": ad.CI, "key": ad.Key, "hi": ad.HitID}
		for k, v := range ev {
			b[k] = v
		}
		if status, out, _ := postJSON(t, srv.URL+"t/v1/event", b); status != http.StatusOK {
			t.Fatalf("event: %d %v", status, out)
		}
	}
	if status, out, _ := postJSON(t, srv.URL+"t/v1/property", map[string]any{"k": key, "ci": ad.CI, "key": ad.Key, "op": "set", "name": "Тип посетителя", "value": "Потенциальный клиент"}); status != http.StatusOK {
		t.Fatalf("property: %d %v", status, out)
	}
	visitor := map[string]any{"k": key, "ci": ad.CI, "key": ad.Key, "name": "Константин", "phone": "+7 912 345-67-89", "email": "konstantin@example.com"}
	if status, out, _ := postJSON(t, srv.URL+"t/v1/visitor", visitor); status != http.StatusOK {
		t.Fatalf("visitor: %d %v", status, out)
	}
	for _, l := range []map[string]any{
		{"name": "Константин Константинопольский", "email": "konstantin.konstantinopolsky@example.com", "phone": "+7 (912) 345-67-89",
			"message": "Здравствуйте! Нужен двухконтурный газовый котёл для дома 180 м², с установкой и доставкой в Подольск. Перезвоните после 18:00.", "form_name": "Заказ с карточки товара", "is_sale": true, "sale_cost": "149900.50"},
		{"name": "Ann", "phone": "not a number", "email": "not an email", "message": "?"},
	} {
		if status, out, _ := postJSON(t, srv.URL+"t/v1/lead", leadBody(key, ad, l)); status != http.StatusOK {
			t.Fatalf("lead: %d %v", status, out)
		}
	}
	// A finished chat of the visitor from the ad, whose words hold the
	// number the search of sweepExtra looks for: its row, the match
	// marked, on the search page.
	chat := store.Chat{ID: srv.DB.NextID(), Site: site.ID, Created: now.Add(-time.Hour).UnixMilli(), Closed: now.Add(-50 * time.Minute).UnixMilli(),
		ClosedBy: "visitor", Assigned: "anastasia.konstantinopolskaya@aqualux-santehnika.example.com", Last: 2, LastAt: now.Add(-55 * time.Minute).UnixMilli(),
		Attribution: store.Attribution{Visitor: ad.VisitorID, Session: ad.SessionID, PageURL: home + "catalog/kotly/gazovye/baxi-eco-nova-24f"}}
	if err := srv.DB.Update(ctx, func(tx *store.Tx) error {
		tx.Set(store.ChatKey(site.ID, chat.ID), chat.Encode())
		store.IndexVisitorItem(tx, chat.Visitor, store.ItemChat, chat.ID)
		for i, m := range []store.ChatMessage{
			{From: "visitor", Text: "Здравствуйте! Подберите, пожалуйста, двухконтурный газовый котёл для дома 180 м² с установкой и доставкой в Подольск. Мой номер 8 912 345 67 89, звоните после 18:00 <b>не раньше</b>"},
			{From: "operator", Name: "Анастасия", Text: "Добрый день! Перезвоню в 18:05 на 8 912 345 67 89."},
		} {
			m.At = chat.Created + int64(i+1)*60_000
			tx.Set(store.ChatMessageKey(site.ID, chat.ID, uint64(i+1)), m.Encode())
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []map[string]any{
		{"phone": "+7 916 123-45-67", "group_id": "16587"},
		{"phone": "8 (495) 111-22-33", "delayed_call_time": fmt.Sprint(now.Add(3 * time.Hour).UnixMilli())},
	} {
		b := map[string]any{"k": key, "ci": organic.CI, "key": organic.Key, "hi": organic.HitID}
		for k, v := range c {
			b[k] = v
		}
		if status, out, _ := postJSON(t, srv.URL+"t/v1/callback", b); status != http.StatusOK {
			t.Fatalf("callback: %d %v", status, out)
		}
	}
	// A callback the scenario never took: what the network said of it is
	// English, a technical detail under the reason in words.
	failed := store.Callback{ID: srv.DB.NextID(), Time: now.Add(-2 * time.Hour).UnixMilli(), Phone: "79161234567", PhoneRaw: "+7 916 123-45-67",
		State: store.CallbackFailed, Attempts: 3, LastTry: now.Add(-time.Hour).UnixMilli(), LastReason: webhooks.ReasonConnRefused,
		LastError:   `Post "https://pbx.aqualux-santehnika.example.com/callbacks": dial tcp 203.0.113.7:443: connect: connection refused`,
		Attribution: store.Attribution{Visitor: organic.VisitorID, Session: organic.SessionID, PageURL: home}}
	if err := srv.DB.Update(ctx, func(tx *store.Tx) error {
		tx.Set(store.CallbackKey(site.ID, failed.ID), failed.Encode())
		store.IndexVisitorItem(tx, failed.Visitor, store.ItemCallback, failed.ID)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := accounts.New(srv.DB).CreateUser(ctx, "anastasia.konstantinopolskaya@aqualux-santehnika.example.com", "a long enough passphrase", accounts.RoleManager); err != nil {
		t.Fatal(err)
	}
	if _, err := accounts.New(srv.DB).CreateToken(ctx, "CRM Битрикс24 — выгрузка звонков", []uint32{site.ID}); err != nil {
		t.Fatal(err)
	}
	token, err := accounts.New(srv.DB).CreateToken(ctx, "pbx", nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, body := range []string{
		`{"called":"74951825168","caller":"79161234567","duration":65,"answered":true,"recording_url":"https://pbx.example.com/recordings/2026/12/01/very-long-recording-file-name.mp3"}`,
		`{"called":"74950000009","caller":"","duration":0,"answered":false}`,
		`{"called":"74997770000","caller":"79035554433","duration":12,"answered":true}`,
	} {
		postCall(t, srv, token, body)
	}
	return key
}

// sweepHit posts a page view as a desktop browser would (trackHit's client
// counts as a bot), continuing the visit of prev when it has one.
func sweepHit(t *testing.T, srv *httpdtest.Server, key string, prev visit, pageURL, referrer, title string) visit {
	t.Helper()
	body := map[string]string{"k": key, "u": pageURL, "r": referrer, "t": title}
	if prev.CI != "" {
		body["ci"], body["key"] = prev.CI, prev.Key
	}
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest("POST", srv.URL+"t/v1/hit", bytes.NewReader(b))
	req.Header.Set("Content-Type", "text/plain;charset=UTF-8")
	req.Header.Set("User-Agent", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		Success bool  `json:"success"`
		Result  visit `json:"result"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || !out.Success || out.Result.Key == "" {
		t.Fatalf("hit %s: %d %v %+v", pageURL, resp.StatusCode, err, out)
	}
	return out.Result
}

// sweepVisitor is the id of the visitor of the site's first visit: the
// one who clicked the ad, left leads and their contacts.
func sweepVisitor(t *testing.T, srv *httpdtest.Server, key string) string {
	t.Helper()
	site, err := srv.HTTP.Sites().ByKey(key)
	if err != nil {
		t.Fatal(err)
	}
	var visitor uint64
	srv.DB.ScanPrefix(context.Background(), store.SessionPrefix(site.ID), false, 1, func(_, v []byte) bool {
		s, err := store.DecodeSession(v)
		if err != nil {
			t.Fatal(err)
		}
		visitor = s.Visitor
		return false
	})
	if visitor == 0 {
		t.Fatal("the sweep's site has no visit")
	}
	return strconv.FormatUint(visitor, 10)
}

// consoleWatch collects what the tab writes to the console; between
// marks, so each page's messages are told apart without waiting on time.
type consoleWatch struct {
	ch chan chromedp.ConsoleMessage
	n  int
}

func watchPageConsole(t *testing.T, ctx context.Context) *consoleWatch {
	t.Helper()
	httpdtest.Must(t, ctx, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		if _, err := cdp.Call(ctx, tg, log.Enable, cdp.Empty{}); err != nil {
			return err
		}
		_, err := cdp.Call(ctx, tg, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: recordViolations})
		return err
	}))
	w := &consoleWatch{ch: make(chan chromedp.ConsoleMessage, 256)}
	messages := chromedp.Console(ctx)
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			select {
			case w.ch <- m:
			case <-ctx.Done():
				return
			}
		}
	}()
	return w
}

// since returns the errors, exceptions and security warnings written since
// the last call: it writes a mark to the console and reads up to it.
func (w *consoleWatch) since(t *testing.T, ctx context.Context) []string {
	t.Helper()
	w.n++
	mark := fmt.Sprintf("sweep-mark-%d", w.n)
	page := httpdtest.Eval[string](t, ctx, `(console.debug("`+mark+`"), location.href)`)
	var bad []string
	for {
		select {
		case m := <-w.ch:
			if m.Text == mark {
				return bad
			}
			if m.Source == "network" && m.URL == page {
				continue // an error page's own status, which the sweep visits on purpose
			}
			if m.Type == chromedp.ConsoleError || m.IsException() || m.Source == "security" {
				bad = append(bad, "console "+string(m.Type)+" ("+m.Source+"): "+m.Text+" "+m.URL)
			}
		case <-ctx.Done():
			t.Fatalf("console: %v", ctx.Err())
		}
	}
}

// The screenshot sweep: one browser signs in and visits every dashboard
// page (from the route table, with a site full of data) in each language
// at 1280 and 390 px, light, and at 390 px dark, then as an operator at
// 390 px (fewer links, refusals); each page is saved as a
// PNG under the artifact directory's sweep/ (README: testing), and at every
// size no page is wider than the window, fields have labels, text has AA
// contrast, phone numbers are tel: links, nothing breaks the
// Content-Security-Policy or writes an error to the console, and, at phone
// width, touch targets are 44 px.
func TestBrowserScreenshotSweep(t *testing.T) {
	relay := mailtest.Start(t) // the pages as they are with --smtp: reset and invites by email
	srv := httpdtest.Start(t, httpdtest.AllowPrivate, func(o *httpd.Options) {
		o.Mail = notice.Options{URL: relay.URL(), From: "noreply@shop.example"}
	})
	key := sweepFixture(t, srv)
	client := srv.Client(t) // creates the owner; finds which routes answer HTML
	email, password := "owner@example.com", "correct horse battery"

	var urls []string
	for _, route := range srv.HTTP.DashboardPages() {
		if u, ok := sweepURLs[route]; ok {
			if u != "" {
				u = strings.ReplaceAll(u, "VISITOR", sweepVisitor(t, srv, key))
				if strings.Contains(u, "RESET") {
					token, _, err := accounts.New(srv.DB).RequestReset(context.Background(), email)
					if err != nil {
						t.Fatal(err)
					}
					u = strings.ReplaceAll(u, "RESET", token)
				}
				if strings.Contains(u, "UNSUB") {
					site, err := srv.HTTP.Sites().ByKey(key)
					if err != nil {
						t.Fatal(err)
					}
					u = strings.ReplaceAll(u, "UNSUB", srv.HTTP.DigestToken(email, site.ID, true))
				}
				urls = append(urls, strings.ReplaceAll(u, "KEY", key))
			}
			continue
		}
		u := strings.Replace(route, "/sites/*", "/sites/"+key, 1)
		if strings.Contains(u, "*") {
			t.Errorf("route %s: add a concrete URL for it to sweepURLs", route)
			continue
		}
		urls = append(urls, u)
	}
	for _, u := range sweepExtra {
		urls = append(urls, strings.ReplaceAll(u, "KEY", key))
	}
	var pages []string
	for _, u := range urls {
		resp, err := client.Get(srv.URL + strings.TrimPrefix(u, "/"))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if ct := resp.Header.Get("Content-Type"); resp.StatusCode/100 != 3 && !strings.HasPrefix(ct, "text/html") {
			t.Logf("sweep: %s is %s, not a page", u, ct)
			continue
		}
		pages = append(pages, u)
	}
	if len(pages) < 8 {
		t.Fatalf("the sweep found only %d pages: %v", len(pages), pages)
	}
	// SWEEP_PAGES=leads,callbacks sweeps only the pages whose URL holds
	// one of the words: a quick look at the pages one changes.
	if only := os.Getenv("SWEEP_PAGES"); only != "" {
		var some []string
		for _, p := range pages {
			for _, w := range strings.Split(only, ",") {
				if w != "" && strings.Contains(p, w) {
					some = append(some, p)
					break
				}
			}
		}
		t.Logf("sweep: SWEEP_PAGES=%s: %d of %d pages", only, len(some), len(pages))
		pages = some
	}

	dir := filepath.Join(httpdtest.ArtifactDir(t), "sweep")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	ctx := httpdtest.BrowserFor(t, 15*time.Minute)
	console := watchPageConsole(t, ctx)
	shot := func(name string) {
		buf, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatalf("screenshot %s: %v", name, err)
		}
		if err := os.WriteFile(filepath.Join(dir, name+".png"), buf, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	setup := func(lang string, width int64, dark bool) {
		scheme := "light"
		if dark {
			scheme = "dark"
		}
		httpdtest.Must(t, ctx, chromedp.EmulateViewport(width, 900), chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			if _, err := cdp.Call(ctx, tg, network.SetExtraHTTPHeaders, network.SetExtraHTTPHeadersParams{Headers: network.Headers{"Accept-Language": lang}}); err != nil {
				return err
			}
			_, err := cdp.Call(ctx, tg, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
				Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: scheme}}})
			return err
		}))
	}
	check := func(what string) {
		t.Helper()
		for _, p := range httpdtest.Eval[[]string](t, ctx, sweepChecks) {
			t.Errorf("%s: %s", what, p)
		}
		for _, p := range console.since(t, ctx) {
			t.Errorf("%s: %s", what, p)
		}
	}

	// The checks can fail: a page with a style attribute the policy
	// refuses, pale text, a small button, a field without a label and a
	// wide box shows each.
	setup("en", 390, false)
	httpdtest.Must(t, ctx, chromedp.Navigate(srv.URL+"login"))
	httpdtest.Eval[bool](t, ctx, `(() => {
		const m = document.querySelector("main");
		m.insertAdjacentHTML("beforeend", '<p style="color:red">styled</p><p id="pale">pale</p><button id="tiny">x</button><input id="bare"><div id="wide">w</div><p>+7 (495) 182-51-68</p>');
		document.getElementById("pale").style.color = "#bbb";
		Object.assign(document.getElementById("tiny").style, {minHeight: "0", height: "20px"});
		Object.assign(document.getElementById("wide").style, {width: "600px"});
		return true;
	})()`)
	got := strings.Join(httpdtest.Eval[[]string](t, ctx, sweepChecks), "\n")
	for _, want := range []string{"CSP violation", "contrast", "touch target", "no label: input#bare", "page is 6", "not a tel: link"} {
		if !strings.Contains(got, want) {
			t.Errorf("the checks miss %q on a page made to fail them:\n%s", want, got)
		}
	}
	console.since(t, ctx)

	// Signed out: the sign-in page at both widths.
	for _, width := range []int64{1280, 390} {
		setup("en", width, false)
		httpdtest.Must(t, ctx, chromedp.Navigate(srv.URL+"login"))
		check(fmt.Sprintf("/login at %dpx", width))
		shot(fmt.Sprintf("en-%d-login", width))
	}
	httpdtest.Must(t, ctx,
		chromedp.SendKeys(chromedp.CSS(`input[name=email]`), email),
		chromedp.SendKeys(chromedp.CSS(`input[name=password]`), password),
	)
	submit(t, ctx, `main button[type=submit]`)

	langs := []string{"en"}
	setup("ru", 1280, false)
	httpdtest.Must(t, ctx, chromedp.Navigate(srv.URL+"sites"))
	if lang := httpdtest.Eval[string](t, ctx, `document.documentElement.lang`); lang == "ru" {
		langs = append(langs, "ru")
	} else {
		t.Logf("sweep: with Accept-Language: ru the dashboard answers lang=%q; Russian not swept", lang)
	}
	type variant struct {
		lang  string
		width int64
		dark  bool
	}
	var variants []variant
	for i, lang := range langs {
		variants = append(variants, variant{lang, 1280, false}, variant{lang, 390, false})
		if i == 0 {
			variants = append(variants, variant{lang, 390, true})
		}
	}
	name := strings.NewReplacer(key, "SITE", "/", "_", "?", "_", "&", "_", "=", "-", "%", "")
	// visit opens page p and checks it; with data, the fixture's rows
	// must show.
	visit := func(p, lang, what, file string, data bool) {
		t.Helper()
		httpdtest.Must(t, ctx, chromedp.Navigate(srv.URL+strings.TrimPrefix(p, "/")))
		if lang == "ru" {
			if got := httpdtest.Eval[string](t, ctx, `document.documentElement.lang`); got != "ru" {
				t.Errorf("%s: lang=%q", what, got)
			}
		}
		// Open every <details>, so the tables in them are measured too.
		httpdtest.Eval[bool](t, ctx, `(document.querySelectorAll("details").forEach(d => d.open = true), window.dispatchEvent(new Event("resize")), true)`)
		route := strings.Replace(strings.SplitN(p, "?", 2)[0], key, "*", 1)
		if sel := sweepMust[route]; data && sel != "" && !strings.Contains(p, "?") {
			for _, s := range strings.Split(sel, ", ") {
				if !httpdtest.Eval[bool](t, ctx, `!!document.querySelector(`+jsString(s)+`)`) {
					t.Errorf("%s: the fixture's data is missing: no %s", what, s)
				}
			}
		}
		check(what)
		// The lists a site owner works through fit a 1280 px window
		// without scrolling sideways, with the fixture's long texts.
		if sel := sweepFits[route]; sel != "" && data && httpdtest.Eval[int](t, ctx, `window.innerWidth`) > 640 {
			if over := httpdtest.Eval[int](t, ctx, `(() => { const t = document.querySelector(`+jsString(sel)+`); return t ? t.scrollWidth - t.parentElement.clientWidth : -1; })()`); over > 0 {
				t.Errorf("%s: %s is %d px wider than its box: it scrolls sideways", what, sel, over)
			}
		}
		if p == "/" {
			p = "/home"
		}
		shot(file + strings.Trim(name.Replace(p), "_"))
	}
	for _, v := range variants {
		setup(v.lang, v.width, v.dark)
		for _, p := range pages {
			what, file := fmt.Sprintf("%s (%s, %dpx", p, v.lang, v.width), fmt.Sprintf("%s-%d-", v.lang, v.width)
			if v.dark {
				what, file = what+", dark", file+"dark-"
			}
			visit(p, v.lang, what+")", file, true)
		}
	}

	// The lists that fit a 1280 px window fit a tablet's and a small
	// laptop's too, as cards of labelled cells.
	for _, width := range []int64{1024, 800} {
		lang := langs[len(langs)-1]
		setup(lang, width, false)
		for _, p := range pages {
			if sweepFits[strings.Replace(strings.SplitN(p, "?", 2)[0], key, "*", 1)] != "" {
				visit(p, lang, fmt.Sprintf("%s (%s, %dpx)", p, lang, width), fmt.Sprintf("%s-%d-", lang, width), true)
			}
		}
	}

	// An operator, in a browser of their own, sees fewer links and most
	// pages as a refusal: every page again at phone width.
	if _, err := accounts.New(srv.DB).CreateUser(context.Background(), "operator@example.com", password, accounts.RoleOperator); err != nil {
		t.Fatal(err)
	}
	ctx = httpdtest.NewVisitor(t, ctx)
	console = watchPageConsole(t, ctx)
	setup(langs[0], 390, false)
	httpdtest.Must(t, ctx,
		chromedp.Navigate(srv.URL+"login"),
		chromedp.SendKeys(chromedp.CSS(`input[name=email]`), "operator@example.com"),
		chromedp.SendKeys(chromedp.CSS(`input[name=password]`), password),
	)
	submit(t, ctx, `main button[type=submit]`)
	for _, p := range pages {
		visit(p, langs[0], fmt.Sprintf("%s (operator, %s, 390px)", p, langs[0]), langs[0]+"-390-operator-", false)
	}
	t.Logf("sweep: %d pages × %d variants and as an operator, saved in %s", len(pages), len(variants), dir)
}

// On a phone the navigation is behind the Menu button, which opens and
// closes it from the keyboard; the first Tab reaches the skip link, which
// moves the focus to the page's content; every control the keyboard
// reaches shows where the focus is.
func TestBrowserPhoneMenuAndKeyboard(t *testing.T) {
	srv := httpdtest.Start(t)
	key := srv.Site(t, "Shop", "shop.example")
	email, password := srv.Owner(t)
	ctx := httpdtest.Browser(t)
	httpdtest.Must(t, ctx,
		chromedp.EmulateViewport(390, 844),
		chromedp.Navigate(srv.URL+"login"),
		chromedp.SendKeys(chromedp.CSS(`input[name=email]`), email),
		chromedp.SendKeys(chromedp.CSS(`input[name=password]`), password),
	)
	submit(t, ctx, `main button[type=submit]`)
	httpdtest.Must(t, ctx, chromedp.Navigate(srv.URL+"sites/"+key+"/leads"))
	visible := func(sel string) bool {
		return httpdtest.Eval[bool](t, ctx, `(() => { const e = document.querySelector(`+jsString(sel)+`); return !!e && e.getClientRects().length > 0; })()`)
	}
	if visible("#main-nav") || !visible(".menu-button") {
		t.Fatalf("at 390px the navigation shows (%v) or the Menu button hides (%v)", visible("#main-nav"), !visible(".menu-button"))
	}

	// Tab: the skip link first; Enter moves the focus to the content.
	active := func() string {
		return httpdtest.Eval[string](t, ctx, `(e => e.tagName.toLowerCase() + "." + e.className + "#" + e.id)(document.activeElement)`)
	}
	httpdtest.Must(t, ctx, chromedp.KeyEvent(kb.Tab))
	if got := active(); !strings.Contains(got, "skip-link") {
		t.Fatalf("the first Tab reaches %s, want the skip link", got)
	}
	if !httpdtest.Eval[bool](t, ctx, `document.activeElement.getBoundingClientRect().top >= 0`) {
		t.Error("the focused skip link is off the screen")
	}
	httpdtest.Must(t, ctx, chromedp.KeyEvent(kb.Enter))
	if got := active(); got != "main.#main" {
		t.Fatalf("after the skip link the focus is on %s, want main#main", got)
	}

	// The Menu button, from the keyboard: opens, focuses the first link,
	// Escape closes and gives the focus back.
	httpdtest.Must(t, ctx, chromedp.Focus(chromedp.CSS(".menu-button")), chromedp.KeyEvent(kb.Enter))
	if !visible("#main-nav") || httpdtest.Eval[string](t, ctx, `document.querySelector(".menu-button").getAttribute("aria-expanded")`) != "true" {
		t.Fatal("Enter on the Menu button does not open the navigation")
	}
	if got := active(); !strings.HasPrefix(got, "a.") {
		t.Errorf("the open menu focuses %s, want its first link", got)
	}
	httpdtest.Must(t, ctx, chromedp.KeyEvent(kb.Escape))
	if visible("#main-nav") || !strings.Contains(active(), "menu-button") {
		t.Errorf("Escape leaves the menu open (%v) or the focus on %s", visible("#main-nav"), active())
	}

	// Every control Tab reaches, until it comes round to the skip link,
	// has a visible focus ring (a date field takes a Tab per part).
	reached := 0
	for i := 0; i < 100; i++ {
		httpdtest.Must(t, ctx, chromedp.KeyEvent(kb.Tab))
		el := httpdtest.Eval[string](t, ctx, `(e => {
			if (e === document.body || e.classList.contains("skip-link")) return "end";
			if (e.dataset.tabbed) return "";
			e.dataset.tabbed = "1";
			const s = getComputedStyle(e);
			return e.tagName.toLowerCase() + "." + e.className + " " + (e.textContent || e.name || "").trim().slice(0, 20) + ": " + s.outlineStyle + " " + s.outlineWidth;
		})(document.activeElement)`)
		if el == "end" {
			break
		}
		if el == "" {
			continue
		}
		reached++
		if strings.Contains(el, ": none ") || strings.HasSuffix(el, " 0px") {
			t.Errorf("%s: no focus ring", el)
		}
	}
	if reached < 8 {
		t.Errorf("Tab reached only %d controls", reached)
	}
}
