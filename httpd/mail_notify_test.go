package httpd_test

import (
	"context"
	"encoding/json"
	"html"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	netmail "net/mail"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/emersion/go-smtp"

	"appliance/httpd"
	"appliance/httpd/httpdtest"
	"appliance/httpd/notice"
	"appliance/httpd/notice/mailtest"
	"appliance/store"
)

// readMail parses one message the SMTP server took: its headers and its
// text, decoded (mailtest.Read checks its form).
func readMail(t *testing.T, m mailtest.Message) (*netmail.Message, string) {
	t.Helper()
	msg, text, _ := mailtest.Read(t, m.Data)
	return msg, text
}

// A site's owner gives an email address as an endpoint: each lead and
// callback comes as an email in Russian through the SMTP server serve was
// started with, with what the visitor typed (which cannot add a header)
// and a link to it on the dashboard. A relay that refuses a message gets
// it again later, as a webhook would, and the delivery log says why.
func TestEmailNotifications(t *testing.T) {
	relay := mailtest.Start(t)
	srv := httpdtest.Start(t, fastHooks, func(o *httpd.Options) {
		o.Mail = notice.Options{URL: relay.URL(), From: "Shop <noreply@shop.example>"}
	})
	key := srv.Site(t, "Магазин", "shop.example")
	c := srv.Client(t)
	status, page := postHookForm(t, srv, c, key, "MAILTO:Owner@Shop.example,sales@shop.example", "lead", "callback")
	if status != http.StatusOK || strings.Contains(string(page), "secret-value") || !strings.Contains(string(page), "mailto:Owner@Shop.example,sales@shop.example") {
		t.Fatalf("add mailto endpoint: %d\n%s", status, page)
	}
	if status, page := postHookForm(t, srv, c, key, "mailto:not an address"); status != http.StatusBadRequest || !strings.Contains(string(page), "is not an email address") {
		t.Errorf("a bad address: %d", status)
	}

	v := trackHit(t, srv, key, "", "https://shop.example/promo?utm_source=yandex&utm_medium=cpc&utm_campaign=spring", "")
	hostile := "Перезвоните\r\nBcc: evil@example.com\r\n\r\nпосле обеда"
	if status, out, _ := postJSON(t, srv.URL+"t/v1/lead", leadBody(key, v, map[string]any{"name": "Ann <b>hi</b>", "phone": "+7 910 123-45-67", "message": hostile})); status != http.StatusOK {
		t.Fatalf("lead: %d %v", status, out)
	}
	eventually(t, "the lead's email", func() bool { return len(relay.Messages()) == 1 })
	m := relay.Messages()[0]
	if m.From != "noreply@shop.example" || !slices.Equal(m.To, []string{"Owner@Shop.example", "sales@shop.example"}) {
		t.Errorf("envelope from %q to %v", m.From, m.To)
	}
	msg, text := readMail(t, m)
	subject, err := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
	if err != nil || subject != "Заявка с сайта Магазин: Ann <b>hi</b>" {
		t.Errorf("subject %q, %v", subject, err)
	}
	if id := msg.Header.Get("Message-ID"); !strings.HasPrefix(id, "<appliance.notice.") {
		t.Errorf("a notification's Message-ID %q, want <appliance.notice.…>", id)
	}
	if len(msg.Header["Bcc"]) != 0 || msg.Header.Get("To") != "Owner@Shop.example, sales@shop.example" || msg.Header.Get("From") != `"Shop" <noreply@shop.example>` {
		t.Errorf("headers %v", msg.Header)
	}
	lead := siteLeads(t, srv, key)[0]
	for _, want := range []string{
		"Новая заявка на сайте Магазин.",
		"Телефон: +7 910 123-45-67 (+79101234567)",
		"Имя посетителя: Ann <b>hi</b>\n",
		"Сообщение:\nПерезвоните\nBcc: evil@example.com\n\nпосле обеда\n",
		"Страница: https://shop.example/promo?utm_source=yandex",
		"Источник: реклама / yandex / cpc / spring",
		"Открыть: " + srv.URL + "sites/" + key + "/leads#lead-" + strconv.FormatUint(lead.ID, 10),
		"/visitors/" + strconv.FormatUint(v.VisitorID, 10),
	} {
		if !strings.Contains(text, want) {
			t.Errorf("the email does not say %q:\n%s", want, text)
		}
	}

	for _, u := range []string{"sites/" + key + "/leads", "sites/" + key + "/visitors/" + strconv.FormatUint(v.VisitorID, 10)} {
		if status, _ := getPage(t, c, srv.URL+u); status != http.StatusOK {
			t.Errorf("the email's link %s: %d", u, status)
		}
	}

	// The relay refuses for a while: the delivery waits and says why.
	relay.Refuse(&smtp.SMTPError{Code: 451, Message: "try again later"})
	if status, out, _ := postJSON(t, srv.URL+"t/v1/lead", leadBody(key, v, map[string]any{"phone": "89101112233"})); status != http.StatusOK {
		t.Fatalf("lead: %d %v", status, out)
	}
	eventually(t, "the relay refused it", func() bool { return relay.Tries() >= 2 })
	// The relay counts the try before the appliance logs its answer.
	eventually(t, "the delivery log says why (451 try again later)", func() bool {
		_, log := getPage(t, c, srv.URL+"sites/"+key+"/webhooks")
		return strings.Contains(log, "451 try again later")
	})
	relay.Refuse(nil)
	eventually(t, "the refused email sent again", func() bool { return len(relay.Messages()) == 2 })
	if _, text := readMail(t, relay.Messages()[1]); !strings.Contains(text, "Телефон: 89101112233 (+79101112233)") {
		t.Errorf("the second email:\n%s", text)
	}

	// The relay asks for a login --smtp does not give (530, a 5xx): the
	// delivery waits, and its log says that --smtp is at fault.
	relay.Login("mailer", "s3cret")
	tries := relay.Tries()
	if status, out, _ := postJSON(t, srv.URL+"t/v1/lead", leadBody(key, v, map[string]any{"phone": "89104445566"})); status != http.StatusOK {
		t.Fatalf("lead: %d %v", status, out)
	}
	eventually(t, "the delivery log to name the relay's login", func() bool {
		_, log := getPage(t, c, srv.URL+"sites/"+key+"/webhooks")
		return strings.Contains(html.UnescapeString(log), "530 5.7.0 Authentication required (the SMTP server of --smtp refused its TLS or login")
	})
	relay.Login("", "")
	eventually(t, "the email once the relay takes it", func() bool { return len(relay.Messages()) == 3 })
	if relay.Tries() != tries+1 {
		t.Errorf("%d messages reached DATA, want the one taken", relay.Tries()-tries)
	}
}

