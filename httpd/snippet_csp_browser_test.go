package httpd_test

// The snippet on a shop whose Content-Security-Policy is strict: only its
// own origin and the appliance's, no inline script, no inline style (the
// policy README's install section gives site owners).

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"appliance/httpd/httpdtest"
	"appliance/numbers/tracking"
	"appliance/store"
)

// strictCSP is the policy of README's install section for a site at
// 'self' and an appliance at origin (http://host:port): its scripts, its
// calls and (with ws) its chat socket, its pictures; nothing inline, and
// no style of the appliance's (the widgets' styles are constructed
// stylesheets, which style-src does not govern).
func strictCSP(origin string, ws bool) string {
	connect := origin
	if ws {
		connect += " ws" + strings.TrimPrefix(origin, "http")
	}
	return "default-src 'self'; script-src 'self' " + origin + "; connect-src 'self' " + connect +
		"; img-src 'self' " + origin + "; style-src 'self'; font-src 'self'"
}

// strictSite serves the site's pages, with the strict policy in a header,
// and its own script files (what its inline scripts would be).
type strictSite struct {
	mu    sync.Mutex
	files map[string]string // path -> body; .js served as JavaScript
}

func (s *strictSite) set(path, body string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.files[path] = body
}

// The snippet's every part works on a page whose policy lets through only
// the site's own origin and the appliance's, with no inline script or
// style, and the policy refuses nothing it does: the page view and an
// event reach the appliance, the numbers are swapped (on the next page
// from the cache, by the time the page has loaded), the property calls
// answer, the callback panel shows its captcha and is styled and sent, the
// lead form is sent, and the chat talks over its WebSocket.
func TestSnippetUnderStrictCSP(t *testing.T) { strictCSPVisit(t, true) }

// A policy that lists the appliance's origin but not its ws: refuses the
// chat's socket (Chromium makes it closed, fires its error and never its
// close): the chat falls back to polling and talks all the same, and the
// policy refuses nothing else.
func TestSnippetUnderStrictCSPWithoutWebSocket(t *testing.T) { strictCSPVisit(t, false) }

