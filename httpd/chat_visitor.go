package httpd

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/fasthttp/websocket"
	"github.com/valyala/fasthttp"

	"appliance/httpd/chats"
	"appliance/httpd/ratelimit"
	"appliance/httpd/sites"
	"appliance/httpd/visits"
	"appliance/internal/usererr"
	"appliance/store"
)

// The visitor's side of the chat (chat-protocol.md): the socket, the
// long-poll that carries the same frames, and the operators' status for
// the snippet. Public like the tracker: the site key, the Origin and the
// visitor's ci+key are checked by the handlers.

// ChatLimits bound the visitors' chat traffic (zero: the defaults of
// chat-protocol.md).
type ChatLimits struct {
	ConnsPerIP         int // visitor sockets and waiting long polls per client IP
	MessagesPerVisitor int // a minute
	MessagesPerIP      int // a minute
}

func (l ChatLimits) withDefaults() ChatLimits {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&l.ConnsPerIP, 20)
	def(&l.MessagesPerVisitor, 20)
	def(&l.MessagesPerIP, 60)
	return l
}

// Limits of the visitor's frames and polls.
const (
	visitorFrameRate  = 10 // frames a second per socket
	visitorFrameBurst = 20
	maxPollBody       = maxPollFrames*maxChatFrame + 8<<10 // frames of any valid text, and the credentials
	maxPollFrames     = 10
	maxPollWait       = 25
	pollsPerVisitor   = 2
	maxTypingEvery    = 200 * time.Millisecond
)

// chatSockets lets the server close every chat socket on shutdown: the
// HTTP server does not track hijacked connections. stop also ends waiting
// long-polls.
type chatSockets struct {
	stop chan struct{}
	once sync.Once
	wg   sync.WaitGroup

	mu      sync.Mutex
	open    map[*socket]struct{}
	stopped bool
}

func newChatSockets() *chatSockets {
	return &chatSockets{stop: make(chan struct{}), open: map[*socket]struct{}{}}
}

// add registers an open socket; false once shutdown has begun.
func (c *chatSockets) add(s *socket) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stopped {
		return false
	}
	c.open[s] = struct{}{}
	return true
}

func (c *chatSockets) remove(s *socket) {
	c.mu.Lock()
	delete(c.open, s)
	c.mu.Unlock()
}

// shutdown tells every socket to close (1001 going away) and waits for
// them, at most until ctx ends.
func (c *chatSockets) shutdown(ctx context.Context) {
	c.once.Do(func() { close(c.stop) })
	c.mu.Lock()
	c.stopped = true
	for s := range c.open {
		go s.close(websocket.CloseGoingAway, "server shutting down")
	}
	c.mu.Unlock()
	done := make(chan struct{})
	go func() { c.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
	}
}

type chatVisitorHandlers struct {
	sites       *sites.Registry
	chats       *chats.Service
	sockets     *chatSockets
	upgrader    *chatUpgrader
	limits      ChatLimits
	ipConns     connCounter
	polls       connCounter
	visitorRate *ratelimit.Limiter
	ipRate      *ratelimit.Limiter
	// requestRate is the tracker's per-IP request limit (nil: off), which
	// a poll and a socket's upgrade count against as every tracker
	// request does.
	requestRate *ratelimit.Buckets
	clientIP    func(*fasthttp.RequestCtx) string
	now         func() time.Time
}

// overRequestRate reports whether the client at ip is over the tracker's
// per-IP request limit (loopback is exempt, as in the tracker's).
func (h *chatVisitorHandlers) overRequestRate(ip string) bool {
	return h.requestRate != nil && !isLoopback(ip) && !h.requestRate.Allow(ratelimit.Network(ip), h.now())
}

func (h *chatVisitorHandlers) mount(r *router) {
	r.api("GET", "/t/v1/chat/ws", open, h.socket)
	r.api("POST", "/t/v1/chat", open, h.poll)
	r.api("GET", "/t/v1/chat/status", open, h.status)
}

func (h *chatVisitorHandlers) site(key string) (*store.Site, error) {
	if key == "" {
		return nil, errorf(fasthttp.StatusBadRequest, "k (the site key) is required")
	}
	return h.sites.ByKey(key)
}

