package httpd

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"appliance/httpd/chats"
	"appliance/internal/usererr"
	"appliance/store"
)

// The JSON frames of the chat (chat-protocol.md): what clients send
// (chatFrame, read by parseChatFrame, the one parser of every frame from a
// socket or a long-poll body) and what the server sends (out*).

// maxChatFrame is the largest frame a client may send: room for a text of
// chats.MaxText bytes however JSON escapes it (a quote, a backslash, a
// newline take two bytes each), with the ref and the frame's other
// fields. A frame any smaller would refuse a valid message for its
// escaping, and the window, which resends what was not acknowledged,
// would stay stuck on it.
const maxChatFrame = 2*chats.MaxText + 1<<10

// chatFrame is any frame a client sends; each type uses its fields.
type chatFrame struct {
	Type    string            `json:"type"`
	CI      string            `json:"ci"`
	Key     string            `json:"key"`
	U       string            `json:"u"`
	Chat    uint64            `json:"chat"`
	After   uint64            `json:"after"`
	ID      uint64            `json:"id"`
	Ref     string            `json:"ref"`
	Text    string            `json:"text"`
	On      bool              `json:"on"`
	Status  string            `json:"status"`
	Site    string            `json:"site"`
	Visitor uint64            `json:"visitor"`
	Chats   map[string]uint64 `json:"chats"`
	// Operator is whom a console's transfer hands the chat to ("" back
	// to the queue); From, when sent, whose the console shows the chat is.
	Operator string  `json:"operator"`
	From     *string `json:"from"`
	// Earlier (visitor hello): the window holds nothing yet (a new
	// page), so the welcome brings the visitor's earlier chats too.
	Earlier bool `json:"earlier"`
}

// chatFrameFields are chatFrame's JSON names, by their lower case.
var chatFrameFields = map[string]string{"type": "type", "ci": "ci", "key": "key", "u": "u", "chat": "chat",
	"after": "after", "id": "id", "ref": "ref", "text": "text", "on": "on", "status": "status", "site": "site",
	"visitor": "visitor", "chats": "chats", "operator": "operator", "from": "from",
	"earlier": "earlier"}

// visitorFrames and consoleFrames are the types each side may send.
var (
	visitorFrames = map[string]bool{"hello": true, "send": true, "typing": true, "delivered": true, "read": true, "close": true, "ping": true}
	consoleFrames = map[string]bool{"hello": true, "send": true, "invite": true, "history": true, "claim": true, "transfer": true, "typing": true,
		"delivered": true, "read": true, "close": true, "status": true, "ping": true}
)

// frameError is a refused frame: its protocol code and a message for the
// developer.
type frameError struct {
	code, msg, ref string
}

func (e *frameError) Error() string { return e.code + ": " + e.msg }

func badFrame(msg string) *frameError { return &frameError{code: "bad_frame", msg: msg} }

// parseChatFrame reads one frame of a side's types (known). Unknown
// fields are ignored (a newer client may send more); a wrong type of a
// field, a missing or unknown type, or more than maxChatFrame bytes is an
// error with its code.
func parseChatFrame(b []byte, known map[string]bool) (chatFrame, error) {
	var f chatFrame
	if len(b) > maxChatFrame {
		return f, &frameError{code: "too_large", msg: fmt.Sprintf("a frame is at most %d bytes", maxChatFrame)}
	}
	if err := decodeBody(b, maxChatFrame, &f, ignoreUnknown); err != nil {
		var he *Error
		if errors.As(err, &he) {
			return chatFrame{}, badFrame(he.Msg)
		}
		return chatFrame{}, badFrame("not a JSON object")
	}
	// encoding/json matches field names regardless of case; the
	// protocol's are exact.
	var keys map[string]json.RawMessage
	if err := json.Unmarshal(b, &keys); err != nil {
		return chatFrame{}, badFrame("not a JSON object")
	}
	for k := range keys {
		if exact, ok := chatFrameFields[strings.ToLower(k)]; ok && exact != k {
			return chatFrame{}, badFrame("field " + quoteCut(k) + " is spelt " + exact)
		}
	}
	if f.Type == "" {
		return chatFrame{}, badFrame("the frame has no type")
	}
	if !known[f.Type] {
		return chatFrame{}, badFrame("unknown frame type " + quoteCut(f.Type))
	}
	if err := chats.CheckRef(f.Ref); err != nil {
		return chatFrame{}, &frameError{code: "bad_frame", msg: "ref: at most 64 bytes, no control characters"}
	}
	if len(f.Chats) > 1000 {
		return chatFrame{}, badFrame("hello names at most 1000 chats")
	}
	return f, nil
}

func quoteCut(s string) string {
	b, _ := json.Marshal(cutString(s, 40))
	return string(b)
}

// errorFrame turns an error of a frame into the error frame, its code
// and whether the socket stays open.
func errorFrame(err error, ref string) (outError, bool) {
	var fe *frameError
	if errors.As(err, &fe) {
		return outError{Type: "error", Code: fe.code, Message: fe.msg, Ref: ref}, false
	}
	var ce *usererr.Error
	if errors.As(err, &ce) {
		keep := ce.Code() == "chat_closed" || ce.Code() == "no_chat" || ce.Code() == "assigned" || ce.Code() == "too_many_chats" ||
			ce.Code() == "operator_offline"
		return outError{Type: "error", Code: ce.Code(), Message: ce.UserMessage(), Ref: ref}, keep
	}
	if ue := asUserError(err); ue != nil && ue.Status() < 500 {
		return outError{Type: "error", Code: "bad_frame", Message: ue.UserMessage(), Ref: ref}, false
	}
	return outError{Type: "error", Code: "server_error", Message: "the server could not store this; nothing was stored, send it again later", Ref: ref}, false
}

