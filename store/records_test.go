package store

import (
	"bytes"
	"encoding/binary"
	"errors"
	"reflect"
	"strings"
	"testing"
)

// codec is one record type seen through its encoder and decoder.
type codec struct {
	name   string
	decode func([]byte) (any, error)
	encode func(any) []byte
}

// codecs lists every record type of records.go. Hit and Event ids (and
// their session) live in the key, so the decoders get fixed ids and the
// samples carry them.
var codecs = []codec{
	{"site", func(b []byte) (any, error) { return DecodeSite(b) }, func(r any) []byte { s := r.(Site); return s.Encode() }},
	{"user", func(b []byte) (any, error) { return DecodeUser(b) }, func(r any) []byte { u := r.(User); return u.Encode() }},
	{"login", func(b []byte) (any, error) { return DecodeLoginSession(b) }, func(r any) []byte { l := r.(LoginSession); return l.Encode() }},
	{"token", func(b []byte) (any, error) { return DecodeToken(b) }, func(r any) []byte { t := r.(Token); return t.Encode() }},
	{"invite", func(b []byte) (any, error) { return DecodeInvite(b) }, func(r any) []byte { i := r.(Invite); return i.Encode() }},
	{"reset", func(b []byte) (any, error) { return DecodePasswordReset(b) }, func(r any) []byte { x := r.(PasswordReset); return x.Encode() }},
	{"accountmail", func(b []byte) (any, error) { return DecodeAccountMail(b) }, func(r any) []byte { m := r.(AccountMail); return m.Encode() }},
	{"visitor", func(b []byte) (any, error) { return DecodeVisitor(b) }, func(r any) []byte { v := r.(Visitor); return v.Encode() }},
	{"property", func(b []byte) (any, error) { return DecodeProperty(b) }, func(r any) []byte { p := r.(Property); return p.Encode() }},
	{"session", func(b []byte) (any, error) { return DecodeSession(b) }, func(r any) []byte { s := r.(Session); return s.Encode() }},
	{"hit", func(b []byte) (any, error) { return DecodeHit(keySession, keyID, b) }, func(r any) []byte { h := r.(Hit); return h.Encode() }},
	{"event", func(b []byte) (any, error) { return DecodeEvent(keySession, keyID, b) }, func(r any) []byte { e := r.(Event); return e.Encode() }},
	{"lead", func(b []byte) (any, error) { return DecodeLead(keyID, b) }, func(r any) []byte { l := r.(Lead); return l.Encode() }},
	{"webhooks", func(b []byte) (any, error) { return DecodeWebhooks(b) }, func(r any) []byte { w := r.(Webhooks); return w.Encode() }},
	{"delivery", func(b []byte) (any, error) { return DecodeDelivery(keyID, b) }, func(r any) []byte { d := r.(Delivery); return d.Encode() }},
	{"webhook health", func(b []byte) (any, error) { return DecodeWebhookHealth(b) }, func(r any) []byte { h := r.(WebhookHealth); return h.Encode() }},
}

const (
	keyID      = 1<<53 - 1
	keySession = 1<<53 - 2
)

var (
	unicode = "Привет, 世界! 👋🏽 café"
	long    = strings.Repeat("ü0123456789", 2000) // > 16 KiB: multi-byte length prefix
)

