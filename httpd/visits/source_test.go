package visits

import (
	"errors"
	"net/url"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestParseSource(t *testing.T) {
	own := []string{"shop.example.com"}
	const page = "https://shop.example.com/catalog"
	for _, tt := range []struct {
		name      string
		url, ref  string
		channel   Channel
		network   string
		refDomain string
		click     string
	}{
		{"no referrer", page, "", Direct, "", "", ""},
		{"own host", page, "https://shop.example.com/cart", Direct, "", "", ""},
		{"own host www", page, "http://www.shop.example.com/", Direct, "", "", ""},
		{"own subdomain", page, "https://blog.shop.example.com/post", Direct, "", "", ""},
		{"page host not in the site's domains", "https://mirror.example.net/", "https://mirror.example.net/a", Direct, "", "", ""},

		{"google.com", page, "https://www.google.com/", Organic, "Google", "google.com", ""},
		{"google.ru", page, "https://www.google.ru/search?q=x", Organic, "Google", "google.ru", ""},
		{"google.co.uk", page, "https://google.co.uk/", Organic, "Google", "google.co.uk", ""},
		{"google.com.tr", page, "https://www.google.com.tr/", Organic, "Google", "google.com.tr", ""},
		{"yandex.ru", page, "https://yandex.ru/search/?text=x", Organic, "Yandex", "yandex.ru", ""},
		{"yandex.com.tr", page, "https://yandex.com.tr/", Organic, "Yandex", "yandex.com.tr", ""},
		{"ya.ru", page, "https://ya.ru/", Organic, "Yandex", "ya.ru", ""},
		{"bing", page, "https://www.bing.com/search?q=x", Organic, "Bing", "bing.com", ""},
		{"duckduckgo", page, "https://duckduckgo.com/", Organic, "DuckDuckGo", "duckduckgo.com", ""},
		{"mail.ru search", page, "https://go.mail.ru/search?q=x", Organic, "Mail.ru", "go.mail.ru", ""},
		{"mail.ru mail is not search", page, "https://e.mail.ru/inbox", Referral, "", "e.mail.ru", ""},
		{"yahoo", page, "https://search.yahoo.com/", Organic, "Yahoo", "search.yahoo.com", ""},
		{"yahoo country", page, "https://uk.search.yahoo.com/", Organic, "Yahoo", "uk.search.yahoo.com", ""},
		{"baidu", page, "https://www.baidu.com/s?wd=x", Organic, "Baidu", "baidu.com", ""},

		{"vk.com", page, "https://vk.com/wall-1", Social, "VK", "vk.com", ""},
		{"m.vk.com", page, "https://m.vk.com/", Social, "VK", "m.vk.com", ""},
		{"vk.ru", page, "https://vk.ru/", Social, "VK", "vk.ru", ""},
		{"ok.ru", page, "https://ok.ru/group", Social, "OK", "ok.ru", ""},
		{"t.me", page, "https://t.me/channel/5", Social, "Telegram", "t.me", ""},
		{"web.telegram.org", page, "https://web.telegram.org/k/", Social, "Telegram", "web.telegram.org", ""},
		{"facebook", page, "https://l.facebook.com/l.php?u=x", Social, "Facebook", "l.facebook.com", ""},
		{"fb.com", page, "https://fb.com/", Social, "Facebook", "fb.com", ""},
		{"instagram", page, "https://l.instagram.com/", Social, "Instagram", "l.instagram.com", ""},
		{"x.com", page, "https://x.com/", Social, "X", "x.com", ""},
		{"t.co", page, "https://t.co/abc", Social, "X", "t.co", ""},
		{"twitter", page, "https://twitter.com/", Social, "X", "twitter.com", ""},
		{"linkedin", page, "https://www.linkedin.com/", Social, "LinkedIn", "linkedin.com", ""},
		{"youtube", page, "https://www.youtube.com/watch?v=1", Social, "YouTube", "youtube.com", ""},
		{"dzen", page, "https://dzen.ru/a/x", Social, "Dzen", "dzen.ru", ""},
		{"zen.yandex is dzen, not search", page, "https://zen.yandex.ru/", Social, "Dzen", "zen.yandex.ru", ""},
		{"pinterest", page, "https://www.pinterest.ru/pin/1", Social, "Pinterest", "pinterest.ru", ""},

		{"other site", page, "https://blog.example.org/review", Referral, "", "blog.example.org", ""},
		{"lookalike is no google", page, "https://notgoogle.com/", Referral, "", "notgoogle.com", ""},
		{"google under another domain", page, "https://google.com.evil.example/", Referral, "", "google.com.evil.example", ""},
		{"port stripped", page, "http://Example.ORG:8080/x", Referral, "", "example.org", ""},

		{"gclid", page + "?gclid=EAIaIQ", "https://www.google.com/", Ad, "", "google.com", "gclid"},
		{"yclid", page + "?yclid=123", "https://yandex.ru/", Ad, "", "yandex.ru", "yclid"},
		{"fbclid alone is social", page + "?fbclid=IwAR", "https://l.facebook.com/", Social, "Facebook", "l.facebook.com", "fbclid"},
		{"fbclid with paid medium", page + "?fbclid=IwAR&utm_medium=paid_social&utm_source=facebook", "", Ad, "Facebook", "", "fbclid"},
		{"utm cpc", page + "?utm_source=yandex&utm_medium=cpc&utm_campaign=spring", "https://yandex.ru/", Ad, "Yandex", "yandex.ru", ""},
		{"utm CPC case", page + "?utm_source=google&utm_medium=CPC", "", Ad, "Google", "", ""},
		{"utm paid-search", page + "?utm_medium=paid-search", "", Ad, "", "", ""},
		{"utm display", page + "?utm_medium=display&utm_source=partner", "", Ad, "", "", ""},
		{"utm banner", page + "?utm_medium=banner", "", Ad, "", "", ""},
		{"utm ppc cpm cpa", page + "?utm_medium=cpm", "", Ad, "", "", ""},
		{"utm organic", page + "?utm_source=google&utm_medium=organic", "", Organic, "Google", "", ""},
		{"utm social medium", page + "?utm_source=newsletter&utm_medium=social", "", Social, "", "", ""},
		{"utm source vk", page + "?utm_source=vk&utm_medium=post", "", Social, "VK", "", ""},
		{"utm source as domain", page + "?utm_source=t.me&utm_medium=post", "", Social, "Telegram", "", ""},
		{"utm newsletter", page + "?utm_source=newsletter&utm_medium=email", "", Referral, "", "", ""},
		{"utm newsletter from a referrer", page + "?utm_source=newsletter&utm_medium=email", "https://www.google.com/", Organic, "Google", "google.com", ""},
		{"empty utm values", page + "?utm_source=&utm_medium=", "", Direct, "", "", ""},
		{"android app referrer", page, "android-app://com.google.android.gm/", Referral, "", "com.google.android.gm", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s, err := ParseSource(tt.url, tt.ref, own)
			if err != nil {
				t.Fatalf("ParseSource(%q, %q): %v", tt.url, tt.ref, err)
			}
			if s.Channel != tt.channel || s.Network != tt.network || s.RefDomain != tt.refDomain || s.Click != tt.click {
				t.Errorf("got channel %q network %q ref domain %q click %q; want %q %q %q %q",
					s.Channel, s.Network, s.RefDomain, s.Click, tt.channel, tt.network, tt.refDomain, tt.click)
			}
			if s.Landing != tt.url {
				t.Errorf("landing %q, want %q", s.Landing, tt.url)
			}
			if (s.Referrer == "") != (s.RefDomain == "") {
				t.Errorf("referrer %q with domain %q", s.Referrer, s.RefDomain)
			}
		})
	}
}