// A lead's email has an HTML alternative after its text, in each
// endpoint's language: the lead's fields in a table, the phone a tel:
// link, the email a mailto: link, and a button to the lead on the
// dashboard that opens it. What the visitor typed, markup and all, is
// text in it.
func TestEmailNotificationHTML(t *testing.T) {
	relay := mailtest.Start(t)
	srv := httpdtest.Start(t, fastHooks, func(o *httpd.Options) {
		o.Mail = notice.Options{URL: relay.URL(), From: "Shop <noreply@shop.example>"}
	})
	key := srv.Site(t, "Магазин", "shop.example")
	c := srv.Client(t)
	for _, u := range []string{"mailto:ru@shop.example", "mailto:en@shop.example?lang=en"} {
		if status, page := postHookForm(t, srv, c, key, u, "lead"); status != http.StatusOK {
			t.Fatalf("add %s: %d\n%s", u, status, page)
		}
	}
	v := trackHit(t, srv, key, "", "https://shop.example/", "")
	name := `Ann <script>alert(1)</script>`
	message := `Call me "><img src=x onerror=alert(2)>`
	if status, out, _ := postJSON(t, srv.URL+"t/v1/lead", leadBody(key, v, map[string]any{"name": name, "message": message,
		"phone": "+7 910 123-45-67", "email": "Ann@Shop.example"})); status != http.StatusOK {
		t.Fatalf("lead: %d %v", status, out)
	}
	eventually(t, "the lead's two emails", func() bool { return len(relay.Messages()) == 2 })
	lead := siteLeads(t, srv, key)[0]
	leadURL := srv.URL + "sites/" + key + "/leads#lead-" + strconv.FormatUint(lead.ID, 10)
	for _, m := range relay.Messages() {
		_, text, htm := mailtest.Read(t, m.Data)
		h := mailtest.CheckHTML(t, htm)
		want := struct{ lang, intro, name, open string }{"ru", "Новая заявка на сайте Магазин.", "Имя посетителя", "Открыть заявку"}
		if m.To[0] == "en@shop.example" {
			want.lang, want.intro, want.name, want.open = "en", "A lead on Магазин.", "Visitor's name", "Open the lead"
		}
		if h.Lang != want.lang {
			t.Errorf("to %s: <html lang=%q>, want %q", m.To[0], h.Lang, want.lang)
		}
		for _, w := range []string{want.intro, want.name, name, message} {
			if !strings.Contains(h.Text, w) || !strings.Contains(text, w) {
				t.Errorf("to %s: the HTML or the text does not say %q:\n%s\n%s", m.To[0], w, text, htm)
			}
		}
		if strings.Contains(htm, "<script") || strings.Contains(htm, "<img") || !strings.Contains(htm, "&lt;script&gt;alert(1)&lt;/script&gt;") || !strings.Contains(htm, "&#34;&gt;&lt;img src=x onerror=alert(2)&gt;") {
			t.Errorf("to %s: the visitor's words are not escaped in the HTML:\n%s", m.To[0], htm)
		}
		if got := h.Links["+7 910 123-45-67 (+79101234567)"]; got != "tel:+79101234567" {
			t.Errorf("to %s: the phone links to %q (links %v)", m.To[0], got, h.Links)
		}
		if got := h.Links["Ann@Shop.example (ann@shop.example)"]; got != "mailto:ann@shop.example" {
			t.Errorf("to %s: the email links to %q (links %v)", m.To[0], got, h.Links)
		}
		if got := h.Links[want.open]; got != leadURL {
			t.Errorf("to %s: the lead's button goes to %q, want %q", m.To[0], got, leadURL)
		}
	}
	if status, page := getPage(t, c, leadURL); status != http.StatusOK || !strings.Contains(page, `id="lead-`+strconv.FormatUint(lead.ID, 10)+`"`) {
		t.Errorf("the button's page: %d, without the lead", status)
	}
}

