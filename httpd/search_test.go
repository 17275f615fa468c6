package httpd_test

import (
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"appliance/httpd/accounts"
	"appliance/httpd/httpdtest"
	"appliance/httpd/leads"
	"appliance/store"
)

// foundIDs are the ids of the rows of one kind ("lead", "callback",
// "call", "chat") on a search page, in page order.
func foundIDs(page, kind string) []uint64 {
	var out []uint64
	for _, m := range regexp.MustCompile(`<tr id="found-`+kind+`-(\d+)">`).FindAllStringSubmatch(page, -1) {
		id, _ := strconv.ParseUint(m[1], 10, 64)
		out = append(out, id)
	}
	return out
}

// A site owner finds a customer by their phone number however it is
// written, by email, by name or words of their message in any case, and by
// a record's number: their leads, callback, call and visitor card, and
// nobody else's; what a visitor typed is shown as text.
func TestSiteSearch(t *testing.T) {
	f := newCBFixture(t)
	srv, key := f.srv, f.key
	if _, err := srv.HTTP.Numbers().SetSiteNumbers(t.Context(), f.site.ID, []string{"+7 495 111-22-33"}, time.Now()); err != nil {
		t.Fatal(err)
	}
	token, err := accounts.New(srv.DB).CreateToken(t.Context(), "pbx", nil)
	if err != nil {
		t.Fatal(err)
	}
	lead := func(v visit, fields map[string]any) uint64 {
		t.Helper()
		if status, out, _ := postJSON(t, srv.URL+"t/v1/lead", leadBody(key, v, fields)); status != http.StatusOK {
			t.Fatalf("lead: %d %v", status, out)
		}
		return siteLeads(t, srv, key)[0].ID
	}
	ivan := lead(f.v, map[string]any{"name": "Иван Петров", "phone": "+7 916 123-45-67", "email": "Ivan.Petrov@Example.com",
		"message": "Нужна доставка в Тверь"})
	if status, out := f.order(t, f.v, map[string]any{"phone": "8 916 1234567"}); status != http.StatusOK {
		t.Fatalf("callback: %d %v", status, out)
	}
	callback := f.callbacks(t)[0].ID
	call := postCall(t, srv, token, `{"called":"74951112233 (доб. 12)","caller":"79161234567","duration":42,"answered":true}`)

	other := trackHit(t, srv, key, "", "https://shop.example/", "")
	anna := lead(other, map[string]any{"name": "Анна <script>alert(1)</script>", "phone": "8 (903) 000-00-01", "message": "Москва"})
	// A third visitor left only contacts, through addVisitorInfo: found by
	// their phone and by their email.
	boss := trackHit(t, srv, key, "", "https://shop.example/", "")
	if status, out, _ := postJSON(t, srv.URL+"t/v1/visitor", map[string]any{"k": key, "ci": boss.CI, "key": boss.Key,
		"name": "Boss", "phone": "+7 999 555-44-33", "email": "Boss@Corp.example"}); status != http.StatusOK {
		t.Fatalf("visitor info: %d %v", status, out)
	}

	c := srv.Client(t)
	find := func(q string) string {
		t.Helper()
		return okPage(t, c, srv.URL+"sites/"+key+"/search?q="+url.QueryEscape(q))
	}
	visitorLink := func(id uint64) string { return `href="visitors/` + strconv.FormatUint(id, 10) + `"` }
	for _, q := range []string{"+7 916 123-45-67", "89161234567", "8(916)1234567", "79161234567"} {
		page := find(q)
		if got := foundIDs(page, "lead"); !slices.Equal(got, []uint64{ivan}) {
			t.Errorf("%q: leads %v, want [%d]", q, got, ivan)
		}
		if got := foundIDs(page, "callback"); !slices.Equal(got, []uint64{callback}) {
			t.Errorf("%q: callbacks %v, want [%d]", q, got, callback)
		}
		if got := foundIDs(page, "call"); !slices.Equal(got, []uint64{call}) {
			t.Errorf("%q: calls %v, want [%d]", q, got, call)
		}
		// The number the caller dialled, with its extension, as the
		// calls page shows it.
		if row := cutAt(page, `id="found-call-`+strconv.FormatUint(call, 10)+`"`, "</tr>"); !strings.Contains(row, `href="tel:+74951112233"`) || !strings.Contains(row, "ext. 12") {
			t.Errorf("%q: the call's row does not show the number dialled:\n%s", q, row)
		}
		if !strings.Contains(page, visitorLink(f.v.VisitorID)) || strings.Contains(page, visitorLink(other.VisitorID)) {
			t.Errorf("%q: the page does not link to visitor %d alone", q, f.v.VisitorID)
		}
		if !strings.Contains(page, `href="leads?at=`+strconv.FormatUint(ivan, 10)+`#lead-`+strconv.FormatUint(ivan, 10)+`"`) {
			t.Errorf("%q: no link to the lead's row", q)
		}
	}
	for q, want := range map[string][]uint64{
		"ivan.petrov@EXAMPLE.com": {ivan}, "тверь": {ivan}, "ИВАН": {ivan}, "#" + strconv.FormatUint(ivan, 10): {ivan},
		"москва": {anna}, "8 903 000 00 01": {anna}, "Боб": nil,
	} {
		if got := foundIDs(find(q), "lead"); !slices.Equal(got, want) {
			t.Errorf("%q: leads %v, want %v", q, got, want)
		}
	}
	for _, q := range []string{"8 999 5554433", "BOSS@corp.example"} {
		if page := find(q); !strings.Contains(page, visitorLink(boss.VisitorID)) || !strings.Contains(page, "boss@corp.example") {
			t.Errorf("%q: a visitor's own contact does not find them:\n%s", q, page)
		}
	}
	if page := rawPage(t, c, srv.URL+"sites/"+key+"/search?q=script"); strings.Contains(page, "<script>alert") || !strings.Contains(page, "&lt;script&gt;alert(1)&lt;/script&gt;") {
		t.Errorf("a visitor's name is not shown escaped:\n%s", page)
	}
	if page := find("Боб"); !strings.Contains(page, `id="search-total"`) || len(foundIDs(page, "call")) != 0 {
		t.Errorf("a search that finds nothing does not say so")
	}
	if page := okPage(t, c, srv.URL+"sites/"+key+"/leads"); !strings.Contains(page, `action="/sites/`+key+`/search"`) {
		t.Errorf("the site's navigation has no search field")
	}
	for _, q := range []string{strings.Repeat("a", 201), "a\x00b", "\xff"} {
		if status, _ := getPage(t, c, srv.URL+"sites/"+key+"/search?q="+url.QueryEscape(q)); status != http.StatusBadRequest {
			t.Errorf("search %q: %d, want 400", q, status)
		}
	}

	// A store from before the email index: built as the server starts.
	var gone [][]byte
	srv.DB.ScanPrefix(t.Context(), store.EmailVisitorPrefix(f.site.ID, "boss@corp.example"), false, 0, func(k, _ []byte) bool {
		gone = append(gone, slices.Clone(k))
		return true
	})
	if len(gone) != 1 {
		t.Fatalf("%d email index entries, want 1", len(gone))
	}
	srv = restartWithout(t, srv, append(gone, store.MetaKey("email-index")))
	c = srv.Client(t)
	if page := find("boss@corp.example"); !strings.Contains(page, visitorLink(boss.VisitorID)) {
		t.Errorf("after a restart over a store without the email index, the email does not find its visitor")
	}

	// An operator sees callbacks and visitor cards, not leads or calls:
	// no search, and no field for it.
	ops := signInAs(t, srv, accounts.RoleOperator)
	if status, _ := getPage(t, ops, srv.URL+"sites/"+key+"/search?q=ivan"); status != http.StatusForbidden {
		t.Errorf("an operator's search: %d, want 403", status)
	}
	if _, page := getPage(t, ops, srv.URL+"sites/"+key+"/callbacks"); strings.Contains(page, "/search") {
		t.Errorf("an operator's navigation offers the search")
	}
}

