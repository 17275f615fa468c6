package chats

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"appliance/httpd/visits"
	"appliance/internal/usererr"
	"appliance/store"
)

// Visitor is a visitor acting through the snippet's credentials, already
// checked by the caller (the ci's key), on a page of the site.
type Visitor struct {
	Site    *store.Site
	Visitor uint64
	Session uint64
	Page    string // location.href of the page the window is on
	IP      string
}

// Ack is what a stored (or already stored) message answers.
type Ack struct {
	Chat    store.Chat
	Message store.ChatMessage
	// Created: the message opened the chat. Dup: the ref was stored
	// before; Message is that first one and nothing was written.
	Created, Dup bool
}

// CheckText trims a message and checks it: valid UTF-8, 1 to MaxText
// bytes, no control characters but newlines and tabs.
func CheckText(text string) (string, error) {
	if !utf8.ValidString(text) {
		return "", ErrInvalid.Errorf("the text is not valid UTF-8")
	}
	text = strings.TrimSpace(text)
	if text == "" {
		return "", ErrInvalid.Errorf("the text is empty")
	}
	if err := visits.CheckText("text", text, MaxText, true); err != nil {
		return "", ErrInvalid.Errorf("%s", usererr.UserMessage(err))
	}
	return text, nil
}

// CheckRef checks a client's ref: at most MaxRef bytes of printable UTF-8
// ("" is no ref).
func CheckRef(ref string) error {
	if err := visits.CheckText("ref", ref, MaxRef, false); err != nil {
		return ErrInvalid.Because(err).WithCode("bad_frame")
	}
	return nil
}

// errRaced: what a write read before taking its lock changed meanwhile.
var errRaced = errors.New("chats: raced")

func (s *Service) getChat(site uint32, id uint64) (store.Chat, error) {
	b, err := s.db.Get(store.ChatKey(site, id))
	if errors.Is(err, store.ErrNotFound) {
		return store.Chat{}, ErrNoChat.Errorf("no chat %d on this site", id)
	}
	if err != nil {
		return store.Chat{}, fmt.Errorf("read chat %d: %w", id, err)
	}
	return store.DecodeChat(site, id, b)
}

func txChat(tx *store.Tx, site uint32, id uint64) (store.Chat, error) {
	b, err := tx.Get(store.ChatKey(site, id))
	if errors.Is(err, store.ErrNotFound) {
		return store.Chat{}, ErrNoChat.Errorf("no chat %d on this site", id)
	}
	if err != nil {
		return store.Chat{}, fmt.Errorf("read chat %d: %w", id, err)
	}
	return store.DecodeChat(site, id, b)
}

// latestChat is the id of the visitor's latest chat on the site; 0 none.
func latestChat(get func([]byte) ([]byte, error), site uint32, visitor uint64) (uint64, error) {
	b, err := get(store.ChatVisitorKey(site, visitor))
	if errors.Is(err, store.ErrNotFound) {
		return 0, nil
	}
	if err != nil || len(b) != 8 {
		return 0, fmt.Errorf("read visitor %d's chat: %w", visitor, errors.Join(err, store.ErrCorrupt))
	}
	return uint64(b[0])<<56 | uint64(b[1])<<48 | uint64(b[2])<<40 | uint64(b[3])<<32 |
		uint64(b[4])<<24 | uint64(b[5])<<16 | uint64(b[6])<<8 | uint64(b[7]), nil
}

func idBytes(id uint64) []byte {
	return []byte{byte(id >> 56), byte(id >> 48), byte(id >> 40), byte(id >> 32), byte(id >> 24), byte(id >> 16), byte(id >> 8), byte(id)}
}

// findRef is the message id stored under ref; 0 none.
func findRef(c *store.Chat, ref string) uint64 {
	if ref == "" {
		return 0
	}
	for _, r := range c.Refs {
		if r.Ref == ref {
			return r.ID
		}
	}
	return 0
}

