package httpd

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fasthttp/websocket"
	"github.com/valyala/fasthttp"

	"appliance/httpd/accounts"
	"appliance/httpd/chats"
	"appliance/httpd/sites"
	"appliance/store"
)

// The operators' side of the chat: the console's socket (chat-protocol.md),
// on the appliance's own origin with the dashboard's session; the route
// asks for the chat permission (roles.go).

// maxConsoleSockets is how many consoles one user may hold open.
const maxConsoleSockets = 10

type chatConsoleHandlers struct {
	accounts  *accounts.Accounts
	sites     *sites.Registry
	chats     *chats.Service
	sockets   *chatSockets
	upgrader  *chatUpgrader
	origin    string // the public URL's scheme://host
	cookies   dashCookies
	userConns connCounter
	open      openConsoles
}

// openConsoles are the console sockets open now, by user, each with the
// session it opened with: when a user's sessions end or their role
// changes (Accounts.Watch), revoke closes theirs at once, not at the next
// heartbeat.
type openConsoles struct {
	mu     sync.Mutex
	byUser map[string]map[*openConsole]struct{}
}

// openConsole is one console socket and its session's cookie token.
type openConsole struct {
	s       *socket
	token   string
	revoked atomic.Bool // revoke closed it
}

func (o *openConsoles) add(email string, c *openConsole) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.byUser == nil {
		o.byUser = map[string]map[*openConsole]struct{}{}
	}
	if o.byUser[email] == nil {
		o.byUser[email] = map[*openConsole]struct{}{}
	}
	o.byUser[email][c] = struct{}{}
}

func (o *openConsoles) remove(email string, c *openConsole) {
	o.mu.Lock()
	defer o.mu.Unlock()
	delete(o.byUser[email], c)
	if len(o.byUser[email]) == 0 {
		delete(o.byUser, email)
	}
}

func (o *openConsoles) of(email string) []*openConsole {
	o.mu.Lock()
	defer o.mu.Unlock()
	out := make([]*openConsole, 0, len(o.byUser[email]))
	for c := range o.byUser[email] {
		out = append(out, c)
	}
	return out
}

// allowed reports whether the session of token is live, is email's, and
// its user may use the console now.
func (h *chatConsoleHandlers) allowed(email, token string) bool {
	_, u, err := h.accounts.Session(token)
	return err == nil && u.Email == email && useChat.allows(u.Role)
}

// revoke closes, at once, the consoles of email whose session ended or
// whose user may no longer use the console (removed, signed out, a new
// password, a role without the chat), as the heartbeat would have (1008
// "signed out"), and makes the user offline at once when none of theirs is
// left, instead of after the grace of a closed socket. It is
// Accounts.Watch's: it runs after the write that ended the session, so a
// console that registered before it is seen here, and one that registers
// after it finds its session ended (serveSocket).
func (h *chatConsoleHandlers) revoke(email string) {
	cut, left := false, false
	for _, c := range h.open.of(email) {
		if c.revoked.Load() {
			continue
		}
		if h.allowed(email, c.token) {
			left = true
			continue
		}
		c.revoked.Store(true)
		c.s.cut(websocket.ClosePolicyViolation, "signed out")
		cut = true
	}
	if cut && !left {
		h.chats.SignOut(email)
	}
}

// signedOut is the dashboard's sign-out of email's session (after
// Accounts.Logout, whose revoke closed that session's consoles): the user
// goes offline at once, not after a closed socket's grace, unless a
// console of another session of theirs is still open and live — signing
// out of one browser leaves the console in another online.
func (h *chatConsoleHandlers) signedOut(email string) {
	for _, c := range h.open.of(email) {
		if !c.revoked.Load() && h.allowed(email, c.token) {
			return
		}
	}
	h.chats.SignOut(email)
}

func (h *chatConsoleHandlers) mount(r *router) {
	r.api("GET", "/chat/ws", useChat, withWho(h.socket))
}

