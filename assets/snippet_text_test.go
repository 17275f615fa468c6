package assets_test

import (
	"io/fs"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
)

var (
	textKey     = regexp.MustCompile(`(?m)^\s*(\w+):`)
	textLiteral = regexp.MustCompile(`"((?:[^"\\]|\\.)*)"`)
	latinWord   = regexp.MustCompile(`[A-Za-z]{2,}`)
)

// textWordsOK are the Latin words a Russian text of the widget keeps:
// the keys' names on a keyboard.
var textWordsOK = map[string]bool{"Enter": true, "Shift": true}

// The widget's own texts (the TEXT tables of the lead and callback forms
// and of the chat window, which the dashboard's catalog does not hold) say
// the same things in both languages, and the Russian ones are Russian: no
// English word a visitor would read ("email", "OK"), only a locale's name.
func TestWidgetTextsInBothLanguages(t *testing.T) {
	for _, file := range []string{"widget.js", "chat.js"} {
		b, err := fs.ReadFile(os.DirFS("snippet"), file)
		if err != nil {
			t.Fatal(err)
		}
		src := string(b)
		start := strings.Index(src, "var TEXT = {")
		ru := strings.Index(src[start:], "ru: {")
		en := strings.Index(src[start:], "en: {")
		end := strings.Index(src[start:], "\n  };")
		if end < 0 {
			end = strings.Index(src[start:], "\n};")
		}
		if start < 0 || ru < 0 || en < ru || end < en {
			t.Fatalf("%s: cannot find the TEXT table's ru and en parts", file)
		}
		ruPart, enPart := src[start+ru:start+en], src[start+en:start+end]
		keys := func(s string) []string {
			var out []string
			for _, m := range textKey.FindAllStringSubmatch(s, -1) {
				out = append(out, m[1])
			}
			return out
		}
		// Each part begins with its language's key (ru, en).
		if rk, ek := keys(ruPart)[1:], keys(enPart)[1:]; len(rk) < 15 || !slices.Equal(rk, ek) {
			t.Errorf("%s: ru has %v, en has %v", file, rk, ek)
		}
		rl, el := textLiteral.FindAllStringSubmatch(ruPart, -1), textLiteral.FindAllStringSubmatch(enPart, -1)
		if len(rl) != len(el) {
			t.Errorf("%s: ru has %d texts, en %d", file, len(rl), len(el))
		}
		for _, m := range rl {
			if m[1] == "ru-RU" {
				continue // the locale dates are written in
			}
			for _, w := range latinWord.FindAllString(m[1], -1) {
				if !textWordsOK[w] {
					t.Errorf("%s: the Russian text %q has the English word %q", file, m[1], w)
				}
			}
		}
	}
}
