package httpd

import (
	"bufio"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fasthttp/websocket"
	"github.com/valyala/fasthttp"

	"appliance/httpd/chats"
)

// The chat's WebSockets (github.com/fasthttp/websocket: the one
// maintained WebSocket library that upgrades on fasthttp's hijack without
// a net/http bridge). An idle socket holds one goroutine, parked in its
// read: that goroutine reads frames and writes their answers; the hub's
// events are written by a goroutine started only while some wait
// (socket.flush), and the heartbeat is a timer. 10,000 idle visitors hold
// 10,000 goroutines, not twice that (README: chat load). Writes are
// serialised by the socket's mutex; whoever fails first closes the
// connection, which ends the read.

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
//
// The socket reads the raw connection, not through fasthttp's request
// reader: the connection fasthttp hands a hijack reads through that
// reader (8 KB, ReadBufferSize), which an idle socket would then hold for
// its life — 80 MB at 10,000 sockets — unless the server gave every
// reader back between requests (ReduceMemoryUsage), which costs every
// keep-alive request a read of its first byte on its own: a second read
// system call and a park of its goroutine. So fasthttp's upgrader checks
// the request and answers a bad one, and the 101 is written on the raw
// connection by the library's net/http upgrader, through a hijack that
// writes no response.
type chatUpgrader struct {
	check *websocket.FastHTTPUpgrader
	up    *websocket.Upgrader
}

func newChatUpgrader() *chatUpgrader {
	return &chatUpgrader{
		check: &websocket.FastHTTPUpgrader{
			CheckOrigin: func(*fasthttp.RequestCtx) bool { return true },
			Error: func(ctx *fasthttp.RequestCtx, status int, reason error) {
				writeJSON(ctx, status, errorResponse{Error: "this address takes WebSocket connections only: " + reason.Error()})
			},
		},
		up: &websocket.Upgrader{
			ReadBufferSize:   512,
			WriteBufferSize:  4096,
			WriteBufferPool:  &sync.Pool{},
			HandshakeTimeout: 10 * time.Second,
			CheckOrigin:      func(*http.Request) bool { return true },
		},
	}
}

// Upgrade answers ctx's upgrade request with a 101 and then runs run with
// the socket, in the goroutine fasthttp hijacks the connection in; failed
// runs instead when the 101 cannot be written (the connection is closed
// then). A request that is not a valid upgrade gets its error answer and
// neither runs: Upgrade returns its error. The 101 carries the headers
// the handler set. A client sends nothing before its 101 (RFC 6455 4.1):
// bytes it sent anyway, which fasthttp read ahead, are lost to the socket.
func (u *chatUpgrader) Upgrade(ctx *fasthttp.RequestCtx, run func(*websocket.Conn), failed func()) error {
	if err := u.check.Upgrade(ctx, func(*websocket.Conn) {}); err != nil {
		return err
	}
	raw := ctx.Conn()
	ctx.HijackSetNoResponse(true)
	ctx.Hijack(func(net.Conn) {
		// ctx is whole until this function returns: the handler's
		// headers are all set.
		req := &http.Request{Method: http.MethodGet, Header: make(http.Header)}
		for k, v := range ctx.Request.Header.All() {
			req.Header.Add(string(k), string(v))
		}
		header := make(http.Header)
		for k, v := range ctx.Response.Header.All() {
			switch http.CanonicalHeaderKey(string(k)) {
			case "Upgrade", "Connection", "Sec-Websocket-Accept", "Content-Type", "Content-Length", "Date", "Server":
				continue // the upgrader's own, or not a 101's
			}
			header.Add(string(k), string(v))
		}
		conn, err := u.up.Upgrade(&rawHijack{conn: raw}, req, header)
		if err != nil {
			_ = raw.Close()
			failed()
			return
		}
		run(conn)
	})
	return nil
}

// rawHijack is the http.ResponseWriter of chatUpgrader's 101: its hijack
// hands over the raw connection, with nothing read ahead.
type rawHijack struct {
	conn   net.Conn
	header http.Header
}

func (h *rawHijack) Header() http.Header {
	if h.header == nil {
		h.header = make(http.Header)
	}
	return h.header
}

// Write and WriteHeader are the upgrader's error answers, which a request
// fasthttp's upgrader accepted does not get: the connection is closed.
func (h *rawHijack) Write(b []byte) (int, error) { return len(b), nil }
func (h *rawHijack) WriteHeader(int)             {}

