package httpd_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"appliance/httpd/accounts"
	"appliance/httpd/chats"
	"appliance/httpd/httpdtest"
)

// untilType reads frames until one of the type and returns it with the
// frames read before it.
func untilType(c *wsClient, typ string) (map[string]any, []map[string]any) {
	c.t.Helper()
	var before []map[string]any
	for {
		f := c.read()
		if f == nil {
			c.t.Fatalf("socket closed waiting for a %s frame", typ)
		}
		if f["type"] == typ {
			return f, before
		}
		before = append(before, f)
	}
}

// A console's transfer frame over the real sockets: Anna hands her chat
// to Boris; his console gets the note (who, to whom) and the chat as his,
// the visitor sees Boris join and never the note, also in a replay; Anna
// may no longer answer (error assigned, the socket stays open), Boris
// does; an operator not online is refused with operator_offline, and a
// release makes the chat nobody's.
func TestChatTransferOverSockets(t *testing.T) {
	srv := httpdtest.Start(t)
	site := srv.Site(t, "Shop", "shop.example")
	anna, _ := connectConsole(t, srv, consoleHeader(t, srv, "anna@shop.example", accounts.RoleOperator), nil)
	boris, _ := connectConsole(t, srv, consoleHeader(t, srv, "boris@shop.example", accounts.RoleOperator), nil)
	cv := newChatVisitor(t, srv, site, "https://shop.example/")
	vis, _ := cv.connect(t, shopOrigin, 0, 0)
	vis.send(map[string]any{"type": "send", "ref": "v1", "text": "Нужна доставка в Казань"})
	chat := num(vis.next("ack")["chat"])
	anna.send(map[string]any{"type": "send", "chat": chat, "ref": "a1", "text": "Передам коллеге, он знает"})
	anna.next("ack")
	if f := vis.next("assigned"); f["name"] != "anna" {
		t.Fatalf("anna answered: the visitor is told %v", f)
	}
	vis.message(2)

	anna.send(map[string]any{"type": "transfer", "chat": chat, "operator": "boris@shop.example"})
	note := boris.message(3)
	if note["from"] != "system" || note["code"] != "transfer" || note["name"] != "anna@shop.example" || note["to"] != "boris@shop.example" {
		t.Fatalf("the note to consoles: %v", note)
	}
	boris.forget() // the chat as it was before the note
	if c := boris.next("chat")["chat"].(map[string]any); c["assigned"] != "boris@shop.example" {
		t.Fatalf("the chat to consoles: %v", c)
	}
	assigned, before := untilType(vis, "assigned")
	if assigned["name"] != "boris" {
		t.Errorf("the visitor is told %v, want boris", assigned)
	}
	for _, f := range before {
		if f["type"] == "message" {
			t.Errorf("the visitor got %v", f)
		}
	}
	again, w := cv.connect(t, shopOrigin, chat, 0)
	if w["assigned"] != "boris" {
		t.Errorf("the visitor's welcome names %v", w["assigned"])
	}
	if m := again.next("message"); num(m["id"]) != 1 {
		t.Fatalf("replay: %v", m)
	}
	if m := again.next("message"); num(m["id"]) != 2 {
		t.Fatalf("replay: %v", m)
	}

	anna.send(map[string]any{"type": "send", "chat": chat, "ref": "a2", "text": "И ещё"})
	if e := anna.next("error"); e["code"] != "assigned" || e["ref"] != "a2" {
		t.Fatalf("anna's word in boris's chat: %v", e)
	}
	boris.send(map[string]any{"type": "send", "chat": chat, "ref": "b1", "text": "Здравствуйте, доставим завтра"})
	if a := boris.next("ack"); num(a["id"]) != 4 {
		t.Fatalf("boris's answer: %v", a)
	}
	if m := vis.next("message"); num(m["id"]) != 4 || m["name"] != "boris" {
		t.Fatalf("the visitor got %v after the transfer", m)
	}
	again.conn.Close()

	boris.send(map[string]any{"type": "transfer", "chat": chat, "operator": "nobody@shop.example"})
	if e := boris.next("error"); e["code"] != "operator_offline" {
		t.Fatalf("transfer to nobody online: %v", e)
	}
	boris.send(map[string]any{"type": "transfer", "chat": chat, "operator": ""})
	if m := boris.message(5); m["code"] != "release" || m["name"] != "boris@shop.example" {
		t.Fatalf("the release's note: %v", m)
	}
	boris.forget() // the chat as it was before the release
	if c := boris.next("chat")["chat"].(map[string]any); c["assigned"] != "" {
		t.Fatalf("released chat: %v", c)
	}
	anna.send(map[string]any{"type": "ping"})
	anna.next("pong") // still open after its refusals
}

