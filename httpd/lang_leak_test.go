package httpd_test

import (
	"net/http"
	"regexp"
	"sort"
	"strings"
	"testing"

	"golang.org/x/net/html"

	"appliance/httpd"
	"appliance/httpd/accounts"
	"appliance/httpd/httpdtest"
	"appliance/httpd/i18n"
	"appliance/httpd/notice"
	"appliance/httpd/notice/mailtest"
)

var (
	latinWordRE = regexp.MustCompile(`[A-Za-z]{3,}`)
	isoDateRE   = regexp.MustCompile(`\b(19|20)\d\d-\d\d-\d\d\b`)
	catalogTag  = regexp.MustCompile(`(?s)<code>.*?</code>|<[^>]*>|%(\[\d+\])?[-+# 0-9.]*[a-zA-Z]`)
)

// englishLeakWords are the words of the catalog's English messages that no
// Russian message uses: a Russian page showing one shows an English
// message ("Saved.", "no such chat") where a translation belongs. A word
// Russian text keeps too (Telegram, API, Enter) is not one of them.
func englishLeakWords(t *testing.T) map[string]bool {
	t.Helper()
	cat, err := i18n.Load()
	if err != nil {
		t.Fatal(err)
	}
	en, ru := map[string]bool{}, map[string]bool{}
	for _, key := range cat.Keys(i18n.Ru) {
		for _, w := range latinWordRE.FindAllString(catalogTag.ReplaceAllString(key, " "), -1) {
			en[strings.ToLower(w)] = true
		}
		msg, _ := cat.Lookup(i18n.Ru, key)
		for _, f := range strings.Fields(catalogTag.ReplaceAllString(msg, " ")) {
			if codeWord(f) {
				continue // this_month, --smtp, a URL: not a word of the text
			}
			for _, w := range latinWordRE.FindAllString(f, -1) {
				ru[strings.ToLower(w)] = true
			}
		}
	}
	for w := range ru {
		delete(en, w)
	}
	// A role's name is in Russian wherever a page names it, though the
	// messages that list the API's values (owner, manager or operator)
	// keep it.
	for _, r := range []string{accounts.RoleOwner, accounts.RoleManager, accounts.RoleOperator} {
		en[r] = true
	}
	if len(en) < 500 {
		t.Fatalf("only %d English words in the catalog: the scan is broken", len(en))
	}
	return en
}

// sweepEnglishOK are the English texts of the sweep's fixture, typed by
// its visitors and users (a site's name, a lead's fields, an event's
// category, a page's title, a token's name): data, not the dashboard's words; and the
// language switch's "English".
var sweepEnglishOK = regexp.MustCompile(`\b(Second shop|not a number|not an email|Ann|pbx|English)\b|^\s*(form|Page)\s*$`)

// englishIn lists the English words of the catalog, and the dates
// written the English way (2026-12-05, not 05.12.2026), that a page shows a
// reader: in its text outside code, scripts and form fields' values, and
// in the attributes read out or shown (title, placeholder, aria-label,
// alt).
func englishIn(page string, leak map[string]bool) []string {
	z := html.NewTokenizer(strings.NewReader(page))
	var found []string
	seen := map[string]bool{}
	check := func(s string) {
		s = sweepEnglishOK.ReplaceAllString(s, " ")
		for _, f := range strings.Fields(s) {
			if isoDateRE.MatchString(f) && !strings.ContainsAny(f, "/=") && !seen[f] {
				seen[f] = true // a date as English writes it: 2026-12-05
				found = append(found, f+" (in "+strings.Join(strings.Fields(s), " ")+")")
			}
			if codeWord(f) {
				continue // a URL, an address, a host, a query, a slug: code
			}
			for _, w := range latinWordRE.FindAllString(f, -1) {
				if leak[strings.ToLower(w)] && !seen[w] {
					seen[w] = true
					found = append(found, w+" (in "+strings.Join(strings.Fields(s), " ")+")")
				}
			}
		}
	}
	skip := 0
	for {
		switch z.Next() {
		case html.ErrorToken:
			return found
		case html.StartTagToken, html.SelfClosingTagToken:
			tok := z.Token()
			switch tok.Data {
			case "code", "pre", "script", "style", "textarea", "kbd", "samp":
				if tok.Type == html.StartTagToken {
					skip++
				}
			}
			for _, a := range tok.Attr {
				switch a.Key {
				case "title", "placeholder", "aria-label", "alt":
					check(a.Val)
				}
			}
		case html.EndTagToken:
			switch z.Token().Data {
			case "code", "pre", "script", "style", "textarea", "kbd", "samp":
				skip--
			}
		case html.TextToken:
			if skip == 0 {
				check(string(z.Text()))
			}
		}
	}
}

