package httpd

import (
	"strconv"
	"testing"

	"github.com/valyala/fasthttp"
)

// The visitor card's id comes from the path anyone may type: it never
// panics, refuses with a 400 and a reason, and what it accepts is a
// visitor id (1 to 2^53-1) written plainly, so one card has one address.
func FuzzParseVisitorID(f *testing.F) {
	for _, s := range []string{"1", "42", "9007199254740991", "9007199254740992", "0", "", "-1", "+1", "01", "1.0",
		"abc", "1/2", "18446744073709551616", " 1", "1%20", "١"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		id, err := parseVisitorID(visitorsAPIPath+s, visitorsAPIPath)
		if !checkParseErr(t, err) {
			return
		}
		if id == 0 || id >= 1<<53 || strconv.FormatUint(id, 10) != s {
			t.Fatalf("parseVisitorID(%q) = %d", s, id)
		}
	})
}

// The card's paging arguments come from a query anyone may send: they
// never panic, a refusal is a 400 with a reason, and what is accepted is
// the whole card (no older, no at) or a list the card has, from its
// newest or from an id of 1 to 2^53-1 written plainly, as many of each
// list as the card shows or as a limit of 1 to maxAPICardLimit written
// plainly.
func FuzzAPICardPart(f *testing.F) {
	for _, s := range []string{"", "site=k", "older=chats", "older=calls&at=1", "older=sessions&at=9007199254740991",
		"older=sessions&at=9007199254740992", "older=nope", "older=", "at=5", "older=leads&at=", "older=leads&at=0",
		"older=leads&at=-1", "older=leads&at=01", "older=leads&at=1&at=2", "older=Leads", "older=chats%00&at=1", "at=1&older=callbacks",
		"limit=1", "limit=500", "limit=501", "limit=0", "limit=", "limit=-1", "limit=+5", "limit=05", "limit=1e2", "limit=18446744073709551617",
		"older=calls&at=7&limit=25", "limit=10&older=nope", "limit=x&older=leads"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, q string) {
		var args fasthttp.Args
		args.Parse(q)
		part, name, err := apiCardPart(&args)
		if !checkParseErr(t, err) {
			return
		}
		older, at, limit := string(args.Peek("older")), string(args.Peek("at")), string(args.Peek("limit"))
		if args.Has("limit") != (part.Limit != 0) || part.Limit != 0 && (part.Limit > maxAPICardLimit || strconv.Itoa(part.Limit) != limit) {
			t.Fatalf("apiCardPart(%q) gives %d of each list, asked %q", q, part.Limit, limit)
		}
		if name != older {
			t.Fatalf("apiCardPart(%q) names the list %q, asked %q", q, name, older)
		}
		if name == "" {
			if part.Kind != 0 || part.At != 0 || args.Has("at") {
				t.Fatalf("apiCardPart(%q) = %+v without a list", q, part)
			}
			return
		}
		known := false
		for _, l := range cardLists {
			known = known || l.name == name && l.kind == part.Kind
		}
		if !known {
			t.Fatalf("apiCardPart(%q) = %+v %q: not a list of the card", q, part, name)
		}
		if at == "" && part.At != 0 || at != "" && (part.At == 0 || part.At >= 1<<53 || strconv.FormatUint(part.At, 10) != at) {
			t.Fatalf("apiCardPart(%q) starts at %d", q, part.At)
		}
	})
}