func strictCSPVisit(t *testing.T, ws bool) {
	f := newChatFixture(t, "ru")
	adminCall(t, f.srv, "/admin/callbacks", map[string]any{"site_key": f.key, "lang": "ru", "webhook": f.pbx.srv.URL + "/callback", "captcha": "on"}, nil)
	tr, now := f.srv.HTTP.Numbers(), time.Now()
	if _, err := tr.SetSiteNumbers(t.Context(), f.site.ID, []string{phSiteWritten}, now); err != nil {
		t.Fatal(err)
	}
	if _, err := tr.AddStatic(t.Context(), f.site.ID, tracking.StaticInput{Number: phYandex}, now); err != nil {
		t.Fatal(err)
	}

	origin := strings.TrimSuffix(f.srv.URL, "/")
	policy := strictCSP(origin, ws)
	site := &strictSite{files: map[string]string{}}
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		site.mu.Lock()
		body, ok := site.files[r.URL.Path]
		site.mu.Unlock()
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Security-Policy", policy)
		w.Header().Set("Cache-Control", "no-store")
		if strings.HasSuffix(r.URL.Path, ".js") {
			w.Header().Set("Content-Type", "text/javascript")
		} else {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
		}
		w.Write([]byte(body))
	}))
	t.Cleanup(ts.Close)
	f.web = strings.Replace(ts.URL, "127.0.0.1", "localhost", 1) + "/"

	// The install code's commands, moved to a script file of the site's
	// own as README says for such a policy; the script tag as it is.
	cmds, tag, ok := strings.Cut(f.install, "</script>")
	if !ok {
		t.Fatalf("install code %q has no inline script", f.install)
	}
	site.set("/cs-setup.js", strings.TrimPrefix(strings.TrimSpace(cmds), "<script>"))
	// probe.js is the test's: it notes the chat's open sockets and what the
	// phone shows once the page has loaded.
	site.set("/probe.js", `window.__wsOpen = [];
window.WebSocket = class extends WebSocket {
  constructor(u, p) { super(u, p); this.addEventListener("open", () => window.__wsOpen.push(String(u))); }
};
addEventListener("load", () => { window.__atLoad = document.getElementById("ph").textContent; });`)
	pg := func(title string) string {
		return "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>" + title + "</title>\n" +
			`<script src="/probe.js"></script><script src="/cs-setup.js"></script>` + strings.TrimSpace(tag) + "\n</head><body><h1>" + title + "</h1>\n" +
			`<p>Звоните: <span id="ph">` + phSiteWritten + "</span></p>\n</body></html>\n"
	}
	site.set("/", pg("Магазин"))
	site.set("/next", pg("Доставка"))

	httpdtest.Must(t, f.browser, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: recordViolations})
		return err
	}))
	// wsRefused counts the refused sockets of a policy without ws:.
	wsRefused := 0
	violations := func(when string) {
		t.Helper()
		var other []string
		for _, v := range eval[[]string](t, f.snippetFixture, `window.__cspViolations.splice(0)`) {
			if !ws && strings.HasPrefix(v, "connect-src blocked ws://") {
				wsRefused++
				continue
			}
			other = append(other, v)
		}
		if len(other) > 0 {
			t.Errorf("%s: the policy refused %d things:\n  %s", when, len(other), strings.Join(other, "\n  "))
		}
	}
	swapped := "8 (495) 000-00-01"

	f.console(t, "ru")
	f.visit(t, "/")
	f.eventually(t, "the number is swapped", func() bool {
		return eval[string](t, f.snippetFixture, `document.getElementById("ph").textContent`) == swapped
	})
	eval[any](t, f.snippetFixture, `Comagic.trackEvent("Offer", "DownloadBook")`)
	f.eventually(t, "the event is stored", func() bool { return len(f.events(t)) == 1 })
	if got := callback(t, f.snippetFixture, `Comagic.setProperty("Тип", "Опт"); Comagic.getProperty("Тип", cb)`); got["result"] != "Опт" {
		t.Errorf("getProperty after setProperty answered %v", got)
	}
	violations("page view, numbers, event, properties")

	// The callback panel: its captcha picture, its own styles, sent.
	eval[any](t, f.snippetFixture, `ComagicWidget.openSitePhonePanel()`)
	f.waitIn(t, "the callback panel opens with its captcha", `r.querySelector('[data-kind=callback] img') && r.querySelector('img').complete && r.querySelector('img').naturalWidth > 0`)
	for _, c := range []struct{ js, want string }{
		{`getComputedStyle(r.querySelector('.wrap')).position`, "fixed"},
		{`getComputedStyle(r.querySelector('#cs-phone')).fontSize`, "16px"},
		{`getComputedStyle(r.querySelector('.primary')).color`, "rgb(255, 255, 255)"},
	} {
		if got := in[string](t, f.widgetFixture, c.js); got != c.want {
			t.Errorf("the callback panel unstyled: %s = %q, want %q", c.js, got, c.want)
		}
	}
	f.typeInto(t, "#cs-phone", "9101234567")
	f.typeInto(t, "#cs-captcha", captchaAnswer)
	f.click(t, "button[type=submit]")
	f.waitIn(t, "the callback is sent", `r.querySelector('.dialog [role=status]')`)
	if cbs := f.siteCallbacks(t); len(cbs) != 1 || cbs[0].State != store.CallbackSent || cbs[0].Phone != "79101234567" {
		t.Errorf("stored callbacks %+v", cbs)
	}
	httpdtest.Must(t, f.browser, chromedp.KeyEvent(kb.Escape))
	f.waitIn(t, "Esc closes the panel", `!r.querySelector('.dialog')`)
	violations("the callback panel")

	// The lead form.
	eval[any](t, f.snippetFixture, `Comagic.openSiteRequestPanel()`)
	f.waitIn(t, "the lead form opens", `r.querySelector('[data-kind=lead] #cs-name')`)
	if got := in[string](t, f.widgetFixture, `getComputedStyle(r.querySelector('.wrap')).position`); got != "fixed" {
		t.Errorf("the lead form unstyled: its overlay is position %q", got)
	}
	f.typeInto(t, "#cs-name", "Анна")
	f.typeInto(t, "#cs-message", "Нужна доставка")
	f.click(t, "button[type=submit]")
	f.waitIn(t, "the lead is sent", `r.querySelector('.dialog [role=status]')`)
	if ls := siteLeads(t, f.srv, f.key); len(ls) != 1 || ls[0].Name != "Анна" || ls[0].Message != "Нужна доставка" {
		t.Errorf("stored leads %+v", ls)
	}
	httpdtest.Must(t, f.browser, chromedp.KeyEvent(kb.Escape))
	f.waitIn(t, "Esc closes the form", `!r.querySelector('.dialog')`)
	violations("the lead form")

	// The chat, over its WebSocket.
	f.eventually(t, "getOperatorStatus() is true", func() bool { return eval[bool](t, f.snippetFixture, `Comagic.getOperatorStatus()`) })
	eval[any](t, f.snippetFixture, `Comagic.openChatWindow()`)
	f.waitIn(t, "the chat opens", `r.querySelector('section.chat') && !r.querySelector('section.chat').hidden`)
	if got := in[string](t, f.widgetFixture, `getComputedStyle(r.querySelector('section.chat')).position`); got != "fixed" {
		t.Errorf("the chat unstyled: its window is position %q", got)
	}
	f.visitorSays(t, "Здравствуйте")
	f.opWait(t, "the chat is listed", `document.querySelector('#c-chats li[data-chat] button')`)
	httpdtest.Must(t, f.op, chromedp.Click(chromedp.CSS(`#c-chats li[data-chat] button`)))
	f.operatorSays(t, "Добрый день")
	f.waitIn(t, "the operator's answer shows", `r.querySelectorAll('.log .m.operator').length == 1`)
	violations("the chat")
	switch got := eval[[]string](t, f.snippetFixture, `window.__wsOpen`); {
	case ws && (len(got) != 1 || !strings.HasPrefix(got[0], "ws://")):
		t.Errorf("the chat's open sockets %q, want one ws://", got)
	case !ws && (len(got) != 0 || wsRefused == 0):
		t.Errorf("the chat's open sockets %q, %d refused: want none open, and the policy to have refused some (the test tests the fallback)", got, wsRefused)
	}

	// The next page: the cached number is in place by the time it has loaded.
	f.visit(t, "/next")
	if got := eval[string](t, f.snippetFixture, `window.__atLoad`); got != swapped {
		t.Errorf("the next page shows %q once loaded, want %q", got, swapped)
	}
	violations("the next page")
	f.noExceptions(t)
}
