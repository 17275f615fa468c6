package httpd

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/valyala/fasthttp"

	"appliance/httpd/chats"
	"appliance/httpd/sites"
	"appliance/internal/usererr"
	"appliance/store"
)

// The operator API (chat-protocol.md, README): bots, CRMs and messenger
// bridges read and answer chats with an API token. A token made for a user
// (appliance token add --user EMAIL) acts as that user; any other as the
// operator named by the token (appliance token add --name bot).

// apiOperator is the operator a token acts as.
func apiOperator(tok store.Token) chats.Operator {
	op := chats.Operator{Name: tok.Name}
	if tok.User != "" {
		op.Name = tok.User
	}
	if len(tok.Sites) > 0 {
		op.Sites = tok.Sites
	}
	return op
}

// maxAPIChatBody is the body limit of the chat API's POSTs.
const maxAPIChatBody = 16 << 10

func (s *apiHandlers) mountChats(r *router) {
	s.route(r, "GET", "/api/v1/chats", scopeChats, useChat, s.listChats)
	s.route(r, "GET", "/api/v1/chats/*/messages", scopeChats, useChat, s.chatMessages)
	s.route(r, "POST", "/api/v1/chats/*/messages", scopeChats, useChat, s.postChatMessage)
	s.route(r, "POST", "/api/v1/chats/*/close", scopeChats, useChat, s.closeChat)
	s.route(r, "POST", "/api/v1/chats/*/transfer", scopeChats, useChat, s.transferChat)
	s.route(r, "POST", "/api/v1/operators/presence", scopeChats, useChat, s.operatorPresence)
}

// tokenSite is the site of key, if the token may use it. A key that is
// not there and one of a site the token may not use get the same 404, as
// the reports API's (tokenSites): a token learns no other site's key.
func (s *apiHandlers) tokenSite(tok store.Token, key string) (*store.Site, error) {
	if key == "" {
		return nil, errorf(fasthttp.StatusBadRequest, "site (the site key) is required")
	}
	site, err := s.sites.ByKey(key)
	if err != nil && !errors.Is(err, sites.ErrNotFound) {
		return nil, err
	}
	if err != nil || !tok.AllowsSite(site.ID) {
		return nil, errorf(fasthttp.StatusNotFound, "no site with the key %q among the sites this API token may use", cutString(key, 64))
	}
	return site, nil
}

// pathChat finds the chat of /api/v1/chats/ID/... among the token's
// sites.
func (s *apiHandlers) pathChat(ctx *fasthttp.RequestCtx, tok store.Token) (store.Chat, error) {
	parts := strings.Split(string(ctx.Path()), "/")
	id, err := strconv.ParseUint(parts[4], 10, 64)
	if err != nil || id == 0 {
		return store.Chat{}, errorf(fasthttp.StatusBadRequest, "chat id %q: want a positive integer", cutString(parts[4], 40))
	}
	for _, site := range s.sites.List() {
		if !tok.AllowsSite(site.ID) {
			continue
		}
		c, err := s.chats.Chat(site.ID, id)
		if err == nil {
			return c, nil
		}
		if !isNoChat(err) {
			return store.Chat{}, err
		}
	}
	return store.Chat{}, errorf(fasthttp.StatusNotFound, "no chat %d on this token's sites", id)
}

func isNoChat(err error) bool {
	ce, ok := err.(*usererr.Error)
	return ok && ce.Code() == "no_chat"
}

// uintArg reads an optional non-negative integer query argument: def
// when left out; given empty (after=, a script's after=$LAST with nothing
// in LAST) it is refused, not taken for the default, which would start a
// list again from its first record.
func uintArg(ctx *fasthttp.RequestCtx, name string, def, maxV uint64) (uint64, error) {
	if !ctx.QueryArgs().Has(name) {
		return def, nil
	}
	raw := string(ctx.QueryArgs().Peek(name))
	v, err := strconv.ParseUint(raw, 10, 64)
	if err != nil || v > maxV {
		return 0, errorf(fasthttp.StatusBadRequest, "%s %q: want an integer from 0 to %d", name, cutString(raw, 40), maxV)
	}
	return v, nil
}