// samples holds, per codec name, records covering zero values, extreme
// numbers, unicode and long strings. Empty slices are nil: the encoding does
// not tell nil from empty, and decoders return nil.
var samples = map[string][]any{
	"site": {
		Site{},
		Site{ID: 1, Key: "AbCdEfGh0123456789AbCdEfGh012345", Name: "Shop", Domains: []string{"shop.example", "www.shop.example"}, Secret: []byte{0, 1, 2, 255}, Created: 1700000000000},
		Site{ID: 2, Key: "k", Name: "Anywhere", Domains: []string{"shop.example"}, AnyOrigin: true, TimeZone: "Europe/Moscow", PhoneRegion: "KZ", RetentionDays: 400},
		Site{ID: 1<<32 - 1, Name: unicode, Domains: []string{"", unicode, long}, Secret: bytes.Repeat([]byte{0xff}, 300), Created: -1},
		Site{Name: long, Created: -1 << 63},
	},
	"user": {
		User{},
		User{Email: "owner@example.com", Hash: "$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA", Role: "owner", Created: 1 << 62},
		User{Email: "ünïcode@пример.рф", Hash: long, Role: unicode, Created: -42, Epoch: 1<<32 - 1, Lang: "ru"},
		User{Email: "m@example.com", Role: "manager", LastLogin: 1700000000000},
	},
	"login": {
		LoginSession{},
		LoginSession{Email: "a@b.c", CSRF: "0123456789abcdef", Expires: 1<<63 - 1},
		LoginSession{Email: unicode, CSRF: long, Expires: -1 << 63, Epoch: 7},
	},
	"reset": {
		PasswordReset{},
		PasswordReset{Email: "m@example.com", Created: 1700000000000, Expires: 1700003600000, UserCreated: 1600000000000, Epoch: 3},
		PasswordReset{Email: long, Created: -1 << 63, Expires: 1<<63 - 1, UserCreated: -1, Epoch: 1<<32 - 1},
	},
	"invite": {
		Invite{},
		Invite{Email: "m@example.com", Role: "manager", By: "owner@example.com", Created: 1700000000000, Expires: 1<<63 - 1},
		Invite{Email: unicode, Role: long, By: long, Created: -1, Expires: -1 << 63},
	},
	"accountmail": {
		AccountMail{},
		AccountMail{Kind: MailReset, Email: "m@example.com", Lang: "ru", Created: 1700000000000, Expires: 1700003600000, Attempts: 2, LastError: "451 try again later"},
		AccountMail{Kind: MailInvite, State: MailSent, Email: "anna@example.com", Lang: "en", Created: 1700000000000, Expires: 1700604800000,
			Token: "AbCdEf0123456789", Invite: "0a1b2c", Role: "manager", By: "owner@example.com"},
		AccountMail{Kind: 255, State: 255, Email: unicode, Lang: long, Created: -1 << 63, Expires: 1<<63 - 1, Token: long, Invite: unicode,
			Role: unicode, By: long, Attempts: 1<<32 - 1, LastError: long},
	},
	"token": {
		Token{},
		Token{Name: "pbx", Sites: []uint32{1, 2}, LastUsed: 1700000000000},
		Token{Name: "ci", Created: 1},
		Token{Name: long + unicode, Created: -1},
		Token{Name: "pbx", Created: 2, Sites: []uint32{1, 1<<32 - 1}},
		Token{Name: "bridge", Created: 3, User: "anna@example.com"},
		Token{Name: "pbx", Created: 4, Sites: []uint32{9}, Scopes: []string{"calls", "leads:read"}},
	},
	"visitor": {
		Visitor{},
		Visitor{ID: 1<<64 - 1, Site: 1<<32 - 1, Created: 1, LastSeen: 2, Name: "Иван", Phones: []string{"79991234567"}, Emails: []string{"a@b.c", "d@e.f"}, Properties: 1<<32 - 1, Bot: true},
		Visitor{ID: 7, Site: 3, Created: -5, LastSeen: 1 << 40, Name: long, Phones: []string{"", unicode}, Emails: []string{long}},
	},
	"property": {
		Property{},
		Property{Name: "Тип посетителя", Value: "Потенциальный", Updated: 1700000000123},
		Property{Value: long, Updated: -1 << 63},
	},
	"session": {
		Session{},
		Session{ID: 10, Visitor: 11, Started: 12, LastHit: 13, Hits: 1<<32 - 1, Events: 7, Channel: "ad", UTMSource: "google", UTMMedium: "cpc",
			UTMCampaign: "spring", UTMTerm: "shoes", UTMContent: "banner", Click: "gclid", ClickID: "EAIaIQobChMI", Referrer: "https://google.com/",
			Landing: "https://shop.example/?utm_source=google", UserAgent: "Mozilla/5.0", Bot: true},
		Session{ID: 1<<64 - 1, Channel: unicode, UTMSource: long, UserAgent: long, Landing: unicode},
	},
	"hit": {
		Hit{ID: keyID, Session: keySession},
		Hit{ID: keyID, Session: keySession, Time: 1700000000123, URL: "https://shop.example/cart", Title: "Cart"},
		Hit{ID: keyID, Session: keySession, Time: -1 << 63, URL: long, Title: unicode},
	},
	"event": {
		Event{ID: keyID, Session: keySession},
		Event{ID: keyID, Session: keySession, Hit: 1, Time: 4, Category: "form", Action: "submit", Name: "lead", Value: "42"},
		Event{ID: keyID, Session: keySession, Hit: 1<<64 - 1, Time: -1, Category: unicode, Action: long, Name: "", Value: unicode},
	},
	"lead": {
		Lead{ID: keyID},
		Lead{ID: keyID, Time: 1700000000123, Via: "js", Name: "Дмитрий", Email: "d@example.com", EmailRaw: "D@Example.com",
			Phone: "79123456789", PhoneRaw: "8 (912) 345-67-89", Message: "Текст заявки", IsSale: true, SaleCost: 999950,
			GroupID: 1234, FormName: "Заказ", IP: "192.0.2.1", Attribution: Attribution{Visitor: 1, Session: 2, Hit: 3,
				PageURL: "https://shop.example/cart", Source: Source{Channel: "ad",
					UTMSource: "google", UTMMedium: "cpc", UTMCampaign: "spring", UTMTerm: "shoes", UTMContent: "banner",
					Click: "gclid", Referrer: "https://google.com/", Landing: "https://shop.example/?utm_source=google"}}},
		Lead{ID: keyID, Time: -1 << 63, SaleCost: -1 << 63, GroupID: 1<<64 - 1, Message: long, Name: unicode,
			Attribution: Attribution{Visitor: 1<<64 - 1, Source: Source{Landing: long}}},
		Lead{ID: keyID, Via: "server", EmailRaw: "ivan@mail", PhoneRaw: "+7 (916) 123-45-67, Иван", PhoneUnparsed: true, EmailUnparsed: true},
	},
	"webhooks": {
		Webhooks{},
		Webhooks{Endpoints: []WebhookEndpoint{
			{ID: 1, URL: "https://crm.example/hook", Secret: "whsec_abc", Events: []string{"lead", "callback"}, Created: 1700000000000},
			{ID: 1<<64 - 1, URL: long, Secret: unicode, Created: -1},
		}},
	},
	"delivery": {
		Delivery{ID: keyID},
		Delivery{ID: keyID, Endpoint: 5, URL: "https://crm.example/hook", Event: "lead", EventID: 42, Body: []byte(`{"event":"lead"}`),
			Created: 1700000000000, State: DeliveryDelivered, Due: 1700000000000, Attempts: 3, Delivered: 1700000009999,
			Recent: []DeliveryAttempt{{Time: 1, Status: 503, Error: "503 Service Unavailable", Duration: 12}, {Time: 2, Status: 0, Error: unicode, Reason: 255}, {Time: 3, Status: 200}}},
		Delivery{ID: keyID, Endpoint: 1<<64 - 1, URL: unicode, Event: long, Body: []byte(long), State: DeliveryDropped, Due: -1, Attempts: 1<<32 - 1},
	},
	"webhook health": {
		WebhookHealth{},
		WebhookHealth{FailingSince: 1700000000000, Failures: 12, Last: DeliveryAttempt{Time: 1700003600000, Status: 401, Error: `401 Unauthorized: "token expired"`, Duration: 85, Reason: 8},
			Alerted: 1700000000000},
		WebhookHealth{FailingSince: -1, Failures: 1<<32 - 1, Last: DeliveryAttempt{Time: -1 << 63, Error: unicode, Reason: 255}, Alerted: 1 << 62, Recovered: 1},
	},
}

