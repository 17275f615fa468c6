package httpd_test

import (
	"fmt"
	"net/http"
	"testing"

	"appliance/httpd/accounts"
	"appliance/httpd/httpdtest"
)

// resumeChat makes a chat of five messages (three of the visitor's, refs
// r1-r3, sent on a socket closed after them; two of an operator's, on a
// console closed after them) and returns the server, the visitor, the
// operator's console headers and the chat.
func resumeChat(t *testing.T) (*httpdtest.Server, *chatVisitor, http.Header, uint64) {
	t.Helper()
	srv := httpdtest.Start(t)
	site := srv.Site(t, "Shop", "shop.example")
	cv := newChatVisitor(t, srv, site, "https://shop.example/")
	hdr := consoleHeader(t, srv, "anna@shop.example", accounts.RoleOperator)
	con, _ := connectConsole(t, srv, hdr, nil)
	vis, _ := cv.connect(t, shopOrigin, 0, 0)
	var chat uint64
	for i := 1; i <= 3; i++ {
		vis.send(map[string]any{"type": "send", "ref": fmt.Sprint("r", i), "text": fmt.Sprint("visitor ", i)})
		chat = num(vis.next("ack")["chat"])
	}
	vis.conn.Close()
	for i := 4; i <= 5; i++ {
		con.send(map[string]any{"type": "send", "chat": chat, "ref": fmt.Sprint("o", i), "text": fmt.Sprint("operator ", i)})
		con.next("ack")
	}
	con.conn.Close()
	return srv, cv, hdr, chat
}

// untilPong reads a socket's frames up to the pong of a ping sent after
// the welcome, and returns them, the pong left out.
func untilPong(c *wsClient) []map[string]any {
	c.t.Helper()
	c.send(map[string]any{"type": "ping"})
	var frames []map[string]any
	for {
		f := c.read()
		if f == nil {
			c.t.Fatal("socket closed before the pong")
		}
		if f["type"] == "pong" {
			return frames
		}
		frames = append(frames, f)
	}
}

// replayed reads a socket's frames up to the pong (untilPong) and returns
// the ids of the messages of chat among them.
func replayed(c *wsClient, chat uint64) []uint64 {
	c.t.Helper()
	var ids []uint64
	for _, f := range untilPong(c) {
		if f["type"] == "message" && num(f["chat"]) == chat {
			ids = append(ids, num(f["id"]))
		}
	}
	return ids
}

// pollReplay is the ids of the messages of chat in the answer of a long
// poll (one that does not wait) that names held and after.
func pollReplay(t *testing.T, srv *httpdtest.Server, cv *chatVisitor, held, after, chat uint64) []uint64 {
	t.Helper()
	body := map[string]any{"k": cv.site, "ci": cv.v.CI, "key": cv.v.Key, "u": "https://shop.example/page", "chat": held, "after": after, "wait": 0}
	status, out, _ := postJSON(t, srv.URL+"t/v1/chat", body)
	if status != http.StatusOK {
		t.Fatalf("poll: %d %v", status, out)
	}
	var ids []uint64
	for _, f := range out["result"].(map[string]any)["frames"].([]any) {
		m := f.(map[string]any)
		if m["type"] == "message" && num(m["chat"]) == chat {
			ids = append(ids, num(m["id"]))
		}
	}
	return ids
}

func wantIDs(t *testing.T, what string, got []uint64, from, to uint64) {
	t.Helper()
	var want []uint64
	for id := from; id <= to; id++ {
		want = append(want, id)
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("%s: messages %v, want %v", what, got, want)
	}
}

// A reconnect is sent only the messages after the last one the client
// holds, counted frame by frame, on each of the three ways in (the
// visitor's socket, the visitor's long poll, the operator's console); a
// client that names no chat or 0 gets them all, as before.
func TestChatReconnectSendsOnlyNewer(t *testing.T) {
	srv, cv, hdr, chat := resumeChat(t)
	for after := uint64(0); after <= 5; after++ {
		vis, w := cv.connect(t, shopOrigin, chat, after)
		if num(w["after"]) != after {
			t.Errorf("welcome to a hello after %d = %v", after, w)
		}
		wantIDs(t, fmt.Sprintf("socket after %d", after), replayed(vis, chat), after+1, 5)
		vis.conn.Close()
		wantIDs(t, fmt.Sprintf("poll after %d", after), pollReplay(t, srv, cv, chat, after, chat), after+1, 5)
		con, _ := connectConsole(t, srv, hdr, map[string]uint64{fmt.Sprint(chat): after})
		wantIDs(t, fmt.Sprintf("console after %d", after), replayed(con, chat), after+1, 5)
		con.conn.Close()
	}
	vis, _ := cv.connect(t, shopOrigin, 0, 0)
	wantIDs(t, "socket of a new page", replayed(vis, chat), 1, 5)
	wantIDs(t, "poll of a new page", pollReplay(t, srv, cv, 0, 0, chat), 1, 5)
}

