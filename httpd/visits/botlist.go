package visits

import (
	"regexp"
	"regexp/syntax"
	"strings"
	"sync"
	"unicode"
)

// A cheaper way to the same answers as CrawlerDetect's for most agents.
//
// CrawlerDetect deletes the words browsers send (its "exclusions", one
// regular expression of some 50 alternatives) from an agent and then
// matches what is left against one regular expression of some 1,450
// alternatives, both case-insensitive: 0.5–2.4 ms for a browser's agent.
// botList answers "not a bot" without either for an ASCII agent when
// what is left after the exclusions holds none of the literal words one
// of the crawler patterns needs to match; any other agent goes to
// CrawlerDetect's regular expressions (crawlerDetect), so the answers are
// the same (TestBotListAgrees, FuzzBotList: against CrawlerDetect itself).
//
// The exclusions are deleted as Regexp.ReplaceAllString deletes the
// matches of their alternation: leftmost-first, so at the first position
// where any alternative matches, the first alternative (in the list's
// order) that matches there, as that alternative alone would match; then
// on from its end. Each alternative is its own small anchored regexp,
// tried only at the positions whose byte (and literal prefix) it can
// start with. The lists are a copy of CrawlerDetect's (botlist_data.go,
// made by go generate; TestBotListData holds it to the version in go.mod).

// botList is CrawlerDetect's lists prepared for the fast path; nil when
// they hold something the fast path does not handle (then every agent
// goes to crawlerDetect).
type botList struct {
	// excl[c] are the exclusions that can match from a position holding
	// byte c (ASCII), in the list's order.
	excl [128][]*exclusion
	// words2[two lowercase bytes] are the crawler patterns' needed
	// words that start with those bytes; words1 the one-byte words.
	words2 map[[2]byte][]string
	words1 [128]bool
}

// exclusion is one alternative of the exclusions.
type exclusion struct {
	prefix string         // lowercase: a match starts with it (case-insensitively)
	whole  bool           // the exclusion is prefix and nothing else
	re     *regexp.Regexp // anchored
}

// at is the length of the exclusion's match at the start of s (lower is
// s in lowercase), or -1.
func (e *exclusion) at(s, lower string) int {
	if !strings.HasPrefix(lower, e.prefix) {
		return -1
	}
	if e.whole {
		return len(e.prefix)
	}
	if loc := e.re.FindStringIndex(s); loc != nil {
		return loc[1]
	}
	return -1
}

//go:generate go run botlist_gen.go

// theBotList is the fast path over CrawlerDetect's lists
// (botlist_data.go, TestBotListData), made when first asked rather than
// at start-up (some 5-20 ms).
var theBotList = sync.OnceValue(func() *botList { return newBotList(crawlerPatterns, exclusionPatterns) })

// newBotList prepares the fast path for these lists; nil if a pattern is
// one it cannot reason about (an anchor or word boundary among the
// exclusions, an exclusion that can match nothing, a pattern that does
// not parse).
func newBotList(crawlers, exclusions []string) *botList {
	if len(crawlers) == 0 || len(exclusions) == 0 {
		return nil
	}
	l := &botList{words2: make(map[[2]byte][]string)}
	for _, p := range exclusions {
		re, err := syntax.Parse(p, syntax.Perl|syntax.FoldCase)
		if err != nil {
			return nil
		}
		first, nullable, ok := firstBytes(re)
		if !ok || nullable {
			return nil
		}
		anchored, err := regexp.Compile(`^(?i:` + p + `)`)
		if err != nil {
			return nil
		}
		e := &exclusion{re: anchored}
		e.prefix, e.whole = literalPrefix(re)
		for c := range first {
			if first[c] {
				l.excl[c] = append(l.excl[c], e)
			}
		}
	}
	for _, p := range crawlers {
		re, err := syntax.Parse(p, syntax.Perl|syntax.FoldCase)
		if err != nil {
			return nil
		}
		words, ok := neededWords(re)
		if !ok {
			return nil // a pattern that needs no word: every agent would go to the list
		}
		for _, w := range words {
			w = strings.ToLower(w)
			if !isASCII(w) {
				continue // never in an ASCII agent
			}
			if len(w) == 1 {
				l.words1[w[0]] = true
				continue
			}
			k := [2]byte{w[0], w[1]}
			if !contains(l.words2[k], w) {
				l.words2[k] = append(l.words2[k], w)
			}
		}
	}
	return l
}

