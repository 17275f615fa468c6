package httpd_test

import (
	"net/http"
	"regexp"
	"strings"
	"testing"

	"appliance/httpd"
)

// phoneRow is the row of a dashboard list (<tr id="...">) that dials
// digits, as sent; the test fails without one.
func phoneRow(t *testing.T, page, digits string) string {
	t.Helper()
	for _, row := range regexp.MustCompile(`(?s)<tr id="[^"]*">.*?</tr>`).FindAllString(page, -1) {
		if strings.Contains(row, `href="tel:+`+digits+`"`) {
			return row
		}
	}
	t.Fatalf("no row dials +%s in\n%s", digits, page)
	return ""
}

// A lead's and a callback's phone shows as people write it (the server's
// region: 8 (912) ... in RU), and what the visitor typed shows beneath it
// only when it says more than the number: an extension, words; the same
// number in another form is not repeated.
func TestPhoneShownAsWrittenTypedOnlyWhenItSaysMore(t *testing.T) {
	f := newCBFixture(t, func(o *httpd.Options) { o.Callbacks.VisitorLimit = 100 })
	c := f.srv.Client(t)
	cases := []struct {
		typed, digits, shown, extra string // extra: the typed text shown beneath, "" none
	}{
		{"8 (912) 345-67-81", "79123456781", "8 (912) 345-67-81", ""},
		{"+7 912 345 67 82", "79123456782", "8 (912) 345-67-82", ""},
		{"+79123456783", "79123456783", "8 (912) 345-67-83", ""},
		{"8 (912) 345-67-84 доб. 5", "79123456784", "8 (912) 345-67-84", "8 (912) 345-67-84 доб. 5"},
	}
	for _, tt := range cases {
		if status, out, _ := postJSON(t, f.srv.URL+"t/v1/lead", leadBody(f.key, f.v, map[string]any{"name": "Иван", "phone": tt.typed})); status != http.StatusOK {
			t.Fatalf("lead %q: %d %v", tt.typed, status, out)
		}
		if status, out, _ := postJSON(t, f.srv.URL+"t/v1/callback", leadBody(f.key, f.v, map[string]any{"phone": tt.typed})); status != http.StatusOK {
			t.Fatalf("callback %q: %d %v", tt.typed, status, out)
		}
	}
	for _, list := range []string{"leads", "callbacks"} {
		page := rawPage(t, c, f.srv.URL+"sites/"+f.key+"/"+list)
		for _, tt := range cases {
			row := phoneRow(t, page, tt.digits)
			if want := `<a class="tel" href="tel:+` + tt.digits + `">` + tt.shown + `</a>`; !strings.Contains(row, want) {
				t.Errorf("%s, typed %q: no %s in\n%s", list, tt.typed, want, row)
			}
			typed := regexp.MustCompile(`<div class="muted typed">([^<]*)</div>`).FindStringSubmatch(row)
			switch {
			case tt.extra == "" && typed != nil:
				t.Errorf("%s, typed %q: the same number shown again as typed, %q", list, tt.typed, typed[1])
			case tt.extra != "" && (typed == nil || typed[1] != tt.extra):
				t.Errorf("%s, typed %q: want %q beneath the number, got %v", list, tt.typed, tt.extra, typed)
			}
			if strings.Contains(row, "+"+tt.digits+"<") || strings.Contains(row, "("+tt.typed+")") {
				t.Errorf("%s, typed %q: shows the raw number or the typed text in parentheses:\n%s", list, tt.typed, row)
			}
		}
	}
}
