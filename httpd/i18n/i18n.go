// Package i18n is the dashboard's message catalog: every text a dashboard
// page or handler shows, in English and Russian, with plural forms chosen
// by the CLDR rules of the language (1 звонок, 2 звонка, 5 звонков,
// 11 звонков, 21 звонок), and numbers and dates written as the language
// writes them (1 234,5 and 01.12.2026 in Russian).
//
// A message's key is its English text, so a template reads as the page it
// makes: {{t "Calls"}}, {{t "Showing the newest %d." .Max}}, {{tn "%d call"
// .N}}. The translations live in text files, one set per language
// (ru/*.txt; en/*.txt holds only English plurals), each area of the
// dashboard in its own file:
//
//	# a comment
//	Calls
//	Звонки
//
//	%d call
//	%d звонок | %d звонка | %d звонков
//
// An entry is a key line and a translation line; entries are separated by
// blank lines. A plural's translation lists its forms, " | " between them,
// in the order of the language's CLDR forms (Russian: one, few, many;
// English: one, other). A key missing from a language shows as the English
// text; the package's tests and httpd's template test keep that from
// happening.
package i18n

import (
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"path"
	"reflect"
	"strings"
	"time"

	"golang.org/x/text/feature/plural"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
	"golang.org/x/text/number"
)

// Lang is a language of the dashboard.
type Lang string

// The dashboard's languages; English is the default.
const (
	En Lang = "en"
	Ru Lang = "ru"
)

// Langs lists the dashboard's languages in the order the header offers them.
func Langs() []Lang { return []Lang{Ru, En} }

// Name is the language's name in itself, for the language switch.
func (l Lang) Name() string {
	if l == Ru {
		return "Русский"
	}
	return "English"
}

func (l Lang) tag() language.Tag {
	if l == Ru {
		return language.Russian
	}
	return language.English
}

// Parse returns the dashboard language s names ("ru", "RU", "ru-RU",
// "en-GB"); ok is false for any other language.
func Parse(s string) (l Lang, ok bool) {
	base, _, _ := strings.Cut(strings.ToLower(strings.TrimSpace(s)), "-")
	base, _, _ = strings.Cut(base, "_")
	switch base {
	case "ru":
		return Ru, true
	case "en":
		return En, true
	}
	return En, false
}

// FromAcceptLanguage is the dashboard language a browser asks for in its
// Accept-Language header, by the header's preferences (q values): the
// first it ranks that the dashboard speaks; English when it asks for
// neither or the header is malformed.
func FromAcceptLanguage(header string) Lang {
	if len(header) > 1024 { // longer than any browser sends; not worth parsing
		header = header[:1024]
	}
	tags, _, err := language.ParseAcceptLanguage(header)
	if err != nil {
		return En
	}
	for _, t := range tags {
		base, _ := t.Base()
		if l, ok := Parse(base.String()); ok {
			return l
		}
	}
	return En
}

// Catalog holds every language's messages. It is read-only once loaded and
// safe for concurrent use.
type Catalog struct {
	msgs map[Lang]map[string]string
}

// catalogFiles are the translations, one directory per language.
//
//go:embed ru/*.txt en/*.txt
var catalogFiles embed.FS

// Load parses the embedded translations.
func Load() (*Catalog, error) { return loadFS(catalogFiles) }

func loadFS(fsys fs.FS) (*Catalog, error) {
	c := &Catalog{msgs: map[Lang]map[string]string{}}
	for _, l := range Langs() {
		c.msgs[l] = map[string]string{}
		files, err := fs.Glob(fsys, string(l)+"/*.txt")
		if err != nil {
			return nil, fmt.Errorf("load catalog %s: %w", l, err)
		}
		for _, name := range files {
			b, err := fs.ReadFile(fsys, name)
			if err != nil {
				return nil, fmt.Errorf("load catalog: %w", err)
			}
			if err := parseFile(c.msgs[l], path.Base(name), string(b)); err != nil {
				return nil, fmt.Errorf("load catalog %s: %w", l, err)
			}
		}
	}
	return c, nil
}

// parseFile adds the entries of one catalog file to msgs.
func parseFile(msgs map[string]string, name, text string) error {
	var key string
	haveKey := false
	for i, line := range strings.Split(text, "\n") {
		line = strings.TrimRight(line, "\r")
		switch {
		case strings.HasPrefix(line, "#"):
		case strings.TrimSpace(line) == "":
			if haveKey {
				return fmt.Errorf("%s:%d: %q has no translation", name, i, key)
			}
		case !haveKey:
			key, haveKey = line, true
		default:
			// Two areas may both need a word ("Remove"): the same
			// translation twice is fine, two different ones are not.
			if prev, dup := msgs[key]; dup && prev != line {
				return fmt.Errorf("%s:%d: %q is translated twice, differently: %q and %q", name, i, key, prev, line)
			}
			msgs[key], haveKey = line, false
			key = ""
		}
	}
	if haveKey {
		return fmt.Errorf("%s: %q has no translation", name, key)
	}
	return nil
}

// Lookup is language l's own entry for key: for English only plurals
// have one (every other English message is its key).
func (c *Catalog) Lookup(l Lang, key string) (string, bool) {
	msg, ok := c.msgs[l][key]
	return msg, ok
}

// Keys lists the keys of language l's catalog.
func (c *Catalog) Keys(l Lang) []string {
	keys := make([]string, 0, len(c.msgs[l]))
	for k := range c.msgs[l] {
		keys = append(keys, k)
	}
	return keys
}