func contains(set []string, s string) bool {
	for _, x := range set {
		if x == s {
			return true
		}
	}
	return false
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// surelyPerson reports true when ua (trimmed, ASCII) is not a crawler by
// the lists: false means "ask CrawlerDetect".
func (l *botList) surelyPerson(ua string) bool {
	if l == nil || !isASCII(ua) {
		return false
	}
	var buf [512]byte
	left := l.exclude(buf[:0], ua, string(lowerASCII(buf[:0], ua)))
	for i, c := range left {
		if 'A' <= c && c <= 'Z' {
			left[i] = c + 'a' - 'A'
		}
	}
	for i, c := range left {
		if l.words1[c] {
			return false
		}
		if i+1 < len(left) {
			for _, w := range l.words2[[2]byte{c, left[i+1]}] {
				if len(w) <= len(left)-i && string(left[i:i+len(w)]) == w {
					return false
				}
			}
		}
	}
	return true
}

// lowerASCII appends s with A-Z in lowercase to dst.
func lowerASCII(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		dst = append(dst, c)
	}
	return dst
}

// exclude appends s without the exclusions' matches to dst, as
// CrawlerDetect's exclusionsRegex.ReplaceAllString(s, "") leaves it; s is
// ASCII, lower is s in lowercase.
func (l *botList) exclude(dst []byte, s, lower string) []byte {
	last := 0
	for i := 0; i < len(s); {
		end := -1
		for _, e := range l.excl[s[i]] {
			if n := e.at(s[i:], lower[i:]); n >= 0 {
				end = i + n
				break
			}
		}
		if end < 0 {
			i++
			continue
		}
		dst = append(dst, s[last:i]...)
		i, last = end, end
	}
	return append(dst, s[last:]...)
}

// literalPrefix is the literal text every match of re starts with, in
// lowercase, and whether re is that text alone.
func literalPrefix(re *syntax.Regexp) (string, bool) {
	lit := func(r *syntax.Regexp) (string, bool) {
		if r.Op != syntax.OpLiteral {
			return "", false
		}
		s := string(r.Rune)
		if !isASCII(s) || r.Flags&syntax.FoldCase == 0 && strings.ToLower(s) != s {
			return "", false // matched case-sensitively: not in lowercase
		}
		return strings.ToLower(s), true
	}
	for re.Op == syntax.OpCapture {
		re = re.Sub[0]
	}
	if s, ok := lit(re); ok {
		return s, true
	}
	if re.Op != syntax.OpConcat {
		return "", false
	}
	var prefix string
	for i, sub := range re.Sub {
		s, ok := lit(sub)
		if !ok {
			return prefix, false
		}
		prefix += s
		if i == len(re.Sub)-1 {
			return prefix, true
		}
	}
	return prefix, false
}

// firstBytes is the set of ASCII bytes a match of re can start with (a
// superset is fine), whether re can match the empty string, and false
// when re holds what the exclusion path does not handle: an anchor or a
// word boundary (a match tried on a suffix of the agent would see other
// text around it).
func firstBytes(re *syntax.Regexp) (first [128]bool, nullable, ok bool) {
	all := func() (f [128]bool) {
		for c := range f {
			f[c] = true
		}
		return f
	}
	switch re.Op {
	case syntax.OpNoMatch:
		return first, false, true
	case syntax.OpEmptyMatch:
		return first, true, true
	case syntax.OpLiteral:
		if len(re.Rune) == 0 {
			return first, true, true
		}
		addRune(&first, re.Rune[0], re.Flags&syntax.FoldCase != 0)
		return first, false, true
	case syntax.OpCharClass:
		for i := 0; i+1 < len(re.Rune); i += 2 {
			for r := re.Rune[i]; r <= re.Rune[i+1] && r < 128; r++ {
				addRune(&first, r, re.Flags&syntax.FoldCase != 0)
			}
		}
		return first, false, true
	case syntax.OpAnyCharNotNL, syntax.OpAnyChar:
		return all(), false, true
	case syntax.OpCapture:
		return firstBytes(re.Sub[0])
	case syntax.OpStar, syntax.OpQuest:
		f, _, ok := firstBytes(re.Sub[0])
		return f, true, ok
	case syntax.OpPlus:
		return firstBytes(re.Sub[0])
	case syntax.OpRepeat:
		f, n, ok := firstBytes(re.Sub[0])
		return f, n || re.Min == 0, ok
	case syntax.OpConcat:
		for _, sub := range re.Sub {
			f, n, ok := firstBytes(sub)
			if !ok {
				return first, false, false
			}
			for c := range f {
				first[c] = first[c] || f[c]
			}
			if !n {
				return first, false, true
			}
		}
		return first, true, true
	case syntax.OpAlternate:
		for _, sub := range re.Sub {
			f, n, ok := firstBytes(sub)
			if !ok {
				return first, false, false
			}
			for c := range f {
				first[c] = first[c] || f[c]
			}
			nullable = nullable || n
		}
		return first, nullable, true
	}
	return first, false, false // anchors, word boundaries
}

