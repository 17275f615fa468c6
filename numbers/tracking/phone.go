package tracking

import (
	"regexp"
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

// MaxCalledExt bounds the extension of a called number.
const MaxCalledExt = 16

// callNumber reads a number as the telephony side reports it on a call:
// any written form numbers.ParsePhone reads, also as a SIP or tel URI
// ("sip:79161234567@pbx.example;user=phone", "<sip:...>", as PBXs write a
// caller ID), and with an extension, which is dialled after the number and
// is not part of it: as people write one ("доб. 12", "(доб. 12)", "ext.
// 12", "x12", "#12"), as a dial string has it after a pause ("p12", "w12",
// ",12", ";12"), or as a tel URI's ext parameter (";ext=12"). It returns
// the number's E.164 digits and the extension's digits ("" when none; at
// most MaxCalledExt, else none). Errors wrap ErrInvalid.
func callNumber(s, region string) (digits, ext string, err error) {
	user, params := uriParts(s)
	p, err := numbers.ParsePhone(user, region)
	if err != nil {
		// A dial string, or an extension in brackets, which the
		// written forms do not take: the number before it.
		m := dialExt.FindStringSubmatch(user)
		if m == nil {
			return "", "", ErrInvalid.Because(err)
		}
		q, qerr := numbers.ParsePhone(m[1], region)
		if qerr != nil || q.Ext != "" {
			return "", "", ErrInvalid.Because(err)
		}
		p, p.Ext = q, m[2]
	}
	ext = p.Ext
	for _, kv := range strings.Split(params, ";") {
		if k, v, ok := strings.Cut(kv, "="); ok && strings.EqualFold(strings.TrimSpace(k), "ext") && ext == "" {
			ext = numbers.Digits(v)
		}
	}
	if len(ext) > MaxCalledExt {
		ext = ""
	}
	return p.Digits, ext, nil
}

// dialExt is a number followed by an extension that numbers.ParsePhone
// does not read: after a dial string's pauses ("74950000001p12",
// "74950000001,,12", "w12"), or in brackets ("8 495 000 00 01 (доб.
// 12)"). Group 1 is the number, group 2 the extension's digits.
var dialExt = regexp.MustCompile(`(?i)^(.*\d)[\s.)-]*(?:[,;pw]+|\(?\s*(?:доб(?:авочный)?|вн(?:утренний)?|ext(?:ension)?|x|#)\s*[.:№#]?)\s*(\d{1,16})\s*\)?\s*#?$`)

// uriUser is the user part of a SIP or tel URI or of a SIP address
// ('"Ivan" <sip:7916@host>', "<7916@host>", "7916@host" are "7916"), also
// of a SIP From or To header's value with its parameters after the
// address ('<sip:7916@host>;tag=a6c85cf', as a PBX passes a caller on);
// any other text comes back as it is.
func uriUser(s string) string {
	u, _ := uriParts(s)
	return u
}

// uriParts is uriUser of s, and the parameters of the URI's user part
// ("ext=12;isub=1" of "tel:+74950000001;ext=12;isub=1" and of
// "sip:+74950000001;ext=12@host"), "" when none.
func uriParts(s string) (user, params string) {
	t := strings.TrimSpace(s)
	if j := strings.LastIndexByte(t, '>'); j >= 0 {
		if i := strings.LastIndexByte(t[:j], '<'); i >= 0 {
			t = t[i+1 : j]
		}
	}
	if scheme, rest, ok := strings.Cut(t, ":"); ok {
		if !strings.EqualFold(scheme, "sip") && !strings.EqualFold(scheme, "sips") && !strings.EqualFold(scheme, "tel") {
			return s, ""
		}
		t = rest
		if i := strings.IndexByte(t, '@'); i >= 0 {
			t = t[:i]
		}
		if i := strings.IndexAny(t, ";?"); i >= 0 {
			t, params = t[:i], t[i:]
			params, _, _ = strings.Cut(strings.TrimPrefix(params, ";"), "?")
		}
		return t, params
	}
	if i := strings.IndexByte(t, '@'); i >= 0 {
		t = t[:i]
	}
	return t, ""
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