// codeWord reports whether a word of a text is code rather than a word:
// a URL, an address, a host, a query, a slug, a flag.
func codeWord(f string) bool {
	return strings.ContainsAny(strings.Trim(f, ".,;:!?()«»\"'"), "/@=_.:#-")
}

// TestRussianPagesHaveNoEnglish walks every dashboard page, with the
// sweep's fixture, as a browser asking for Russian, and fails on an
// English message on it: a text that skipped the catalog, an error a
// handler wrote in English, a key the catalog lacks.
func TestRussianPagesHaveNoEnglish(t *testing.T) {
	leak := englishLeakWords(t)
	// The check can fail: an English flash and an untranslated button.
	if got := englishIn(`<main><p role="status">Saved.</p><button title="Remove this site">Удалить</button><code>no such chat</code><a href="https://shop.example/saved">shop.example</a></main>`, leak); len(got) != 4 {
		t.Errorf("on a page made to fail, found %q; want Saved, Remove, this, site", got)
	}

	relay := mailtest.Start(t)
	srv := httpdtest.Start(t, httpdtest.AllowPrivate, func(o *httpd.Options) {
		o.Mail = notice.Options{URL: relay.URL(), From: "noreply@shop.example"}
	})
	key := sweepFixture(t, srv)
	client := srv.Client(t)
	var urls []string
	for _, route := range srv.HTTP.DashboardPages() {
		if u, ok := sweepURLs[route]; ok {
			if u == "" || strings.Contains(u, "RESET") || strings.Contains(u, "UNSUB") {
				continue
			}
			urls = append(urls, strings.ReplaceAll(strings.ReplaceAll(u, "VISITOR", sweepVisitor(t, srv, key)), "KEY", key))
			continue
		}
		u := strings.Replace(route, "/sites/*", "/sites/"+key, 1)
		if !strings.Contains(u, "*") {
			urls = append(urls, u)
		}
	}
	for _, u := range sweepExtra {
		urls = append(urls, strings.ReplaceAll(u, "KEY", key))
	}
	token, _, err := accounts.New(srv.DB).RequestReset(t.Context(), "owner@example.com")
	if err != nil {
		t.Fatal(err)
	}
	urls = append(urls, "/reset?token="+token, "/reset?token=no-such-token", "/invite?token=no-such-token")
	// Pages a mistyped address or filter makes: their errors, in Russian.
	for _, u := range []string{"/visitors/999999", "/visitors/abc", "/reports?from=yesterday", "/reports?to=2026-13-45",
		"/reports?model=linear", "/reports?by=colour", "/reports/devices/export?by=colour", "/leads?status=lost", "/leads?sale=maybe",
		"/callbacks?state=lost", "/search?q=" + strings.Repeat("9", 600), "/chats?q=" + strings.Repeat("x", 600), "/no-such-page"} {
		urls = append(urls, "/sites/"+key+u)
	}
	sort.Strings(urls)
	pages := 0
	// The owner sees every page; an operator, most of them as a refusal
	// that names their role.
	operator := signInAs(t, srv, accounts.RoleOperator)
	for _, who := range []struct {
		name   string
		client *http.Client
	}{{"owner", client}, {"operator", operator}} {
		for _, u := range urls {
			status, body := getPageIn(t, who.client, srv.URL+strings.TrimPrefix(u, "/"), "ru-RU,ru;q=0.9,en;q=0.8")
			if !strings.Contains(body, `<html lang="ru"`) {
				continue // not a page: JSON, a file, a redirect's body
			}
			pages++
			for _, w := range englishIn(body, leak) {
				t.Errorf("%s (%s, %d): English in Russian: %s", u, who.name, status, w)
			}
		}
	}
	if pages < 30 {
		t.Fatalf("only %d Russian pages walked: %v", pages, urls)
	}
	t.Logf("%d Russian pages walked", pages)
}
