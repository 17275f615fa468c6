package httpd_test

import (
	"context"
	"mime"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
	"golang.org/x/net/html"

	"appliance/httpd"
	"appliance/httpd/accounts"
	"appliance/httpd/httpdtest"
	"appliance/httpd/notice"
	"appliance/httpd/notice/mailtest"
	"appliance/store"
)

// The weekly report digest through the real server and a real SMTP
// server, under a moved clock: the owner subscribes on the account page;
// nothing comes before Monday 08:00 in the site's zone (Moscow), exactly
// one digest with the week's figures against the week before comes at
// it, a restart sends no second one, a server down on a Monday sends the
// latest missed week when it starts (only that one), and the email's
// link unsubscribes without signing in: GET shows a button, POST stops it.
func TestWeeklyDigest(t *testing.T) {
	relay := mailtest.Start(t)
	clock := &trClock{now: time.Date(2026, 11, 18, 9, 0, 0, 0, time.UTC)} // Wednesday of the week before
	opts := func(o *httpd.Options) {
		o.Now = clock.Now
		o.Chats.Sweep = time.Hour
		o.Mail = notice.Options{URL: relay.URL(), From: "noreply@shop.example"}
	}
	f := shopFixture(t, clock, opts)
	ctx := context.Background()
	site, err := f.srv.HTTP.Sites().SetTimeZone(ctx, f.site.Key, "Europe/Moscow")
	if err != nil {
		t.Fatal(err)
	}
	f.site = site
	setUpNumbers(t, f)
	key := f.site.Key

	// The week before: one visit (a person's: Go's own agent is a bot's).
	browserHit(t, f.srv, key, "https://shop.example.com/")
	// The week: three visits, one from yandex with a lead (a person's: a
	// crawler's lead is credited to no source), two calls to yandex's
	// number (one answered).
	clock.Set(time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC))
	for _, u := range []string{"https://shop.example.com/", "https://shop.example.com/about"} {
		browserHit(t, f.srv, key, u)
	}
	v := personHit(t, f.srv, key, "", "https://shop.example.com/?utm_source=yandex&utm_medium=organic", "")
	if status, out, _ := postJSON(t, f.srv.URL+"t/v1/lead", leadBody(key, v, map[string]any{"name": "Ann", "phone": "+7 910 123-45-67"})); status != http.StatusOK {
		t.Fatalf("lead: %d %v", status, out)
	}
	tok := apiToken(t, f)
	for _, answered := range []string{"true", "false"} {
		if code, raw := api(t, f, "POST", "api/v1/calls", tok, `{"called":"`+tkYandex+`","caller":"79161234567","answered":`+answered+`,"duration":30}`); code != http.StatusOK {
			t.Fatalf("call: %d %s", code, raw)
		}
	}

	// Sunday evening: the owner subscribes to the weekly digest.
	clock.Set(time.Date(2026, 11, 29, 20, 0, 0, 0, time.UTC))
	c := f.srv.Client(t)
	if status, page := getPage(t, c, f.srv.URL+"account"); status != http.StatusOK || !strings.Contains(page, `id="digests-form"`) {
		t.Fatalf("account page: %d, no digests form", status)
	}
	if code, body, _ := postForm(t, c, f.srv.URL+"account/digests", url.Values{"csrf": {f.srv.FormToken(t, c, "/account")}, "weekly": {key}}); code != http.StatusSeeOther {
		t.Fatalf("subscribe: %d %s", code, body)
	}
	if _, page := getPage(t, c, f.srv.URL+"account"); !regexp.MustCompile(`name="weekly" value="` + key + `"[^>]*checked`).MatchString(page) {
		t.Errorf("the account page does not show the subscription")
	}
	send := func(want int) {
		t.Helper()
		n, err := f.srv.HTTP.SendDigests(ctx)
		if err != nil || n != want {
			t.Fatalf("at %s: %d digests sent (%v), want %d", clock.Now(), n, err, want)
		}
	}
	send(0)
	clock.Set(time.Date(2026, 11, 30, 4, 59, 0, 0, time.UTC)) // 07:59 in Moscow
	send(0)
	clock.Set(time.Date(2026, 11, 30, 5, 0, 0, 0, time.UTC)) // 08:00
	// The SMTP server refuses it for a while: tried again an hour later,
	// not at every pass, and then sent.
	relay.Refuse(&smtp.SMTPError{Code: 451, Message: "try again later"})
	if n, err := f.srv.HTTP.SendDigests(ctx); n != 0 || err == nil || relay.Tries() != 1 {
		t.Fatalf("a refused digest: %d sent, %v", n, err)
	}
	clock.Set(time.Date(2026, 11, 30, 5, 59, 0, 0, time.UTC))
	if n, err := f.srv.HTTP.SendDigests(ctx); n != 0 || err != nil || relay.Tries() != 1 {
		t.Fatalf("within the hour after a refusal: %d sent, %v, %d tries, want no second try", n, err, relay.Tries())
	}
	relay.Refuse(nil)
	clock.Set(time.Date(2026, 11, 30, 6, 0, 0, 0, time.UTC))
	send(1)
	send(0)
	if n := len(relay.Messages()); n != 1 {
		t.Fatalf("%d emails, want 1", n)
	}
	m := relay.Messages()[0]
	msg, text := readMail(t, m)
	subject, _ := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
	if id := msg.Header.Get("Message-ID"); !strings.HasPrefix(id, "<appliance.digest.") {
		t.Errorf("a digest's Message-ID %q, want <appliance.digest.…>", id)
	}
	if len(m.To) != 1 || m.To[0] != "owner@example.com" {
		t.Errorf("sent to %v", m.To)
	}
	if subject != "Еженедельный отчёт по сайту Shop: 23.11.2026 – 29.11.2026" {
		t.Errorf("subject %q", subject)
	}
	for _, want := range []string{
		"Визиты: 3 (+200%)\n",
		"Заявки: 1 (",
		"Звонки: 2 (",
		"отвеченных: 1, пропущенных: 1\n",
		"yandex: заявок: 1, звонков: 2\n",
		f.srv.URL + "sites/" + key + "/reports?from=2026-11-23&to=2026-11-29\n",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("the digest does not say %q:\n%s", want, text)
		}
	}

	// A restart sends no second digest for the week.
	restart := func(at time.Time) {
		t.Helper()
		// Over the same store, on a fresh port (a client's connection
		// may still hold the old one). The clock moves (at) while the
		// server is down: a server's first pass, which may run late,
		// never sees the time it was down over.
		f.srv.Stop()
		if !at.IsZero() {
			clock.Set(at)
		}
		f.srv = httpdtest.StartAt(t, f.srv.Dir, opts)
	}
	restart(time.Time{})
	send(0)
	if n := len(relay.Messages()); n != 1 {
		t.Fatalf("after a restart %d emails, want 1", n)
	}

	// Down over two Mondays: at start only the latest week is sent.
	restart(time.Date(2026, 12, 15, 10, 0, 0, 0, time.UTC))
	eventually(t, "the missed digest", func() bool { return len(relay.Messages()) == 2 })
	send(0)
	msg, text = readMail(t, relay.Messages()[1])
	if subject, _ := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject")); subject != "Еженедельный отчёт по сайту Shop: 07.12.2026 – 13.12.2026" {
		t.Errorf("the missed digest's subject %q", subject)
	}

	// The link unsubscribes without signing in; GET alone does not.
	link := regexp.MustCompile(`Отписаться: (\S+)`).FindStringSubmatch(text)
	if link == nil {
		t.Fatalf("no unsubscribe link:\n%s", text)
	}
	anon := &http.Client{}
	status, page := getPage(t, anon, link[1])
	if status != http.StatusOK || !strings.Contains(page, `id="unsubscribe-form"`) {
		t.Fatalf("unsubscribe page: %d\n%s", status, page)
	}
	clock.Set(time.Date(2026, 12, 21, 5, 0, 0, 0, time.UTC))
	send(1) // still subscribed after the GET
	u, _ := url.Parse(link[1])
	code, body, _ := postForm(t, anon, f.srv.URL+"digest/unsubscribe", url.Values{"token": {u.Query().Get("token")}})
	if code != http.StatusOK || !strings.Contains(body, `id="unsubscribed"`) {
		t.Fatalf("unsubscribe: %d\n%s", code, body)
	}
	clock.Set(time.Date(2026, 12, 28, 5, 0, 0, 0, time.UTC))
	send(0)
	if code, _ := getPage(t, anon, f.srv.URL+"digest/unsubscribe?token="+u.Query().Get("token")+"x"); code != http.StatusBadRequest {
		t.Errorf("a forged token: %d", code)
	}
}

