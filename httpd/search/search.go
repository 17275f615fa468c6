// Package search finds what a site holds on one person, the "who is
// this?" of a site owner with a customer on the line: the leads, callback
// requests, calls and chats that name them, and the visitors they were.
//
// A query is read once (Parse) into what it can be: a phone number in any
// written form, normalised by the one phone rule (numbers.ParsePhone) in
// the site's region; an email address; a record's number; and always text,
// matched case-insensitively (Cyrillic included) as a substring of names,
// messages, comments and contacts as typed. A record matches when any of
// them does; a chat message, by a phone query, when it writes the number
// in any common form, and not as a part of a longer number (saidPhone). Search reads every lead, callback and call of the site, the
// contacts its visitors gave (addVisitorInfo, /vc/s/: the store's contact
// index) and every chat message (a scan: see README, Performance, for
// what it costs), keeps the first few of each kind, newest first, and
// counts them all; the visitors are those whose contacts match, those the
// matching records name, the one who last left the phone number (the
// store's phone index), those who gave the email as their contact (its
// email index) and the one whose number the query is, and the chats are
// those with a message that matches, those visitors' and the one the
// query names.
package search

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"appliance/internal/usererr"
	"appliance/numbers"
	"appliance/store"
)

// MaxQuery bounds a query, in bytes.
const MaxQuery = 200

// minDigits is how many digits a query written as a number needs before
// it is matched against phone numbers as a part of one ("1234567" finds
// +7 916 123-45-67); fewer would find half the site.
const minDigits = 5

// ErrQuery is a query that cannot be searched for.
var ErrQuery = usererr.New("search", 400, "bad search")

// Query is a parsed search. Text is always set for a non-empty query; the
// other fields only where the query reads as one.
type Query struct {
	Raw    string // as typed, trimmed
	Text   string // lower case: a substring of a name, message, contact as typed
	Phone  string // E.164 digits, when the query is a phone number in the region
	Digits string // the digits of a query written as a number, at least minDigits: a part of a phone number
	Email  string // lower case, when the query holds an "@"
	ID     uint64 // when the query is a number (optionally after "#"): a record's id
	// NSN is Phone's national (significant) number. Written are the
	// digits a chat message may write Phone with, besides "+" and Phone
	// (saidPhone), each only where the region reads it as Phone: Phone
	// itself ("79210001122"), the trunk prefix and NSN ("89210001122"),
	// NSN alone ("9210001122"); "" where a form names another number.
	NSN     string
	Written [3]string
}

// Empty reports whether q searches for nothing.
func (q *Query) Empty() bool { return q.Text == "" }

// Parse reads a query typed into the search field; region is the phone
// region numbers without a country code are read in. An empty query (or
// one of spaces) is the zero Query; a query over MaxQuery bytes, not
// UTF-8, or with control characters is an ErrQuery.
func Parse(s, region string) (Query, error) {
	switch {
	case len(s) > MaxQuery:
		return Query{}, ErrQuery.Errorf("the search is longer than %d bytes", MaxQuery)
	case !utf8.ValidString(s):
		return Query{}, ErrQuery.Errorf("the search is not UTF-8 text")
	case strings.ContainsFunc(s, unicode.IsControl):
		return Query{}, ErrQuery.Errorf("the search holds control characters")
	}
	raw := strings.Join(strings.Fields(s), " ")
	if raw == "" {
		return Query{}, nil
	}
	q := Query{Raw: raw, Text: strings.ToLower(raw)}
	if strings.Contains(raw, "@") {
		q.Email = q.Text
	}
	if id, err := strconv.ParseUint(strings.TrimPrefix(raw, "#"), 10, 64); err == nil && id > 0 && id < 1<<53 {
		q.ID = id
	}
	if strings.Trim(raw, "0123456789 +-().") == "" {
		if d := numbers.Digits(raw); len(d) >= minDigits {
			q.Digits = d
		}
		if p, err := numbers.ParsePhone(raw, region); err == nil {
			q.Phone, q.NSN = p.Digits, p.NSN
			for i, w := range [3]string{p.Digits, p.Trunk + p.NSN, p.NSN} {
				if again, err := numbers.ParsePhone(w, region); err == nil && again.Digits == p.Digits && again.Ext == "" {
					q.Written[i] = w
				}
			}
		}
	}
	return q, nil
}

