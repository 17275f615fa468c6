package chats

import (
	"context"
	"fmt"
	"strings"
	"time"

	"appliance/httpd/leads"
	"appliance/httpd/webhooks"
	"appliance/store"
)

// MessageView is a message as the API and webhooks show it.
type MessageView struct {
	ID   uint64    `json:"id"`
	From string    `json:"from"`
	Name string    `json:"name"`
	Text string    `json:"text"`
	At   time.Time `json:"at"`
}

// ViewOfMessage is m as the API shows it.
func ViewOfMessage(m *store.ChatMessage) MessageView {
	return MessageView{ID: m.ID, From: m.From, Name: m.Name, Text: m.Text, At: time.UnixMilli(m.At).UTC()}
}

// WebhookView is the data of the "chat" webhook: a finished chat with its
// transcript and source.
type WebhookView struct {
	ID        uint64        `json:"id"`
	CreatedAt time.Time     `json:"created_at"`
	ClosedAt  time.Time     `json:"closed_at"`
	ClosedBy  string        `json:"closed_by"`
	Assigned  string        `json:"assigned"`
	VisitorID uint64        `json:"visitor_id"`
	SessionID uint64        `json:"session_id"`
	PageURL   string        `json:"page_url"`
	LeadID    uint64        `json:"lead_id"`
	Source    store.Source  `json:"source"`
	Messages  []MessageView `json:"messages"`
}

func webhookView(c *store.Chat, msgs []store.ChatMessage) WebhookView {
	v := WebhookView{ID: c.ID, CreatedAt: time.UnixMilli(c.Created).UTC(), ClosedAt: time.UnixMilli(c.Closed).UTC(),
		ClosedBy: c.ClosedBy, Assigned: c.Assigned, VisitorID: c.Visitor, SessionID: c.Session, PageURL: c.PageURL,
		LeadID: c.Lead, Source: c.Source, Messages: make([]MessageView, 0, len(msgs))}
	for i := range msgs {
		v.Messages = append(v.Messages, ViewOfMessage(&msgs[i]))
	}
	return v
}

// allMessages reads every message of a chat up to last from the store
// (the writers of a chat hold its lock, so that none is added meanwhile;
// readers of a finished chat, or of a chat as it was, need not).
func (s *Service) allMessages(ctx context.Context, site uint32, chat, last uint64) ([]store.ChatMessage, error) {
	return s.scanMessages(ctx, site, chat, 0, store.ChatMessageKey(site, chat, last+1), 0, make([]store.ChatMessage, 0, last))
}

// closeTx closes c within tx at now and queues its webhook: the one way a
// chat ends.
func (s *Service) closeTx(tx *store.Tx, c *store.Chat, by string, now int64, msgs []store.ChatMessage) error {
	site, err := s.sites.ByID(c.Site)
	if err != nil {
		return err
	}
	c.Closed, c.ClosedBy = now, by
	tx.Set(store.ChatKey(c.Site, c.ID), c.Encode())
	tx.Export(store.ChatKey(c.Site, c.ID), now)
	tx.Delete(store.ChatOpenKey(c.Site, c.ID))
	ev := webhooks.Event{Kind: webhooks.KindChat, ID: c.ID, Site: c.Site, SiteKey: site.Key,
		Time: time.UnixMilli(c.Created), Data: webhookView(c, msgs)}
	_, err = s.hooks.Enqueue(tx, ev)
	return err
}

func (s *Service) publishClosed(c *store.Chat) {
	s.hub.publish(&Event{Kind: EvClosed, Site: c.Site, ChatID: c.ID, Visitor: c.Visitor, Name: c.ClosedBy})
	s.hub.publish(&Event{Kind: EvChat, Site: c.Site, ChatID: c.ID, Visitor: c.Visitor, Chat: c})
}

// Close ends an open chat (by: ClosedByVisitor, ClosedByOperator,
// ClosedByIdle) and queues its "chat" webhook with the transcript, in one
// write. Closing a closed chat changes nothing and is not an error.
// visitor, when not 0, must be the chat's visitor (else ErrNoChat).
func (s *Service) Close(ctx context.Context, site uint32, chat, visitor uint64, by string) (store.Chat, error) {
	unlock := s.lock(site, chat)
	defer unlock()
	c, err := s.getChat(site, chat)
	if err != nil {
		return store.Chat{}, err
	}
	if visitor != 0 && c.Visitor != visitor {
		return store.Chat{}, ErrNoChat.Errorf("no chat %d of this visitor", chat)
	}
	if c.Closed != 0 {
		return c, nil
	}
	msgs, err := s.allMessages(ctx, site, chat, c.Last)
	if err != nil {
		return store.Chat{}, err
	}
	err = s.db.Update(ctx, func(tx *store.Tx) error {
		cur, err := txChat(tx, site, chat)
		if err != nil {
			return err
		}
		if cur.Last != c.Last || cur.Closed != 0 {
			return errRaced // only writers holding the lock change a chat
		}
		return s.closeTx(tx, &c, by, s.o.Now().UnixMilli(), msgs)
	})
	if err != nil {
		return store.Chat{}, fmt.Errorf("close chat %d: %w", chat, err)
	}
	s.publishClosed(&c)
	return c, nil
}

