package httpd

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"unicode"

	"golang.org/x/net/html"

	"appliance/assets"
	"appliance/httpd/i18n"
	"appliance/httpd/leads"
	"appliance/httpd/visits"
)

// notYetTranslated are the templates whose strings are still to move into
// the catalog; the list only shrinks.
var notYetTranslated = map[string]bool{}

// untranslatedOK are the texts of templates that are the same in every
// language: the product's name, the names of languages in themselves.
var untranslatedOK = map[string]bool{"appliance": true, "Русский": true, "English": true}

var (
	actionRE  = regexp.MustCompile(`(?s){{.*?}}`)
	catalogRE = regexp.MustCompile(`\b(t|th|tn)\s+("(?:[^"\\]|\\.)*"|` + "`[^`]*`" + `)`)
	// codeLike is a word no language translates: a URL, a host name, an
	// e-mail address, a query term (utm_source=yandex), a snake_case name
	// (utm_source), a duration (20m).
	codeLike = regexp.MustCompile(`^[\w.:/@?=&%+#-]*[./@=][\w.:/@?=&%+#-]*$|^[a-z0-9]+(_[a-z0-9]+)+$|^\d+[smhd]$`)
)

var verbRE = regexp.MustCompile(`%[\[\]0-9.+# -]*[a-zA-Z%]`)

// hasWords reports whether a message key has anything to translate
// besides its formatting verbs.
func hasWords(key string) bool {
	return strings.IndexFunc(verbRE.ReplaceAllString(key, ""), unicode.IsLetter) >= 0
}

// translatableAttrs are the attributes a user reads.
var translatableAttrs = map[string]bool{"placeholder": true, "title": true, "aria-label": true, "alt": true, "label": true}

func dashboardTemplates(t *testing.T) map[string]string {
	t.Helper()
	out := map[string]string{}
	names, err := fs.Glob(assets.FS, "dashboard/*.html")
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		b, err := fs.ReadFile(assets.FS, n)
		if err != nil {
			t.Fatal(err)
		}
		out[filepath.Base(n)] = string(b)
	}
	return out
}

// untranslated lists the texts of a template that a reader sees and that
// are written in it rather than taken from the catalog: text outside
// {{ }} with a letter in it, outside <code>, <pre>, <script> and <style>,
// and the readable attributes (placeholder, title...; a button's value).
func untranslated(src string) []string {
	z := html.NewTokenizer(strings.NewReader(actionRE.ReplaceAllString(src, "\x01")))
	var found []string
	skip := 0
	check := func(s string) {
		s = strings.TrimSpace(strings.ReplaceAll(s, "\x01", " "))
		for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == '\x01' }) {
			f = strings.TrimFunc(f, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsPunct(r) })
			if strings.IndexFunc(f, unicode.IsLetter) < 0 || untranslatedOK[f] || allCodeLike(f) {
				continue
			}
			found = append(found, f)
		}
	}
	for {
		switch z.Next() {
		case html.ErrorToken:
			return found
		case html.StartTagToken, html.SelfClosingTagToken:
			tok := z.Token()
			switch tok.Data {
			case "code", "pre", "script", "style":
				if tok.Type == html.StartTagToken {
					skip++
				}
			}
			isButton := tok.Data == "button" || tok.Data == "input" && attr(tok, "type") == "submit" || attr(tok, "type") == "button"
			for _, a := range tok.Attr {
				if translatableAttrs[a.Key] || a.Key == "value" && isButton && tok.Data == "input" {
					check(a.Val)
				}
			}
		case html.EndTagToken:
			switch z.Token().Data {
			case "code", "pre", "script", "style":
				skip--
			}
		case html.TextToken:
			if skip == 0 {
				check(string(z.Text()))
			}
		}
	}
}

// allCodeLike reports whether every word of s is codeLike.
func allCodeLike(s string) bool {
	for _, w := range strings.Fields(s) {
		if !codeLike.MatchString(w) {
			return false
		}
	}
	return true
}

