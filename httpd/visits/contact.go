package visits

import (
	"net/mail"
	"strings"

	"github.com/nyaruka/phonenumbers"
)

// PhoneRegion is the region a phone number without a country code is read
// in: Russia ("8 (912) 345-67-89" is +7 912 345-67-89).
const PhoneRegion = "RU"

// NormalizePhone parses a phone number as a person writes it and returns
// its E.164 digits without "+" ("8 (912) 345-67-89" -> "79123456789"). It
// refuses text that is no phone number or has the wrong number of digits
// for its country.
func NormalizePhone(s string) (string, error) {
	s = strings.TrimSpace(s)
	if err := checkText("phone", s, MaxPhone); err != nil {
		return "", err
	}
	if s == "" {
		return "", invalid("phone is empty")
	}
	n, err := phonenumbers.Parse(s, PhoneRegion)
	if err != nil {
		return "", invalid("phone %q is not a phone number", s)
	}
	if !phonenumbers.IsPossibleNumber(n) {
		return "", invalid("phone %q has the wrong number of digits", s)
	}
	e164 := phonenumbers.Format(n, phonenumbers.E164)
	// A degenerate number (all zeros after the country code, ...) may
	// format to digits that read back as another number: refuse it, so
	// that a stored phone always names itself.
	if again, err := phonenumbers.Parse(e164, PhoneRegion); err != nil || phonenumbers.Format(again, phonenumbers.E164) != e164 {
		return "", invalid("phone %q is not a phone number", s)
	}
	return strings.TrimPrefix(e164, "+"), nil
}

// NormalizeEmail checks a bare email address (no display name) and returns
// it in lower case.
func NormalizeEmail(s string) (string, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	if err := checkText("email", s, MaxEmail); err != nil {
		return "", err
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Name != "" || a.Address != s {
		return "", invalid("email %q is not an email address", s)
	}
	at := strings.LastIndexByte(s, '@')
	if domain := s[at+1:]; !strings.Contains(domain, ".") || strings.HasSuffix(domain, ".") {
		return "", invalid("email %q has no domain", s)
	}
	return s, nil
}
