package httpd_test

import (
	"net/http"
	"net/url"
	"testing"

	"appliance/httpd/accounts"
	"appliance/httpd/httpdtest"
)

// A manager demoted to operator on the team page while their console is
// open loses the manager's transfer at once: the socket asks for the
// user's role at each transfer, not only when it connected. Before, the
// open console kept moving colleagues' chats (moveChats) for as long as
// it stayed connected.
func TestConsoleTransferFollowsRoleChange(t *testing.T) {
	srv := httpdtest.Start(t)
	site := srv.Site(t, "Shop", "shop.example")
	owner := srv.Client(t)
	anna, _ := connectConsole(t, srv, consoleHeader(t, srv, "anna@shop.example", accounts.RoleOperator), nil)
	mary, _ := connectConsole(t, srv, consoleHeader(t, srv, "mary@shop.example", accounts.RoleManager), nil)
	cv := newChatVisitor(t, srv, site, "https://shop.example/")
	vis, _ := cv.connect(t, shopOrigin, 0, 0)
	vis.send(map[string]any{"type": "send", "ref": "v1", "text": "Нужна доставка в Казань"})
	chat := num(vis.next("ack")["chat"])
	anna.send(map[string]any{"type": "send", "chat": chat, "ref": "a1", "text": "Сейчас узнаю"})
	anna.next("ack")

	resp, err := owner.PostForm(srv.URL+"team/role", url.Values{"csrf": {srv.FormToken(t, owner, "/team")},
		"email": {"mary@shop.example"}, "role": {accounts.RoleOperator}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("demote mary: status %d", resp.StatusCode)
	}

	mary.send(map[string]any{"type": "transfer", "chat": chat, "operator": ""})
	mary.send(map[string]any{"type": "ping"})
	_, before := untilType(mary, "pong")
	refused := false
	for _, f := range before {
		if f["type"] == "error" && f["code"] == "assigned" {
			refused = true
		}
		if f["type"] == "message" && f["code"] == "release" {
			t.Fatalf("a demoted manager's open console released anna's chat: %v", f)
		}
	}
	if !refused {
		t.Fatalf("the transfer of a demoted manager was not refused as assigned: frames %v", before)
	}
	anna.send(map[string]any{"type": "send", "chat": chat, "ref": "a2", "text": "Доставим завтра"})
	if a := anna.next("ack"); a["ref"] != "a2" {
		t.Fatalf("anna's chat after the refused transfer: %v", a)
	}
}