func TestParseSourceUTM(t *testing.T) {
	s, err := ParseSource("https://shop.example/?utm_source=Yandex&utm_medium=cpc&utm_campaign=%D0%B2%D0%B5%D1%81%D0%BD%D0%B0&utm_term=red+shoes&utm_content=b1&utm_source=second&gclid=G1&yclid=Y1", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	want := UTM{Source: "Yandex", Medium: "cpc", Campaign: "весна", Term: "red shoes", Content: "b1"}
	if s.UTM != want {
		t.Errorf("UTM %+v, want %+v", s.UTM, want)
	}
	if s.Click != "gclid" || s.ClickID != "G1" {
		t.Errorf("click %q %q, want the first kind by priority, gclid G1", s.Click, s.ClickID)
	}
	c := s.Campaign()
	if c.IsZero() || c.UTM != want || c.ClickID != "G1" {
		t.Errorf("campaign %+v", c)
	}
	plain, _ := ParseSource("https://shop.example/about", "", nil)
	if !plain.Campaign().IsZero() {
		t.Errorf("a plain page has campaign %+v", plain.Campaign())
	}
}

func TestParseSourceInvalid(t *testing.T) {
	long := "https://shop.example/" + strings.Repeat("a", MaxURL)
	for _, tt := range []struct{ url, ref, want string }{
		{"", "", "u must be"},
		{"/relative", "", "u must be"},
		{"ftp://shop.example/", "", "u must be"},
		{"javascript:alert(1)", "", "u must be"},
		{"https://", "", "u must be"},
		{"https://shop.example/%zz", "", "u must be"},
		{long, "", "u is longer than 2048"},
		{"https://shop.example/", long, "r is longer than 2048"},
		{"https://shop.example/\xff", "", "u is not valid UTF-8"},
		{"https://shop.example/", "not a url", "r must be"},
		{"https://shop.example/", "mailto:a@b.c", "r must be"},
	} {
		_, err := ParseSource(tt.url, tt.ref, nil)
		if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("ParseSource(%.40q, %.40q) = %v, want ErrInvalid with %q", tt.url, tt.ref, err, tt.want)
		}
	}
}