// leadNote is the system message of a chat that became a lead, as the
// transcript and the API keep it; clients show their own text for its
// code (SystemCode).
const leadNote = "No operator answered: the conversation was passed on as a request, and you will be contacted. / Оператор не ответил: переписка передана как заявка, с вами свяжутся."

// Transcript is a chat's messages as plain text, one line per message
// (continuation lines indented), each with its time in loc, the site's
// zone, for a lead (the leads page writes the lead's time in that zone
// beside it) and the CSV export.
func Transcript(msgs []store.ChatMessage, loc *time.Location) string {
	var b strings.Builder
	for _, m := range msgs {
		if m.From == FromSystem {
			continue
		}
		who := "Visitor"
		if m.From == FromOperator {
			who = "Operator " + m.Name
		}
		fmt.Fprintf(&b, "[%s] %s: %s\n", time.UnixMilli(m.At).In(loc).Format("2006-01-02 15:04:05"), who,
			strings.ReplaceAll(m.Text, "\n", "\n    "))
	}
	return strings.TrimSuffix(b.String(), "\n")
}

// toLead turns an open chat that awaits an answer (none yet, or the
// visitor wrote last) into a lead with its transcript and closes it, in
// the lead's own write: the visitor's words are stored as a lead (with
// its webhooks) and the chat is closed (with its), or neither. A chat
// answered or closed meanwhile is left as it is.
func (s *Service) toLead(ctx context.Context, siteID uint32, chat uint64) error {
	unlock := s.lock(siteID, chat)
	defer unlock()
	c, err := s.getChat(siteID, chat)
	if err != nil {
		return err
	}
	if c.Closed != 0 || c.Last == 0 {
		return nil
	}
	site, err := s.sites.ByID(siteID)
	if err != nil {
		return err
	}
	msgs, err := s.allMessages(ctx, siteID, chat, c.Last)
	if err != nil {
		return err
	}
	if c.Answered != 0 && lastWord(msgs).From != FromVisitor {
		return nil // the operator had the last word
	}
	text := Transcript(msgs, s.sites.Location(site))
	if len(text) > leads.MaxChatTranscript {
		tail := fmt.Sprintf("\n… (cut: the whole conversation is chat %d)", chat)
		cut := leads.MaxChatTranscript - len(tail)
		for cut > 0 && !utf8RuneStart(text[cut]) {
			cut--
		}
		text = text[:cut] + tail
	}
	in := leads.Input{Message: text, FormName: "chat", PageURL: c.PageURL}
	if b, err := s.db.Get(store.VisitorKey(c.Visitor)); err == nil {
		if v, err := store.DecodeVisitor(b); err == nil && v.Site == siteID {
			in.Name = v.Name
			if len(v.Phones) > 0 {
				in.Phone = v.Phones[0]
			}
			if len(v.Emails) > 0 {
				in.Email = v.Emails[0]
			}
		}
	}
	// What the visitor wrote in the chat to be reached at comes before
	// what the visitor record holds from earlier.
	if phone, email := ContactIn(msgs, s.leads.PhoneRegion(site)); phone != "" || email != "" {
		if phone != "" {
			in.Phone = phone
		}
		if email != "" {
			in.Email = email
		}
	}
	if text == "" {
		in.Message = fmt.Sprintf("chat %d", chat)
	}
	var note store.ChatMessage
	_, err = s.leads.Add(ctx, site, leads.Request{
		Visitor: c.Visitor, Session: c.Session, Hit: c.Hit, Via: leads.ViaChat, IP: c.IP, In: in,
		Also: func(tx *store.Tx, l *store.Lead) error {
			cur, err := txChat(tx, siteID, chat)
			if err != nil {
				return err
			}
			if cur.Last != c.Last || cur.Closed != 0 || cur.Answered != c.Answered {
				return errRaced
			}
			now := s.o.Now().UnixMilli()
			note = store.ChatMessage{From: FromSystem, Text: leadNote, At: now}
			if err := appendMessage(tx, &c, &note, ""); err != nil {
				return err
			}
			c.Lead = l.ID
			return s.closeTx(tx, &c, ClosedByLead, now, append(msgs, note))
		},
	})
	if err != nil {
		return fmt.Errorf("chat %d to lead: %w", chat, err)
	}
	s.publishMessage(&c, note, "")
	s.publishClosed(&c)
	return nil
}

// SystemCode names what a system message says, for clients to show in
// their own language: "lead" (the chat became a lead), "transfer" and
// "release" (Transferred); "" for any other message.
func SystemCode(m *store.ChatMessage) string {
	if m.From == FromSystem && m.Text == leadNote {
		return ClosedByLead
	}
	if _, to, ok := Transferred(m); ok {
		if to == "" {
			return CodeRelease
		}
		return CodeTransfer
	}
	return ""
}

func utf8RuneStart(b byte) bool { return b&0xC0 != 0x80 }
