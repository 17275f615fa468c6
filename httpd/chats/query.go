package chats

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"appliance/internal/usererr"
	"appliance/store"
)

// View is a chat as the console and the API show it (chat-protocol.md's
// CHAT).
type View struct {
	ID           uint64       `json:"id"`
	Site         string       `json:"site"`
	Status       string       `json:"status"` // "open" or "closed"
	Visitor      uint64       `json:"visitor"`
	Session      uint64       `json:"session"`
	Assigned     string       `json:"assigned"`
	Created      int64        `json:"created"`
	Closed       int64        `json:"closed"`
	ClosedBy     string       `json:"closed_by"`
	Last         uint64       `json:"last"`
	LastAt       int64        `json:"last_at"`
	VisitorRead  uint64       `json:"visitor_read"`
	OperatorRead uint64       `json:"operator_read"`
	Lead         uint64       `json:"lead"`
	Source       store.Source `json:"source"`
	Page         string       `json:"page"`
	Online       bool         `json:"online"` // the visitor has a socket open now
}

// Status names of chats.
const (
	StatusOpen   = "open"
	StatusClosed = "closed"
)

// ViewOf is c as the console and the API show it.
func (s *Service) ViewOf(c *store.Chat) View {
	v := View{ID: c.ID, Status: StatusOpen, Visitor: c.Visitor, Session: c.Session, Assigned: c.Assigned,
		Created: c.Created, Closed: c.Closed, ClosedBy: c.ClosedBy, Last: c.Last, LastAt: c.LastAt,
		VisitorRead: c.VisitorRead, OperatorRead: c.OperatorRead, Lead: c.Lead, Source: c.Source, Page: c.PageURL,
		Online: s.hub.visitorOnline(c.Site, c.Visitor)}
	if c.Closed != 0 {
		v.Status = StatusClosed
	}
	if site, err := s.sites.ByID(c.Site); err == nil {
		v.Site = site.Key
	}
	return v
}

// Chat reads one chat of a site (ErrNoChat when there is none).
func (s *Service) Chat(site uint32, id uint64) (store.Chat, error) { return s.getChat(site, id) }

// VisitorChat is the visitor's latest chat on the site (ok false: none).
func (s *Service) VisitorChat(site uint32, visitor uint64) (c store.Chat, ok bool, err error) {
	id, err := latestChat(s.db.Get, site, visitor)
	if err != nil || id == 0 {
		return store.Chat{}, false, err
	}
	c, err = s.getChat(site, id)
	return c, err == nil, err
}

// Resent reports whether ref names a message stored in the visitor's
// latest chat (open or since closed): Send would answer it as a
// duplicate and store nothing.
func (s *Service) Resent(site uint32, visitor uint64, ref string) (bool, error) {
	if ref == "" {
		return false, nil
	}
	c, ok, err := s.VisitorChat(site, visitor)
	return ok && findRef(&c, ref) != 0, err
}

// Transcript returns every message of c as it was read (its Last), in
// order: a finished chat whole, however long, for a page or an export.
func (s *Service) Transcript(ctx context.Context, c *store.Chat) ([]store.ChatMessage, error) {
	return s.allMessages(ctx, c.Site, c.ID, c.Last)
}

// Messages returns up to limit (at most MaxPageMessages; 0: that many)
// messages of a chat with ids above after, in order.
func (s *Service) Messages(ctx context.Context, site uint32, chat, after uint64, limit int) ([]store.ChatMessage, error) {
	if limit <= 0 || limit > MaxPageMessages {
		limit = MaxPageMessages
	}
	return s.scanMessages(ctx, site, chat, after, store.PrefixEnd(store.ChatMessagePrefix(site, chat)), limit, nil)
}

// scanMessages appends to out up to limit (0: no limit) messages of a chat
// with ids above after and keys below end, in order.
func (s *Service) scanMessages(ctx context.Context, site uint32, chat, after uint64, end []byte, limit int, out []store.ChatMessage) ([]store.ChatMessage, error) {
	var derr error
	err := s.db.Scan(ctx, store.ChatMessageKey(site, chat, after+1), end, false, limit,
		func(k, v []byte) bool {
			id, _ := store.IDFromKey(k)
			m, err := store.DecodeChatMessage(id, v)
			if err != nil {
				derr = err
				return false
			}
			out = append(out, m)
			return true
		})
	if err = errors.Join(err, derr); err != nil {
		return nil, fmt.Errorf("read messages of chat %d: %w", chat, err)
	}
	return out, nil
}

