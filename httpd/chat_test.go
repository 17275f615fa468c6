package httpd_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fasthttp/websocket"

	"appliance/httpd"
	"appliance/httpd/accounts"
	"appliance/httpd/chats"
	"appliance/httpd/httpdtest"
)

// wsClient is a chat socket of a test: a visitor's or a console's. It
// reads the socket's frames in order; a frame read while waiting for one
// of another type (next, message) is held, in order, for the reads after:
// no frame the server sent is lost to the test. (A sender gets its own
// message before its ack, for one; a client that waited for the ack and
// dropped the message on the way never saw it again.)
type wsClient struct {
	t    testing.TB
	conn *websocket.Conn
	held []map[string]any // read off the socket, not yet returned; oldest first
}

// hangGuard bounds every read of a test socket, so that a missing frame
// fails the test instead of hanging it; it is no latency assertion.
const hangGuard = 20 * time.Second

func wsURL(srv *httpdtest.Server, path string) string {
	return "ws" + strings.TrimPrefix(srv.URL, "http") + path
}

// dialChat opens a socket with the headers; it fails the test unless the
// upgrade succeeds.
func dialChat(t testing.TB, rawURL string, h http.Header) *wsClient {
	t.Helper()
	c, resp, err := websocket.DefaultDialer.Dial(rawURL, h)
	if err != nil {
		status := 0
		if resp != nil {
			status = resp.StatusCode
		}
		t.Fatalf("dial %s: %v (status %d)", rawURL, err, status)
	}
	t.Cleanup(func() { c.Close() })
	return &wsClient{t: t, conn: c}
}