// An operator, who cannot see reports, has no digests and cannot
// subscribe; a server without SMTP says so and takes no subscription.
func TestDigestSubscribeRefused(t *testing.T) {
	relay := mailtest.Start(t)
	srv := httpdtest.Start(t, func(o *httpd.Options) { o.Mail = notice.Options{URL: relay.URL(), From: "noreply@shop.example"} })
	key := srv.Site(t, "Shop", "shop.example.com")
	op := signInAs(t, srv, accounts.RoleOperator)
	if _, page := getPage(t, op, srv.URL+"account"); strings.Contains(page, `id="digests"`) {
		t.Errorf("an operator's account page offers digests")
	}
	if code, _, _ := postForm(t, op, srv.URL+"account/digests", url.Values{"csrf": {srv.FormToken(t, op, "/account")}, "weekly": {key}}); code != http.StatusForbidden {
		t.Errorf("an operator subscribes: %d", code)
	}

	bare := httpdtest.Start(t)
	bkey := bare.Site(t, "Shop", "shop.example.com")
	c := bare.Client(t)
	if _, page := getPage(t, c, bare.URL+"account"); !strings.Contains(page, `id="digests-no-mail"`) || strings.Contains(page, `id="digests-form"`) {
		t.Errorf("without SMTP the account page does not say there are no digests")
	}
	if code, _, _ := postForm(t, c, bare.URL+"account/digests", url.Values{"csrf": {bare.FormToken(t, c, "/account")}, "weekly": {bkey}}); code != http.StatusConflict {
		t.Errorf("subscribe without SMTP: %d", code)
	}
}

