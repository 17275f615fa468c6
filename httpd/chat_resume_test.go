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

// replayed reads a socket's frames up to the pong of a ping sent after
// the welcome, and returns the ids of the messages of chat among them.
func replayed(c *wsClient, chat uint64) []uint64 {
	c.t.Helper()
	c.send(map[string]any{"type": "ping"})
	var ids []uint64
	for {
		f := c.read()
		if f == nil {
			c.t.Fatal("socket closed before the pong")
		}
		switch f["type"] {
		case "pong":
			return ids
		case "message":
			if num(f["chat"]) == chat {
				ids = append(ids, num(f["id"]))
			}
		}
	}
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