// status answers whether an operator of the site is online: memory only,
// cached briefly by the browser.
func (h *chatVisitorHandlers) status(ctx *fasthttp.RequestCtx) error {
	ctx.Response.Header.Set("Access-Control-Allow-Origin", "*")
	site, err := h.site(string(ctx.QueryArgs().Peek("k")))
	if err != nil {
		ctx.Response.Header.Set("Cache-Control", "no-store")
		return err
	}
	ctx.Response.Header.Set("Cache-Control", "max-age=10")
	writeJSON(ctx, fasthttp.StatusOK, map[string]any{"success": true, "result": map[string]bool{"operators": h.chats.SiteOnline(site.ID)}})
	return nil
}

// checkSocketOrigin: a visitor's socket only from the site's pages (a
// browser always sends Origin with a WebSocket).
func checkSocketOrigin(site *store.Site, origin string) error {
	if site.AnyOrigin {
		return nil
	}
	o, err := url.Parse(origin)
	if origin == "" || err != nil || o.Host == "" {
		return errorf(fasthttp.StatusForbidden, "this site's chat takes connections only from its own pages: Origin %q is not a web page's", cutString(origin, 100))
	}
	if !sites.AllowsHost(site, o.Hostname()) {
		return errorf(fasthttp.StatusForbidden, "this site's chat takes connections only from its own domains (%s and their sub-domains), not from %s",
			strings.Join(site.Domains, ", "), cutString(o.Hostname(), 100))
	}
	return nil
}

func (h *chatVisitorHandlers) socket(ctx *fasthttp.RequestCtx) error {
	ctx.Response.Header.Set("Cache-Control", "no-store")
	site, err := h.site(string(ctx.QueryArgs().Peek("k")))
	if err != nil {
		return err
	}
	if err := checkSocketOrigin(site, string(ctx.Request.Header.Peek("Origin"))); err != nil {
		return err
	}
	if !websocket.FastHTTPIsWebSocketUpgrade(ctx) {
		return errorf(fasthttp.StatusBadRequest, "this address takes WebSocket connections only (or use POST /t/v1/chat)")
	}
	ip := h.clientIP(ctx)
	if h.overRequestRate(ip) {
		return tooMany(time.Second, "too many requests from this address; slow down")
	}
	network := ratelimit.Network(ip) // what the sockets per IP count
	if !h.ipConns.take(network, h.limits.ConnsPerIP) {
		return tooMany(10*time.Second, "too many chat connections from this address (at most %d)", h.limits.ConnsPerIP)
	}
	h.sockets.wg.Add(1)
	err = h.upgrader.Upgrade(ctx, func(conn *websocket.Conn) {
		// fasthttp's goroutine returns at once (the server keeps hijacked
		// connections: KeepHijackedConns); the socket lives in goroutines
		// of its own, and the idle loop in a fresh one whose stack never
		// grew through the hello.
		go func() {
			loop := h.serveSocket(conn, site, ip)
			if loop == nil {
				h.endSocket(conn, network)
				return
			}
			go func() {
				loop()
				h.endSocket(conn, network)
			}()
		}()
	}, func() {
		h.ipConns.give(network)
		h.sockets.wg.Done()
	})
	if err != nil {
		h.ipConns.give(network)
		h.sockets.wg.Done()
	}
	return nil
}

// endSocket releases what a visitor's socket held: a socket of the client
// network.
func (h *chatVisitorHandlers) endSocket(conn *websocket.Conn, network string) {
	_ = conn.Close()
	h.ipConns.give(network)
	h.sockets.wg.Done()
}

// visitorState is one visitor's socket or poll after hello.
type visitorState struct {
	v      chats.Visitor
	sub    *chats.Sub
	bucket frameBucket
	typing time.Time
}

// maxSocketRead is what a socket reads of one frame: a frame over
// maxChatFrame but within it gets the too_large error frame; a larger
// one only the library's close (1009).
const maxSocketRead = 64 << 10

