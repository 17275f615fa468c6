package httpd

import (
	"encoding/json"
	"sync"
	"time"

	"github.com/fasthttp/websocket"
	"github.com/valyala/fasthttp"

	"appliance/httpd/chats"
)

// The chat's WebSockets (github.com/fasthttp/websocket: the one
// maintained WebSocket library that upgrades on fasthttp's hijack without
// a net/http bridge). Each socket has two goroutines: the handler's reads
// frames and answers them through out; the writer sends those answers, the
// hub's events, and a ping every heartbeat, and is the only one that
// writes. Whoever fails first closes the connection, which ends the other.

// Timings of chat sockets.
const (
	chatHeartbeat    = 25 * time.Second // server pings
	chatReadTimeout  = 60 * time.Second // nothing from the client for that long: closed
	chatHelloTimeout = 10 * time.Second
	chatWriteTimeout = 10 * time.Second
)

// chatUpgrader upgrades chat sockets. Origins are checked by the handlers
// before they upgrade, with a reason; write buffers are pooled, so that an
// idle socket holds none. The read buffer is every socket's own for its
// life: 512 bytes (a visitor's frames are small; a longer one is read in
// several pieces), about 5 MB less at 10,000 sockets than 1024.
func chatUpgrader() *websocket.FastHTTPUpgrader {
	return &websocket.FastHTTPUpgrader{
		ReadBufferSize:   512,
		WriteBufferSize:  4096,
		WriteBufferPool:  &sync.Pool{},
		HandshakeTimeout: 10 * time.Second,
		CheckOrigin:      func(*fasthttp.RequestCtx) bool { return true },
		Error: func(ctx *fasthttp.RequestCtx, status int, reason error) {
			writeJSON(ctx, status, errorResponse{Error: "this address takes WebSocket connections only: " + reason.Error()})
		},
	}
}

// outFrame is a frame for the writer; close asks it to close the socket
// after writing it, with the close code.
type outFrame struct {
	v     any
	close int
}

// socketWriter is the writing half of a chat socket.
type socketWriter struct {
	conn    *websocket.Conn
	out     chan outFrame
	done    chan struct{} // closed by the reader when it stops
	stop    <-chan struct{}
	sub     *chats.Sub
	event   func(ev *chats.Event) []byte // the encoded frame of an event for this socket; nil: none
	initial func(write func(v any) error) error
	tick    func() error // on every heartbeat; an error closes the socket
}

func (w *socketWriter) write(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return w.writeRaw(b)
}

func (w *socketWriter) writeRaw(b []byte) error {
	_ = w.conn.SetWriteDeadline(time.Now().Add(chatWriteTimeout))
	return w.conn.WriteMessage(websocket.TextMessage, b)
}

// encodeFrame is the JSON of a frame; nil for no frame.
func encodeFrame(v any) []byte {
	if v == nil {
		return nil
	}
	b, _ := json.Marshal(v) // frames are plain structs: no error
	return b
}

func (w *socketWriter) close(code int, text string) {
	_ = w.conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, text), time.Now().Add(time.Second))
	w.kill()
}

// kill ends the connection. Closing a connection fasthttp hijacked does
// not close its socket (fasthttp closes it once the handler returns), so
// the reader is woken by a deadline in the past.
func (w *socketWriter) kill() {
	_ = w.conn.UnderlyingConn().SetDeadline(time.Now())
	_ = w.conn.Close()
}

// begin writes the initial frames (welcome, replayed messages) from the
// reader's goroutine, before the writer starts: the writer's own stack
// stays small, which 10,000 idle sockets feel. Events published meanwhile
// wait in the subscription. false: the socket is closed.
func (w *socketWriter) begin() bool {
	if w.initial == nil {
		return true
	}
	if err := w.initial(w.write); err != nil {
		if ef, ok := err.(*frameError); ok {
			_ = w.write(outError{Type: "error", Code: ef.code, Message: ef.msg})
		}
		w.close(websocket.CloseInternalServerErr, "")
		return false
	}
	return true
}

// run writes until the reader stops, the server stops, the hub drops the
// socket or a write fails; it closes the connection when it ends on its
// own account.
func (w *socketWriter) run() {
	ping := time.NewTicker(chatHeartbeat)
	defer ping.Stop()
	var events <-chan *chats.Event
	var lagged <-chan struct{}
	if w.sub != nil {
		events, lagged = w.sub.C, w.sub.Lagged
	}
	for {
		select {
		case <-w.done:
			return
		case <-w.stop:
			w.close(websocket.CloseGoingAway, "server shutting down")
			return
		case <-lagged:
			w.close(websocket.CloseTryAgainLater, "too slow; reconnect")
			return
		case <-ping.C:
			if w.tick != nil {
				if err := w.tick(); err != nil {
					w.close(websocket.ClosePolicyViolation, err.Error())
					return
				}
			}
			if err := w.conn.WriteControl(websocket.PingMessage, nil, time.Now().Add(chatWriteTimeout)); err != nil {
				w.kill()
				return
			}
		case f := <-w.out:
			if err := w.write(f.v); err != nil {
				w.kill()
				return
			}
			if f.close != 0 {
				w.close(f.close, "")
				return
			}
		case ev := <-events:
			b := w.event(ev)
			if b == nil {
				continue
			}
			if err := w.writeRaw(b); err != nil {
				w.kill()
				return
			}
		}
	}
}

// closeCode is the close code after an error frame.
func closeCode(code string) int {
	switch code {
	case "too_large":
		return websocket.CloseMessageTooBig
	case "server_error":
		return websocket.CloseInternalServerErr
	}
	return websocket.ClosePolicyViolation
}

// frameBucket limits the frames of one socket: rate a second, bursts of
// burst. It belongs to the socket's reader alone.
type frameBucket struct {
	tokens float64
	last   time.Time
}

func (b *frameBucket) allow(now time.Time, rate, burst float64) bool {
	if b.last.IsZero() {
		b.tokens = burst
	} else {
		b.tokens = min(burst, b.tokens+now.Sub(b.last).Seconds()*rate)
	}
	b.last = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

// connCounter counts open sockets per key (an IP, a user) against a limit.
type connCounter struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *connCounter) take(key string, limit int) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n == nil {
		c.n = map[string]int{}
	}
	if c.n[key] >= limit {
		return false
	}
	c.n[key]++
	return true
}

func (c *connCounter) give(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n[key]--; c.n[key] <= 0 {
		delete(c.n, key)
	}
}
