package callbacks

import (
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"appliance/httpd/visits"
	"appliance/numbers"
	"appliance/store"
)

// Limits of a callback request.
const (
	MaxPhone = 64   // bytes, as typed
	MaxURL   = 2048 // bytes, the page
	// MaxDelay is how far ahead a delayed call may be ordered.
	MaxDelay = 30 * 24 * time.Hour
	// Soon is how close to now a delayed time counts as "now": a call due
	// within it (or in the past: a visitor's clock may be off) is made at
	// once.
	Soon = time.Minute
)

// minDelayed is the earliest delayed time taken as milliseconds: anything
// before 2001 is seconds sent by mistake, or no time at all.
var minDelayed = time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli()

// Input is a callback request as it arrives, before any check.
type Input struct {
	Phone   string
	GroupID uint64
	Delayed int64 // delayed_call_time: Unix ms UTC; 0 for now
	PageURL string
}

// Check validates in and returns the callback it describes, ordered at
// now: the phone kept as typed (trimmed) and normalised as the tracker
// does (numbers.ParsePhone in region); a phone that does not parse is
// kept as typed with Phone "" (Unparsed), never a reason to refuse the
// request: a visitor's callback is not lost over a number the parser does
// not know (a short local number, an extension). A delayed time in the
// past or within Soon is made immediate. Only a missing or oversized
// phone, text that is not UTF-8 or has control characters, and the
// fields the page's code sets are refused; every failure wraps ErrInvalid
// and names the field. A page URL the snippet cut inside a %-escape is
// mended (visits.MendURL).
func Check(in Input, now time.Time, region string) (store.Callback, error) {
	cb := store.Callback{Time: now.UnixMilli(), GroupID: in.GroupID, State: store.CallbackPending}
	raw := strings.TrimSpace(in.Phone)
	switch {
	case !utf8.ValidString(raw):
		return cb, invalid(CodeInvalidPhone, "phone is not valid UTF-8")
	case raw == "":
		return cb, invalid(CodeInvalidPhone, "phone is required")
	case len(raw) > MaxPhone:
		return cb, invalid(CodeInvalidPhone, "phone longer than %d bytes", MaxPhone)
	case strings.ContainsFunc(raw, unicode.IsControl):
		return cb, invalid(CodeInvalidPhone, "phone contains control characters")
	}
	cb.PhoneRaw = raw
	if phone, err := numbers.ParsePhone(raw, region); err == nil {
		cb.Phone = phone.Digits
	}
	if in.GroupID > MaxGroupID {
		return cb, invalid(CodeInvalidGroup, "group_id above 2^53")
	}
	switch d := in.Delayed; {
	case d == 0:
	case d < minDelayed:
		return cb, invalid(CodeInvalidTime, "delayed_call_time is milliseconds since 1970 UTC (Date.getTime()), not %d", d)
	case d > now.Add(MaxDelay).UnixMilli():
		return cb, invalid(CodeInvalidTime, "delayed_call_time is more than %d days ahead", int(MaxDelay.Hours()/24))
	case d > now.Add(Soon).UnixMilli():
		cb.Delayed = d
	}
	page := strings.TrimSpace(in.PageURL)
	switch {
	case !utf8.ValidString(page) || strings.ContainsFunc(page, unicode.IsControl):
		return cb, ErrInvalid.Errorf("the page URL is not text")
	case len(page) > MaxURL:
		return cb, ErrInvalid.Errorf("the page URL is longer than %d bytes", MaxURL)
	}
	// The snippet cuts a long URL, maybe inside an escape: mended as the
	// tracker mends every page URL.
	cb.PageURL = visits.MendURL(page)
	return cb, nil
}

// Unparsed reports whether cb's phone, as typed, is not one the phone
// parser could read: staff call it back by hand, no scenario dials it.
func Unparsed(cb *store.Callback) bool { return cb.Phone == "" && cb.PhoneRaw != "" }