func (h *rawHijack) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	return h.conn, bufio.NewReadWriter(bufio.NewReaderSize(h.conn, 16), bufio.NewWriterSize(h.conn, 16)), nil
}

// socket is one chat WebSocket after its upgrade.
type socket struct {
	conn    *websocket.Conn
	sockets *chatSockets

	mu     sync.Mutex // held while writing a frame, and for the fields below
	ready  bool       // the initial frames are written: events may follow
	ended  bool       // the read loop is over: no heartbeat, no tick
	sub    *chats.Sub
	event  func(ev *chats.Event) []byte // the encoded frame of an event for this socket; nil: none. Under mu.
	tick   func() error                 // on every heartbeat; an error closes the socket
	beat   *time.Timer
	closed atomic.Bool // close or kill was called

	notified atomic.Int64 // notifies not yet served by a flush; a flush runs while > 0
}

// newSocket registers conn to be told to go away on shutdown; nil when
// the server is shutting down already (conn is closed then).
func newSocket(conn *websocket.Conn, sockets *chatSockets) *socket {
	s := &socket{conn: conn, sockets: sockets}
	if !sockets.add(s) {
		s.close(websocket.CloseGoingAway, "server shutting down")
		return nil
	}
	return s
}

// write writes one frame (JSON of v), after the events already waiting for
// the socket's writer once those may go (the initial frames are out): a
// reply such as an ack must not pass them. A chat publishes in commit
// order, so a message stored before the one acknowledged is waiting by
// then, and a client that takes the ack's id as the last it has (to resume
// after it once reconnected) must have had that message first.
func (s *socket) write(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ready && !s.ended {
		s.drainLocked()
	}
	return s.writeLocked(b)
}

func (s *socket) writeLocked(b []byte) error {
	_ = s.conn.SetWriteDeadline(time.Now().Add(chatWriteTimeout))
	return s.conn.WriteMessage(websocket.TextMessage, b)
}

// encodeFrame is the JSON of a frame; nil for no frame.
func encodeFrame(v any) []byte {
	if v == nil {
		return nil
	}
	b, _ := json.Marshal(v) // frames are plain structs: no error
	return b
}

// close sends the close frame and ends the connection. Safe from any
// goroutine, with or without mu held (control frames have their own lock
// in the library).
func (s *socket) close(code int, text string) {
	if s.closed.Swap(true) {
		return
	}
	_ = s.conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, text), time.Now().Add(time.Second))
	s.kill()
}

// closeRead is close from the reader's goroutine: after the close frame
// it reads and drops what the client sent meanwhile (linger).
func (s *socket) closeRead(code int) {
	if s.closed.Swap(true) {
		return
	}
	_ = s.conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, ""), time.Now().Add(time.Second))
	s.linger()
}

// linger, in the reader's goroutine once the close frame is sent, reads
// and drops what the client sent meanwhile, until the client's own close
// frame (or a second), then ends the connection, so that it ends with a
// FIN. Closed with unread input, it would end with a reset, and the
// client would lose the error frame and the close code it was sent.
func (s *socket) linger() {
	_ = s.conn.SetReadDeadline(time.Now().Add(time.Second))
	for {
		if _, _, err := s.conn.NextReader(); err != nil {
			break
		}
	}
	s.kill()
}

// cut closes the socket from another goroutine than its reader, for a
// reason that holds from now on (the user's session ended): once it
// returns, no frame the client sends is acted upon and no event is
// written. The close frame goes at once; the reader then drops what it
// reads and ends the connection (serveFrames, linger).
func (s *socket) cut(code int, text string) {
	if s.closed.Swap(true) {
		return
	}
	_ = s.conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, text), time.Now().Add(time.Second))
	_ = s.conn.SetReadDeadline(time.Now().Add(time.Second))
}

// kill ends the connection. Closing a connection fasthttp hijacked does
// not close its socket (fasthttp closes it once the handler returns), so
// the reader is woken by a deadline in the past.
func (s *socket) kill() {
	s.closed.Store(true)
	_ = s.conn.UnderlyingConn().SetDeadline(time.Now())
	_ = s.conn.Close()
}

// fail answers err with its error frame and closes the socket, from the
// reader's goroutine.
func (s *socket) fail(err error, ref string) {
	f, _ := errorFrame(err, ref)
	_ = s.write(f)
	s.closeRead(closeCode(f.Code))
}