func (s *apiHandlers) listChats(ctx *fasthttp.RequestCtx, tok store.Token) error {
	if err := knownParams(ctx, []string{"site", "status", "limit"}); err != nil {
		return err
	}
	site, err := s.tokenSite(tok, string(ctx.QueryArgs().Peek("site")))
	if err != nil {
		return err
	}
	status := string(ctx.QueryArgs().Peek("status"))
	if status != "" && status != chats.StatusOpen && status != chats.StatusClosed {
		return errorf(fasthttp.StatusBadRequest, "status is open or closed, not %q", cutString(status, 40))
	}
	limit, err := uintArg(ctx, "limit", 100, 1000)
	if err != nil {
		return err
	}
	if limit == 0 {
		limit = 100
	}
	s.chats.Active(apiOperator(tok), []uint32{site.ID})
	list, err := s.chats.List(ctx, site.ID, status, int(limit))
	if err != nil {
		return err
	}
	out := make([]apiChat, 0, len(list))
	for i := range list {
		out = append(out, apiChatOf(s.chats.ViewOf(&list[i])))
	}
	writeJSON(ctx, fasthttp.StatusOK, map[string]any{"success": true, "result": out})
	return nil
}

// apiChat is a chat as the operator API gives it: CHAT (chats.View, the
// console's, times in Unix ms) with its times also as RFC 3339 in UTC, as
// its messages' "at", every other answer of the API and the chat webhook
// write them (null for one that has not happened).
type apiChat struct {
	chats.View
	CreatedAt     time.Time  `json:"created_at"`
	ClosedAt      *time.Time `json:"closed_at"`       // null while open
	LastMessageAt *time.Time `json:"last_message_at"` // null before the first message
}

func apiChatOf(v chats.View) apiChat {
	c := apiChat{View: v, CreatedAt: time.UnixMilli(v.Created).UTC()}
	if v.Closed != 0 {
		t := time.UnixMilli(v.Closed).UTC()
		c.ClosedAt = &t
	}
	if v.LastAt != 0 {
		t := time.UnixMilli(v.LastAt).UTC()
		c.LastMessageAt = &t
	}
	return c
}

func (s *apiHandlers) chatMessages(ctx *fasthttp.RequestCtx, tok store.Token) error {
	if err := knownParams(ctx, []string{"after", "limit"}); err != nil {
		return err
	}
	c, err := s.pathChat(ctx, tok)
	if err != nil {
		return err
	}
	after, err := uintArg(ctx, "after", 0, 1<<53)
	if err != nil {
		return err
	}
	limit, err := uintArg(ctx, "limit", chats.MaxPageMessages, chats.MaxPageMessages)
	if err != nil {
		return err
	}
	msgs, err := s.chats.Messages(ctx, c.Site, c.ID, after, int(limit))
	if err != nil {
		return err
	}
	out := make([]chats.MessageView, 0, len(msgs))
	for i := range msgs {
		out = append(out, chats.ViewOfMessage(&msgs[i]))
	}
	writeJSON(ctx, fasthttp.StatusOK, map[string]any{"success": true, "result": out})
	return nil
}

// chatMessageRequest is the body of POST /api/v1/chats/ID/messages.
type chatMessageRequest struct {
	Text *string `json:"text"`
	Ref  string  `json:"ref"`
}

func (s *apiHandlers) postChatMessage(ctx *fasthttp.RequestCtx, tok store.Token) error {
	c, err := s.pathChat(ctx, tok)
	if err != nil {
		return err
	}
	var req chatMessageRequest
	if err := decodeBody(ctx.PostBody(), maxAPIChatBody, &req, refuseUnknown); err != nil {
		return err
	}
	if req.Text == nil {
		return errorf(fasthttp.StatusBadRequest, "text is required")
	}
	op := apiOperator(tok)
	s.chats.Active(op, []uint32{c.Site})
	ack, err := s.chats.OperatorSend(context.WithoutCancel(ctx), op, c.Site, c.ID, req.Ref, *req.Text)
	if err != nil {
		return err
	}
	writeJSON(ctx, fasthttp.StatusOK, map[string]any{"success": true, "result": map[string]uint64{"message_id": ack.Message.ID}})
	return nil
}

