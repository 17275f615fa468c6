package httpd

import (
	"encoding/json"
	"net"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/valyala/fasthttp"

	"appliance/store"
)

// FuzzScanHitRequest: whatever body scanHitRequest accepts, decodeBody
// accepts too and reads the same; and the snippet's bodies are the ones it
// accepts (the seeds).
func FuzzScanHitRequest(f *testing.F) {
	snippet := []string{
		`{"k":"abcdefghijklmnop","ci":"","key":"","u":"https://shop.example.com/","r":"","t":"Shop"}`,
		`{"k":"abcdefghijklmnop","ci":"4503599627370497.4503599627370498.1700000000","key":"0123456789abcdef0123456789abcdef","u":"https://shop.example.com/catalog?utm_source=yandex","r":"https://yandex.ru/","t":"Кроссовки кожаные — купить"}`,
		` { "k" : "x" ,"u":"https://a.b/"} `,
		`{}`,
	}
	for _, s := range snippet {
		if _, ok := scanHitRequest([]byte(s)); !ok {
			f.Errorf("scanHitRequest refuses %s", s)
		}
		f.Add(s)
	}
	for _, s := range []string{
		`{"k":"a\"b"}`, `{"K":"x"}`, `{"k":"x","k":"y"}`, `{"k":null}`, `{"k":1}`, `{"k":"x"}{}`, `{"k":"x",}`,
		`{"k":"x","extra":"y"}`, `{"t":"\ud800"}`, "{\"t\":\"a\x01\"}", "{\"t\":\"\xff\"}", `[]`, ``, `{"k":"x"`, `{"k" "x"}`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		got, ok := scanHitRequest([]byte(body))
		if !ok {
			return
		}
		var want hitRequest
		if err := decodeBody([]byte(body), maxTrackerBody, &want, refuseUnknown); err != nil {
			t.Fatalf("scanHitRequest accepts %q, decodeBody refuses it: %v", body, err)
		}
		if got != want {
			t.Fatalf("%q: scanHitRequest %+v, decodeBody %+v", body, got, want)
		}
	})
}

// TestHitAnswerJSON: writeHitAnswer writes what writeOK writes.
func TestHitAnswerJSON(t *testing.T) {
	site := &store.Site{ID: 1, Secret: []byte("secret")}
	phones := &phonesAnswer{V: 1, Selectors: []string{".phone"}, TTL: 60, Renew: 30, Numbers: []phoneAnswer{{
		Site: phoneForms{Raw: "74951234567", CC: "7", NSN: "4951234567", Trunk: "8"}, Raw: "74957654321", CC: "7", NSN: "4957654321",
		Trunk: "8", Text: "+7 495 765-43-21", Type: "dynamic", Img: phoneImg{site, "+7 495 765-43-21"}, TTL: 60,
	}, {
		Site: phoneForms{Raw: "<&>", CC: "\u2028", NSN: "é", Trunk: "\""}, Raw: "1", CC: "2", NSN: "3", Text: "\x01", Type: "static",
	}}}
	phones.Numbers[0].Forms = replacementForms(phones.Numbers[0])
	phones.Numbers[1].Forms = replacementForms(phones.Numbers[1])
	noNumbers := &phonesAnswer{V: 2}
	for _, r := range []hitResult{
		{CI: "1.2.3", VisitorID: 1, SessionID: 2, HitID: 3, Key: "0123456789abcdef0123456789abcdef", ServerURL: "https://t.example.com/"},
		{CI: "4503599627370497.4503599627370498.1700000000", VisitorID: 1<<52 + 1, SessionID: 1<<52 + 2, HitID: 1<<53 - 1,
			ServerURL: "https://t.example.com/?a=<b>&c=\"d\"\\é\u2028", NewSession: true, CookieDomain: "example.com",
			Phones: phones, Chat: hitChat{Operators: true, Button: true}},
		{CookieDomain: "пример.рф", Chat: hitChat{Button: true}},
		{Phones: noNumbers},
	} {
		var got, want fasthttp.RequestCtx
		writeHitAnswer(&got, &r)
		writeOK(&want, r)
		if g, w := string(got.Response.Body()), string(want.Response.Body()); g != w {
			t.Errorf("answer\n%s\nwant\n%s", g, w)
		}
		if g, w := string(got.Response.Header.ContentType()), string(want.Response.Header.ContentType()); g != w {
			t.Errorf("content type %q, want %q", g, w)
		}
		if g, w := got.Response.StatusCode(), want.Response.StatusCode(); g != w {
			t.Errorf("status %d, want %d", g, w)
		}
	}
}

// FuzzAppendJSONString: the hit's answer writes strings as encoding/json.
func FuzzAppendJSONString(f *testing.F) {
	for _, s := range []string{"", "abc", "<&>", "\"\\", "\x00\x1f\x7f", "é", "\u2028", "\xff", strings.Repeat("a", 100)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, _ := json.Marshal(s)
		if got := appendJSONString(nil, s); string(got) != string(want) {
			t.Fatalf("%q: %s, encoding/json %s", s, got, want)
		}
	})
}

// FuzzMayBeIP: a host mayBeIP rules out is no IP address to net.ParseIP.
func FuzzMayBeIP(f *testing.F) {
	for _, s := range []string{"1.2.3.4", "::1", "::ffff:1.2.3.4", "shop.example.com", "1.2.3.a", "", "1.2.3.4:", "a:b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, h string) {
		if !mayBeIP(h) && net.ParseIP(h) != nil {
			t.Fatalf("mayBeIP(%q) is false, net.ParseIP reads %v", h, net.ParseIP(h))
		}
	})
}

// FuzzQueryEscape: the phone picture's path escapes its text as
// url.QueryEscape does.
func FuzzQueryEscape(f *testing.F) {
	for _, s := range []string{"", "+7 495 765-43-21", "8 (495) 000-00-01", "a&b=c?d#e/f%", "é\x00\xff~_.-"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := string(appendQueryEscape(nil, s)), url.QueryEscape(s); got != want {
			t.Fatalf("%q: %s, url.QueryEscape %s", s, got, want)
		}
	})
}

// FuzzPhoneImgJSON: the answer's "img" is phoneImagePath as encoding/json
// writes it, and the path's signature is the one GET /img/phone checks.
func FuzzPhoneImgJSON(f *testing.F) {
	for _, s := range []string{"", "+7 495 765-43-21", "<&>", "é\u2028\xff"} {
		f.Add(uint32(1), s)
	}
	f.Fuzz(func(t *testing.T, id uint32, text string) {
		site := &store.Site{ID: id, Secret: []byte("secret")}
		path := phoneImagePath(site, text)
		want, _ := json.Marshal(path)
		if got := (phoneImg{site, text}).appendJSON(nil); string(got) != string(want) {
			t.Fatalf("%q: %s, encoding/json %s", text, got, want)
		}
		u, err := url.Parse(path)
		if err != nil {
			t.Fatal(err)
		}
		q := u.Query()
		if q.Get("site") != strconv.FormatUint(uint64(id), 10) || q.Get("t") != text || q.Get("sig") != phoneImageSig(site, text) {
			t.Fatalf("%q: path %s reads back as %v", text, path, q)
		}
	})
}
