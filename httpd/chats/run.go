package chats

import (
	"context"
	"errors"
	"time"

	"appliance/store"
)

// SubscribeVisitor registers a visitor's socket: its events arrive on
// the Sub until Unsubscribe, and notify (when not nil) is called after
// each, as Sub says. Consoles see the visitor as on the site now.
func (s *Service) SubscribeVisitor(lv LiveVisitor, notify func()) *Sub {
	if lv.Since == 0 {
		lv.Since = s.o.Now().UnixMilli()
	}
	sub := s.hub.addVisitor(lv.Site, lv.Visitor, &lv, notify)
	s.hub.publish(&Event{Kind: EvVisitor, Site: lv.Site, Visitor: lv.Visitor, Online: true, Live: &lv})
	return sub
}

// SubscribePoll registers a visitor's long-poll for the events of their
// chats and site; unlike a socket it does not show them as on the site.
func (s *Service) SubscribePoll(site uint32, visitor uint64) *Sub {
	return s.hub.addVisitor(site, visitor, nil, nil)
}

// SubscribeConsole registers an operator's console for the events of the
// sites; notify as for SubscribeVisitor.
func (s *Service) SubscribeConsole(sites []uint32, notify func()) *Sub {
	return s.hub.addConsole(sites, notify)
}

// Unsubscribe removes a Sub; a visitor with no socket left has left the
// site, as consoles see it.
func (s *Service) Unsubscribe(sub *Sub) {
	s.hub.remove(sub)
	if sub.live != nil && !s.hub.visitorOnline(sub.site, sub.visitor) {
		s.hub.publish(&Event{Kind: EvVisitor, Site: sub.site, Visitor: sub.visitor, Online: false, Live: sub.live})
	}
}

// Run sweeps until ctx ends: presence timeouts, unanswered chats to
// leads, idle chats closed.
func (s *Service) Run(ctx context.Context) {
	t := time.NewTicker(s.o.Sweep)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			s.Sweep(ctx)
		}
	}
}

// Sweep does once what Run does every period: it settles presence, turns
// unanswered chats into leads (no operator of the site online for
// LeadGrace, or nobody answered within the site's unanswered time; an
// answered chat whose last message is the visitor's, once no operator has
// been online for LeadGrace) and closes answered chats idle for IdleClose
// (an unanswered one waits for its lead, whatever the site's time; one
// whose last message is the visitor's becomes a lead). Tests call it after moving the clock.
func (s *Service) Sweep(ctx context.Context) {
	s.presence.tick()
	type open struct {
		site uint32
		id   uint64
	}
	var list []open
	err := s.db.ScanPrefix(ctx, store.AllChatOpenPrefix(), false, 0, func(k, _ []byte) bool {
		if site, id, ok := store.ParseChatOpenKey(k); ok {
			list = append(list, open{site, id})
		}
		return true
	})
	if err != nil {
		s.o.Log.Error("chat sweep", "err", err)
		return
	}
	now := s.o.Now()
	wait := map[uint32]time.Duration{}
	for _, o := range list {
		if ctx.Err() != nil {
			return
		}
		c, err := s.getChat(o.site, o.id)
		if err != nil {
			if !errors.Is(err, ErrNoChat) {
				s.o.Log.Error("chat sweep", "chat", o.id, "err", err)
			}
			continue
		}
		if c.Closed != 0 {
			continue
		}
		age := now.Sub(time.UnixMilli(c.Created))
		if c.Answered == 0 && c.Last > 0 {
			w, ok := wait[o.site]
			if !ok {
				w = s.o.Unanswered
				if st, err := s.Settings(o.site); err == nil && st.Unanswered > 0 {
					w = time.Duration(st.Unanswered) * time.Second
				}
				wait[o.site] = w
			}
			if age >= w || s.presence.offlineFor(o.site) >= s.o.LeadGrace {
				if err := s.toLead(ctx, o.site, o.id); err != nil && !errors.Is(err, errRaced) {
					s.o.Log.Error("chat to lead", "chat", o.id, "err", err)
				}
			}
			// Never closed as idle: it waits for its answer or its lead,
			// however long the site's unanswered time is.
			continue
		} else if c.Answered != 0 && s.presence.offlineFor(o.site) >= s.o.LeadGrace {
			// The visitor wrote again after the answer and no operator is
			// left to read it: the window told them to write and that they
			// would be answered, so their words go on as a lead rather
			// than wait for the idle close.
			if s.leadIfVisitorLast(ctx, o.site, &c) {
				continue
			}
		}
		if now.Sub(time.UnixMilli(max(c.LastAt, c.Created))) >= s.o.IdleClose {
			// The visitor had the last word and no operator answered it,
			// though one was online (the one who took the chat left, the
			// others thought it taken): their words go on as a lead rather
			// than end with the chat.
			if c.Last > 0 && s.leadIfVisitorLast(ctx, o.site, &c) {
				continue
			}
			if _, err := s.Close(ctx, o.site, o.id, 0, ClosedByIdle); err != nil && !errors.Is(err, errRaced) {
				s.o.Log.Error("close idle chat", "chat", o.id, "err", err)
			}
		}
	}
}

// leadIfVisitorLast makes chat c of site a lead when its visitor had the
// last word, and reports whether the sweep is done with it: made a lead,
// or its last message could not be read (logged; looked at again by the
// next sweep).
func (s *Service) leadIfVisitorLast(ctx context.Context, site uint32, c *store.Chat) bool {
	last, err := s.lastMessage(site, c)
	if err != nil {
		s.o.Log.Error("chat sweep", "chat", c.ID, "err", err)
		return true
	}
	if last.From != FromVisitor {
		return false
	}
	if err := s.toLead(ctx, site, c.ID); err != nil && !errors.Is(err, errRaced) {
		s.o.Log.Error("chat to lead", "chat", c.ID, "err", err)
	}
	return true
}