// dialStatus is the HTTP status of a refused upgrade and its body.
func dialStatus(t testing.TB, rawURL string, h http.Header) (int, string) {
	t.Helper()
	c, resp, err := websocket.DefaultDialer.Dial(rawURL, h)
	if err == nil {
		c.Close()
		return http.StatusSwitchingProtocols, ""
	}
	if resp == nil {
		t.Fatalf("dial %s: %v", rawURL, err)
	}
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func (c *wsClient) send(frame map[string]any) {
	c.t.Helper()
	if err := c.conn.WriteJSON(frame); err != nil {
		c.t.Fatalf("write %v: %v", frame, err)
	}
}

// read returns the next frame, a held one first; nil when the socket
// closed.
func (c *wsClient) read() map[string]any {
	c.t.Helper()
	if len(c.held) > 0 {
		f := c.held[0]
		c.held = c.held[1:]
		return f
	}
	return c.receive()
}

// receive reads the next frame off the socket; nil when it closed.
func (c *wsClient) receive() map[string]any {
	c.t.Helper()
	_ = c.conn.SetReadDeadline(time.Now().Add(hangGuard))
	_, b, err := c.conn.ReadMessage()
	if err != nil {
		return nil
	}
	var f map[string]any
	if err := json.Unmarshal(b, &f); err != nil {
		c.t.Fatalf("frame %q is not JSON: %v", b, err)
	}
	return f
}

// next returns the first frame of the type, held or to come; the frames
// of other types it passes are held, in order, for the next reads.
func (c *wsClient) next(typ string) map[string]any {
	c.t.Helper()
	for i, f := range c.held {
		if f["type"] == typ {
			c.held = slices.Delete(c.held, i, i+1)
			return f
		}
	}
	for {
		f := c.receive()
		if f == nil {
			c.t.Fatalf("socket closed waiting for a %s frame; held %v", typ, c.held)
		}
		if f["type"] == typ {
			return f
		}
		c.held = append(c.held, f)
	}
}

// message returns the message frame of id: the message frames before it
// (lower ids, which the test has seen or does not want) are dropped, and
// frames of other types held, as next holds them. A higher id first
// fails the test.
func (c *wsClient) message(id uint64) map[string]any {
	c.t.Helper()
	for {
		f := c.next("message")
		if num(f["id"]) == id {
			return f
		}
		if num(f["id"]) > id {
			c.t.Fatalf("message %v came before id %d", f, id)
		}
	}
}

// forget drops the frames held so far, for a test that wants the frames
// after the one it has just had and holds none from after it (the frames
// message and next hold came before the frame they returned, unless that
// one was held itself). An error frame among them fails the test: it is
// not the test's to drop unseen.
func (c *wsClient) forget() {
	c.t.Helper()
	for _, f := range c.held {
		if f["type"] == "error" {
			c.t.Errorf("error frame %v dropped unseen", f)
		}
	}
	c.held = nil
}

// closed reads until the socket closes and returns its close code and the
// error frames it got first, held ones too.
func (c *wsClient) closed() (int, []map[string]any) {
	c.t.Helper()
	var errs []map[string]any
	for _, f := range c.held {
		if f["type"] == "error" {
			errs = append(errs, f)
		}
	}
	c.held = nil
	for {
		_ = c.conn.SetReadDeadline(time.Now().Add(hangGuard))
		_, b, err := c.conn.ReadMessage()
		if err != nil {
			var ce *websocket.CloseError
			if ok := asClose(err, &ce); ok {
				return ce.Code, errs
			}
			return -1, errs
		}
		var f map[string]any
		_ = json.Unmarshal(b, &f)
		if f["type"] == "error" {
			errs = append(errs, f)
		}
	}
}

func asClose(err error, ce **websocket.CloseError) bool {
	e, ok := err.(*websocket.CloseError)
	if ok {
		*ce = e
	}
	return ok
}

func num(v any) uint64 {
	f, _ := v.(float64)
	return uint64(f)
}

// chatVisitor is a visitor with a page view on a site: their ci and key.
type chatVisitor struct {
	srv  *httpdtest.Server
	site string
	v    visit
}

func newChatVisitor(t testing.TB, srv *httpdtest.Server, site, page string) *chatVisitor {
	return &chatVisitor{srv: srv, site: site, v: trackHit(t, srv, site, "", page, "https://www.google.com/")}
}

// connect opens the visitor's socket from origin and says hello with the
// chat and last id it holds; it returns the socket and the welcome.
func (cv *chatVisitor) connect(t testing.TB, origin string, chat, after uint64) (*wsClient, map[string]any) {
	t.Helper()
	c := dialChat(t, wsURL(cv.srv, "t/v1/chat/ws?k="+cv.site), http.Header{"Origin": {origin}})
	c.send(map[string]any{"type": "hello", "ci": cv.v.CI, "key": cv.v.Key, "u": origin + "/page", "chat": chat, "after": after})
	return c, c.next("welcome")
}

// consoleHeader signs in a user of role (created) and returns the headers
// of their console's socket.
func consoleHeader(t testing.TB, srv *httpdtest.Server, email, role string) http.Header {
	t.Helper()
	a := accounts.New(srv.DB)
	pw := "a long enough passphrase"
	if _, err := a.User(email); err != nil {
		if _, err := a.CreateUser(context.Background(), email, pw, role); err != nil {
			t.Fatal(err)
		}
	}
	token, _, err := a.Login(context.Background(), email, pw)
	if err != nil {
		t.Fatal(err)
	}
	return http.Header{"Origin": {strings.TrimSuffix(srv.URL, "/")}, "Cookie": {"apl_session=" + token}}
}

func connectConsole(t testing.TB, srv *httpdtest.Server, h http.Header, chats map[string]uint64) (*wsClient, map[string]any) {
	t.Helper()
	c := dialChat(t, wsURL(srv, "chat/ws"), h)
	hello := map[string]any{"type": "hello", "status": "online"}
	if chats != nil {
		hello["chats"] = chats
	}
	c.send(hello)
	return c, c.next("welcome")
}

const shopOrigin = "https://shop.example"

// A visitor and an operator chat both ways over real sockets: status,
// messages, assignment, typing and read marks, and the chat's source.
func TestChatBothWays(t *testing.T) {
	srv := httpdtest.Start(t)
	site := srv.Site(t, "Shop", "shop.example")
	cv := newChatVisitor(t, srv, site, "https://shop.example/cart?utm_source=yandex&utm_medium=cpc")
	vis, welcome := cv.connect(t, shopOrigin, 0, 0)
	if welcome["operators"] != false || num(welcome["chat"]) != 0 {
		t.Fatalf("welcome with nobody online = %v", welcome)
	}
	con, cw := connectConsole(t, srv, consoleHeader(t, srv, "anna@shop.example", accounts.RoleOperator), nil)
	if cw["operator"] != "anna@shop.example" || len(cw["visitors"].([]any)) != 1 {
		t.Fatalf("console welcome = %v", cw)
	}
	if p := vis.next("presence"); p["operators"] != true {
		t.Fatalf("presence = %v", p)
	}
	vis.send(map[string]any{"type": "send", "ref": "v1", "text": "Hello! <b>bold</b>"})
	ack := vis.next("ack")
	chat := num(ack["chat"])
	if ack["ref"] != "v1" || num(ack["id"]) != 1 || chat == 0 {
		t.Fatalf("ack = %v", ack)
	}
	ch := con.next("chat")["chat"].(map[string]any)
	if num(ch["id"]) != chat || ch["status"] != "open" || ch["source"].(map[string]any)["utm_source"] != "yandex" || ch["site"] != site {
		t.Fatalf("chat frame = %v", ch)
	}
	m := con.next("message")
	if num(m["chat"]) != chat || num(m["id"]) != 1 || m["from"] != "visitor" || m["text"] != "Hello! <b>bold</b>" {
		t.Fatalf("console got %v", m)
	}
	vis.send(map[string]any{"type": "typing", "on": true})
	if ty := con.next("typing"); ty["from"] != "visitor" || ty["on"] != true || num(ty["chat"]) != chat {
		t.Fatalf("typing = %v", ty)
	}
	con.send(map[string]any{"type": "read", "chat": chat, "id": 1})
	if rd := vis.next("read"); num(rd["id"]) != 1 || rd["from"] != "operator" {
		t.Fatalf("read = %v", rd)
	}
	con.send(map[string]any{"type": "send", "chat": chat, "ref": "o1", "text": "Hi, Anna here.\nHow can I help?"})
	if a := con.next("ack"); num(a["id"]) != 2 || a["ref"] != "o1" {
		t.Fatalf("operator ack = %v", a)
	}
	var assigned, answer map[string]any
	for assigned == nil || answer == nil {
		switch f := vis.read(); f["type"] {
		case "assigned":
			assigned = f
		case "message":
			if num(f["id"]) == 2 {
				answer = f
			}
		case nil:
			t.Fatal("visitor socket closed")
		}
	}
	if assigned["name"] != "anna" {
		t.Fatalf("assigned = %v", assigned)
	}
	m = answer
	if num(m["id"]) != 2 || m["from"] != "operator" || m["name"] != "anna" || m["text"] != "Hi, Anna here.\nHow can I help?" {
		t.Fatalf("visitor got %v", m)
	}
	vis.send(map[string]any{"type": "close", "chat": chat})
	for {
		ch := con.next("chat")["chat"].(map[string]any)
		if ch["status"] == "closed" {
			if ch["closed_by"] != "visitor" || ch["assigned"] != "anna@shop.example" {
				t.Fatalf("closed chat = %v", ch)
			}
			break
		}
	}
	if cl := vis.next("closed"); cl["by"] != "visitor" {
		t.Fatalf("closed = %v", cl)
	}
}

// A visitor who reconnects with the last id they hold gets exactly the
// messages after it; a resent ref is answered with the first id and stored
// once; a new page of the same visitor sees the whole conversation.
func TestChatResumeNoLossNoDoubles(t *testing.T) {
	// Messages 1-3 the visitor's (refs r1-r3), then their socket closed;
	// 4 and 5 the operator's.
	srv, cv, _, chat := resumeChat(t)
	vis, w := cv.connect(t, shopOrigin, chat, 3)
	if num(w["chat"]) != chat || w["status"] != "open" {
		t.Fatalf("welcome = %v", w)
	}
	for want := uint64(4); want <= 5; want++ {
		if m := vis.next("message"); num(m["id"]) != want {
			t.Fatalf("resumed message %v, want id %d", m, want)
		}
	}
	// The ack of r3 was "lost": the window resends it.
	vis.send(map[string]any{"type": "send", "ref": "r3", "text": "visitor 3"})
	if a := vis.next("ack"); num(a["id"]) != 3 {
		t.Fatalf("resent ref acked as %v, want id 3", a)
	}
	vis.send(map[string]any{"type": "ping"})
	for f := vis.read(); f["type"] != "pong"; f = vis.read() {
		if f["type"] == "message" {
			t.Fatalf("the resend was delivered again: %v", f)
		}
	}
	// Another page (a second socket, no chat known) replays it all.
	other, w2 := cv.connect(t, shopOrigin, 0, 0)
	if num(w2["chat"]) != chat {
		t.Fatalf("new page welcome = %v", w2)
	}
	for want := uint64(1); want <= 5; want++ {
		if m := other.next("message"); num(m["id"]) != want {
			t.Fatalf("history message %v, want id %d", m, want)
		}
	}
	msgs := apiMessages(t, srv, chatToken(t, srv, "crm"), chat, 0)
	if len(msgs) != 5 {
		t.Fatalf("%d messages stored, want 5: %v", len(msgs), msgs)
	}
}

// The server restarts mid-chat over the same store: both sides reconnect
// and resume; nothing acknowledged is lost, ids go on.
func TestChatSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	srv := httpdtest.StartAt(t, dir)
	site := srv.Site(t, "Shop", "shop.example")
	cv := newChatVisitor(t, srv, site, "https://shop.example/")
	h := consoleHeader(t, srv, "anna@shop.example", accounts.RoleOperator)
	con, _ := connectConsole(t, srv, h, nil)
	vis, _ := cv.connect(t, shopOrigin, 0, 0)
	vis.send(map[string]any{"type": "send", "ref": "a", "text": "before the restart"})
	chat := num(vis.next("ack")["chat"])
	con.send(map[string]any{"type": "send", "chat": chat, "text": "answer before"})
	con.next("ack")
	vis.message(2) // the answer
	srv.Stop()
	if code, _ := vis.closed(); code != websocket.CloseGoingAway {
		t.Errorf("visitor socket closed with %d, want 1001 going away", code)
	}
	srv2 := httpdtest.StartAt(t, dir)
	cv.srv = srv2
	vis, w := cv.connect(t, shopOrigin, chat, 2)
	if num(w["chat"]) != chat || w["status"] != "open" {
		t.Fatalf("welcome after restart = %v", w)
	}
	con, cw := connectConsole(t, srv2, consoleHeader(t, srv2, "anna@shop.example", accounts.RoleOperator), map[string]uint64{fmt.Sprint(chat): 1})
	if len(cw["chats"].([]any)) != 1 {
		t.Fatalf("console welcome after restart = %v", cw)
	}
	if m := con.next("message"); num(m["id"]) != 2 {
		t.Fatalf("console resumed with %v, want id 2", m)
	}
	vis.send(map[string]any{"type": "send", "ref": "b", "text": "after the restart"})
	if a := vis.next("ack"); num(a["id"]) != 3 || num(a["chat"]) != chat {
		t.Fatalf("ack after restart = %v", a)
	}
	if m := con.next("message"); num(m["id"]) != 3 || m["text"] != "after the restart" {
		t.Fatalf("console got %v", m)
	}
}