// POST /api/v1/chats/ID/transfer through the real server: the holder
// hands the chat on, the chat is then not theirs to move; a token for a
// manager moves any chat; an empty operator returns it to the queue; an
// unknown chat, another site's token, an operator not online, a closed
// chat and a malformed body are refused with a JSON error and change
// nothing.
func TestChatTransferAPI(t *testing.T) {
	srv := httpdtest.Start(t)
	site := srv.Site(t, "Shop", "shop.example")
	other := srv.Site(t, "Other", "other.example")
	a := accounts.New(srv.DB)
	for email, role := range map[string]string{"anna@shop.example": accounts.RoleOperator, "max@shop.example": accounts.RoleManager} {
		if _, err := a.CreateUser(t.Context(), email, "a long enough passphrase", role); err != nil {
			t.Fatal(err)
		}
	}
	bot := chatToken(t, srv, "bot")
	anna, err := a.CreateUserToken(t.Context(), "anna's bridge", nil, "anna@shop.example")
	if err != nil {
		t.Fatal(err)
	}
	manager, err := a.CreateUserToken(t.Context(), "max's bridge", nil, "max@shop.example")
	if err != nil {
		t.Fatal(err)
	}
	otherOnly := chatToken(t, srv, "other crm", mustSite(t, srv, other))
	for _, tok := range []string{bot, anna, manager} {
		if status, out := apiCall(t, "POST", srv.URL+"api/v1/operators/presence", tok, map[string]string{"site": site, "status": "online"}); status != http.StatusOK {
			t.Fatalf("presence: %d %v", status, out)
		}
	}
	vis, _ := newChatVisitor(t, srv, site, "https://shop.example/").connect(t, shopOrigin, 0, 0)
	vis.send(map[string]any{"type": "send", "ref": "v1", "text": "Есть ли размер 44?"})
	chat := num(vis.next("ack")["chat"])
	if status, out := apiCall(t, "POST", fmt.Sprintf("%sapi/v1/chats/%d/messages", srv.URL, chat), bot, map[string]string{"text": "Бот: сейчас позову человека"}); status != http.StatusOK {
		t.Fatalf("bot's answer: %d %v", status, out)
	}
	transfer := func(tok string, chat uint64, body any) (int, map[string]any) {
		t.Helper()
		return apiCall(t, "POST", fmt.Sprintf("%sapi/v1/chats/%d/transfer", srv.URL, chat), tok, body)
	}
	status, out := transfer(bot, chat, map[string]string{"operator": " Anna@Shop.example "})
	if status != http.StatusOK || out["result"].(map[string]any)["assigned"] != "anna@shop.example" {
		t.Fatalf("the bot hands the chat to anna: %d %v", status, out)
	}
	msgs := apiMessages(t, srv, bot, chat, 2)
	if len(msgs) != 1 || msgs[0]["from"] != "system" || msgs[0]["name"] != "bot" {
		t.Fatalf("the note in the API: %v", msgs)
	}
	for _, tt := range []struct {
		what  string
		tok   string
		chat  uint64
		body  any
		want  int
		error string
	}{
		{"the bot again, the chat anna's now", bot, chat, map[string]string{"operator": "bot"}, http.StatusConflict, "chat %d is anna@shop.example's"},
		{"to an operator not online", anna, chat, map[string]string{"operator": "olga@shop.example"}, http.StatusConflict, "olga@shop.example is not online on this site: a chat goes to an operator online, not away"},
		{"no such chat", anna, 999999, map[string]string{"operator": "bot"}, http.StatusNotFound, "no chat 999999 on this token's sites"},
		{"another site's token", otherOnly, chat, map[string]string{"operator": "bot"}, http.StatusNotFound, "no chat %d on this token's sites"},
		{"no operator field", anna, chat, map[string]string{}, http.StatusBadRequest, ""},
		{"a typo", anna, chat, map[string]string{"operater": "bot"}, http.StatusBadRequest, ""},
		{"not an object", anna, chat, []string{"bot"}, http.StatusBadRequest, ""},
		{"a control character", anna, chat, map[string]string{"operator": "bo\x01t"}, http.StatusBadRequest, ""},
		{"the manager, the chat no longer the bot's", manager, chat, map[string]string{"operator": "bot", "from": "bot"}, http.StatusConflict, "chat %d is anna@shop.example's"},
		{"a control character in from", manager, chat, map[string]string{"operator": "bot", "from": "a\x01"}, http.StatusBadRequest, ""},
	} {
		status, out := transfer(tt.tok, tt.chat, tt.body)
		msg := tt.error
		if msg != "" && tt.what != "no such chat" && tt.what != "to an operator not online" {
			msg = fmt.Sprintf(tt.error, chat)
		}
		if status != tt.want || out["success"] != false || out["error"] == "" || msg != "" && out["error"] != msg {
			t.Errorf("%s: %d %v, want %d", tt.what, status, out, tt.want)
		}
	}
	if msgs := apiMessages(t, srv, bot, chat, 3); len(msgs) != 0 {
		t.Fatalf("refused transfers wrote %v", msgs)
	}
	// The manager moves anna's chat back to the bot; anna releases it
	// once it is hers again.
	if status, out := transfer(manager, chat, map[string]string{"operator": "bot", "from": "Anna@Shop.example"}); status != http.StatusOK || out["result"].(map[string]any)["assigned"] != "bot" {
		t.Fatalf("the manager's transfer: %d %v", status, out)
	}
	if status, out := transfer(bot, chat, map[string]string{"operator": "anna@shop.example"}); status != http.StatusOK {
		t.Fatalf("back to anna: %d %v", status, out)
	}
	if status, out := transfer(anna, chat, map[string]string{"operator": ""}); status != http.StatusOK || out["result"].(map[string]any)["assigned"] != "" {
		t.Fatalf("anna's release: %d %v", status, out)
	}
	if status, out := apiCall(t, "POST", fmt.Sprintf("%sapi/v1/chats/%d/close", srv.URL, chat), bot, nil); status != http.StatusOK {
		t.Fatalf("close: %d %v", status, out)
	}
	if status, out := transfer(manager, chat, map[string]string{"operator": "bot"}); status != http.StatusConflict || out["success"] != false {
		t.Errorf("transfer of a closed chat: %d %v", status, out)
	}
}

