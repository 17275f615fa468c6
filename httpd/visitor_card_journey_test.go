package httpd_test

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"appliance/httpd/accounts"
	"appliance/store"
)

// The card's "in leads" link of a lead, and a chat's "became lead" link,
// open the leads list at that lead, however many newer leads the site
// has: the link was leads#lead-ID, the list's first page, which does not
// hold a lead older than the page's 500.
func TestVisitorCardLeadLinkOlderThanLeadsPage(t *testing.T) {
	f := newTrFixture(t, true)
	h := f.hit(t, "", "https://shop.example.com/", "", "Home")
	if a := f.post(t, "t/v1/lead", f.creds(h, map[string]any{"hi": h.HitID, "name": "Иван", "phone": "8 916 222-22-22"})); a.Status != http.StatusOK {
		t.Fatalf("lead: %d %s", a.Status, a.Raw)
	}
	ls := siteLeads(t, f.srv, f.site.Key)
	if len(ls) != 1 {
		t.Fatalf("%d leads", len(ls))
	}
	lead := ls[0].ID
	// A chat of the visitor that became that lead.
	now := f.clock.Now()
	chat := store.Chat{ID: f.srv.DB.NextID(), Site: f.site.ID, Created: now.UnixMilli(), Last: 1, LastAt: now.UnixMilli(), Lead: lead,
		Attribution: store.Attribution{Visitor: h.VisitorID, Session: h.SessionID}}
	// Then a page's worth of other visitors' leads, each newer.
	if err := f.srv.DB.Update(context.Background(), func(tx *store.Tx) error {
		tx.Set(store.ChatKey(f.site.ID, chat.ID), chat.Encode())
		tx.Set(store.ChatMessageKey(f.site.ID, chat.ID, 1), (&store.ChatMessage{From: "visitor", Text: "hi", At: chat.Created}).Encode())
		store.IndexVisitorItem(tx, h.VisitorID, store.ItemChat, chat.ID)
		for i := range 500 {
			l := store.Lead{ID: f.srv.DB.NextID(), Time: now.Add(time.Duration(i+1) * time.Second).UnixMilli(), Via: "js", Name: "Other " + strconv.Itoa(i)}
			tx.Set(store.LeadKey(f.site.ID, l.ID), l.Encode())
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	c := f.srv.Client(t)
	card := rawPage(t, c, f.srv.URL+"sites/"+f.site.Key+"/visitors/"+strconv.FormatUint(h.VisitorID, 10))
	n := strconv.FormatUint(lead, 10)
	for _, where := range []string{`id="lead-` + n + `"`, `id="chat-` + strconv.FormatUint(chat.ID, 10) + `"`} {
		item := cutAt(card, where, "</li>")
		i := strings.Index(item, `href="/sites/`+f.site.Key+`/leads`)
		if i < 0 {
			t.Fatalf("the card's %s has no link to the leads list:\n%s", where, item)
		}
		href := item[i+len(`href="`):]
		href = href[:strings.IndexByte(href, '"')]
		href = strings.ReplaceAll(href, "&amp;", "&")
		if !strings.HasSuffix(href, "#lead-"+n) {
			t.Errorf("the card's %s links %s, not to the lead's row", where, href)
		}
		list := okPage(t, c, f.srv.URL+strings.TrimPrefix(href, "/"))
		if !strings.Contains(list, `id="lead-`+n+`"`) {
			t.Errorf("the card's %s links %s, a page of the leads without lead %s", where, href, n)
		}
	}
}

// A visit that crosses midnight in the site's zone (Vladivostok, UTC+10,
// far from the server's UTC) lists its pages after midnight with their
// date, on the card and the site page's recent visits: the pages said
// "23:50:00" then "00:05:00" under a visit of 26.11, as if the second page
// came first. Chat lines likewise, under a chat of the day before.
func TestVisitorCardPagesAcrossMidnight(t *testing.T) {
	f := newTrFixture(t, true)
	if _, err := f.srv.HTTP.Sites().SetTimeZone(context.Background(), f.site.Key, "Asia/Vladivostok"); err != nil {
		t.Fatal(err)
	}
	f.clock.Set(time.Date(2026, 11, 26, 13, 50, 0, 0, time.UTC)) // 23:50 in Vladivostok
	h := f.hit(t, "", "https://shop.example.com/", "", "Главная")
	status, out, _ := postJSON(t, f.srv.URL+"t/v1/chat", f.creds(h, map[string]any{"u": "https://shop.example.com/", "wait": 0,
		"frames": []any{map[string]any{"type": "send", "ref": "r1", "text": "Добрый вечер"}}}))
	if status != http.StatusOK || out["success"] != true {
		t.Fatalf("chat: %d %v", status, out)
	}
	f.clock.Add(15 * time.Minute) // 00:05 of 27.11 there
	if h2 := f.hit(t, h.CI, "https://shop.example.com/catalog", "", "Каталог"); h2.SessionID != h.SessionID {
		t.Fatalf("15 minutes later is session %d, not %d", h2.SessionID, h.SessionID)
	}
	status, out, _ = postJSON(t, f.srv.URL+"t/v1/chat", f.creds(h, map[string]any{"u": "https://shop.example.com/catalog", "wait": 0,
		"frames": []any{map[string]any{"type": "send", "ref": "r2", "text": "Уже ночь"}}}))
	if status != http.StatusOK || out["success"] != true {
		t.Fatalf("chat: %d %v", status, out)
	}
	c := f.srv.Client(t)
	_, card := getPageIn(t, c, f.srv.URL+"sites/"+f.site.Key+"/visitors/"+strconv.FormatUint(h.VisitorID, 10), "ru")
	visit := cutAt(card, `id="session-`+strconv.FormatUint(h.SessionID, 10)+`"`, "</li></ol>")
	for _, want := range []string{`<time datetime="2026-11-26T23:50:00&#43;10:00">26.11.2026 23:50:00</time>`,
		`<span class="muted">23:50:00</span> <span class="title">Главная</span>`,
		`<span class="muted">27.11.2026 00:05:00</span> <span class="title">Каталог</span>`} {
		if !strings.Contains(visit, want) {
			t.Errorf("the card's visit lacks %q:\n%s", want, visit)
		}
	}
	chat := cutAt(card, `class="chat-lines"`, "</ol>")
	for _, want := range []string{`<span class="muted">23:50:00 посетитель:</span>`, `<span class="muted">27.11.2026 00:05:00 посетитель:</span>`} {
		if !strings.Contains(chat, want) {
			t.Errorf("the card's chat lacks %q:\n%s", want, chat)
		}
	}
	_, site := getPageIn(t, c, f.srv.URL+"sites/"+f.site.Key, "ru")
	row := cutAt(site, `id="visit-`+strconv.FormatUint(h.SessionID, 10)+`"`, "</tr>")
	for _, want := range []string{`<span class="muted">23:50:00</span> <span class="title">Главная</span>`,
		`<span class="muted">27.11.2026 00:05:00</span> <span class="title">Каталог</span>`} {
		if !strings.Contains(row, want) {
			t.Errorf("the site page's visit lacks %q:\n%s", want, row)
		}
	}
}

// The site page's recent visits link each visitor's card as the calls
// page does, numbered the reader's way: "посетитель № 6" in Russian; it
// read "#6" in both languages.
func TestSiteVisitsVisitorNumberInReadersLanguage(t *testing.T) {
	f := newTrFixture(t, true)
	h := f.hit(t, "", "https://shop.example.com/", "", "Home")
	c := f.srv.Client(t)
	id := strconv.FormatUint(h.VisitorID, 10)
	for _, tt := range []struct{ lang, want string }{{"ru", "посетитель №\u00a0" + id}, {"en", "visitor #" + id}} {
		_, page := getPageIn(t, c, f.srv.URL+"sites/"+f.site.Key, tt.lang)
		row := cutAt(page, `id="visit-`+strconv.FormatUint(h.SessionID, 10)+`"`, "</tr>")
		if want := `<a class="visitor-link" href="/sites/` + f.site.Key + `/visitors/` + id + `">` + tt.want + `</a>`; !strings.Contains(row, want) {
			t.Errorf("%s: the visit's row lacks %q:\n%s", tt.lang, want, row)
		}
	}
}

// A call on the card links its row in the calls list, at the call, as a
// lead and a callback link theirs; for those who may open the calls page
// only (an operator reads the card without it). The card's call had no
// link: the owner could not get from the visitor to the call's row.
func TestVisitorCardCallLinksItsRow(t *testing.T) {
	f := newTrFixture(t, true)
	setUpNumbers(t, f)
	j := visitorJourney(t, f)
	id := strconv.FormatUint(j.calls["lease"], 10)
	u := f.srv.URL + "sites/" + f.site.Key + "/visitors/" + strconv.FormatUint(j.first.VisitorID, 10)
	c := f.srv.Client(t)
	link := `href="/sites/` + f.site.Key + `/calls?at=` + id + `#call-` + id + `"`
	for _, tt := range []struct{ lang, text string }{{"en", "in calls"}, {"ru", "в звонках"}} {
		_, page := getPageIn(t, c, u, tt.lang)
		item := cutAt(page, `id="call-`+id+`"`, "</li>")
		if !strings.Contains(item, link+`>`+tt.text+`</a>`) {
			t.Errorf("%s: the card's call lacks its link to the calls list:\n%s", tt.lang, item)
		}
	}
	if list := okPage(t, c, f.srv.URL+"sites/"+f.site.Key+"/calls?at="+id); !strings.Contains(list, `id="call-`+id+`"`) {
		t.Errorf("the calls list at %s does not show the call", id)
	}
	ops := signInAs(t, f.srv, accounts.RoleOperator)
	if code, page := getPage(t, ops, u); code != http.StatusOK || strings.Contains(page, `href="/sites/`+f.site.Key+`/calls`) {
		t.Errorf("the operator's card: %d, links the calls page %v", code, strings.Contains(page, `href="/sites/`+f.site.Key+`/calls`))
	}
}
