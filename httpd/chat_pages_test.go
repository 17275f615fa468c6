package httpd_test

import (
	"encoding/json"
	"html"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"appliance/httpd/chats"
	"appliance/httpd/httpdtest"
)

// widgetChat reads the chat part of GET /t/v1/widget.
func widgetChat(t *testing.T, srv *httpdtest.Server, key string) map[string]any {
	t.Helper()
	resp, err := http.Get(srv.URL + "t/v1/widget?k=" + key)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var v struct {
		Result struct {
			Chat map[string]any `json:"chat"`
		} `json:"result"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil {
		t.Fatal(err)
	}
	return v.Result.Chat
}

// The site's chat settings form: what it refuses is said and changes
// nothing; what it takes reaches the widget's settings and every page
// view's answer.
func TestChatSettingsForm(t *testing.T) {
	srv := httpdtest.Start(t)
	key := srv.Site(t, "Shop", "shop.example")
	c := srv.Client(t)
	post := func(form url.Values) (int, string) {
		t.Helper()
		form.Set("csrf", srv.FormToken(t, c, "/sites/"+key+"/chat"))
		resp, err := c.PostForm(srv.URL+"sites/"+key+"/chat", form)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	for _, bad := range []struct {
		form url.Values
		says string
	}{
		{url.Values{"button": {"1"}, "color": {"red"}}, "colour must be #RRGGBB"},
		{url.Values{"button": {"1"}, "position": {"top"}}, "position must be right or left"},
		{url.Values{"button": {"1"}, "unanswered": {"soon"}}, "number of minutes"},
		{url.Values{"button": {"1"}, "greeting": {strings.Repeat("x", 5000)}}, "greeting"},
	} {
		status, body := post(bad.form)
		if status != http.StatusBadRequest || !strings.Contains(body, bad.says) {
			t.Errorf("%v: %d, want 400 saying %q", bad.form, status, bad.says)
		}
	}
	if got := widgetChat(t, srv, key); got["button"] != false {
		t.Fatalf("after refused forms the widget's chat settings are %v", got)
	}
	status, _ := post(url.Values{"button": {"1"}, "position": {"left"}, "color": {"#aa3355"}, "greeting": {" Hi there "},
		"unanswered": {"2.5"}, "canned": {"Hello!\n\n  We deliver in 2 days.  \n"}})
	if status != http.StatusSeeOther {
		t.Fatalf("saving: %d", status)
	}
	got := widgetChat(t, srv, key)
	if got["button"] != true || got["position"] != "left" || got["color"] != "#aa3355" || got["greeting"] != "Hi there" {
		t.Errorf("the widget's chat settings: %v", got)
	}
	hit, err := http.Post(srv.URL+"t/v1/hit", "text/plain", strings.NewReader(`{"k":"`+key+`","u":"https://shop.example/"}`))
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(hit.Body)
	hit.Body.Close()
	if !strings.Contains(string(raw), `"chat":{"operators":false,"button":true}`) {
		t.Errorf("the page view's answer: %s", raw)
	}
	resp, err := c.Get(srv.URL + "sites/" + key + "/chat")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{`value="2.5"`, "Hello!\nWe deliver in 2 days.</textarea>", `value="#aa3355"`, `<option value="left" selected>`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("the page does not show %q", want)
		}
	}
}

// The site's chat page lists the newest finished chats and says when
// there are more than it shows, as the leads and calls pages do; the CSV
// has them all, with the byte-order mark the other exports carry, so a
// spreadsheet reads its Russian transcripts as UTF-8. The page cut the
// list without a word, and the CSV had no mark.
func TestChatsPageSaysWhenCut(t *testing.T) {
	f := newCBFixture(t)
	site, err := f.srv.HTTP.Sites().ByKey(f.key)
	if err != nil {
		t.Fatal(err)
	}
	c := f.srv.Client(t)
	page := f.srv.URL + "sites/" + f.key + "/chat"
	finish := func(n int) {
		for i := range n {
			v := chats.Visitor{Site: site, Visitor: f.v.VisitorID, Session: f.v.SessionID, Page: "https://shop.example/"}
			ack, err := f.srv.HTTP.Chats().Send(t.Context(), v, "m"+strconv.Itoa(i), "Здравствуйте")
			if err != nil {
				t.Fatal(err)
			}
			if _, err := f.srv.HTTP.Chats().Close(t.Context(), site.ID, ack.Chat.ID, f.v.VisitorID, chats.ClosedByVisitor); err != nil {
				t.Fatal(err)
			}
			f.clock.Add(time.Minute)
		}
	}
	finish(100)
	for lang, more := range map[string]string{"en": "Showing the newest 100", "ru": "Показаны последние 100"} {
		_, body := getPageIn(t, c, page, lang)
		if n := strings.Count(body, `<tr id="chat-`); n != 100 || strings.Contains(body, more) {
			t.Errorf("%s: 100 chats: the page lists %d and says it shows only some: %v", lang, n, strings.Contains(body, more))
		}
	}
	finish(1)
	for lang, more := range map[string]string{"en": "Showing the newest 100", "ru": "Показаны последние 100"} {
		_, body := getPageIn(t, c, page, lang)
		if n := strings.Count(body, `<tr id="chat-`); n != 100 || !strings.Contains(body, more) {
			t.Errorf("%s: 101 chats: the page lists %d, want 100, and says it shows only some: %v", lang, n, strings.Contains(body, more))
		}
	}
	_, csv := getPage(t, c, f.srv.URL+"sites/"+f.key+"/chats.csv")
	if !strings.HasPrefix(csv, "\ufeff") {
		t.Errorf("the chats CSV has no byte-order mark: %.40q", csv)
	}
	if rows := readCSV(t, csv); len(rows) != 102 {
		t.Errorf("the chats CSV has %d rows, want a header and 101 chats", len(rows))
	}
}