// The site's finished chats page shows a transfer's note in the reader's
// language (its stored text has both), the names escaped.
func TestChatsPageShowsTransferInReadersWords(t *testing.T) {
	f := newCBFixture(t)
	site, err := f.srv.HTTP.Sites().ByKey(f.key)
	if err != nil {
		t.Fatal(err)
	}
	svc := f.srv.HTTP.Chats()
	anna := chats.Operator{Name: "anna@shop.example"}
	defer svc.Connect(anna, []uint32{site.ID}, chats.Online)()
	defer svc.Connect(chats.Operator{Name: "<b>bot</b>"}, []uint32{site.ID}, chats.Online)()
	ack, err := svc.Send(t.Context(), chats.Visitor{Site: site, Visitor: f.v.VisitorID, Session: f.v.SessionID, Page: "https://shop.example/"}, "v1", "Здравствуйте")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Transfer(t.Context(), anna, false, site.ID, ack.Chat.ID, chats.Move{To: "<b>bot</b>"}); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Close(t.Context(), site.ID, ack.Chat.ID, 0, chats.ClosedByOperator); err != nil {
		t.Fatal(err)
	}
	c := f.srv.Client(t)
	for lang, want := range map[string]string{"en": "anna@shop.example transferred the chat to &lt;b&gt;bot&lt;/b&gt;", "ru": "anna@shop.example передал(а) чат: &lt;b&gt;bot&lt;/b&gt;"} {
		_, body := getPageIn(t, c, f.srv.URL+"sites/"+f.key+"/chat", lang)
		if !strings.Contains(body, want) || strings.Contains(body, "<b>bot") || strings.Contains(body, "chat to &lt;b&gt;bot&lt;/b&gt;. / ") {
			t.Errorf("%s: the chats page does not show the note as %q", lang, want)
		}
	}
}

