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

// An open chat's line on the visitor card, and its row on the chat page,
// link to the console's address of it (/chat?chat=ID) for whoever may use
// the console; an ended chat's do not. The console's page hands the
// address's chat to its script with where its messages are read when the
// console no longer shows it: the chat page for a role that sees reports,
// the visitor's card for an operator; an unknown chat is said to be none;
// an id that is not one is refused with a 400 and its reason.
func TestConsoleChatLinks(t *testing.T) {
	srv := httpdtest.Start(t)
	key := srv.Site(t, "Shop", "shop.example")
	site, err := srv.HTTP.Sites().ByKey(key)
	if err != nil {
		t.Fatal(err)
	}
	svc := srv.HTTP.Chats()
	start := func(page, text string) (chat, visitor uint64) {
		t.Helper()
		cv := newChatVisitor(t, srv, key, page)
		v := chats.Visitor{Site: site, Visitor: cv.v.VisitorID, Session: cv.v.SessionID, Page: page}
		ack, err := svc.Send(t.Context(), v, "r-"+text, text)
		if err != nil {
			t.Fatal(err)
		}
		return ack.Chat.ID, cv.v.VisitorID
	}
	open, openVisitor := start("https://shop.example/boots", "Do you have boots?")
	ended, endedVisitor := start("https://shop.example/bags", "How much is this bag?")
	if _, err := svc.Close(t.Context(), site.ID, ended, 0, chats.ClosedByOperator); err != nil {
		t.Fatal(err)
	}
	link := func(id uint64) string { return fmt.Sprintf(`href="/chat?chat=%d"`, id) }
	owner := srv.Client(t)
	operator := signInAs(t, srv, accounts.RoleOperator)
	for name, c := range map[string]*http.Client{"owner": owner, "operator": operator} {
		card := fmt.Sprintf("%ssites/%s/visitors/%d", srv.URL, key, openVisitor)
		if code, body := getPage(t, c, card); code != http.StatusOK || !strings.Contains(body, link(open)) {
			t.Errorf("%s: the card of the open chat's visitor (%d) has no link to it in the console", name, code)
		}
		card = fmt.Sprintf("%ssites/%s/visitors/%d", srv.URL, key, endedVisitor)
		if code, body := getPage(t, c, card); code != http.StatusOK || strings.Contains(body, link(ended)) {
			t.Errorf("%s: the card of the ended chat's visitor (%d) links to it in the console", name, code)
		}
	}
	for lang, say := range map[string]string{"en": "Answer in the console", "ru": "Ответить в консоли"} {
		code, body := getPageIn(t, owner, fmt.Sprintf("%ssites/%s/chat?chat=%d", srv.URL, key, open), lang)
		if code != http.StatusOK || !strings.Contains(body, link(open)+`>`+say+`</a>`) {
			t.Errorf("%s: the chat page of the open chat (%d) has no link %q to it in the console", lang, code, say)
		}
	}
	if code, body := getPage(t, owner, fmt.Sprintf("%ssites/%s/chat?chat=%d", srv.URL, key, ended)); code != http.StatusOK || strings.Contains(body, link(ended)) {
		t.Errorf("the chat page of the ended chat (%d) links to it in the console", code)
	}

	attrs := func(c *http.Client, q string) (int, string) {
		t.Helper()
		code, body := getPage(t, c, srv.URL+"chat"+q)
		i := strings.Index(body, `id="console"`)
		if i < 0 {
			return code, body
		}
		return code, body[i : i+strings.Index(body[i:], ">")]
	}
	for _, tc := range []struct {
		c         *http.Client
		q         string
		want, not []string
	}{
		{owner, "", nil, []string{"data-chat="}},
		{owner, fmt.Sprintf("?chat=%d", open), []string{fmt.Sprintf(`data-chat="%d"`, open), `data-found="1"`,
			fmt.Sprintf(`data-transcript="/sites/%s/chat?chat=%d#chat-%d"`, key, open, open)}, nil},
		{owner, fmt.Sprintf("?chat=%d", ended), []string{fmt.Sprintf(`data-chat="%d"`, ended), `data-found="1"`,
			fmt.Sprintf(`data-transcript="/sites/%s/chat?chat=%d#chat-%d"`, key, ended, ended)}, nil},
		{operator, fmt.Sprintf("?chat=%d", ended), []string{fmt.Sprintf(`data-chat="%d"`, ended), `data-found="1"`,
			fmt.Sprintf(`data-transcript="/sites/%s/visitors/%d?chat=%d#chat-%d"`, key, endedVisitor, ended, ended)}, nil},
		{owner, "?chat=999999", []string{`data-chat="999999"`}, []string{"data-found", "data-transcript"}},
	} {
		code, got := attrs(tc.c, tc.q)
		if code != http.StatusOK {
			t.Errorf("GET /chat%s: %d", tc.q, code)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(got, w) {
				t.Errorf("GET /chat%s: the console is %s, want %s", tc.q, got, w)
			}
		}
		for _, n := range tc.not {
			if strings.Contains(got, n) {
				t.Errorf("GET /chat%s: the console is %s, want no %s", tc.q, got, n)
			}
		}
	}
	for _, q := range []string{"?chat=", "?chat=0", "?chat=01", "?chat=abc", "?chat=-1", "?chat=9007199254740992"} {
		if code, body := getPageIn(t, owner, srv.URL+"chat"+q, "ru"); code != http.StatusBadRequest || !strings.Contains(body, "В адресе не указан чат; откройте консоль из меню.") {
			t.Errorf("GET /chat%s: %d, want 400 saying the address names no chat", q, code)
		}
	}
}
