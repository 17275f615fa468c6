package tracking

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"appliance/numbers"
)

// parsePhone reads a number as numbers.ParsePhone does in region, for the
// numbers of call tracking: a tracking number, a site's own number, a
// call's. An extension is refused: a number is replaced and matched as a
// whole. Errors wrap ErrInvalid.
func parsePhone(s, region string) (numbers.Phone, error) {
	p, err := numbers.ParsePhone(s, region)
	if err != nil {
		return numbers.Phone{}, ErrInvalid.Because(err)
	}
	if p.Ext != "" {
		return numbers.Phone{}, ErrInvalid.Errorf("phone %q: extensions are not supported", s)
	}
	return p, nil
}

// digitsOf parses s in region and returns its E.164 digits.
func digitsOf(s, region string) (string, error) {
	p, err := parsePhone(s, region)
	return p.Digits, err
}

// callNumber reads a number as the telephony side reports it on a call:
// any written form numbers.ParsePhone reads, also as a SIP or tel URI
// ("sip:79161234567@pbx.example;user=phone", "<sip:...>", as PBXs write a
// caller ID), and with an extension, which is dialled after the number and
// is not part of it. It returns the number's E.164 digits. Errors wrap
// ErrInvalid.
func callNumber(s, region string) (string, error) {
	p, err := numbers.ParsePhone(uriUser(s), region)
	if err != nil {
		return "", ErrInvalid.Because(err)
	}
	return p.Digits, nil
}

// uriUser is the user part of a SIP or tel URI or of a SIP address
// ('"Ivan" <sip:7916@host>', "<7916@host>", "7916@host" are "7916"), also
// of a SIP From or To header's value with its parameters after the
// address ('<sip:7916@host>;tag=a6c85cf', as a PBX passes a caller on);
// any other text comes back as it is.
func uriUser(s string) string {
	t := strings.TrimSpace(s)
	if j := strings.LastIndexByte(t, '>'); j >= 0 {
		if i := strings.LastIndexByte(t[:j], '<'); i >= 0 {
			t = t[i+1 : j]
		}
	}
	if scheme, rest, ok := strings.Cut(t, ":"); ok {
		if !strings.EqualFold(scheme, "sip") && !strings.EqualFold(scheme, "sips") && !strings.EqualFold(scheme, "tel") {
			return s
		}
		t = rest
		if i := strings.IndexAny(t, ";?"); i >= 0 {
			t = t[:i]
		}
	}
	if i := strings.IndexByte(t, '@'); i >= 0 {
		t = t[:i]
	}
	return t
}

// typedCaller is a caller that is not a phone number ("anonymous", an
// internal extension), kept as the telephony side wrote it: valid UTF-8,
// control characters as spaces, at most numbers.MaxPhoneText bytes.
func typedCaller(s string) string {
	t := strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, strings.ToValidUTF8(s, "\uFFFD"))
	t = strings.TrimSpace(t)
	for len(t) > numbers.MaxPhoneText {
		_, size := utf8.DecodeLastRuneInString(t)
		t = t[:len(t)-size]
	}
	return strings.TrimSpace(t)
}