// phone reports whether p (E.164 digits) is the query's number, or holds
// the digits it was written with (a part of a number: "1234567" finds
// +7 916 123-45-67, which in the region may read as a whole local number).
func (q *Query) phone(p string) bool {
	return p != "" && (q.Phone != "" && p == q.Phone || q.Digits != "" && strings.Contains(p, q.Digits))
}

// text reports whether any of fields holds the query's text, ignoring
// case.
func (q *Query) text(fields ...string) bool {
	for _, f := range fields {
		if len(f) >= len(q.Text) && containsFold(f, q.Text) {
			return true
		}
	}
	return false
}

// containsFold reports whether s holds lower (lower case) in any case.
func containsFold(s, lower string) bool {
	ascii := true
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	if !ascii {
		return strings.Contains(strings.ToLower(s), lower)
	}
	// The common case, ASCII text, without a lowered copy.
	n := len(lower)
	for i := 0; i+n <= len(s); i++ {
		if strings.EqualFold(s[i:i+n], lower) {
			return true
		}
	}
	return false
}

func (q *Query) lead(l *store.Lead) bool {
	return q.ID != 0 && l.ID == q.ID || q.phone(l.Phone) || q.Email != "" && l.Email == q.Email ||
		q.text(l.Name, l.Message, l.EmailRaw, l.PhoneRaw, l.FormName)
}

func (q *Query) callback(c *store.Callback) bool {
	return q.ID != 0 && c.ID == q.ID || q.phone(c.Phone) || q.text(c.PhoneRaw)
}

func (q *Query) call(c *store.Call) bool {
	return q.ID != 0 && c.ID == q.ID || q.phone(c.Caller) || q.text(c.CallerTyped)
}

// contacts reports whether a visitor's contacts (the name, phones and
// emails their pages gave) match.
func (q *Query) contacts(c *store.Contacts) bool {
	if q.text(c.Name) || q.text(c.PhonesTyped...) || q.text(c.EmailsTyped...) {
		return true
	}
	for _, p := range c.Phones {
		if q.phone(p) {
			return true
		}
	}
	for _, e := range c.Emails {
		if q.Email != "" && e == q.Email || q.text(e) {
			return true
		}
	}
	return false
}

// fromSystem is the author of a chat's notes (chats.FromSystem): what
// the appliance wrote, not what was said.
const fromSystem = "system"

// message reports whether a chat message's text (the visitor's or an
// operator's) holds the query's text or, for a phone query, its number
// in any written form (saidPhone; the form typed among them, and not
// where it is a part of a longer number).
func (q *Query) message(m *store.ChatMessage) bool {
	if m.From == fromSystem {
		return false
	}
	if q.NSN != "" {
		return q.SaysPhone(m.Text)
	}
	return q.text(m.Text)
}

// SaysPhone reports whether text writes the query's phone number in any
// common form, not inside a longer number (saidPhone); false when the
// query is no phone number. It is how the chats page's transcript search
// finds a number as this search does.
func (q *Query) SaysPhone(text string) bool {
	start, _ := q.saidPhone(text)
	return start >= 0
}

// maxPhoneSep is how many separators (numbers.PhoneSep) may stand between two
// digits of a number written in a message: "8 (921)" has two, "921 - 000"
// three.
const maxPhoneSep = 3

