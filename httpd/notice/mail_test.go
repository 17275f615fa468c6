package notice

import (
	"context"
	"encoding/json"
	"mime"
	netmail "net/mail"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"appliance/httpd/i18n"
	"appliance/httpd/notice/mailtest"
)

func TestParseEndpoint(t *testing.T) {
	for raw, want := range map[string]string{
		"mailto:owner@shop.example":                       "mailto:owner@shop.example",
		" mailto:a@shop.example, b@shop.example ":         "mailto:a@shop.example,b@shop.example",
		"mailto:a@shop.example?lang=en":                   "mailto:a@shop.example?lang=en",
		"mailto:a@shop.example?lang=ru":                   "mailto:a@shop.example",
		"mailto:%D0%B8%D0%B2%D0%B0%D0%BD@xn--80a.example": "mailto:иван@xn--80a.example",
		"mailto:":                                    "",
		"mailto:Owner <owner@shop.example>":          "",
		"mailto:a@shop.example?lang=de":              "",
		"mailto:a@shop.example?cc=b@x.example":       "",
		"mailto:a@shop.example%0D%0ABcc:b@x.example": "",
		"mailto:not an address":                      "",
		"https://shop.example/":                      "",
		"mailto:" + strings.Repeat("a@shop.example,", 11) + "a@shop.example": "",
	} {
		_, got, err := ParseEndpoint(raw)
		if got != want || (err == nil) != (want != "") {
			t.Errorf("ParseEndpoint(%q) = %q, %v; want %q", raw, got, err, want)
		}
	}
	if e, _, _ := ParseEndpoint("mailto:a@shop.example?lang=en"); e.Lang != i18n.En || !slices.Equal(e.To, []string{"a@shop.example"}) {
		t.Errorf("endpoint %+v", e)
	}
}

func FuzzParseEndpoint(f *testing.F) {
	for _, s := range []string{"mailto:a@shop.example", "mailto:a@b.c,d@e.f?lang=en", "mailto:%0d%0a", "mailto:a@b?x=y", "mailto:\"a b\"@c.d"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		e, canonical, err := ParseEndpoint(raw)
		if err != nil {
			return
		}
		again, c2, err := ParseEndpoint(canonical)
		if err != nil || c2 != canonical || !slices.Equal(again.To, e.To) || again.Lang != e.Lang {
			t.Fatalf("%q → %q → %q, %v", raw, canonical, c2, err)
		}
		for _, a := range e.To {
			if strings.ContainsAny(a, "\r\n,") || len(e.To) > MaxRecipients {
				t.Fatalf("%q gave the address %q", raw, a)
			}
		}
	})
}

func testMailer(t testing.TB) *Mailer {
	cat, err := i18n.Load()
	if err != nil {
		t.Fatal(err)
	}
	m, err := New(Options{URL: "smtp://127.0.0.1:2525", From: "Shop <noreply@shop.example>",
		Now: func() time.Time { return time.Date(2026, 12, 4, 9, 0, 0, 0, time.UTC) }}, testWriter(cat))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func testWriter(cat *i18n.Catalog) Writer {
	return Writer{Catalog: cat, PublicURL: "https://track.example/", Site: func(key string) (string, *time.Location, bool) {
		loc, _ := time.LoadLocation("Europe/Moscow")
		return "Shop", loc, key == "KEY"
	}}
}

func body(t testing.TB, event string, data map[string]any) []byte {
	b, err := json.Marshal(map[string]any{"event": event, "id": 42, "site_key": "KEY", "created_at": "2026-12-04T09:00:00Z", "data": data})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Whatever a visitor typed, the message has the headers the mailer writes
// and no other, and its subject says it on one line.
func FuzzMessageHeaders(f *testing.F) {
	f.Add("Ann", "+7 910", "hi", "lead")
	f.Add("Ann\r\nBcc: x@evil.example", "\r\n\r\nX: y", "=?utf-8?q?=0D=0A?=", "callback")
	f.Add("", "", "line\nBcc: x@evil.example", "chat")
	m := testMailer(f)
	want := []string{"Auto-Submitted", "Content-Type", "Date", "From", "Message-Id", "Mime-Version", "Subject", "To"}
	f.Fuzz(func(t *testing.T, name, phone, message, event string) {
		b := body(t, event, map[string]any{"name": name, "phone_raw": phone, "message": message, "caller": phone,
			"messages": []any{map[string]any{"name": name, "text": message}}})
		raw, err := m.Message(Endpoint{To: []string{"owner@shop.example"}, Lang: i18n.Ru}, 7, b)
		if err != nil {
			t.Fatal(err)
		}
		msg, err := netmail.ReadMessage(strings.NewReader(string(raw)))
		if err != nil {
			t.Fatalf("not a message: %v\n%s", err, raw)
		}
		var got []string
		for k := range msg.Header {
			got = append(got, k)
		}
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Fatalf("headers %v\n%s", got, raw)
		}
		if s, err := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject")); err != nil || strings.ContainsAny(s, "\r\n") {
			t.Fatalf("subject %q, %v", s, err)
		}
	})
}

