package chats

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"appliance/internal/usererr"
	"appliance/store"
)

// ErrOperatorOffline: a chat is transferred to an operator who is not
// online on its site (away, gone, or no such operator).
var ErrOperatorOffline = usererr.New("chats", 409, "the operator is not online").WithCode("operator_offline")

// System codes of the notes a transfer leaves in a chat (SystemCode).
const (
	CodeTransfer = "transfer" // an operator handed the chat to another
	CodeRelease  = "release"  // an operator gave it back to the queue
)

// transferNote is the text of the system message a transfer leaves in the
// chat: by handed it to to ("" back to the queue). Its Name is by. It is
// written for the operators (the API, the webhook, the chats page);
// consoles show their own words for its code, and visitors never get it
// (OperatorsOnly): they see the new operator join.
func transferNote(by, to string) string {
	if to == "" {
		return by + " returned the chat to the queue. / " + by + " вернул(а) чат в очередь."
	}
	return by + " transferred the chat to " + to + ". / " + by + " передал(а) чат: " + to + "."
}

// Transferred reads a transfer's note: who transferred the chat and to
// whom ("" back to the queue). ok false: m is no such note.
func Transferred(m *store.ChatMessage) (by, to string, ok bool) {
	if m.From != FromSystem || m.Name == "" {
		return "", "", false
	}
	by = m.Name
	if m.Text == transferNote(by, "") {
		return by, "", true
	}
	rest, found := strings.CutPrefix(m.Text, by+" transferred the chat to ")
	if !found {
		return "", "", false
	}
	// rest is to + ". / " + by + " передал(а) чат: " + to + ".": to's
	// length follows from rest's, and the whole must then match.
	n := len(rest) - len(". /  передал(а) чат: .") - len(by)
	if n <= 0 || n%2 != 0 {
		return "", "", false
	}
	to = rest[:n/2]
	if m.Text != transferNote(by, to) {
		return "", "", false
	}
	return by, to, true
}

// OperatorsOnly reports whether m is a note for the operators alone (a
// transfer's), never sent to the visitor.
func OperatorsOnly(m *store.ChatMessage) bool {
	_, _, ok := Transferred(m)
	return ok
}

// isWord reports whether m counts as the chat's latest word: a visitor's
// or an operator's message, or the lead's note; not a transfer's note,
// which leaves the chat waiting for whom it waited.
func isWord(m *store.ChatMessage) bool { return !OperatorsOnly(m) }

// lastWord is the latest message of msgs that isWord; zero when none.
func lastWord(msgs []store.ChatMessage) store.ChatMessage {
	for i := len(msgs) - 1; i >= 0; i-- {
		if isWord(&msgs[i]) {
			return msgs[i]
		}
	}
	return store.ChatMessage{}
}

// Move is what a transfer asks: whom the chat goes to ("" back to the
// queue), and, when From is set, whose the caller saw it was: a chat
// that changed hands since (someone took it, or moved it) is refused,
// also for a manager, who may otherwise move any chat.
type Move struct {
	To   string
	From *string
}

// Transfer hands an open chat of the site to the operator named m.To, who
// must be online on the site (not away), or with "" releases it to the
// queue: nobody's, taken by whoever answers or claims it first. op may
// transfer the chat they hold, and one they could take (nobody's, or its
// operator is not online: Claim); with manage (a manager or the owner) any
// open chat. The chat's new operator, a system note in its history
// (Transferred) and the hub's events are in one write: a transfer that
// meets a chat someone else took meanwhile changes nothing. Transferring
// a chat to whom has it already changes nothing and is not an error.
// Errors: ErrForbidden, ErrNoChat, ErrClosed, ErrAssigned (a colleague
// online holds it, or it is no longer m.From's), ErrOperatorOffline.
func (s *Service) Transfer(ctx context.Context, op Operator, manage bool, site uint32, chat uint64, m Move) (store.Chat, error) {
	to := m.To
	if !op.Allows(site) {
		return store.Chat{}, ErrForbidden.Errorf("this operator may not use that site")
	}
	unlock := s.lock(site, chat)
	defer unlock()
	var c store.Chat
	var note store.ChatMessage
	changed := false
	err := s.db.Update(ctx, func(tx *store.Tx) error {
		var err error
		if c, err = txChat(tx, site, chat); err != nil {
			return err
		}
		switch {
		case c.Closed != 0:
			return ErrClosed.Errorf("chat %d is closed", chat)
		case m.From != nil && *m.From != c.Assigned && c.Assigned == "":
			return ErrAssigned.Errorf("chat %d is nobody's now", chat)
		case m.From != nil && *m.From != c.Assigned:
			return ErrAssigned.Errorf("chat %d is %s's", chat, c.Assigned)
		case !manage && c.Assigned != "" && c.Assigned != op.Name && s.presence.isOnline(site, c.Assigned):
			return ErrAssigned.Errorf("chat %d is %s's", chat, c.Assigned)
		case c.Assigned == to:
			return nil
		case to != "" && !s.presence.isOnline(site, to):
			return ErrOperatorOffline.Errorf("%s is not online on this site: a chat goes to an operator online, not away", to)
		}
		note = store.ChatMessage{From: FromSystem, Name: op.Name, Text: transferNote(op.Name, to), At: s.o.Now().UnixMilli()}
		if err := appendMessage(tx, &c, &note, ""); err != nil {
			return err
		}
		c.Assigned, changed = to, true
		tx.Set(store.ChatKey(site, chat), c.Encode())
		return nil
	})
	if err != nil {
		return store.Chat{}, fmt.Errorf("transfer chat %d: %w", chat, err)
	}
	if changed {
		s.publishMessage(&c, note, "")
		s.publishAssigned(&c)
	}
	return c, nil
}

// lastMessage reads the latest word of c (isWord: a transfer's note is
// passed over); zero when c has none.
func (s *Service) lastMessage(site uint32, c *store.Chat) (store.ChatMessage, error) {
	var m store.ChatMessage
	var derr error
	err := s.db.Scan(context.Background(), store.ChatMessageKey(site, c.ID, 1), store.ChatMessageKey(site, c.ID, c.Last+1), true, 0,
		func(k, v []byte) bool {
			id, _ := store.IDFromKey(k)
			if m, derr = store.DecodeChatMessage(id, v); derr != nil {
				return false
			}
			if isWord(&m) {
				return false
			}
			m = store.ChatMessage{}
			return true
		})
	if err = errors.Join(err, derr); err != nil {
		return store.ChatMessage{}, fmt.Errorf("read the last message of chat %d: %w", c.ID, err)
	}
	return m, nil
}
