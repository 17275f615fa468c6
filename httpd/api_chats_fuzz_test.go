package httpd

import (
	"strings"
	"testing"
)

// The body of POST /api/v1/chats/ID/transfer is whatever a token's holder
// sends: the parser never panics, refuses with a 400 (413 too large) and a
// reason, and a name it accepts is one the presence table could hold:
// trimmed, at most maxOperatorName bytes, no control characters, an
// email in lower case.
func FuzzTransferBody(f *testing.F) {
	for _, s := range []string{`{"operator":"boris@shop.example"}`, `{"operator":""}`, `{"operator":" Bot "}`, `{}`,
		`{"operator":null}`, `{"operator":"a","to":"b"}`, `[]`, `{"operator":"\u0001"}`, `{"operator":"Anna@Shop.Example"}`,
		"\ufeff{\"operator\":\"bot\"}", `{"operator":"\ud800"}`, `{"operator":1}`,
		`{"operator":"bot","from":"Anna@Shop.example"}`, `{"operator":"","from":""}`, `{"operator":"bot","from":null}`, `{"operator":"bot","from":"\u007f"}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		m, err := parseTransfer(body)
		if !checkParseErr(t, err) {
			return
		}
		names := []string{m.To}
		if m.From != nil {
			names = append(names, *m.From)
		}
		for _, name := range names {
			if len(body) > maxAPIChatBody || len(name) > maxOperatorName || name != strings.TrimSpace(name) ||
				strings.ContainsFunc(name, func(r rune) bool { return r < 0x20 || r == 0x7f }) ||
				strings.Contains(name, "@") && name != strings.ToLower(name) {
				t.Fatalf("%q accepted as %+v (%q)", body, m, name)
			}
		}
	})
}
