package tracking

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/nyaruka/phonenumbers"
)

// DefaultRegion is the region a number written without a country code is
// read in.
const DefaultRegion = "RU"

// MaxPhoneText bounds a phone number as typed.
const MaxPhoneText = 64

// Phone is a phone number in the forms replacement and attribution need.
type Phone struct {
	Digits string // E.164 without "+": "74872751404"; the number's identity
	CC     string // country calling code: "7"
	NSN    string // national significant number: "4872751404"
	Trunk  string // national prefix dialled before the NSN at home: "8" in RU, "0" in GB, "" where none
	Text   string // international format: "+7 487 275-14-04"
}

// ParsePhone reads a phone number in any common written form ("8 (487)
// 275-14-04", "+7 487 275 14 04", "74872751404"), in DefaultRegion unless
// it carries a country code; bare digits that are no number there are read
// as E.164 without "+" ("442079460958"). Errors wrap ErrInvalid and say why.
func ParsePhone(s string) (Phone, error) {
	if len(s) > MaxPhoneText || !utf8.ValidString(s) {
		return Phone{}, fmt.Errorf("parse phone %.64q: at most %d bytes of UTF-8: %w", s, MaxPhoneText, ErrInvalid)
	}
	t := strings.TrimSpace(s)
	if t == "" {
		return Phone{}, fmt.Errorf("parse phone: empty: %w", ErrInvalid)
	}
	n, err := phonenumbers.Parse(t, DefaultRegion)
	if (err != nil || !phonenumbers.IsPossibleNumber(n)) && onlyDigits(t) {
		// E.164 digits without "+", as telephony systems write them.
		if n2, err2 := phonenumbers.Parse("+"+t, DefaultRegion); err2 == nil && phonenumbers.IsPossibleNumber(n2) {
			n, err = n2, nil
		}
	}
	if err != nil {
		return Phone{}, fmt.Errorf("parse phone %q: %v: %w", s, err, ErrInvalid)
	}
	if n.GetExtension() != "" {
		return Phone{}, fmt.Errorf("parse phone %q: extensions are not supported: %w", s, ErrInvalid)
	}
	if !phonenumbers.IsPossibleNumber(n) {
		return Phone{}, fmt.Errorf("parse phone %q: not a possible phone number: %w", s, ErrInvalid)
	}
	p := Phone{
		Digits: strings.TrimPrefix(phonenumbers.Format(n, phonenumbers.E164), "+"),
		CC:     fmt.Sprint(n.GetCountryCode()),
		NSN:    phonenumbers.GetNationalSignificantNumber(n),
		Text:   phonenumbers.Format(n, phonenumbers.INTERNATIONAL),
	}
	if region := phonenumbers.GetRegionCodeForNumber(n); region != "" {
		p.Trunk = phonenumbers.GetNddPrefixForRegion(region, true)
	}
	if len(p.Digits) > 15 || p.CC+p.NSN != p.Digits {
		return Phone{}, fmt.Errorf("parse phone %q: not an E.164 number: %w", s, ErrInvalid)
	}
	return p, nil
}

// digitsOf parses s and returns its E.164 digits.
func digitsOf(s string) (string, error) {
	p, err := ParsePhone(s)
	return p.Digits, err
}

func onlyDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}