// Without an SMTP server an email endpoint's deliveries wait, and the
// delivery log says what is missing; nothing is lost.
func TestEmailWithoutSMTPWaits(t *testing.T) {
	srv := httpdtest.Start(t, fastHooks)
	key := srv.Site(t, "Shop", "shop.example")
	c := srv.Client(t)
	if status, page := postHookForm(t, srv, c, key, "mailto:owner@shop.example"); status != http.StatusOK {
		t.Fatalf("add: %d\n%s", status, page)
	}
	v := trackHit(t, srv, key, "", "https://shop.example/", "")
	if status, out, _ := postJSON(t, srv.URL+"t/v1/lead", leadBody(key, v, map[string]any{"phone": "89101112233"})); status != http.StatusOK {
		t.Fatalf("lead: %d %v", status, out)
	}
	eventually(t, "the delivery log says why", func() bool {
		_, log := getPage(t, c, srv.URL+"sites/"+key+"/webhooks")
		return strings.Contains(log, "no SMTP server to send email through") && strings.Contains(log, "mailto:owner@shop.example")
	})
	if _, log := getPageIn(t, c, srv.URL+"sites/"+key+"/webhooks", "ru"); !strings.Contains(html.UnescapeString(log), "Не настроен почтовый сервер для отправки писем") {
		t.Errorf("the Russian delivery log does not say why in words:\n%s", log)
	}
}

// botAPI is Telegram's Bot API as a bot's sendMessage meets it: it keeps
// each message by chat, and answers as told.
type botAPI struct {
	mu     sync.Mutex
	token  string
	got    []map[string]any
	refuse string // a description to refuse with (403), "" to take
}

func (b *botAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if r.URL.Path != "/bot"+b.token+"/sendMessage" {
		http.Error(w, `{"ok":false,"error_code":404,"description":"Not Found"}`, http.StatusNotFound)
		return
	}
	if b.refuse != "" {
		w.WriteHeader(http.StatusForbidden)
		json.NewEncoder(w).Encode(map[string]any{"ok": false, "error_code": 403, "description": b.refuse})
		return
	}
	var m map[string]any
	json.NewDecoder(r.Body).Decode(&m)
	b.got = append(b.got, m)
	w.Write([]byte(`{"ok":true,"result":{"message_id":1}}`))
}

func (b *botAPI) messages() []map[string]any {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.got)
}