func TestRecordRoundTrip(t *testing.T) {
	for _, c := range codecs {
		if len(samples[c.name]) == 0 {
			t.Fatalf("no samples for %s", c.name)
		}
		for i, want := range samples[c.name] {
			b := c.encode(want)
			got, err := c.decode(b)
			if err != nil {
				t.Fatalf("%s #%d: decode: %v", c.name, i, err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("%s #%d: round trip\n got %+v\nwant %+v", c.name, i, got, want)
			}
			if again := c.encode(got); !bytes.Equal(again, b) {
				t.Errorf("%s #%d: re-encoding differs", c.name, i)
			}
		}
	}
}

// The decoded record must not alias the input buffer: values are copied out
// of pebble, but callers reuse buffers too.
func TestDecodeDoesNotAlias(t *testing.T) {
	s := Site{ID: 1, Key: "key", Name: "name", Domains: []string{"d"}, Secret: []byte("secret")}
	b := s.Encode()
	got, err := DecodeSite(b)
	if err != nil {
		t.Fatal(err)
	}
	for i := range b {
		b[i] = 'X'
	}
	if !reflect.DeepEqual(got, s) {
		t.Fatalf("decoded site changed with its input: %+v", got)
	}
}

func TestDecodeRejects(t *testing.T) {
	for _, c := range codecs {
		for i, r := range samples[c.name] {
			b := c.encode(r)
			t.Run(c.name, func(t *testing.T) {
				for n := 0; n < len(b); n++ {
					if _, err := c.decode(b[:n]); !errors.Is(err, ErrCorrupt) {
						t.Fatalf("#%d truncated to %d of %d bytes: err = %v, want ErrCorrupt", i, n, len(b), err)
					}
				}
				for _, v := range []byte{0, b[0] + 1, 0xff} {
					bad := append([]byte{v}, b[1:]...)
					if _, err := c.decode(bad); !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "version") {
						t.Errorf("#%d version %d: err = %v, want unknown version", i, v, err)
					}
				}
				for _, tail := range [][]byte{{0}, {1}, []byte("trailing")} {
					if _, err := c.decode(append(bytes.Clone(b), tail...)); !errors.Is(err, ErrCorrupt) {
						t.Errorf("#%d with trailing %q: err = %v, want ErrCorrupt", i, tail, err)
					}
				}
			})
		}
	}
}

