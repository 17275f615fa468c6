package webhooks

import (
	"strconv"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

// excerpt puts a receiver's answer in the delivery log: whatever the
// answer, the excerpt is valid UTF-8 without control characters, at most
// maxExcerpt characters between its quotes, and unquotes to the start of
// the answer.
func FuzzExcerpt(f *testing.F) {
	for _, s := range []string{"", "ok", "a\x00b\x1b[31m", "\xff\xfe", "\"quoted\"", strings.Repeat("Ж", 200), "\u2028\u202e"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		e := excerpt(b)
		if !utf8.ValidString(e) || strings.ContainsFunc(e, unicode.IsControl) {
			t.Fatalf("excerpt(%q) = %q", b, e)
		}
		q, cut := strings.CutSuffix(e, "…")
		if n := utf8.RuneCountInString(q) - 2; n > maxExcerpt {
			t.Fatalf("excerpt(%q): %d characters", b, n)
		}
		s, err := strconv.Unquote(q)
		if err != nil {
			t.Fatalf("excerpt(%q) = %q: %v", b, e, err)
		}
		whole := string([]rune(string(b)))
		if !strings.HasPrefix(whole, s) || cut == (s == whole) {
			t.Fatalf("excerpt(%q) = %q: not the start of the answer", b, e)
		}
	})
}