func attr(tok html.Token, key string) string {
	for _, a := range tok.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

// TestTemplatesHaveNoUntranslatedText fails for a word written into a
// dashboard template instead of {{t "..."}}.
func TestTemplatesHaveNoUntranslatedText(t *testing.T) {
	for name, src := range dashboardTemplates(t) {
		got := untranslated(src)
		if notYetTranslated[name] {
			if len(got) == 0 {
				t.Errorf("%s is translated now: take it off notYetTranslated", name)
			}
			continue
		}
		for _, s := range got {
			t.Errorf("%s: %q is not in the catalog: write {{t %q}} and add it to httpd/i18n/ru/*.txt", name, s, s)
		}
	}
}

func TestUntranslatedFinds(t *testing.T) {
	for src, want := range map[string]string{
		`<p>Hello</p>`:                                              "Hello",
		`<p>{{t "Hello"}}</p>`:                                      "",
		`<p>{{.Name}} items</p>`:                                    "items",
		`<input placeholder="any">`:                                 "any",
		`<input placeholder="shop.example.com">`:                    "",
		`<input type="submit" value="Save">`:                        "Save",
		`<input type="hidden" name="a" value="site">`:               "",
		`<p><code>X-Appliance-Signature</code> {{t "is sent"}}</p>`: "",
		`<span title="{{.UserAgent}}">{{t "bot"}}</span>`:           "",
		`<a href="/x">appliance</a>`:                                "",
	} {
		if got := strings.Join(untranslated(src), "|"); got != want {
			t.Errorf("%s: found %q, want %q", src, got, want)
		}
	}
}

// catalogKeys are the message keys a template uses ({{t "..."}},
// {{th "..."}}, {{tn "..." n}}), with whether each is a plural.
func templateKeys(t *testing.T) map[string]bool {
	keys := map[string]bool{}
	for name, src := range dashboardTemplates(t) {
		for _, act := range actionRE.FindAllString(src, -1) {
			for _, m := range catalogRE.FindAllStringSubmatch(act, -1) {
				key, err := strconv.Unquote(m[2])
				if err != nil {
					t.Fatalf("%s: %s: %v", name, m[0], err)
				}
				keys[key] = keys[key] || m[1] == "tn"
			}
		}
	}
	return keys
}

// goKeys are the message keys this package's code passes to the
// catalog, where they are literals: the first argument of a Printer's T
// and N (tr.T("Saved.")); what render translates, a page's Title, Flash
// and Error; and in the dashboard's files (dash*.go, pages.go, roles.go)
// the format of errorf, which an error page shows translated.
func goKeys(t *testing.T) map[string]bool {
	keys := map[string]bool{}
	fset := token.NewFileSet()
	files, _ := filepath.Glob("*.go")
	mailFiles, _ := filepath.Glob("notice/*.go") // the notifications' words
	files = append(files, mailFiles...)
	literal := func(e ast.Expr) (string, bool) {
		lit, ok := e.(*ast.BasicLit)
		if !ok || lit.Kind != token.STRING {
			return "", false
		}
		key, err := strconv.Unquote(lit.Value)
		if err != nil {
			t.Fatalf("%s: %v", fset.Position(lit.Pos()), err)
		}
		return key, hasWords(key)
	}
	shown := map[string]bool{"Title": true, "Flash": true, "Error": true}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		dashboard := strings.HasPrefix(f, "dash") || f == "pages.go" || f == "roles.go"
		file, err := parser.ParseFile(fset, f, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(file, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.CallExpr:
				if sel, ok := n.Fun.(*ast.SelectorExpr); ok && (sel.Sel.Name == "T" || sel.Sel.Name == "N") && len(n.Args) > 0 {
					if key, ok := literal(n.Args[0]); ok {
						keys[key] = keys[key] || sel.Sel.Name == "N"
					}
				}
				if id, ok := n.Fun.(*ast.Ident); ok && dashboard && id.Name == "errorf" && len(n.Args) > 1 {
					if key, ok := literal(n.Args[1]); ok {
						keys[key] = keys[key] || false
					}
				}
			case *ast.KeyValueExpr:
				if id, ok := n.Key.(*ast.Ident); ok && shown[id.Name] {
					if key, ok := literal(n.Value); ok {
						keys[key] = keys[key] || false
					}
				}
			case *ast.AssignStmt:
				for i, lhs := range n.Lhs {
					if sel, ok := lhs.(*ast.SelectorExpr); ok && shown[sel.Sel.Name] && i < len(n.Rhs) {
						if key, ok := literal(n.Rhs[i]); ok {
							keys[key] = keys[key] || false
						}
					}
				}
			}
			return true
		})
	}
	return keys
}