type outError struct {
	Type    string `json:"type"`
	Code    string `json:"code"`
	Message string `json:"message"`
	Ref     string `json:"ref,omitempty"`
}

type outMessage struct {
	Type string `json:"type"`
	Chat uint64 `json:"chat"`
	ID   uint64 `json:"id"`
	From string `json:"from"`
	Name string `json:"name"`
	Text string `json:"text"`
	At   int64  `json:"at"`
	// Code is a system message's (chats.SystemCode): clients show their
	// own text for it.
	Code string `json:"code,omitempty"`
	// To is whom a transfer's note (code "transfer") handed the chat to,
	// in the frames to consoles; its name is who did.
	To string `json:"to,omitempty"`
	// Ref is the sender's ref, in the frames to the sender's side (an
	// operator's message to consoles, a visitor's to visitors) when it was
	// just sent: the sender's client matches its waiting copy by it.
	Ref string `json:"ref,omitempty"`
}

// storedRef is the ref message m of chat c was sent with, when m is of
// side from and c still keeps its ref (its last store.MaxChatRefs): a
// replay tells a client its own message as the live frame does.
func storedRef(c *store.Chat, m *store.ChatMessage, from string) string {
	if m.From != from {
		return ""
	}
	for _, r := range c.Refs {
		if r.ID == m.ID {
			return r.Ref
		}
	}
	return ""
}

type outAck struct {
	Type string `json:"type"`
	Ref  string `json:"ref"`
	Chat uint64 `json:"chat"`
	ID   uint64 `json:"id"`
	At   int64  `json:"at"`
}

type outTyping struct {
	Type string `json:"type"`
	Chat uint64 `json:"chat"`
	From string `json:"from"`
	Name string `json:"name"`
	On   bool   `json:"on"`
}

type outMark struct {
	Type string `json:"type"`
	Chat uint64 `json:"chat"`
	From string `json:"from"`
	ID   uint64 `json:"id"`
}

// outEnded follows the messages of an earlier chat of the visitor after
// the welcome of a hello that asked for them (chat-protocol.md): that
// conversation ended, at At, by By.
type outEnded struct {
	Type string `json:"type"`
	Chat uint64 `json:"chat"`
	By   string `json:"by"`
	At   int64  `json:"at"`
}

type outVisitorWelcome struct {
	Type      string `json:"type"`
	Chat      uint64 `json:"chat"`
	Status    string `json:"status"`
	Operators bool   `json:"operators"`
	Read      uint64 `json:"read"`
	Delivered uint64 `json:"delivered"`
	Assigned  string `json:"assigned"`
	// After is the id the messages that follow the welcome come after:
	// the hello's, or 0 (the chat whole) when the client named another
	// chat or an id the chat has not reached.
	After     uint64 `json:"after"`
	Heartbeat int    `json:"heartbeat"`
}

type consoleSite struct {
	Key       string                 `json:"key"`
	Name      string                 `json:"name"`
	Operators []chats.OperatorStatus `json:"operators"`
}

type outConsoleWelcome struct {
	Type      string              `json:"type"`
	Operator  string              `json:"operator"`
	Status    string              `json:"status"`
	Chats     []chats.View        `json:"chats"`
	Canned    map[string][]string `json:"canned"`
	Sites     []consoleSite       `json:"sites"`
	Visitors  []outVisitor        `json:"visitors"`
	Heartbeat int                 `json:"heartbeat"`
}

type outChat struct {
	Type string     `json:"type"`
	Chat chats.View `json:"chat"`
}

type outAssigned struct {
	Type string `json:"type"`
	Chat uint64 `json:"chat"`
	Name string `json:"name"`
}

type outClosed struct {
	Type string `json:"type"`
	Chat uint64 `json:"chat"`
	By   string `json:"by"`
}

type outSiteStatus struct {
	Type      string `json:"type"`
	Operators bool   `json:"operators"`
}

type outOperator struct {
	Type   string `json:"type"`
	Site   string `json:"site"`
	Name   string `json:"name"`
	Status string `json:"status"`
}

type outVisitor struct {
	Type    string `json:"type,omitempty"`
	Site    string `json:"site"`
	Visitor uint64 `json:"visitor"`
	Session uint64 `json:"session"`
	U       string `json:"u"`
	Online  bool   `json:"online"`
	Since   int64  `json:"since"`
}

type outHistory struct {
	Type string `json:"type"`
	Chat uint64 `json:"chat"`
	ID   uint64 `json:"id"`
}

type outPong struct {
	Type string `json:"type"`
}

// publicName is how an operator is named to visitors: the part of their
// email before "@" (a token's name as it is).
func publicName(name string) string {
	if i := strings.IndexByte(name, '@'); i > 0 {
		return name[:i]
	}
	return name
}
