package httpd_test

import (
	"io"
	"mime"
	"mime/quotedprintable"
	"net/http"
	netmail "net/mail"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/emersion/go-smtp"

	"appliance/httpd"
	"appliance/httpd/httpdtest"
	"appliance/httpd/mail"
	"appliance/httpd/mail/mailtest"
)

// readMail parses one message the SMTP server took: its headers and its
// text, decoded.
func readMail(t *testing.T, m mailtest.Message) (*netmail.Message, string) {
	t.Helper()
	msg, err := netmail.ReadMessage(strings.NewReader(string(m.Data)))
	if err != nil {
		t.Fatalf("not a message: %v\n%s", err, m.Data)
	}
	if msg.Header.Get("Content-Transfer-Encoding") != "quoted-printable" || msg.Header.Get("Content-Type") != "text/plain; charset=utf-8" {
		t.Errorf("headers %v", msg.Header)
	}
	text, err := io.ReadAll(quotedprintable.NewReader(msg.Body))
	if err != nil {
		t.Fatal(err)
	}
	return msg, strings.ReplaceAll(string(text), "\r\n", "\n")
}

// A site's owner gives an email address as an endpoint: each lead and
// callback comes as an email in Russian through the SMTP server serve was
// started with, with what the visitor typed (which cannot add a header)
// and a link to it on the dashboard. A relay that refuses a message gets
// it again later, as a webhook would, and the delivery log says why.
func TestEmailNotifications(t *testing.T) {
	relay := mailtest.Start(t)
	srv := httpdtest.Start(t, fastHooks, func(o *httpd.Options) {
		o.Mail = mail.Options{URL: relay.URL(), From: "Shop <noreply@shop.example>"}
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
	if _, log := getPage(t, c, srv.URL+"sites/"+key+"/webhooks"); !strings.Contains(log, "451 try again later") {
		t.Errorf("the delivery log does not say why")
	}
	relay.Refuse(nil)
	eventually(t, "the refused email sent again", func() bool { return len(relay.Messages()) == 2 })
	if _, text := readMail(t, relay.Messages()[1]); !strings.Contains(text, "Телефон: 89101112233 (+79101112233)") {
		t.Errorf("the second email:\n%s", text)
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
}