// domainMessages are the messages the domain packages' errors show a
// dashboard user (the format of Kind.Errorf(format, ...) and the msg of
// their kinds, usererr.New), which an error or a form shows translated.
func domainMessages(t *testing.T) map[string]bool {
	keys := map[string]bool{}
	fset := token.NewFileSet()
	// The numbers' messages are shown on the numbers page; of the reports'
	// only the cost import's are (the rest answer the API, in English, as
	// the tracker's and the calls API's do).
	var files []string
	for _, pattern := range []string{"sites/*.go", "accounts/*.go", "webhooks/*.go", "callbacks/*.go", "leads/*.go", "chats/*.go", "notice/*.go",
		"../numbers/*.go", "../numbers/tracking/*.go", "reports/costs.go", "period/*.go"} {
		found, _ := filepath.Glob(pattern)
		files = append(files, found...)
	}
	for _, f := range files {
		if filepath.Base(f) == "calls.go" || strings.HasSuffix(f, "_test.go") {
			continue // the calls API's answer in English
		}
		file, err := parser.ParseFile(fset, f, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(file, func(n ast.Node) bool {
			var lit ast.Expr
			switch n := n.(type) {
			case *ast.CallExpr:
				if id, ok := n.Fun.(*ast.Ident); ok && id.Name == "invalid" && filepath.Dir(f) == "period" && len(n.Args) > 0 {
					lit = n.Args[0] // a report period's error: invalid(format, ...)
					break
				}
				sel, ok := n.Fun.(*ast.SelectorExpr)
				if !ok {
					break
				}
				x, _ := sel.X.(*ast.Ident)
				switch {
				case x != nil && strings.HasPrefix(x.Name, "Err") && sel.Sel.Name == "Errorf" && len(n.Args) > 0:
					lit = n.Args[0] // ErrInvalid.Errorf(format, ...)
				case x != nil && x.Name == "usererr" && sel.Sel.Name == "New" && len(n.Args) == 3:
					lit = n.Args[2] // a kind: usererr.New(pkg, status, msg)
				case x != nil && x.Name == "usererr" && (sel.Sel.Name == "P" || sel.Sel.Name == "Within") && len(n.Args) > 0:
					lit = n.Args[0] // a phrase, usererr.P(format, ...), or a context, usererr.Within("static number", err)
				}
			}
			if b, ok := lit.(*ast.BasicLit); ok && b.Kind == token.STRING {
				if key, err := strconv.Unquote(b.Value); err == nil && hasWords(key) {
					keys[key] = false
				}
			}
			return true
		})
	}
	if len(keys) == 0 {
		t.Fatal("found no domain messages: the scan is broken")
	}
	return keys
}

// TestChannelsTranslated: the channel names a table shows ({{t .Channel}})
// are in the catalog.
func TestChannelsTranslated(t *testing.T) {
	cat, err := i18n.Load()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range visits.Channels() {
		if _, ok := cat.Lookup(i18n.Ru, string(c)); !ok {
			t.Errorf("channel %q has no Russian name", c)
		}
	}
}

// TestLeadViasTranslated: the ways a lead came, which the leads page tags
// each lead with ({{t .Via}}), are in the catalog.
func TestLeadViasTranslated(t *testing.T) {
	cat, err := i18n.Load()
	if err != nil {
		t.Fatal(err)
	}
	for _, via := range []string{leads.ViaJS, leads.ViaServer, leads.ViaForm, leads.ViaChat, leads.ViaVisitorInfo} {
		if _, ok := cat.Lookup(i18n.Ru, via); !ok {
			t.Errorf("via %q has no Russian name", via)
		}
	}
}

// TestCatalogHasEveryKey: every message the templates and the handlers
// ask the catalog for is translated into Russian, and every plural has
// its English forms too.
func TestCatalogHasEveryKey(t *testing.T) {
	cat, err := i18n.Load()
	if err != nil {
		t.Fatal(err)
	}
	keys := templateKeys(t)
	for k := range domainMessages(t) {
		keys[k] = keys[k] || false
	}
	for k, plural := range goKeys(t) {
		keys[k] = keys[k] || plural
	}
	if len(keys) == 0 {
		t.Fatal("found no keys: the scan is broken")
	}
	for key, plural := range keys {
		if !hasWords(key) {
			continue // "%s": nothing to translate
		}
		for _, l := range i18n.Langs() {
			if l == i18n.En && !plural {
				continue
			}
			if _, ok := cat.Lookup(l, key); !ok {
				t.Errorf("%q has no %s translation", key, l)
			}
		}
	}
}

// isBidiControl reports whether r is one of the characters
// showBidiControls replaces.
func isBidiControl(r rune) bool {
	return r == '\u200e' || r == '\u200f' || r == '\u061c' || r >= '\u202a' && r <= '\u202e' || r >= '\u2066' && r <= '\u2069'
}

// TestNoBidiControlsInPages: the templates and the catalog hold no bidi
// control, so every one showBidiControls finds in a page came from what a
// visitor typed.
func TestNoBidiControlsInPages(t *testing.T) {
	files := dashboardTemplates(t)
	txt, _ := filepath.Glob("i18n/*/*.txt")
	if len(txt) == 0 {
		t.Fatal("no catalog files found")
	}
	for _, name := range txt {
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		files[name] = string(b)
	}
	for name, text := range files {
		if i := strings.IndexFunc(text, isBidiControl); i >= 0 {
			t.Errorf("%s holds a bidi control at byte %d", name, i)
		}
	}
}

// showBidiControls replaces exactly the bidi controls, each with U+FFFD,
// and leaves the rest of the page as it was.
func TestShowBidiControls(t *testing.T) {
	var all strings.Builder
	for r := rune(0x2000); r <= 0x2070; r++ {
		all.WriteRune(r)
	}
	got := string(showBidiControls([]byte("<td>" + all.String() + "Иван\u202e+7 916\u200f123</td>")))
	var want strings.Builder
	for r := rune(0x2000); r <= 0x2070; r++ {
		if isBidiControl(r) {
			want.WriteRune('\ufffd')
		} else {
			want.WriteRune(r)
		}
	}
	if w := "<td>" + want.String() + "Иван\ufffd+7 916\ufffd123</td>"; got != w {
		t.Errorf("got  %q\nwant %q", got, w)
	}
	// The Arabic letter mark is two bytes, U+FFFD three: the page grows.
	if got, want := string(showBidiControls([]byte("<td>a\u061cb\u061c</td><i>\u202e</i>"))), "<td>a\ufffdb\ufffd</td><i>\ufffd</i>"; got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
	// What a form sends back stays as it was: a field's value, a hidden
	// field, a textarea's content; the text around them does not, nor
	// does an attribute a browser shows as text (a tooltip).
	form := `<form><input type="hidden" name="pool" value="Ads` + "\u202e\u061c" + `"><input value='a` + "\u2066" + `b>'>` +
		`<textarea name="canned">hi` + "\u200f" + `</textarea><td title="x>y">e` + "\u202e" + `f</td>` +
		`<div class="clamp" title="https://shop.example/sale` + "\u202e" + `gpj.exe"><img alt='` + "\u2067\u061c" + `' data-v="` + "\u2068" + `"></form>`
	wantForm := strings.NewReplacer("e\u202ef", "e\ufffdf", "sale\u202egpj", "sale\ufffdgpj", "'\u2067\u061c'", "'\ufffd\ufffd'").Replace(form)
	if got := string(showBidiControls([]byte(form))); got != wantForm {
		t.Errorf("a form: got  %q\nwant %q", got, wantForm)
	}
}

// FuzzShowBidiControls: whatever a page holds, showBidiControls does not
// panic, and text outside any tag (no "<") comes out with every bidi
// control, and nothing else, replaced by U+FFFD.
func FuzzShowBidiControls(f *testing.F) {
	for _, seed := range []string{"", "a\u202eb", "\u061c", "\xd8", "\xe2\x80", "<", "<td title=\"\u202e\">\u2066</td>", "<textarea>\u202e", "<a b='\u061c", "=\"\u200e\""} {
		f.Add(seed)
	}
	var controls []string
	for r := rune(0); r <= 0x2100; r++ {
		if isBidiControl(r) {
			controls = append(controls, string(r), "\ufffd")
		}
	}
	text := strings.NewReplacer(controls...)
	f.Fuzz(func(t *testing.T, page string) {
		got := string(showBidiControls([]byte(page)))
		if !strings.Contains(page, "<") {
			if want := text.Replace(page); got != want {
				t.Errorf("showBidiControls(%q) = %q, want %q", page, got, want)
			}
		}
	})
}

// TestScopesTranslated: what each API scope allows, which the token form
// shows ({{t .Does}}), is in the catalog, and no scope is left without.
func TestScopesTranslated(t *testing.T) {
	cat, err := i18n.Load()
	if err != nil {
		t.Fatal(err)
	}
	for sc := scopeCalls; int(sc) < len(scopeNames); sc++ {
		does := scopeDoes[sc]
		if does == "" {
			t.Errorf("scope %s: no text in scopeDoes", sc)
			continue
		}
		if _, ok := cat.Lookup(i18n.Ru, does); !ok {
			t.Errorf("scope %s: %q has no Russian translation", sc, does)
		}
	}
}

// copyButtonRE is a template's copy button: dashboard.js copies the text
// of its data-target and then shows its data-copied for a moment.
var copyButtonRE = regexp.MustCompile(`<[a-z]+\s[^>]*\bdata-target="[^"]*"[^>]*>`)

// TestCopyButtonsSayCopiedInTheReadersLanguage: every copy button carries
// the word it shows once it has copied, from the catalog; without it
// dashboard.js shows its English fallback, "Copied", on a Russian page.
func TestCopyButtonsSayCopiedInTheReadersLanguage(t *testing.T) {
	n := 0
	for name, src := range dashboardTemplates(t) {
		for _, b := range copyButtonRE.FindAllString(src, -1) {
			n++
			if !strings.Contains(b, `data-copied="{{t "Copied"}}"`) {
				t.Errorf("%s: %s has no data-copied=\"{{t \"Copied\"}}\"", name, b)
			}
		}
	}
	if n == 0 {
		t.Fatal("found no copy button: the scan is broken")
	}
}

// consoleCodeRE finds the result codes an operator's console can be sent
// in an error frame: a chats error's (WithCode) and a frame's own.
var consoleCodeRE = regexp.MustCompile(`WithCode\("([a-z_]+)"\)|\b[cC]ode: "([a-z_]+)"`)

// TestConsoleSaysEveryErrorInItsLanguage: every error code the chat
// socket can send the operator console has its words in the console's
// texts (consoleText), so the console never falls back to the server's
// English message.
func TestConsoleSaysEveryErrorInItsLanguage(t *testing.T) {
	cat, err := i18n.Load()
	if err != nil {
		t.Fatal(err)
	}
	said := consoleText(cat.For(i18n.Ru))["errors"].(map[string]string)
	files, _ := filepath.Glob("chats/*.go")
	files = append(files, "chat_console.go", "chat_frames.go")
	codes := 0
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range consoleCodeRE.FindAllStringSubmatch(string(b), -1) {
			code := m[1] + m[2]
			codes++
			if said[code] == "" {
				t.Errorf("%s: the console has no words for the error code %q: add it to consoleText's errors", f, code)
			}
		}
	}
	if codes < 5 {
		t.Fatalf("found %d codes: the scan is broken", codes)
	}
}