// The site's finished chats page shows a long chat whole: its transcript
// ended at the 1000th message, without the visitor's last words.
func TestChatsPageShowsLongChatWhole(t *testing.T) {
	srv := httpdtest.Start(t)
	key := srv.Site(t, "Shop", "shop.example")
	cv := newChatVisitor(t, srv, key, "https://shop.example/")
	sock, _ := cv.connect(t, shopOrigin, 0, 0)
	sock.send(map[string]any{"type": "send", "ref": "v1", "text": "Здравствуйте"})
	chat := num(sock.next("ack")["chat"])
	svc, site := srv.HTTP.Chats(), mustSite(t, srv, key)
	op := chats.Operator{Name: "anna@shop.example"}
	for i := range chats.MaxPageMessages {
		if _, err := svc.OperatorSend(t.Context(), op, site, chat, "", "ответ "+strconv.Itoa(i)); err != nil {
			t.Fatal(err)
		}
	}
	// (The first socket, which read none of the answers, may have been
	// dropped as too slow.)
	sock, _ = cv.connect(t, shopOrigin, chat, uint64(chats.MaxPageMessages)+1)
	sock.send(map[string]any{"type": "send", "ref": "v2", "text": "Доставьте в Занзибар"})
	sock.next("ack")
	if _, err := svc.Close(t.Context(), site, chat, 0, chats.ClosedByOperator); err != nil {
		t.Fatal(err)
	}
	resp, err := srv.Client(t).Get(srv.URL + "sites/" + key + "/chat")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(b), "Доставьте в Занзибар") {
		t.Errorf("the chats page (%d) does not show the long chat's last message", resp.StatusCode)
	}
}