func (s *apiHandlers) closeChat(ctx *fasthttp.RequestCtx, tok store.Token) error {
	c, err := s.pathChat(ctx, tok)
	if err != nil {
		return err
	}
	if _, err := s.chats.Close(context.WithoutCancel(ctx), c.Site, c.ID, 0, chats.ClosedByOperator); err != nil {
		return err
	}
	writeJSON(ctx, fasthttp.StatusOK, map[string]any{"success": true, "result": nil})
	return nil
}

// transferRequest is the body of POST /api/v1/chats/ID/transfer.
type transferRequest struct {
	Operator *string `json:"operator"`
	From     *string `json:"from"`
}

// maxOperatorName is the longest operator name a transfer takes: an
// email address's limit; a token's name is shorter.
const maxOperatorName = 254

// parseTransfer reads a transfer's body: whom the chat goes to, "" back
// to the queue, and, when from is sent, whose the caller saw it was ("":
// nobody's). An email is compared as the accounts keep it, in lower
// case; a token's name as it is.
func parseTransfer(body []byte) (chats.Move, error) {
	var req transferRequest
	if err := decodeBody(body, maxAPIChatBody, &req, refuseUnknown); err != nil {
		return chats.Move{}, err
	}
	if req.Operator == nil {
		return chats.Move{}, errorf(fasthttp.StatusBadRequest, `operator is required: the name of an operator online on the chat's site, or "" to return the chat to the queue`)
	}
	to, err := operatorName("operator", *req.Operator)
	if err != nil {
		return chats.Move{}, err
	}
	m := chats.Move{To: to}
	if req.From != nil {
		from, err := operatorName("from", *req.From)
		if err != nil {
			return chats.Move{}, err
		}
		m.From = &from
	}
	return m, nil
}

// operatorName checks and normalises an operator's name a body gives in
// field.
func operatorName(field, name string) (string, error) {
	name = strings.TrimSpace(name)
	if len(name) > maxOperatorName || strings.ContainsFunc(name, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return "", errorf(fasthttp.StatusBadRequest, "%s: at most %d bytes, no control characters", field, maxOperatorName)
	}
	if strings.Contains(name, "@") {
		name = strings.ToLower(name)
	}
	return name, nil
}

// transferChat is POST /api/v1/chats/ID/transfer: the token's operator
// hands the chat to another operator online on its site, or returns it to
// the queue. A token made for a manager or the owner may move any open
// chat; any other, the chats its operator holds or could take.
func (s *apiHandlers) transferChat(ctx *fasthttp.RequestCtx, tok store.Token) error {
	c, err := s.pathChat(ctx, tok)
	if err != nil {
		return err
	}
	move, err := parseTransfer(ctx.PostBody())
	if err != nil {
		return err
	}
	manage := false
	if tok.User != "" {
		u, err := s.accounts.User(tok.User)
		if err != nil {
			return err
		}
		manage = moveChats.allows(u.Role)
	}
	op := apiOperator(tok)
	s.chats.Active(op, []uint32{c.Site})
	c, err = s.chats.Transfer(context.WithoutCancel(ctx), op, manage, c.Site, c.ID, move)
	if err != nil {
		return err
	}
	writeJSON(ctx, fasthttp.StatusOK, map[string]any{"success": true, "result": apiChatOf(s.chats.ViewOf(&c))})
	return nil
}

// presenceRequest is the body of POST /api/v1/operators/presence.
type presenceRequest struct {
	Site   string `json:"site"`
	Status string `json:"status"`
}

func (s *apiHandlers) operatorPresence(ctx *fasthttp.RequestCtx, tok store.Token) error {
	var req presenceRequest
	if err := decodeBody(ctx.PostBody(), maxAPIChatBody, &req, refuseUnknown); err != nil {
		return err
	}
	site, err := s.tokenSite(tok, req.Site)
	if err != nil {
		return err
	}
	if err := s.chats.SetStatus(apiOperator(tok), []uint32{site.ID}, req.Status, true); err != nil {
		return err
	}
	writeJSON(ctx, fasthttp.StatusOK, map[string]any{"success": true, "result": nil})
	return nil
}