// After Anna hands her chat to Boris, her console, still showing it, does
// not mark the visitor's next words read for him: the read mark is the
// operators' one (every console's unread count), and words Boris has not
// seen must stay unread in his list. His own reading moves it. Anna's
// console read them at once as they came, so Boris's list never showed
// the transferred chat's unread badge.
func TestTransferredChatStaysUnreadForColleague(t *testing.T) {
	srv := httpdtest.Start(t)
	site := srv.Site(t, "Shop", "shop.example")
	anna, _ := connectConsole(t, srv, consoleHeader(t, srv, "anna@shop.example", accounts.RoleOperator), nil)
	bh := consoleHeader(t, srv, "boris@shop.example", accounts.RoleOperator)
	boris, _ := connectConsole(t, srv, bh, nil)
	cv := newChatVisitor(t, srv, site, "https://shop.example/")
	vis, _ := cv.connect(t, shopOrigin, 0, 0)
	vis.send(map[string]any{"type": "send", "ref": "v1", "text": "Нужна доставка в Казань"})
	chat := num(vis.next("ack")["chat"])
	anna.message(1)
	anna.send(map[string]any{"type": "read", "chat": chat, "id": 1})
	anna.send(map[string]any{"type": "send", "chat": chat, "ref": "a1", "text": "Передам коллеге"})
	anna.next("ack")
	anna.send(map[string]any{"type": "transfer", "chat": chat, "operator": "boris@shop.example"})
	boris.message(3)
	vis.send(map[string]any{"type": "send", "ref": "v2", "text": "Жду ответа"})
	vis.next("ack")
	anna.message(4)
	anna.send(map[string]any{"type": "read", "chat": chat, "id": 4})
	anna.send(map[string]any{"type": "ping"})
	anna.next("pong") // her read is handled

	operatorRead := func() uint64 {
		t.Helper()
		c, w := connectConsole(t, srv, bh, nil)
		defer c.conn.Close()
		for _, ch := range w["chats"].([]any) {
			if ch := ch.(map[string]any); num(ch["id"]) == chat {
				return num(ch["operator_read"])
			}
		}
		t.Fatalf("chat %d not in the welcome: %v", chat, w["chats"])
		return 0
	}
	if got := operatorRead(); got >= 4 {
		t.Errorf("after Anna's console read Boris's chat, its operators' read mark is %d, want below 4 (the visitor's new words unread for Boris)", got)
	}
	boris.send(map[string]any{"type": "read", "chat": chat, "id": 4})
	if f := anna.next("read"); num(f["id"]) != 4 || f["from"] != "operator" {
		t.Errorf("Boris read it: Anna's console is told %v", f)
	}
	if got := operatorRead(); got != 4 {
		t.Errorf("after Boris read his chat, the read mark is %d, want 4", got)
	}
}
