package numbers_test

import (
	"errors"
	"strings"
	"testing"

	"appliance/numbers"
)

// The cases of the two parsers this one replaces (visits.NormalizePhone
// and tracking.ParsePhone) hold, in the default region.
func TestParsePhone(t *testing.T) {
	for _, tt := range []struct{ in, digits, nsn, trunk, ext string }{
		// visits.NormalizePhone's
		{"8 (912) 345-67-89", "79123456789", "9123456789", "8", ""},
		{"+7 912 345 67 89", "79123456789", "9123456789", "8", ""},
		{"79123456789", "79123456789", "9123456789", "8", ""},
		{"89123456789", "79123456789", "9123456789", "8", ""},
		{"9123456789", "79123456789", "9123456789", "8", ""},
		{"+7(495)182-51-68", "74951825168", "4951825168", "8", ""},
		{" +1 (650) 253-0000 ", "16502530000", "6502530000", "1", ""},
		{"+44 20 7946 0958", "442079460958", "2079460958", "0", ""},
		{"+380 44 123 4567", "380441234567", "441234567", "0", ""},
		// tracking.ParsePhone's
		{"8 (487) 275-14-04", "74872751404", "4872751404", "8", ""},
		{"+7 487 275 14 04", "74872751404", "4872751404", "8", ""},
		{"74872751404", "74872751404", "4872751404", "8", ""},
		{"4872751404", "74872751404", "4872751404", "8", ""},
		// Where they disagreed: E.164 digits without "+" are read as such
		// (tracking's rule; visits refused them), and an extension is kept
		// apart (visits dropped it, tracking refused the number).
		{"442079460958", "442079460958", "2079460958", "0", ""},
		{"+7 495 000 00 01 ext. 5", "74950000001", "4950000001", "8", "5"},
	} {
		p, err := numbers.ParsePhone(tt.in, numbers.DefaultRegion)
		if err != nil || p.Digits != tt.digits || p.NSN != tt.nsn || p.Trunk != tt.trunk || p.Ext != tt.ext || p.CC+p.NSN != p.Digits {
			t.Errorf("ParsePhone(%q) = %+v, %v", tt.in, p, err)
		}
	}
	for _, bad := range []string{"", "   ", "abc", "123", "12345", "+7 912", "8 (912) 345-67-89-00-11-22",
		strings.Repeat("9", numbers.MaxPhoneText+1), "+79123\xff456789", "\xff", "+7 912 345\x00 67 89", "+7 912 345 67 89\x1b[2J"} {
		p, err := numbers.ParsePhone(bad, numbers.DefaultRegion)
		var pe *numbers.PhoneError
		if !errors.Is(err, numbers.ErrPhone) || !errors.As(err, &pe) {
			t.Errorf("ParsePhone(%q) = %+v, %v; want a PhoneError", bad, p, err)
		}
	}
}

// The region decides how a number without a country code is read.
func TestParsePhoneRegion(t *testing.T) {
	for _, tt := range []struct{ region, in, digits string }{
		{"RU", "8 (912) 345-67-89", "79123456789"},
		{"GB", "020 7946 0958", "442079460958"},
		{"US", "(650) 253-0000", "16502530000"},
		{"GB", "+7 912 345 67 89", "79123456789"},
	} {
		if p, err := numbers.ParsePhone(tt.in, tt.region); err != nil || p.Digits != tt.digits {
			t.Errorf("ParsePhone(%q, %s) = %+v, %v; want %s", tt.in, tt.region, p, err, tt.digits)
		}
	}
	for _, r := range []string{"RU", "GB", "US", "KZ"} {
		if err := numbers.CheckRegion(r); err != nil {
			t.Errorf("CheckRegion(%s): %v", r, err)
		}
	}
	for _, r := range []string{"", "ru", "XX", "RUS", "001"} {
		if err := numbers.CheckRegion(r); err == nil {
			t.Errorf("CheckRegion(%q): no error", r)
		}
	}
}

func FuzzParsePhone(f *testing.F) {
	for _, s := range []string{"8 (912) 345-67-89", "+7 912 345 67 89", "+1 650 253 0000", "abc", "+", "8-800-FLOWERS",
		"tel:+7-912-345-67-89", "442079460958", "+7 495 000 00 01 ext. 5", "000000000000"} {
		f.Add(s, "RU")
	}
	f.Add("020 7946 0958", "GB")
	f.Fuzz(func(t *testing.T, s, region string) {
		p, err := numbers.ParsePhone(s, region)
		if err != nil {
			if !errors.Is(err, numbers.ErrPhone) {
				t.Fatalf("error not ErrPhone: %v", err)
			}
			return
		}
		if p.Digits == "" || len(p.Digits) > 15 || strings.Trim(p.Digits, "0123456789") != "" || p.CC+p.NSN != p.Digits {
			t.Fatalf("ParsePhone(%q) = %+v: not E.164 digits", s, p)
		}
		// Normalising is idempotent: the digits with "+" are the same number.
		if again, err := numbers.ParsePhone("+"+p.Digits, region); err != nil || again.Digits != p.Digits {
			t.Fatalf("ParsePhone(+%s) = %+v, %v; want %s", p.Digits, again, err, p.Digits)
		}
	})
}

func TestFormatPhone(t *testing.T) {
	for _, tt := range []struct{ digits, region, want string }{
		{"74951825168", "RU", "8 (495) 182-51-68"},
		{"74872751404", "RU", "8 (487) 275-14-04"},
		{"79161234567", "RU", "8 (916) 123-45-67"},
		{"442079460958", "RU", "+44 20 7946 0958"},
		{"442079460958", "GB", "020 7946 0958"},
		{"74951825168", "GB", "+7 495 182-51-68"},
		{"12", "RU", "+12"},
		{"", "RU", "+"},
	} {
		if got := numbers.FormatPhone(tt.digits, tt.region); got != tt.want {
			t.Errorf("FormatPhone(%q, %s) = %q, want %q", tt.digits, tt.region, got, tt.want)
		}
		// What is shown reads back as the same number.
		if p, err := numbers.ParsePhone(numbers.FormatPhone(tt.digits, tt.region), tt.region); len(tt.digits) > 5 && (err != nil || p.Digits != tt.digits) {
			t.Errorf("FormatPhone(%q, %s) reads back as %q, %v", tt.digits, tt.region, p.Digits, err)
		}
	}
}
