package numbers

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/nyaruka/phonenumbers"
)

// DefaultRegion is the region a phone number without a country code is
// read in unless the server is told otherwise (--phone-region): Russia,
// where "8 (912) 345-67-89" is +7 912 345-67-89.
const DefaultRegion = "RU"

// MaxPhoneText bounds a phone number as typed.
const MaxPhoneText = 64

// ErrPhone is wrapped by every error of ParsePhone, a *PhoneError.
var ErrPhone = errors.New("numbers: not a phone number")

// PhoneError says what is wrong with a phone number as typed, in words
// for the person who typed it.
type PhoneError struct {
	Text   string // as typed, cut to MaxPhoneText bytes
	Reason string // "is not a phone number", ...
}

func (e *PhoneError) Error() string { return fmt.Sprintf("phone %q %s", e.Text, e.Reason) }

// Is makes errors.Is(err, ErrPhone) hold.
func (e *PhoneError) Is(target error) bool { return target == ErrPhone }

// Phone is a phone number in the forms the appliance needs.
type Phone struct {
	Digits string // E.164 without "+": "74872751404"; the number's identity
	CC     string // country calling code: "7"
	NSN    string // national significant number: "4872751404"
	Trunk  string // national prefix dialled before the NSN at home: "8" in RU, "0" in GB, "" where none
	Text   string // international format: "+7 487 275-14-04"
	Ext    string // the extension, when one was written ("ext. 5"); not part of Digits
}

// CheckRegion reports whether region is a region ParsePhone can read
// numbers in: an ISO 3166 code such as "RU" or "GB".
func CheckRegion(region string) error {
	if phonenumbers.GetCountryCodeForRegion(region) == 0 {
		return fmt.Errorf("phone region %q: want a two-letter country code such as RU or GB", region)
	}
	return nil
}

// ParsePhone reads a phone number in any common written form ("8 (487)
// 275-14-04", "+7 487 275 14 04", "74872751404", "00 44 20 7946 0958")
// and returns it normalised: the one rule for every phone number the
// appliance keeps, a visitor's, a lead's, a callback's, a tracking number,
// a call's, and for the numbers searched for. A number without a country
// code is read in region (DefaultRegion unless configured); bare digits
// that are no number there are read as E.164 without "+"
// ("442079460958"), as telephony systems write them. Digits that begin
// with an international call prefix (IntlPrefixes) are read as the number
// after it with a "+" ("00 44 20 7946 0958" and "8 10 44 20 7946 0958" are
// +44 20 7946 0958 in any region, not the RU number +7 00442079460958)
// when the number is written as digits and separators with no "+", the
// digits after the prefix are a valid number and the digits as written
// are no valid number in region: a number valid as written is read as
// written. An extension written after the number is read the same either
// way, in every form the "+" number takes one ("00 44 20 7946 0958 доб.
// 5", "ext. 5", "#5", "x5": Ext "5"). Errors are *PhoneError, wrapping
// ErrPhone: more than MaxPhoneText bytes, invalid UTF-8, control
// characters, no number, the wrong number of digits.
func ParsePhone(s, region string) (Phone, error) {
	p, valid, err := parseWritten(s, region)
	if valid {
		return p, err
	}
	if q, ok := afterPrefix(s, region); ok {
		return q, nil
	}
	return p, err
}

// afterPrefix reads s, a number that is no valid number as written, as
// the number after an international call prefix, with its extension; ok
// is false when s is not one, or the number after the prefix is no valid
// number, or s is text ParsePhone refuses (too long, not UTF-8, with
// control characters).
func afterPrefix(s, region string) (Phone, bool) {
	if len(s) > MaxPhoneText || !utf8.ValidString(s) || strings.ContainsFunc(s, unicode.IsControl) {
		return Phone{}, false
	}
	number, ext := splitNumber(s)
	d := Digits(number)
	for _, pre := range IntlPrefixes {
		rest, ok := strings.CutPrefix(d, pre)
		if !ok || rest == "" {
			continue
		}
		plus := "+" + rest
		if ext != "" {
			plus += " " + ext
		}
		// Every digit after the number must be the extension the "+"
		// form reads: nothing typed is dropped on the way.
		if q, qvalid, qerr := parseWritten(plus, region); qerr == nil && qvalid && q.Digits == rest && q.Ext == Digits(ext) {
			return q, true
		}
	}
	return Phone{}, false
}

// numberChars are what a number dialled with an international call
// prefix is written with: digits and separators, no "+".
const numberChars = "0123456789 -()."

// splitNumber cuts s where the first character that is no digit or
// separator (numberChars) is: the number as dialled, then what follows it
// ("доб. 5", "ext. 5", "#5"), "" when nothing does.
func splitNumber(s string) (number, rest string) {
	i := strings.IndexFunc(s, func(r rune) bool { return !strings.ContainsRune(numberChars, r) })
	if i < 0 {
		return s, ""
	}
	return s[:i], s[i:]
}