// append adds m to c within tx: the next id, the chat's counters and refs.
func appendMessage(tx *store.Tx, c *store.Chat, m *store.ChatMessage, ref string) error {
	if m.From != FromSystem && c.Last >= MaxMessages {
		return ErrChatFull.Errorf("the chat has %d messages; start a new one", MaxMessages)
	}
	m.ID = c.Last + 1
	c.Last, c.LastAt = m.ID, m.At
	if ref != "" {
		c.Refs = append(c.Refs, store.ChatRef{Ref: ref, ID: m.ID})
		if len(c.Refs) > store.MaxChatRefs {
			c.Refs = slices.Delete(c.Refs, 0, len(c.Refs)-store.MaxChatRefs)
		}
	}
	tx.Set(store.ChatMessageKey(c.Site, c.ID, m.ID), m.Encode())
	tx.Export(store.ChatMessageKey(c.Site, c.ID, m.ID), m.At)
	tx.Set(store.ChatKey(c.Site, c.ID), c.Encode())
	return nil
}

// dupAck answers a resent ref with the message stored the first time.
func dupAck(tx *store.Tx, c store.Chat, id uint64) (Ack, error) {
	b, err := tx.Get(store.ChatMessageKey(c.Site, c.ID, id))
	if err != nil {
		return Ack{}, fmt.Errorf("read message %d of chat %d: %w", id, c.ID, err)
	}
	m, err := store.DecodeChatMessage(id, b)
	return Ack{Chat: c, Message: m, Dup: true}, err
}

// Send stores a visitor's message in their open chat on the site, opening
// a chat when they have none, and returns once it is durable. A ref
// already stored in the visitor's latest chat, open or since closed,
// answers the first message (Dup). Errors: an Error of kind ErrInvalid
// (text), ErrChatFull; store errors.
func (s *Service) Send(ctx context.Context, v Visitor, ref, text string) (Ack, error) {
	text, err := checkMessage(ref, text)
	if err != nil {
		return Ack{}, err
	}
	site := v.Site.ID
	for range 5 {
		latest, err := latestChat(s.db.Get, site, v.Visitor)
		if err != nil {
			return Ack{}, err
		}
		var attr store.Attribution
		open := false
		if latest != 0 {
			c, err := s.getChat(site, latest)
			if err != nil {
				return Ack{}, err
			}
			open = c.Closed == 0
		}
		newID := uint64(0)
		if !open {
			if attr, err = s.visits.Attribute(site, v.Visitor, v.Session, 0, v.Page); err != nil {
				return Ack{}, fmt.Errorf("attribute chat: %w", err)
			}
			newID = s.db.NextID()
		}
		unlock := s.lock(site, v.Visitor, latest, newID)
		var ack Ack
		err = s.db.Update(ctx, func(tx *store.Tx) error {
			cur, err := latestChat(tx.Get, site, v.Visitor)
			if err != nil {
				return err
			}
			if cur != latest {
				return errRaced
			}
			var c store.Chat
			if cur != 0 {
				if c, err = txChat(tx, site, cur); err != nil {
					return err
				}
				// A resend of a message stored before its chat closed (its
				// ack lost, the chat became a lead meanwhile) is that
				// message, not the first of a new chat.
				if id := findRef(&c, ref); id != 0 {
					ack, err = dupAck(tx, c, id)
					return err
				}
			}
			now := s.o.Now().UnixMilli()
			if cur == 0 || c.Closed != 0 {
				if newID == 0 {
					return errRaced
				}
				c = store.Chat{ID: newID, Site: site, Created: now, IP: v.IP, Attribution: attr}
				if err := s.count(tx, v.Site, &c); err != nil {
					return err
				}
				tx.Set(store.ChatVisitorKey(site, v.Visitor), idBytes(newID))
				store.IndexVisitorItem(tx, v.Visitor, store.ItemChat, newID) // the visitor card's
				tx.Set(store.ChatOpenKey(site, newID), nil)
				tx.Export(store.ChatKey(site, newID), now)
				ack.Created = true
			}
			m := store.ChatMessage{From: FromVisitor, Text: text, At: now}
			if err := appendMessage(tx, &c, &m, ref); err != nil {
				return err
			}
			c.VisitorRead = m.ID
			tx.Set(store.ChatKey(site, c.ID), c.Encode())
			ack.Chat, ack.Message = c, m
			return nil
		})
		if errors.Is(err, errRaced) {
			unlock()
			continue
		}
		if err == nil && !ack.Dup {
			if ack.Created {
				s.hub.publish(&Event{Kind: EvChat, Site: site, ChatID: ack.Chat.ID, Visitor: v.Visitor, Chat: &ack.Chat})
			}
			s.publishMessage(&ack.Chat, ack.Message, ref)
		}
		unlock()
		if err != nil {
			return Ack{}, fmt.Errorf("send to chat: %w", err)
		}
		return ack, nil
	}
	return Ack{}, fmt.Errorf("send to chat: %w", errRaced)
}

