package httpd

import (
	"strconv"
	"testing"
)

// The visitor card's id comes from the path anyone may type: it never
// panics, refuses with a 400 and a reason, and what it accepts is a
// visitor id (1 to 2^53-1) written plainly, so one card has one address.
func FuzzParseVisitorID(f *testing.F) {
	for _, s := range []string{"1", "42", "9007199254740991", "9007199254740992", "0", "", "-1", "+1", "01", "1.0",
		"abc", "1/2", "18446744073709551616", " 1", "1%20", "١"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		id, err := parseVisitorID(visitorsAPIPath+s, visitorsAPIPath)
		if !checkParseErr(t, err) {
			return
		}
		if id == 0 || id >= 1<<53 || strconv.FormatUint(id, 10) != s {
			t.Fatalf("parseVisitorID(%q) = %d", s, id)
		}
	})
}