// A Telegram chat as an endpoint: the site's owner gives the chat and the
// bot's token (as the endpoint's secret), and each lead comes as the bot's
// message; a bot the chat has blocked is refused for good (the Bot API's
// 403): the delivery log says why, never shows the token, and nothing
// tries it again until the owner, the bot unblocked, sends it again.
func TestTelegramNotifications(t *testing.T) {
	const token = "123456789:AAEhBOweik9ai2o4_mcP-9a8R2nT7xYzAbc"
	api := &botAPI{token: token, refuse: "Forbidden: bot was blocked by the user"}
	apiSrv := httptest.NewServer(api)
	defer apiSrv.Close()
	srv := httpdtest.Start(t, fastHooks, func(o *httpd.Options) { o.TelegramAPI = apiSrv.URL })
	key := srv.Site(t, "Shop", "shop.example")
	c := srv.Client(t)
	add := func(u, secret string) (int, string) {
		t.Helper()
		csrf := srv.FormToken(t, c, "sites/"+key+"/webhooks")
		resp, err := c.PostForm(srv.URL+"sites/"+key+"/webhooks", url.Values{"csrf": {csrf}, "url": {u}, "secret": {secret}, "events": {"lead"}})
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if status, page := add("telegram:-1001234567890", ""); status != http.StatusBadRequest || !strings.Contains(page, "token as @BotFather gives it") {
		t.Errorf("a Telegram endpoint without a token: %d", status)
	}
	if status, _ := add("telegram:me", token); status != http.StatusBadRequest {
		t.Errorf("a chat that is no id: %d", status)
	}
	if status, page := add("telegram:-1001234567890?lang=en", token); status != http.StatusOK || strings.Contains(page, token) {
		t.Fatalf("add: %d (the page shows the token: %v)", status, strings.Contains(page, token))
	}
	v := trackHit(t, srv, key, "", "https://shop.example/", "")
	if status, out, _ := postJSON(t, srv.URL+"t/v1/lead", leadBody(key, v, map[string]any{"name": "Ann", "phone": "89101112233"})); status != http.StatusOK {
		t.Fatalf("lead: %d %v", status, out)
	}
	log := ""
	eventually(t, "the delivery log says the bot is blocked", func() bool {
		_, log = getPage(t, c, srv.URL+"sites/"+key+"/webhooks")
		return strings.Contains(log, "403 Forbidden: bot was blocked by the user") && strings.Contains(log, `<td class="state">refused by Telegram`)
	})
	if strings.Contains(log, token) || strings.Contains(log, "AAEhBOweik9ai2o4") {
		t.Error("the webhooks page shows the bot's token")
	}
	entries := 0
	if err := srv.DB.ScanPrefix(context.Background(), store.DuePrefix(store.DueDelivery), false, 0, func(_, _ []byte) bool { entries++; return true }); err != nil {
		t.Fatal(err)
	}
	if entries != 0 {
		t.Errorf("a delivery the Bot API refused for good is still queued (%d)", entries)
	}
	api.mu.Lock()
	api.refuse = ""
	api.mu.Unlock()
	delivery := regexp.MustCompile(`<tr id="delivery-(\d+)">`).FindStringSubmatch(log)[1]
	if status, _ := submitForm(t, c, srv, "sites/"+key+"/webhooks", "sites/"+key+"/webhooks/resend", url.Values{"id": {delivery}}); status != http.StatusSeeOther {
		t.Fatalf("send again: %d", status)
	}
	eventually(t, "the message sent again", func() bool { return len(api.messages()) == 1 })
	m := api.messages()[0]
	text, _ := m["text"].(string)
	if m["chat_id"] != "-1001234567890" || !strings.HasPrefix(text, "Lead from Shop: Ann\n\n") || !strings.Contains(text, "Phone: 89101112233 (+79101112233)") {
		t.Errorf("the bot sent %v", m)
	}

	// "Send a test" reaches the chat at once.
	_, page := getPage(t, c, srv.URL+"sites/"+key+"/webhooks")
	id := regexp.MustCompile(`<tr id="endpoint-(\d+)">`).FindStringSubmatch(page)[1]
	if page := testHook(t, srv, c, key, id); !strings.Contains(page, "The test was taken: 200") {
		t.Errorf("send a test: the page does not say it was taken")
	}
	if got := api.messages(); len(got) != 2 || !strings.HasPrefix(got[1]["text"].(string), "Test notification from Shop\n\n") {
		t.Errorf("the test message: %v", got)
	}
	// Changed to another chat, with the token kept.
	csrf := srv.FormToken(t, c, "sites/"+key+"/webhooks")
	resp, err := c.PostForm(srv.URL+"sites/"+key+"/webhooks/change", url.Values{"csrf": {csrf}, "id": {id}, "url": {"telegram:@shop_orders"}, "events": {"lead"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if page := testHook(t, srv, c, key, id); !strings.Contains(page, "The test was taken: 200") || api.messages()[2]["chat_id"] != "@shop_orders" {
		t.Errorf("after the change, the test went to %v", api.messages())
	}
}

// An SMTP server that refuses a notification's address for good (550,
// no such mailbox) is not given it again and again: the email goes to the
// endpoint's other addresses, and its log names the one refused with the
// server's answer as it gave it; when it refuses every address, the
// delivery ends refused, out of the queue, until the owner mends the
// addresses and sends it again by hand.
func TestEmailNotificationRefused(t *testing.T) {
	relay := mailtest.Start(t)
	srv := httpdtest.Start(t, fastHooks, func(o *httpd.Options) {
		o.Mail = notice.Options{URL: relay.URL(), From: "Shop <noreply@shop.example>"}
	})
	key := srv.Site(t, "Shop", "shop.example")
	c := srv.Client(t)
	if status, page := postHookForm(t, srv, c, key, "mailto:sales@shop.example,nobody@shop.example?lang=en", "lead"); status != http.StatusOK {
		t.Fatalf("add mailto endpoint: %d\n%s", status, page)
	}
	noMailbox := &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such mailbox"}
	relay.RefuseRcpt("nobody@shop.example", noMailbox)
	v := trackHit(t, srv, key, "", "https://shop.example/", "")
	lead := func(phone string) {
		t.Helper()
		if status, out, _ := postJSON(t, srv.URL+"t/v1/lead", leadBody(key, v, map[string]any{"phone": phone})); status != http.StatusOK {
			t.Fatalf("lead: %d %v", status, out)
		}
	}
	deliveries := func() string {
		_, log := getPage(t, c, srv.URL+"sites/"+key+"/webhooks")
		return html.UnescapeString(log)
	}
	lead("89101112233")
	eventually(t, "the email to the address taken", func() bool {
		if log := deliveries(); strings.Contains(log, "refused by the mail server") || strings.Contains(log, `<td class="state">retrying`) {
			t.Fatalf("one address refused held the email from the other:\n%s", log)
		}
		return len(relay.Messages()) == 1
	})
	if to := relay.Messages()[0].To; !slices.Equal(to, []string{"sales@shop.example"}) {
		t.Errorf("the email went to %v", to)
	}
	eventually(t, "the delivery log to say delivered", func() bool { return strings.Contains(deliveries(), `<td class="state">delivered`) })
	if log := deliveries(); !strings.Contains(log, "refused for nobody@shop.example: 550 5.1.1 no such mailbox") {
		t.Errorf("the delivery log does not name the address refused with the server's answer:\n%s", log)
	}

	// Every address refused: the delivery ends, nothing retries it.
	relay.RefuseRcpt("sales@shop.example", noMailbox)
	lead("89104445566")
	log := ""
	eventually(t, "the delivery log to say refused", func() bool {
		log = deliveries()
		return strings.Contains(log, `<td class="state">refused by the mail server`)
	})
	if !strings.Contains(log, "refused for sales@shop.example: 550 5.1.1 no such mailbox; nobody@shop.example: 550 5.1.1 no such mailbox") {
		t.Errorf("the delivery log does not give the server's answers:\n%s", log)
	}
	entries := 0
	if err := srv.DB.ScanPrefix(context.Background(), store.DuePrefix(store.DueDelivery), false, 0, func(_, _ []byte) bool { entries++; return true }); err != nil {
		t.Fatal(err)
	}
	if entries != 0 || len(relay.Messages()) != 1 {
		t.Errorf("after every address was refused: %d deliveries queued, %d emails; want none queued, the first email only", entries, len(relay.Messages()))
	}

	relay.RefuseRcpt("sales@shop.example", nil) // the addresses mended
	relay.RefuseRcpt("nobody@shop.example", nil)
	id := regexp.MustCompile(`<tr id="delivery-(\d+)">`).FindStringSubmatch(log)[1]
	if status, _ := submitForm(t, c, srv, "sites/"+key+"/webhooks", "sites/"+key+"/webhooks/resend", url.Values{"id": {id}}); status != http.StatusSeeOther {
		t.Fatalf("send again: %d", status)
	}
	eventually(t, "the email sent again", func() bool { return len(relay.Messages()) == 2 })
	if to := relay.Messages()[1].To; len(to) != 2 {
		t.Errorf("sent again to %v, want both", to)
	}
	eventually(t, "the delivery log to say both delivered", func() bool { return strings.Count(deliveries(), `<td class="state">delivered`) == 2 })
}