// begin writes the initial frames (welcome, replayed messages) and starts
// the events and the heartbeat. Events published meanwhile wait in the
// subscription: none is written before the welcome. false: the socket is
// closed.
func (s *socket) begin(initial func(write func(v any) error) error) bool {
	s.mu.Lock()
	err := initial(func(v any) error {
		b, err := json.Marshal(v)
		if err != nil {
			return err
		}
		return s.writeLocked(b)
	})
	s.ready = err == nil
	s.mu.Unlock()
	if err != nil {
		if ef, ok := err.(*frameError); ok {
			_ = s.write(outError{Type: "error", Code: ef.code, Message: ef.msg})
		}
		s.close(websocket.CloseInternalServerErr, "")
		return false
	}
	s.beat = time.AfterFunc(chatHeartbeat, s.heartbeat)
	s.notify()
	return true
}

// end stops the heartbeat and the events: the read loop is over.
func (s *socket) end() {
	s.mu.Lock()
	s.ended = true
	s.mu.Unlock()
	if s.beat != nil {
		s.beat.Stop()
	}
	s.sockets.remove(s)
}

// notify is the subscription's: it starts a writer for the waiting events
// unless one runs.
func (s *socket) notify() {
	if s.notified.Add(1) == 1 {
		go s.flush()
	}
}

// flush writes the events waiting in the subscription, then ends; a
// notify that came after its last look makes it look again.
func (s *socket) flush() {
	for {
		n := s.notified.Load()
		s.mu.Lock()
		if s.ready && !s.ended {
			s.drainLocked()
		}
		s.mu.Unlock()
		if s.notified.Add(-n) == 0 {
			return
		}
	}
}

func (s *socket) drainLocked() {
	for !s.closed.Load() {
		select {
		case <-s.sub.Lagged:
			s.close(websocket.CloseTryAgainLater, "too slow; reconnect")
			return
		default:
		}
		select {
		case ev := <-s.sub.C:
			b := s.event(ev)
			if b == nil {
				continue
			}
			if err := s.writeLocked(b); err != nil {
				s.kill()
				return
			}
		default:
			return
		}
	}
}

// heartbeat pings the client (its pong extends the read deadline) and
// runs tick, every chatHeartbeat, in the timer's goroutine.
func (s *socket) heartbeat() {
	s.mu.Lock()
	if s.ended {
		s.mu.Unlock()
		return
	}
	var err error
	if s.tick != nil {
		err = s.tick()
	}
	s.mu.Unlock()
	if err != nil {
		s.close(websocket.ClosePolicyViolation, err.Error())
		return
	}
	if err := s.conn.WriteControl(websocket.PingMessage, nil, time.Now().Add(chatWriteTimeout)); err != nil {
		s.kill()
		return
	}
	s.beat.Reset(chatHeartbeat)
}

// serveFrames reads frames of the kinds known from the socket until it
// closes: each goes to handle, whose replies are written in order. An
// error frame answers a bad frame or a refusal; one that may not go on
// (errorFrame) closes the socket after it is written.
func (s *socket) serveFrames(known map[string]bool, handle func(chatFrame) ([]any, error)) {
	defer s.end()
	conn := s.conn
	conn.SetPongHandler(func(string) error {
		if s.closed.Load() {
			return nil // closing: the deadline stays short
		}
		return conn.SetReadDeadline(time.Now().Add(chatReadTimeout))
	})
	for {
		var b []byte
		var err error
		if !s.closed.Load() {
			b, err = readFrame(conn, chatReadTimeout)
		}
		if s.closed.Load() {
			// Closed meanwhile by another goroutine (cut, a heartbeat,
			// shutdown): what was read is not acted upon.
			if err == nil {
				s.linger()
			}
			s.kill()
			return
		}
		if err != nil {
			var fe *frameError
			if errors.As(err, &fe) {
				_ = s.write(outError{Type: "error", Code: fe.code, Message: fe.msg})
				s.closeRead(closeCode(fe.code))
			}
			return
		}
		f, err := parseChatFrame(b, known)
		var replies []any
		if err == nil {
			replies, err = handle(f)
		}
		for _, r := range replies {
			if err := s.write(r); err != nil {
				s.kill()
				return
			}
		}
		if err != nil {
			ef, keep := errorFrame(err, f.Ref)
			if err := s.write(ef); err != nil {
				s.kill()
				return
			}
			if !keep {
				s.closeRead(closeCode(ef.Code))
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
