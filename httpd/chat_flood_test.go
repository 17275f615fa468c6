package httpd_test

import (
	"fmt"
	"net"
	"net/http"
	"testing"

	"github.com/fasthttp/websocket"

	"appliance/httpd/accounts"
	"appliance/httpd/httpdtest"
)

// A flood from one address stays within its limits (messages a minute per
// visitor and per IP, frames a second per socket) and the other chats of
// the site go on: the operator gets exactly what the limits let through,
// and a visitor on another address chats both ways throughout.
func TestChatFloodStaysWithinLimits(t *testing.T) {
	srv := httpdtest.Start(t)
	site := srv.Site(t, "Shop", "shop.example")
	con, _ := connectConsole(t, srv, consoleHeader(t, srv, "anna@shop.example", accounts.RoleOperator), nil)

	// The calm visitor's socket comes from 127.0.0.2.
	calm := newChatVisitor(t, srv, site, "https://shop.example/")
	d := websocket.Dialer{NetDial: func(network, addr string) (net.Conn, error) {
		nd := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 2)}}
		return nd.Dial(network, addr)
	}}
	cc, _, err := d.Dial(wsURL(srv, "t/v1/chat/ws?k="+site), http.Header{"Origin": {shopOrigin}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cc.Close() })
	calmSock := &wsClient{t: t, conn: cc}
	calmSock.send(map[string]any{"type": "hello", "ci": calm.v.CI, "key": calm.v.Key, "u": shopOrigin + "/"})
	calmSock.next("welcome")
	calmSock.send(map[string]any{"type": "send", "ref": "c1", "text": "Hello, I have a question"})
	calmChat := num(calmSock.next("ack")["chat"])

	// Four visitors from 127.0.0.1: 20 messages a minute each, 60 from
	// the address; the fourth visitor's first message is refused, and
	// nothing of it stored.
	var flooders []*chatVisitor
	for range 4 {
		flooders = append(flooders, newChatVisitor(t, srv, site, "https://shop.example/"))
	}
	for i, fv := range flooders[:3] {
		c, _ := fv.connect(t, shopOrigin, 0, 0)
		for k := range 20 {
			c.send(map[string]any{"type": "send", "ref": fmt.Sprint(k), "text": fmt.Sprintf("flood %d.%d", i, k)})
			if a := c.next("ack"); a["ref"] != fmt.Sprint(k) {
				t.Fatalf("flooder %d, message %d: %v", i, k, a)
			}
		}
		c.send(map[string]any{"type": "send", "ref": "x", "text": "one more"})
		if code, errs := c.closed(); code != websocket.ClosePolicyViolation || len(errs) != 1 || errs[0]["code"] != "rate_limit" {
			t.Errorf("flooder %d's 21st message: close %d, errors %v", i, code, errs)
		}
		// The operator answers the calm visitor meanwhile.
		con.send(map[string]any{"type": "send", "chat": calmChat, "ref": fmt.Sprint("o", i), "text": fmt.Sprint("answer ", i)})
		m := calmSock.next("message")
		for m["from"] == "visitor" { // their own, after its ack
			m = calmSock.next("message")
		}
		if m["from"] != "operator" || m["text"] != fmt.Sprint("answer ", i) {
			t.Fatalf("the calm visitor got %v", m)
		}
	}
	last, _ := flooders[3].connect(t, shopOrigin, 0, 0)
	last.send(map[string]any{"type": "send", "ref": "y", "text": "the 61st from this address"})
	if code, errs := last.closed(); code != websocket.ClosePolicyViolation || len(errs) != 1 || errs[0]["code"] != "rate_limit" {
		t.Errorf("the address's 61st message: close %d, errors %v", code, errs)
	}
	if c, ok, _ := srv.HTTP.Chats().VisitorChat(mustSite(t, srv, site), flooders[3].v.VisitorID); ok {
		t.Errorf("a refused message opened chat %+v", c)
	}
	// A burst of frames closes the socket after the burst allowance.
	burst, _ := flooders[0].connect(t, shopOrigin, 0, 0)
	for range 40 {
		_ = burst.conn.WriteMessage(websocket.TextMessage, []byte(`{"type":"ping"}`))
	}
	if code, errs := burst.closed(); code != websocket.ClosePolicyViolation || len(errs) != 1 || errs[0]["code"] != "rate_limit" {
		t.Errorf("40 frames at once: close %d, errors %v", code, errs)
	}

	// The calm chat goes on, and the operator got the 60 flood messages
	// that were let through, no more, before the calm visitor's next one.
	calmSock.send(map[string]any{"type": "send", "ref": "c2", "text": "Thanks!"})
	if a := calmSock.next("ack"); num(a["chat"]) != calmChat || num(a["id"]) != 5 {
		t.Errorf("the calm visitor's second message: %v (want id 5: 1 theirs, 3 answers)", a)
	}
	flood := 0
	for {
		m := con.next("message")
		if m["from"] != "visitor" {
			continue
		}
		if num(m["chat"]) != calmChat {
			flood++
			continue
		}
		if m["text"] == "Thanks!" {
			break
		}
	}
	if flood != 60 {
		t.Errorf("the operator got %d flood messages, want 60", flood)
	}
}
