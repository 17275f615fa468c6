package httpd_test

import (
	"testing"

	"appliance/httpd/accounts"
	"appliance/httpd/httpdtest"
)

// An operator who answers a chat nobody had takes it: the visitor is told
// who answers them (the assigned frame, the window's "anna is answering
// you") before the answer, so the note does not come below anna's first
// words.
func TestChatAssignedBeforeFirstAnswer(t *testing.T) {
	srv := httpdtest.Start(t)
	site := srv.Site(t, "Shop", "shop.example")
	cv := newChatVisitor(t, srv, site, "https://shop.example/")
	con, _ := connectConsole(t, srv, consoleHeader(t, srv, "anna@shop.example", accounts.RoleOperator), nil)
	vis, _ := cv.connect(t, shopOrigin, 0, 0)
	vis.send(map[string]any{"type": "send", "ref": "v1", "text": "Hello"})
	chat := num(vis.next("ack")["chat"])
	con.send(map[string]any{"type": "send", "chat": chat, "ref": "o1", "text": "Good day"})
	con.next("ack")
	var order []string
	for {
		f := vis.read()
		if f == nil {
			t.Fatal("the visitor's socket closed")
		}
		if f["type"] == "assigned" {
			order = append(order, "assigned "+f["name"].(string))
		}
		if f["type"] == "message" && f["from"] == "operator" {
			order = append(order, "message "+f["text"].(string))
			break
		}
	}
	if len(order) != 2 || order[0] != "assigned anna" {
		t.Errorf("the visitor got %q, want the assigned frame before the answer", order)
	}
}