// A chat setting refused on the settings form is named in the reader's
// language: «Приветствие» on a Russian page, not the English field name;
// the dashboard's forms give their refusals through the catalog with
// their arguments (errText), not as the English text.
func TestChatSettingsErrorNamesTheField(t *testing.T) {
	srv := httpdtest.Start(t)
	key := srv.Site(t, "Shop", "shop.example")
	c := srv.Client(t)
	for _, tc := range []struct{ lang, form, want, not string }{
		{"ru-RU,ru;q=0.9", "greeting", "В поле «Приветствие» есть управляющие символы", "greeting"},
		{"ru-RU,ru;q=0.9", "canned", "В поле «Готовый ответ» есть управляющие символы", "canned reply"},
		{"en", "greeting", "The greeting contains control characters", "Приветствие"},
	} {
		form := url.Values{"csrf": {srv.FormToken(t, c, "sites/"+key+"/chat")}, tc.form: {"Hello\x01"}}
		req, _ := http.NewRequest("POST", srv.URL+"sites/"+key+"/chat", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Accept-Language", tc.lang)
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		body := html.UnescapeString(string(b))
		// The refusal stands beside its field (fieldError).
		at := strings.Index(body, `id="chat-`+tc.form+`-error">`)
		if at < 0 {
			t.Errorf("%s %s: %d, no message beside the field in\n%s", tc.lang, tc.form, resp.StatusCode, body)
			continue
		}
		msg, _, _ := strings.Cut(body[at+len(`id="chat-`+tc.form+`-error">`):], "</p>")
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(msg, tc.want) || strings.Contains(msg, tc.not) {
			t.Errorf("%s %s: %d, want %q in\n%s", tc.lang, tc.form, resp.StatusCode, tc.want, msg)
		}
	}
}

// A finished chat no operator took says so in its Operator cell: the cell
// was blank, as if the page had failed to show who answered.
func TestChatsPageSaysNoOperator(t *testing.T) {
	f := newCBFixture(t)
	site, err := f.srv.HTTP.Sites().ByKey(f.key)
	if err != nil {
		t.Fatal(err)
	}
	v := chats.Visitor{Site: site, Visitor: f.v.VisitorID, Session: f.v.SessionID, Page: "https://shop.example/"}
	ack, err := f.srv.HTTP.Chats().Send(t.Context(), v, "m", "Здравствуйте")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.srv.HTTP.Chats().Close(t.Context(), site.ID, ack.Chat.ID, f.v.VisitorID, chats.ClosedByVisitor); err != nil {
		t.Fatal(err)
	}
	c := f.srv.Client(t)
	for lang, want := range map[string]string{"en": "none", "ru": "нет"} {
		_, body := getPageIn(t, c, f.srv.URL+"sites/"+f.key+"/chat", lang)
		if got := rowCell(t, body, "chat-"+strconv.FormatUint(ack.Chat.ID, 10), "operator"); got != want {
			t.Errorf("%s: the Operator cell of a chat nobody took reads %q, want %q", lang, got, want)
		}
	}
}

// The chats page writes a chat's UTM tags as every other page does (the
// utm-tags partial), labelled in the reader's language: it wrote
// "utm_source yandex" where the visitor's card says "Источник: yandex".
func TestChatsPageWritesUTMTagsAsCardDoes(t *testing.T) {
	srv := httpdtest.Start(t)
	site := srv.Site(t, "Shop", "shop.example")
	cv := newChatVisitor(t, srv, site, "https://shop.example/?utm_source=yandex&utm_medium=cpc&utm_campaign=autumn")
	vis, _ := cv.connect(t, shopOrigin, 0, 0)
	vis.send(map[string]any{"type": "send", "ref": "v1", "text": "Здравствуйте"})
	chat := num(vis.next("ack")["chat"])
	vis.send(map[string]any{"type": "close", "chat": chat})
	vis.next("closed")
	_, page := getPageIn(t, srv.Client(t), srv.URL+"sites/"+site+"/chat", "ru")
	row := cutAt(page, `<tr id="chat-`+strconv.FormatUint(chat, 10)+`">`, "</tr>")
	for _, want := range []string{`<div class="muted utm">Источник: yandex</div>`, `<div class="muted utm">Тип трафика: cpc</div>`, `<div class="muted utm">Кампания: autumn</div>`} {
		if !strings.Contains(row, want) {
			t.Errorf("the chats page's row lacks %q:\n%s", want, row)
		}
	}
}
