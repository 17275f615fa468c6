// Package leads is the model of a lead: a request a visitor leaves through
// the site's own form (Comagic.addOfflineRequest), its server
// (add_offline_message) or a built-in form. A lead arrives as Input, every
// field as typed; Check bounds and validates it and normalises the phone;
// Service.Add ties it to the visitor, session and hit it came from
// (visits.Tracker.Attribute, which copies the session's traffic source
// into it, so that lists, exports and webhooks read one record) and stores
// it with its webhook deliveries in one write. Stored leads of a site are
// in arrival order (store.LeadKey); List reads them back newest first
// through a Filter.
//
// The package knows nothing of HTTP: handlers decode the wire formats into
// Input and answer the errors, Errors of kind ErrInvalid with a message
// meant for the developer who called the API.
package leads

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"appliance/httpd/visits"
	"appliance/internal/usererr"
	"appliance/numbers"
	"appliance/store"
)

// ErrInvalid is the kind of every error about a lead's input.
var ErrInvalid = usererr.New("leads", 400, "invalid lead").WithCode(CodeInvalidRequest)

// Result codes of a refused lead, for a page's code: the "code" of
// addOfflineRequest's result when it fails.
const (
	CodeEmpty          = "empty_lead"      // nothing typed in any field
	CodeInvalidRequest = "invalid_request" // anything else: a limit, a sale cost, the page
)

// Limits of a lead's fields, in bytes.
const (
	MaxName    = 256
	MaxEmail   = 254
	MaxPhone   = 64
	MaxMessage = 4096
	// MaxChatTranscript is the message limit of a lead made from a chat
	// (via "chat"): its transcript.
	MaxChatTranscript = 128 << 10
	MaxFormName       = 256
	MaxURL            = 2048
	// MaxGroupID keeps a group id exact in JavaScript.
	MaxGroupID = 1<<53 - 1
	// MaxSaleCost is the largest sale cost, in hundredths (10^12 units).
	MaxSaleCost = 100 * 1_000_000_000_000
)

// How a lead arrived (store.Lead.Via).
const (
	ViaJS     = "js"     // Comagic.addOfflineRequest from the page
	ViaServer = "server" // the site's server, api/add_offline_message/
	ViaForm   = "form"   // the built-in lead form
	ViaChat   = "chat"   // a chat no operator answered
	// ViaVisitorInfo is the visitor info of /vc/s/ (the server-side
	// Comagic.addVisitorInfo) sent with the site key before the visitor's
	// first page view was answered: no visitor to add it to, so it is kept
	// as the site's lead without a visit rather than lost.
	ViaVisitorInfo = "visitor_info"
)

// Input is a lead as it arrives, before any check.
type Input struct {
	Name     string
	Email    string
	Phone    string
	Message  string
	IsSale   bool
	SaleCost string // decimal as given ("9999", "9 999,50"); "" when none
	GroupID  uint64
	FormName string
	PageURL  string
}