// Every string field of every record, in embedded structs too, rejects
// invalid UTF-8.
func TestDecodeRejectsInvalidUTF8(t *testing.T) {
	for _, c := range codecs {
		if c.name == "webhooks" || c.name == "webhook health" { // their strings are nested: TestDecodeRejectsInvalidUTF8Nested
			continue
		}
		r := samples[c.name][1]
		v := reflect.ValueOf(&r).Elem()
		rv := reflect.New(v.Elem().Type()).Elem()
		rv.Set(v.Elem())
		nstr := 0
		for _, sf := range reflect.VisibleFields(rv.Type()) { // embedded structs' fields too
			f := rv.FieldByIndex(sf.Index)
			var orig any
			switch f.Kind() {
			case reflect.String:
				orig = f.String()
				f.SetString("ok\xffnot utf-8")
			case reflect.Slice:
				if f.Type().Elem().Kind() != reflect.String {
					continue
				}
				orig = f.Interface()
				f.Set(reflect.ValueOf([]string{"fine", "\xc3\x28"}))
			default:
				continue
			}
			nstr++
			name := sf.Name
			if _, err := c.decode(c.encode(rv.Interface())); !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "utf-8") {
				t.Errorf("%s.%s invalid utf-8: err = %v, want invalid utf-8", c.name, name, err)
			}
			f.Set(reflect.ValueOf(orig))
		}
		if nstr == 0 && c.name != "due" && c.name != "touch" && c.name != "cost" && c.name != "phone visitor" && c.name != "export" { // these hold no strings
			t.Errorf("%s: no string fields checked", c.name)
		}
	}
}