// parseWritten reads s as ParsePhone does but for international call
// prefixes other than "+" (which it reads only where region dials them:
// "00" in GB, "810" in RU), and reports whether the number is valid: one
// of a range the numbering plan of its country assigns, not only of a
// possible length.
func parseWritten(s, region string) (Phone, bool, error) {
	fail := func(reason string) (Phone, bool, error) {
		t := s
		if len(t) > MaxPhoneText {
			t = t[:MaxPhoneText]
		}
		return Phone{}, false, &PhoneError{Text: strings.ToValidUTF8(t, "\uFFFD"), Reason: reason}
	}
	switch {
	case len(s) > MaxPhoneText:
		return fail(fmt.Sprintf("is longer than %d bytes", MaxPhoneText))
	case !utf8.ValidString(s):
		return fail("is not valid UTF-8")
	case strings.ContainsFunc(s, unicode.IsControl):
		return fail("contains control characters")
	}
	t := strings.TrimSpace(s)
	if t == "" {
		return fail("is empty")
	}
	n, err := phonenumbers.Parse(t, region)
	if (err != nil || !phonenumbers.IsPossibleNumber(n)) && onlyDigits(t) {
		if n2, err2 := phonenumbers.Parse("+"+t, region); err2 == nil && phonenumbers.IsPossibleNumber(n2) {
			n, err = n2, nil
		}
	}
	if err != nil {
		return fail("is not a phone number")
	}
	if !phonenumbers.IsPossibleNumber(n) {
		return fail("has the wrong number of digits")
	}
	p := Phone{
		Digits: strings.TrimPrefix(phonenumbers.Format(n, phonenumbers.E164), "+"),
		CC:     fmt.Sprint(n.GetCountryCode()),
		NSN:    phonenumbers.GetNationalSignificantNumber(n),
		Text:   phonenumbers.Format(n, phonenumbers.INTERNATIONAL),
		Ext:    n.GetExtension(),
	}
	if r := phonenumbers.GetRegionCodeForNumber(n); r != "" {
		p.Trunk = phonenumbers.GetNddPrefixForRegion(r, true)
	}
	// A degenerate number (all zeros after the country code, ...) may
	// format to digits that read back as another number: refuse it, so
	// that a stored number always names itself.
	again, err := phonenumbers.Parse("+"+p.Digits, region)
	if len(p.Digits) > 15 || p.CC+p.NSN != p.Digits || err != nil || phonenumbers.Format(again, phonenumbers.E164) != "+"+p.Digits {
		return fail("is not a phone number")
	}
	return p, phonenumbers.IsValidNumber(again), nil
}

// PossibleAbroad reports whether cc is a country calling code and number,
// digits dialled after it, a possible length of a number there: "1" and
// 9210001122 are (ten digits), "1" and 89210001122 (eleven) and "8" (no
// such country) are not. Search asks it of digits written after 00 or 8 10.
func PossibleAbroad(cc, number string) bool {
	code, err := strconv.Atoi(cc)
	if err != nil || phonenumbers.GetRegionCodeForCountryCode(code) == "ZZ" || !onlyDigits(number) {
		return false
	}
	p, err := phonenumbers.Parse("+"+cc+number, "ZZ")
	return err == nil && int(p.GetCountryCode()) == code && phonenumbers.IsPossibleNumber(p)
}

// IntlPrefixes are the international call prefixes people write before a
// country code in place of "+": 00 (most of the world) and 810 (Russia
// and its neighbours, "8 10": the trunk prefix 8, then 10 to go abroad).
var IntlPrefixes = [...]string{"00", "810"}

// Digits is s without anything but the digits 0-9: "+7 (916) 123" is
// "7916123".
func Digits(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return r
		}
		return -1
	}, s)
}

func onlyDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// FormatPhone writes a stored number (E.164 digits without "+") the way
// people in region read it: in national format when the number is of
// region ("8 (495) 182-51-68" in RU), else in international format ("+44
// 20 7946 0958"). Digits that are no number come back with a "+".
func FormatPhone(digits, region string) string {
	n, err := phonenumbers.Parse("+"+digits, region)
	if err != nil || digits == "" {
		return "+" + digits
	}
	if phonenumbers.GetRegionCodeForNumber(n) == region {
		return phonenumbers.Format(n, phonenumbers.NATIONAL)
	}
	return phonenumbers.Format(n, phonenumbers.INTERNATIONAL)
}

