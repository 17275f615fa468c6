package export

import (
	"errors"
	"strings"
	"testing"
)

func TestCheckSubject(t *testing.T) {
	for s, ok := range map[string]bool{
		"appliance.events": true, "a": true, "events-1.ru_RU": true,
		"": false, "a..b": false, ".a": false, "a.": false, "a.*": false, "a.>": false,
		"a b": false, "a\tb": false, "события": false, strings.Repeat("a", 201): false,
	} {
		err := CheckSubject(s)
		if (err == nil) != ok || (err != nil && !errors.Is(err, ErrSubject)) {
			t.Errorf("CheckSubject(%q) = %v, want ok %v", s, err, ok)
		}
	}
}

// FuzzCheckSubject: whatever it accepts is a plain subject that a message
// subject can be built on (no wildcard, no empty token, printable ASCII).
func FuzzCheckSubject(f *testing.F) {
	for _, s := range []string{"appliance.events", "a..b", "a.>", "*", "a b", "\xff", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if CheckSubject(s) != nil {
			return
		}
		for _, tok := range strings.Split(s, ".") {
			if tok == "" || tok == "*" || tok == ">" || strings.ContainsAny(tok, " \t\r\n*>") {
				t.Fatalf("accepted %q", s)
			}
		}
		for _, r := range s {
			if r < '!' || r > '~' {
				t.Fatalf("accepted %q", s)
			}
		}
	})
}