func (h *chatConsoleHandlers) socket(ctx *fasthttp.RequestCtx, who signedIn) error {
	ctx.Response.Header.Set("Cache-Control", "no-store")
	if !websocket.FastHTTPIsWebSocketUpgrade(ctx) {
		return errorf(fasthttp.StatusBadRequest, "this address takes WebSocket connections only")
	}
	if origin := string(ctx.Request.Header.Peek("Origin")); origin != h.origin {
		return errorf(fasthttp.StatusForbidden, "the console connects only from the appliance's own pages (%s), not from %q", h.origin, cutString(origin, 100))
	}
	email := who.user.Email
	if !h.userConns.take(email, maxConsoleSockets) {
		return tooMany(10*time.Second, "at most %d consoles open per user; close one", maxConsoleSockets)
	}
	token, _ := h.cookies.token(ctx) // authorize took it
	h.sockets.wg.Add(1)
	err := h.upgrader.Upgrade(ctx, func(conn *websocket.Conn) {
		defer h.sockets.wg.Done()
		defer h.userConns.give(email)
		defer conn.Close() // the server keeps hijacked connections open
		h.serveSocket(conn, email, token)
	}, func() {
		h.userConns.give(email)
		h.sockets.wg.Done()
	})
	if err != nil {
		h.userConns.give(email)
		h.sockets.wg.Done()
	}
	return nil
}

// consoleState is one console after hello.
type consoleState struct {
	op    chats.Operator
	sites []uint32
	sub   *chats.Sub
}

// mayMoveAny reports whether the console's user may transfer any open
// chat (moveChats) now: by their role as it is at the transfer, not as it
// was when the socket connected, so that a manager the owner demoted to
// operator moves no colleague's chat from a console left open.
func (h *chatConsoleHandlers) mayMoveAny(email string) bool {
	u, err := h.accounts.User(email)
	return err == nil && moveChats.allows(u.Role)
}

func (h *chatConsoleHandlers) serveSocket(conn *websocket.Conn, email, token string) {
	conn.SetReadLimit(maxSocketRead)
	s := newSocket(conn, h.sockets)
	if s == nil {
		return
	}
	c := &openConsole{s: s, token: token}
	h.open.add(email, c)
	defer func() {
		h.open.remove(email, c)
		// After the presence's release (deferred later, run earlier): a
		// frame handled while revoke ran may have set the user online.
		if c.revoked.Load() {
			for _, o := range h.open.of(email) {
				if !o.revoked.Load() && h.allowed(email, o.token) {
					return
				}
			}
			h.chats.SignOut(email)
		}
	}()
	if !h.allowed(email, token) { // ended after authorize, before add
		c.revoked.Store(true)
		s.cut(websocket.ClosePolicyViolation, "signed out")
	}
	b, err := readFrame(conn, chatHelloTimeout)
	if s.closed.Load() {
		s.linger()
		s.end()
		return
	}
	if err != nil {
		var fe *frameError
		if errors.As(err, &fe) {
			s.fail(err, "")
		}
		s.end()
		return
	}
	hello, err := parseChatFrame(b, consoleFrames)
	if err == nil && hello.Type != "hello" {
		err = &frameError{code: "hello_required", msg: "the first frame must be hello"}
	}
	if err != nil {
		s.fail(err, hello.Ref)
		s.end()
		return
	}
	st := &consoleState{op: chats.Operator{Name: email}}
	for _, site := range h.sites.List() {
		st.sites = append(st.sites, site.ID)
	}
	st.sub = h.chats.SubscribeConsole(st.sites, s.notify)
	defer h.chats.Unsubscribe(st.sub)
	status := chats.Online
	if hello.Status == chats.Away {
		status = chats.Away
	}
	release := h.chats.Connect(st.op, st.sites, status)
	defer release()
	s.sub = st.sub
	sent := map[uint64]uint64{} // under s.mu
	s.event = func(ev *chats.Event) []byte {
		if ev.Kind == chats.EvMessage {
			if last, ok := sent[ev.ChatID]; ok {
				if ev.Message.ID <= last {
					return nil
				}
				sent[ev.ChatID] = ev.Message.ID
			}
		}
		return ev.Encoded(chats.ForConsoles, func() []byte { return encodeFrame(h.eventFrame(ev)) })
	}
	s.tick = func() error {
		if !h.allowed(email, token) {
			h.chats.SignOut(email)
			return &frameError{code: "signed_out", msg: "signed out"}
		}
		return nil
	}
	ok := s.begin(func(write func(any) error) error {
		frames, err := h.welcome(st, status, hello.Chats)
		if err != nil {
			return err
		}
		for _, fr := range frames {
			if m, ok := fr.(outMessage); ok {
				sent[m.Chat] = max(sent[m.Chat], m.ID)
			}
			if err := write(fr); err != nil {
				return err
			}
		}
		return nil
	})
	if !ok {
		s.end()
		return
	}
	s.serveFrames(consoleFrames, func(f chatFrame) ([]any, error) { return h.handle(st, f) })
}