// readFrame reads one text frame within the read timeout.
func readFrame(conn *websocket.Conn, timeout time.Duration) ([]byte, error) {
	_ = conn.SetReadDeadline(time.Now().Add(timeout))
	kind, b, err := conn.ReadMessage()
	if err != nil {
		return nil, err
	}
	if len(b) > maxChatFrame {
		return nil, &frameError{code: "too_large", msg: fmt.Sprintf("a frame is at most %d bytes", maxChatFrame)}
	}
	if kind != websocket.TextMessage {
		return nil, badFrame("frames are JSON text, not binary")
	}
	return b, nil
}

// serveSocket says hello and welcome on a new socket and returns the loop
// that serves it until it closes; nil when the socket is already closed.
func (h *chatVisitorHandlers) serveSocket(conn *websocket.Conn, site *store.Site, ip string) (loop func()) {
	conn.SetReadLimit(maxSocketRead)
	s := newSocket(conn, h.sockets)
	if s == nil {
		return nil
	}
	b, err := readFrame(conn, chatHelloTimeout)
	if err != nil {
		var fe *frameError
		if errors.As(err, &fe) {
			s.fail(err, "")
		} else if ne, ok := err.(interface{ Timeout() bool }); ok && ne.Timeout() {
			s.fail(&frameError{code: "hello_required", msg: "send hello within 10 seconds"}, "")
		}
		s.end()
		return nil
	}
	f, err := parseChatFrame(b, visitorFrames)
	if err == nil && f.Type != "hello" {
		err = &frameError{code: "hello_required", msg: "the first frame must be hello"}
	}
	var st *visitorState
	if err == nil {
		st, err = h.hello(site, f, ip)
	}
	if err != nil {
		s.fail(err, f.Ref)
		s.end()
		return nil
	}
	st.sub = h.chats.SubscribeVisitor(chats.LiveVisitor{Site: site.ID, Visitor: st.v.Visitor, Session: st.v.Session, Page: st.v.Page}, s.notify)
	s.sub = st.sub
	var sent map[uint64]uint64 // chat -> last message id written (under s.mu); most visitors have none
	s.event = func(ev *chats.Event) []byte {
		if ev.Kind == chats.EvMessage {
			if ev.Message.ID <= sent[ev.ChatID] {
				return nil
			}
			if sent == nil {
				sent = map[uint64]uint64{}
			}
			sent[ev.ChatID] = ev.Message.ID
		}
		return ev.Encoded(chats.ForVisitors, func() []byte { return encodeFrame(visitorEventFrame(ev)) })
	}
	ok := s.begin(func(write func(any) error) error {
		frames, err := h.welcome(st, f.Chat, f.After, f.Earlier)
		if err != nil {
			return err
		}
		for _, fr := range frames {
			if m, ok := fr.(outMessage); ok {
				if sent == nil {
					sent = map[uint64]uint64{}
				}
				sent[m.Chat] = max(sent[m.Chat], m.ID)
			}
			if err := write(fr); err != nil {
				return err
			}
		}
		return nil
	})
	if !ok {
		h.chats.Unsubscribe(st.sub)
		s.end()
		return nil
	}
	return func() {
		defer h.chats.Unsubscribe(st.sub)
		s.serveFrames(visitorFrames, func(f chatFrame) ([]any, error) { return h.handle(st, f) })
	}
}

// hello checks a hello's credentials: the ci continued only with its key,
// as the tracker's.
func (h *chatVisitorHandlers) hello(site *store.Site, f chatFrame, ip string) (*visitorState, error) {
	if f.CI == "" {
		return nil, badFrame("hello needs ci and key")
	}
	ci, err := visits.ParseCI(f.CI)
	if err != nil {
		return nil, badFrame(usererr.UserMessage(err))
	}
	if err := checkKey(site, ci, f.Key); err != nil {
		return nil, &frameError{code: "wrong_key", msg: err.(*Error).Msg}
	}
	page := visits.MendURL(f.U)
	if _, err := visits.ParsePageURL("u", page); err != nil {
		page = ""
	}
	return &visitorState{v: chats.Visitor{Site: site, Visitor: ci.Visitor, Session: ci.Session, Page: page, IP: ip}}, nil
}

