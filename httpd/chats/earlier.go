package chats

import (
	"context"
	"errors"
	"fmt"
	"time"

	"appliance/store"
)

// The visitor's earlier chats, which a new page of the chat window shows
// above the current one (chat-protocol.md, hello's "earlier"). Bounded,
// as every page view of a visitor who chats asks for them: the chats
// ended within EarlierWindow, at most MaxEarlierChats of them, and of
// those at most MaxEarlierMessages messages in all, the latest (the
// older chats' beginnings are what is left out).
const (
	MaxEarlierChats    = 3
	MaxEarlierMessages = 60
	EarlierWindow      = 24 * time.Hour
)

// EarlierChat is an ended chat of the visitor with its latest messages
// (those the visitors see), in id order.
type EarlierChat struct {
	Chat     store.Chat
	Messages []store.ChatMessage
}

// Earlier returns the visitor's ended chats before chat c on its site
// within the bounds above, oldest first. It reads the visitor's index of
// chats (store.ItemChat), in which chat ids rise with time.
func (s *Service) Earlier(ctx context.Context, c *store.Chat) ([]EarlierChat, error) {
	if c.Visitor == 0 || c.ID <= 1 {
		return nil, nil
	}
	since := s.o.Now().Add(-EarlierWindow).UnixMilli()
	var ids []uint64
	err := s.db.Scan(ctx, store.VisitorItemKey(c.Visitor, store.ItemChat, 0), store.VisitorItemKey(c.Visitor, store.ItemChat, c.ID),
		true, MaxEarlierChats, func(k, _ []byte) bool {
			if id, ok := store.IDFromKey(k); ok {
				ids = append(ids, id)
			}
			return true
		})
	if err != nil {
		return nil, fmt.Errorf("read visitor %d's chats: %w", c.Visitor, err)
	}
	var out []EarlierChat // newest first, until reversed
	budget := MaxEarlierMessages
	for _, id := range ids {
		e, err := s.getChat(c.Site, id)
		if errors.Is(err, ErrNoChat) {
			continue // another site's (a visitor is one site's: not expected)
		}
		if err != nil {
			return nil, err
		}
		if e.Closed == 0 || e.Visitor != c.Visitor {
			continue
		}
		if e.Closed < since || budget <= 0 {
			break // the ones before ended earlier still
		}
		after := uint64(0)
		if e.Last > uint64(budget) {
			after = e.Last - uint64(budget)
		}
		msgs, err := s.Messages(ctx, c.Site, id, after, budget)
		if err != nil {
			return nil, err
		}
		shown := msgs[:0]
		for i := range msgs {
			if !OperatorsOnly(&msgs[i]) {
				shown = append(shown, msgs[i])
			}
		}
		budget -= len(shown) // the messages sent: an operators-only note hidden uses none
		out = append(out, EarlierChat{Chat: e, Messages: shown})
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out, nil
}
