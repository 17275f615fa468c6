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
		"tel:+7-912-345-67-89", "442079460958", "+7 495 000 00 01 ext. 5", "000000000000",
		"00 44 20 7946 0958", "8 10 7 921 000-11-22", "0079210001122", "810", "00", "8 10 +7", "8 (810) 123-45-67", "00 12 345",
		"00 44 20 7946 0958 доб. 5", "0044 20 7946 0958 #5", "00 7 921 000 11 22 ext. 5", "00 44 20 7946 0958 доб.", "00 44 x5", "0044 20 7946 0958 abc"} {
		f.Add(s, "RU")
	}
	f.Add("020 7946 0958", "GB")
	f.Add("00442079460958", "GB")
	f.Add("8 10 44 20 7946 0958", "GB")
	f.Add("(00) 375 29 123-45-67", "DE")
	f.Add("8 10 44 20 7946 0958 ext. 5", "GB")
	f.Add("00 44 20 7946 0958 x 12", "US")
	f.Fuzz(func(t *testing.T, s, region string) {
		p, err := numbers.ParsePhone(s, region)
		// The digits as written are read first: a number valid as written
		// normalises as it did before international call prefixes were
		// read, and only one that is not may be read after a prefix.
		written, valid, werr := numbers.ParseWritten(s, region)
		if valid && (werr != nil || err != nil || p != written) {
			t.Fatalf("ParsePhone(%q, %q) = %+v, %v; valid as written: %+v, %v", s, region, p, err, written, werr)
		}
		if err != nil {
			if !errors.Is(err, numbers.ErrPhone) || werr == nil {
				t.Fatalf("ParsePhone(%q, %q): %v; as written: %+v, %v", s, region, err, written, werr)
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
		if werr == nil && p == written {
			return
		}
		// Read after a prefix: s is the prefix and the number's digits in
		// digits and separators, then maybe an extension whose digits are
		// p.Ext; the number is valid and the one "+" and its digits write.
		number, ext := numbers.SplitNumber(s)
		d := numbers.Digits(number)
		if strings.Trim(number, "0123456789 -().") != "" || (d != "00"+p.Digits && d != "810"+p.Digits) || p.Ext != numbers.Digits(ext) {
			t.Fatalf("ParsePhone(%q, %q) = %+v: neither as written (%+v, %v) nor the number after a prefix", s, region, p, written, werr)
		}
		if again, avalid, err := numbers.ParseWritten("+"+p.Digits, region); err != nil || !avalid || again.Digits != p.Digits || again.CC != p.CC || again.NSN != p.NSN || again.Trunk != p.Trunk || (p.Ext == "" && again != p) {
			t.Fatalf("ParsePhone(%q) = %+v: +%s reads %+v, %v, valid %v", s, p, p.Digits, again, err, avalid)
		}
	})
}

// ParsePhone reads "00" and "8 10" before a country code as "+", in any
// region, where the digits as written are no valid number there: a lead
// form's "00 44 20 7946 0958" in RU was stored as +7 00442079460958.
func TestParsePhoneIntlPrefix(t *testing.T) {
	for _, c := range []struct{ in, region, want string }{
		{"00 44 20 7946 0958", "RU", "442079460958"},  // was 700442079460958
		{"00442079460958", "RU", "442079460958"},      // was 700442079460958
		{"00 375 29 123-45-67", "RU", "375291234567"}, // was 700375291234567
		{"00 7 921 000-11-22", "RU", "79210001122"},   // was an error
		{"0079210001122", "RU", "79210001122"},        // was an error
		{"00 49 30 123456", "RU", "4930123456"},       // was an error
		{"8 10 44 20 7946 0958", "GB", "442079460958"},
		{"8-10-7-921-000-11-22", "RU", "79210001122"},
		{"(00) 7 921 000 11 22", "DE", "79210001122"},
		{"00 44 20 7946 0958", "US", "442079460958"},
		{"00 44 20 7946 0958", "GB", "442079460958"},
		{"8 10 44 20 7946 0958", "RU", "442079460958"},
		{"8 921 000-11-22", "RU", "79210001122"},
		{"020 7946 0958", "GB", "442079460958"},
		{"8 (810) 123-45-67", "RU", "78101234567"}, // a valid number of the region as written
		{"+00 7 921 000 11 22", "RU", ""},
		{"00 7 921 000 11 22 abc", "RU", ""},
		{"00 44 20 7946 095", "RU", ""},
		{"00", "RU", ""},
		{"810", "RU", ""},
	} {
		p, err := numbers.ParsePhone(c.in, c.region)
		if p.Digits != c.want || (err == nil) != (c.want != "") {
			t.Errorf("ParsePhone(%q, %s) = %q, %v; want %q", c.in, c.region, p.Digits, err, c.want)
		}
		if err == nil && (p.Ext != "" || p.CC+p.NSN != p.Digits) {
			t.Errorf("ParsePhone(%q, %s) = %+v", c.in, c.region, p)
		}
		if err != nil && !errors.Is(err, numbers.ErrPhone) {
			t.Errorf("ParsePhone(%q, %s): %v, not ErrPhone", c.in, c.region, err)
		}
	}
	// Read as "+", the number is the one "+" writes, in every form.
	p, err := numbers.ParsePhone("00 44 20 7946 0958", "RU")
	want, werr := numbers.ParsePhone("+44 20 7946 0958", "RU")
	if err != nil || werr != nil || p != want {
		t.Errorf("ParsePhone(00 44 20 7946 0958) = %+v, %v; want %+v", p, err, want)
	}
}

// An extension written after a number dialled with 00 or 8 10 is read as
// it is after the "+" number, in every form ParsePhone reads one in:
// "00 44 20 7946 0958 доб. 5" in RU was stored as +7 00442079460958, "8
// 10 44 20 7946 0958 ext. 5" in GB was no number.
func TestParsePhoneIntlPrefixExt(t *testing.T) {
	for _, c := range []struct{ in, region, want, ext string }{
		{"00 44 20 7946 0958 доб. 5", "RU", "442079460958", "5"},   // was 700442079460958
		{"0044 20 7946 0958 #5", "RU", "442079460958", "5"},        // was 700442079460958
		{"00 44 20 7946 0958 ext. 5", "RU", "442079460958", "5"},   // was 700442079460958
		{"00 44 20 7946 0958 x 12", "RU", "442079460958", "12"},    // was 700442079460958
		{"00 44 20 7946 0958, 5", "RU", "442079460958", "5"},       // was 700442079460958
		{"00 44 20 7946 0958 доб.5", "KZ", "442079460958", "5"},    // was 700442079460958
		{"00 7 921 000 11 22 доб. 5", "RU", "79210001122", "5"},    // was an error
		{"8 10 44 20 7946 0958 ext. 5", "GB", "442079460958", "5"}, // was an error
		{"8 10 44 20 7946 0958 ext. 5", "RU", "442079460958", "5"}, // as written: 8 10 is RU's own prefix
		{"8-10-7-921-000-11-22 доб. 301", "US", "79210001122", "301"},
		{"00 44 20 7946 0958 доб. 5", "US", "442079460958", "5"},
		{"(00) 7 921 000 11 22 #5", "DE", "79210001122", "5"},
		{"00 44 20 7946 0958 abc", "RU", "", ""},
		{"00 44 20 7946 0958 доб.", "RU", "", ""},
		{"00 44 20 7946 095 доб. 5", "RU", "", ""},
		{"+00 44 20 7946 0958 доб. 5", "RU", "", ""},
		{"00 доб. 5", "RU", "", ""},
	} {
		p, err := numbers.ParsePhone(c.in, c.region)
		if p.Digits != c.want || p.Ext != c.ext || (err == nil) != (c.want != "") {
			t.Errorf("ParsePhone(%q, %s) = %+v, %v; want %q ext %q", c.in, c.region, p, err, c.want, c.ext)
		}
		if err != nil && !errors.Is(err, numbers.ErrPhone) {
			t.Errorf("ParsePhone(%q, %s): %v, not ErrPhone", c.in, c.region, err)
		}
	}
	// Read as "+", the number is the one "+" writes, in every form.
	p, err := numbers.ParsePhone("00 44 20 7946 0958 доб. 5", "RU")
	want, werr := numbers.ParsePhone("+44 20 7946 0958 доб. 5", "RU")
	if err != nil || werr != nil || p != want {
		t.Errorf("ParsePhone(00 44 20 7946 0958 доб. 5) = %+v, %v; want %+v", p, err, want)
	}
}

// Numbers written the ordinary ways normalise exactly as they did before
// international call prefixes were read: what was stored, matched against
// calls and indexed for search stays the same number.
func TestParsePhoneUnchanged(t *testing.T) {
	for _, c := range []struct{ region, in, digits, nsn, trunk, text, ext string }{
		{"RU", "8 921 000-11-22", "79210001122", "9210001122", "8", "+7 921 000-11-22", ""},
		{"RU", "89210001122", "79210001122", "9210001122", "8", "+7 921 000-11-22", ""},
		{"RU", "8-921-000-11-22", "79210001122", "9210001122", "8", "+7 921 000-11-22", ""},
		{"RU", "+7 921 000-11-22", "79210001122", "9210001122", "8", "+7 921 000-11-22", ""},
		{"RU", "+79210001122", "79210001122", "9210001122", "8", "+7 921 000-11-22", ""},
		{"RU", "7 921 000 11 22", "79210001122", "9210001122", "8", "+7 921 000-11-22", ""},
		{"RU", "79210001122", "79210001122", "9210001122", "8", "+7 921 000-11-22", ""},
		{"RU", "(921) 000-11-22", "79210001122", "9210001122", "8", "+7 921 000-11-22", ""},
		{"RU", "921 000 11 22", "79210001122", "9210001122", "8", "+7 921 000-11-22", ""},
		{"RU", "9210001122", "79210001122", "9210001122", "8", "+7 921 000-11-22", ""},
		{"RU", "8 (495) 182-51-68", "74951825168", "4951825168", "8", "+7 495 182-51-68", ""},
		{"RU", "8(495)1825168", "74951825168", "4951825168", "8", "+7 495 182-51-68", ""},
		{"RU", "+7 (495) 182-51-68", "74951825168", "4951825168", "8", "+7 495 182-51-68", ""},
		{"RU", "7 (495) 182-51-68", "74951825168", "4951825168", "8", "+7 495 182-51-68", ""},
		{"RU", "(495) 182-51-68", "74951825168", "4951825168", "8", "+7 495 182-51-68", ""},
		{"RU", "8 800 555-35-35", "78005553535", "8005553535", "8", "+7 800 555-35-35", ""},
		{"RU", "8 (810) 123-45-67", "78101234567", "8101234567", "8", "+7 8101234567", ""},
		{"RU", "8 (800) 100-00-00 доб. 12", "78001000000", "8001000000", "8", "+7 800 100-00-00 ext. 12", "12"},
		{"RU", "+7 495 182-51-68 доб. 5", "74951825168", "4951825168", "8", "+7 495 182-51-68 ext. 5", "5"},
		{"RU", "8 495 182-51-68 доб.5", "74951825168", "4951825168", "8", "+7 495 182-51-68 ext. 5", "5"},
		{"RU", "+7 495 182-51-68 ext. 5", "74951825168", "4951825168", "8", "+7 495 182-51-68 ext. 5", "5"},
		{"RU", "+7 495 182-51-68 #5", "74951825168", "4951825168", "8", "+7 495 182-51-68 ext. 5", "5"},
		{"RU", "8 10 44 20 7946 0958 доб. 5", "442079460958", "2079460958", "0", "+44 20 7946 0958 x5", "5"},
		{"GB", "00 44 20 7946 0958 ext. 5", "442079460958", "2079460958", "0", "+44 20 7946 0958 x5", "5"},
		{"GB", "020 7946 0958 #5", "442079460958", "2079460958", "0", "+44 20 7946 0958 x5", "5"},
		{"RU", "+44 20 7946 0958", "442079460958", "2079460958", "0", "+44 20 7946 0958", ""},
		{"RU", "442079460958", "442079460958", "2079460958", "0", "+44 20 7946 0958", ""},
		{"RU", "8 10 44 20 7946 0958", "442079460958", "2079460958", "0", "+44 20 7946 0958", ""},
		{"RU", "810442079460958", "442079460958", "2079460958", "0", "+44 20 7946 0958", ""},
		{"RU", "+49 30 1234567", "49301234567", "301234567", "0", "+49 30 1234567", ""},
		{"RU", "+49 30 12345678", "493012345678", "3012345678", "0", "+49 30 12345678", ""},
		{"RU", "+375 29 123-45-67", "375291234567", "291234567", "8", "+375 29 123-45-67", ""},
		{"RU", "375291234567", "375291234567", "291234567", "8", "+375 29 123-45-67", ""},
		{"RU", "+375 17 123-45-67", "375171234567", "171234567", "8", "+375 17 123-45-67", ""},
		{"RU", "+1 650 253 0000", "16502530000", "6502530000", "1", "+1 650-253-0000", ""},
		{"GB", "020 7946 0958", "442079460958", "2079460958", "0", "+44 20 7946 0958", ""},
		{"GB", "00 44 20 7946 0958", "442079460958", "2079460958", "0", "+44 20 7946 0958", ""},
		{"GB", "+7 921 000-11-22", "79210001122", "9210001122", "8", "+7 921 000-11-22", ""},
		{"DE", "030 1234567", "49301234567", "301234567", "0", "+49 30 1234567", ""},
		{"DE", "0049 30 1234567", "49301234567", "301234567", "0", "+49 30 1234567", ""},
		{"KZ", "8 701 123 45 67", "77011234567", "7011234567", "8", "+7 701 123 4567", ""},
		{"BY", "8 029 123-45-67", "375291234567", "291234567", "8", "+375 29 123-45-67", ""},
	} {
		want := numbers.Phone{Digits: c.digits, CC: strings.TrimSuffix(c.digits, c.nsn), NSN: c.nsn, Trunk: c.trunk, Text: c.text, Ext: c.ext}
		if p, err := numbers.ParsePhone(c.in, c.region); err != nil || p != want {
			t.Errorf("ParsePhone(%q, %s) = %+v, %v; want %+v", c.in, c.region, p, err, want)
		}
	}
}

// Reread gives a number stored with the old reading of 00 and 8 10 (the
// region's country code before the digits as dialled, or no number) the
// number ParsePhone reads now, and leaves every other stored number be.
func TestReread(t *testing.T) {
	for _, c := range []struct{ digits, typed, region, want, ext string }{
		{"700442079460958", "00 44 20 7946 0958", "RU", "442079460958", ""},
		{"700442079460958", "00 44 20 7946 0958 доб. 5", "RU", "442079460958", "5"},
		{"700442079460958", "0044 20 7946 0958 #5", "RU", "442079460958", "5"},
		{"700442079460958", "", "RU", "442079460958", ""}, // a visitor's: no typed text kept
		{"700375291234567", "", "KZ", "375291234567", ""},
		{"", "00 7 921 000-11-22", "RU", "79210001122", ""}, // was unparsed
		{"", "8 10 44 20 7946 0958 ext. 5", "GB", "442079460958", "5"},
		{"", "00 44 20 7946 095", "RU", "", ""}, // still no valid number
		{"", "00 44 20 7946 0958 abc", "RU", "", ""},
		{"", "00 44 20 7946 0958" + strings.Repeat(" ", numbers.MaxPhoneText), "RU", "", ""}, // ParsePhone refuses it
		{"", "", "RU", "", ""},
		{"", "abc", "RU", "", ""},
		{"79210001122", "8 921 000-11-22", "RU", "", ""},
		{"442079460958", "00 44 20 7946 0958", "RU", "", ""}, // already right
		{"78101234567", "8 (810) 123-45-67", "RU", "", ""},   // valid as written
		{"78101234567", "8 (810) 123-45-67", "GB", "", ""},   // valid, whatever the region now
		{"78101234567", "", "RU", "", ""},
		{"700442079460958", "", "GB", "", ""}, // not the region's country code: not the old reading
		{"4400", "", "GB", "", ""},
		{"7", "", "RU", "", ""},
	} {
		p, ok := numbers.Reread(c.digits, c.typed, c.region)
		if ok != (c.want != "") || p.Digits != c.want || p.Ext != c.ext {
			t.Errorf("Reread(%q, %q, %s) = %+v, %v; want %q ext %q", c.digits, c.typed, c.region, p, ok, c.want, c.ext)
		}
	}
}

// Reread changes only a number that is no valid number (or none) to the
// valid number ParsePhone reads now, and only once.
func FuzzReread(f *testing.F) {
	for _, c := range [][3]string{
		{"700442079460958", "00 44 20 7946 0958", "RU"}, {"700442079460958", "00 44 20 7946 0958 доб. 5", "RU"},
		{"700442079460958", "", "RU"}, {"", "00 7 921 000-11-22", "RU"}, {"", "8 10 44 20 7946 0958 ext. 5", "GB"},
		{"79210001122", "8 921 000-11-22", "RU"}, {"78101234567", "8 (810) 123-45-67", "GB"}, {"", "00 44 x5", "RU"},
		{"7", "", "RU"}, {"", "", ""}, {"7008", "", "KZ"}, {"", "00 44 20 7946 0958" + strings.Repeat(" ", 50), "RU"},
	} {
		f.Add(c[0], c[1], c[2])
	}
	f.Fuzz(func(t *testing.T, digits, typed, region string) {
		p, ok := numbers.Reread(digits, typed, region)
		if !ok {
			if p != (numbers.Phone{}) {
				t.Fatalf("Reread(%q, %q, %q) = %+v, false", digits, typed, region, p)
			}
			return
		}
		if p.Digits == digits {
			t.Fatalf("Reread(%q, %q, %q) = %+v: no change", digits, typed, region, p)
		}
		if again, valid, err := numbers.ParseWritten("+"+p.Digits, region); err != nil || !valid || again.Digits != p.Digits {
			t.Fatalf("Reread(%q, %q, %q) = %+v: no valid number (%+v, %v)", digits, typed, region, p, again, err)
		}
		if _, valid, err := numbers.ParseWritten("+"+digits, region); digits != "" && err == nil && valid {
			t.Fatalf("Reread(%q, %q, %q) = %+v: the stored number was valid", digits, typed, region, p)
		}
		if typed != "" {
			if now, err := numbers.ParsePhone(typed, region); err != nil || now != p {
				t.Fatalf("Reread(%q, %q, %q) = %+v; ParsePhone reads %+v, %v", digits, typed, region, p, now, err)
			}
		}
		if q, ok := numbers.Reread(p.Digits, typed, region); ok {
			t.Fatalf("Reread(%q, %q, %q) = %+v, then again %+v", digits, typed, region, p, q)
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

func TestTypedSaysMore(t *testing.T) {
	for _, tt := range []struct {
		digits, typed, region string
		want                  bool
	}{
		{"79123456789", "8 (912) 345-67-89", "RU", false},
		{"79123456789", "+7 912 345 67 89", "RU", false},
		{"79123456789", "79123456789", "RU", false},
		{"79123456789", " 8.912.345.67.89 ", "RU", false},
		{"442079460958", "8 10 44 20 7946 0958", "RU", false},
		{"442079460958", "020 7946 0958", "GB", false},
		{"79123456789", "", "RU", false},
		{"79123456789", "8 (912) 345-67-89 доб. 5", "RU", true},
		{"79123456789", "+7 912 345-67-89 #5", "RU", true},
		{"79123456789", "8 912 345 67 89 (Иван, после 18)", "RU", true},
		{"79123456789", "8 (912) 345-67-80", "RU", true}, // another number
		{"442079460958", "020 7946 0958", "RU", true},    // read in RU it is none
		{"79123456789", "+8 912 345 67 89", "RU", true},  // no such country code
		{"79123456789", "7 912 345 67 89 5", "RU", true}, // a digit more
		{"79123456789", "8 8 912 345 67 89", "RU", true},
		{"4420794609580", "0 20 7946 0958", "GB", true},
	} {
		if got := numbers.TypedSaysMore(tt.digits, tt.typed, tt.region); got != tt.want {
			t.Errorf("TypedSaysMore(%q, %q, %s) = %v, want %v", tt.digits, tt.typed, tt.region, got, tt.want)
		}
	}
}

// BenchmarkTypedSaysMore is a leads page's 500 rows, numbers as visitors
// type them: the trunk prefix and the country code told without a parse,
// an extension and another number parsed.
func BenchmarkTypedSaysMore(b *testing.B) {
	rows := []struct{ digits, typed string }{
		{"79123456789", "8 (912) 345-67-89"},
		{"79123456789", "+7 912 345 67 89"},
		{"79123456789", "89123456789"},
		{"79123456789", "8 (912) 345-67-80"},
	}
	for b.Loop() {
		for i := 0; i < 500; i++ {
			r := rows[i%len(rows)]
			numbers.TypedSaysMore(r.digits, r.typed, "RU")
		}
	}
}