// welcome is the welcome frame and the messages the client lacks: of its
// open chat, else of the chat it names if that is still its own; the
// welcome's After is the id they follow (0: the chat whole). With
// earlier (a window that holds nothing yet) the visitor's earlier chats
// come between the welcome and those messages, oldest first, each its
// messages and an ended frame (chats.Earlier's bounds).
func (h *chatVisitorHandlers) welcome(st *visitorState, chat, after uint64, earlier bool) ([]any, error) {
	site := st.v.Site.ID
	wf := outVisitorWelcome{Type: "welcome", Operators: h.chats.SiteOnline(site), Heartbeat: int(chatHeartbeat / time.Second)}
	c, ok, err := h.chats.VisitorChat(site, st.v.Visitor)
	if err != nil {
		return nil, err
	}
	if ok && c.Closed != 0 && chat != c.ID {
		ok = false
		if chat != 0 {
			if named, err := h.chats.Chat(site, chat); err == nil && named.Visitor == st.v.Visitor {
				c, ok = named, true
			}
		}
	}
	if !ok {
		return []any{wf}, nil
	}
	wf.Chat, wf.Read, wf.Assigned = c.ID, c.OperatorRead, publicName(c.Assigned)
	wf.Status = chats.StatusOpen
	if c.Closed != 0 {
		wf.Status = chats.StatusClosed
	}
	after = resumeAfter(&c, chat, after)
	wf.After = after
	out := []any{wf}
	if earlier {
		before, err := h.chats.Earlier(context.Background(), &c)
		if err != nil {
			return nil, err
		}
		for _, e := range before {
			for i := range e.Messages {
				// no ref: an earlier chat is no sent copy's ack
				out = append(out, visitorMessage(e.Chat.ID, &e.Messages[i]))
			}
			by := e.Chat.ClosedBy
			if by == chats.ClosedByIdle {
				by = chats.ClosedByOperator
			}
			out = append(out, outEnded{Type: "ended", Chat: e.Chat.ID, By: by, At: e.Chat.Closed})
		}
	}
	for {
		msgs, err := h.chats.Messages(context.Background(), site, c.ID, after, 0)
		if err != nil {
			return nil, err
		}
		for i := range msgs {
			if chats.OperatorsOnly(&msgs[i]) {
				continue // a transfer's note: the visitor sees the new operator join
			}
			m := visitorMessage(c.ID, &msgs[i])
			m.Ref = storedRef(&c, &msgs[i], chats.FromVisitor)
			out = append(out, m)
		}
		if len(msgs) < chats.MaxPageMessages {
			return out, nil
		}
		after = msgs[len(msgs)-1].ID
	}
}

// resumeAfter is the id after which a client that holds chat up to after
// is sent c's messages: after itself, but 0 (the chat whole, as to a new
// page) for another chat, or for an id c has not reached: the client
// holds what the store does not (a store restored from a backup, a
// client's state gone wrong), and only the messages past that id would
// reach it, the ones between never. c was read after every message a
// client could have been sent, so its Last is not behind one of them.
func resumeAfter(c *store.Chat, chat, after uint64) uint64 {
	if c.ID != chat || after > c.Last {
		return 0
	}
	return after
}

func visitorMessage(chat uint64, m *store.ChatMessage) outMessage {
	return outMessage{Type: "message", Chat: chat, ID: m.ID, From: m.From, Name: publicName(m.Name), Text: m.Text, At: m.At, Code: chats.SystemCode(m)}
}

