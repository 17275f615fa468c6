package numbers

import (
	"net/url"
	"slices"
	"strings"
	"unicode/utf8"
)

// MaxRuleLen caps the length of a rule's text.
const MaxRuleLen = 1024

// Visit is what a rule looks at: the traffic source and landing page of the
// visitor's session, as the tracker saw them.
type Visit struct {
	UTMSource   string
	UTMMedium   string
	UTMCampaign string
	UTMTerm     string
	UTMContent  string
	Click       string // kind of click id on the landing URL: gclid, yclid, fbclid
	Channel     string // organic, social, referral, direct or ad
	Referrer    string // referring URL or bare host
	Landing     string // landing URL or path
}

// Rule says which visits a static number or a pool is for. Its text is query
// string shaped: terms joined by "&", each "key=value", all of which must
// match; a value may list alternatives joined by "|", any of which matches:
//
//	utm_source=yandex|google&utm_medium=cpc
//
// Keys are utm_source, utm_medium, utm_campaign, utm_term, utm_content (equal
// to the tag), click (gclid, yclid, fbclid), channel (organic, social,
// referral, direct, ad), referrer (a domain; its subdomains match too) and
// landing (a path prefix, starting with "/"). Values are percent-decoded and
// compared without regard to case. The zero Rule (empty text) matches every
// visit.
type Rule struct {
	terms []term // in key order, one per key
}

type term struct {
	key    key
	values []string // lower case, sorted, distinct
}

type key uint8

const (
	keyUTMSource key = iota
	keyUTMMedium
	keyUTMCampaign
	keyUTMTerm
	keyUTMContent
	keyClick
	keyChannel
	keyReferrer
	keyLanding
	numKeys
)

var keyNames = [numKeys]string{
	keyUTMSource:   "utm_source",
	keyUTMMedium:   "utm_medium",
	keyUTMCampaign: "utm_campaign",
	keyUTMTerm:     "utm_term",
	keyUTMContent:  "utm_content",
	keyClick:       "click",
	keyChannel:     "channel",
	keyReferrer:    "referrer",
	keyLanding:     "landing",
}

var (
	channels = []string{"ad", "direct", "organic", "referral", "social"}
	clicks   = []string{"fbclid", "gclid", "yclid"}
)

// ParseRule parses the text of a rule. Errors wrap ErrRule and say what is
// wrong: an unknown or repeated key, an empty or invalid value, or text
// longer than MaxRuleLen.
func ParseRule(s string) (Rule, error) {
	if len(s) > MaxRuleLen {
		return Rule{}, ErrRule.Errorf("parse rule: %d bytes, at most %d allowed", len(s), MaxRuleLen)
	}
	var r Rule
	if s == "" {
		return r, nil
	}
	var seen [numKeys]bool
	for part := range strings.SplitSeq(s, "&") {
		name, value, ok := strings.Cut(part, "=")
		if !ok {
			return Rule{}, ErrRule.Errorf("parse rule: term %q: want key=value", part)
		}
		k, ok := lookupKey(name)
		if !ok {
			return Rule{}, ErrRule.Errorf("parse rule: unknown key %q (want one of %s)",
				name, strings.Join(keyNames[:], ", "))
		}
		if seen[k] {
			return Rule{}, ErrRule.Errorf("parse rule: key %s given twice (list alternatives as a|b)", name)
		}
		seen[k] = true
		t := term{key: k}
		for alt := range strings.SplitSeq(value, "|") {
			v, err := parseValue(k, alt)
			if err != nil {
				return Rule{}, err
			}
			if !slices.Contains(t.values, v) {
				t.values = append(t.values, v)
			}
		}
		slices.Sort(t.values)
		r.terms = append(r.terms, t)
	}
	slices.SortFunc(r.terms, func(a, b term) int { return int(a.key) - int(b.key) })
	// Escaping and case folding can lengthen the text; the cap holds for the
	// canonical form too, so that it always parses back.
	if n := len(r.String()); n > MaxRuleLen {
		return Rule{}, ErrRule.Errorf("parse rule: %d bytes once escaped, at most %d allowed", n, MaxRuleLen)
	}
	return r, nil
}

