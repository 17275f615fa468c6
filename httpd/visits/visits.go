// Package visits is the tracking domain of the appliance: what a page view,
// a session and a traffic source are, and how they are stored.
//
// A visitor is one browser on one site, remembered by the snippet's ci
// cookie ("visitor.session.first_visit_unix"). Its page views (hits) group
// into sessions: a hit continues the visitor's session while the session's
// last hit is less than 30 minutes old and the hit brings no different
// campaign (utm_* tags or click id); otherwise it starts a new session, the
// convention of Yandex Metrica and Google Analytics. A session's traffic
// source (channel, UTM tags, click id, referrer, landing page) is taken from
// its first hit (see source.go for the table). Bots, told by their user
// agent, are recorded like everyone else but flagged, and counted apart.
//
// Tracker writes hits, events, visitor info and properties through the
// store's durable writer, and keeps daily roll-ups as it goes, so that
// reports read one small counter per day instead of scanning hits. Input is
// validated here (sizes, UTF-8, URL shapes, phone numbers, emails): an error
// wrapping ErrInvalid is the visitor's mistake and nothing was stored.
package visits

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"appliance/internal/usererr"
)

// Errors of the visits package.
var (
	// ErrInvalid is wrapped by every error about bad input; the message
	// says which field and why.
	ErrInvalid = usererr.New("visits", 400, "invalid input")
	// ErrUnknown is wrapped when a ci, hit or visitor named by a request
	// does not exist on the site.
	ErrUnknown = usererr.New("visits", 400, "unknown visitor, session or hit")
)

// Input limits, in bytes of UTF-8 (the tracker protocol's).
const (
	MaxURL           = 2048 // page URL and referrer
	MaxTitle         = 512
	MaxEventCategory = 256 // category and action
	MaxEventName     = 1024
	MaxEventValue    = 1024
	MaxPropertyName  = 128
	MaxPropertyValue = 1024
	MaxName          = 256
	MaxEmail         = 254
	MaxPhone         = 64
	// MaxUserAgent is where a longer user agent is cut (it is a header the
	// visitor does not choose, so it is shortened, not refused).
	MaxUserAgent = 512

	// MaxPhones, MaxEmails and MaxProperties bound what one visitor keeps.
	MaxPhones     = 20
	MaxEmails     = 20
	MaxProperties = 100
)

// invalid is an error of kind ErrInvalid with a message.
func invalid(format string, a ...any) error { return ErrInvalid.Errorf(format, a...) }

// checkText checks that s, the value of field, is single-line text of at
// most max bytes (CheckText).
func checkText(field, s string, max int) error {
	return CheckText(field, s, max, false)
}

// CheckText checks that s, the value of field, is valid UTF-8 of at most
// max bytes without control characters (C0, DEL, C1; tab, CR and LF are
// allowed when multiline). It is the one check of every text a visitor's
// page sends: hits, events, visitor info, properties and leads. The error
// wraps ErrInvalid and names the field.
func CheckText(field, s string, max int, multiline bool) error {
	if len(s) > max {
		return invalid("%s is longer than %d bytes", field, max)
	}
	if !utf8.ValidString(s) {
		return invalid("%s is not valid UTF-8", field)
	}
	if strings.IndexFunc(s, func(r rune) bool { return isControl(r, multiline) }) >= 0 {
		return invalid("%s contains control characters", field)
	}
	return nil
}

// isControl reports whether r is a control character a text may not hold.
func isControl(r rune, multiline bool) bool {
	return unicode.IsControl(r) && !(multiline && (r == '\n' || r == '\r' || r == '\t'))
}

// stripControl drops the control characters of a text the visitor did not
// type (a page's title): white space ones become a space. Invalid UTF-8 is
// left for CheckText to refuse.
func stripControl(s string) string {
	if !utf8.ValidString(s) || strings.IndexFunc(s, func(r rune) bool { return isControl(r, false) }) < 0 {
		return s
	}
	return strings.Map(func(r rune) rune {
		switch {
		case r == '\t' || r == '\n' || r == '\r':
			return ' '
		case isControl(r, false):
			return -1
		}
		return r
	}, s)
}

// cutUTF8 shortens s to at most max bytes without splitting a character,
// and replaces invalid UTF-8.
func cutUTF8(s string, max int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if len(s) <= max {
		return s
	}
	i := max
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i]
}