// A callback, a call and a chat are each written in their own words, in
// the endpoint's language, their times in the site's zone.
func TestMessageKinds(t *testing.T) {
	m := testMailer(t)
	for _, tc := range []struct {
		event   string
		lang    i18n.Lang
		data    map[string]any
		subject string
		says    []string
	}{
		{"callback", i18n.Ru, map[string]any{"phone_raw": "8 910 123-45-67", "phone": "79101234567", "group_name": "Продажи", "delayed_call_time": "2026-12-04T12:00:00Z", "visitor_id": 5},
			"Обратный звонок с сайта Shop: 8 910 123-45-67", []string{"Посетитель сайта Shop просит перезвонить.", "Телефон: 8 910 123-45-67 (+79101234567)", "Группа: Продажи", "15:00", "Время: 04.12.2026 12:00 (Europe/Moscow)", "https://track.example/sites/KEY/callbacks#callback-42", "https://track.example/sites/KEY/visitors/5"}},
		{"call", i18n.En, map[string]any{"caller": "79162222222", "called": "74950000001", "duration": 65, "answered": true},
			"Call to Shop from +79162222222", []string{"Duration: 65 seconds", "Called: +74950000001"}},
		{"call", i18n.Ru, map[string]any{"caller": "", "called": "74950000001", "duration": 1, "answered": false},
			"Звонок по сайту Shop: скрытый номер", []string{"1 секунда", "нет"}},
		{"call", i18n.En, map[string]any{"caller": "", "caller_typed": "anonymous", "called": "74950000001", "duration": 0, "answered": false},
			"Call to Shop from anonymous (as typed)", []string{"Caller: anonymous (as typed)", "Answered: no"}},
		// The extension dialled after the called number, which the call
		// keeps, in the reader's words.
		{"call", i18n.Ru, map[string]any{"caller": "79162222222", "called": "74950000001", "called_ext": "12", "duration": 5, "answered": true},
			"Звонок по сайту Shop: +79162222222", []string{"+74950000001, доб. 12"}},
		{"call", i18n.En, map[string]any{"caller": "79162222222", "called": "74950000001", "called_ext": "12", "duration": 5, "answered": true},
			"Call to Shop from +79162222222", []string{"Called: +74950000001, ext. 12"}},
		{"chat", i18n.Ru, map[string]any{"assigned": "Anna", "messages": []any{map[string]any{"from": "visitor", "text": "Hello"}, map[string]any{"name": "Anna", "text": "Hi!"}}},
			"Чат на сайте Shop", []string{"Оператор: Anna", "Посетитель: Hello\nAnna: Hi!"}},
		// A kind this version has no words for: in the reader's words
		// all the same, its name as a field.
		{"visitor_merged", i18n.Ru, map[string]any{"visitor_id": 5},
			"Новое событие на сайте Shop", []string{"Событие на сайте Shop.", "Событие: visitor_merged"}},
		{"visitor_merged", i18n.En, map[string]any{"visitor_id": 5},
			"New event on Shop", []string{"An event on Shop.", "Event: visitor_merged"}},
	} {
		raw, err := m.Message(Endpoint{To: []string{"o@shop.example"}, Lang: tc.lang}, 1, body(t, tc.event, tc.data))
		if err != nil {
			t.Fatal(err)
		}
		msg, _ := netmail.ReadMessage(strings.NewReader(string(raw)))
		subject, _ := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
		text := decodeQP(t, raw)
		if subject != tc.subject {
			t.Errorf("%s: subject %q, want %q", tc.event, subject, tc.subject)
		}
		for _, w := range tc.says {
			if !strings.Contains(text, w) {
				t.Errorf("%s does not say %q:\n%s", tc.event, w, text)
			}
		}
	}
}

