package visits

import (
	"errors"
	"testing"
	"time"
)

func TestContinues(t *testing.T) {
	t0 := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	spring := Campaign{UTM: UTM{Source: "yandex", Medium: "cpc", Campaign: "spring"}}
	autumn := Campaign{UTM: UTM{Source: "yandex", Medium: "cpc", Campaign: "autumn"}}
	click1 := Campaign{Click: "gclid", ClickID: "1"}
	click2 := Campaign{Click: "gclid", ClickID: "2"}
	for _, tt := range []struct {
		name       string
		gap        time.Duration
		prev, next Campaign
		want       bool
	}{
		{"next page", time.Minute, Campaign{}, Campaign{}, true},
		{"29m59s idle", 30*time.Minute - time.Second, Campaign{}, Campaign{}, true},
		{"30m idle", 30 * time.Minute, Campaign{}, Campaign{}, false},
		{"hours idle", 5 * time.Hour, spring, Campaign{}, false},
		{"same campaign again (reload)", time.Minute, spring, spring, true},
		{"no campaign continues a campaign", time.Minute, spring, Campaign{}, true},
		{"other campaign", time.Minute, spring, autumn, false},
		{"campaign after direct", time.Minute, Campaign{}, spring, false},
		{"new ad click", time.Minute, click1, click2, false},
		{"same ad click", time.Minute, click1, click1, true},
		{"earlier than last (concurrent hits)", -time.Second, Campaign{}, Campaign{}, true},
	} {
		if got := Continues(t0, tt.prev, t0.Add(tt.gap), tt.next); got != tt.want {
			t.Errorf("%s: Continues = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestParseCI(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want CI
	}{
		{"17258569.255544855.1555675484", CI{17258569, 255544855, 1555675484}},
		{"1.1.0", CI{1, 1, 0}},
		{"9007199254740991.9007199254740991.9007199254740991", CI{1<<53 - 1, 1<<53 - 1, 1<<53 - 1}},
	} {
		got, err := ParseCI(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("ParseCI(%q) = %+v, %v; want %+v", tt.in, got, err, tt.want)
		}
		if got.String() != tt.in {
			t.Errorf("%+v.String() = %q, want %q", got, got.String(), tt.in)
		}
	}
	for _, in := range []string{"", "1", "1.2", "1.2.3.4", "0.1.2", "1.0.2", "-1.2.3", "+1.2.3", "1.2.-3", "a.b.c", "1..3",
		"9007199254740992.1.1", "1.1.99999999999999999999", " 1.2.3", "1.2.3 ", "1.2.3\n", "١.٢.٣"} {
		if got, err := ParseCI(in); !errors.Is(err, ErrInvalid) {
			t.Errorf("ParseCI(%q) = %+v, %v; want ErrInvalid", in, got, err)
		}
	}
}

func TestParseID(t *testing.T) {
	if v, err := ParseID("546833568748"); err != nil || v != 546833568748 {
		t.Errorf("ParseID = %d, %v", v, err)
	}
	for _, in := range []string{"", "0", "-1", "1e3", "9007199254740992", "12 "} {
		if _, err := ParseID(in); !errors.Is(err, ErrInvalid) {
			t.Errorf("ParseID(%q) = %v, want ErrInvalid", in, err)
		}
	}
}

// FuzzParseCI: a parsed ci prints back to a string that parses to the same
// ci, with ids in range.
func FuzzParseCI(f *testing.F) {
	for _, s := range []string{"17258569.255544855.1555675484", "1.1.0", "0.0.0", "1.2", "007.1.1", "1.2.3.4"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ci, err := ParseCI(s)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error not ErrInvalid: %v", err)
			}
			return
		}
		if ci.Visitor == 0 || ci.Visitor > maxID || ci.Session == 0 || ci.Session > maxID || ci.First < 0 || ci.First > maxID {
			t.Fatalf("ParseCI(%q) = %+v: out of range", s, ci)
		}
		again, err := ParseCI(ci.String())
		if err != nil || again != ci {
			t.Fatalf("round trip of %q: %+v -> %q -> %+v, %v", s, ci, ci.String(), again, err)
		}
	})
}