// Check validates in and returns the lead it describes, with Time set to
// now and via recorded; Add attributes it. Every field is kept as typed
// (trimmed). A phone and an email are also normalised as the tracker does
// for visitors (numbers.ParsePhone in region, visits.NormalizeEmail), so
// that a lead's and a visitor's match; one that does not parse is flagged
// (PhoneUnparsed, EmailUnparsed), never a reason to refuse the lead: a
// visitor's request is not lost over a typo. Only an empty lead, a field
// over its limit, text that is not UTF-8 or has control characters, and
// the fields the page's code sets (page URL, sale, group) are refused; every
// such failure wraps ErrInvalid and names the field. A page URL the
// snippet cut inside a %-escape is mended (visits.MendURL), not refused.
func Check(in Input, via string, now time.Time, region string) (store.Lead, error) {
	l := store.Lead{Time: now.UnixMilli(), Via: via, IsSale: in.IsSale, GroupID: in.GroupID}
	var err error
	if l.Name, err = text("name", in.Name, MaxName, false); err != nil {
		return store.Lead{}, err
	}
	if l.EmailRaw, err = text("email", in.Email, MaxEmail, false); err != nil {
		return store.Lead{}, err
	}
	if l.EmailRaw != "" {
		if l.Email, err = visits.NormalizeEmail(l.EmailRaw); err != nil {
			l.EmailUnparsed = true
		}
	}
	if l.PhoneRaw, err = text("phone", in.Phone, MaxPhone, false); err != nil {
		return store.Lead{}, err
	}
	if l.PhoneRaw != "" {
		if p, err := numbers.ParsePhone(l.PhoneRaw, region); err == nil {
			l.Phone = p.Digits
		} else {
			l.PhoneUnparsed = true
		}
	}
	maxMessage := MaxMessage
	if via == ViaChat {
		maxMessage = MaxChatTranscript
	}
	if l.Message, err = text("message", in.Message, maxMessage, true); err != nil {
		return store.Lead{}, err
	}
	if l.FormName, err = text("form_name", in.FormName, MaxFormName, false); err != nil {
		return store.Lead{}, err
	}
	if l.PageURL, err = text("page url", in.PageURL, MaxURL, false); err != nil {
		return store.Lead{}, err
	}
	// The snippet cuts a long URL, maybe inside an escape: the lead is
	// kept with the URL mended.
	l.PageURL = visits.MendURL(l.PageURL)
	if l.PageURL != "" {
		// The page is the snippet's location.href, not what the visitor
		// typed: a lead never names a javascript: or data: "page".
		if _, err := visits.ParsePageURL("page url", l.PageURL); err != nil {
			return store.Lead{}, fromVisits(err)
		}
	}
	if l.Name == "" && l.EmailRaw == "" && l.PhoneRaw == "" && l.Message == "" && l.FormName == "" {
		return store.Lead{}, ErrInvalid.Errorf("the lead is empty: give a name, email, phone or message").WithCode(CodeEmpty)
	}
	if in.GroupID > MaxGroupID {
		return store.Lead{}, ErrInvalid.Errorf("group_id above 2^53")
	}
	cost := strings.TrimSpace(in.SaleCost)
	if cost != "" {
		if !in.IsSale {
			return store.Lead{}, ErrInvalid.Errorf("sale_cost needs is_sale: true")
		}
		if l.SaleCost, err = ParseCost(cost); err != nil {
			return store.Lead{}, err
		}
	}
	return l, nil
}

// text trims s and checks it as the tracker checks every visitor text
// (visits.CheckText): valid UTF-8, at most max bytes, no control characters
// (a multi-line field allows newlines and tabs).
func text(field, s string, max int, multiline bool) (string, error) {
	if !utf8.ValidString(s) {
		return "", ErrInvalid.Errorf("%s is not valid UTF-8", field)
	}
	s = strings.TrimSpace(s)
	if err := visits.CheckText(field, s, max, multiline); err != nil {
		return "", fromVisits(err)
	}
	return s, nil
}

// fromVisits rewraps a visits.ErrInvalid as ErrInvalid with its message.
func fromVisits(err error) error {
	return ErrInvalid.Errorf("%s", usererr.UserMessage(err))
}

// ParseCost parses a non-negative decimal amount with at most two
// fractional digits into hundredths. It allows the spaces people put
// between thousands and a comma for the decimal point ("9 999,50").
func ParseCost(s string) (int64, error) {
	bad := func(why string) (int64, error) {
		return 0, ErrInvalid.Errorf("sale_cost %q %s", s, why)
	}
	clean := strings.Map(func(r rune) rune {
		switch r {
		case ' ', '\u00a0', '\u202f', '_':
			return -1
		case ',':
			return '.'
		}
		return r
	}, s)
	whole, frac, hasPoint := strings.Cut(clean, ".")
	if whole == "" && frac == "" {
		return bad("is not a number")
	}
	if len(frac) > 2 {
		return bad("has more than 2 decimals")
	}
	if hasPoint && frac == "" || whole == "" {
		return bad("is not a number")
	}
	for _, part := range []string{whole, frac} {
		for i := 0; i < len(part); i++ {
			if part[i] < '0' || part[i] > '9' {
				return bad("is not a non-negative number")
			}
		}
	}
	if len(whole) > 13 {
		return bad("is too large")
	}
	w, err := strconv.ParseInt(whole, 10, 64)
	if err != nil {
		return bad("is not a number")
	}
	f := int64(0)
	if frac != "" {
		f, _ = strconv.ParseInt(frac, 10, 64)
		if len(frac) == 1 {
			f *= 10
		}
	}
	v := w*100 + f
	if v > MaxSaleCost {
		return bad("is too large")
	}
	return v, nil
}

// FormatCost writes hundredths as a decimal: 999950 -> "9999.50",
// 1000000 -> "10000".
func FormatCost(c int64) string {
	if c%100 == 0 {
		return strconv.FormatInt(c/100, 10)
	}
	return fmt.Sprintf("%d.%02d", c/100, c%100)
}