// Reread returns the number a phone stored before ParsePhone read
// international call prefixes and the extensions after them is now: the
// stored digits (E.164 without "+"; "" when it did not parse) and the
// text as typed ("" when it was not kept), both read in region. ok is
// true only when the reading changed it: the digits are no valid number
// (or none), the number as typed was dialled with 00 or 8 10, and
// ParsePhone now reads it as a valid number with other digits ("00 44 20
// 7946 0958" in RU, stored as 700442079460958 or left unparsed, is
// 442079460958). Without the typed text the stored digits stand for it:
// the old reading put the region's country code before the digits as
// dialled (7 00442079460958), so the digits after the region's country
// code are read. A number stored valid, or valid as written in region, is
// never changed. Most stored numbers are told apart without parsing: only
// those dialled with 00 or 810 and not stored as the number after it are
// parsed.
func Reread(digits, typed, region string) (Phone, bool) {
	src := typed
	if src == "" {
		// The old reading put the region's country code before the
		// digits as dialled.
		cc := fmt.Sprint(phonenumbers.GetCountryCodeForRegion(region))
		rest, ok := strings.CutPrefix(digits, cc)
		if !ok || cc == "0" {
			return Phone{}, false
		}
		src = rest
	}
	number, _ := splitNumber(src)
	d := Digits(number)
	if !strings.HasPrefix(d, IntlPrefixes[0]) && !strings.HasPrefix(d, IntlPrefixes[1]) {
		return Phone{}, false
	}
	if digits != "" && (d == IntlPrefixes[0]+digits || d == IntlPrefixes[1]+digits) {
		return Phone{}, false // read after the prefix already
	}
	if _, valid, _ := parseWritten(src, region); valid {
		return Phone{}, false // read as written, as before
	}
	p, ok := afterPrefix(src, region)
	if !ok || p.Digits == digits || digits != "" && validDigits(digits, region) {
		return Phone{}, false
	}
	return p, true
}

// validDigits reports whether digits (E.164 without "+") are a valid
// number, one of a range its country's numbering plan assigns.
func validDigits(digits, region string) bool {
	p, valid, err := parseWritten("+"+digits, region)
	return err == nil && valid && p.Digits == digits
}

// TypedSaysMore reports whether typed, a phone number as someone typed it
// that was stored as digits (E.164 without "+"), tells more than the
// number shown in its place: an extension, words, or digits that ParsePhone
// in region reads as another number (or none). The same number in another
// written form ("8 (912) 345-67-89", "+7 912 345 67 89" for 79123456789)
// says nothing more; a page shows the number and leaves the typed text
// out.
func TypedSaysMore(digits, typed, region string) bool {
	if strings.TrimSpace(typed) == "" {
		return false
	}
	if strings.ContainsFunc(typed, func(r rune) bool { return !strings.ContainsRune("+"+numberChars, r) && !unicode.IsSpace(r) }) {
		return true // words, an extension's "#" or "доб."
	}
	// The same digits, or the region's trunk prefix before the national
	// number ("8 912..." for 7912... in RU): the same number, told without
	// phonenumbers' parse (~40 µs), which a page of leads paid row by row.
	typedDigits := Digits(typed)
	if typedDigits == digits || !strings.Contains(typed, "+") && sameNational(digits, typedDigits, region) {
		return false
	}
	p, err := ParsePhone(typed, region)
	return err != nil || p.Digits != digits || p.Ext != ""
}

// sameNational reports whether typed (digits only, written without "+") is
// region's trunk prefix and the national number of digits (E.164 without
// "+"), a number of region's own country: 8 9123456789 for 79123456789 in
// RU, 0 20 7946 0958 for 442079460958 in GB.
func sameNational(digits, typed, region string) bool {
	prefix := phonenumbers.GetNddPrefixForRegion(region, true)
	cc := phonenumbers.GetCountryCodeForRegion(region)
	if prefix == "" || cc == 0 {
		return false
	}
	national, ok := strings.CutPrefix(digits, strconv.Itoa(cc))
	return ok && national != "" && typed == prefix+national
}

// Valid reports whether p is a valid number (one of a range its country's
// numbering plan assigns), not only one of a possible length: what tells a
// number someone wrote among other words from any digits of that length.
func (p Phone) Valid(region string) bool { return p.Digits != "" && validDigits(p.Digits, region) }

// PhoneSep is how many bytes the separator people write between a phone
// number's digits takes at s[i], 0 when there is none there: a space,
// "-", ".", "(", ")", a no-break or narrow space, a Unicode dash or minus.
func PhoneSep[S ~string | ~[]byte](s S, i int) int {
	switch s[i] {
	case ' ', '-', '.', '(', ')':
		return 1
	case 0xC2: // U+00A0
		if i+1 < len(s) && s[i+1] == 0xA0 {
			return 2
		}
	case 0xE2: // U+2010-U+2015, U+202F, U+2212
		if i+2 < len(s) && (s[i+1] == 0x80 && (0x90 <= s[i+2] && s[i+2] <= 0x95 || s[i+2] == 0xAF) || s[i+1] == 0x88 && s[i+2] == 0x92) {
			return 3
		}
	}
	return 0
}