func lookupKey(name string) (key, bool) {
	for k, n := range keyNames {
		if n == name {
			return key(k), true
		}
	}
	return 0, false
}

func parseValue(k key, raw string) (string, error) {
	name := keyNames[k]
	if raw == "" {
		return "", ErrRule.Errorf("parse rule: %s: empty value", name)
	}
	v, err := url.QueryUnescape(raw)
	if err != nil {
		return "", ErrRule.Errorf("parse rule: %s=%q: bad percent-encoding", name, raw)
	}
	if !utf8.ValidString(v) {
		return "", ErrRule.Errorf("parse rule: %s=%q: not UTF-8", name, raw)
	}
	if strings.IndexFunc(v, isControl) >= 0 {
		return "", ErrRule.Errorf("parse rule: %s=%q: control character", name, raw)
	}
	v = strings.ToLower(v)
	switch k {
	case keyChannel:
		if !slices.Contains(channels, v) {
			return "", ErrRule.Errorf("parse rule: channel=%q: want one of %s", v, strings.Join(channels, ", "))
		}
	case keyClick:
		if !slices.Contains(clicks, v) {
			return "", ErrRule.Errorf("parse rule: click=%q: want one of %s", v, strings.Join(clicks, ", "))
		}
	case keyReferrer:
		if !isDomain(v) {
			return "", ErrRule.Errorf("parse rule: referrer=%q: want a domain such as google.com", v)
		}
	case keyLanding:
		if !strings.HasPrefix(v, "/") || strings.ContainsAny(v, "?# ") {
			return "", ErrRule.Errorf("parse rule: landing=%q: want a path prefix such as /promo", v)
		}
	default:
		if strings.TrimSpace(v) != v {
			return "", ErrRule.Errorf("parse rule: %s=%q: leading or trailing space", name, v)
		}
	}
	return v, nil
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f }

// isDomain accepts lower-case host names: dot-separated labels of letters,
// digits and hyphens. Internationalized names are written in punycode.
func isDomain(s string) bool {
	if len(s) > 253 {
		return false
	}
	for label := range strings.SplitSeq(s, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, c := range []byte(label) {
			if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}

// String returns the rule's canonical text: keys in a fixed order, values in
// lower case, alternatives sorted. ParseRule of it gives the same rule.
func (r Rule) String() string {
	var b strings.Builder
	for i, t := range r.terms {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(keyNames[t.key])
		b.WriteByte('=')
		for j, v := range t.values {
			if j > 0 {
				b.WriteByte('|')
			}
			escape(&b, v)
		}
	}
	return b.String()
}

// escape writes v so that ParseRule reads it back: the rule's own
// separators, "%", "+" and control bytes are percent-encoded, a space is "+",
// everything else is left readable.
func escape(b *strings.Builder, v string) {
	const hex = "0123456789ABCDEF"
	for i := 0; i < len(v); i++ {
		switch c := v[i]; {
		case c == ' ':
			b.WriteByte('+')
		case c < 0x20 || c == 0x7f || strings.IndexByte("%&=|+#", c) >= 0:
			b.WriteByte('%')
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&15])
		default:
			b.WriteByte(c)
		}
	}
}

// Specificity returns the number of terms in the rule: a rule that says more
// about a visit wins over one that says less at equal priority.
func (r Rule) Specificity() int { return len(r.terms) }

// IsZero reports whether the rule is empty and so matches every visit.
func (r Rule) IsZero() bool { return len(r.terms) == 0 }

// Match reports whether every term of the rule matches the visit.
func (r Rule) Match(v Visit) bool {
	for _, t := range r.terms {
		if !t.match(v) {
			return false
		}
	}
	return true
}