// Hand-made encodings that no encoder writes: each must be rejected, so
// that every accepted encoding is the one Encode writes (one record, one
// byte string).
func TestDecodeRejectsNonCanonical(t *testing.T) {
	enc := func(version byte, f func(*encoder)) []byte {
		e := newEncoder(version, 0)
		f(e)
		return e.b
	}
	for _, tt := range []struct {
		name   string
		decode func([]byte) (any, error)
		b      []byte
	}{
		{"site id above uint32", codecs[0].decode, enc(siteVersion, func(e *encoder) {
			e.uint(1 << 32)
			e.str("")
			e.str("")
			e.strs(nil)
			e.bytes(nil)
			e.int(0)
		})},
		{"visitor site above uint32", codecs[4].decode, enc(visitorVersion, func(e *encoder) {
			e.uint(1)
			e.uint(1<<32 + 5)
			e.int(0)
			e.int(0)
			e.str("")
			e.strs(nil)
			e.strs(nil)
			e.bool(false)
		})},
		{"session hits above uint32", codecs[5].decode, enc(sessionVersion, func(e *encoder) {
			e.uint(1)
			e.uint(2)
			e.int(0)
			e.int(0)
			e.uint(1 << 32)
			for range 10 {
				e.str("")
			}
			e.bool(false)
		})},
		{"bool 2", codecs[4].decode, enc(visitorVersion, func(e *encoder) {
			e.uint(1)
			e.uint(1)
			e.int(0)
			e.int(0)
			e.str("")
			e.strs(nil)
			e.strs(nil)
			e.b = append(e.b, 2)
		})},
		// 0x80 0x00 is a two-byte uvarint of 0; Encode writes 0x00.
		{"padded uvarint", codecs[3].decode, []byte{tokenVersion, 0x80, 0x00, 0x00}},
		{"padded varint", codecs[3].decode, []byte{tokenVersion, 0x00, 0x82, 0x80, 0x00}},
		{"uvarint overflow", codecs[3].decode, []byte{tokenVersion, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f, 0x00}},
		{"string count beyond input", codecs[0].decode, enc(siteVersion, func(e *encoder) {
			e.uint(1)
			e.str("")
			e.str("")
			e.uint(1000)
		})},
		{"string length beyond input", codecs[3].decode, binary.AppendUvarint([]byte{tokenVersion}, 1<<40)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if r, err := tt.decode(tt.b); !errors.Is(err, ErrCorrupt) {
				t.Fatalf("decode %x = %+v, %v; want ErrCorrupt", tt.b, r, err)
			}
		})
	}
}

func TestCounters(t *testing.T) {
	for _, tt := range []struct {
		name  string
		v     []byte
		want  []int64
		wantE bool
	}{
		{"empty", nil, nil, false},
		{"one lane", counterOperand(0, -3), []int64{-3}, false},
		{"lane 3", counterOperand(3, 7), []int64{0, 0, 0, 7}, false},
		{"last lane", counterOperand(MaxLanes-1, 1), append(make([]int64, MaxLanes-1), 1), false},
		{"ragged", []byte{1, 2, 3}, nil, true},
		{"too many lanes", make([]byte, 8*(MaxLanes+1)), nil, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DecodeCounters(tt.v)
			if tt.wantE {
				if !errors.Is(err, ErrCorrupt) {
					t.Fatalf("err = %v, want ErrCorrupt", err)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("DecodeCounters = %v, %v; want %v", got, err, tt.want)
			}
		})
	}
}