// Origins and credentials: a visitor's socket only from the site's
// domains and with its ci's key; the console only from the appliance's
// origin with a session.
func TestChatOriginsAndCredentials(t *testing.T) {
	srv := httpdtest.Start(t)
	site := srv.Site(t, "Shop", "shop.example")
	cv := newChatVisitor(t, srv, site, "https://shop.example/")
	for _, origin := range []string{"https://evil.example", "null", ""} {
		if status, body := dialStatus(t, wsURL(srv, "t/v1/chat/ws?k="+site), http.Header{"Origin": {origin}}); status != http.StatusForbidden {
			t.Errorf("visitor socket from %q: %d %s, want 403", origin, status, body)
		}
	}
	if status, _ := dialStatus(t, wsURL(srv, "t/v1/chat/ws?k=nosuchsite"), http.Header{"Origin": {shopOrigin}}); status != http.StatusNotFound {
		t.Errorf("unknown site: %d, want 404", status)
	}
	if status, _ := dialStatus(t, wsURL(srv, "t/v1/chat/ws?k="+site), http.Header{"Origin": {"https://www.shop.example"}}); status != http.StatusSwitchingProtocols {
		t.Errorf("a sub-domain of the site: %d, want the socket", status)
	}
	c := dialChat(t, wsURL(srv, "t/v1/chat/ws?k="+site), http.Header{"Origin": {shopOrigin}})
	c.send(map[string]any{"type": "hello", "ci": cv.v.CI, "key": strings.Repeat("0", 32)})
	if code, errs := c.closed(); code != websocket.ClosePolicyViolation || len(errs) != 1 || errs[0]["code"] != "wrong_key" {
		t.Errorf("wrong key: close %d, errors %v", code, errs)
	}
	c = dialChat(t, wsURL(srv, "t/v1/chat/ws?k="+site), http.Header{"Origin": {shopOrigin}})
	c.send(map[string]any{"type": "send", "text": "no hello"})
	if _, errs := c.closed(); len(errs) != 1 || errs[0]["code"] != "hello_required" {
		t.Errorf("send before hello: errors %v", errs)
	}
	h := consoleHeader(t, srv, "anna@shop.example", accounts.RoleOperator)
	bad := h.Clone()
	bad.Set("Origin", shopOrigin)
	if status, _ := dialStatus(t, wsURL(srv, "chat/ws"), bad); status != http.StatusForbidden {
		t.Errorf("console from the site's origin: %d, want 403", status)
	}
	if status, _ := dialStatus(t, wsURL(srv, "chat/ws"), http.Header{"Origin": {strings.TrimSuffix(srv.URL, "/")}}); status != http.StatusUnauthorized {
		t.Errorf("console without a session: %d, want 401", status)
	}
}