// spacedDigits reports whether s at i holds the digits of d in order
// with at most maxPhoneSep separators between each two, and where they
// end.
func spacedDigits[S ~string | ~[]byte](s S, i int, d string) (end int, ok bool) {
	for k := 0; k < len(d); k++ {
		if k > 0 {
			for n := 0; n < maxPhoneSep && i < len(s) && s[i] != d[k]; n++ {
				w := numbers.PhoneSep(s, i)
				if w == 0 {
					return 0, false
				}
				i += w
			}
		}
		if i == len(s) || s[i] != d[k] {
			return 0, false
		}
		i++
	}
	return i, true
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// saidPhone is where s first writes the query's phone number. A message
// writes numbers as runs of digit groups: groups of digits parted by at
// most maxPhoneSep separators (numbers.PhoneSep) each, a run ending where no
// digit follows its last group, separators or not. The number is any
// sequence of whole groups of a run, one after another, whose digits are
// one of Written, or an international call prefix (numbers.IntlPrefixes:
// "00 7 921 ...", "8 10 7 921 ...") and Phone; or, after a "+", the run's
// first groups whose digits are Phone. Other groups may stand before and
// after it ("заказ 15 8 921 000 11 22", "8 921 000 11 22 10 раз"), but a
// group is never cut: an order number 1892100011223 is not 8 921
// 000-11-22, nor is 8 921 000-11-223; and a form is not read after a
// country code, as +1 921 000 11 22 is not 921 000 11 22 (dialsAbroad).
// The span takes the "+" or an opening parenthesis before the number's
// first group; -1, -1 when s writes the number nowhere.
func (q *Query) saidPhone(s string) (start, end int) {
	if q.NSN == "" {
		return -1, -1
	}
	// Buffers for a run's digits and groups, on the stack for the runs of
	// a chat message; a longer run takes the heap.
	var dbuf [32]byte
	var gbuf [16]group
	for i := 0; i < len(s); {
		if !isDigit(s[i]) {
			i++
			continue
		}
		// A run starts at s[i]: the one before it ended at a byte that
		// neither is a digit nor joins one.
		plus := i > 0 && s[i-1] == '+'
		digits, groups := dbuf[:0], gbuf[:0]
		for {
			g := group{at: i, from: len(digits)}
			for ; i < len(s) && isDigit(s[i]); i++ {
				digits = append(digits, s[i])
			}
			g.end, g.to = i, len(digits)
			groups = append(groups, g)
			j := i
			for n := 0; n < maxPhoneSep && j < len(s); n++ {
				w := numbers.PhoneSep(s, j)
				if w == 0 {
					break
				}
				j += w
			}
			if j == len(s) || !isDigit(s[j]) {
				break
			}
			i = j
		}
		if start, end, ok := q.inRun(s, plus, digits, groups); ok {
			return start, end
		}
	}
	return -1, -1
}

// group is a group of digits of a run (saidPhone): s[at:end], and
// digits[from:to] of the run's digits.
type group struct{ at, end, from, to int }

// inRun is where the first sequence of a run's whole groups that writes
// the query's number (saidPhone) begins and ends in s; plus is whether a
// "+" stands before the run, digits are the run's.
func (q *Query) inRun(s string, plus bool, digits []byte, groups []group) (start, end int, ok bool) {
	longest := maxIntlPrefix + len(q.Phone) // the longest form: "810" and Phone
	for a, ga := range groups {
		for _, gb := range groups[a:] {
			d := digits[ga.from:gb.to]
			if len(d) > longest {
				break
			}
			if !q.writes(plus && a == 0, d) {
				continue
			}
			if a > 0 && dialsAbroad(plus, digits, groups[:a+1], d) {
				break
			}
			start = ga.at
			if plus && a == 0 || start > 0 && s[start-1] == '(' {
				start--
			}
			return start, gb.end, true
		}
	}
	return -1, -1, false
}

// writes reports whether digits, the whole groups of a run, write the
// query's number: one of Written, an international call prefix and
// Phone, or after a "+" (plus) Phone alone.
func (q *Query) writes(plus bool, digits []byte) bool {
	if plus {
		return string(digits) == q.Phone
	}
	for _, w := range q.Written {
		if w != "" && string(digits) == w {
			return true
		}
	}
	for _, pre := range numbers.IntlPrefixes {
		if len(digits) == len(pre)+len(q.Phone) && string(digits[:len(pre)]) == pre && string(digits[len(pre):]) == q.Phone {
			return true
		}
	}
	return false
}

// dialsAbroad reports whether the groups of a run before its last one
// end with a country code after a "+" at the run's start (plus) or after
// an international call prefix: then number, the digits from the last
// group on, are a number of that country, not a form of the query's
// ("+1 921 000 11 22", "00 1 921 000 11 22"). After a prefix the country
// code must be one (phonenumbers knows it) and number a possible length
// there, or the digits before were something else: an order's
// "заказ 001 8 921 000 11 22" (+1 and 11 digits is no number), "008 921
// 000 11 22" (there is no +8).
func dialsAbroad(plus bool, digits []byte, groups []group, number []byte) bool {
	at := groups[len(groups)-1].from
	// From the nearest group back, as far as a prefix and a country code
	// reach: a long run of groups is not read again from its start.
	for k := len(groups) - 2; k >= 0; k-- {
		before := digits[groups[k].from:at]
		if len(before) > maxIntlPrefix+3 {
			break
		}
		if k == 0 && plus && countryCode(before) {
			return true
		}
		for _, pre := range numbers.IntlPrefixes {
			if len(before) > len(pre) && string(before[:len(pre)]) == pre && countryCode(before[len(pre):]) &&
				numbers.PossibleAbroad(string(before[len(pre):]), string(number)) {
				return true
			}
		}
	}
	return false
}

// countryCode reports whether digits may be a country code: one to three
// digits, the first no 0.
func countryCode(digits []byte) bool {
	return 1 <= len(digits) && len(digits) <= 3 && digits[0] != '0'
}

// maxIntlPrefix is the length of the longest of numbers.IntlPrefixes.
const maxIntlPrefix = 3

// Marked is a text with the query's match in it set apart, cut around it
// to at most markContext runes on each side (Cut* say where it was cut).
type Marked struct {
	Before, Match, After string
	CutBefore, CutAfter  bool
}

// markContext is how many runes of a text Mark keeps on each side of the
// match.
const markContext = 80

// Mark finds the query's phone number written in any form (saidPhone)
// in s, or else its text in any case, and sets it apart; ok is false
// when s holds neither.
func (q *Query) Mark(s string) (m Marked, ok bool) {
	start, end := q.saidPhone(s)
	if start < 0 {
		start, end = foldIndex(s, q.Text)
	}
	if start < 0 {
		return Marked{}, false
	}
	m.Before, m.Match, m.After = s[:start], s[start:end], s[end:]
	if n := utf8.RuneCountInString(m.Before); n > markContext {
		for range n - markContext {
			_, size := utf8.DecodeRuneInString(m.Before)
			m.Before = m.Before[size:]
		}
		m.CutBefore = true
	}
	for i, n := 0, 0; i < len(m.After); n++ {
		if n == markContext {
			m.After, m.CutAfter = m.After[:i], true
			break
		}
		_, size := utf8.DecodeRuneInString(m.After[i:])
		i += size
	}
	return m, true
}

// foldIndex is where in s the first run of runes lowering to lower (as
// strings.ToLower lowers them) begins and ends; -1, -1 when none does.
func foldIndex(s, lower string) (start, end int) {
	for i := 0; i < len(s); {
		if n, ok := foldPrefix(s[i:], lower); ok {
			return i, i + n
		}
		_, size := utf8.DecodeRuneInString(s[i:])
		i += size
	}
	return -1, -1
}

// foldPrefix reports whether s begins with runes that lower to lower,
// and how many bytes of s they take.
func foldPrefix(s, lower string) (n int, ok bool) {
	for _, want := range lower {
		if n == len(s) {
			return 0, false
		}
		r, size := utf8.DecodeRuneInString(s[n:])
		if r != want && unicode.ToLower(r) != want {
			return 0, false
		}
		n += size
	}
	return n, true
}

// sieve tells, from a record's encoded bytes, whether it may match a
// query, so that only those are decoded: a search reads every record of a
// site, and decoding each (its strings copied) and lower-casing its text
// was nine tenths of a search's CPU (BenchmarkSiteSearch). It never says
// no to a record that matches: the fields a query is matched against are
// stored as they are (strings as their UTF-8 bytes), so a record whose
// field holds the query's digits or, case aside, its text holds them in
// its encoding too; what it lets through that does not match (a hit that
// spans two fields), the decoded match turns away.
type sieve struct {
	phone, digits []byte
	text          string
	// nsn is a phone query's national number, whose digits every form of
	// it a chat message may write ends with (saidPhone): saidMay lets by
	// a message whose bytes hold them with separators between.
	nsn string
	// starts are the encodings of the runes a match of the text can start
	// with (the runes that lower to its first), each found with
	// bytes.Index: a byte-by-byte loop over the records was most of a
	// search's CPU, and Cyrillic letters share their first bytes, so in
	// Russian text nearly every other byte began a possible match. When
	// the text starts with U+FFFD, what any byte that is no UTF-8 reads
	// as, first holds the bytes a match can start with instead.
	starts [][]byte
	first  [256]bool
}

func newSieve(q *Query) *sieve {
	s := &sieve{phone: []byte(q.Phone), digits: []byte(q.Digits), text: q.Text, nsn: q.NSN}
	r0, _ := utf8.DecodeRuneInString(q.Text)
	for _, r := range lowersTo(r0) {
		enc := utf8.AppendRune(nil, r)
		s.first[enc[0]] = true
		s.starts = append(s.starts, enc)
	}
	if r0 == utf8.RuneError {
		s.starts = nil
		for c := 0x80; c < 0x100; c++ {
			s.first[c] = true
		}
	}
	return s
}

// lowerOutsideFold are the runes whose lower case is not among their
// case-fold orbit (unicode.SimpleFold): İ lowers to i, but i folds only
// with I. TestLowerOutsideFold checks the list against every rune.
var lowerOutsideFold = [...]rune{'\u0130'}

// lowersTo lists the runes that lower (unicode.ToLower) to r, r among
// them.
func lowersTo(r rune) []rune {
	out := []rune{r}
	for x := unicode.SimpleFold(r); x != r; x = unicode.SimpleFold(x) {
		if unicode.ToLower(x) == r {
			out = append(out, x)
		}
	}
	for _, x := range lowerOutsideFold {
		if unicode.ToLower(x) == r {
			out = append(out, x)
		}
	}
	return out
}

// may reports whether the record encoded as b may match.
func (s *sieve) may(b []byte) bool {
	if len(s.phone) > 0 && bytes.Contains(b, s.phone) || len(s.digits) > 0 && bytes.Contains(b, s.digits) {
		return true
	}
	if s.starts == nil {
		for i := range b {
			if s.first[b[i]] && hasFoldPrefix(b[i:], s.text) {
				return true
			}
		}
		return false
	}
	for _, enc := range s.starts {
		for i := 0; i < len(b); {
			j := bytes.Index(b[i:], enc)
			if j < 0 {
				break
			}
			if hasFoldPrefix(b[i+j:], s.text) {
				return true
			}
			i += j + 1
		}
	}
	return false
}

// saidMay reports whether the chat message encoded as b may match: as
// may, or it holds the digits of a phone query's national number with
// separators between them (what saidPhone matches, the run's bounds
// aside: the bytes around a message's text in its encoding may be
// digits).
func (s *sieve) saidMay(b []byte) bool {
	if s.may(b) {
		return true
	}
	if s.nsn == "" {
		return false
	}
	for i := 0; i < len(b); {
		j := bytes.IndexByte(b[i:], s.nsn[0])
		if j < 0 {
			return false
		}
		if _, ok := spacedDigits(b, i+j, s.nsn); ok {
			return true
		}
		i += j + 1
	}
	return false
}

// hasFoldPrefix reports whether b begins with runes that lower (as
// strings.ToLower lowers them, rune by rune) to lower.
func hasFoldPrefix(b []byte, lower string) bool {
	for _, want := range lower {
		if len(b) == 0 {
			return false
		}
		if c := b[0]; c < utf8.RuneSelf { // ASCII lowers to ASCII
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			if rune(c) != want {
				return false
			}
			b = b[1:]
			continue
		}
		r, size := utf8.DecodeRune(b)
		if r != want && unicode.ToLower(r) != want {
			return false
		}
		b = b[size:]
	}
	return true
}

// Found is what one kind of record matched: the first Limit of them,
// newest first, and how many there were.
type Found[T any] struct {
	Shown []T
	Total int
}

// Cut reports whether some matches are not shown.
func (f *Found[T]) Cut() bool { return f.Total > len(f.Shown) }

func (f *Found[T]) add(limit int, v T) {
	f.Total++
	if len(f.Shown) < limit {
		f.Shown = append(f.Shown, v)
	}
}

// Result is what a search found on a site.
type Result struct {
	Leads     Found[store.Lead]
	Callbacks Found[store.Callback]
	Calls     Found[store.Call]
	Chats     Found[Chat]
	Visitors  Found[Visitor]
}

// Chat is a chat a search found and, when its messages were what
// matched, the latest of those and how many there were.
type Chat struct {
	store.Chat
	Message store.ChatMessage // ID 0: no message matched (the chat's visitor or number did)
	Matches int
}

// Total is how many records matched, of every kind.
func (r *Result) Total() int {
	return r.Leads.Total + r.Callbacks.Total + r.Calls.Total + r.Chats.Total + r.Visitors.Total
}

// Visitor is a visitor a search found, and every way the search found
// them (Why: ByContacts or ByID when their own contacts or their number
// matched).
type Visitor struct {
	store.Visitor
	Why Why
}

// Why is the ways a search found a visitor, one bit a way: a page says
// why each visitor is among the results, which a visitor found through a
// record of theirs would not show (their own contacts may hold no trace
// of what was searched for).
type Why uint16

// The ways a search finds a visitor.
const (
	ByContacts      Why = 1 << iota // their own contacts (the name, phones and emails their pages gave)
	ByID                            // the query is their number
	ByLeadPhone                     // a lead of theirs by its phone
	ByLeadEmail                     // a lead of theirs by its email
	ByLead                          // a lead of theirs otherwise (its number, name, message, form)
	ByCallbackPhone                 // a callback of theirs by its phone
	ByCallback                      // a callback of theirs otherwise (its number, the phone as typed)
	ByCallPhone                     // a call of theirs by the caller's number
	ByCall                          // a call of theirs otherwise (its number, the caller as reported)
	ByPhoneIndex                    // they left the number last (the phone index)
	ByEmailIndex                    // they left the email (the email index)
)

// DefaultLimit is how many of each kind a search shows when asked for no
// number.
const DefaultLimit = 50

// maxVisitors bounds the visitors a search reads (each is a Get, and
// their chats a scan): the matching records' first visitors.
const maxVisitors = 200

// Searcher searches the sites of a store.
type Searcher struct{ db *store.DB }

// New is a Searcher over db.
func New(db *store.DB) *Searcher { return &Searcher{db: db} }

// Search finds what site holds that q matches, at most limit of each kind
// shown (limit <= 0: DefaultLimit), every match counted. An empty q finds
// nothing.
func (s *Searcher) Search(ctx context.Context, site uint32, q Query, limit int) (Result, error) {
	var r Result
	if q.Empty() {
		return r, nil
	}
	if limit <= 0 {
		limit = DefaultLimit
	}
	sv := newSieve(&q)
	var visitors []uint64 // in the order found, deduplicated below
	seen := map[uint64]bool{}
	why := map[uint64]Why{}
	visitor := func(id uint64, by Why) {
		if id != 0 && !seen[id] && len(visitors) < maxVisitors {
			seen[id] = true
			visitors = append(visitors, id)
		}
		if seen[id] {
			why[id] |= by
		}
	}
	// The visitors whose own contacts match come first, newest first, so
	// that the bound on the visitors read keeps them.
	err := scan(ctx, s.db, store.VisitorContactPrefix(site), func(id uint64, v []byte) error {
		if !sv.may(v) {
			return nil
		}
		c, err := store.DecodeContacts(v)
		if err != nil {
			return fmt.Errorf("contacts of visitor %d: %w", id, err)
		}
		if q.contacts(&c) {
			visitor(id, ByContacts)
		}
		return nil
	})
	if err == nil {
		err = scan(ctx, s.db, store.LeadPrefix(site), func(id uint64, v []byte) error {
			if id != q.ID && !sv.may(v) {
				return nil
			}
			l, err := store.DecodeLead(id, v)
			if err != nil {
				return fmt.Errorf("lead %d: %w", id, err)
			}
			if q.lead(&l) {
				r.Leads.add(limit, l)
				switch {
				case q.phone(l.Phone):
					visitor(l.Visitor, ByLeadPhone)
				case q.Email != "" && l.Email == q.Email:
					visitor(l.Visitor, ByLeadEmail)
				default:
					visitor(l.Visitor, ByLead)
				}
			}
			return nil
		})
	}
	if err == nil {
		err = scan(ctx, s.db, store.CallbackPrefix(site), func(id uint64, v []byte) error {
			if id != q.ID && !sv.may(v) {
				return nil
			}
			c, err := store.DecodeCallback(id, v)
			if err != nil {
				return fmt.Errorf("callback %d: %w", id, err)
			}
			if q.callback(&c) {
				r.Callbacks.add(limit, c)
				if q.phone(c.Phone) {
					visitor(c.Visitor, ByCallbackPhone)
				} else {
					visitor(c.Visitor, ByCallback)
				}
			}
			return nil
		})
	}
	if err == nil {
		err = scan(ctx, s.db, store.CallPrefix(site), func(id uint64, v []byte) error {
			if id != q.ID && !sv.may(v) {
				return nil
			}
			c, err := store.DecodeCall(id, v)
			if err != nil {
				return fmt.Errorf("call %d: %w", id, err)
			}
			if q.call(&c) {
				r.Calls.add(limit, c)
				if q.phone(c.Caller) {
					visitor(c.Visitor, ByCallPhone)
				} else {
					visitor(c.Visitor, ByCall)
				}
			}
			return nil
		})
	}
	// The chats whose messages match, with the latest message that does:
	// the site's messages are read chat by chat, each in order, so a
	// chat's last match read is its latest.
	said := map[uint64]*Chat{}
	if err == nil {
		err = s.messages(ctx, site, sv, &q, func(chat uint64, m *store.ChatMessage) {
			c := said[chat]
			if c == nil {
				c = &Chat{}
				said[chat] = c
			}
			c.Message = *m
			c.Matches++
		})
	}
	if err != nil {
		return r, fmt.Errorf("search: %w", err)
	}
	// A call's id is the order it was reported in; show them by start.
	slices.SortStableFunc(r.Calls.Shown, func(a, b store.Call) int { return cmp.Compare(b.Time, a.Time) })

	// The visitors: whose contacts match, who left the number last, whose
	// id the query is, and who the matching records name.
	if q.Phone != "" {
		p, ok, err := s.db.LookupPhone(site, q.Phone)
		if err != nil {
			return r, fmt.Errorf("search: %w", err)
		}
		if ok {
			visitor(p.Visitor, ByPhoneIndex)
		}
	}
	if q.Email != "" {
		if err := s.db.EmailVisitors(ctx, site, q.Email, func(id uint64) bool { visitor(id, ByEmailIndex); return true }); err != nil {
			return r, fmt.Errorf("search: %w", err)
		}
	}
	if q.ID != 0 {
		visitor(q.ID, ByID)
	}
	chats := map[uint64]bool{}
	for id := range said {
		chats[id] = true
	}
	for _, id := range visitors {
		v, err := s.visitor(site, id)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return r, fmt.Errorf("search: %w", err)
		}
		if why[id]&(ByContacts|ByID) == 0 { // found by a record of theirs or an index
			if c := v.Contacts(); q.contacts(&c) {
				why[id] |= ByContacts
			}
		}
		r.Visitors.add(limit, Visitor{Visitor: v, Why: why[id]})
		err = s.db.ScanPrefix(ctx, store.VisitorItemPrefix(id, store.ItemChat), true, 0, func(k, _ []byte) bool {
			if c, ok := store.IDFromKey(k); ok {
				chats[c] = true
			}
			return true
		})
		if err != nil {
			return r, fmt.Errorf("search: chats of visitor %d: %w", id, err)
		}
	}
	slices.SortStableFunc(r.Visitors.Shown, func(a, b Visitor) int { return cmp.Compare(b.LastSeen, a.LastSeen) })
	if q.ID != 0 {
		switch _, err := s.chat(site, q.ID); {
		case err == nil:
			chats[q.ID] = true
		case !errors.Is(err, store.ErrNotFound):
			return r, fmt.Errorf("search: %w", err)
		}
	}
	// Newest first; only the chats shown are read (every chat counted is
	// one: a message's, a visitor's index entry's, or read above).
	ids := slices.Collect(maps.Keys(chats))
	slices.SortFunc(ids, func(a, b uint64) int { return cmp.Compare(b, a) })
	for _, id := range ids {
		if len(r.Chats.Shown) == limit {
			r.Chats.Total++
			continue
		}
		c, err := s.chat(site, id)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return r, fmt.Errorf("search: %w", err)
		}
		found := Chat{Chat: c}
		if m := said[id]; m != nil {
			found.Message, found.Matches = m.Message, m.Matches
		}
		r.Chats.add(limit, found)
	}
	return r, nil
}