func (t term) match(v Visit) bool {
	var got string
	switch t.key {
	case keyUTMSource:
		got = v.UTMSource
	case keyUTMMedium:
		got = v.UTMMedium
	case keyUTMCampaign:
		got = v.UTMCampaign
	case keyUTMTerm:
		got = v.UTMTerm
	case keyUTMContent:
		got = v.UTMContent
	case keyClick:
		got = v.Click
	case keyChannel:
		got = v.Channel
	case keyReferrer:
		got = hostOf(v.Referrer)
	case keyLanding:
		// The page's URL is as the browser sent it, percent-encoded
		// ("/%D0%B0%D0%BA%D1%86%D0%B8%D1%8F"); the rule's value, as
		// people read it ("/акция"). A path that does not unescape is
		// compared as it is.
		got = pathOf(v.Landing)
		if p, err := url.PathUnescape(got); err == nil {
			got = p
		}
	}
	if got == "" {
		return false
	}
	for _, want := range t.values {
		switch t.key {
		case keyReferrer:
			if inDomain(got, want) {
				return true
			}
		case keyLanding:
			if len(got) >= len(want) && strings.EqualFold(got[:len(want)], want) {
				return true
			}
		default:
			if strings.EqualFold(got, want) {
				return true
			}
		}
	}
	return false
}

// hostOf returns the host of a URL, or s itself when it is a bare host,
// without user info, port or trailing dot.
func hostOf(s string) string {
	if i := strings.Index(s, "://"); i >= 0 {
		s = s[i+3:]
	} else {
		s = strings.TrimPrefix(s, "//")
	}
	if i := strings.IndexAny(s, "/?#"); i >= 0 {
		s = s[:i]
	}
	if i := strings.LastIndexByte(s, '@'); i >= 0 {
		s = s[i+1:]
	}
	if i := strings.LastIndexByte(s, ':'); i >= 0 && !strings.Contains(s[i:], "]") {
		s = s[:i]
	}
	return strings.TrimSuffix(s, ".")
}

// inDomain reports whether host is domain or one of its subdomains.
func inDomain(host, domain string) bool {
	if len(host) == len(domain) {
		return strings.EqualFold(host, domain)
	}
	n := len(host) - len(domain)
	return n > 0 && host[n-1] == '.' && strings.EqualFold(host[n:], domain)
}

// pathOf returns the path of a URL, or of s itself when it is a path, without
// query or fragment.
func pathOf(s string) string {
	if i := strings.Index(s, "://"); i >= 0 {
		s = s[i+3:]
		j := strings.IndexAny(s, "/?#")
		if j < 0 || s[j] != '/' {
			return "/"
		}
		s = s[j:]
	}
	if i := strings.IndexAny(s, "?#"); i >= 0 {
		s = s[:i]
	}
	return s
}

// Ranked is a rule with the priority its owner gave it.
type Ranked struct {
	Rule     Rule
	Priority int
}

// Choose returns the index of the rule that decides the visit, or -1 when
// none matches. Among the matching rules the highest priority wins, then the
// most specific, then the first.
func Choose(rules []Ranked, v Visit) int {
	best := -1
	for i, r := range rules {
		if !r.Rule.Match(v) {
			continue
		}
		if best < 0 {
			best = i
			continue
		}
		b := rules[best]
		if r.Priority > b.Priority ||
			r.Priority == b.Priority && r.Rule.Specificity() > b.Rule.Specificity() {
			best = i
		}
	}
	return best
}

// Value returns the value the rule requires of the key name (such as
// "utm_source" or "channel") when it allows exactly one, so that a call to
// a static number can be attributed to the source its rule names. It
// returns false when the rule says nothing of the key or allows several
// values.
func (r Rule) Value(name string) (string, bool) {
	k, ok := lookupKey(name)
	if !ok {
		return "", false
	}
	for _, t := range r.terms {
		if t.key == k && len(t.values) == 1 {
			return t.values[0], true
		}
	}
	return "", false
}