// Removing a site deletes its digest subscriptions and sent markers in
// the same write, of every subscriber; another site's stay.
func TestRemoveSiteEndsItsDigests(t *testing.T) {
	relay := mailtest.Start(t)
	srv := httpdtest.Start(t, func(o *httpd.Options) { o.Mail = notice.Options{URL: relay.URL(), From: "noreply@shop.example"} })
	gone := srv.Site(t, "Shop", "shop.example.com")
	kept := srv.Site(t, "Blog", "blog.example.com")
	c := srv.Client(t)
	if code, body, _ := postForm(t, c, srv.URL+"account/digests", url.Values{"csrf": {srv.FormToken(t, c, "/account")},
		"daily": {gone}, "weekly": {gone, kept}}); code != http.StatusSeeOther {
		t.Fatalf("subscribe: %d %s", code, body)
	}
	ids := map[string]uint32{}
	for _, k := range []string{gone, kept} {
		s, err := srv.HTTP.Sites().ByKey(k)
		if err != nil {
			t.Fatal(err)
		}
		ids[k] = s.ID
	}
	// Another user's subscription to the site, written as subscribe does.
	ctx := context.Background()
	if err := srv.DB.Update(ctx, func(tx *store.Tx) error {
		tx.Set(store.DigestSubKey(ids[gone], "m@example.com"), []byte{store.DigestDaily})
		tx.Set(store.DigestSentKey(store.DigestDaily, ids[gone], "m@example.com"), []byte{0, 0, 80, 0})
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	count := func(site uint32) int {
		n := 0
		for _, p := range [][]byte{store.DigestSubSitePrefix(site), store.DigestSentSitePrefix(store.DigestDaily, site), store.DigestSentSitePrefix(store.DigestWeekly, site)} {
			if err := srv.DB.ScanPrefix(ctx, p, false, 0, func(_, _ []byte) bool { n++; return true }); err != nil {
				t.Fatal(err)
			}
		}
		return n
	}
	// The owner's subscription and two markers, and m@'s two keys.
	if n := count(ids[gone]); n != 5 {
		t.Fatalf("%d digest keys of the site before its removal, want 5", n)
	}
	path := "/sites/" + gone + "/settings"
	if code, body, _ := postForm(t, c, srv.URL+"sites/"+gone+"/remove", url.Values{"csrf": {srv.FormToken(t, c, path)}, "confirm": {"Shop"}}); code != http.StatusSeeOther {
		t.Fatalf("remove the site: %d %s", code, body)
	}
	if n := count(ids[gone]); n != 0 {
		t.Errorf("%d digest keys of the removed site left", n)
	}
	if n := count(ids[kept]); n != 2 {
		t.Errorf("%d digest keys of the other site, want 2 (a subscription and its marker)", n)
	}
	if _, err := srv.DB.Get(store.DigestSubKey(ids[kept], "owner@example.com")); err != nil {
		t.Errorf("the other site's subscription: %v", err)
	}
}

// The daily digest's HTML, after its text, in the reader's language
// (English here): the figures in a table, each change with an arrow and
// a sign as well as a colour, the top sources (a source's name is what a
// visitor's link said, so it is escaped), a button to the day's report,
// and the unsubscribe link of the text.
func TestDigestHTML(t *testing.T) {
	relay := mailtest.Start(t)
	clock := &trClock{now: time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)} // Monday
	f := shopFixture(t, clock, func(o *httpd.Options) {
		o.Now = clock.Now
		o.Chats.Sweep = time.Hour
		o.Mail = notice.Options{URL: relay.URL(), From: "noreply@shop.example"}
	})
	ctx := context.Background()
	site, err := f.srv.HTTP.Sites().SetTimeZone(ctx, f.site.Key, "Europe/Moscow")
	if err != nil {
		t.Fatal(err)
	}
	key := site.Key
	// Monday: two visits. Tuesday: one, with a lead, from a source whose
	// name is markup (a person's visit: a crawler's lead is credited to
	// no source).
	browserHit(t, f.srv, key, "https://shop.example.com/")
	browserHit(t, f.srv, key, "https://shop.example.com/about")
	clock.Set(time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC))
	evil := `<script>alert(1)</script>"><img src=x onerror=alert(2)>`
	v := personHit(t, f.srv, key, "", "https://shop.example.com/?utm_source="+url.QueryEscape(evil), "")
	if status, out, _ := postJSON(t, f.srv.URL+"t/v1/lead", leadBody(key, v, map[string]any{"name": "Ann", "phone": "+7 910 123-45-67"})); status != http.StatusOK {
		t.Fatalf("lead: %d %v", status, out)
	}
	c := f.srv.Client(t)
	if err := accounts.New(f.srv.DB).SetLang(ctx, "owner@example.com", "en"); err != nil {
		t.Fatal(err)
	}
	if code, body, _ := postForm(t, c, f.srv.URL+"account/digests", url.Values{"csrf": {f.srv.FormToken(t, c, "/account")}, "daily": {key}}); code != http.StatusSeeOther {
		t.Fatalf("subscribe: %d %s", code, body)
	}
	clock.Set(time.Date(2026, 11, 25, 5, 0, 0, 0, time.UTC)) // 08:00 in Moscow
	if n, err := f.srv.HTTP.SendDigests(ctx); n != 1 || err != nil {
		t.Fatalf("%d digests sent, %v", n, err)
	}
	msg, text, htm := mailtest.Read(t, relay.Messages()[0].Data)
	if subject, _ := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject")); subject != "Daily report of Shop: 2026-11-24" {
		t.Errorf("subject %q", subject)
	}
	h := mailtest.CheckHTML(t, htm)
	if h.Lang != "en" {
		t.Errorf("<html lang=%q>", h.Lang)
	}
	// The figures' rows, as a reader sees them: the label, the value, the
	// change with its arrow and sign.
	rows := tableRows(t, htm, "figures")
	for _, want := range []string{
		"Figure|2026-11-24|Change on the period before",
		"Visits|1|▼ -50%",
		"Leads|1|▲ from none",
		"Calls answered: 0, missed: 0|0|no change",
	} {
		if !slices.Contains(rows, want) {
			t.Errorf("the figures have no row %q: %q", want, rows)
		}
	}
	if !strings.Contains(htm, `color:#b3261e;">▼&nbsp;-50%`) || !strings.Contains(htm, `color:#137333;">▲&nbsp;from none`) {
		t.Errorf("a change has no colour:\n%s", htm)
	}
	if top := tableRows(t, htm, "top-sources"); !slices.Equal(top, []string{"Source|Leads|Calls", evil + "|1|0"}) {
		t.Errorf("top sources %q", top)
	}
	if strings.Contains(htm, "<script") || strings.Contains(htm, "<img") {
		t.Errorf("a source's name is markup in the HTML:\n%s", htm)
	}
	report := f.srv.URL + "sites/" + key + "/reports?from=2026-11-24&to=2026-11-24"
	if got := h.Links["Open the period's report"]; got != report {
		t.Errorf("the report's button goes to %q, want %q", got, report)
	}
	if status, _ := getPage(t, c, report); status != http.StatusOK {
		t.Errorf("the report's page: %d", status)
	}
	unsub := regexp.MustCompile(`Unsubscribe: (\S+)`).FindStringSubmatch(text)
	if unsub == nil || h.Links["Unsubscribe from this digest"] != unsub[1] {
		t.Errorf("the HTML's unsubscribe link %q, the text's %q", h.Links["Unsubscribe from this digest"], unsub)
	}
	for _, w := range []string{"Visits: 1 (-50%)\n", "Leads: 1 (from none)\n", report + "\n"} {
		if !strings.Contains(text, w) {
			t.Errorf("the text does not say %q:\n%s", w, text)
		}
	}
}