// Bad frames and floods: an error frame and the socket closed, nothing
// stored; one visitor's flood leaves another's chat working.
func TestChatLimits(t *testing.T) {
	srv := httpdtest.Start(t, func(o *httpd.Options) { o.ChatLimits.ConnsPerIP = 6 })
	site := srv.Site(t, "Shop", "shop.example")
	flooder := newChatVisitor(t, srv, site, "https://shop.example/")
	calm := newChatVisitor(t, srv, site, "https://shop.example/")
	for _, tt := range []struct {
		name  string
		frame func(c *wsClient)
		code  string
		close int
	}{
		{"not JSON", func(c *wsClient) { _ = c.conn.WriteMessage(websocket.TextMessage, []byte("{nope")) }, "bad_frame", websocket.ClosePolicyViolation},
		{"binary", func(c *wsClient) { _ = c.conn.WriteMessage(websocket.BinaryMessage, []byte(`{"type":"ping"}`)) }, "bad_frame", websocket.ClosePolicyViolation},
		{"too large", func(c *wsClient) {
			_ = c.conn.WriteMessage(websocket.TextMessage, []byte(`{"type":"send","text":"`+strings.Repeat("a", 10000)+`"}`))
		}, "too_large", websocket.CloseMessageTooBig},
		{"text too long", func(c *wsClient) { c.send(map[string]any{"type": "send", "text": strings.Repeat("я", 2049)}) }, "bad_text", websocket.ClosePolicyViolation},
		{"control characters", func(c *wsClient) { c.send(map[string]any{"type": "send", "text": "a\u0000b"}) }, "bad_text", websocket.ClosePolicyViolation},
		{"unknown type", func(c *wsClient) { c.send(map[string]any{"type": "invite", "text": "x"}) }, "bad_frame", websocket.ClosePolicyViolation},
		{"wrong field type", func(c *wsClient) { c.send(map[string]any{"type": "send", "text": 5}) }, "bad_frame", websocket.ClosePolicyViolation},
	} {
		c, _ := flooder.connect(t, shopOrigin, 0, 0)
		tt.frame(c)
		code, errs := c.closed()
		if code != tt.close || len(errs) != 1 || errs[0]["code"] != tt.code {
			t.Errorf("%s: close %d, errors %v; want %d and %s", tt.name, code, errs, tt.close, tt.code)
		}
	}
	if c, ok, _ := srv.HTTP.Chats().VisitorChat(mustSite(t, srv, site), flooder.v.VisitorID); ok || c.ID != 0 {
		t.Fatalf("refused frames opened chat %+v", c)
	}
	// 20 messages a minute per visitor; the 21st closes the socket.
	c, _ := flooder.connect(t, shopOrigin, 0, 0)
	calmSock, _ := calm.connect(t, shopOrigin, 0, 0)
	for i := range 20 {
		c.send(map[string]any{"type": "send", "text": fmt.Sprint("flood ", i)})
		c.next("ack")
	}
	c.send(map[string]any{"type": "send", "text": "one too many"})
	if code, errs := c.closed(); code != websocket.ClosePolicyViolation || len(errs) != 1 || errs[0]["code"] != "rate_limit" {
		t.Errorf("21st message: close %d, errors %v", code, errs)
	}
	calmSock.send(map[string]any{"type": "send", "text": "I am not flooding"})
	if a := calmSock.next("ack"); num(a["id"]) != 1 {
		t.Errorf("the calm visitor's message: %v", a)
	}
	fc, _, _ := srv.HTTP.Chats().VisitorChat(mustSite(t, srv, site), flooder.v.VisitorID)
	if fc.Last != 20 {
		t.Errorf("flooder's chat has %d messages, want 20", fc.Last)
	}
	// Sockets per IP: 6 here; calmSock holds one.
	var held []*wsClient
	for range 5 {
		held = append(held, dialChat(t, wsURL(srv, "t/v1/chat/ws?k="+site), http.Header{"Origin": {shopOrigin}}))
	}
	if status, _ := dialStatus(t, wsURL(srv, "t/v1/chat/ws?k="+site), http.Header{"Origin": {shopOrigin}}); status != http.StatusTooManyRequests {
		t.Errorf("7th socket from one IP: %d, want 429", status)
	}
	_ = held
}

