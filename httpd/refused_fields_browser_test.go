package httpd_test

import (
	"context"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"appliance/httpd/httpdtest"
)

// A refused form says why beside the field to fix, in the reader's
// language: the message stands right after that field, which is focused,
// marked invalid and described by it (a screen reader reads the reason
// with the field), and not at the top of the page, far from it. Before,
// every refusal stood at the top: on a long page (settings, webhooks,
// tokens) out of sight of the field the cursor was put in. Each form is
// sent with the browser's own checks off, as a browser without them (or
// a value they pass: spaces, a zone's name) sends it.
func TestBrowserRefusalStandsBesideItsField(t *testing.T) {
	srv := httpdtest.Start(t)
	setup, err := srv.HTTP.SetupURL(context.Background())
	if err != nil || setup == "" {
		t.Fatalf("setup url %q: %v", setup, err)
	}
	ctx := httpdtest.Browser(t)
	// A laptop's window: the new site's name and domain side by side.
	httpdtest.Must(t, ctx, chromedp.EmulateViewport(1280, 900), chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, network.SetExtraHTTPHeaders, network.SetExtraHTTPHeadersParams{Headers: network.Headers{"Accept-Language": "ru-RU,ru"}})
		return err
	}))
	// send fills the fields of the form of button (name: value, set as
	// typed) and sends it without the browser's own checks.
	send := func(button string, fields map[string]string) {
		t.Helper()
		js := `(() => { const f = document.querySelector(` + jsString(button) + `).form; f.noValidate = true;`
		for name, value := range fields {
			js += `f.elements[` + jsString(name) + `].value = ` + jsString(value) + `;`
		}
		httpdtest.Eval[bool](t, ctx, js+` return true; })()`)
		submit(t, ctx, button)
	}
	// beside checks that the page's refusal is the message of field (a
	// selector) with id key+"-error", right after the field's label and
	// under or beside it on the screen, and returns its text.
	beside := func(what, field, key string) string {
		t.Helper()
		got := httpdtest.Eval[[]string](t, ctx, `(() => {
			const f = document.querySelector(`+jsString(field)+`), id = `+jsString(key+"-error")+`, m = document.getElementById(id);
			if (!f) return ["no field"];
			if (!m) return ["no message #" + id + "; the page says: " + [...document.querySelectorAll("main .error")].map(e => e.textContent).join(" | ")];
			const out = [];
			if (f.getAttribute("aria-invalid") !== "true") out.push("the field is not aria-invalid");
			if (!(f.getAttribute("aria-describedby") || "").split(/\s+/).includes(id)) out.push("the field is described by " + JSON.stringify(f.getAttribute("aria-describedby")));
			const focus = [...document.querySelectorAll("[autofocus]")];
			if (focus.length !== 1 || focus[0] !== f) out.push("the page focuses " + focus.map(e => e.outerHTML.slice(0, 80)));
			if (m.previousElementSibling !== f.closest("label")) out.push("the message does not follow the field's label");
			const fr = f.getBoundingClientRect(), mr = m.getBoundingClientRect();
			if (mr.top < fr.top - 1 || mr.top > fr.bottom + 40 || mr.left < fr.left - 1 || mr.left > fr.right + 40 || mr.width === 0) out.push("the message is at " + [mr.left, mr.top] + ", the field at " + [fr.left, fr.top, fr.right, fr.bottom]);
			const top = document.querySelector("main > p.error[role=alert]:not(#hooks-failing):not(#export-warning)");
			if (top) out.push("the top of the page says it too: " + top.textContent);
			return out.length ? out : ["ok", m.textContent];
		})()`)
		if len(got) != 2 || got[0] != "ok" {
			t.Errorf("%s: %q", what, got)
			return ""
		}
		if lang := httpdtest.Eval[string](t, ctx, `document.documentElement.lang`); lang != "ru" {
			t.Errorf("%s: the page is in %q", what, lang)
		}
		return got[1]
	}
	wants := func(what, msg string, words ...string) {
		t.Helper()
		for _, w := range words {
			if !strings.Contains(msg, w) {
				t.Errorf("%s says %q, want %q in it", what, msg, w)
			}
		}
	}

	httpdtest.Must(t, ctx, chromedp.Navigate(setup))
	send(`main button[type=submit]`, map[string]string{"email": "owner@example.com", "password": "short"})
	wants("setup, short password", beside("setup, short password", `input[name=password]`, "password"), "10")
	send(`main button[type=submit]`, map[string]string{"email": "не адрес", "password": "a long enough secret"})
	wants("setup, bad email", beside("setup, bad email", `input[name=email]`, "email"), "не адрес")
	send(`main button[type=submit]`, map[string]string{"email": "owner@example.com", "password": "a long enough secret"})

	httpdtest.Must(t, ctx, chromedp.Navigate(srv.URL+"account"))
	send(`#password-form button[type=submit]`, map[string]string{"current": "not my password", "password": "another long secret"})
	wants("account, wrong current password", beside("account, wrong current password", `input[name=current]`, "current"), "Текущий пароль")

	httpdtest.Must(t, ctx, chromedp.Navigate(srv.URL+"sites"))
	send(`#add-site button[type=submit]`, map[string]string{"name": "Магазин", "domain": "not a domain!"})
	wants("new site, bad domain", beside("new site, bad domain", `input[name=domain]`, "domain"), "не доменное имя")
	send(`#add-site button[type=submit]`, map[string]string{"name": "  ", "domain": "shop.example"})
	beside("new site, no name", `#add-site input[name=name]`, "name")
	send(`#add-site button[type=submit]`, map[string]string{"name": "Магазин", "domain": "shop.example"})
	key := srv.HTTP.Sites().List()[0].Key

	httpdtest.Must(t, ctx, chromedp.Navigate(srv.URL+"team"))
	send(`#invite-form button[type=submit]`, map[string]string{"email": "manager at shop"})
	wants("invite, bad email", beside("invite, bad email", `#invite-form input[name=email]`, "invite-email"), "manager at shop")

	httpdtest.Must(t, ctx, chromedp.Navigate(srv.URL+"tokens"))
	send(`#token-form button[type=submit]`, map[string]string{"name": "   "})
	beside("token, blank name", `#token-form input[name=name]`, "token-name")
	// A token's row: its change form (folded) says why by its own name.
	send(`#token-form button[type=submit]`, map[string]string{"name": "АТС"})
	httpdtest.Eval[bool](t, ctx, `(() => { document.querySelector("#tokens details.token-change").open = true; return true; })()`)
	send(`#tokens form[action="/tokens/change"] button[type=submit]`, map[string]string{"name": "   "})
	beside("token row, blank name", `#tokens form[action="/tokens/change"] input[name=name]`, "change-name")

	httpdtest.Must(t, ctx, chromedp.Navigate(srv.URL+"sites/"+key+"/webhooks"))
	send(`#add-webhook button[type=submit]`, map[string]string{"url": "ftp://crm.example.com/hook"})
	wants("webhook, bad URL", beside("webhook, bad URL", `#add-webhook input[name=url]`, "add-url"), "https://")
	send(`#add-webhook button[type=submit]`, map[string]string{"url": "https://crm.example.com/hook", "secret": "short"})
	beside("webhook, short secret", `#add-webhook input[name=secret]`, "add-secret")

	httpdtest.Must(t, ctx, chromedp.Navigate(srv.URL+"sites/"+key+"/numbers"))
	send(`#add-static button[type=submit]`, map[string]string{"number": "не номер"})
	beside("static number, not a number", `#add-static input[name=number]`, "static-number")
	send(`#add-static button[type=submit]`, map[string]string{"number": "+7 495 182-51-68", "priority": "высокий"})
	beside("static number, bad priority", `#add-static input[name=priority]`, "static-priority")
	send(`#add-pool button[type=submit]`, map[string]string{"name": "реклама", "numbers": "+7 495 000-00-01", "reserve": "скоро"})
	wants("pool, bad reserve", beside("pool, bad reserve", `#add-pool input[name=reserve]`, "pool-reserve"), "скоро")
	send(`#add-pool button[type=submit]`, map[string]string{"name": "реклама", "numbers": "+7 495 000-00-01", "reserve": "", "addr_cap": "-1"})
	beside("pool, bad cap", `#add-pool input[name=addr_cap]`, "pool-addr_cap")

	httpdtest.Must(t, ctx, chromedp.Navigate(srv.URL+"sites/"+key+"/settings"))
	send(`#site-settings button[type=submit]`, map[string]string{"time_zone": "Mars/Olympus"})
	wants("settings, unknown zone", beside("settings, unknown zone", `input[name=time_zone]`, "time_zone"), "Mars/Olympus")
	send(`#site-settings button[type=submit]`, map[string]string{"time_zone": "", "domains": "shop.example\nnot a domain!"})
	beside("settings, bad domain", `textarea[name=domains]`, "domains")
	send(`#remove-site-form button[type=submit]`, map[string]string{"confirm": "Другой"})
	wants("settings, remove unconfirmed", beside("settings, remove unconfirmed", `input[name=confirm]`, "confirm"), "Введите название сайта, \"Магазин\"")

	send(`#callback-settings button[type=submit]`, map[string]string{"url": "ftp://pbx.example.com/callback"})
	wants("settings, bad scenario URL", beside("settings, bad scenario URL", `#callback-settings input[name=url]`, "callback-url"), "https://", "Адрес сценария")

	httpdtest.Must(t, ctx, chromedp.Navigate(srv.URL+"sites/"+key+"/callbacks"))
	send(`#callback-settings button[type=submit]`, map[string]string{"url": "ftp://pbx.example.com/callback"})
	wants("callbacks, bad scenario URL", beside("callbacks, bad scenario URL", `#callback-settings input[name=url]`, "callback-url"), "https://", "Адрес сценария")
	send(`#callback-settings button[type=submit]`, map[string]string{"url": "https://pbx.example.com/callback", "secret": "short"})
	beside("callbacks, short secret", `#callback-settings input[name=secret]`, "callback-secret")
	send(`#callback-settings button[type=submit]`, map[string]string{"url": "", "secret": "", "groups": "Отдел продаж"})
	wants("callbacks, bad group", beside("callbacks, bad group", `#callback-settings textarea[name=groups]`, "callback-groups"), "Отдел продаж")

	httpdtest.Must(t, ctx, chromedp.Navigate(srv.URL+"sites/"+key+"/chat"))
	send(`#chat-settings button[type=submit]`, map[string]string{"unanswered": "скоро"})
	beside("chat, bad unanswered time", `#chat-settings input[name=unanswered]`, "chat-unanswered")
	if got := httpdtest.Eval[string](t, ctx, `document.querySelector("#chat-settings input[name=unanswered]").value`); got != "скоро" {
		t.Errorf("chat, bad unanswered time: the field holds %q, not what was sent", got)
	}
	send(`#chat-settings button[type=submit]`, map[string]string{"unanswered": "", "greeting": strings.Repeat("Здравствуйте! ", 50)})
	beside("chat, long greeting", `#chat-settings textarea[name=greeting]`, "chat-greeting")
	send(`#chat-settings button[type=submit]`, map[string]string{"greeting": "", "canned": strings.Repeat("Да", 600)})
	beside("chat, long canned reply", `#chat-settings textarea[name=canned]`, "chat-canned")

	// Signed out, a wrong password at sign-in is said by the password.
	httpdtest.Must(t, ctx, chromedp.Navigate(srv.URL+"sites"))
	submit(t, ctx, `header form button`)
	send(`main button[type=submit]`, map[string]string{"email": "owner@example.com", "password": "wrong password!"})
	wants("sign-in, wrong password", beside("sign-in, wrong password", `input[name=password]`, "password"), "Неверная почта или пароль")
}