// messages calls fn with each message of site's chats that q matches,
// chat by chat in id order, each chat's in order: the messages sv lets
// by decoded.
func (s *Searcher) messages(ctx context.Context, site uint32, sv *sieve, q *Query, fn func(chat uint64, m *store.ChatMessage)) error {
	var ferr error
	err := s.db.ScanPrefix(ctx, store.ChatMessageSitePrefix(site), false, 0, func(k, v []byte) bool {
		chat, id, ok := store.ParseChatMessageKey(k)
		if !ok || !sv.saidMay(v) {
			return true
		}
		m, err := store.DecodeChatMessage(id, v)
		if err != nil {
			ferr = fmt.Errorf("message %d of chat %d: %w", id, chat, err)
			return false
		}
		if q.message(&m) {
			fn(chat, &m)
		}
		return true
	})
	return errors.Join(err, ferr)
}

// chat reads chat id of site; store.ErrNotFound when there is none.
func (s *Searcher) chat(site uint32, id uint64) (store.Chat, error) {
	b, err := s.db.Get(store.ChatKey(site, id))
	if err != nil {
		return store.Chat{}, err
	}
	c, err := store.DecodeChat(site, id, b)
	if err != nil {
		return c, fmt.Errorf("chat %d: %w", id, err)
	}
	return c, nil
}

// visitor reads visitor id if it is one of site's; store.ErrNotFound
// when it is not.
func (s *Searcher) visitor(site uint32, id uint64) (store.Visitor, error) {
	b, err := s.db.Get(store.VisitorKey(id))
	if err != nil {
		return store.Visitor{}, err
	}
	v, err := store.DecodeVisitor(b)
	if err != nil {
		return v, fmt.Errorf("visitor %d: %w", id, err)
	}
	if v.Site != site {
		return v, store.ErrNotFound
	}
	return v, nil
}

// scan calls fn with each record under prefix (a site's family of
// records keyed by id), newest first.
func scan(ctx context.Context, db *store.DB, prefix []byte, fn func(id uint64, v []byte) error) error {
	var ferr error
	err := db.ScanPrefix(ctx, prefix, true, 0, func(k, v []byte) bool {
		id, ok := store.IDFromKey(k)
		if !ok {
			return true
		}
		ferr = fn(id, v)
		return ferr == nil
	})
	return errors.Join(err, ferr)
}