// The per-IP limits of the chat, sockets and messages, hold an IPv6 host
// to its /64: sockets and visitors on each of its addresses do not get it
// past them. Another network still connects.
func TestChatLimitsCountIPv6ByNetwork(t *testing.T) {
	srv := httpdtest.Start(t, func(o *httpd.Options) {
		o.TrustProxy = true
		o.ChatLimits.ConnsPerIP, o.ChatLimits.MessagesPerIP = 3, 2
	})
	site := srv.Site(t, "Shop", "shop.example")
	from := func(ip string) http.Header { return http.Header{"Origin": {shopOrigin}, "X-Forwarded-For": {ip}} }
	for i := range 3 {
		dialChat(t, wsURL(srv, "t/v1/chat/ws?k="+site), from(fmt.Sprintf("2001:db8:66:1::%x", i+1)))
	}
	if status, _ := dialStatus(t, wsURL(srv, "t/v1/chat/ws?k="+site), from("2001:db8:66:1::4")); status != http.StatusTooManyRequests {
		t.Errorf("4th socket from one /64, from another address: %d, want 429", status)
	}
	if status, _ := dialStatus(t, wsURL(srv, "t/v1/chat/ws?k="+site), from("2001:db8:66:2::1")); status != http.StatusSwitchingProtocols {
		t.Errorf("a socket from the next /64: %d, want 101", status)
	}

	// Messages: 2 a minute from the /64, whichever visitor and address.
	var sent []string
	for i := range 3 {
		cv := newChatVisitor(t, srv, site, "https://shop.example/")
		c := dialChat(t, wsURL(srv, "t/v1/chat/ws?k="+site), from(fmt.Sprintf("2001:db8:66:3::%x", i+1)))
		c.send(map[string]any{"type": "hello", "ci": cv.v.CI, "key": cv.v.Key, "u": shopOrigin + "/page"})
		c.next("welcome")
		c.send(map[string]any{"type": "send", "text": fmt.Sprint("hello from visitor ", i)})
		if i < 2 {
			c.next("ack")
			sent = append(sent, "ack")
			continue
		}
		if code, errs := c.closed(); code != websocket.ClosePolicyViolation || len(errs) != 1 || errs[0]["code"] != "rate_limit" {
			t.Errorf("3rd message from the /64, from a third visitor and address: close %d, errors %v; want rate_limit", code, errs)
		}
	}
	if len(sent) != 2 {
		t.Errorf("acks %v, want 2", sent)
	}
}

func mustSite(t testing.TB, srv *httpdtest.Server, key string) uint32 {
	t.Helper()
	s, err := srv.HTTP.Sites().ByKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return s.ID
}

// A message of the largest text, written so that JSON escapes every
// byte of it (quotes, backslashes, newlines), fits in a frame: on the
// socket and ten of them in one long-poll. A frame limit under what valid
// text takes left such a message refused as too_large, and the window,
// resending it on every reconnect, never got through again.
func TestChatEscapedTextFits(t *testing.T) {
	srv := httpdtest.Start(t)
	site := srv.Site(t, "Shop", "shop.example")
	cv := newChatVisitor(t, srv, site, "https://shop.example/")
	text := "a" + strings.Repeat("\"\\\n", (chats.MaxText-2)/3) + "b"
	if len(text) > chats.MaxText || len(text) < chats.MaxText-3 {
		t.Fatalf("text of %d bytes", len(text))
	}
	vis, _ := cv.connect(t, shopOrigin, 0, 0)
	vis.send(map[string]any{"type": "send", "ref": "big", "text": text})
	ack := vis.next("ack")
	if ack["ref"] != "big" || num(ack["id"]) != 1 {
		t.Fatalf("the largest escaped text on the socket: %v", ack)
	}
	if m := vis.message(1); m["text"] != text {
		t.Errorf("the stored text differs: %d bytes", len(m["text"].(string)))
	}
	frames := make([]any, 10)
	for i := range frames {
		frames[i] = map[string]any{"type": "send", "ref": fmt.Sprintf("p%d", i), "text": text}
	}
	status, out, _ := postJSON(t, srv.URL+"t/v1/chat", map[string]any{"k": site, "ci": cv.v.CI, "key": cv.v.Key,
		"u": "https://shop.example/page", "frames": frames})
	if status != http.StatusOK {
		t.Fatalf("a poll of ten such messages: %d %v", status, out)
	}
	acks := 0
	for _, f := range out["result"].(map[string]any)["frames"].([]any) {
		if f.(map[string]any)["type"] == "ack" {
			acks++
		}
	}
	if acks != 10 {
		t.Errorf("%d acks for ten messages in a poll: %v", acks, out)
	}
}