func (h *chatConsoleHandlers) siteKey(id uint32) string {
	if s, err := h.sites.ByID(id); err == nil {
		return s.Key
	}
	return ""
}

// welcome is the console's welcome and the messages of the chats it
// named after the ids it holds.
func (h *chatConsoleHandlers) welcome(st *consoleState, status string, known map[string]uint64) ([]any, error) {
	ctx := context.Background()
	wf := outConsoleWelcome{Type: "welcome", Operator: st.op.Name, Status: status, Chats: []chats.View{},
		Canned: map[string][]string{}, Sites: []consoleSite{}, Visitors: []outVisitor{}, Heartbeat: int(chatHeartbeat / time.Second)}
	listed := map[uint64]bool{}
	for _, id := range st.sites {
		site, err := h.sites.ByID(id)
		if err != nil {
			return nil, err
		}
		wf.Sites = append(wf.Sites, consoleSite{Key: site.Key, Name: site.Name, Operators: h.chats.Operators(id)})
		canned, err := h.chats.Canned(id)
		if err != nil {
			return nil, err
		}
		wf.Canned[site.Key] = append([]string{}, canned...)
		open, err := h.chats.Open(ctx, id)
		if err != nil {
			return nil, err
		}
		for i := range open {
			wf.Chats = append(wf.Chats, h.chats.ViewOf(&open[i]))
			listed[open[i].ID] = true
		}
	}
	for _, lv := range h.chats.Live(st.sites) {
		wf.Visitors = append(wf.Visitors, outVisitor{Site: h.siteKey(lv.Site), Visitor: lv.Visitor, Session: lv.Session, U: lv.Page, Online: true, Since: lv.Since})
	}
	out := []any{&wf}
	for k, after := range known {
		id, err := strconv.ParseUint(k, 10, 64)
		if err != nil {
			continue
		}
		c, err := h.findChat(st, id)
		if err != nil {
			continue
		}
		if !listed[id] {
			wf.Chats = append(wf.Chats, h.chats.ViewOf(&c))
		}
		after = resumeAfter(&c, id, after)
		for {
			msgs, err := h.chats.Messages(ctx, c.Site, c.ID, after, 0)
			if err != nil {
				return nil, err
			}
			for i := range msgs {
				m := consoleMessage(c.ID, &msgs[i])
				m.Ref = storedRef(&c, &msgs[i], chats.FromOperator)
				out = append(out, m)
			}
			if len(msgs) < chats.MaxPageMessages {
				break
			}
			after = msgs[len(msgs)-1].ID
		}
	}
	return out, nil
}

func consoleMessage(chat uint64, m *store.ChatMessage) outMessage {
	out := outMessage{Type: "message", Chat: chat, ID: m.ID, From: m.From, Name: m.Name, Text: m.Text, At: m.At, Code: chats.SystemCode(m)}
	if _, to, ok := chats.Transferred(m); ok {
		out.To = to
	}
	return out
}

// findChat finds a chat by id among the console's sites.
func (h *chatConsoleHandlers) findChat(st *consoleState, id uint64) (store.Chat, error) {
	for _, site := range st.sites {
		c, err := h.chats.Chat(site, id)
		if err == nil {
			return c, nil
		}
		if !errors.Is(err, chats.ErrNoChat) {
			return store.Chat{}, err
		}
	}
	return store.Chat{}, chats.ErrNoChat
}