// count counts a new chat for the reports, in the write that opens it.
func (s *Service) count(tx *store.Tx, site *store.Site, c *store.Chat) error {
	if s.o.Count == nil {
		return nil
	}
	return s.o.Count(tx, site, c.Attribution, c.Created)
}

// publishMessage publishes m, stored in c; ref is the sender's (the
// clients of the sender's side match it to their copy waiting for its ack).
func (s *Service) publishMessage(c *store.Chat, m store.ChatMessage, ref string) {
	s.hub.publish(&Event{Kind: EvMessage, Site: c.Site, ChatID: c.ID, Visitor: c.Visitor, Message: &m, Ref: ref})
}

// OperatorSend stores op's message in an open chat of the site and
// returns once it is durable; the first operator to write in a chat is
// assigned it, and so is one who writes while the assigned operator is
// not online. Errors: ErrInvalid (text), ErrNoChat, ErrClosed,
// ErrChatFull, ErrForbidden (a site op may not act on), ErrAssigned (a
// colleague online has the chat: they answer it, or transfer it).
func (s *Service) OperatorSend(ctx context.Context, op Operator, site uint32, chat uint64, ref, text string) (Ack, error) {
	text, err := checkOperatorMessage(op, site, ref, text)
	if err != nil {
		return Ack{}, err
	}
	unlock := s.lock(site, chat)
	defer unlock()
	var ack Ack
	assigned := false
	err = s.db.Update(ctx, func(tx *store.Tx) error {
		c, err := txChat(tx, site, chat)
		if err != nil {
			return err
		}
		if id := findRef(&c, ref); id != 0 {
			ack, err = dupAck(tx, c, id)
			return err
		}
		if c.Closed != 0 {
			return ErrClosed.Errorf("chat %d is closed", chat)
		}
		if c.Assigned != "" && c.Assigned != op.Name && s.presence.isOnline(site, c.Assigned) {
			// A colleague online has it (took it, or it was transferred
			// to them): two operators answering at once would cross.
			return ErrAssigned.Errorf("chat %d is %s's", chat, c.Assigned)
		}
		now := s.o.Now().UnixMilli()
		if c.Assigned != op.Name {
			// Nobody's, or the one who took it is not online: the chat
			// is handed over to whoever answers.
			c.Assigned, assigned = op.Name, true
		}
		if c.Answered == 0 {
			c.Answered = now
		}
		m := store.ChatMessage{From: FromOperator, Name: op.Name, Text: text, At: now}
		if err := appendMessage(tx, &c, &m, ref); err != nil {
			return err
		}
		c.OperatorRead = m.ID
		tx.Set(store.ChatKey(site, c.ID), c.Encode())
		ack.Chat, ack.Message = c, m
		return nil
	})
	if err != nil {
		return Ack{}, fmt.Errorf("send to chat %d: %w", chat, err)
	}
	if !ack.Dup {
		// The visitor is told who answers them before the answer: the
		// window's note ("anna is answering you") came below anna's
		// first words. Consoles get the chat frame after the message, as
		// before.
		if assigned {
			s.hub.publish(&Event{Kind: EvAssigned, Site: site, ChatID: chat, Visitor: ack.Chat.Visitor, Name: ack.Chat.Assigned})
		}
		s.publishMessage(&ack.Chat, ack.Message, ref)
		if assigned {
			s.hub.publish(&Event{Kind: EvChat, Site: site, ChatID: chat, Visitor: ack.Chat.Visitor, Chat: &ack.Chat})
		}
	}
	return ack, nil
}