// Records written before a field was added still decode, with the field's
// zero value.
func TestDecodeOldVersions(t *testing.T) {
	v1 := func(fields func(e *encoder)) []byte {
		e := newEncoder(1, 64)
		fields(e)
		return e.b
	}
	u, err := DecodeUser(v1(func(e *encoder) { e.str("a@b.c"); e.str("$argon2id$x"); e.str("operator"); e.int(5) }))
	if want := (User{Email: "a@b.c", Hash: "$argon2id$x", Role: "operator", Created: 5}); err != nil || u != want {
		t.Errorf("user v1 = %+v, %v; want %+v", u, err, want)
	}
	uv2 := newEncoder(2, 64)
	uv2.str("a@b.c")
	uv2.str("$argon2id$x")
	uv2.str("manager")
	uv2.int(5)
	uv2.uint(3)
	if u, err := DecodeUser(uv2.b); err != nil || u.Epoch != 3 || u.LastLogin != 0 {
		t.Errorf("user v2 = %+v, %v; want epoch 3, never signed in", u, err)
	}
	t2 := newEncoder(2, 64)
	t2.str("pbx")
	t2.int(3)
	t2.uint(1)
	t2.uint(7)
	if tk, err := DecodeToken(t2.b); err != nil || len(tk.Sites) != 1 || tk.Sites[0] != 7 || tk.LastUsed != 0 {
		t.Errorf("token v2 = %+v, %v; want site 7, never used", tk, err)
	}
	t4 := newEncoder(4, 64)
	t4.str("pbx")
	t4.int(3)
	t4.uint(0)
	t4.int(9)
	t4.str("")
	if tk, err := DecodeToken(t4.b); err != nil || tk.Scopes != nil || !tk.AllowsScope("leads:read") || tk.LastUsed != 9 {
		t.Errorf("token v4 = %+v, %v; want every scope", tk, err)
	}
	tk, err := DecodeToken(v1(func(e *encoder) { e.str("pbx"); e.int(3) }))
	if err != nil || tk.Name != "pbx" || tk.Created != 3 || tk.Sites != nil || !tk.AllowsSite(42) {
		t.Errorf("token v1 = %+v, %v; want every site", tk, err)
	}
	s, err := DecodeSite(v1(func(e *encoder) {
		e.uint(3)
		e.str("k")
		e.str("Shop")
		e.strs([]string{"shop.example"})
		e.bytes([]byte("x"))
		e.int(7)
	}))
	if err != nil || s.ID != 3 || s.Name != "Shop" || s.Created != 7 || s.AnyOrigin || s.TimeZone != "" {
		t.Errorf("site v1 = %+v, %v; want site 3 held to its domains", s, err)
	}
	v2 := newEncoder(2, 64)
	v2.uint(4)
	v2.str("k")
	v2.str("Shop")
	v2.strs([]string{"shop.example"})
	v2.bytes([]byte("x"))
	v2.int(7)
	v2.bool(true)
	if s, err := DecodeSite(v2.b); err != nil || s.ID != 4 || !s.AnyOrigin || s.TimeZone != "" {
		t.Errorf("site v2 = %+v, %v; want any origin in the server's zone", s, err)
	}
	v3 := newEncoder(3, 64)
	v3.uint(5)
	v3.str("k")
	v3.str("Shop")
	v3.strs([]string{"shop.example"})
	v3.bytes([]byte("x"))
	v3.int(7)
	v3.bool(false)
	v3.str("Asia/Almaty")
	if s, err := DecodeSite(v3.b); err != nil || s.ID != 5 || s.TimeZone != "Asia/Almaty" || s.PhoneRegion != "" || s.Region("RU") != "RU" {
		t.Errorf("site v3 = %+v, %v; want Almaty with the server's phone region", s, err)
	}
	v4 := newEncoder(4, 64)
	v4.b = append(v4.b, v3.b[1:]...)
	v4.str("KZ")
	if s, err := DecodeSite(v4.b); err != nil || s.PhoneRegion != "KZ" || s.RetentionDays != 0 {
		t.Errorf("site v4 = %+v, %v; want KZ, kept for ever", s, err)
	}
	p, err := DecodeProperty(v1(func(e *encoder) { e.str("VIP"); e.int(4) }))
	if want := (Property{Value: "VIP", Updated: 4}); err != nil || p != want {
		t.Errorf("property v1 = %+v, %v; want %+v", p, err, want)
	}
	w, err := DecodeWidgetSettings(v1(func(e *encoder) {
		e.str("https://pbx.example/cb")
		e.str("secret")
		e.bool(true)
		e.str("ru")
		e.uint(0)
		e.int(8)
	}))
	if err != nil || w.ScenarioURL != "https://pbx.example/cb" || !w.Captcha || w.Lang != "ru" || w.Updated != 8 || w.CaptchaDigits != 0 || w.NoQueue {
		t.Errorf("widget settings v1 = %+v, %v; want a captcha of the default length", w, err)
	}
	l, err := DecodeLoginSession(v1(func(e *encoder) { e.str("a@b.c"); e.str("csrf"); e.int(9) }))
	if want := (LoginSession{Email: "a@b.c", CSRF: "csrf", Expires: 9}); err != nil || l != want {
		t.Errorf("login v1 = %+v, %v; want %+v", l, err, want)
	}
	// A version 1 lead: time, visitor, session, hit, is_sale, sale_cost,
	// group_id, then its strings; its email is the parsed one and nothing
	// is flagged.
	ld, err := DecodeLead(7, v1(func(e *encoder) {
		e.int(5)
		e.uint(1)
		e.uint(2)
		e.uint(3)
		e.bool(false)
		e.int(0)
		e.uint(0)
		for _, s := range []string{"js", "Ivan", "ivan@example.com", "79161234567", "+7 916 123-45-67"} {
			e.str(s)
		}
		for range len((&Lead{}).leadStrings()) - 5 {
			e.str("")
		}
	}))
	if err != nil || ld.Email != "ivan@example.com" || ld.EmailRaw != "ivan@example.com" || ld.PhoneRaw != "+7 916 123-45-67" ||
		ld.PhoneUnparsed || ld.EmailUnparsed || ld.Visitor != 1 || ld.Hit != 3 {
		t.Errorf("lead v1 = %+v, %v", ld, err)
	}
	// A version 1 delivery's attempts have no reason.
	dl, err := DecodeDelivery(8, v1(func(e *encoder) {
		e.uint(5)
		e.str("https://crm.example/hook")
		e.str("lead")
		e.uint(42)
		e.bytes([]byte(`{}`))
		e.int(1700000000000)
		e.uint(uint64(DeliveryPending))
		e.int(1700000060000)
		e.uint(1)
		e.int(0)
		e.uint(1)
		e.int(1700000000001)
		e.int(0)
		e.str("connection refused")
		e.int(3)
	}))
	if want := (DeliveryAttempt{Time: 1700000000001, Error: "connection refused", Duration: 3}); err != nil || len(dl.Recent) != 1 || dl.Recent[0] != want || dl.URL != "https://crm.example/hook" {
		t.Errorf("delivery v1 = %+v, %v; want one attempt %+v", dl, err, want)
	}
	// A version 1 call has no match: its kind and attribution tell it.
	for _, tt := range []struct {
		kind       string
		attributed bool
		want       string
	}{{"dynamic", true, MatchLease}, {"static", true, MatchStatic}, {"dynamic", false, ""}, {"fallback", false, ""}, {"site", false, ""}} {
		c, err := DecodeCall(7, v1(func(e *encoder) {
			e.int(5)
			e.int(6)
			e.uint(65)
			e.bool(true)
			e.bool(tt.attributed)
			e.uint(0)
			e.uint(9)
			e.uint(10)
			e.int(0)
			for _, s := range []string{"74950000001", "79161234567", "", tt.kind} {
				e.str(s)
			}
			for range len((&Call{}).strings()) - 4 {
				e.str("")
			}
		}))
		if err != nil || c.Match != tt.want || c.Kind != tt.kind || c.Caller != "79161234567" {
			t.Errorf("call v1 of a %s number (attributed %v) = %+v, %v; want match %q", tt.kind, tt.attributed, c, err, tt.want)
		}
	}
}

