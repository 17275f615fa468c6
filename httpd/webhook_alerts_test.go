package httpd_test

import (
	"context"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"appliance/httpd"
	"appliance/httpd/accounts"
	"appliance/httpd/httpdtest"
	"appliance/httpd/notice"
	"appliance/httpd/notice/mailtest"
	"appliance/httpd/webhooks"
	"appliance/store"
)

// A site owner's CRM answers 500 for over an hour: the webhooks page
// shows the endpoint failing (since when, how much waits, the last
// error), every page of the site warns of it, and the owner gets one
// email, not one a retry and not again after a restart. Once the CRM
// answers 200 the warning goes and one more email says it works again.
// Every delivery is kept and delivered.
func TestWebhookFailingAlert(t *testing.T) {
	relay := mailtest.Start(t)
	clock := &trClock{now: time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)}
	opts := func(o *httpd.Options) {
		o.Now = clock.Now
		o.Webhooks = webhooks.Options{Tick: 5 * time.Millisecond, Timeout: 2 * time.Second,
			Backoff: func(int) time.Duration { return 20 * time.Minute }}
		httpdtest.AllowPrivate(o)
		o.Mail = notice.Options{URL: relay.URL(), From: "noreply@shop.example"}
		o.MetricsToken = "scrape-token"
	}
	srv := httpdtest.Start(t, opts)
	key := srv.Site(t, "Магазин <b>", "shop.example")
	site, err := srv.HTTP.Sites().ByKey(key)
	if err != nil {
		t.Fatal(err)
	}
	c := srv.Client(t)
	// A manager, who may change webhooks, reads English; an operator may
	// not, and is not told.
	acc := accounts.New(srv.DB)
	for email, role := range map[string]string{"manager@example.com": accounts.RoleManager, "operator@example.com": accounts.RoleOperator} {
		if _, err := acc.CreateUser(context.Background(), email, "correct horse battery", role); err != nil {
			t.Fatal(err)
		}
	}
	if err := acc.SetLang(context.Background(), "manager@example.com", "en"); err != nil {
		t.Fatal(err)
	}
	to := func(addr string) []mailtest.Message {
		var out []mailtest.Message
		for _, m := range relay.Messages() {
			if len(m.To) == 1 && m.To[0] == addr {
				out = append(out, m)
			}
		}
		return out
	}

	var status, posts atomic.Int32
	status.Store(http.StatusInternalServerError)
	crm := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		posts.Add(1)
		w.WriteHeader(int(status.Load()))
		w.Write([]byte("CRM <script>down</script>"))
	}))
	defer crm.Close()
	addHook(t, srv, c, key, crm.URL+"/hook")
	health := func() webhooks.Health {
		t.Helper()
		m, err := srv.HTTP.HookHealth(context.Background(), site.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, hl := range m {
			return hl
		}
		return webhooks.Health{}
	}
	failures := func(n uint32) {
		t.Helper()
		eventually(t, strconv.Itoa(int(n))+" failed attempts recorded", func() bool { return health().Failures == n })
	}
	lead := func() {
		t.Helper()
		v := trackHit(t, srv, key, "", "https://shop.example/", "")
		if st, out, _ := postJSON(t, srv.URL+"t/v1/lead", leadBody(key, v, map[string]any{"phone": "89101234567"})); st != http.StatusOK {
			t.Fatalf("lead: %d %v", st, out)
		}
	}
	sendAlerts := func() {
		t.Helper()
		if _, err := srv.HTTP.SendWebhookAlerts(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	hooksPage := srv.URL + "sites/" + key + "/webhooks"
	leadsPage := srv.URL + "sites/" + key + "/leads"

	lead()
	lead()
	failures(2)
	sendAlerts()
	_, page := getPage(t, c, hooksPage)
	if strings.Contains(page, `id="failing-`) || strings.Contains(page, `id="hooks-failing"`) || len(relay.Messages()) != 0 {
		t.Fatalf("failing after a minute's failures (%d emails):\n%s", len(relay.Messages()), page)
	}
	clock.Add(40 * time.Minute)
	failures(4)
	sendAlerts()
	if _, page := getPage(t, c, leadsPage); strings.Contains(page, `id="hooks-failing"`) || len(relay.Messages()) != 0 {
		t.Fatalf("failing after 40 minutes (%d emails)", len(relay.Messages()))
	}
	failing := func() float64 { return value(scrape(t, srv, "scrape-token"), "appliance_webhook_endpoints_failing") }
	if got := failing(); got != 0 {
		t.Errorf("appliance_webhook_endpoints_failing after 40 minutes: %v, want 0", got)
	}

	clock.Add(21 * time.Minute) // an hour and a minute since the first failure
	failures(6)
	_, page = getPage(t, c, hooksPage)
	for _, want := range []string{`id="failing-`, "Failing since 2026-12-01 09:00:00", "2 deliveries waiting · 6 failed attempts",
		"Last error: 500. The receiver failed with an error of its own.", `500 Internal Server Error: "CRM <script>down</script>"`,
		`class="count failing"`} {
		if !strings.Contains(page, want) {
			t.Errorf("the webhooks page does not show %q", want)
		}
	}
	if got := failing(); got != 1 {
		t.Errorf("appliance_webhook_endpoints_failing after an hour: %v, want 1", got)
	}
	_, raw := getPageIn(t, c, hooksPage, "")
	if strings.Contains(raw, "<script>down") {
		t.Errorf("the receiver's answer is not escaped on the page")
	}
	_, page = getPage(t, c, leadsPage)
	if !strings.Contains(page, `id="hooks-failing"`) || !strings.Contains(page, `href="/sites/`+key+`/webhooks#endpoints"`) ||
		!strings.Contains(page, "1 webhook endpoint has failed every delivery for over an hour") {
		t.Errorf("the leads page does not warn of the failing endpoint:\n%s", page)
	}
	_, page = getPage(t, c, srv.URL+"sites")
	if !strings.Contains(page, `<a class="error-text" id="hooks-failing-`+key+`" href="/sites/`+key+`/webhooks#endpoints">1 webhook endpoint failing</a>`) {
		t.Errorf("the list of sites does not link the failing endpoint:\n%s", page)
	}
	_, page = getPageIn(t, c, hooksPage, "ru")
	for _, want := range []string{"1 адрес вебхуков больше часа не принимает ни одной доставки", "Не принимает доставки с 01.12.2026 09:00:00",
		"2 доставки ждут · 6 неудачных попыток", "Последняя ошибка: 500. У получателя произошла собственная ошибка."} {
		if !strings.Contains(page, want) {
			t.Errorf("the webhooks page in Russian does not show %q", want)
		}
	}

	sendAlerts()
	sendAlerts() // and again: still one
	if n := len(relay.Messages()); n != 2 || len(to("owner@example.com")) != 1 || len(to("manager@example.com")) != 1 {
		t.Fatalf("%d emails, want one to the owner and one to the manager", n)
	}
	if _, text := readMail(t, to("manager@example.com")[0]); !strings.Contains(text, "2 deliveries waiting · 6 failed attempts") ||
		!strings.Contains(text, "Last error: 500. The receiver failed with an error of its own.") {
		t.Errorf("the manager's alert, in English:\n%s", text)
	}
	msg, text := readMail(t, to("owner@example.com")[0])
	subject, _ := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
	if want := "Вебхук сайта Магазин <b> не принимает доставки: " + crm.URL + "/hook"; subject != want {
		t.Errorf("subject %q, want %q", subject, want)
	}
	for _, want := range []string{"С 01.12.2026 09:00:00 (UTC) ни одна доставка сайта Магазин <b> на адрес " + crm.URL + "/hook не прошла",
		"2 доставки ждут · 6 неудачных попыток", "Последняя ошибка: 500. У получателя произошла собственная ошибка.",
		"Ничего не потеряно", hooksPage} {
		if !strings.Contains(text, want) {
			t.Errorf("the alert does not say %q:\n%s", want, text)
		}
	}
	leak := englishLeakWords(t)
	checkAlertHTML(t, to("owner@example.com")[0], "ru", hooksPage, leak)
	checkAlertHTML(t, to("manager@example.com")[0], "en", hooksPage, leak)

	// A restart over the same store does not tell it again.
	srv = srv.Restart(t, opts)
	sendAlerts()
	clock.Add(time.Minute)
	sendAlerts()
	if n := len(relay.Messages()); n != 2 {
		t.Fatalf("%d emails after a restart, want 2", n)
	}

	// The CRM takes them again: the warning goes, both leads arrive, and
	// one email says it works again.
	status.Store(http.StatusOK)
	clock.Add(20 * time.Minute)
	// The 2xx's outcome is recorded: the episode is over (its record is
	// kept for the recovery's email, or gone if the worker sent it already).
	eventually(t, "both retried deliveries", func() bool { return posts.Load() == 8 && health().FailingSince == 0 })
	_, page = getPage(t, c, hooksPage)
	if strings.Contains(page, `id="failing-`) || strings.Contains(page, `id="hooks-failing"`) || strings.Contains(page, `class="count failing"`) {
		t.Errorf("still failing after a 2xx:\n%s", page)
	}
	if _, page := getPage(t, c, srv.URL+"sites"); strings.Contains(page, `id="hooks-failing-`) {
		t.Errorf("the list of sites still links a failing endpoint after a 2xx")
	}
	if got := failing(); got != 0 {
		t.Errorf("appliance_webhook_endpoints_failing after a 2xx: %v, want 0", got)
	}
	sendAlerts()
	sendAlerts()
	if n := len(relay.Messages()); n != 4 || len(to("owner@example.com")) != 2 {
		t.Fatalf("%d emails after the recovery, want 4", n)
	}
	msg, text = readMail(t, to("owner@example.com")[1])
	if subject, _ := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject")); !strings.Contains(subject, "снова работает") ||
		!strings.Contains(text, "снова принимает доставки") {
		t.Errorf("the recovery email: %q\n%s", subject, text)
	}
	checkAlertHTML(t, to("owner@example.com")[1], "ru", hooksPage, leak)
	checkAlertHTML(t, to("manager@example.com")[1], "en", hooksPage, leak)
	if hl := health(); hl.FailingSince != 0 || hl.Recovered != 0 {
		t.Errorf("health after the recovery was told: %+v", hl)
	}
	srv = srv.Restart(t, opts)
	sendAlerts()
	if n := len(relay.Messages()); n != 4 {
		t.Fatalf("%d emails after another restart, want 4", n)
	}
}

// checkAlertHTML checks a webhook alert's HTML part, beside its text: in
// lang (Russian with no English word of the catalog), with only what an
// email's HTML may have, the site's name "Магазин <b>" as text, one link,
// to the webhooks page, and every line of the text but the page's label
// and URL (spaces aside: the HTML sets a label and its value in cells).
func checkAlertHTML(t *testing.T, m mailtest.Message, lang, page string, leak map[string]bool) {
	t.Helper()
	_, text, htm := mailtest.Read(t, m.Data)
	if htm == "" {
		t.Fatalf("the alert has no HTML part:\n%s", text)
	}
	h := mailtest.CheckHTML(t, htm)
	if h.Lang != lang {
		t.Errorf("<html lang=%q>, want %q", h.Lang, lang)
	}
	if len(h.Links) != 1 {
		t.Errorf("links %v, want one to %s", h.Links, page)
	}
	for label, href := range h.Links {
		if href != page {
			t.Errorf("%q links to %q, want %q", label, href, page)
		}
	}
	if strings.Contains(htm, "Магазин <b>") || !strings.Contains(htm, "Магазин &lt;b&gt;") {
		t.Errorf("the site's name is not escaped in the HTML:\n%s", htm)
	}
	squash := func(s string) string { return strings.Join(strings.Fields(s), "") }
	seen := squash(h.Text)
	lines := strings.Split(text, "\n")
	for i, l := range lines {
		if l == "" || l == "-- " || l == page || i+1 < len(lines) && lines[i+1] == page {
			continue
		}
		if !strings.Contains(seen, squash(l)) {
			t.Errorf("the HTML does not say %q:\n%s", l, h.Text)
		}
	}
	if lang == "ru" {
		if w := englishIn(htm, leak); len(w) != 0 {
			t.Errorf("English in the Russian HTML: %q", w)
		}
	}
}

// Removing a site deletes its endpoints' health in the same write: no
// warning and no email about a site that is gone; another site's stays.
func TestRemoveSiteForgetsWebhookHealth(t *testing.T) {
	srv := httpdtest.Start(t)
	gone := srv.Site(t, "Shop", "shop.example.com")
	kept := srv.Site(t, "Blog", "blog.example.com")
	c := srv.Client(t)
	ctx := context.Background()
	ids := map[string]uint32{}
	for _, k := range []string{gone, kept} {
		s, err := srv.HTTP.Sites().ByKey(k)
		if err != nil {
			t.Fatal(err)
		}
		ids[k] = s.ID
		hl := store.WebhookHealth{FailingSince: 1, Failures: 3, Last: store.DeliveryAttempt{Time: 2, Status: 500}}
		if err := srv.DB.Set(ctx, store.HookHealthKey(s.ID, 7), hl.Encode()); err != nil {
			t.Fatal(err)
		}
	}
	path := "/sites/" + gone + "/settings"
	if code, body, _ := postForm(t, c, srv.URL+"sites/"+gone+"/remove", url.Values{"csrf": {srv.FormToken(t, c, path)}, "confirm": {"Shop"}}); code != http.StatusSeeOther {
		t.Fatalf("remove the site: %d %s", code, body)
	}
	for k, want := range map[string]int{gone: 0, kept: 1} {
		m, err := srv.HTTP.HookHealth(ctx, ids[k])
		if err != nil || len(m) != want {
			t.Errorf("site %s: %d endpoints' health left (%v), want %d", k, len(m), err, want)
		}
	}
}

// An endpoint that answers 410 Gone for an hour is failing too, but its
// deliveries are not tried again: the page says so, and how to send them
// once it has a new URL, rather than that they are kept and retried.
func TestWebhookGoneWarning(t *testing.T) {
	clock := &trClock{now: time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)}
	srv := httpdtest.Start(t, fastHooks, func(o *httpd.Options) { o.Now = clock.Now })
	key := srv.Site(t, "Shop", "shop.example")
	site, err := srv.HTTP.Sites().ByKey(key)
	if err != nil {
		t.Fatal(err)
	}
	c := srv.Client(t)
	crm := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusGone) }))
	defer crm.Close()
	addHook(t, srv, c, key, crm.URL+"/hook")
	v := trackHit(t, srv, key, "", "https://shop.example/", "")
	if st, out, _ := postJSON(t, srv.URL+"t/v1/lead", leadBody(key, v, map[string]any{"phone": "89101234567"})); st != http.StatusOK {
		t.Fatalf("lead: %d %v", st, out)
	}
	eventually(t, "the 410 recorded", func() bool {
		m, _ := srv.HTTP.HookHealth(context.Background(), site.ID)
		return len(m) == 1
	})
	clock.Add(61 * time.Minute)
	_, page := getPage(t, c, srv.URL+"sites/"+key+"/webhooks")
	if !strings.Contains(page, `id="failing-`) || !strings.Contains(page, "0 deliveries waiting · 1 failed attempt") ||
		!strings.Contains(page, `The receiver said this URL is gone for good, so what it refused is not tried again.`) ||
		strings.Contains(page, "Nothing is lost") {
		t.Errorf("the gone endpoint on the webhooks page:\n%s", page)
	}
}
