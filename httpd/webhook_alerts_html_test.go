package httpd

import (
	"strings"
	"testing"
	"time"

	"appliance/httpd/i18n"
	"appliance/httpd/notice/mailtest"
	"appliance/httpd/sites"
	"appliance/httpd/webhooks"
	"appliance/store"
)

// alertFixture composes a webhook alert as the worker does, for a site
// named name and an endpoint at endpoint whose last answer was status
// with detail; recovered: the email that says it works again.
func alertFixture(t testing.TB, lang i18n.Lang, name, endpoint, detail string, status int, reason byte, recovered bool) (subject, text, htm, page string) {
	t.Helper()
	cat, err := i18n.Load()
	if err != nil {
		t.Fatal(err)
	}
	a := &hookAlerts{sites: &sites.Registry{}, catalog: cat, publicURL: "https://stats.example/"}
	since := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC).UnixMilli()
	site := &store.Site{ID: 1, Key: "shopKEY1", Name: name, TimeZone: "Europe/Moscow"}
	ep := store.WebhookEndpoint{ID: 7, URL: endpoint}
	hl := webhooks.Health{Site: 1, Endpoint: 7, WebhookHealth: store.WebhookHealth{FailingSince: since, Failures: 6,
		Last: store.DeliveryAttempt{Status: status, Error: detail, Reason: reason}}}
	j := alertJob{site: 1, endpoint: 7, since: since}
	if recovered {
		j.recovered = since + 3*time.Hour.Milliseconds()
	}
	subject, text, htm, err = a.compose(cat.For(lang), site, ep, hl, j, 2)
	if err != nil {
		t.Fatal(err)
	}
	return subject, text, htm, "https://stats.example/sites/shopKEY1/webhooks"
}

// A webhook alert's HTML, failing or working again, in Russian and in
// English, says what its text says, in the reader's language, with the
// site's name, the endpoint's URL and the receiver's answer (whoever
// typed or sent them) as text, and one link: a button to the site's
// webhooks page.
func TestWebhookAlertHTML(t *testing.T) {
	name := `Shop <script>alert(1)</script> "A&B" 'x'`
	endpoint := `https://crm.example/hook?a="><script>alert(2)</script>&b='x'`
	detail := `500 Internal Server Error: "<script>alert(3)</script>"` + "\n" + `<img src=x onerror=alert(4)>`
	squash := func(s string) string { return strings.Join(strings.Fields(s), "") }
	for _, c := range []struct {
		name      string
		lang      i18n.Lang
		reason    byte
		detail    string
		recovered bool
		button    string
		says      []string // besides every line of the text
	}{
		{"failing en", i18n.En, webhooks.ReasonServer, detail, false, "Open the webhooks page",
			[]string{"Since 2026-12-01 12:00:00 (Europe/Moscow)", "2 deliveries waiting · 6 failed attempts", "Nothing is lost"}},
		{"failing ru", i18n.Ru, webhooks.ReasonServer, detail, false, "Открыть страницу вебхуков",
			[]string{"С 01.12.2026 12:00:00 (Europe/Moscow)", "2 доставки ждут · 6 неудачных попыток", "Ничего не потеряно"}},
		{"gone en", i18n.En, webhooks.ReasonGone, "", false, "Open the webhooks page",
			[]string{"Last error: 500. The receiver says the URL is gone for good", `press "Send again"`}},
		{"gone ru", i18n.Ru, webhooks.ReasonGone, "", false, "Открыть страницу вебхуков",
			[]string{"Получатель ответил, что этого адреса больше нет"}},
		{"recovered en", i18n.En, 0, "", true, "Open the webhooks page", []string{"Since 2026-12-01 15:00:00 (Europe/Moscow)", "takes deliveries again"}},
		{"recovered ru", i18n.Ru, 0, "", true, "Открыть страницу вебхуков", []string{"С 01.12.2026 15:00:00 (Europe/Moscow)", "снова принимает доставки"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			subject, text, htm, page := alertFixture(t, c.lang, name, endpoint, c.detail, 500, c.reason, c.recovered)
			h := mailtest.CheckHTML(t, htm)
			if h.Lang != string(c.lang) {
				t.Errorf("<html lang=%q>, want %q", h.Lang, c.lang)
			}
			if len(h.Links) != 1 || h.Links[c.button] != page {
				t.Errorf("links %v, want only %q to %s", h.Links, c.button, page)
			}
			for _, evil := range []string{"<script", "<img", `"><script`, `"A&B"`, "'x'"} {
				if strings.Contains(htm, evil) {
					t.Errorf("the HTML holds %q as it came:\n%s", evil, htm)
				}
			}
			seen := squash(h.Text)
			for _, w := range append(c.says, subject, name, endpoint) {
				if !strings.Contains(seen, squash(w)) {
					t.Errorf("the HTML does not say %q:\n%s", w, h.Text)
				}
			}
			lines := strings.Split(text, "\n")
			for i, l := range lines {
				if l == "" || l == "-- " || l == page || i+1 < len(lines) && lines[i+1] == page {
					continue // the page's label and URL: the button
				}
				if !strings.Contains(seen, squash(l)) {
					t.Errorf("the HTML does not say the text's %q:\n%s", l, h.Text)
				}
			}
			if got := strings.Contains(htm, `<code lang="en"`); got != (c.detail != "") {
				t.Errorf("the receiver's answer set as code: %v, want %v", got, c.detail != "")
			}
		})
	}
}