// Printer writes the messages, numbers and dates of one language. The
// zero Printer is English without translations.
type Printer struct {
	Lang Lang
	msgs map[string]string
	num  *message.Printer
}

// For is the Printer of language l.
func (c *Catalog) For(l Lang) Printer {
	if l != Ru {
		l = En
	}
	return Printer{Lang: l, msgs: c.msgs[l], num: message.NewPrinter(l.tag())}
}

// T is the message key in the printer's language, formatted with args as
// fmt.Sprintf does when there are any (use explicit indexes, %[2]s, where
// a translation orders the arguments differently).
func (p Printer) T(key string, args ...any) string {
	msg, ok := p.msgs[key]
	if !ok {
		msg = key
	}
	if len(args) == 0 {
		return msg
	}
	return fmt.Sprintf(msg, args...)
}

// N is the plural message key chosen for the count n, formatted with n
// followed by args: N("%d call", 21) is "21 calls", in Russian
// "21 звонок". Key is the English singular; each language's catalog lists
// its forms.
func (p Printer) N(key string, n int, args ...any) string {
	msg, ok := p.msgs[key]
	if !ok {
		msg = key
	}
	forms := strings.Split(msg, " | ")
	msg = forms[0]
	if i := p.formIndex(n); i < len(forms) {
		msg = forms[i]
	}
	return fmt.Sprintf(msg, append([]any{n}, args...)...)
}

// PluralForms is how many plural forms the language's catalog lists.
func (l Lang) PluralForms() int {
	if l == Ru {
		return 3
	}
	return 2
}

// formIndex is the position of n's plural form among the language's forms:
// Russian one, few, many; English one, other.
func (p Printer) formIndex(n int) int {
	if n < 0 {
		n = -n
	}
	form := plural.Cardinal.MatchPlural(p.Lang.tag(), n, 0, 0, 0, 0)
	if p.Lang == Ru {
		switch form {
		case plural.One:
			return 0
		case plural.Few:
			return 1
		}
		return 2
	}
	if form == plural.One {
		return 0
	}
	return 1
}

// Num writes a number (any integer or float) as the language does: 1,234.5
// in English, 1 234,5 in Russian.
func (p Printer) Num(v any) string {
	if p.num == nil {
		return fmt.Sprint(v)
	}
	return p.num.Sprint(number.Decimal(v, number.MaxFractionDigits(2)))
}

// Money writes an amount in roubles: 1 234,5 ₽ in Russian, ₽1,234.5 in
// English.
func (p Printer) Money(v any) string {
	if p.Lang == Ru {
		return p.Num(v) + "\u00a0₽"
	}
	return "₽" + p.Num(v)
}

// Date writes t's day: 01.12.2026 in Russian, 2026-12-01 in English.
func (p Printer) Date(t time.Time) string {
	if p.Lang == Ru {
		return t.Format("02.01.2006")
	}
	return t.Format(time.DateOnly)
}

// DateTime writes t to the second: 01.12.2026 15:04:05 in Russian,
// 2026-12-01 15:04:05 in English.
func (p Printer) DateTime(t time.Time) string {
	if p.Lang == Ru {
		return t.Format("02.01.2006 15:04:05")
	}
	return t.Format(time.DateTime)
}

// keyOf is a template's message key: a string, or a value of a string
// type ({{t .Channel}} of a visits.Channel).
func keyOf(key any) (string, error) {
	if v := reflect.ValueOf(key); v.Kind() == reflect.String {
		return v.String(), nil
	}
	return "", fmt.Errorf("t: the key %v is not text", key)
}

// indirect replaces each non-nil pointer in args with what it points to,
// as a template prints {{.GroupID}} of a *uint64.
func indirect(args []any) []any {
	for i, a := range args {
		if v := reflect.ValueOf(a); v.Kind() == reflect.Pointer && !v.IsNil() {
			args[i] = v.Elem().Interface()
		}
	}
	return args
}

// Funcs are the template functions of the printer's language:
//
//	{{t "Calls"}}                     a message
//	{{t "Showing the newest %d." .N}} a message with arguments
//	{{th "Paste it in <code>head</code>."}} a message with markup (the
//	                                  catalog's; the arguments are escaped)
//	{{tn "%d call" .N}}               a plural
//	{{num .N}} {{money .Cost}} {{date .T}} {{datetime .T}}
//	{{lang}}                          "ru" or "en"
func (p Printer) Funcs() template.FuncMap {
	return template.FuncMap{
		"t": func(key any, args ...any) (string, error) {
			k, err := keyOf(key)
			return p.T(k, indirect(args)...), err
		},
		"tn": func(key string, n any, args ...any) (string, error) {
			v := reflect.ValueOf(indirect([]any{n})[0])
			switch {
			case v.CanInt():
				return p.N(key, int(v.Int()), indirect(args)...), nil
			case v.CanUint():
				return p.N(key, int(v.Uint()), indirect(args)...), nil
			}
			return "", fmt.Errorf("tn %q: the count %v is not an integer", key, n)
		},
		"th": func(key string, args ...any) template.HTML {
			for i, a := range indirect(args) {
				if _, ok := a.(template.HTML); !ok {
					args[i] = template.HTMLEscapeString(fmt.Sprint(a))
				}
			}
			return template.HTML(p.T(key, args...))
		},
		"num":      p.Num,
		"money":    p.Money,
		"date":     p.Date,
		"datetime": p.DateTime,
		"lang":     func() string { return string(p.Lang) },
	}
}
