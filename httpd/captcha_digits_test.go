package httpd_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"appliance/httpd/callbacks"
)

// A site that asks for six-digit captchas gets them: its widgets learn the
// length, a captcha issued then is solved by its six digits and not by
// four, and keeps its length when the setting changes back; the length is
// 4 or 6, set by `callback set --captcha-digits` or the dashboard form.
func TestCaptchaDigitsPerSite(t *testing.T) {
	f := newCBFixture(t)
	widget := func() callbacks.Public {
		t.Helper()
		resp, err := http.Get(f.srv.URL + "t/v1/widget?k=" + f.key)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out struct{ Result callbacks.Public }
		if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
			t.Fatal(err)
		}
		return out.Result
	}
	order := func(what, ck, typed string, wantStatus_ int, wantCode string) {
		t.Helper()
		status, out := f.order(t, f.v, map[string]any{"phone": "79101234567", "captcha_key": ck, "captcha_value": typed})
		wantStatus(t, what, status, out, wantStatus_, wantCode)
	}
	const four, six = "4242", "424242"

	if info := f.configure(t, map[string]any{"captcha": "on"}); info.CaptchaDigits != 4 {
		t.Fatalf("a site never asked for a length: %d digits, want 4", info.CaptchaDigits)
	}
	if got := widget().CaptchaDigits; got != 4 {
		t.Fatalf("widget settings say %d digits, want 4", got)
	}
	order("a four-digit captcha answered with six", f.newCaptcha(t), six, callbacks.StatusWrongCaptcha, callbacks.CodeWrongCaptcha)

	if info := f.configure(t, map[string]any{"captcha_digits": 6}); info.CaptchaDigits != 6 || !info.Captcha {
		t.Fatalf("after captcha_digits 6: %+v", info)
	}
	if got := widget().CaptchaDigits; got != 6 {
		t.Fatalf("widget settings say %d digits, want 6", got)
	}
	order("a six-digit captcha answered with four", f.newCaptcha(t), four, callbacks.StatusWrongCaptcha, callbacks.CodeWrongCaptcha)
	order("a six-digit captcha answered with its six digits", f.newCaptcha(t), " 424 242 ", callbacks.StatusAccepted, callbacks.CodeQueued)

	issuedAtSix := f.newCaptcha(t)
	f.configure(t, map[string]any{"captcha_digits": 4})
	order("a captcha issued at six, answered with four after the site went back to four", issuedAtSix, four,
		callbacks.StatusWrongCaptcha, callbacks.CodeWrongCaptcha)
	order("a four-digit captcha answered with four", f.newCaptcha(t), four, callbacks.StatusAccepted, callbacks.CodeQueued)

	for _, bad := range []any{5, 0, 8, "6"} {
		status, answer := adminPost(t, f.srv, "/admin/callbacks", map[string]any{"site_key": f.key, "captcha_digits": bad})
		if status != http.StatusBadRequest || answer.Success {
			t.Errorf("captcha_digits %v: %d %+v, want 400", bad, status, answer)
		}
	}
	if got := widget().CaptchaDigits; got != 4 {
		t.Errorf("refused lengths changed the setting: %d digits", got)
	}

	// The dashboard's settings form.
	c := f.srv.Client(t)
	page := f.srv.URL + "sites/" + f.key + "/callbacks"
	form := url.Values{"csrf": {f.srv.FormToken(t, c, "sites/"+f.key+"/callbacks")}, "captcha": {"1"}, "captcha_digits": {"6"}}
	if status, _, _ := postForm(t, c, page, form); status != http.StatusSeeOther {
		t.Fatalf("saving 6 digits in the dashboard: %d", status)
	}
	if _, body := getPage(t, c, page); !strings.Contains(body, `<option value="6" selected>`) {
		t.Errorf("the form does not show 6 digits chosen")
	}
	if got := widget().CaptchaDigits; got != 6 {
		t.Errorf("after the dashboard form: %d digits, want 6", got)
	}
	form.Set("captcha_digits", "7")
	if status, body, _ := postForm(t, c, page, form); status != http.StatusBadRequest || !strings.Contains(body, "A captcha has 4 or 6 digits") {
		t.Errorf("7 digits in the dashboard: %d\n%s", status, body)
	}
	if got := widget().CaptchaDigits; got != 6 {
		t.Errorf("a refused form changed the length: %d digits", got)
	}
}
