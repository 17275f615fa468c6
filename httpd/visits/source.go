package visits

import (
	"net/url"
	"strings"
	"unicode/utf8"

	"appliance/internal/weburl"
	"appliance/store"
)

// Channel is the kind of traffic a session came from.
type Channel string

// The channels, in the order of their roll-up lanes.
const (
	Organic  Channel = "organic"
	Social   Channel = "social"
	Referral Channel = "referral"
	Direct   Channel = "direct"
	Ad       Channel = "ad"
)

// channelLanes is every channel in roll-up lane order (read only).
var channelLanes = [...]Channel{Organic, Social, Referral, Direct, Ad}

// Channels lists every channel in roll-up lane order (a fresh slice).
func Channels() []Channel { return append([]Channel(nil), channelLanes[:]...) }

// lane is the channel's lane in the "c" roll-up; -1 for an unknown channel.
func (c Channel) lane() int {
	for i, x := range channelLanes {
		if x == c {
			return i
		}
	}
	return -1
}

// UTM holds the utm_* tags of a landing page URL, as written there.
type UTM struct {
	Source, Medium, Campaign, Term, Content string
}

// Source is where a session's traffic came from, read from its first hit.
//
// The channel is decided by the first rule that applies:
//
//	rule                                                           channel
//	1. a gclid or yclid click id                                   ad
//	2. utm_medium cpc, ppc, cpm, cpa, cpv, paid, paidsearch,       ad
//	   paidsocial, display, banner ("-", "_" and spaces ignored)
//	3. utm_medium organic                                          organic
//	4. utm_medium social, sm, smm, socialnetwork, socialmedia      social
//	5. utm_source naming a search engine or a social network       organic, social
//	6. an fbclid (Facebook adds it to every outbound link, paid    social
//	   or not; a paid one also carries a paid utm_medium)
//	7. a referrer on a search engine                               organic
//	8. a referrer on a social network                              social
//	9. any other referrer (not the site's own host)                referral
//	10. utm tags with nothing recognisable (e.g. a newsletter)     referral
//	11. nothing: no referrer, or one on the site's own host        direct
//
// Search engines: Google (google.com and every country domain), Yandex
// (yandex.*, ya.ru), Bing, DuckDuckGo, Mail.ru search (go.mail.ru), Yahoo
// search, Baidu. Social networks: VK (vk.com, vk.ru), OK (ok.ru), Telegram
// (t.me, telegram.org incl. web.telegram.org), Facebook (facebook.com,
// fb.com, fb.me), Instagram, X/Twitter (x.com, twitter.com, t.co),
// LinkedIn, YouTube, Dzen (dzen.ru, zen.yandex.*), Pinterest. A host
// matches a domain when it is the domain or a subdomain of it.
type Source struct {
	Channel   Channel
	UTM       UTM
	Click     string // click id kind: "gclid", "yclid", "fbclid", or ""
	ClickID   string // the click id's value
	Referrer  string // the referrer URL; "" when none or on the site's own host
	RefDomain string // the referrer's host, lower case, without "www." and port
	Network   string // the search engine or social network recognised, e.g. "Google"
	Landing   string // the page URL
}

// Campaign is what makes a visit from an ad or a tagged link distinct:
// a hit that brings a different campaign starts a new session.
type Campaign struct {
	UTM     UTM
	Click   string
	ClickID string
}

// IsZero reports whether c has no tag and no click id: a hit without
// campaign (an internal link, a reload) continues any campaign.
func (c Campaign) IsZero() bool { return c == Campaign{} }

// Campaign is the source's campaign identity.
func (s Source) Campaign() Campaign {
	return Campaign{UTM: s.UTM, Click: s.Click, ClickID: s.ClickID}
}

// clickKinds are the click id parameters recognised, by priority (read
// only).
var clickKinds = [...]string{"gclid", "yclid", "fbclid"}

// ParsePageURL parses s, the value of field, as the URL of the page a
// request comes from: an absolute http or https URL of at most MaxURL
// bytes (never javascript:, data: or a relative one).
func ParsePageURL(field, s string) (*url.URL, error) {
	if err := checkText(field, s, MaxURL); err != nil {
		return nil, err
	}
	if u, ok := weburl.Parse(s); ok {
		return u, nil // every hit's page: most are plain URLs
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, invalid("%s must be an absolute http(s) URL", field)
	}
	return u, nil
}