func TestChannelLanes(t *testing.T) {
	for i, c := range Channels() {
		if c.lane() != i {
			t.Errorf("%s: lane %d, want %d", c, c.lane(), i)
		}
	}
	if Channel("email").lane() != -1 {
		t.Error("unknown channel has a lane")
	}
	ch := Channels()
	ch[0] = "changed"
	if Channels()[0] != Organic {
		t.Error("Channels shares its backing array")
	}
}

// FuzzSource: any input either fails with ErrInvalid or gives a known
// channel, a landing page equal to the URL, and never a referrer on the
// page's own host.
func FuzzSource(f *testing.F) {
	for _, s := range [][2]string{
		{"https://shop.example.com/?utm_source=yandex&utm_medium=cpc", "https://yandex.ru/"},
		{"https://shop.example.com/?gclid=1", ""},
		{"http://shop.example.com/a?fbclid=x&utm_medium=paid", "https://l.facebook.com/"},
		{"https://shop.example.com/", "https://www.google.co.uk/"},
		{"https://shop.example.com/", "android-app://org.telegram.messenger"},
		{"https://[::1]:8080/x", "http://[::1]/"},
		{"https://shop.example.com/%zz", "%"},
		{"https://shop.example.com/", "https://zen.yandex.ru/"},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, u, r string) {
		s, err := ParseSource(u, r, []string{"shop.example.com"})
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error not ErrInvalid: %v", err)
			}
			return
		}
		if s.Channel.lane() < 0 {
			t.Fatalf("unknown channel %q", s.Channel)
		}
		if s.Landing != u {
			t.Fatalf("landing %q, want %q", s.Landing, u)
		}
		if s.RefDomain == "shop.example.com" {
			t.Fatalf("own host as referrer: %+v", s)
		}
		if s.Channel == Direct && (s.RefDomain != "" || !s.Campaign().IsZero() && s.UTM != (UTM{})) {
			t.Fatalf("direct with a source: %+v", s)
		}
	})
}

// FuzzReadQuery: readQuery keeps what url.ParseQuery gives as the first
// value of each parameter a source is read from.
func FuzzReadQuery(f *testing.F) {
	for _, s := range []string{"", "color=red", "utm_source=yandex&utm_medium=cpc&utm_campaign=c1", "utm_source=a&utm_source=b",
		"utm_source=%zz&utm_source=b", "utm%5Fsource=x", "gclid=1&yclid=2", "a;b=c&utm_term=t", "utm_content", "=&&=x&utm_medium=+a+",
		"fbclid=%E2%80%94", "utm_source=a;utm_medium=b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		got := readQuery(raw)
		want, _ := url.ParseQuery(raw)
		for k, vs := range want {
			if i := queryParam(k); i >= 0 && (!got.set[i] || got.values[i] != vs[0]) {
				t.Errorf("%q: %s = %q (set %v), url.ParseQuery %q", raw, k, got.values[i], got.set[i], vs[0])
			}
		}
		for i, set := range got.set {
			if set && len(want[queryParamName(i)]) == 0 {
				t.Errorf("%q: %s = %q, absent for url.ParseQuery", raw, queryParamName(i), got.values[i])
			}
		}
	})
}

func queryParamName(i int) string {
	if i >= qClick {
		return clickKinds[i-qClick]
	}
	return [...]string{"utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content"}[i]
}