// Open returns the open chats of a site, oldest first.
func (s *Service) Open(ctx context.Context, site uint32) ([]store.Chat, error) {
	var ids []uint64
	err := s.db.ScanPrefix(ctx, store.ChatOpenPrefix(site), false, 0, func(k, _ []byte) bool {
		if _, id, ok := store.ParseChatOpenKey(k); ok {
			ids = append(ids, id)
		}
		return true
	})
	if err != nil {
		return nil, fmt.Errorf("list open chats: %w", err)
	}
	out := make([]store.Chat, 0, len(ids))
	for _, id := range ids {
		c, err := s.getChat(site, id)
		if errors.Is(err, ErrNoChat) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

// Waiting counts the open chats of the sites that wait for an answer of
// operator op: nobody answered yet, or the visitor wrote last; and the
// chat is nobody's, op's, or its operator's who is not online (it may be
// taken over). A chat a colleague online has taken waits for them, not op.
func (s *Service) Waiting(ctx context.Context, sites []uint32, op string) (int, error) {
	n := 0
	for _, site := range sites {
		open, err := s.Open(ctx, site)
		if err != nil {
			return 0, err
		}
		for i := range open {
			c := &open[i]
			switch {
			case c.Last == 0:
			case c.Assigned != "" && c.Assigned != op && s.presence.isOnline(site, c.Assigned):
			case c.Answered == 0:
				n++
			default:
				last, err := s.lastMessage(site, c)
				if err != nil {
					return 0, err
				}
				if last.From == FromVisitor {
					n++
				}
			}
		}
	}
	return n, nil
}

// List returns up to limit chats of a site with the status ("" any),
// newest first.
func (s *Service) List(ctx context.Context, site uint32, status string, limit int) ([]store.Chat, error) {
	if status == StatusOpen {
		open, err := s.Open(ctx, site)
		if err != nil {
			return nil, err
		}
		for i, j := 0, len(open)-1; i < j; i, j = i+1, j-1 {
			open[i], open[j] = open[j], open[i]
		}
		if limit > 0 && len(open) > limit {
			open = open[:limit]
		}
		return open, nil
	}
	return s.scanChats(ctx, site, limit, func(c *store.Chat) (bool, error) {
		return status == "" || (status == StatusClosed) == (c.Closed != 0), nil
	})
}

// scanChats reads a site's chats newest first, keeping those keep takes,
// up to limit (0: no limit).
func (s *Service) scanChats(ctx context.Context, site uint32, limit int, keep func(c *store.Chat) (bool, error)) ([]store.Chat, error) {
	var out []store.Chat
	var ferr error
	err := s.db.ScanPrefix(ctx, store.ChatPrefix(site), true, 0, func(k, v []byte) bool {
		id, _ := store.IDFromKey(k)
		c, err := store.DecodeChat(site, id, v)
		if err != nil {
			ferr = err
			return false
		}
		ok, err := keep(&c)
		if err != nil {
			ferr = err
			return false
		}
		if ok {
			out = append(out, c)
		}
		return limit <= 0 || len(out) < limit
	})
	if err = errors.Join(err, ferr); err != nil {
		return nil, fmt.Errorf("list chats: %w", err)
	}
	return out, nil
}

// maxQuery bounds a search's words.
const maxQuery = 200

// Search returns up to limit finished chats of a site whose transcript
// holds every word of q (case-insensitive), newest first; an empty q
// matches every finished chat. When q is a phone number, phone reports
// whether a text writes it (the site search's rule, search.Query's
// SaysPhone: in any form, not inside a longer number), and the chats are
// those whose visitor or operator wrote it, in place of q's words (whose
// digits are found inside any longer number); nil when q is none.
func (s *Service) Search(ctx context.Context, site uint32, q string, phone func(text string) bool, limit int) ([]store.Chat, error) {
	if len(q) > maxQuery || !utf8.ValidString(q) {
		return nil, ErrInvalid.Errorf("the search is longer than %d bytes or not UTF-8", maxQuery)
	}
	words := strings.Fields(strings.ToLower(q))
	return s.scanChats(ctx, site, limit, func(c *store.Chat) (bool, error) {
		if c.Closed == 0 {
			return false, nil
		}
		if len(words) == 0 {
			return true, nil
		}
		msgs, err := s.allMessages(ctx, site, c.ID, c.Last)
		if err != nil {
			return false, err
		}
		if phone != nil {
			return slices.ContainsFunc(msgs, func(m store.ChatMessage) bool { return m.From != FromSystem && phone(m.Text) }), nil
		}
		var b strings.Builder
		for _, m := range msgs {
			b.WriteString(strings.ToLower(m.Text))
			b.WriteByte('\n')
		}
		text := b.String()
		for _, w := range words {
			if !strings.Contains(text, w) {
				return false, nil
			}
		}
		return true, nil
	})
}

// CSVHeader names the columns of CSVRows.
func CSVHeader() []string {
	return []string{"id", "created", "closed", "closed_by", "status", "assigned", "visitor", "session", "channel",
		"utm_source", "utm_medium", "utm_campaign", "page", "messages", "lead", "transcript"}
}

// CSVRows gives write the row of each chat (Search's result, or List's)
// with its transcript, in the order of CSVHeader: times in RFC 3339 in loc
// (the site's zone, as the other exports write them: the offset says
// which). The cells are as typed; the caller makes them safe for a
// spreadsheet.
func (s *Service) CSVRows(ctx context.Context, chats []store.Chat, loc *time.Location, write func([]string)) error {
	ts := func(ms int64) string {
		if ms == 0 {
			return ""
		}
		return time.UnixMilli(ms).In(loc).Format(time.RFC3339)
	}
	for i := range chats {
		c := &chats[i]
		msgs, err := s.allMessages(ctx, c.Site, c.ID, c.Last)
		if err != nil {
			return err
		}
		v := s.ViewOf(c)
		lead := ""
		if c.Lead != 0 {
			lead = strconv.FormatUint(c.Lead, 10)
		}
		write([]string{strconv.FormatUint(c.ID, 10), ts(c.Created), ts(c.Closed), c.ClosedBy, v.Status, c.Assigned,
			strconv.FormatUint(c.Visitor, 10), strconv.FormatUint(c.Session, 10), c.Channel, c.UTMSource,
			c.UTMMedium, c.UTMCampaign, c.PageURL, strconv.Itoa(len(msgs)), lead, Transcript(msgs, loc)})
	}
	return nil
}

// Settings are a site's chat settings (the zero value when never set).
func (s *Service) Settings(site uint32) (store.ChatSettings, error) {
	b, err := s.db.Get(store.ChatSettingsKey(site))
	if errors.Is(err, store.ErrNotFound) {
		return store.ChatSettings{}, nil
	}
	if err != nil {
		return store.ChatSettings{}, fmt.Errorf("read chat settings: %w", err)
	}
	return store.DecodeChatSettings(b)
}

// ButtonOn reports whether the site shows the floating chat button, from
// memory after the first read (every page view's answer says it); false
// when its settings cannot be read.
func (s *Service) ButtonOn(site uint32) bool {
	if v, ok := s.buttons.Load(site); ok {
		return v.(bool)
	}
	st, err := s.Settings(site)
	if err != nil {
		return false
	}
	s.buttons.Store(site, st.Button)
	return st.Button
}

var hexColor = regexp.MustCompile(`^#[0-9a-fA-F]{6}$`)

// SetSettings checks and stores a site's chat settings. Errors of kind
// ErrInvalid name the field.
func (s *Service) SetSettings(ctx context.Context, site uint32, st store.ChatSettings) error {
	if st.ButtonPosition != "" && st.ButtonPosition != "right" && st.ButtonPosition != "left" {
		return ErrInvalid.Errorf("button position must be right or left")
	}
	if st.ButtonColor != "" && !hexColor.MatchString(st.ButtonColor) {
		return ErrInvalid.Errorf("button colour must be #RRGGBB")
	}
	st.Greeting = strings.TrimSpace(st.Greeting)
	if err := checkField(usererr.P("the greeting"), st.Greeting, MaxGreeting); err != nil {
		return err
	}
	if st.Unanswered != 0 && (st.Unanswered < 30 || st.Unanswered > 24*3600) {
		return ErrInvalid.Errorf("the unanswered time must be from 30 seconds to 24 hours")
	}
	var canned []string
	for _, c := range st.Canned {
		if c = strings.TrimSpace(c); c == "" {
			continue
		}
		if err := checkField(usererr.P("a canned reply"), c, MaxCannedText); err != nil {
			return err
		}
		canned = append(canned, c)
	}
	if len(canned) > MaxCanned {
		return ErrInvalid.Errorf("at most %d canned replies", MaxCanned)
	}
	st.Canned = canned
	if err := s.db.Set(ctx, store.ChatSettingsKey(site), st.Encode()); err != nil {
		return err
	}
	s.buttons.Store(site, st.Button)
	return nil
}

// checkField refuses v, the setting field names, when it is longer than
// max characters, not UTF-8 or holds control characters.
func checkField(field usererr.Phrase, v string, max int) error {
	// Characters, not bytes: the form's maxlength counts what the user
	// sees, and a Russian greeting's letters are two bytes each.
	if !utf8.ValidString(v) || utf8.RuneCountInString(v) > max {
		return ErrInvalid.Errorf("%s is longer than %d characters or not UTF-8", field, max)
	}
	for _, r := range v {
		if r < 0x20 && r != '\n' && r != '\t' || r == 0x7f {
			return ErrInvalid.Errorf("%s contains control characters", field)
		}
	}
	return nil
}

// Canned is a site's canned replies.
func (s *Service) Canned(site uint32) ([]string, error) {
	st, err := s.Settings(site)
	return st.Canned, err
}

// SetCanned replaces a site's canned replies, keeping its other settings.
func (s *Service) SetCanned(ctx context.Context, site uint32, canned []string) error {
	st, err := s.Settings(site)
	if err != nil {
		return err
	}
	st.Canned = canned
	return s.SetSettings(ctx, site, st)
}

// Live lists the visitors with a socket open on the sites now.
func (s *Service) Live(sites []uint32) []LiveVisitor {
	m := map[uint32]bool{}
	for _, id := range sites {
		m[id] = true
	}
	return s.hub.live(m)
}
