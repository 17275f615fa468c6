package httpd

import (
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/fasthttp/websocket"

	"appliance/httpd/chats"
)

// A reply (an ack) leaves after the events published before it: a client
// that records the ack's id as the last it has, then loses the connection,
// resumes after that id and would never get an earlier message still
// waiting for the socket's writer. Chats publish in commit order (a chat's
// lock around its write and publish), so a message stored before the
// acknowledged one is on the socket's subscription when the ack is
// written. Here the writer has not run yet (no notify): the reply must
// take the waiting event out ahead of itself.
func TestChatReplyAfterWaitingEvents(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan struct{})
	up := websocket.Upgrader{}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, err := up.Upgrade(w, r, nil)
		if err != nil {
			t.Error(err)
			return
		}
		defer close(served)
		sub := &chats.Sub{C: make(chan *chats.Event, 4), Lagged: make(chan struct{})}
		s := &socket{conn: conn, sockets: newChatSockets(), sub: sub, ready: true}
		s.event = func(*chats.Event) []byte { return []byte(`{"type":"message","chat":1,"id":1}`) }
		// Message 1, published before message 2 was stored: waiting.
		sub.C <- &chats.Event{Kind: chats.EvMessage, ChatID: 1}
		s.serveFrames(visitorFrames, func(chatFrame) ([]any, error) {
			return []any{map[string]any{"type": "ack", "ref": "r2", "chat": 1, "id": 2}}, nil
		})
	})}
	go srv.Serve(ln) //nolint:errcheck // ends with Close
	t.Cleanup(func() { _ = srv.Close() })

	c, _, err := websocket.DefaultDialer.Dial("ws://"+ln.Addr().String()+"/", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.WriteMessage(websocket.TextMessage, []byte(`{"type":"send","ref":"r2","text":"two"}`)); err != nil {
		t.Fatal(err)
	}
	// The reply must come second: read two frames, failing at once on
	// the ack first (the waiting event is then never written: the test's
	// socket has no writer running).
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	want := []string{`{"type":"message","chat":1,"id":1}`, `{"chat":1,"id":2,"ref":"r2","type":"ack"}`}
	for i, w := range want {
		_, b, err := c.ReadMessage()
		if err != nil {
			t.Fatalf("frame %d: %v", i+1, err)
		}
		if string(b) != w {
			t.Fatalf("frame %d is %s, want %s: message 1 before the ack of message 2", i+1, b, w)
		}
	}
	_ = c.Close()
	<-served
}