// FuzzDecoders feeds the same bytes to every decoder: none may panic, and
// whatever one accepts must encode back to exactly the same bytes.
func FuzzDecoders(f *testing.F) {
	for _, c := range codecs {
		for _, r := range samples[c.name] {
			if b := c.encode(r); len(b) < 4096 {
				f.Add(b)
			}
		}
	}
	f.Add([]byte{})
	f.Add([]byte{1})
	f.Add([]byte{1, 0x80, 0x00})
	f.Add(counterOperand(2, -1))
	f.Fuzz(func(t *testing.T, b []byte) {
		in := bytes.Clone(b)
		for _, c := range codecs {
			r, err := c.decode(b)
			if !bytes.Equal(b, in) {
				t.Fatalf("%s: decoder changed its input", c.name)
			}
			if err != nil {
				if !errors.Is(err, ErrCorrupt) {
					t.Fatalf("%s: err = %v, does not wrap ErrCorrupt", c.name, err)
				}
				continue
			}
			if out := c.encode(r); !bytes.Equal(out, b) {
				// An older version re-encodes as the current one, which
				// must decode to the same record.
				again, err := c.decode(out)
				if out[0] <= b[0] || err != nil || !reflect.DeepEqual(again, r) {
					t.Fatalf("%s: decoded %+v from %x, re-encoded as %x", c.name, r, b, out)
				}
			}
		}
		lanes, err := DecodeCounters(b)
		if err == nil {
			var out []byte
			for _, l := range lanes {
				out = binary.LittleEndian.AppendUint64(out, uint64(l))
			}
			if !bytes.Equal(out, b) {
				t.Fatalf("counters: %x decoded to %v, re-encoded as %x", b, lanes, out)
			}
		}
	})
}

