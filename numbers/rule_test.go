package numbers

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func mustRule(t *testing.T, s string) Rule {
	t.Helper()
	r, err := ParseRule(s)
	if err != nil {
		t.Fatalf("ParseRule(%q): %v", s, err)
	}
	return r
}

func TestParseRuleCanonical(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"", ""},
		{"utm_source=yandex", "utm_source=yandex"},
		{"utm_medium=cpc&utm_source=Yandex", "utm_source=yandex&utm_medium=cpc"},
		{"channel=social|organic|social", "channel=organic|social"},
		{"click=GCLID|yclid|fbclid", "click=fbclid|gclid|yclid"},
		{"referrer=Google.com", "referrer=google.com"},
		{"landing=/Promo", "landing=/promo"},
		{"utm_campaign=spring+sale", "utm_campaign=spring+sale"},
		{"utm_campaign=spring%20sale", "utm_campaign=spring+sale"},
		{"utm_term=a%26b%7Cc%3Dd%2B%25", "utm_term=a%26b%7Cc%3Dd%2B%25"},
		{"utm_content=%D0%B2%D0%B5%D1%81%D0%BD%D0%B0", "utm_content=весна"},
		{"landing=/promo&referrer=ya.ru&channel=referral&click=yclid&utm_content=x&utm_term=y&utm_campaign=z&utm_medium=m&utm_source=s",
			"utm_source=s&utm_medium=m&utm_campaign=z&utm_term=y&utm_content=x&click=yclid&channel=referral&referrer=ya.ru&landing=/promo"},
	} {
		r := mustRule(t, c.in)
		if got := r.String(); got != c.want {
			t.Errorf("ParseRule(%q).String() = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestParseRuleErrors(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"utm_sauce=x", `unknown key "utm_sauce"`},
		{"utm_source", "want key=value"},
		{"utm_source=yandex&", "want key=value"},
		{"utm_source=", "empty value"},
		{"utm_source=a||b", "empty value"},
		{"utm_source=a&utm_source=b", "given twice"},
		{"channel=paid", "want one of ad, direct, organic, referral, social"},
		{"click=msclkid", "want one of fbclid, gclid, yclid"},
		{"referrer=https://google.com/", "want a domain"},
		{"referrer=.google.com", "want a domain"},
		{"landing=promo", "want a path prefix"},
		{"landing=/promo?x=1", "want a path prefix"},
		{"utm_source=%zz", "bad percent-encoding"},
		{"utm_source=%ff", "not UTF-8"},
		{"utm_source=a%0Ab", "control character"},
		{"utm_source=+x", "leading or trailing space"},
		{"utm_source=" + strings.Repeat("x", MaxRuleLen), "at most 1024"},
		{"utm_source=" + strings.Repeat("#", 400), "once escaped"},
	} {
		_, err := ParseRule(c.in)
		if !errors.Is(err, ErrRule) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("ParseRule(%.40q) error = %v, want one saying %q", c.in, err, c.want)
		}
	}
}

func TestRuleMatch(t *testing.T) {
	ad := Visit{UTMSource: "Yandex", UTMMedium: "CPC", UTMCampaign: "spring sale", Click: "yclid", Channel: "ad",
		Referrer: "https://www.yandex.ru/search?text=x", Landing: "https://shop.example/Promo/boots?utm_source=yandex"}
	organic := Visit{Channel: "organic", Referrer: "https://news.google.com:443/", Landing: "/catalog"}
	direct := Visit{Channel: "direct", Landing: "/"}
	for _, c := range []struct {
		rule  string
		visit Visit
		want  bool
	}{
		{"", direct, true},
		{"utm_source=yandex", ad, true},
		{"utm_source=yandex&utm_medium=cpc", ad, true},
		{"utm_source=yandex&utm_medium=email", ad, false},
		{"utm_source=google|yandex", ad, true},
		{"utm_source=yandex", organic, false},
		{"utm_campaign=spring+sale", ad, true},
		{"click=yclid", ad, true},
		{"click=gclid", ad, false},
		{"channel=ad", ad, true},
		{"channel=organic|social", organic, true},
		{"channel=organic", direct, false},
		{"referrer=yandex.ru", ad, true},
		{"referrer=google.com", organic, true},
		{"referrer=news.google.com", organic, true},
		{"referrer=ogle.com", organic, false},
		{"referrer=www.news.google.com", organic, false},
		{"referrer=google.com", direct, false},
		{"referrer=google.com", Visit{Referrer: "google.com"}, true},
		{"referrer=google.com", Visit{Referrer: "//user@GOOGLE.COM./x"}, true},
		{"landing=/promo", ad, true},
		{"landing=/promo/boots", ad, true},
		{"landing=/promo", organic, false},
		{"landing=/", direct, true},
		{"landing=/", Visit{Landing: "https://shop.example"}, true},
		{"landing=/promo", Visit{Landing: "/pro"}, false},
		// A browser sends a page's URL percent-encoded; the owner writes
		// the path as people read it (or encoded, in either case).
		{"landing=/акция", Visit{Landing: "https://shop.example/%D0%B0%D0%BA%D1%86%D0%B8%D1%8F/boots?utm_source=x"}, true},
		{"landing=/Акция", Visit{Landing: "https://shop.example/%d0%b0%d0%ba%d1%86%d0%b8%d1%8f"}, true},
		{"landing=/%D0%B0%D0%BA%D1%86%D0%B8%D1%8F", Visit{Landing: "https://shop.example/акция"}, true},
		{"landing=/акция", Visit{Landing: "https://shop.example/%D0%B0%D0%BA"}, false},
		{"landing=/a%25b", Visit{Landing: "https://shop.example/a%25b"}, true},
		{"landing=/a", Visit{Landing: "https://shop.example/%zz"}, false},
	} {
		if got := mustRule(t, c.rule).Match(c.visit); got != c.want {
			t.Errorf("%q.Match(%+v) = %v, want %v", c.rule, c.visit, got, c.want)
		}
	}
}