// tableRows is the rows of the table with id in page, each row's cells'
// text (spaces made one) joined by "|".
func tableRows(t *testing.T, page, id string) []string {
	t.Helper()
	doc, err := html.Parse(strings.NewReader(page))
	if err != nil {
		t.Fatal(err)
	}
	var table *html.Node
	var find func(n *html.Node)
	find = func(n *html.Node) {
		for _, a := range n.Attr {
			if a.Key == "id" && a.Val == id {
				table = n
			}
		}
		for c := n.FirstChild; c != nil && table == nil; c = c.NextSibling {
			find(c)
		}
	}
	find(doc)
	if table == nil {
		t.Fatalf("no table %q:\n%s", id, page)
	}
	var text func(n *html.Node) string
	text = func(n *html.Node) string {
		if n.Type == html.TextNode {
			return n.Data
		}
		var b strings.Builder
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			b.WriteString(text(c) + " ")
		}
		return b.String()
	}
	var rows []string
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode && n.Data == "tr" {
			var cells []string
			for c := n.FirstChild; c != nil; c = c.NextSibling {
				if c.Type == html.ElementNode {
					cells = append(cells, strings.Join(strings.Fields(text(c)), " "))
				}
			}
			rows = append(rows, strings.Join(cells, "|"))
			return
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(table)
	return rows
}