func (s *Service) publishAssigned(c *store.Chat) {
	s.hub.publish(&Event{Kind: EvAssigned, Site: c.Site, ChatID: c.ID, Visitor: c.Visitor, Name: c.Assigned})
	s.hub.publish(&Event{Kind: EvChat, Site: c.Site, ChatID: c.ID, Visitor: c.Visitor, Chat: c})
}

// Claim assigns an open chat to op without a message: one nobody has, or
// one whose operator is not online (away, gone: a hand-over). Errors:
// ErrNoChat, ErrClosed, ErrAssigned (another operator online has it).
func (s *Service) Claim(ctx context.Context, op Operator, site uint32, chat uint64) (store.Chat, error) {
	if !op.Allows(site) {
		return store.Chat{}, ErrForbidden.Errorf("this operator may not use that site")
	}
	unlock := s.lock(site, chat)
	defer unlock()
	var c store.Chat
	changed := false
	err := s.db.Update(ctx, func(tx *store.Tx) error {
		var err error
		if c, err = txChat(tx, site, chat); err != nil {
			return err
		}
		switch {
		case c.Closed != 0:
			return ErrClosed.Errorf("chat %d is closed", chat)
		case c.Assigned == op.Name:
			return nil
		case c.Assigned != "" && s.presence.isOnline(site, c.Assigned):
			return ErrAssigned.Errorf("chat %d is %s's", chat, c.Assigned)
		}
		c.Assigned, changed = op.Name, true
		tx.Set(store.ChatKey(site, chat), c.Encode())
		return nil
	})
	if err != nil {
		return store.Chat{}, fmt.Errorf("claim chat %d: %w", chat, err)
	}
	if changed {
		s.publishAssigned(&c)
	}
	return c, nil
}

// Invite opens a chat with a visitor who is on the site now (a socket of
// theirs is open), assigned to op, with text as its first message.
// Errors: ErrNoChat (the visitor is not on the site now), ErrOpenChat
// (they have an open chat), ErrInvalid.
func (s *Service) Invite(ctx context.Context, op Operator, site uint32, visitor uint64, ref, text string) (Ack, error) {
	text, err := checkOperatorMessage(op, site, ref, text)
	if err != nil {
		return Ack{}, err
	}
	var live *LiveVisitor
	for _, lv := range s.hub.live(map[uint32]bool{site: true}) {
		if lv.Visitor == visitor {
			live = &lv
		}
	}
	if live == nil {
		return Ack{}, ErrNoChat.Errorf("visitor %d is not on the site now", visitor)
	}
	attr, err := s.visits.Attribute(site, visitor, live.Session, 0, live.Page)
	if err != nil {
		return Ack{}, fmt.Errorf("attribute chat: %w", err)
	}
	latest, err := latestChat(s.db.Get, site, visitor)
	if err != nil {
		return Ack{}, err
	}
	siteRec, err := s.sites.ByID(site)
	if err != nil {
		return Ack{}, err
	}
	newID := s.db.NextID()
	unlock := s.lock(site, visitor, latest, newID)
	defer unlock()
	var ack Ack
	err = s.db.Update(ctx, func(tx *store.Tx) error {
		cur, err := latestChat(tx.Get, site, visitor)
		if err != nil {
			return err
		}
		if cur != 0 {
			c, err := txChat(tx, site, cur)
			if err != nil {
				return err
			}
			if c.Closed == 0 {
				return ErrOpenChat.Errorf("visitor %d has chat %d open", visitor, cur)
			}
		}
		now := s.o.Now().UnixMilli()
		c := store.Chat{ID: newID, Site: site, Created: now, Assigned: op.Name, Answered: now, Attribution: attr}
		if err := s.count(tx, siteRec, &c); err != nil {
			return err
		}
		m := store.ChatMessage{From: FromOperator, Name: op.Name, Text: text, At: now}
		if err := appendMessage(tx, &c, &m, ref); err != nil {
			return err
		}
		c.OperatorRead = m.ID
		tx.Set(store.ChatKey(site, c.ID), c.Encode())
		tx.Set(store.ChatVisitorKey(site, visitor), idBytes(newID))
		tx.Set(store.ChatOpenKey(site, newID), nil)
		tx.Export(store.ChatKey(site, newID), now)
		ack = Ack{Chat: c, Message: m, Created: true}
		return nil
	})
	if err != nil {
		return Ack{}, fmt.Errorf("invite visitor %d: %w", visitor, err)
	}
	s.hub.publish(&Event{Kind: EvChat, Site: site, ChatID: ack.Chat.ID, Visitor: visitor, Chat: &ack.Chat})
	s.publishMessage(&ack.Chat, ack.Message, ref)
	s.hub.publish(&Event{Kind: EvAssigned, Site: site, ChatID: ack.Chat.ID, Visitor: visitor, Name: op.Name})
	return ack, nil
}

