package store

import (
	"bytes"
	"os"
	"regexp"
	"testing"
)

// The callback records join the generic codec tests of records_test.go
// (round trip, truncation, versions, UTF-8, fuzzing).
func init() {
	codecs = append(codecs,
		codec{"widget", func(b []byte) (any, error) { return DecodeWidgetSettings(b) }, func(r any) []byte { w := r.(WidgetSettings); return w.Encode() }},
		codec{"callback", func(b []byte) (any, error) { return DecodeCallback(keyID, b) }, func(r any) []byte { c := r.(Callback); return c.Encode() }},
	)
	samples["widget"] = []any{
		WidgetSettings{},
		WidgetSettings{ScenarioURL: "https://pbx.example/callback", ScenarioSecret: "whsec_0123456789abcdef", Captcha: true, CaptchaDigits: 6, Lang: "ru",
			Groups: []WidgetGroup{{ID: 16587, Name: "Отдел продаж"}, {ID: 1<<64 - 1, Name: ""}}, Updated: 1700000000000},
		WidgetSettings{NoQueue: true},
		WidgetSettings{CaptchaDigits: 255, ScenarioURL: long, ScenarioSecret: unicode, Lang: unicode, Groups: []WidgetGroup{{Name: long}}, Updated: -1 << 63},
	}
	samples["callback"] = []any{
		Callback{ID: keyID},
		Callback{ID: keyID, Time: 1700000000000, Phone: "79101234567", PhoneRaw: "+7 (910) 123-45-67",
			GroupID: 16587, Delayed: 1700000600000, State: CallbackSent, Attempts: 2, LastTry: 1700000600100, LastCode: 200,
			Sent: 1700000600200, IP: "192.0.2.1", Attribution: Attribution{Visitor: 1, Session: 2, Hit: 3,
				PageURL: "https://shop.example/cart", Source: Source{Channel: "ad", UTMSource: "google",
					UTMMedium: "cpc", UTMCampaign: "spring", UTMTerm: "shoes", UTMContent: "banner", Click: "gclid",
					Referrer: "https://google.com/", Landing: "https://shop.example/?utm_source=google"}}},
		Callback{ID: keyID, Time: -1 << 63, GroupID: 1<<64 - 1, Delayed: 1<<63 - 1, State: CallbackNoScenario,
			Attempts: 1<<32 - 1, LastCode: 999, LastError: unicode, LastReason: 255, Attribution: Attribution{Visitor: 1<<64 - 1, PageURL: long, Source: Source{Landing: long}}},
	}
}

// Every record family has its own prefix byte: each prefix constant
// keys.go declares (read from its source, so that a family added later
// cannot be left out of the check) has a byte no other has.
func TestPrefixBytesUnique(t *testing.T) {
	src, err := os.ReadFile("keys.go")
	if err != nil {
		t.Fatal(err)
	}
	decl := regexp.MustCompile(`(?m)^\s*(prefix\w+)\s+byte\s*=\s*'(.)'`)
	found := decl.FindAllStringSubmatch(string(src), -1)
	if len(found) < 40 {
		t.Fatalf("found %d prefix declarations in keys.go: the pattern no longer matches them", len(found))
	}
	seen := map[string]string{}
	for _, m := range found {
		if other, ok := seen[m[2]]; ok {
			t.Errorf("prefix byte %q is used by %s and %s", m[2], other, m[1])
		}
		seen[m[2]] = m[1]
	}
	// The declarations read are the constants the code uses.
	for _, p := range []byte{prefixMeta, prefixReport, prefixDigestSub, prefixDigestSent, prefixAccountMail, prefixVisitorContact} {
		if _, ok := seen[string(p)]; !ok {
			t.Errorf("prefix byte %q not found among keys.go's declarations", p)
		}
	}
}

// A site's callbacks are one range in id order, apart from its settings
// and from other sites.
func TestCallbackKeys(t *testing.T) {
	p := CallbackPrefix(3)
	end := PrefixEnd(p)
	in := [][]byte{CallbackKey(3, 0), CallbackKey(3, 5), CallbackKey(3, 1<<64-1)}
	for i, k := range in {
		if bytes.Compare(k, p) < 0 || bytes.Compare(k, end) >= 0 {
			t.Errorf("callback %x outside its site's range", k)
		}
		if id, ok := IDFromKey(k); !ok || (i == 1 && id != 5) {
			t.Errorf("IDFromKey(%x) = %d, %v", k, id, ok)
		}
		if i > 0 && bytes.Compare(in[i-1], k) >= 0 {
			t.Errorf("callback keys out of id order: %x, %x", in[i-1], k)
		}
	}
	for _, k := range [][]byte{CallbackKey(2, 1<<64-1), CallbackKey(4, 0), WidgetKey(3), LeadKey(3, 1)} {
		if bytes.Compare(k, p) >= 0 && bytes.Compare(k, end) < 0 {
			t.Errorf("key %x falls in the callbacks of site 3", k)
		}
	}
	a, b := CallbackKey(1, 1), CallbackKey(1, 2)
	if ax := append(a, 'x'); !bytes.Equal(b, CallbackKey(1, 2)) || ax[len(ax)-1] != 'x' {
		t.Error("callback keys built in a row share memory")
	}
}

// A callback of version 1, written before LastReason, still reads: the
// same fields, no reason.
func TestDecodeCallbackV1(t *testing.T) {
	want := samples["callback"][1].(Callback)
	b := want.Encode()
	if b[0] != 2 || b[len(b)-1] != 0 {
		t.Fatalf("encoding %x: want version 2 ending in a zero reason", b)
	}
	v1 := append([]byte{1}, b[1:len(b)-1]...)
	got, err := DecodeCallback(keyID, v1)
	if err != nil || got != want {
		t.Errorf("callback v1 = %+v, %v; want %+v", got, err, want)
	}
}
