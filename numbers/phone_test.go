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

// ParseDialled reads "00" and "8 10" before a country code as "+", in
// any region, where the digits as written are no valid number there; else
// it is ParsePhone.
func TestParseDialled(t *testing.T) {
	for _, c := range []struct{ in, region, want string }{
		{"00 44 20 7946 0958", "RU", "442079460958"}, // ParsePhone: 700442079460958
		{"00 7 921 000-11-22", "RU", "79210001122"},  // ParsePhone: an error
		{"8 10 44 20 7946 0958", "GB", "442079460958"},
		{"8-10-7-921-000-11-22", "RU", "79210001122"},
		{"(00) 7 921 000 11 22", "DE", "79210001122"},
		{"00 44 20 7946 0958", "GB", "442079460958"},
		{"8 921 000-11-22", "RU", "79210001122"},
		{"020 7946 0958", "GB", "442079460958"},
		{"8 (810) 123-45-67", "RU", "78101234567"}, // a valid number of the region as written
		{"+00 7 921 000 11 22", "RU", ""},
		{"00 7 921 000 11 22 доб. 5", "RU", ""},
		{"00", "RU", ""},
	} {
		p, err := numbers.ParseDialled(c.in, c.region)
		if p.Digits != c.want || (err == nil) != (c.want != "") {
			t.Errorf("ParseDialled(%q, %s) = %q, %v; want %q", c.in, c.region, p.Digits, err, c.want)
		}
	}
}

// FuzzParseDialled: what ParseDialled reads is what ParsePhone reads, or
// the number after an international call prefix the digits begin with.
func FuzzParseDialled(f *testing.F) {
	for _, s := range []string{"00 44 20 7946 0958", "8 10 7 921 000-11-22", "0079210001122", "810", "00", "8 10 +7", "8 921 000-11-22"} {
		f.Add(s, "RU")
	}
	f.Add("00442079460958", "GB")
	f.Fuzz(func(t *testing.T, s, region string) {
		p, err := numbers.ParseDialled(s, region)
		want, werr := numbers.ParsePhone(s, region)
		if err != nil {
			if !errors.Is(err, numbers.ErrPhone) || werr == nil {
				t.Fatalf("ParseDialled(%q): %v, ParsePhone: %v", s, err, werr)
			}
			return
		}
		if werr == nil && p == want {
			return
		}
		d := numbers.Digits(s)
		if strings.Contains(s, "+") || (d != "00"+p.Digits && d != "810"+p.Digits) || p.Ext != "" {
			t.Fatalf("ParseDialled(%q, %q) = %+v: neither ParsePhone's %+v nor the number after a prefix", s, region, p, want)
		}
		if again, err := numbers.ParsePhone("+"+p.Digits, region); err != nil || again != p {
			t.Fatalf("ParseDialled(%q) = %+v: ParsePhone(+%s) = %+v, %v", s, p, p.Digits, again, err)
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