// MendURL mends the end of a page URL or referrer the snippet cut to
// MaxURL bytes (it cuts the URLs it sends with hits, leads and callbacks,
// so that a long one does not get the request refused): a cut may fall
// inside a %-escape, "…%D0%9" or "…%D", which url.Parse refuses, and the
// visitor's lead would be lost over the last two bytes of its page's URL.
// MendURL drops a trailing incomplete escape ("%" or "%" and one hex
// digit: also a page's own stray "%" at the end, which browsers keep)
// and, when s was cut (it ended in an incomplete escape, or it is MaxURL
// bytes long), the complete escapes at its end that unescape to only the
// first bytes of a UTF-8 character ("…%D0" of "…%D0%9F"). Anything else is
// left as it is, for ParsePageURL to take or refuse: a malformed escape
// before the end is still malformed. The result is a prefix of s, and
// MendURL(MendURL(s)) == MendURL(s).
func MendURL(s string) string {
	cut := len(s) >= MaxURL
	s, dropped := dropIncompleteEscape(s)
	if cut || dropped {
		if t := dropPartialRune(s); len(t) < len(s) {
			s, _ = dropIncompleteEscape(t)
		}
	}
	return s
}

// dropIncompleteEscape drops the "%" or "%" and one hex digit that end s,
// as often as s ends in one; dropped says whether it did.
func dropIncompleteEscape(s string) (_ string, dropped bool) {
	for {
		n := len(s)
		switch {
		case n >= 1 && s[n-1] == '%':
			s = s[:n-1]
		case n >= 2 && s[n-2] == '%' && isHex(s[n-1]):
			s = s[:n-2]
		default:
			return s, dropped
		}
		dropped = true
	}
}

// dropPartialRune drops the %-escapes at the end of s that unescape to a
// UTF-8 character's first bytes without its last (at most 3 of 4).
func dropPartialRune(s string) string {
	var b [3]byte
	n, end := 0, len(s)
	for n < len(b) && end >= 3 && s[end-3] == '%' && isHex(s[end-2]) && isHex(s[end-1]) {
		end -= 3
		n++
		b[len(b)-n] = unhex(s[end+1])<<4 | unhex(s[end+2])
	}
	tail := b[len(b)-n:]
	for i := len(tail) - 1; i >= 0; i-- {
		if tail[i]&0xc0 != 0x80 { // the last byte that is not a continuation
			if tail[i] >= 0x80 && !utf8.FullRune(tail[i:]) {
				return s[:len(s)-3*(len(tail)-i)]
			}
			break
		}
	}
	return s
}

func isHex(c byte) bool { return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F' }

func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c <= 'F':
		return c - 'A' + 10
	}
	return c - 'a' + 10
}

// ParseSource reads the traffic source of a hit on pageURL (an absolute
// http or https URL) coming from referrer (empty, or an absolute URL).
// ownHosts are the site's domains: a referrer on one of them, on a
// subdomain of one, or on the page's own host counts as no referrer.
func ParseSource(pageURL, referrer string, ownHosts []string) (Source, error) {
	return ParseSourceAs("u", "r", pageURL, referrer, ownHosts)
}

// ParseSourceAs is ParseSource whose errors name the two values pageField
// and refField, the names the person who typed them knows them by.
func ParseSourceAs(pageField, refField, pageURL, referrer string, ownHosts []string) (Source, error) {
	pu, err := ParsePageURL(pageField, pageURL)
	if err != nil {
		return Source{}, err
	}
	return parseSource(refField, pu, pageURL, referrer, ownHosts)
}

// parseSource is ParseSourceAs of a page URL pageURL that ParsePageURL
// has parsed into pu.
func parseSource(refField string, pu *url.URL, pageURL, referrer string, ownHosts []string) (Source, error) {
	src, err := readSource(refField, pu, pageURL, referrer, ownHosts)
	if err != nil {
		return Source{}, err
	}
	src.Channel, src.Network = classify(src)
	return src, nil
}

// readSource is parseSource without the channel and network, which only
// a hit that starts a session needs (classify them then).
func readSource(refField string, pu *url.URL, pageURL, referrer string, ownHosts []string) (Source, error) {
	if err := checkText(refField, referrer, MaxURL); err != nil {
		return Source{}, err
	}
	src := Source{Landing: pageURL}
	q := readQuery(pu.RawQuery)
	src.UTM = UTM{
		Source:   strings.TrimSpace(q.values[qUTMSource]),
		Medium:   strings.TrimSpace(q.values[qUTMMedium]),
		Campaign: strings.TrimSpace(q.values[qUTMCampaign]),
		Term:     strings.TrimSpace(q.values[qUTMTerm]),
		Content:  strings.TrimSpace(q.values[qUTMContent]),
	}
	for i, k := range clickKinds {
		if v := strings.TrimSpace(q.values[qClick+i]); v != "" {
			src.Click, src.ClickID = k, v
			break
		}
	}
	if referrer != "" {
		host, _, _, ok := weburl.Plain(referrer)
		if !ok {
			ru, err := url.Parse(referrer)
			if err != nil || ru.Scheme == "" || ru.Opaque != "" {
				return Source{}, invalid("%s must be empty or an absolute URL", refField)
			}
			host = ru.Hostname()
		}
		host = bareHost(host)
		if host != "" && !isOwnHost(host, bareHost(pu.Hostname()), ownHosts) {
			src.Referrer, src.RefDomain = referrer, host
		}
	}
	return src, nil
}

