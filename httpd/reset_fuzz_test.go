package httpd

import (
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"appliance/httpd/visits"
)

// FuzzForgotAddress: whatever the reset form sends, an address it takes
// is one a user could have (lower case, trimmed, within the limit, no
// spaces or controls), and every spelling of it is the same address.
func FuzzForgotAddress(f *testing.F) {
	for _, s := range []string{"owner@example.com", " Owner@Example.COM ", "", "@", "a@b", "a b@example.com",
		"\"quoted\"@example.com", "x@example.com\r\nBcc: y@example.com", strings.Repeat("a", 300) + "@example.com", "ÿ@пример.рф"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		email, ok := forgotAddress(raw)
		if !ok {
			if email != "" {
				t.Fatalf("refused %q but returned %q", raw, email)
			}
			return
		}
		if !utf8.ValidString(email) || email != strings.ToLower(email) || len(email) > visits.MaxEmail ||
			strings.IndexFunc(email, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) >= 0 {
			t.Fatalf("took %q as %q", raw, email)
		}
		if again, ok := forgotAddress(" " + strings.ToUpper(email) + " "); ok && again != email {
			t.Fatalf("%q and its upper case are %q and %q", raw, email, again)
		}
	})
}