// Side is who marks a chat read or delivered.
func validSide(from string) bool { return from == FromVisitor || from == FromOperator }

// MarkRead records that from (FromVisitor, FromOperator) has seen the
// chat's messages up to id, and tells the other side. The operators'
// mark is one for all consoles (their unread counts): operator name moves
// it only on a chat they may answer, not one a colleague online holds,
// whose unread words stay unread for that colleague.
func (s *Service) MarkRead(ctx context.Context, site uint32, chat uint64, from, name string, id uint64, origin *Sub) error {
	if !validSide(from) {
		return ErrInvalid.Errorf("bad side %q", from)
	}
	unlock := s.lock(site, chat)
	defer unlock()
	var c store.Chat
	changed := false
	err := s.db.Update(ctx, func(tx *store.Tx) error {
		var err error
		if c, err = txChat(tx, site, chat); err != nil {
			return err
		}
		id = min(id, c.Last)
		mark := &c.VisitorRead
		if from == FromOperator {
			mark = &c.OperatorRead
			if c.Assigned != "" && c.Assigned != name && s.presence.isOnline(site, c.Assigned) {
				// A colleague online holds the chat (taken, or handed
				// to them): another console showing it, the one that
				// handed it on too, does not read it for them.
				return nil
			}
		}
		if id <= *mark {
			return nil
		}
		*mark, changed = id, true
		tx.Set(store.ChatKey(site, chat), c.Encode())
		return nil
	})
	if err != nil {
		return fmt.Errorf("mark chat %d read: %w", chat, err)
	}
	if changed {
		s.hub.publish(&Event{Kind: EvRead, Site: site, ChatID: chat, Visitor: c.Visitor, From: from, Name: name, ID: id, Origin: origin})
	}
	return nil
}

// Delivered tells the other side that from's client received the chat's
// messages up to id (not stored).
func (s *Service) Delivered(c *store.Chat, from, name string, id uint64, origin *Sub) {
	if validSide(from) {
		s.hub.publish(&Event{Kind: EvDelivered, Site: c.Site, ChatID: c.ID, Visitor: c.Visitor, From: from, Name: name, ID: min(id, c.Last), Origin: origin})
	}
}

// Typing tells the other side that from is typing (on) or stopped.
func (s *Service) Typing(c *store.Chat, from, name string, on bool, origin *Sub) {
	if validSide(from) {
		s.hub.publish(&Event{Kind: EvTyping, Site: c.Site, ChatID: c.ID, Visitor: c.Visitor, From: from, Name: name, On: on, Origin: origin})
	}
}

// checkMessage checks a message's client ref and text and returns the text
// as it is stored.
func checkMessage(ref, text string) (string, error) {
	text, err := CheckText(text)
	if err != nil {
		return "", err
	}
	return text, CheckRef(ref)
}

// checkOperatorMessage is checkMessage for op writing on site.
func checkOperatorMessage(op Operator, site uint32, ref, text string) (string, error) {
	text, err := checkMessage(ref, text)
	if err != nil {
		return "", err
	}
	if !op.Allows(site) {
		return "", ErrForbidden.Errorf("this operator may not use that site")
	}
	return text, nil
}