// The query parameters a page view's source is read from, in
// pageQuery.values.
const (
	qUTMSource = iota
	qUTMMedium
	qUTMCampaign
	qUTMTerm
	qUTMContent
	qClick  // clickKinds from here on
	qParams = qClick + len(clickKinds)
)

// pageQuery is what a page URL's query says of its source: the first
// value of each parameter of qParams, unescaped, "" when absent.
type pageQuery struct {
	values [qParams]string
	set    [qParams]bool
}

// readQuery reads a raw query as url.ParseQuery does (pairs split at "&",
// a pair with ";" or that does not unescape skipped) and keeps the first
// value of each parameter a source is read from: every hit reads its
// page's query, and ParseQuery builds a map of every parameter
// (FuzzReadQuery). ParseQuery also gives up on a query of more than
// 10,000 parameters (GODEBUG urlmaxqueryparams), which a URL of at most
// MaxURL bytes cannot have.
func readQuery(raw string) pageQuery {
	var q pageQuery
	for raw != "" {
		var pair string
		pair, raw, _ = strings.Cut(raw, "&")
		if pair == "" || strings.Contains(pair, ";") {
			continue
		}
		k, v, _ := strings.Cut(pair, "=")
		k, err := url.QueryUnescape(k)
		if err != nil {
			continue
		}
		i := queryParam(k)
		if i < 0 || q.set[i] {
			continue
		}
		if v, err = url.QueryUnescape(v); err == nil {
			q.values[i], q.set[i] = v, true
		}
	}
	return q
}

// queryParam is the index in pageQuery.values of parameter k; -1 for one
// not read.
func queryParam(k string) int {
	switch k {
	case "utm_source":
		return qUTMSource
	case "utm_medium":
		return qUTMMedium
	case "utm_campaign":
		return qUTMCampaign
	case "utm_term":
		return qUTMTerm
	case "utm_content":
		return qUTMContent
	}
	for i, c := range clickKinds {
		if k == c {
			return qClick + i
		}
	}
	return -1
}

// bareHost lower-cases a host name and strips "www." and a trailing dot.
func bareHost(h string) string {
	h = strings.TrimSuffix(strings.ToLower(h), ".")
	return strings.TrimPrefix(h, "www.")
}

func isOwnHost(host, pageHost string, own []string) bool {
	if host == pageHost {
		return true
	}
	for _, d := range own {
		if d = bareHost(d); d != "" && hasDomain(host, d) {
			return true
		}
	}
	return false
}

// hasDomain reports whether host is domain or a subdomain of it.
func hasDomain(host, domain string) bool {
	return host == domain || strings.HasSuffix(host, "."+domain) && len(host) > len(domain)+1
}

// paidMediums and socialMediums are squashed utm_medium values (read only).
var paidMediums = map[string]bool{
	"cpc": true, "ppc": true, "cpm": true, "cpa": true, "cpv": true, "paid": true,
	"paidsearch": true, "paidsocial": true, "display": true, "banner": true,
}

var socialMediums = map[string]bool{
	"social": true, "sm": true, "smm": true, "socialnetwork": true, "socialmedia": true,
}

// squash lower-cases s and drops "-", "_" and spaces: "Paid_Search" ->
// "paidsearch".
func squash(s string) string {
	return strings.Map(func(r rune) rune {
		switch r {
		case '-', '_', ' ':
			return -1
		}
		return r
	}, strings.ToLower(s))
}

// ChannelOfTags is the channel the table above gives a visit known only by
// its tags: utm tags, the kind of click id ("gclid", "yclid", "fbclid" or
// "") and the referrer's domain ("" for none). It is how the rule of a
// static number (utm_source=yandex&utm_medium=cpc) names the channel of the
// calls to it.
func ChannelOfTags(utm UTM, click, refDomain string) Channel {
	c, _ := classify(Source{UTM: utm, Click: click, RefDomain: bareHost(refDomain)})
	return c
}

// SourceChannel is ChannelOfTags of a stored source's tags: the
// tracking.ChannelFunc the server hands the numbers tracker.
func SourceChannel(src store.Source) string {
	utm := UTM{Source: src.UTMSource, Medium: src.UTMMedium, Campaign: src.UTMCampaign, Term: src.UTMTerm, Content: src.UTMContent}
	return string(ChannelOfTags(utm, src.Click, src.Referrer))
}