// visitorEventFrame is the frame of a hub event for a visitor; nil for
// none (their own marks and typing).
func visitorEventFrame(ev *chats.Event) any {
	switch ev.Kind {
	case chats.EvMessage:
		if chats.OperatorsOnly(ev.Message) {
			return nil // a transfer's note: the assigned event says who answers now
		}
		m := visitorMessage(ev.ChatID, ev.Message)
		if ev.Message.From == chats.FromVisitor {
			m.Ref = ev.Ref
		}
		return m
	case chats.EvTyping:
		if ev.From != chats.FromVisitor {
			return outTyping{Type: "typing", Chat: ev.ChatID, From: ev.From, Name: publicName(ev.Name), On: ev.On}
		}
	case chats.EvDelivered, chats.EvRead:
		if ev.From != chats.FromVisitor {
			t := "read"
			if ev.Kind == chats.EvDelivered {
				t = "delivered"
			}
			return outMark{Type: t, Chat: ev.ChatID, From: ev.From, ID: ev.ID}
		}
	case chats.EvAssigned:
		return outAssigned{Type: "assigned", Chat: ev.ChatID, Name: publicName(ev.Name)}
	case chats.EvClosed:
		by := ev.Name
		if by == chats.ClosedByIdle {
			by = chats.ClosedByOperator
		}
		return outClosed{Type: "closed", Chat: ev.ChatID, By: by}
	case chats.EvSiteStatus:
		return outSiteStatus{Type: "presence", Operators: ev.Online}
	}
	return nil
}

// handle does what a visitor's frame asks and returns the frames that
// answer it.
func (h *chatVisitorHandlers) handle(st *visitorState, f chatFrame) ([]any, error) {
	now := h.now()
	if !st.bucket.allow(now, visitorFrameRate, visitorFrameBurst) {
		return nil, &frameError{code: "rate_limit", msg: "more than 10 frames a second", ref: f.Ref}
	}
	ctx := context.Background()
	site := st.v.Site.ID
	switch f.Type {
	case "hello":
		return nil, badFrame("hello only once")
	case "ping":
		return []any{outPong{Type: "pong"}}, nil
	case "send":
		if _, err := chats.CheckText(f.Text); err != nil {
			return nil, err
		}
		// A resend of a stored message (its ack lost) is no new message:
		// it does not count against the limits.
		resent, err := h.chats.Resent(site, st.v.Visitor, f.Ref)
		if err != nil {
			return nil, err
		}
		vkey := visitorKey(site, st.v.Visitor)
		if !resent && (!h.visitorRate.Allow(vkey, now) || !h.ipRate.Allow(ratelimit.Network(st.v.IP), now)) {
			return nil, &frameError{code: "rate_limit", msg: "too many messages a minute; wait and send again"}
		}
		ack, err := h.chats.Send(ctx, st.v, f.Ref, f.Text)
		if err != nil {
			return nil, err
		}
		return []any{outAck{Type: "ack", Ref: f.Ref, Chat: ack.Chat.ID, ID: ack.Message.ID, At: ack.Message.At}}, nil
	case "typing":
		if f.On && now.Sub(st.typing) < maxTypingEvery {
			return nil, nil
		}
		st.typing = now
		c, ok, err := h.chats.VisitorChat(site, st.v.Visitor)
		if err != nil || !ok || c.Closed != 0 {
			return nil, err
		}
		h.chats.Typing(&c, chats.FromVisitor, "", f.On, st.sub)
		return nil, nil
	case "delivered", "read":
		c, err := h.ownChat(st, f.Chat)
		if err != nil {
			return nil, err
		}
		if f.Type == "read" {
			return nil, h.chats.MarkRead(ctx, site, c.ID, chats.FromVisitor, "", f.ID, st.sub)
		}
		h.chats.Delivered(&c, chats.FromVisitor, "", f.ID, st.sub)
		return nil, nil
	case "close":
		c, err := h.ownChat(st, f.Chat)
		if err != nil {
			return nil, err
		}
		_, err = h.chats.Close(ctx, site, c.ID, st.v.Visitor, chats.ClosedByVisitor)
		return nil, err
	}
	return nil, badFrame("a visitor does not send " + quoteCut(f.Type))
}

func (h *chatVisitorHandlers) ownChat(st *visitorState, id uint64) (store.Chat, error) {
	c, err := h.chats.Chat(st.v.Site.ID, id)
	if err != nil {
		return store.Chat{}, err
	}
	if c.Visitor != st.v.Visitor {
		return store.Chat{}, chats.ErrNoChat
	}
	return c, nil
}

func visitorKey(site uint32, visitor uint64) string {
	b := make([]byte, 0, 12)
	b = append(b, byte(site>>24), byte(site>>16), byte(site>>8), byte(site))
	for i := 56; i >= 0; i -= 8 {
		b = append(b, byte(visitor>>i))
	}
	return string(b)
}