// The strings nested in webhook endpoints and delivery attempts reject
// invalid UTF-8 too.
func TestDecodeRejectsInvalidUTF8Nested(t *testing.T) {
	bad := "ok\xffnot utf-8"
	for _, tt := range []struct {
		name   string
		b      []byte
		decode func([]byte) error
	}{
		{"endpoint url", (&Webhooks{Endpoints: []WebhookEndpoint{{URL: bad}}}).Encode(), func(b []byte) error { _, err := DecodeWebhooks(b); return err }},
		{"endpoint secret", (&Webhooks{Endpoints: []WebhookEndpoint{{Secret: bad}}}).Encode(), func(b []byte) error { _, err := DecodeWebhooks(b); return err }},
		{"endpoint events", (&Webhooks{Endpoints: []WebhookEndpoint{{Events: []string{bad}}}}).Encode(), func(b []byte) error { _, err := DecodeWebhooks(b); return err }},
		{"attempt error", (&Delivery{Recent: []DeliveryAttempt{{Error: bad}}}).Encode(), func(b []byte) error { _, err := DecodeDelivery(1, b); return err }},
		{"health's last error", (&WebhookHealth{Last: DeliveryAttempt{Error: bad}}).Encode(), func(b []byte) error { _, err := DecodeWebhookHealth(b); return err }},
	} {
		if err := tt.decode(tt.b); !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "utf-8") {
			t.Errorf("%s: err = %v, want invalid utf-8", tt.name, err)
		}
	}
}

// A delivery's state, attempt statuses and attempt count are bounded.
func TestDecodeDeliveryRejectsOutOfRange(t *testing.T) {
	for name, dl := range map[string]Delivery{
		"state":    {State: DeliveryRefused + 1},
		"status":   {Recent: []DeliveryAttempt{{Status: 1000}}},
		"negative": {Recent: []DeliveryAttempt{{Status: -1}}},
		"attempts": {Recent: make([]DeliveryAttempt, MaxDeliveryAttempts+1)},
	} {
		if _, err := DecodeDelivery(1, dl.Encode()); !errors.Is(err, ErrCorrupt) {
			t.Errorf("%s: err = %v, want ErrCorrupt", name, err)
		}
	}
}

// A webhook endpoint's health keeps its last attempt's status and reason
// within their ranges, as a delivery's attempts do.
func TestDecodeWebhookHealthRejectsOutOfRange(t *testing.T) {
	for name, h := range map[string]WebhookHealth{
		"status":   {Last: DeliveryAttempt{Status: 1000}},
		"negative": {Last: DeliveryAttempt{Status: -1}},
	} {
		if _, err := DecodeWebhookHealth(h.Encode()); !errors.Is(err, ErrCorrupt) {
			t.Errorf("%s: err = %v, want ErrCorrupt", name, err)
		}
	}
}