func classify(s Source) (Channel, string) {
	medium := squash(s.UTM.Medium)
	switch {
	case s.Click == "gclid" || s.Click == "yclid":
		return Ad, networkOfSource(s.UTM.Source)
	case paidMediums[medium]:
		return Ad, networkOfSource(s.UTM.Source)
	case medium == "organic":
		return Organic, networkOfSource(s.UTM.Source)
	case socialMediums[medium]:
		return Social, networkOfSource(s.UTM.Source)
	}
	if n, ok := knownSource(s.UTM.Source); ok {
		return n.channel, n.name
	}
	if s.Click == "fbclid" {
		return Social, "Facebook"
	}
	if s.RefDomain != "" {
		if n, ok := knownHost(s.RefDomain); ok {
			return n.channel, n.name
		}
		return Referral, ""
	}
	if s.UTM != (UTM{}) {
		return Referral, ""
	}
	return Direct, ""
}

func networkOfSource(utmSource string) string {
	n, _ := knownSource(utmSource)
	return n.name
}

// network is a search engine or social network.
type network struct {
	name    string
	channel Channel
	// domains match a host that is the domain or its subdomain; "x.*"
	// matches x under any country or generic top-level domain ("google.*":
	// google.com, google.ru, google.co.uk, news.google.com.tr).
	domains []string
	sources []string // utm_source spellings, lower case
}

// networks is checked in order: social first, so that zen.yandex.ru is Dzen
// rather than Yandex search. Read only.
var networks = [...]network{
	{"VK", Social, []string{"vk.com", "vk.ru", "vkontakte.ru"}, []string{"vk", "vkontakte"}},
	{"OK", Social, []string{"ok.ru", "odnoklassniki.ru"}, []string{"ok", "odnoklassniki"}},
	{"Telegram", Social, []string{"t.me", "telegram.me", "telegram.org"}, []string{"telegram", "tg"}},
	{"Facebook", Social, []string{"facebook.com", "fb.com", "fb.me"}, []string{"facebook", "fb"}},
	{"Instagram", Social, []string{"instagram.com"}, []string{"instagram", "ig"}},
	{"X", Social, []string{"x.com", "twitter.com", "t.co"}, []string{"twitter", "x"}},
	{"LinkedIn", Social, []string{"linkedin.com", "lnkd.in"}, []string{"linkedin"}},
	{"YouTube", Social, []string{"youtube.com", "youtu.be"}, []string{"youtube", "yt"}},
	{"Dzen", Social, []string{"dzen.ru", "zen.yandex.*"}, []string{"dzen", "zen"}},
	{"Pinterest", Social, []string{"pinterest.*", "pin.it"}, []string{"pinterest"}},

	{"Google", Organic, []string{"google.*"}, []string{"google"}},
	{"Yandex", Organic, []string{"yandex.*", "ya.ru"}, []string{"yandex", "ya"}},
	{"Bing", Organic, []string{"bing.com"}, []string{"bing"}},
	{"DuckDuckGo", Organic, []string{"duckduckgo.com"}, []string{"duckduckgo", "ddg"}},
	{"Mail.ru", Organic, []string{"go.mail.ru"}, []string{"go.mail.ru", "mailru"}},
	{"Yahoo", Organic, []string{"search.yahoo.*"}, []string{"yahoo"}},
	{"Baidu", Organic, []string{"baidu.com"}, []string{"baidu"}},
}

// knownHost finds the network of a (bare, lower-case) host.
func knownHost(host string) (network, bool) {
	for _, n := range networks {
		for _, d := range n.domains {
			if matchDomain(host, d) {
				return n, true
			}
		}
	}
	return network{}, false
}

// knownSource finds the network a utm_source names, by name or domain.
func knownSource(utmSource string) (network, bool) {
	s := strings.ToLower(strings.TrimSpace(utmSource))
	if s == "" {
		return network{}, false
	}
	for _, n := range networks {
		for _, x := range n.sources {
			if s == x {
				return n, true
			}
		}
	}
	if strings.Contains(s, ".") {
		return knownHost(bareHost(s))
	}
	return network{}, false
}

func matchDomain(host, pattern string) bool {
	base, wild := strings.CutSuffix(pattern, ".*")
	if !wild {
		return hasDomain(host, pattern)
	}
	// Strip a top-level domain of one or two short labels ("ru", "co.uk",
	// "com.tr") and match what is left.
	rest := host
	for range 2 {
		i := strings.LastIndexByte(rest, '.')
		if i <= 0 || !tldLike(rest[i+1:]) {
			return false
		}
		rest = rest[:i]
		if hasDomain(rest, base) {
			return true
		}
	}
	return false
}

// tldLike reports whether a label looks like a country or generic
// top-level domain, or the "co"/"com" of a country's second level.
func tldLike(l string) bool {
	if len(l) < 2 || len(l) > 3 {
		return false
	}
	for i := 0; i < len(l); i++ {
		if l[i] < 'a' || l[i] > 'z' {
			return false
		}
	}
	return true
}