// A list longer than a page is read page by page through its "Older"
// links, every record once, newest first; the CSV has them all.
func TestListsPageThroughOlder(t *testing.T) {
	srv := httpdtest.Start(t)
	key := srv.Site(t, "Shop", "shop.example")
	site, err := srv.HTTP.Sites().ByKey(key)
	if err != nil {
		t.Fatal(err)
	}
	const n = 1001
	now := time.Now().Add(-time.Hour).UnixMilli()
	var leadIDs, cbIDs, callIDs []uint64
	if err := srv.DB.Update(t.Context(), func(tx *store.Tx) error {
		for i := range n {
			l := store.Lead{ID: srv.DB.NextID(), Time: now + int64(i), Via: "js", Name: "n" + strconv.Itoa(i)}
			leads.Put(tx, site.ID, &l)
			cb := store.Callback{ID: srv.DB.NextID(), Time: now + int64(i), Phone: "79160000000", PhoneRaw: "79160000000"}
			tx.Set(store.CallbackKey(site.ID, cb.ID), cb.Encode())
			// Calls are listed by start: reported in one order, started
			// in the reverse.
			call := store.Call{ID: srv.DB.NextID(), Time: now - int64(i)*1000, Received: now, Called: "74951112233", Caller: "79160000001"}
			tx.Set(store.CallKey(site.ID, call.ID), call.Encode())
			tx.Set(store.CallStartKey(site.ID, call.Time, call.ID), nil)
			leadIDs, cbIDs, callIDs = append([]uint64{l.ID}, leadIDs...), append([]uint64{cb.ID}, cbIDs...), append(callIDs, call.ID)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	c := srv.Client(t)
	older := regexp.MustCompile(`<a id="page-older" href="([^"]+)"`)
	for _, list := range []struct {
		name, filter, row string
		want              []uint64
	}{{"leads", "?sale=no", "lead", leadIDs}, {"callbacks", "", "callback", cbIDs}, {"calls", "", "call", callIDs}} {
		var got []uint64
		next, pages := "/sites/"+key+"/"+list.name+list.filter, 0
		for next != "" {
			page := okPage(t, c, srv.URL+strings.TrimPrefix(strings.ReplaceAll(next, "&amp;", "&"), "/"))
			pages++
			for _, m := range regexp.MustCompile(`<tr id="`+list.row+`-(\d+)"`).FindAllStringSubmatch(page, -1) {
				id, _ := strconv.ParseUint(m[1], 10, 64)
				got = append(got, id)
			}
			if pages > 1 && !strings.Contains(page, `id="page-newest"`) {
				t.Errorf("%s page %d: no link back to the newest", list.name, pages)
			}
			next = ""
			if m := older.FindStringSubmatch(page); m != nil {
				next = m[1]
				if !strings.Contains(next, strings.TrimPrefix(list.filter, "?")) {
					t.Errorf("%s: the Older link %s drops the filter %s", list.name, next, list.filter)
				}
			}
			if pages > 5 {
				t.Fatalf("%s: the pages do not end", list.name)
			}
		}
		if pages != 3 || !slices.Equal(got, list.want) {
			t.Errorf("%s: %d pages, %d rows (first %v), want 3 pages and every one of %d newest first", list.name, pages, len(got), got[:min(3, len(got))], n)
		}
		csv := rawPage(t, c, srv.URL+"sites/"+key+"/"+list.name+".csv?at="+strconv.FormatUint(list.want[600], 10))
		if rows := strings.Count(strings.TrimSpace(csv), "\n"); rows != n {
			t.Errorf("%s.csv: %d rows, want all %d", list.name, rows, n)
		}
	}
	if status, _ := getPage(t, c, srv.URL+"sites/"+key+"/leads?at=x"); status != http.StatusBadRequest {
		t.Errorf("leads?at=x: %d, want 400", status)
	}
	if status, _ := getPage(t, c, srv.URL+"sites/"+key+"/calls?at="+strconv.FormatUint(leadIDs[0], 10)); status != http.StatusNotFound {
		t.Errorf("calls?at=<not a call>: %d, want 404", status)
	}
}

// A site owner finds a visitor by what the site's pages told through
// addVisitorInfo alone — a name, a phone in another written form or a part
// of it, though a later lead left the number from another visitor — and a
// chat by a word its visitor or operator wrote, in any case: the chat's
// row shows the message with the word marked and everything typed in it
// as text, and links to the chat on the visitor's card. Operators still
// have no search.
func TestSiteSearchFindsVisitorInfoAndChats(t *testing.T) {
	srv := httpdtest.Start(t)
	key := srv.Site(t, "Shop", "shop.example")
	info := func(v visit, fields map[string]any) {
		t.Helper()
		body := map[string]any{"k": key, "ci": v.CI, "key": v.Key}
		for k, f := range fields {
			body[k] = f
		}
		if status, out, _ := postJSON(t, srv.URL+"t/v1/visitor", body); status != http.StatusOK {
			t.Fatalf("visitor info: %d %v", status, out)
		}
	}
	named := trackHit(t, srv, key, "", "https://shop.example/", "")
	info(named, map[string]any{"name": "Евгения Кострова"})
	phoned := trackHit(t, srv, key, "", "https://shop.example/", "")
	info(phoned, map[string]any{"phone": "+7 (921) 555-66-77", "email": "Zhenya.K@Example.RU"})
	// Later another visitor leaves the number in a lead: the phone index
	// names them now.
	later := trackHit(t, srv, key, "", "https://shop.example/", "")
	if status, out, _ := postJSON(t, srv.URL+"t/v1/lead", leadBody(key, later, map[string]any{"name": "Муж", "phone": "8 921 555 66 77"})); status != http.StatusOK {
		t.Fatalf("lead: %d %v", status, out)
	}

	con, _ := connectConsole(t, srv, consoleHeader(t, srv, "olga@shop.example", accounts.RoleOperator), nil)
	cv := newChatVisitor(t, srv, key, "https://shop.example/")
	vis, _ := cv.connect(t, shopOrigin, 0, 0)
	vis.send(map[string]any{"type": "send", "ref": "v1", "text": "Когда доставка в Тверь? <img src=x onerror=alert(1)>"})
	chat := num(vis.next("ack")["chat"])
	con.next("message")
	con.send(map[string]any{"type": "send", "chat": chat, "ref": "o1", "text": "ДОСТАВКА завтра, позвоню на 8 921 000-11-22"})
	if a := con.next("ack"); num(a["id"]) != 2 {
		t.Fatalf("operator ack = %v", a)
	}

	c := srv.Client(t)
	find := func(q string) string {
		t.Helper()
		return rawPage(t, c, srv.URL+"sites/"+key+"/search?q="+url.QueryEscape(q))
	}
	visitorLink := func(id uint64) string { return `href="visitors/` + strconv.FormatUint(id, 10) + `"` }
	for q, want := range map[string][]uint64{
		"кострова":            {named.VisitorID},
		"ЕВГЕНИЯ":             {named.VisitorID},
		"8-921-555-66-77":     {phoned.VisitorID, later.VisitorID},
		"+79215556677":        {phoned.VisitorID, later.VisitorID},
		"555-66-77":           {phoned.VisitorID, later.VisitorID},
		"zhenya.k@EXAMPLE":    {phoned.VisitorID},
		"ZHENYA.K@example.ru": {phoned.VisitorID},
	} {
		page := find(q)
		for _, id := range want {
			if !strings.Contains(page, visitorLink(id)) {
				t.Errorf("%q does not find visitor %d", q, id)
			}
		}
		if want[0] != later.VisitorID && !strings.Contains(page, "their contacts match") {
			t.Errorf("%q: the visitor's row does not say their contacts match", q)
		}
	}
	if page := find("кострова"); strings.Contains(page, visitorLink(phoned.VisitorID)) || strings.Contains(page, visitorLink(later.VisitorID)) {
		t.Errorf("a name finds visitors who did not give it")
	}

	chatRow := func(page string) string {
		t.Helper()
		m := regexp.MustCompile(`(?s)<tr id="found-chat-` + strconv.FormatUint(chat, 10) + `">.*?</tr>`).FindString(page)
		if m == "" {
			t.Errorf("the chat is not found:\n%s", page)
		}
		return m
	}
	row := chatRow(find("тверь"))
	if !strings.Contains(row, `<mark>Тверь</mark>`) || !strings.Contains(row, `href="visitors/`+strconv.FormatUint(cv.v.VisitorID, 10)+`?chat=`+strconv.FormatUint(chat, 10)+`#chat-`+strconv.FormatUint(chat, 10)+`"`) {
		t.Errorf("тверь: the chat's row does not mark the word or link to the chat:\n%s", row)
	}
	if row := chatRow(find("Доставка")); !strings.Contains(row, `<mark>ДОСТАВКА</mark> завтра, позвоню`) || !strings.Contains(row, "and 1 more message that matches") {
		t.Errorf("Доставка: the row does not show the latest message that matches and the count of the others:\n%s", row)
	}
	if row := chatRow(find("8 921 000-11-22")); !strings.Contains(row, `<mark><a class="tel" href="tel:+79210001122">8 921 000-11-22</a></mark>`) {
		t.Errorf("a phone number searched for and said in a chat is not marked as a tel: link:\n%s", row)
	}
	page := find("onerror")
	if row := chatRow(page); !strings.Contains(row, `&lt;img src=x <mark>onerror</mark>=alert(1)&gt;`) || strings.Contains(page, "<img") {
		t.Errorf("the visitor's words are not shown as text:\n%s", row)
	}
	if card := okPage(t, c, srv.URL+"sites/"+key+"/visitors/"+strconv.FormatUint(cv.v.VisitorID, 10)); !strings.Contains(card, `id="chat-`+strconv.FormatUint(chat, 10)+`"`) {
		t.Errorf("the visitor's card has no chat the search's link lands on")
	}

	// A store from before the contact index: built as the server starts.
	site, err := srv.HTTP.Sites().ByKey(key)
	if err != nil {
		t.Fatal(err)
	}
	var gone [][]byte
	srv.DB.ScanPrefix(t.Context(), store.VisitorContactPrefix(site.ID), false, 0, func(k, _ []byte) bool {
		gone = append(gone, slices.Clone(k))
		return true
	})
	if len(gone) != 2 {
		t.Fatalf("%d contact index entries, want 2", len(gone))
	}
	srv = restartWithout(t, srv, append(gone, store.MetaKey("contact-index")))
	c = srv.Client(t)
	if page := find("кострова"); !strings.Contains(page, visitorLink(named.VisitorID)) {
		t.Errorf("after a restart over a store without the contact index, the name does not find its visitor")
	}

	ops := signInAs(t, srv, accounts.RoleOperator)
	if status, _ := getPage(t, ops, srv.URL+"sites/"+key+"/search?q=тверь"); status != http.StatusForbidden {
		t.Errorf("an operator's search: %d, want 403", status)
	}
}

// A site owner searching by the number a caller gave finds the chats
// whose visitor or operator wrote it in another form — with a trunk
// prefix or a country code, in parentheses, dashes, spaces — with the
// number marked as a tel: link; not a chat where those digits are a part
// of a longer number (an order number, another country's).
func TestSiteSearchFindsPhoneWrittenInChats(t *testing.T) {
	srv := httpdtest.Start(t)
	key := srv.Site(t, "Shop", "shop.example")
	con, _ := connectConsole(t, srv, consoleHeader(t, srv, "olga@shop.example", accounts.RoleOperator), nil)
	say := func(from, text string) uint64 {
		t.Helper()
		cv := newChatVisitor(t, srv, key, "https://shop.example/")
		vis, _ := cv.connect(t, shopOrigin, 0, 0)
		vis.send(map[string]any{"type": "send", "ref": "v1", "text": "Здравствуйте"})
		chat := num(vis.next("ack")["chat"])
		con.next("message")
		if from == "visitor" {
			vis.send(map[string]any{"type": "send", "chat": chat, "ref": "v2", "text": text})
			vis.next("ack")
		} else {
			con.send(map[string]any{"type": "send", "chat": chat, "ref": "o1", "text": text})
			con.next("ack")
		}
		return chat
	}
	trunk := say("visitor", "Мой телефон 8 921 000-11-22, звоните после обеда")
	local := say("operator", "Записала ваш номер: (921) 000-11-22")
	glued := say("visitor", "тел.89210001122")
	order := say("visitor", "Где мой заказ 1892100011223?")
	foreign := say("visitor", "Звоните на +1 921 000 11 22")

	c := srv.Client(t)
	for _, q := range []string{"+7 921 000 11 22", "89210001122", "8 (921) 000-11-22"} {
		page := rawPage(t, c, srv.URL+"sites/"+key+"/search?q="+url.QueryEscape(q))
		got := foundIDs(page, "chat")
		slices.Sort(got)
		if !slices.Equal(got, []uint64{trunk, local, glued}) {
			t.Errorf("%q: chats %v, want %v (not the order %d, nor the other country's %d)", q, got, []uint64{trunk, local, glued}, order, foreign)
		}
		for chat, said := range map[uint64]string{trunk: "8 921 000-11-22", local: "(921) 000-11-22", glued: "89210001122"} {
			row := regexp.MustCompile(`(?s)<tr id="found-chat-` + strconv.FormatUint(chat, 10) + `">.*?</tr>`).FindString(page)
			if !strings.Contains(row, `<mark><a class="tel" href="tel:+79210001122">`+said+`</a></mark>`) {
				t.Errorf("%q: the number as chat %d wrote it is not marked as a tel: link:\n%s", q, chat, row)
			}
		}
	}
}

// A visitor found through a record of theirs says why on the search page,
// in the reader's language: through a lead's phone ("по телефону
// заявки"), a call's caller, a lead's words, their own contacts. A
// visitor found through a lead's or a call's phone showed no reason at
// all, their card holding no trace of the number searched for.
func TestSiteSearchSaysWhyVisitorsMatched(t *testing.T) {
	f := newTrFixture(t, true)
	setUpNumbers(t, f)
	key := f.site.Key
	caller, phones := f.hitPhones(t, "", "", "https://shop.example.com/promo?utm_source=yandex&utm_medium=cpc&utm_campaign=autumn")
	number, _ := shownNumber(phones)
	if number == "" {
		t.Fatal("the ad's visitor got no pool number")
	}
	if code, raw := api(t, f, "POST", "api/v1/calls", apiToken(t, f), `{"called":"`+number+`","caller":"79161234567","answered":true,"duration":30}`); code != http.StatusOK {
		t.Fatalf("call: %d %s", code, raw)
	}
	lead := func(v visit, fields map[string]any) {
		t.Helper()
		if status, out, _ := postJSON(t, f.srv.URL+"t/v1/lead", leadBody(key, v, fields)); status != http.StatusOK {
			t.Fatalf("lead: %d %v", status, out)
		}
	}
	phoned := trackHit(t, f.srv, key, "", "https://shop.example.com/", "")
	lead(phoned, map[string]any{"phone": "8 921 555-66-77"})
	wrote := trackHit(t, f.srv, key, "", "https://shop.example.com/", "")
	lead(wrote, map[string]any{"phone": "8 903 000-00-01", "message": "Доставка в Тверь"})
	gave := trackHit(t, f.srv, key, "", "https://shop.example.com/", "")
	if status, out, _ := postJSON(t, f.srv.URL+"t/v1/visitor", map[string]any{"k": key, "ci": gave.CI, "key": gave.Key, "phone": "+7 921 555-66-77"}); status != http.StatusOK {
		t.Fatalf("visitor info: %d %v", status, out)
	}

	c := f.srv.Client(t)
	why := func(q, lang string, id uint64) string {
		t.Helper()
		_, page := getPageIn(t, c, f.srv.URL+"sites/"+key+"/search?q="+url.QueryEscape(q), lang)
		row := cutAt(page, `href="visitors/`+strconv.FormatUint(id, 10)+`"`, "</td>")
		if row == "" {
			t.Errorf("%q does not find visitor %d", q, id)
		}
		var out []string
		for _, m := range regexp.MustCompile(`<span class="tag why">([^<]*)</span>`).FindAllStringSubmatch(row, -1) {
			out = append(out, m[1])
		}
		return strings.Join(out, ", ")
	}
	for _, c := range []struct {
		q, lang string
		id      uint64
		want    string
	}{
		{"89215556677", "ru", phoned.VisitorID, "по телефону заявки"},
		{"89215556677", "en", phoned.VisitorID, "by a lead&#39;s phone"},
		{"89215556677", "ru", gave.VisitorID, "совпали контакты"},
		{"+7 916 123-45-67", "ru", caller.VisitorID, "по номеру звонившего"},
		{"+7 916 123-45-67", "en", caller.VisitorID, "by a call&#39;s number"},
		{"тверь", "ru", wrote.VisitorID, "по заявке"},
		{"тверь", "en", wrote.VisitorID, "by a lead"},
		{"#" + strconv.FormatUint(wrote.VisitorID, 10), "ru", wrote.VisitorID, "по номеру посетителя"},
	} {
		if got := why(c.q, c.lang, c.id); got != c.want {
			t.Errorf("%s %q: visitor %d found %q, want %q", c.lang, c.q, c.id, got, c.want)
		}
	}
}
