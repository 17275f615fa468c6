package httpd_test

import (
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"appliance/httpd/accounts"
	"appliance/httpd/httpdtest"
	"appliance/httpd/visitors"
	"appliance/store"
)

// A visitor with more chats than the card shows: the card says so and
// links the older ones, whose pages reach the first chat; the search's
// link to that first chat lands on a page of the card that shows it, its
// words as text.
func TestVisitorCardPagesOlderChats(t *testing.T) {
	srv := httpdtest.Start(t)
	key := srv.Site(t, "Shop", "shop.example")
	site, err := srv.HTTP.Sites().ByKey(key)
	if err != nil {
		t.Fatal(err)
	}
	// The first chat, through the widget, found by a word of it.
	con, _ := connectConsole(t, srv, consoleHeader(t, srv, "olga@shop.example", accounts.RoleOperator), nil)
	cv := newChatVisitor(t, srv, key, "https://shop.example/")
	vis, _ := cv.connect(t, shopOrigin, 0, 0)
	vis.send(map[string]any{"type": "send", "ref": "v1", "text": "Когда доставка в Тверь? <img src=x onerror=alert(1)>"})
	first := num(vis.next("ack")["chat"])
	con.next("message")
	v := cv.v.VisitorID

	// Then more chats than the card shows, each later than the one before.
	n := visitors.DefaultLimits.Items + 7
	want := []uint64{first} // oldest first here; reversed below
	now := time.Now()
	if err := srv.DB.Update(t.Context(), func(tx *store.Tx) error {
		for i := range n - 1 {
			ch := store.Chat{ID: srv.DB.NextID(), Site: site.ID, Created: now.Add(time.Duration(i+1) * time.Second).UnixMilli(),
				Last: 1, LastAt: now.Add(time.Duration(i+1) * time.Second).UnixMilli(), Attribution: store.Attribution{Visitor: v, Session: cv.v.SessionID}}
			tx.Set(store.ChatKey(site.ID, ch.ID), ch.Encode())
			store.IndexVisitorItem(tx, v, store.ItemChat, ch.ID)
			m := store.ChatMessage{From: "visitor", Text: "hello " + strconv.Itoa(i), At: ch.Created}
			tx.Set(store.ChatMessageKey(site.ID, ch.ID, 1), m.Encode())
			want = append(want, ch.ID)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	slices.Reverse(want)

	c := srv.Client(t)
	chatIDs := func(page string) []uint64 {
		var out []uint64
		for _, m := range regexp.MustCompile(`<li class="card tl-item tl-chat" id="chat-(\d+)"`).FindAllStringSubmatch(page, -1) {
			id, _ := strconv.ParseUint(m[1], 10, 64)
			out = append(out, id)
		}
		return out
	}
	card := "/sites/" + key + "/visitors/" + strconv.FormatUint(v, 10)
	page := okPage(t, c, srv.URL+strings.TrimPrefix(card, "/"))
	got := chatIDs(page)
	if len(got) != visitors.DefaultLimits.Items || slices.Contains(got, first) {
		t.Fatalf("the card shows %d chats (the first among them: %v), want the latest %d", len(got), slices.Contains(got, first), visitors.DefaultLimits.Items)
	}
	// The cap is announced, with the number left out and the way to them.
	more := regexp.MustCompile(`<li id="older-chats">Older chats: (\d+) · <a href="([^"]+)">Older →</a></li>`).FindStringSubmatch(page)
	if more == nil || more[1] != "7" || !strings.Contains(page, `id="visitor-more"`) {
		t.Fatalf("the card does not say 7 older chats are left out and link them:\n%s", page[strings.Index(page, "<h2"):][:2000])
	}
	if strings.Contains(page, `id="older-sessions"`) || strings.Contains(page, `id="page-older"`) {
		t.Error("the card announces older visits it does not leave out, or pages itself")
	}

	// The older pages reach the first chat, each chat once, newest first.
	next, pages := strings.ReplaceAll(more[2], "&amp;", "&"), 0
	older := regexp.MustCompile(`<a id="page-older" href="([^"]+)"`)
	for next != "" {
		if pages++; pages > 3 {
			t.Fatal("the pages do not end")
		}
		page := okPage(t, c, srv.URL+strings.TrimPrefix(next, "/"))
		got = append(got, chatIDs(page)...)
		if !strings.Contains(page, `<h2 id="card-part">Older chats`) || !strings.Contains(page, `<a id="page-newest" href="`+card+`"`) {
			t.Errorf("page %d of older chats has no heading or no link back to the card", pages)
		}
		if strings.Contains(page, `tl-session`) {
			t.Errorf("page %d of older chats shows visits", pages)
		}
		next = ""
		if m := older.FindStringSubmatch(page); m != nil {
			next = strings.ReplaceAll(m[1], "&amp;", "&")
		}
	}
	if !slices.Equal(got, want) {
		t.Errorf("the card and its pages show %d chats (last %v), want all %d newest first, the last %d", len(got), got[len(got)-1:], n, first)
	}

	// The search links the first chat to the page of the card that has it.
	found := rawPage(t, c, srv.URL+"sites/"+key+"/search?q=тверь")
	link := regexp.MustCompile(`<tr id="found-chat-` + strconv.FormatUint(first, 10) + `">(?s:.*?)href="(visitors/[^"]+)"`).FindStringSubmatch(found)
	if link == nil {
		t.Fatalf("the search does not link the first chat:\n%s", found)
	}
	target := strings.ReplaceAll(link[1], "&amp;", "&")
	anchor := "chat-" + strconv.FormatUint(first, 10)
	path, frag, _ := strings.Cut(target, "#")
	if frag != anchor {
		t.Errorf("the search's link %s does not point at #%s", target, anchor)
	}
	landed := rawPage(t, c, srv.URL+"sites/"+key+"/"+path) // as sent, entities and all
	if !strings.Contains(landed, `id="`+anchor+`"`) {
		t.Errorf("the search's link %s lands on a page without the chat", target)
	} else if !strings.Contains(landed, `Тверь? &lt;img src=x onerror=alert(1)&gt;`) || strings.Contains(landed, "<img") {
		t.Error("the chat's words are not shown as text")
	}
	// A chat the card shows is linked to the card itself.
	if p := okPage(t, c, srv.URL+strings.TrimPrefix(card, "/")+"?chat="+strconv.FormatUint(want[0], 10)); !strings.Contains(p, `id="visitor-more"`) || !strings.Contains(p, `id="chat-`+strconv.FormatUint(want[0], 10)+`"`) {
		t.Error("?chat= of the newest chat is not the card")
	}
	for _, q := range []string{"?older=nope", "?chat=x", "?chat=0", "?older=chats&at=x"} {
		if status, _ := getPage(t, c, srv.URL+strings.TrimPrefix(card, "/")+q); status != http.StatusBadRequest {
			t.Errorf("%s: %d, want 400", q, status)
		}
	}
}