// Whatever a site's name, an endpoint's URL and a receiver's answer hold,
// a webhook alert's HTML is well-formed, has only the elements an email
// may have and one link, to the site's webhooks page.
func FuzzWebhookAlertHTML(f *testing.F) {
	f.Add("Shop", "https://crm.example/hook", "500 Internal Server Error", 500, byte(0), false, true)
	f.Add(`<script>alert(1)</script>`, `https://crm.example/?a="><img src=x onerror=alert(1)>`, "</td></tr></table><a href=javascript:alert(1)>x</a>", 410, webhooks.ReasonGone, false, false)
	f.Add("\x00<!--", "]]>", "<style>*{}</style>\n</code>", 0, byte(200), true, true)
	f.Fuzz(func(t *testing.T, name, endpoint, detail string, status int, reason byte, recovered, en bool) {
		lang := i18n.Ru
		if en {
			lang = i18n.En
		}
		_, _, htm, page := alertFixture(t, lang, name, endpoint, detail, status, reason, recovered)
		h := mailtest.CheckHTML(t, htm)
		if len(h.Links) != 1 {
			t.Errorf("links %v, want one to %s", h.Links, page)
		}
		for text, href := range h.Links {
			if href != page {
				t.Errorf("%q links to %q", text, href)
			}
		}
	})
}

// An endpoint's URL is the owner's typing: a bidi control in it (U+202E
// would show "https://crm.example/kooh" as another address) reaches a
// webhook alert's subject, text and HTML as U+FFFD, in both languages,
// failing and working again, as the site's name does.
func TestWebhookAlertShowsBidiControls(t *testing.T) {
	const controls = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
	endpoint := "https://crm.example/\u202ekooh\u202c?x=\u2066" + controls
	for _, lang := range []i18n.Lang{i18n.Ru, i18n.En} {
		for _, recovered := range []bool{false, true} {
			subject, text, htm, _ := alertFixture(t, lang, "Shop\u202e", endpoint, "", 500, webhooks.ReasonServer, recovered)
			for what, s := range map[string]string{"subject": subject, "text": text, "HTML": htm} {
				if i := strings.IndexAny(s, controls); i >= 0 {
					t.Errorf("%s, recovered %v: the %s holds a bidi control %q at %d:\n%s", lang, recovered, what, []rune(s[i:])[0], i, s)
				}
				if !strings.Contains(s, "https://crm.example/\ufffdkooh\ufffd") {
					t.Errorf("%s, recovered %v: the %s does not show the URL with U+FFFD:\n%s", lang, recovered, what, s)
				}
			}
		}
	}
}
