package httpd

import (
	"errors"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"appliance/httpd/callbacks"
	"appliance/httpd/visits"
	"appliance/numbers"
	"appliance/store"
)

// FuzzParseCallbackJSON feeds POST /t/v1/callback bodies to the parser and
// every request it accepts to the callback checks: nothing panics, and a
// callback that passes is within its limits and keeps its encoding.
func FuzzParseCallbackJSON(f *testing.F) {
	for _, s := range []string{
		`{"k":"AbCdEfGh0123456789AbCdEfGh012345","ci":"1.2.3","key":"00","hi":3,"phone":"79101234567"}`,
		`{"ci":"1.2.3","captcha_key":"jwgtGYZDYTA4pBEWRx","captcha_value":"8315","phone":"79101234567","delayed_call_time":1508927547000,"group_id":"16587"}`,
		`{"phone":79101234567,"delayed_call_time":"1508927547000","group_id":16587,"u":"https://shop.example/"}`,
		`{"phone":"+7 (910) 123-45-67","delayed_call_time":null,"group_id":null,"hi":null}`,
		`{"phone":"8 910 123 45 67","delayed_call_time":-1}`,
		`{"phone":{},"group_id":[1]}`,
		`{"captcha_value":"` + strings.Repeat("9", 65) + `"}`,
		`{"phone":"1"} {}`,
		`[]`, `null`, ``, `{"phone":"\u0000"}`, "{\"u\":\"\xff\"}",
		`{"phone":"79101234567","u":"https://shop.example/%D0%9F%D0%9"}`, `{"phone":"79101234567","u":"https://shop.example/#%"}`,
	} {
		f.Add([]byte(s))
	}
	now := time.Date(2026, 11, 26, 15, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, body []byte) {
		r, err := parseCallbackJSON(body)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || e.Code != 400 {
				t.Fatalf("error %v is not a 400", err)
			}
			return
		}
		if len(r.captchaKey) > 64 || len(r.captchaValue) > 64 || r.hit >= 1<<53 || r.in.GroupID >= 1<<53 || r.in.Delayed < 0 {
			t.Fatalf("accepted out of range: %+v", r)
		}
		cb, err := callbacks.Check(r.in, now, numbers.DefaultRegion)
		if err != nil {
			if !errors.Is(err, callbacks.ErrInvalid) {
				t.Fatalf("check error %v does not wrap ErrInvalid", err)
			}
			return
		}
		if cb.PhoneRaw == "" || strings.ContainsFunc(cb.PhoneRaw, unicode.IsControl) || len(cb.PhoneRaw) > callbacks.MaxPhone || len(cb.PageURL) > callbacks.MaxURL ||
			!utf8.ValidString(cb.PhoneRaw) || !utf8.ValidString(cb.PageURL) {
			t.Fatalf("accepted callback %+v", cb)
		}
		if visits.MendURL(cb.PageURL) != cb.PageURL || !strings.HasPrefix(strings.TrimSpace(r.in.PageURL), cb.PageURL) {
			t.Fatalf("page url %q stored as %q: not mended", r.in.PageURL, cb.PageURL)
		}
		if cb.Delayed != 0 && (cb.Delayed <= now.Add(callbacks.Soon).UnixMilli() || cb.Delayed > now.Add(callbacks.MaxDelay).UnixMilli()) {
			t.Fatalf("accepted delayed time %d", cb.Delayed)
		}
		cb.ID = 7
		back, err := store.DecodeCallback(cb.ID, cb.Encode())
		if err != nil || back.Phone != cb.Phone || back.PhoneRaw != cb.PhoneRaw || back.PageURL != cb.PageURL || back.Delayed != cb.Delayed {
			t.Fatalf("callback does not round-trip: %+v, %v", back, err)
		}
	})
}

// FuzzParseCaptchaRequest feeds POST /t/v1/captcha bodies to the parser:
// nothing panics, every refusal is a 4xx, and what is accepted is one
// object with a site key no longer than the body.
func FuzzParseCaptchaRequest(f *testing.F) {
	for _, s := range []string{
		`{"k":"AbCdEfGh0123456789AbCdEfGh012345"}`,
		`{"k":"x","ci":"1.2.3","key":"00","hi":3}`,
		`{"k":1}`, `{"k":"x","hi":-1}`, `{"k":"x","other":1}`, `{"k":"x"}{}`, `[]`, ``, "{\"k\":\"\xff\"}",
		`{"k":"` + strings.Repeat("a", 9000) + `"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		r, err := parseCaptchaRequest(body)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || e.Code < 400 || e.Code > 499 {
				t.Fatalf("error %v is not a 4xx", err)
			}
			return
		}
		if len(r.K) > len(body) || !utf8.ValidString(r.K) || len(body) > maxTrackerBody {
			t.Fatalf("accepted %+v from %d bytes", r, len(body))
		}
	})
}

// FuzzParseCaptchaPath: an accepted path is exactly captchaPath, the id and
// ".png" or ".wav", the id short and without a slash.
func FuzzParseCaptchaPath(f *testing.F) {
	for _, s := range []string{captchaPath + "ABCDEFGHIJKLMNOPQRSTUVWXYZ.png", captchaPath + "abc.wav", captchaPath + ".png", captchaPath + "abc",
		captchaPath + "a/b.wav", captchaPath + "abc.mp3", "/t/v1/captcha", captchaPath + strings.Repeat("a", 65) + ".png", captchaPath + "a.png.wav"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, path string) {
		id, png, ok := parseCaptchaPath(path)
		if !ok {
			if id != "" || png {
				t.Fatalf("refused %q but gave %q, %v", path, id, png)
			}
			return
		}
		ext := ".wav"
		if png {
			ext = ".png"
		}
		if id == "" || len(id) > 64 || strings.Contains(id, "/") || path != captchaPath+id+ext {
			t.Fatalf("%q read as id %q, png %v", path, id, png)
		}
	})
}