// The long-poll fallback carries the same frames: a send is acked, a poll
// waits for the operator's answer, and resumes after the id it names.
func TestChatLongPoll(t *testing.T) {
	srv := httpdtest.Start(t)
	site := srv.Site(t, "Shop", "shop.example")
	cv := newChatVisitor(t, srv, site, "https://shop.example/")
	con, _ := connectConsole(t, srv, consoleHeader(t, srv, "anna@shop.example", accounts.RoleOperator), nil)
	poll := func(body map[string]any) (int, []map[string]any) {
		t.Helper()
		base := map[string]any{"k": site, "ci": cv.v.CI, "key": cv.v.Key, "u": "https://shop.example/page"}
		for k, v := range body {
			base[k] = v
		}
		status, out, _ := postJSON(t, srv.URL+"t/v1/chat", base)
		if status != http.StatusOK {
			return status, []map[string]any{out}
		}
		var frames []map[string]any
		for _, f := range out["result"].(map[string]any)["frames"].([]any) {
			frames = append(frames, f.(map[string]any))
		}
		return status, frames
	}
	_, frames := poll(map[string]any{"frames": []any{map[string]any{"type": "send", "ref": "p1", "text": "via poll"}}})
	if len(frames) < 3 || frames[0]["type"] != "ack" || frames[1]["type"] != "welcome" || frames[2]["type"] != "message" {
		t.Fatalf("poll frames = %v", frames)
	}
	chat := num(frames[0]["chat"])
	if m := con.next("message"); m["text"] != "via poll" {
		t.Fatalf("console got %v", m)
	}
	var wg sync.WaitGroup
	wg.Add(1)
	var waited []map[string]any
	go func() {
		defer wg.Done()
		_, waited = poll(map[string]any{"chat": chat, "after": 1, "wait": 25})
	}()
	// Sent while the poll waits, or before it subscribed (then its
	// welcome replays it): either way it answers with the message once.
	con.send(map[string]any{"type": "send", "chat": chat, "text": "answer for the poll"})
	con.next("ack")
	wg.Wait()
	var got []string
	for _, f := range waited {
		if f["type"] == "message" {
			got = append(got, f["text"].(string))
		}
	}
	if len(got) != 1 || got[0] != "answer for the poll" {
		t.Fatalf("waiting poll got %v", waited)
	}
	status, errs := poll(map[string]any{"key": strings.Repeat("0", 32)})
	if status != http.StatusForbidden || errs[0]["result"].(map[string]any)["code"] != "wrong_key" {
		t.Errorf("wrong key poll: %d %v", status, errs)
	}
	status, errs = poll(map[string]any{"u": "https://evil.example/"})
	if status != http.StatusForbidden || errs[0]["result"].(map[string]any)["code"] != "forbidden_origin" {
		t.Errorf("poll from another site: %d %v", status, errs)
	}
}

// getOperatorStatus's sources: the hit's answer and the status endpoint
// follow the operators' presence.
func TestChatOperatorStatus(t *testing.T) {
	srv := httpdtest.Start(t)
	site := srv.Site(t, "Shop", "shop.example")
	status := func() any {
		resp, err := http.Get(srv.URL + "t/v1/chat/status?k=" + url.QueryEscape(site))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&out)
		return out["result"].(map[string]any)["operators"]
	}
	hitStatus := func() any {
		_, out, _ := postJSON(t, srv.URL+"t/v1/hit", map[string]string{"k": site, "u": "https://shop.example/"})
		return out["result"].(map[string]any)["chat"].(map[string]any)["operators"]
	}
	if status() != false || hitStatus() != false {
		t.Fatal("online with nobody signed in")
	}
	con, _ := connectConsole(t, srv, consoleHeader(t, srv, "anna@shop.example", accounts.RoleOperator), nil)
	if status() != true || hitStatus() != true {
		t.Fatal("offline with a console open")
	}
	con.send(map[string]any{"type": "status", "status": "away"})
	con.send(map[string]any{"type": "ping"})
	con.next("pong")
	if status() != false {
		t.Fatal("online while the only operator is away")
	}
}

