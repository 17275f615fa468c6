package httpd_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"appliance/httpd/accounts"
)

// A lead sent from a crawler's visit by a visitor with no person's visit
// before it is counted by the reports as direct (a crawler's session is
// never credited): the card says so, and does not leave the crawler's
// source standing as where the lead counts.
func TestVisitorCardCrawlerLeadCountsAsDirect(t *testing.T) {
	f := newTrFixture(t, true)
	const crawler = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
	b := f.hitUA(t, crawler, "", "https://shop.example.com/promo?utm_source=spamcrawler&utm_medium=cpc&utm_campaign=x", "https://crawler.example/", "x")
	if !f.session(t, b.SessionID).Bot {
		t.Fatal("the crawler's session is not counted as a crawler's")
	}
	a := f.do(t, "POST", "t/v1/lead", crawler, mustJSON(f.creds(b, map[string]any{"hi": b.HitID, "name": "Bot", "phone": "79161234567"})))
	if a.Status != http.StatusOK {
		t.Fatalf("lead: %d %s", a.Status, a.Raw)
	}
	lead := siteLeads(t, f.srv, f.site.Key)[0].ID
	// The reports: the lead is on the direct row.
	q := url.Values{"site": {f.site.Key}, "from": {"2026-11-26"}, "to": {"2026-11-26"}, "group": {"channel"}}
	code, raw := api(t, f, "GET", "api/v1/reports/sources?"+q.Encode(), apiToken(t, f), "")
	var env struct {
		Result struct {
			Rows []struct {
				Key   string `json:"key"`
				Leads int    `json:"leads"`
			} `json:"rows"`
		} `json:"result"`
	}
	if err := json.Unmarshal([]byte(raw), &env); err != nil || code != http.StatusOK {
		t.Fatalf("report: %d %s", code, raw)
	}
	leads := map[string]int{}
	for _, r := range env.Result.Rows {
		leads[r.Key] = r.Leads
	}
	if leads["direct"] != 1 || leads["ad"] != 0 {
		t.Fatalf("the report does not count the crawler's lead as direct: %v", leads)
	}
	c := f.srv.Client(t)
	u := f.srv.URL + "sites/" + f.site.Key + "/visitors/" + strconv.FormatUint(b.VisitorID, 10)
	for lang, want := range map[string][2]string{
		"en": {"In reports: no visit, direct (a crawler's visits are not counted)", `<span class="tag">direct</span>`},
		"ru": {"В отчётах — без визита, прямой заход (визиты роботов не учитываются)", `<span class="tag">прямые заходы</span>`},
	} {
		code, page := getPageIn(t, c, u, lang)
		if code != http.StatusOK {
			t.Fatalf("%s: card: %d", lang, code)
		}
		li := cutAt(page, `id="lead-`+strconv.FormatUint(lead, 10)+`"`, "</li>")
		if li == "" {
			t.Fatalf("%s: the card has no lead:\n%s", lang, page)
		}
		credit := strings.ReplaceAll(cutAt(li, `<div class="source credit">`, "\n"), "&#39;", "'")
		if !strings.Contains(credit, want[0]) || !strings.Contains(credit, want[1]) {
			t.Errorf("%s: the lead does not say the reports count it as direct (%q, %q):\n%s", lang, want[0], want[1], li)
		}
		if strings.Contains(credit, "spamcrawler") {
			t.Errorf("%s: the card credits the crawler's source:\n%s", lang, li)
		}
	}
}

// A visit's heading on the card names it once, with its number, in the
// reader's language: it read "визит 26.11.2026 10:00 визит № 2" (and
// "visit … session #2").
func TestVisitorCardVisitHeadingSaysVisitOnce(t *testing.T) {
	f := newTrFixture(t, true)
	h := f.hit(t, "", "https://shop.example.com/", "", "Home")
	c := f.srv.Client(t)
	u := f.srv.URL + "sites/" + f.site.Key + "/visitors/" + strconv.FormatUint(h.VisitorID, 10)
	id := strconv.FormatUint(h.SessionID, 10)
	for lang, want := range map[string][2]string{
		"en": {"visit #" + id, "visit"},
		"ru": {"визит № " + id, "визит"},
	} {
		code, page := getPageIn(t, c, u, lang)
		if code != http.StatusOK {
			t.Fatalf("%s: card: %d", lang, code)
		}
		head := cutAt(cutAt(page, `id="session-`+id+`"`, "</li>"), `<div class="tl-head">`, "</div>")
		text := strings.ReplaceAll(regexp.MustCompile(`<[^>]*>`).ReplaceAllString(head, ""), "\u00a0", " ")
		if !strings.Contains(text, want[0]) || strings.Count(strings.ToLower(text), want[1]) != 1 || strings.Contains(text, "session") {
			t.Errorf("%s: the visit's heading reads %q, want %q once and no other word for it", lang, text, want[0])
		}
	}
}