func TestParseTelegram(t *testing.T) {
	for raw, want := range map[string]string{
		"telegram:-1001234567890":       "telegram:-1001234567890",
		"TELEGRAM:12345?lang=en":        "telegram:12345?lang=en",
		"telegram:@shop_orders":         "telegram:@shop_orders",
		"telegram:@shop_orders?lang=ru": "telegram:@shop_orders",
		"telegram:":                     "",
		"telegram:me":                   "",
		"telegram:@a":                   "",
		"telegram:123?lang=de":          "",
		"telegram:123?token=x":          "",
		"telegram://123":                "",
		"telegram:123%0d%0a":            "",
	} {
		_, got, err := ParseTelegram(raw)
		if got != want || (err == nil) != (want != "") {
			t.Errorf("ParseTelegram(%q) = %q, %v; want %q", raw, got, err, want)
		}
	}
	for tok, ok := range map[string]bool{"123456789:AAEhBOweik9ai2o4_mcP-9a8R2nT7xYzAbc": true, "123:short": false, "abc:AAEhBOweik9ai2o4_mcP-9a8R2nT7xYzAbc": false, "": false} {
		if err := CheckBotToken(tok); (err == nil) != ok {
			t.Errorf("CheckBotToken(%q): %v", tok, err)
		}
	}
}

func FuzzParseTelegram(f *testing.F) {
	for _, s := range []string{"telegram:-100123", "telegram:@chan_nel?lang=en", "telegram:%40x", "telegram:1?lang=en&lang=ru"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		e, canonical, err := ParseTelegram(raw)
		if err != nil {
			return
		}
		again, c2, err := ParseTelegram(canonical)
		if err != nil || c2 != canonical || again != e || strings.ContainsAny(e.Chat, "/?#%\r\n ") {
			t.Fatalf("%q → %q → %q, %v", raw, canonical, c2, err)
		}
	})
}

// The email's HTML says what its text says, in the reader's language:
// the lead's fields in a table, the phone a tel: link, the email a
// mailto: link, buttons to the lead and the visitor on the dashboard;
// what the visitor typed is text, never markup.
func TestMessageHTML(t *testing.T) {
	m := testMailer(t)
	hostile := `<script>alert(1)</script>"><img src=x onerror=alert(2)>`
	for _, tc := range []struct {
		lang                     i18n.Lang
		name, phone, open, visit string
	}{
		{i18n.Ru, "Имя посетителя", "Телефон", "Открыть заявку", "Карточка посетителя"},
		{i18n.En, "Visitor's name", "Phone", "Open the lead", "The visitor's card"},
	} {
		b := body(t, "lead", map[string]any{"name": "Ann " + hostile, "message": "Hi\n" + hostile, "phone_raw": "8 910 123-45-67", "phone": "79101234567",
			"email_raw": "Ann@Shop.example", "email": "ann@shop.example", "visitor_id": 5})
		raw, err := m.Message(Endpoint{To: []string{"o@shop.example"}, Lang: tc.lang}, 1, b)
		if err != nil {
			t.Fatal(err)
		}
		_, text, htm := mailtest.Read(t, raw)
		h := mailtest.CheckHTML(t, htm)
		if h.Lang != string(tc.lang) {
			t.Errorf("%s: <html lang=%q>", tc.lang, h.Lang)
		}
		for _, w := range []string{tc.name, "Ann " + hostile, "Hi", hostile, tc.phone} {
			if !strings.Contains(h.Text, w) {
				t.Errorf("%s: the HTML does not say %q:\n%s", tc.lang, w, htm)
			}
		}
		if strings.Contains(htm, "<script") || strings.Contains(htm, "<img") || !strings.Contains(htm, "&lt;script&gt;") {
			t.Errorf("%s: the visitor's words are not escaped:\n%s", tc.lang, htm)
		}
		for text, href := range map[string]string{
			"8 910 123-45-67 (+79101234567)":      "tel:+79101234567",
			"Ann@Shop.example (ann@shop.example)": "mailto:ann@shop.example",
			tc.open:                               "https://track.example/sites/KEY/leads#lead-42",
			tc.visit:                              "https://track.example/sites/KEY/visitors/5",
		} {
			if got := h.Links[text]; got != href {
				t.Errorf("%s: the link %q goes to %q, want %q (links %v)", tc.lang, text, got, href, h.Links)
			}
		}
		// The text is the text it always was.
		if !strings.Contains(text, tc.name+": Ann "+hostile+"\n") {
			t.Errorf("%s: the text:\n%s", tc.lang, text)
		}
	}
}