func (h *chatConsoleHandlers) eventFrame(ev *chats.Event) any {
	switch ev.Kind {
	case chats.EvMessage:
		m := consoleMessage(ev.ChatID, ev.Message)
		if ev.Message.From == chats.FromOperator {
			m.Ref = ev.Ref
		}
		return m
	case chats.EvTyping:
		return outTyping{Type: "typing", Chat: ev.ChatID, From: ev.From, Name: ev.Name, On: ev.On}
	case chats.EvDelivered:
		return outMark{Type: "delivered", Chat: ev.ChatID, From: ev.From, ID: ev.ID}
	case chats.EvRead:
		return outMark{Type: "read", Chat: ev.ChatID, From: ev.From, ID: ev.ID}
	case chats.EvChat:
		return outChat{Type: "chat", Chat: h.chats.ViewOf(ev.Chat)}
	case chats.EvOperator:
		return outOperator{Type: "presence", Site: h.siteKey(ev.Site), Name: ev.Name, Status: ev.Status}
	case chats.EvVisitor:
		lv := ev.Live
		return outVisitor{Type: "visitor", Site: h.siteKey(ev.Site), Visitor: lv.Visitor, Session: lv.Session, U: lv.Page, Online: ev.Online, Since: lv.Since}
	}
	return nil
}

// handle does what a console's frame asks and returns the frames that
// answer it.
func (h *chatConsoleHandlers) handle(st *consoleState, f chatFrame) ([]any, error) {
	ctx := context.Background()
	switch f.Type {
	case "hello":
		return nil, badFrame("hello only once")
	case "ping":
		return []any{outPong{Type: "pong"}}, nil
	case "status":
		if f.Status != chats.Online && f.Status != chats.Away {
			return nil, badFrame("status is online or away")
		}
		return nil, h.chats.SetStatus(st.op, st.sites, f.Status, false)
	case "invite":
		site, err := h.sites.ByKey(f.Site)
		if err != nil {
			return nil, chats.ErrNoChat
		}
		h.chats.Active(st.op, st.sites)
		ack, err := h.chats.Invite(ctx, st.op, site.ID, f.Visitor, f.Ref, f.Text)
		if err != nil {
			return nil, err
		}
		return []any{outAck{Type: "ack", Ref: f.Ref, Chat: ack.Chat.ID, ID: ack.Message.ID, At: ack.Message.At}}, nil
	}
	c, err := h.findChat(st, f.Chat)
	if err != nil {
		return nil, err
	}
	switch f.Type {
	case "send":
		h.chats.Active(st.op, st.sites)
		ack, err := h.chats.OperatorSend(ctx, st.op, c.Site, c.ID, f.Ref, f.Text)
		if err != nil {
			return nil, err
		}
		return []any{outAck{Type: "ack", Ref: f.Ref, Chat: c.ID, ID: ack.Message.ID, At: ack.Message.At}}, nil
	case "history":
		msgs, err := h.chats.Messages(ctx, c.Site, c.ID, f.After, 500)
		if err != nil {
			return nil, err
		}
		out := make([]any, 0, len(msgs)+1)
		last := f.After
		for i := range msgs {
			m := consoleMessage(c.ID, &msgs[i])
			m.Ref = storedRef(&c, &msgs[i], chats.FromOperator)
			out = append(out, m)
			last = msgs[i].ID
		}
		return append(out, outHistory{Type: "history", Chat: c.ID, ID: last}), nil
	case "claim":
		h.chats.Active(st.op, st.sites)
		_, err := h.chats.Claim(ctx, st.op, c.Site, c.ID)
		return nil, err
	case "transfer":
		h.chats.Active(st.op, st.sites)
		_, err := h.chats.Transfer(ctx, st.op, h.mayMoveAny(st.op.Name), c.Site, c.ID, chats.Move{To: f.Operator, From: f.From})
		return nil, err
	case "typing":
		h.chats.Typing(&c, chats.FromOperator, st.op.Name, f.On, st.sub)
		return nil, nil
	case "delivered":
		h.chats.Delivered(&c, chats.FromOperator, st.op.Name, f.ID, st.sub)
		return nil, nil
	case "read":
		return nil, h.chats.MarkRead(ctx, c.Site, c.ID, chats.FromOperator, st.op.Name, f.ID, st.sub)
	case "close":
		h.chats.Active(st.op, st.sites)
		_, err := h.chats.Close(ctx, c.Site, c.ID, 0, chats.ClosedByOperator)
		return nil, err
	}
	return nil, badFrame("a console does not send " + quoteCut(f.Type))
}