// A chat nobody answers, with no operator online, becomes a lead with its
// transcript; the visitor's window is told, and the next message opens a
// new chat.
func TestChatUnansweredBecomesLead(t *testing.T) {
	srv := httpdtest.Start(t, func(o *httpd.Options) {
		o.Chats = chats.Options{LeadGrace: time.Millisecond, Sweep: time.Hour} // swept by hand below
	})
	site := srv.Site(t, "Shop", "shop.example")
	cv := newChatVisitor(t, srv, site, "https://shop.example/?utm_source=vk")
	vis, _ := cv.connect(t, shopOrigin, 0, 0)
	vis.send(map[string]any{"type": "send", "ref": "1", "text": "Anyone there? <img src=x onerror=alert(1)>"})
	chat := num(vis.next("ack")["chat"])
	vis.send(map[string]any{"type": "send", "ref": "2", "text": "Call me: +7 912 345-67-89"})
	vis.next("ack")
	time.Sleep(5 * time.Millisecond) // past the 1 ms grace; not an assertion
	srv.HTTP.Chats().Sweep(t.Context())
	if m := vis.message(3); m["from"] != "system" {
		t.Errorf("system note = %v", m)
	}
	if cl := vis.next("closed"); num(cl["chat"]) != chat || cl["by"] != "lead" {
		t.Errorf("closed = %v", cl)
	}
	l := siteLeads(t, srv, site)
	if len(l) != 1 || l[0].Via != "chat" || !strings.Contains(l[0].Message, "Anyone there? <img src=x onerror=alert(1)>") ||
		!strings.Contains(l[0].Message, "Call me: +7 912 345-67-89") || l[0].Source.UTMSource != "vk" {
		t.Fatalf("leads = %+v", l)
	}
	vis.send(map[string]any{"type": "send", "ref": "3", "text": "hello again"})
	if a := vis.next("ack"); num(a["chat"]) == chat || num(a["id"]) != 1 {
		t.Errorf("after the lead: %v", a)
	}
}

// A resend of a message the server stored (its answer lost; the
// long-poll window resends what is unacked at each answer it gets, and
// two tabs may resend one message) is that message again, not another
// message against the visitor's limit of messages a minute: counted, a
// visitor whose window resent twice was refused the next new message
// ("too many messages") though they had written only a few.
func TestChatResendNotCountedAsNewMessage(t *testing.T) {
	srv := httpdtest.Start(t, func(o *httpd.Options) { o.ChatLimits.MessagesPerVisitor = 3 })
	site := srv.Site(t, "Shop", "shop.example")
	cv := newChatVisitor(t, srv, site, "https://shop.example/")
	poll := func(frames ...map[string]any) []map[string]any {
		t.Helper()
		status, out, _ := postJSON(t, srv.URL+"t/v1/chat", map[string]any{"k": site, "ci": cv.v.CI, "key": cv.v.Key,
			"u": "https://shop.example/page", "frames": frames})
		if status != http.StatusOK {
			t.Fatalf("poll: %d %v", status, out)
		}
		var got []map[string]any
		for _, f := range out["result"].(map[string]any)["frames"].([]any) {
			if f := f.(map[string]any); f["type"] == "ack" || f["type"] == "error" {
				got = append(got, f)
			}
		}
		return got
	}
	send := func(ref, text string) map[string]any { return map[string]any{"type": "send", "ref": ref, "text": text} }
	poll(send("r1", "Здравствуйте"))
	poll(send("r1", "Здравствуйте"), send("r2", "Сколько стоит доставка?"))
	poll(send("r2", "Сколько стоит доставка?"), send("r1", "Здравствуйте"))
	got := poll(send("r3", "В Казань"))
	if len(got) != 1 || got[0]["type"] != "ack" || num(got[0]["id"]) != 3 {
		t.Fatalf("the third message (after resends of the first two): %v, want its ack as message 3", got)
	}
	got = poll(send("r4", "И ещё"))
	if len(got) != 1 || got[0]["code"] != "rate_limit" {
		t.Errorf("a fourth new message in the minute: %v, want rate_limit", got)
	}
}

// A visitor whose network blocks WebSockets, with the site open in two
// tabs: each tab holds its long poll open, and a message is sent in a
// request of its own that does not wait. That request was refused (429,
// "at most 2 polls open per visitor") while both tabs waited, which they
// do all the time: the visitor could not send. Only waiting polls count.
func TestChatPollSendsWhileTwoTabsWait(t *testing.T) {
	srv := httpdtest.Start(t)
	site := srv.Site(t, "Shop", "shop.example")
	cv := newChatVisitor(t, srv, site, "https://shop.example/")
	poll := func(wait int, frames ...map[string]any) (int, map[string]any) {
		status, out, _ := postJSON(t, srv.URL+"t/v1/chat", map[string]any{"k": site, "ci": cv.v.CI, "key": cv.v.Key,
			"u": "https://shop.example/page", "wait": wait, "frames": frames})
		return status, out
	}
	// The two tabs' long polls, held until the message is sent.
	var held sync.WaitGroup
	t.Cleanup(held.Wait)
	for range 2 {
		held.Add(1)
		go func() {
			defer held.Done()
			for {
				if status, _ := poll(25); status != http.StatusTooManyRequests {
					return
				}
			}
		}()
	}
	// Both are held once a third waiting poll is refused.
	for {
		status, out := poll(1)
		if status == http.StatusTooManyRequests {
			break
		}
		if status != http.StatusOK {
			t.Fatalf("a waiting poll: %d %v", status, out)
		}
	}
	status, out := poll(0, map[string]any{"type": "send", "ref": "r1", "text": "Здравствуйте"})
	if status != http.StatusOK {
		t.Fatalf("a send while two tabs wait: %d %v", status, out)
	}
	if f := out["result"].(map[string]any)["frames"].([]any)[0].(map[string]any); f["type"] != "ack" {
		t.Errorf("a send while two tabs wait: %v, want its ack", f)
	}
}

