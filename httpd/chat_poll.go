package httpd

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/valyala/fasthttp"

	"appliance/httpd/chats"
	"appliance/httpd/ratelimit"
	"appliance/httpd/visits"
)

// pollRequest is the body of POST /t/v1/chat, the long-poll fallback.
type pollRequest struct {
	K      string            `json:"k"`
	CI     string            `json:"ci"`
	Key    string            `json:"key"`
	U      string            `json:"u"`
	Chat   uint64            `json:"chat"`
	After  uint64            `json:"after"`
	Wait   int               `json:"wait"`
	Frames []json.RawMessage `json:"frames"`

	// Earlier: the window holds nothing yet; the answer brings the
	// visitor's earlier chats (as the socket's hello).
	Earlier bool `json:"earlier"`
	// Status is the chat's as the window knows it ("open", "closed", ""
	// none; absent: not said): a welcome that says otherwise is news, and
	// the poll answers at once.
	Status *string `json:"status"`
}

// parsePoll reads a poll's body and its frames (visitor frames, no hello).
func parsePoll(body []byte) (pollRequest, []chatFrame, error) {
	var r pollRequest
	if err := decodeBody(body, maxPollBody, &r, ignoreUnknown); err != nil {
		return r, nil, err
	}
	if r.Wait < 0 || r.Wait > maxPollWait {
		return r, nil, errorf(fasthttp.StatusBadRequest, "wait must be 0 to %d seconds", maxPollWait)
	}
	if len(r.Frames) > maxPollFrames {
		return r, nil, errorf(fasthttp.StatusBadRequest, "at most %d frames a poll", maxPollFrames)
	}
	frames := make([]chatFrame, 0, len(r.Frames))
	for _, raw := range r.Frames {
		f, err := parseChatFrame(raw, visitorFrames)
		if err != nil {
			return r, nil, errorf(fasthttp.StatusBadRequest, "frame: %s", err.(*frameError).msg)
		}
		if f.Type == "hello" {
			return r, nil, errorf(fasthttp.StatusBadRequest, "a poll carries its credentials in the body, not in a hello frame")
		}
		frames = append(frames, f)
	}
	return r, frames, nil
}

// pollFail answers a poll's request error with its code.
func pollFail(ctx *fasthttp.RequestCtx, status int, code, msg string) error {
	writeJSON(ctx, status, errorResponse{Error: msg, Result: map[string]string{"code": code}})
	return nil
}

func (h *chatVisitorHandlers) poll(ctx *fasthttp.RequestCtx) error {
	hd := &ctx.Response.Header
	hd.Set("Access-Control-Allow-Origin", "*")
	hd.Set("Cache-Control", "no-store")
	ip := h.clientIP(ctx)
	if h.overRequestRate(ip) {
		hd.Set("Retry-After", "1")
		return pollFail(ctx, fasthttp.StatusTooManyRequests, "rate_limit", "too many requests from this address; slow down")
	}
	req, frames, err := parsePoll(ctx.PostBody())
	if err != nil {
		e := err.(*Error)
		code := "bad_frame"
		if e.Code == fasthttp.StatusRequestEntityTooLarge {
			code = "too_large"
		}
		return pollFail(ctx, e.Code, code, e.Msg)
	}
	site, err := h.site(req.K)
	if err != nil {
		return pollFail(ctx, fasthttp.StatusNotFound, "unknown_site", "no site with this key")
	}
	req.U = visits.MendURL(req.U)
	if err := checkOrigin(site, string(ctx.Request.Header.Peek("Origin")), req.U); err != nil {
		if ue := asUserError(err); ue != nil {
			return pollFail(ctx, ue.Status(), "forbidden_origin", ue.UserMessage())
		}
		return err
	}
	st, err := h.hello(site, chatFrame{CI: req.CI, Key: req.Key, U: req.U}, ip)
	if err != nil {
		fe := err.(*frameError)
		status := fasthttp.StatusBadRequest
		if fe.code == "wrong_key" {
			status = fasthttp.StatusForbidden
		}
		return pollFail(ctx, status, fe.code, fe.msg)
	}
	// Only polls that wait are held open: a request that sends frames
	// answers at once, and is refused no more while the visitor's two
	// tabs each hold their long poll.
	if req.Wait > 0 {
		vkey := visitorKey(site.ID, st.v.Visitor)
		if !h.polls.take(vkey, pollsPerVisitor) {
			hd.Set("Retry-After", "1")
			return pollFail(ctx, fasthttp.StatusTooManyRequests, "rate_limit", "at most 2 waiting polls open per visitor")
		}
		defer h.polls.give(vkey)
		// A waiting poll is held open as a socket is, and counts with
		// the sockets of its address: visitors cost one hit each, so the
		// limit per visitor alone let one address hold any number.
		network := ratelimit.Network(ip)
		if !h.ipConns.take(network, h.limits.ConnsPerIP) {
			hd.Set("Retry-After", "10")
			return pollFail(ctx, fasthttp.StatusTooManyRequests, "rate_limit",
				fmt.Sprintf("too many chat connections from this address (at most %d)", h.limits.ConnsPerIP))
		}
		defer h.ipConns.give(network)
	}
	st.sub = h.chats.SubscribePoll(site.ID, st.v.Visitor)
	defer h.chats.Unsubscribe(st.sub)

	out := []any{}
	for _, f := range frames {
		replies, err := h.handle(st, f)
		out = append(out, replies...)
		if err != nil {
			ef, keep := errorFrame(err, f.Ref)
			out = append(out, ef)
			if !keep {
				break
			}
		}
	}
	welcome, err := h.welcome(st, req.Chat, req.After, req.Earlier)
	if err != nil {
		return err
	}
	out = append(out, welcome...)
	wf := welcome[0].(outVisitorWelcome)
	sent := wf.After
	for _, fr := range welcome[1:] {
		if m, ok := fr.(outMessage); ok && m.Chat == wf.Chat {
			sent = max(sent, m.ID) // not an earlier chat's
		}
	}
	// A chat that closed between two polls (its closed event went to no
	// poll) is told by the welcome: not held back for the wait.
	news := req.Status != nil && *req.Status != wf.Status
	if len(out) == 1 && req.Wait > 0 && !news {
		timer := time.NewTimer(time.Duration(req.Wait) * time.Second)
		defer timer.Stop()
		select {
		case ev := <-st.sub.C:
			out = appendPollEvent(out, ev, wf.Chat, &sent)
		drain:
			for {
				select {
				case ev := <-st.sub.C:
					out = appendPollEvent(out, ev, wf.Chat, &sent)
				default:
					break drain
				}
			}
		case <-timer.C:
		case <-h.sockets.stop:
		}
	}
	writeJSON(ctx, fasthttp.StatusOK, map[string]any{"success": true, "result": map[string]any{"frames": out}})
	return nil
}

// appendPollEvent adds the frame of an event that came while a poll
// waited; a message of the welcome's chat already answered is skipped.
func appendPollEvent(out []any, ev *chats.Event, chat uint64, sent *uint64) []any {
	if ev.Kind == chats.EvMessage && ev.ChatID == chat {
		if ev.Message.ID <= *sent {
			return out
		}
		*sent = ev.Message.ID
	}
	if f := visitorEventFrame(ev); f != nil {
		out = append(out, f)
	}
	return out
}
