package httpd

import (
	"encoding/json"
	"errors"
	"maps"
	"strings"
	"testing"
	"time"

	"appliance/httpd/i18n"
	"appliance/numbers"
)

// The forms the snippet copies a number's format with: each way the site
// number is written maps to the replacement in that form, or to "" (the
// snippet shows the replacement's text) when it cannot be written so.
func TestReplacementForms(t *testing.T) {
	ru := phoneForms{Raw: "74872751404", CC: "7", NSN: "4872751404", Trunk: "8"}
	tests := []struct {
		name string
		n    phoneAnswer
		want string
	}{
		{"same country and length", phoneAnswer{Site: ru, CC: "7", NSN: "4950000001", Trunk: "8"},
			`{"4872751404":"4950000001","74872751404":"74950000001","84872751404":"84950000001"}`},
		{"a replacement without a trunk prefix", phoneAnswer{Site: ru, CC: "7", NSN: "9161234567"},
			`{"4872751404":"9161234567","74872751404":"79161234567","84872751404":""}`},
		{"another length", phoneAnswer{Site: ru, CC: "7", NSN: "495000001", Trunk: "8"},
			`{"4872751404":"","74872751404":"","84872751404":""}`},
		{"another country", phoneAnswer{Site: ru, CC: "1", NSN: "2025550123", Trunk: "1"},
			`{"4872751404":"","74872751404":"","84872751404":""}`},
		{"a site number without trunk prefix", phoneAnswer{Site: phoneForms{CC: "44", NSN: "2071234567"}, CC: "44", NSN: "2079460000", Trunk: "0"},
			`{"2071234567":"2079460000","442071234567":"442079460000"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := json.Marshal(replacementForms(tt.n))
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("forms %s, want %s", got, tt.want)
			}
		})
	}
}

// FuzzNumberForms: the forms are written as encoding/json writes the same
// map (sorted keys, its escaping).
func FuzzNumberForms(f *testing.F) {
	f.Add("7", "4872751404", "8", "7", "4950000001", "8")
	f.Add("44", "2071234567", "", "44", "2079460000", "0")
	f.Add("", "<&>", "\"", "", "\u2028", "\xff")
	f.Fuzz(func(t *testing.T, cc, nsn, trunk, ncc, nnsn, ntrunk string) {
		forms := replacementForms(phoneAnswer{Site: phoneForms{CC: cc, NSN: nsn, Trunk: trunk}, CC: ncc, NSN: nnsn, Trunk: ntrunk})
		m := map[string]string{}
		for _, kv := range forms.kv[:forms.n] {
			if _, ok := m[kv[0].String()]; ok {
				t.Fatalf("form %q twice", kv[0])
			}
			m[kv[0].String()] = kv[1].String()
		}
		// The forms as strings, built: what replacementForms keeps in
		// parts.
		built := map[string]string{}
		for _, f := range []string{cc + nsn, trunk + nsn, nsn} {
			if _, ok := built[f]; ok {
				continue
			}
			var r string
			switch {
			case f == cc+nsn:
				r = ncc + nnsn
			case f == nsn:
				r = nnsn
			case ntrunk != "":
				r = ntrunk + nnsn
			}
			if len(r) != len(f) || ncc != cc {
				r = ""
			}
			built[f] = r
		}
		if !maps.Equal(m, built) {
			t.Fatalf("forms %q, built as strings %q", m, built)
		}
		want, _ := json.Marshal(m)
		if got := forms.appendJSON(nil); string(got) != string(want) {
			t.Fatalf("%s, encoding/json %s", got, want)
		}
	})
}

// FuzzParseReserve: a pool's reserve, as an owner types it, is read or
// refused with a 400 that says how to write it, never a panic; what the
// word form reads is a whole time from 0 to 1000 days; and the page's own
// ways of writing a reserve read back as it: the form's ("20m", "7d") and
// the heading's in either language ("1 ч 30 мин", "7 дней", "2 h"), with
// or without spaces.
func FuzzParseReserve(f *testing.F) {
	for _, s := range []string{"20m", "7d", "20 мин", "20мин", "7 дн", "2 ч", "1 ч 30 мин", "7 дней", "10 мин.", "1h30m", "-5m",
		"", " ", "мин", "20 мес", "999999999 дн", "1\u00a0ч", "7 ДНЕЙ", "1 d 1 d", "\xff", "0"} {
		f.Add(s, uint16(20))
	}
	cat, err := i18n.Load()
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, s string, mins uint16) {
		d, err := parseReserve(s)
		if err != nil {
			var ue *Error
			if !errors.As(err, &ue) || ue.Code != 400 {
				t.Fatalf("%q: %v (%T), want a 400 user error", s, err, err)
			}
		} else if _, perr := time.ParseDuration(strings.TrimSpace(s)); perr != nil && (d < 0 || d > 1000*24*time.Hour) {
			t.Fatalf("%q read as %s", s, d)
		}
		want := time.Duration(mins%(7*24*60)+1) * time.Minute
		for _, w := range []string{numbers.FormatReserve(want), reserveWords(cat.For(i18n.Ru), want), reserveWords(cat.For(i18n.En), want)} {
			for _, w := range []string{w, strings.NewReplacer(" ", "", "\u00a0", "").Replace(w)} {
				if got, err := parseReserve(w); err != nil || got != want {
					t.Fatalf("%q (%s) read as %s, %v", w, want, got, err)
				}
			}
		}
	})
}