// A message frame carries its sender's ref to the sender's side, so that
// a client matches its copy waiting for the ack by it, not by its words: a
// console's message to every console (its own and a colleague's, the same
// encoding) and not to the visitor; a visitor's to the visitor's sockets
// and not to consoles; in a replay too, while the chat keeps the ref.
func TestChatMessageCarriesSendersRef(t *testing.T) {
	srv := httpdtest.Start(t)
	site := srv.Site(t, "Shop", "shop.example")
	cv := newChatVisitor(t, srv, site, "https://shop.example/")
	anna, _ := connectConsole(t, srv, consoleHeader(t, srv, "anna@shop.example", accounts.RoleOperator), nil)
	boris, _ := connectConsole(t, srv, consoleHeader(t, srv, "boris@shop.example", accounts.RoleOperator), nil)
	vis, _ := cv.connect(t, shopOrigin, 0, 0)
	vis.send(map[string]any{"type": "send", "ref": "v-1", "text": "Same words"})
	chat := num(vis.next("ack")["chat"])
	if m := vis.message(1); m["ref"] != "v-1" {
		t.Errorf("the visitor's own message came to the visitor as %v, want ref v-1", m)
	}
	if m := anna.message(1); m["ref"] != nil {
		t.Errorf("the visitor's message came to a console as %v, with the visitor's ref", m)
	}
	anna.send(map[string]any{"type": "send", "chat": chat, "ref": "a-1", "text": "Same words"})
	for _, c := range []struct {
		name string
		ws   *wsClient
		want any
	}{{"anna", anna, "a-1"}, {"boris", boris, "a-1"}, {"the visitor", vis, nil}} {
		if m := c.ws.message(2); m["ref"] != c.want || m["text"] != "Same words" {
			t.Errorf("%s got anna's message as %v, want ref %v", c.name, m, c.want)
		}
	}
	// A replay (a reconnect's, history) says the same, to the same side.
	again, _ := connectConsole(t, srv, consoleHeader(t, srv, "anna@shop.example", accounts.RoleOperator), map[string]uint64{fmt.Sprint(chat): 0})
	if m := again.message(1); m["ref"] != nil {
		t.Errorf("the visitor's message replayed to a console is %v, with the visitor's ref", m)
	}
	if m := again.message(2); m["ref"] != "a-1" {
		t.Errorf("anna's message replayed to a console is %v, want ref a-1", m)
	}
	again.send(map[string]any{"type": "history", "chat": chat, "after": 1})
	if m := again.message(2); m["ref"] != "a-1" {
		t.Errorf("anna's message in the history is %v, want ref a-1", m)
	}
	back, _ := cv.connect(t, shopOrigin, chat, 0)
	if m := back.message(1); m["ref"] != "v-1" {
		t.Errorf("the visitor's message replayed to the visitor is %v, want ref v-1", m)
	}
	if m := back.message(2); m["ref"] != nil {
		t.Errorf("anna's message replayed to the visitor is %v, with anna's ref", m)
	}
}

// The count of chats waiting for an answer that the dashboard's other
// pages show beside "Chat" (GET /chat/waiting) is each operator's, as the
// console's news are: a chat nobody has counts for all, one a colleague
// online has taken only for them, and for all again once they are gone.
func TestChatWaitingIsEachOperators(t *testing.T) {
	srv := httpdtest.Start(t, func(o *httpd.Options) { o.Chats.Grace = 100 * time.Millisecond })
	site := srv.Site(t, "Shop", "shop.example")
	annaHeader := consoleHeader(t, srv, "anna@shop.example", accounts.RoleOperator)
	olgaHeader := consoleHeader(t, srv, "olga@shop.example", accounts.RoleOperator)
	waiting := func(h http.Header) int {
		t.Helper()
		req, _ := http.NewRequest("GET", srv.URL+"chat/waiting", nil)
		req.Header.Set("Cookie", h.Get("Cookie"))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var v struct {
			Result struct{ Waiting int } `json:"result"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&v); err != nil || resp.StatusCode != 200 {
			t.Fatalf("GET /chat/waiting: %d %v", resp.StatusCode, err)
		}
		return v.Result.Waiting
	}
	olga, _ := connectConsole(t, srv, olgaHeader, nil)
	vis, _ := newChatVisitor(t, srv, site, "https://shop.example/").connect(t, shopOrigin, 0, 0)
	vis.send(map[string]any{"type": "send", "ref": "v1", "text": "Hello?"})
	chat := num(vis.next("ack")["chat"])
	if a, o := waiting(annaHeader), waiting(olgaHeader); a != 1 || o != 1 {
		t.Errorf("a chat nobody has: anna counts %d waiting, olga %d; want 1 and 1", a, o)
	}
	olga.send(map[string]any{"type": "send", "chat": chat, "ref": "o1", "text": "Hi! How can I help?"})
	olga.next("ack")
	vis.send(map[string]any{"type": "send", "ref": "v2", "text": "Do you deliver on Sundays?"})
	vis.next("ack")
	if a, o := waiting(annaHeader), waiting(olgaHeader); a != 0 || o != 1 {
		t.Errorf("olga's chat, olga online: anna counts %d waiting, olga %d; want 0 and 1", a, o)
	}
	olga.conn.Close()
	deadline := time.Now().Add(10 * time.Second)
	for waiting(annaHeader) != 1 {
		if time.Now().After(deadline) {
			t.Fatal("olga's chat is not counted for anna once olga is gone")
		}
		time.Sleep(50 * time.Millisecond)
	}
}