// addRune adds r (and its other case, under fold) to an ASCII byte set;
// a rune outside ASCII starts no match in an ASCII agent.
func addRune(set *[128]bool, r rune, fold bool) {
	if r < 128 {
		set[r] = true
	}
	if fold {
		for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
			if f < 128 {
				set[f] = true
			}
		}
	}
}

// neededWords is a set of words at least one of which every match of re
// contains (case-insensitively); false when re can match without any.
// Of the sets it could give it gives the one whose shortest word is the
// longest: a short word would be in most agents.
func neededWords(re *syntax.Regexp) ([]string, bool) {
	switch re.Op {
	case syntax.OpLiteral:
		if len(re.Rune) == 0 {
			return nil, false
		}
		return []string{string(re.Rune)}, true
	case syntax.OpCapture, syntax.OpPlus:
		return neededWords(re.Sub[0])
	case syntax.OpRepeat:
		if re.Min == 0 {
			return nil, false
		}
		return neededWords(re.Sub[0])
	case syntax.OpAlternate:
		var all []string
		for _, sub := range re.Sub {
			w, ok := neededWords(sub)
			if !ok {
				return nil, false
			}
			all = append(all, w...)
		}
		return all, true
	case syntax.OpConcat:
		// What one of the parts needs, or the strings a run of parts
		// that each match one of a few strings can match together
		// ("c" then "rawl" or "ron": "crawl" or "cron").
		var best []string
		better := func(w []string) {
			if len(w) > 0 && (best == nil || shortest(w) > shortest(best)) {
				best = w
			}
		}
		for _, sub := range re.Sub {
			if w, ok := neededWords(sub); ok {
				better(w)
			}
		}
		for i := range re.Sub {
			run := []string{""}
			for _, sub := range re.Sub[i:] {
				set, ok := exactStrings(sub)
				if !ok || len(run)*len(set) > maxExact {
					break
				}
				var next []string
				for _, a := range run {
					for _, b := range set {
						next = append(next, a+b)
					}
				}
				run = next
				if shortest(run) > 0 {
					better(run)
				}
			}
		}
		return best, best != nil
	}
	return nil, false
}

// maxExact bounds the strings exactStrings lists.
const maxExact = 64

// exactStrings is every string re matches, when they are a few
// (literals, alternatives and optional parts of them).
func exactStrings(re *syntax.Regexp) ([]string, bool) {
	switch re.Op {
	case syntax.OpLiteral:
		return []string{string(re.Rune)}, true
	case syntax.OpEmptyMatch:
		return []string{""}, true
	case syntax.OpCapture:
		return exactStrings(re.Sub[0])
	case syntax.OpQuest:
		set, ok := exactStrings(re.Sub[0])
		return append(set, ""), ok && len(set) < maxExact
	case syntax.OpAlternate:
		var all []string
		for _, sub := range re.Sub {
			set, ok := exactStrings(sub)
			if !ok || len(all)+len(set) > maxExact {
				return nil, false
			}
			all = append(all, set...)
		}
		return all, true
	case syntax.OpConcat:
		run := []string{""}
		for _, sub := range re.Sub {
			set, ok := exactStrings(sub)
			if !ok || len(run)*len(set) > maxExact {
				return nil, false
			}
			var next []string
			for _, a := range run {
				for _, b := range set {
					next = append(next, a+b)
				}
			}
			run = next
		}
		return run, true
	}
	return nil, false
}

// shortest is the length of the shortest of words.
func shortest(words []string) int {
	n := -1
	for _, w := range words {
		if n < 0 || len(w) < n {
			n = len(w)
		}
	}
	return n
}