// A digest the SMTP server refuses for good (550: no such mailbox) is not
// asked again for its period, an hour later or at any later pass, as a
// notification's or an account email's is not; the next period's is
// tried, and sent once the mailbox takes it.
func TestDigestRefusedForGood(t *testing.T) {
	relay := mailtest.Start(t)
	clock := &trClock{now: time.Date(2026, 11, 29, 20, 0, 0, 0, time.UTC)} // a Sunday evening
	srv := httpdtest.Start(t, func(o *httpd.Options) {
		o.Now = clock.Now
		o.Mail = notice.Options{URL: relay.URL(), From: "noreply@shop.example"}
	})
	key := srv.Site(t, "Shop", "shop.example.com")
	c := srv.Client(t)
	if code, body, _ := postForm(t, c, srv.URL+"account/digests", url.Values{"csrf": {srv.FormToken(t, c, "/account")}, "weekly": {key}}); code != http.StatusSeeOther {
		t.Fatalf("subscribe: %d %s", code, body)
	}
	ctx := context.Background()
	clock.Set(time.Date(2026, 11, 30, 8, 0, 0, 0, time.UTC)) // Monday 08:00 UTC: due
	relay.Refuse(&smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such mailbox"})
	if n, err := srv.HTTP.SendDigests(ctx); n != 0 || err == nil || !strings.Contains(err.Error(), "550 5.1.1 no such mailbox") || relay.Tries() != 1 {
		t.Fatalf("a digest refused for good: %d sent, %v, %d tries", n, err, relay.Tries())
	}
	relay.Refuse(nil)
	for _, at := range []time.Time{time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC), time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)} {
		clock.Set(at)
		if n, err := srv.HTTP.SendDigests(ctx); n != 0 || err != nil || relay.Tries() != 1 {
			t.Fatalf("at %s, after the refusal for good: %d sent, %v, %d tries; want no second try", at, n, err, relay.Tries())
		}
	}
	clock.Set(time.Date(2026, 12, 7, 8, 0, 0, 0, time.UTC)) // the next Monday
	if n, err := srv.HTTP.SendDigests(ctx); n != 1 || err != nil || len(relay.Messages()) != 1 {
		t.Fatalf("the next week's digest: %d sent, %v, %d emails", n, err, len(relay.Messages()))
	}
}
