package httpd_test

import (
	"context"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"appliance/httpd"
	"appliance/httpd/httpdtest"
	"appliance/httpd/notice"
	"appliance/httpd/notice/mailtest"
)

// bidiControls are the Unicode bidi controls a visitor may type: the
// marks (the Arabic letter mark U+061C too), embeddings and overrides,
// and isolates.
const bidiControls = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"

// The bidi controls a visitor typed (a name written backwards by U+202E,
// a phone's digits reordered by U+200F, a campaign that pulls the rest of
// the line after it) reach the emails and Telegram messages of a lead and
// a callback as U+FFFD, as they reach the dashboard's pages: the subject,
// the text and the HTML show the staff member who calls back what was
// typed, in the order it was typed, never a number or name reordered.
func TestNotificationsShowBidiControls(t *testing.T) {
	const token = "123456789:AAEhBOweik9ai2o4_mcP-9a8R2nT7xYzAbc"
	api := &botAPI{token: token}
	apiSrv := httptest.NewServer(api)
	defer apiSrv.Close()
	relay := mailtest.Start(t)
	srv := httpdtest.Start(t, fastHooks, func(o *httpd.Options) {
		o.Mail = notice.Options{URL: relay.URL(), From: "Shop <noreply@shop.example>"}
		o.TelegramAPI = apiSrv.URL
	})
	key := srv.Site(t, "Shop", "shop.example")
	c := srv.Client(t)
	if status, page := postHookForm(t, srv, c, key, "mailto:owner@shop.example?lang=en", "lead", "callback"); status != http.StatusOK {
		t.Fatalf("add the mailto endpoint: %d\n%s", status, page)
	}
	csrf := srv.FormToken(t, c, "sites/"+key+"/webhooks")
	resp, err := c.PostForm(srv.URL+"sites/"+key+"/webhooks", url.Values{"csrf": {csrf}, "url": {"telegram:-1001234567890?lang=en"},
		"secret": {token}, "events": {"lead", "callback"}})
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("add the telegram endpoint: %d", resp.StatusCode)
	}

	v := trackHit(t, srv, key, "", "https://shop.example/?utm_source=ya%E2%80%AEndex&utm_campaign=%E2%81%A7spring", "")
	lead := map[string]any{"name": "Ann\u202eavoN\u061c", "phone": "8 916\u200f123\u200f45 67 доб\u20672", "message": "call me\u2066 \u202bplease", "form_name": "Form\u202d"}
	if status, out, _ := postJSON(t, srv.URL+"t/v1/lead", leadBody(key, v, lead)); status != http.StatusOK {
		t.Fatalf("lead: %d %v", status, out)
	}
	if status, out, _ := postJSON(t, srv.URL+"t/v1/callback", leadBody(key, v, map[string]any{"phone": "8 916 123\u202e45 67"})); status != http.StatusOK {
		t.Fatalf("callback: %d %v", status, out)
	}
	eventually(t, "two emails and two messages", func() bool { return len(relay.Messages()) == 2 && len(api.messages()) == 2 })

	check := func(where, s string) {
		t.Helper()
		if i := strings.IndexAny(s, bidiControls); i >= 0 {
			t.Errorf("%s holds a bidi control: %q", where, s[max(i-40, 0):min(i+40, len(s))])
		}
	}
	var all []string
	for _, m := range relay.Messages() {
		msg, text, htm := mailtest.Read(t, m.Data)
		subject, err := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
		if err != nil {
			t.Fatal(err)
		}
		check("an email's subject", subject)
		check("an email's text", text)
		check("an email's HTML", htm)
		all = append(all, subject, text, mailtest.CheckHTML(t, htm).Text)
	}
	for _, m := range api.messages() {
		text, _ := m["text"].(string)
		check("a Telegram message", text)
		all = append(all, text)
	}
	joined := strings.Join(all, "\n")
	for _, want := range []string{"Ann\ufffdavoN\ufffd", "call me\ufffd \ufffdplease", "8 916\ufffd123\ufffd45 67 доб\ufffd2", "ya\ufffdndex", "\ufffdspring", "8 916 123\ufffd45 67"} {
		if !strings.Contains(joined, want) {
			t.Errorf("the notifications do not show %q with its controls made visible:\n%s", want, joined)
		}
	}
}

// A report digest names the top sources as visitors' links named them
// (utm_source): a bidi control in one is shown as U+FFFD in the subject,
// text and HTML, as on the reports page, and reorders nothing after it.
func TestDigestShowsBidiControls(t *testing.T) {
	relay := mailtest.Start(t)
	clock := &trClock{now: time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)}
	f := shopFixture(t, clock, func(o *httpd.Options) {
		o.Now = clock.Now
		o.Mail = notice.Options{URL: relay.URL(), From: "noreply@shop.example"}
	})
	ctx := context.Background()
	key := f.site.Key
	v := personHit(t, f.srv, key, "", "https://shop.example.com/?utm_source=ya%E2%80%AEndex", "")
	if status, out, _ := postJSON(t, f.srv.URL+"t/v1/lead", leadBody(key, v, map[string]any{"name": "Ann"})); status != http.StatusOK {
		t.Fatalf("lead: %d %v", status, out)
	}
	c := f.srv.Client(t)
	if code, body, _ := postForm(t, c, f.srv.URL+"account/digests", url.Values{"csrf": {f.srv.FormToken(t, c, "/account")}, "daily": {key}}); code != http.StatusSeeOther {
		t.Fatalf("subscribe: %d %s", code, body)
	}
	clock.Set(time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC))
	if n, err := f.srv.HTTP.SendDigests(ctx); n != 1 || err != nil {
		t.Fatalf("%d digests sent, %v", n, err)
	}
	msg, text, htm := mailtest.Read(t, relay.Messages()[0].Data)
	subject, err := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
	if err != nil {
		t.Fatal(err)
	}
	for where, s := range map[string]string{"subject": subject, "text": text, "HTML": htm} {
		if i := strings.IndexAny(s, bidiControls); i >= 0 {
			t.Errorf("the digest's %s holds a bidi control: %q", where, s[max(i-40, 0):min(i+40, len(s))])
		}
	}
	if !strings.Contains(text, "ya\ufffdndex") || !strings.Contains(mailtest.CheckHTML(t, htm).Text, "ya\ufffdndex") {
		t.Errorf("the digest does not name the source with its control made visible:\n%s", text)
	}
}