// A client that says it holds a message the chat does not have (an id
// past the chat's last: a store restored from a backup, a client's state
// gone wrong) loses nothing: it is sent the whole chat again, as a new
// page is, and then what comes next. Before, it was sent nothing, and
// the next messages only once past the id it named.
func TestChatReconnectAfterUnknownIDLosesNothing(t *testing.T) {
	srv, cv, hdr, chat := resumeChat(t)
	for _, after := range []uint64{6, 9, 1 << 40} {
		vis, w := cv.connect(t, shopOrigin, chat, after)
		if a, ok := w["after"].(float64); !ok || a != 0 {
			t.Errorf("welcome to a hello after %d = %v, want after 0: the chat whole follows", after, w)
		}
		wantIDs(t, fmt.Sprintf("socket after %d", after), replayed(vis, chat), 1, 5)
		vis.conn.Close()
		wantIDs(t, fmt.Sprintf("poll after %d", after), pollReplay(t, srv, cv, chat, after, chat), 1, 5)
		con, _ := connectConsole(t, srv, hdr, map[string]uint64{fmt.Sprint(chat): after})
		wantIDs(t, fmt.Sprintf("console after %d", after), replayed(con, chat), 1, 5)
		con.conn.Close()
	}
	// The next message reaches a socket, and a waiting poll, that
	// resumed after a too-new id.
	vis, _ := cv.connect(t, shopOrigin, chat, 7)
	replayed(vis, chat)
	vis.send(map[string]any{"type": "send", "ref": "r6", "text": "visitor 6"})
	if m := vis.message(6); m["text"] != "visitor 6" {
		t.Fatalf("message 6 = %v", m)
	}
	con, _ := connectConsole(t, srv, hdr, nil)
	con.send(map[string]any{"type": "send", "chat": chat, "ref": "o7", "text": "operator 7"})
	con.next("ack")
	wantIDs(t, "poll after 9 once 7 are stored", pollReplay(t, srv, cv, chat, 9, chat), 1, 7)
}

// frameOrder reads a socket's frames up to the pong (untilPong), each as
// type:chat:id (messages) or type:chat:by (ended).
func frameOrder(c *wsClient) []string {
	c.t.Helper()
	var out []string
	for _, f := range untilPong(c) {
		switch f["type"] {
		case "message":
			out = append(out, fmt.Sprint("message:", num(f["chat"]), ":", num(f["id"])))
		case "ended":
			out = append(out, fmt.Sprint("ended:", num(f["chat"]), ":", f["by"]))
		}
	}
	return out
}

// A new page's hello with "earlier" gets the visitor's ended chat before
// the current one, over the socket and the long poll: its messages, then
// its ended frame, then the current chat's. A reconnect (after the id it
// holds, no "earlier") and a client that does not ask are sent no
// earlier chat, as before.
func TestChatEarlierChatsOnNewPage(t *testing.T) {
	srv, cv, hdr, first := resumeChat(t)
	con, _ := connectConsole(t, srv, hdr, nil)
	// The visitor's window is there (welcomed) before the operator ends
	// the chat, so that the end reaches it as a closed frame: a window
	// that came after would learn it from its welcome instead.
	vis, _ := cv.connect(t, shopOrigin, first, 5)
	con.send(map[string]any{"type": "close", "chat": first})
	vis.next("closed")
	vis.send(map[string]any{"type": "send", "ref": "n1", "text": "a new question"})
	second := num(vis.next("ack")["chat"])
	vis.conn.Close()
	if second <= first {
		t.Fatalf("the new chat %d is not after %d", second, first)
	}
	var want []string
	for id := 1; id <= 5; id++ {
		want = append(want, fmt.Sprint("message:", first, ":", id))
	}
	want = append(want, fmt.Sprint("ended:", first, ":operator"), fmt.Sprint("message:", second, ":1"))

	hello := func(after uint64, earlier bool) []string {
		t.Helper()
		c := dialChat(t, wsURL(srv, "t/v1/chat/ws?k="+cv.site), http.Header{"Origin": {shopOrigin}})
		defer c.conn.Close()
		f := map[string]any{"type": "hello", "ci": cv.v.CI, "key": cv.v.Key, "u": shopOrigin + "/page", "chat": second, "after": after}
		if earlier {
			f["earlier"] = true
		}
		c.send(f)
		if w := c.next("welcome"); num(w["chat"]) != second {
			t.Fatalf("welcome %v", w)
		}
		return frameOrder(c)
	}
	if got := hello(0, true); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("socket of a new page: %v\nwant %v", got, want)
	}
	if got := hello(1, false); len(got) != 0 {
		t.Errorf("socket reconnect: %v, want nothing", got)
	}
	if got := hello(0, false); fmt.Sprint(got) != fmt.Sprint(want[len(want)-1:]) {
		t.Errorf("socket of a client that does not ask: %v", got)
	}

	poll := func(earlier bool) []string {
		t.Helper()
		body := map[string]any{"k": cv.site, "ci": cv.v.CI, "key": cv.v.Key, "u": "https://shop.example/page", "chat": second, "after": 0, "wait": 0, "earlier": earlier}
		status, out, _ := postJSON(t, srv.URL+"t/v1/chat", body)
		if status != http.StatusOK {
			t.Fatalf("poll: %d %v", status, out)
		}
		var got []string
		for _, f := range out["result"].(map[string]any)["frames"].([]any) {
			m := f.(map[string]any)
			switch m["type"] {
			case "message":
				got = append(got, fmt.Sprint("message:", num(m["chat"]), ":", num(m["id"])))
				if num(m["chat"]) == first && m["ref"] != nil {
					t.Errorf("an earlier chat's message carries a ref: %v", m)
				}
			case "ended":
				got = append(got, fmt.Sprint("ended:", num(m["chat"]), ":", m["by"]))
			}
		}
		return got
	}
	if got := poll(true); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("poll of a new page: %v\nwant %v", got, want)
	}
	if got := poll(false); fmt.Sprint(got) != fmt.Sprint(want[len(want)-1:]) {
		t.Errorf("poll that does not ask: %v", got)
	}
}
