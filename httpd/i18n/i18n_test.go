package i18n

import (
	"html/template"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
	"time"
)

func load(t *testing.T) *Catalog {
	t.Helper()
	c, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestRussianPlurals(t *testing.T) {
	ru := load(t).For(Ru)
	for n, want := range map[int]string{
		0: "0 звонков", 1: "1 звонок", 2: "2 звонка", 4: "4 звонка", 5: "5 звонков", 11: "11 звонков",
		12: "12 звонков", 14: "14 звонков", 21: "21 звонок", 22: "22 звонка", 25: "25 звонков",
		101: "101 звонок", 111: "111 звонков",
	} {
		if got := ru.N("%d call", n); got != want {
			t.Errorf("N(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestEnglishPlurals(t *testing.T) {
	en := load(t).For(En)
	for n, want := range map[int]string{0: "0 calls", 1: "1 call", 2: "2 calls", 21: "21 calls"} {
		if got := en.N("%d call", n); got != want {
			t.Errorf("N(%d) = %q, want %q", n, got, want)
		}
	}
}

// TestPluralsHaveEveryForm: each plural key lists as many forms as its
// language has, in both languages.
func TestPluralsHaveEveryForm(t *testing.T) {
	c := load(t)
	for _, key := range c.Keys(En) {
		for _, l := range Langs() {
			msg, ok := c.msgs[l][key]
			if !ok {
				t.Errorf("plural %q has no %s forms", key, l)
				continue
			}
			if got := len(strings.Split(msg, " | ")); got != l.PluralForms() {
				t.Errorf("plural %q in %s has %d forms, want %d", key, l, got, l.PluralForms())
			}
		}
	}
	for _, key := range c.Keys(Ru) {
		if strings.Contains(c.msgs[Ru][key], " | ") {
			if _, ok := c.msgs[En][key]; !ok {
				t.Errorf("Russian plural %q has no English forms in en/*.txt", key)
			}
		}
	}
}

// TestTranslationsKeepVerbs: a translation formats the same arguments as
// its key, so no page shows %!d(MISSING).
func TestTranslationsKeepVerbs(t *testing.T) {
	c := load(t)
	for _, key := range c.Keys(Ru) {
		for _, form := range strings.Split(c.msgs[Ru][key], " | ") {
			if got, want := verbs(form), verbs(key); got != want {
				t.Errorf("%q → %q: verbs %q, want %q", key, form, got, want)
			}
		}
	}
}

// verbs is the sorted multiset of a format's verbs, ignoring explicit
// indexes.
func verbs(format string) string {
	var vs []string
	for i := 0; i < len(format)-1; i++ {
		if format[i] != '%' {
			continue
		}
		j := i + 1
		for j < len(format) && strings.ContainsRune("[]0123456789.+-# ", rune(format[j])) {
			j++
		}
		if j < len(format) {
			vs = append(vs, string(format[j]))
		}
		i = j
	}
	slices.Sort(vs)
	return strings.Join(vs, "")
}

func TestFormats(t *testing.T) {
	c := load(t)
	ru, en := c.For(Ru), c.For(En)
	day := time.Date(2026, 12, 1, 15, 4, 5, 0, time.UTC)
	for _, tc := range []struct{ got, want string }{
		{ru.Num(1234.5), "1\u00a0234,5"},
		{en.Num(1234.5), "1,234.5"},
		{ru.Num(1234567), "1\u00a0234\u00a0567"},
		{ru.Money(1234.5), "1\u00a0234,5\u00a0₽"},
		{ru.Date(day), "01.12.2026"},
		{en.Date(day), "2026-12-01"},
		{ru.DateTime(day), "01.12.2026 15:04:05"},
		{ru.T("%d call"), "%d звонок | %d звонка | %d звонков"},
		{en.T("No such key %d", 3), "No such key 3"},
	} {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
}

// channel is a string type, as visits.Channel: {{t .K}} takes it.
type channel string

func TestTemplateFuncs(t *testing.T) {
	c := load(t)
	c.msgs[Ru]["Hello <b>%s</b>"] = "Привет, <b>%s</b>"
	tmpl := template.Must(template.New("").Funcs(c.For(En).Funcs()).Parse(`<p lang="{{lang}}">{{th "Hello <b>%s</b>" .S}} {{tn "%d call" 22}} {{t .K}}</p>`))
	var b strings.Builder
	if err := tmpl.Funcs(c.For(Ru).Funcs()).Execute(&b, struct {
		S string
		K channel
	}{"<i>x</i>", "Sites"}); err != nil {
		t.Fatal(err)
	}
	if got, want := b.String(), `<p lang="ru">Привет, <b>&lt;i&gt;x&lt;/i&gt;</b> 22 звонка Сайты</p>`; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
}

func TestParseFile(t *testing.T) {
	for _, tc := range []struct {
		text string
		ok   bool
	}{
		{"# c\nA\nА\n\nB\nБ\n", true},
		{"A\nА\nB\nБ", true},
		{"A\n\nА\n", false},
		{"A\nА\n\nA\nА2\n", false},
		{"A\nА\n\nA\nА\n", true},
		{"A\n", false},
	} {
		_, err := loadFS(fstest.MapFS{"ru/x.txt": {Data: []byte(tc.text)}, "en/x.txt": {Data: []byte("")}})
		if (err == nil) != tc.ok {
			t.Errorf("%q: err %v, want ok %v", tc.text, err, tc.ok)
		}
	}
}

func TestFromAcceptLanguage(t *testing.T) {
	for h, want := range map[string]Lang{
		"":                                    En,
		"ru-RU,ru;q=0.9,en-US;q=0.8,en;q=0.7": Ru,
		"en-US,en;q=0.9,ru;q=0.8":             En,
		"de-DE,ru;q=0.5":                      Ru,
		"de, fr":                              En,
		"en;q=0.1, ru;q=0.9":                  Ru,
		"ru_RU":                               Ru,
		";;;,,":                               En,
	} {
		if got := FromAcceptLanguage(h); got != want {
			t.Errorf("%q: got %s, want %s", h, got, want)
		}
	}
}

func FuzzFromAcceptLanguage(f *testing.F) {
	for _, s := range []string{"", "ru-RU,ru;q=0.9", "en;q=0.1, ru;q=0.9", "*", "x-klingon;q=2", "ru;q=", ",,;q=0.5"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, h string) {
		if l := FromAcceptLanguage(h); l != En && l != Ru {
			t.Fatalf("%q: %q", h, l)
		}
	})
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"ru", "EN-gb", "", "-", "ru_RU"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		l, ok := Parse(s)
		if l != En && l != Ru || ok && !strings.HasPrefix(strings.ToLower(strings.TrimSpace(s)), string(l)) {
			t.Fatalf("%q: %q %v", s, l, ok)
		}
	})
}