// A chat on the visitor's card links to the chat on the chat page (?chat=ID,
// the chat alone, open or finished, its transcript escaped), for a role
// that may open that page; an operator, who may not, gets no link. An
// address naming no chat, or another's, is refused with a reason.
func TestVisitorCardLinksItsChat(t *testing.T) {
	f := newTrFixture(t, true)
	h := f.hit(t, "", "https://shop.example.com/", "", "Home")
	status, out, _ := postJSON(t, f.srv.URL+"t/v1/chat", f.creds(h, map[string]any{"u": "https://shop.example.com/", "wait": 0,
		"frames": []any{map[string]any{"type": "send", "ref": "r1", "text": xssChat}}}))
	if status != http.StatusOK || out["success"] != true {
		t.Fatalf("chat: %d %v", status, out)
	}
	c := f.srv.Client(t)
	u := f.srv.URL + "sites/" + f.site.Key + "/visitors/" + strconv.FormatUint(h.VisitorID, 10)
	for lang, words := range map[string][2]string{"en": {"in chats", "open"}, "ru": {"в чатах", "открыт"}} {
		word := words[0]
		_, page := getPageIn(t, c, u, lang)
		m := regexp.MustCompile(`<li class="card tl-item tl-chat" id="chat-(\d+)">`).FindStringSubmatch(page)
		if m == nil {
			t.Fatalf("%s: the card has no chat:\n%s", lang, page)
		}
		head := cutAt(cutAt(page, m[0], "</li>"), `<div class="tl-head">`, "</div>")
		link := `<a href="/sites/` + f.site.Key + `/chat?chat=` + m[1] + `#chat-` + m[1] + `">` + word + `</a>`
		if !strings.Contains(head, link) {
			t.Fatalf("%s: the chat's heading has no link %s:\n%s", lang, link, head)
		}
		code, chatPage := getPageIn(t, c, f.srv.URL+"sites/"+f.site.Key+"/chat?chat="+m[1], lang)
		row := cutAt(rawPage(t, c, f.srv.URL+"sites/"+f.site.Key+"/chat?chat="+m[1]), `<tr id="chat-`+m[1]+`">`, "</tr>")
		if code != http.StatusOK || row == "" || !strings.Contains(row, "&lt;svg onload=&#34;window.__xss=3&#34;&gt;hello") {
			t.Fatalf("%s: the link's page (%d) does not show the chat, escaped:\n%s\n%s", lang, code, row, chatPage)
		}
		if !strings.Contains(cutAt(chatPage, `<tr id="chat-`+m[1]+`">`, "</tr>"), `<span class="tag">`+words[1]+`</span>`) {
			t.Errorf("%s: the chat page does not say the chat is open:\n%s", lang, row)
		}
		if strings.Contains(chatPage, xssChat) {
			t.Fatalf("%s: the chat page prints the visitor's markup", lang)
		}
	}
	for q, want := range map[string]int{"chat=abc": 400, "chat=0": 400, "chat=": 400, "chat=01": 400, "chat=999999": 404} {
		if code, _ := getPage(t, c, f.srv.URL+"sites/"+f.site.Key+"/chat?"+q); code != want {
			t.Errorf("chat page ?%s: %d, want %d", q, code, want)
		}
	}
	ops := signInAs(t, f.srv, accounts.RoleOperator)
	code, page := getPage(t, ops, u)
	if code != http.StatusOK || !strings.Contains(page, "tl-chat") {
		t.Fatalf("the operator's card: %d", code)
	}
	if strings.Contains(page, "/sites/"+f.site.Key+"/chat?chat=") {
		t.Error("the operator's card links a chat to a page their role cannot open")
	}
	// The console is theirs: the open chat is linked to it.
	if !strings.Contains(page, `href="/chat?chat=`) {
		t.Error("the operator's card does not link the open chat to the console")
	}
}
