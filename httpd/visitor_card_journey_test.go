package httpd_test

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

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