func TestChoose(t *testing.T) {
	visit := Visit{UTMSource: "yandex", UTMMedium: "cpc", Channel: "ad"}
	rank := func(rule string, priority int) Ranked { return Ranked{mustRule(t, rule), priority} }
	for _, c := range []struct {
		name  string
		rules []Ranked
		want  int
	}{
		{"none", nil, -1},
		{"no match", []Ranked{rank("utm_source=google", 0)}, -1},
		{"catch-all", []Ranked{rank("utm_source=google", 0), rank("", 0)}, 1},
		{"specific first", []Ranked{rank("utm_source=yandex", 0), rank("utm_source=yandex&utm_medium=cpc", 0), rank("", 0)}, 1},
		{"priority over specificity", []Ranked{rank("utm_source=yandex&utm_medium=cpc", 0), rank("channel=ad", 1)}, 1},
		{"stable on ties", []Ranked{rank("channel=ad", 2), rank("utm_source=yandex", 2)}, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := Choose(c.rules, visit); got != c.want {
				t.Fatalf("Choose = %d, want %d", got, c.want)
			}
		})
	}
	if got, want := mustRule(t, "utm_source=a|b&channel=ad").Specificity(), 2; got != want {
		t.Errorf("Specificity = %d, want %d", got, want)
	}
}

func FuzzParseRule(f *testing.F) {
	for _, s := range []string{
		"",
		"utm_source=yandex&utm_medium=cpc",
		"referrer=google.com",
		"channel=organic|social|referral|direct|ad",
		"click=gclid|yclid|fbclid",
		"landing=/promo",
		"utm_campaign=spring+sale&utm_term=a%26b&utm_content=%D0%B2",
		"utm_source=a=b#c",
		"utm_source=%C8%BA",
		"utm_source",
		"&&",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseRule(s)
		if err != nil {
			if !errors.Is(err, ErrRule) {
				t.Fatalf("ParseRule(%q) error %v does not wrap ErrRule", s, err)
			}
			return
		}
		canon := r.String()
		again, err := ParseRule(canon)
		if err != nil {
			t.Fatalf("ParseRule(%q) = %q, which does not parse: %v", s, canon, err)
		}
		if !reflect.DeepEqual(r, again) || again.String() != canon {
			t.Fatalf("ParseRule(%q) = %q, parses back as %q", s, canon, again.String())
		}
		r.Match(Visit{UTMSource: s, Referrer: s, Landing: s})
	})
}

func TestRuleValue(t *testing.T) {
	r := mustRule(t, "utm_source=Yandex&channel=ad|organic&landing=/promo")
	for _, tt := range []struct {
		key, want string
		ok        bool
	}{
		{"utm_source", "yandex", true},
		{"landing", "/promo", true},
		{"channel", "", false}, // two values
		{"utm_medium", "", false},
		{"nonsense", "", false},
	} {
		if got, ok := r.Value(tt.key); got != tt.want || ok != tt.ok {
			t.Errorf("Value(%q) = %q, %v; want %q, %v", tt.key, got, ok, tt.want, tt.ok)
		}
	}
}