func TestMendURL(t *testing.T) {
	const page = "https://shop.example.com/catalog/"
	// long pads a URL ending in tail to MaxURL bytes, the snippet's cut.
	long := func(tail string) string {
		return page + "?q=" + strings.Repeat("a", MaxURL-len(page)-3-len(tail)) + tail
	}
	for _, tt := range []struct{ in, want string }{
		{page + "%D0%9F%D1%80", page + "%D0%9F%D1%80"},
		{page + "%D0%9", page}, // the escape and the half of "П" before it
		{page + "%D0%9F%D1%8", page + "%D0%9F"},
		{page + "%D0%9F%", page + "%D0%9F"},
		{page + "%D", page},
		{page + "%", page},
		{page + "?off=50%", page + "?off=50"},
		{page + "#%e2%82%a", page + "#"}, // a cut in "€"
		{page + "%41%4", page + "%41"},
		{page + "%%", page},
		{page + "%CF%F0", page + "%CF%F0"}, // not cut: a windows-1251 "Пр" stays
		{page + "%zz", page + "%zz"},       // malformed before the end: ParsePageURL refuses it
		{page + "%z", page + "%z"},
		{long("%D0%9F"), long("%D0%9F")},
		{long("%D0"), long("%D0")[:MaxURL-3]},
		{long("%E2%82"), long("%E2%82")[:MaxURL-6]},
		{long("%F0%9F%98"), long("%F0%9F%98")[:MaxURL-9]},
		{long("%F0%9F%98%80"), long("%F0%9F%98%80")},
		{long("%FF"), long("%FF")},
		{long("%C0"), long("%C0")},                  // never the start of a character: left
		{long("%D0%D0"), long("%D0%D0")[:MaxURL-3]}, // one broken character goes, not the run before it
		{"https://a/%%D0%9", "https://a/"},
		{"", ""},
	} {
		if got := MendURL(tt.in); got != tt.want {
			t.Errorf("MendURL(…%q) = …%q, want …%q", tail(tt.in), tail(got), tail(tt.want))
		}
		if _, err := ParsePageURL("u", MendURL(tt.in)); err != nil && !strings.Contains(tt.in, "%z") && tt.in != "" {
			t.Errorf("ParsePageURL(MendURL(…%q)): %v", tail(tt.in), err)
		}
	}
}

func tail(s string) string { return s[max(0, len(s)-20):] }

// FuzzMendURL: MendURL drops only escapes off the end, never
// touches a URL ParsePageURL takes as it is unless it was cut, and a page
// URL cut anywhere after its host, as the snippet cuts it, is mended into
// one ParsePageURL takes.
func FuzzMendURL(f *testing.F) {
	for _, s := range []string{
		"https://shop.example.com/каталог", "https://shop.example.com/%D0%BA%D0%B0%D1%82?q=%E2%82%AC#%F0%9F%98%80",
		"https://shop.example.com/?off=50%", "http://[::1]:8080/%41", "https://shop.example.com/%zz", "%", "%%D0%9",
		"https://shop.example.com/?q=" + strings.Repeat("%D0%9F", 400),
	} {
		f.Add(s, 1<<20)
		f.Add(s, len(s)-2)
	}
	f.Fuzz(func(t *testing.T, s string, n int) {
		m := MendURL(s)
		if !strings.HasPrefix(s, m) || strings.Trim(s[len(m):], "%0123456789abcdefABCDEF") != "" {
			t.Fatalf("MendURL(%q) = %q: not it less escapes at the end", s, m)
		}
		if again := MendURL(m); again != m {
			t.Fatalf("MendURL(%q) = %q, then %q", s, m, again)
		}
		if strings.HasSuffix(m, "%") || len(m) >= 2 && m[len(m)-2] == '%' && isHex(m[len(m)-1]) {
			t.Fatalf("MendURL(%q) = %q ends in an incomplete escape", s, m)
		}
		u, err := ParsePageURL("u", s)
		if err != nil {
			return
		}
		if len(s) < MaxURL && !strings.HasSuffix(s, "%") && (len(s) < 2 || s[len(s)-2] != '%' || !isHex(s[len(s)-1])) && m != s {
			t.Fatalf("MendURL(%q) = %q, changed a URL that was not cut", s, m)
		}
		// The snippet's cut: at most n bytes, never half a character.
		origin := u.Scheme + "://" + u.Host
		if !strings.HasPrefix(s, origin) || n < len(origin) || n >= len(s) {
			return
		}
		c := s[:n]
		for !utf8.ValidString(c) {
			c = c[:len(c)-1]
		}
		if _, err := ParsePageURL("u", MendURL(c)); err != nil {
			t.Fatalf("%q cut to %q, mended to %q: %v", s, c, MendURL(c), err)
		}
	})
}