// Whatever a visitor typed, the HTML has only the elements and links the
// template writes.
func FuzzMessageHTML(f *testing.F) {
	f.Add("Ann", "+7 910", "hi", "a@b.c", "lead")
	f.Add(`<script>alert(1)</script>`, `"><img src=x onerror=alert(1)>`, "</td></tr></table><a href=javascript:alert(1)>x</a>", "x@y.z?bcc=e@v.il", "lead")
	f.Add("\x00<!--", "]]>", "<style>*{}</style>", `"onmouseover="x`, "chat")
	m := testMailer(f)
	f.Fuzz(func(t *testing.T, name, phone, message, email, event string) {
		b := body(t, event, map[string]any{"name": name, "phone_raw": phone, "phone": phone, "message": message, "email": email, "email_raw": email,
			"caller": phone, "recording_url": message, "messages": []any{map[string]any{"name": name, "text": message}}})
		raw, err := m.Message(Endpoint{To: []string{"owner@shop.example"}, Lang: i18n.En}, 7, b)
		if err != nil {
			t.Fatal(err)
		}
		_, _, htm := mailtest.Read(t, raw)
		mailtest.CheckHTML(t, htm)
	})
}

// A relay's refusal of the appliance's own set-up (its TLS, its login) is
// told from a refusal of one message: the first is a RelayFault, retried,
// and never Refused, though its code is a 5xx; a 550 is Refused.
func TestRelayFault(t *testing.T) {
	relay := mailtest.Start(t)
	for _, tt := range []struct {
		name, url      string
		login, refuse  bool
		sender         bool // the relay refuses the sender
		fault, refused bool
	}{
		{name: "taken", url: "smtp://" + relay.Addr},
		{name: "smtps to a relay without TLS", url: "smtps://" + relay.Addr, fault: true},
		{name: "wrong password", url: "smtp://mailer:wrong@" + relay.Addr, login: true, fault: true},
		{name: "no login", url: "smtp://" + relay.Addr, login: true, fault: true},
		{name: "mailbox refused", url: "smtp://" + relay.Addr, refuse: true, refused: true},
		{name: "sender refused", url: "smtp://" + relay.Addr, sender: true, fault: true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			relay.Login("", "")
			if tt.login {
				relay.Login("mailer", "s3cret")
			}
			relay.Refuse(nil)
			relay.RefuseSender(nil)
			if tt.sender {
				relay.RefuseSender(&smtp.SMTPError{Code: 553, EnhancedCode: smtp.EnhancedCode{5, 7, 1}, Message: "sender address rejected"})
			}
			if tt.refuse {
				relay.Refuse(&smtp.SMTPError{Code: 550, Message: "no such mailbox"})
			}
			m, err := New(Options{URL: tt.url, From: "noreply@shop.example", Timeout: 10 * time.Second}, Writer{})
			if err != nil {
				t.Fatal(err)
			}
			err = m.SendHTML(context.Background(), KindAccount, "owner@shop.example", "subject", "text", "")
			if (err != nil) != (tt.fault || tt.refused) || RelayFault(err) != tt.fault || Refused(err) != tt.refused {
				t.Errorf("SendHTML: %v; RelayFault %v, Refused %v; want fault %v, refused %v", err, RelayFault(err), Refused(err), tt.fault, tt.refused)
			}
			if tt.sender && !strings.Contains(err.Error(), "553 5.7.1 sender address rejected (the SMTP server of --smtp refused the sender: check --smtp-from") {
				t.Errorf("the error does not name --smtp-from: %v", err)
			} else if tt.fault && !tt.sender && !strings.Contains(err.Error(), "check the address, user and password in --smtp") {
				t.Errorf("the error does not name --smtp: %v", err)
			}
		})
	}
}
