package httpd

import (
	"errors"
	"net/url"
	"strconv"
	"strings"

	"github.com/valyala/fasthttp"

	"appliance/httpd/chats"
	"appliance/httpd/i18n"
	"appliance/httpd/search"
	"appliance/internal/usererr"
	"appliance/store"
)

// The chat page of a site (/sites/KEY/chat): its chat settings (the
// floating button, greeting, unanswered time), canned replies, and its
// finished chats with their transcripts, searched and exported as CSV.

// maxChatsShown bounds the finished chats the page lists.
const maxChatsShown = 100

type chatRow struct {
	store.Chat
	When, Ended string // in the site's zone, as the reader's language writes times
	How         string // how it ended (ClosedBy), in the reader's language
	Messages    []store.ChatMessage
}

type chatSiteData struct {
	Site     *store.Site
	Settings store.ChatSettings
	Canned   string // one reply a line
	Color    string // the button colour, the default when unset
	// Unanswered is the site's unanswered time in minutes, "" for the
	// default.
	Unanswered string
	Query      string
	Rows       []chatRow
	More       bool // the list was cut at Max; the CSV has them all
	Max        int
	CSV        string
	Zone       string // the zone of the times: the site's
	// One is the chat the page shows alone (?chat=ID, a visitor card's
	// link to it), open or finished; 0 for the list.
	One uint64
}

// closedHow says how a chat ended (store.Chat.ClosedBy) in tr's language.
func closedHow(tr i18n.Printer, by string) string {
	switch by {
	case chats.ClosedByVisitor:
		return tr.T("closed by the visitor")
	case chats.ClosedByOperator:
		return tr.T("closed by the operator")
	case chats.ClosedByLead:
		return tr.T("nobody answered: it became a lead")
	case chats.ClosedByIdle:
		return tr.T("closed after a silence")
	}
	return by
}

// chatParam reads ?chat=ID, the one chat the chat page shows; 0 when the
// query names none.
func chatParam(args *fasthttp.Args) (uint64, error) {
	if !args.Has("chat") {
		return 0, nil
	}
	v := args.Peek("chat")
	id, err := strconv.ParseUint(string(v), 10, 64)
	if err != nil || id == 0 || id >= 1<<53 || strconv.FormatUint(id, 10) != string(v) {
		return 0, errorf(fasthttp.StatusBadRequest, "The address names no chat; open the chat page again.")
	}
	return id, nil
}

// chatSitePage is GET /sites/KEY/chat[?q=words | ?chat=ID].
func (s *dashboardHandlers) chatSitePage(ctx *fasthttp.RequestCtx, who signedIn) error {
	site, _, err := s.siteFromPath(ctx)
	if err != nil {
		return err
	}
	one, err := chatParam(ctx.QueryArgs())
	if err != nil {
		return err
	}
	st, err := s.chats.Settings(site.ID)
	if err != nil {
		return err
	}
	v := view{Title: "Chat · " + site.Name, User: &who.user, CSRF: who.session.CSRF}
	switch string(ctx.QueryArgs().Peek("done")) {
	case "settings":
		v.Flash = "Saved: the chat settings and canned replies."
	}
	d, err := s.chatSiteData(ctx, s.clock(ctx, &who.user, site), site, st, string(ctx.QueryArgs().Peek("q")), one)
	if err != nil {
		if !errors.Is(err, chats.ErrInvalid) {
			return err
		}
		v.Error = errText(s.pages.printer(ctx, &who.user), err)
	}
	v.Data = d
	return s.renderSite(ctx, who, site, "chats", v)
}

// chatSiteData is the chat page's data: the finished chats with q's
// words, or only the chat one when it is not 0.
func (s *dashboardHandlers) chatSiteData(ctx *fasthttp.RequestCtx, ck clock, site *store.Site, st store.ChatSettings, q string, one uint64) (chatSiteData, error) {
	d := chatSiteData{Site: site, Settings: st, Canned: strings.Join(st.Canned, "\n"), Color: st.ButtonColor, Query: q, One: one,
		CSV: "/sites/" + site.Key + "/chats.csv?q=" + url.QueryEscape(q), Zone: zoneLabel(ck.loc, s.now())}
	if d.Color == "" {
		d.Color = "#2f6fed"
	}
	if st.Unanswered > 0 {
		d.Unanswered = strconv.FormatFloat(float64(st.Unanswered)/60, 'f', -1, 64)
	}
	var found []store.Chat
	var err error
	if one != 0 {
		c, err := s.chats.Chat(site.ID, one)
		if errors.Is(err, chats.ErrNoChat) {
			return d, errorf(fasthttp.StatusNotFound, "No such chat on this site.")
		}
		if err != nil {
			return d, err
		}
		found = []store.Chat{c}
	} else if found, err = s.chats.Search(ctx, site.ID, q, s.chatPhone(site, q), maxChatsShown+1); err != nil {
		return d, err
	}
	if d.Max = maxChatsShown; len(found) > maxChatsShown {
		found, d.More = found[:maxChatsShown], true
	}
	for _, c := range found {
		msgs, err := s.chats.Transcript(ctx, &c)
		if err != nil {
			return d, err
		}
		for i := range msgs {
			// A transfer's note in the reader's words, as the console
			// writes it; its stored text is in both languages.
			if by, to, ok := chats.Transferred(&msgs[i]); ok {
				msgs[i].Text = ck.tr.T("%s returned the chat to the queue", by)
				if to != "" {
					msgs[i].Text = ck.tr.T("%s transferred the chat to %s", by, to)
				}
			}
		}
		d.Rows = append(d.Rows, chatRow{Chat: c, When: ck.at(c.Created), Ended: ck.at(c.Closed), How: closedHow(ck.tr, c.ClosedBy), Messages: msgs})
	}
	return d, nil
}

// chatSettingsPost is POST /sites/KEY/chat: the settings and canned
// replies (one a line) of the form.
func (s *dashboardHandlers) chatSettingsPost(ctx *fasthttp.RequestCtx, who signedIn) error {
	site, _, err := s.siteFromPath(ctx)
	if err != nil {
		return err
	}
	args := ctx.PostArgs()
	st, err := s.chats.Settings(site.ID)
	if err != nil {
		return err
	}
	st.Button = string(args.Peek("button")) == "1"
	st.ButtonPosition = string(args.Peek("position"))
	st.ButtonColor = string(args.Peek("color"))
	st.Greeting = string(args.Peek("greeting"))
	st.Canned = nil
	for line := range strings.SplitSeq(string(args.Peek("canned")), "\n") {
		if line = strings.TrimSpace(line); line != "" {
			st.Canned = append(st.Canned, line)
		}
	}
	st.Unanswered = 0
	if m := strings.TrimSpace(string(args.Peek("unanswered"))); m != "" {
		n, err := strconv.ParseFloat(m, 64)
		if err != nil || n < 0 || n > 24*60 {
			return s.chatSettingsError(ctx, who, site, st, "The unanswered time is a number of minutes, from 0.5 to 1440.", "chat-unanswered")
		}
		st.Unanswered = uint32(n * 60)
	}
	if err := s.chats.SetSettings(ctx, site.ID, st); err != nil {
		if errors.Is(err, chats.ErrInvalid) {
			return s.chatSettingsError(ctx, who, site, st, errText(s.pages.printer(ctx, &who.user), err),
				chatSettingsField(err))
		}
		return err
	}
	s.seeOther(ctx, "/sites/"+site.Key+"/chat?done=settings")
	return nil
}

// chatSettingsError renders the chat page with the settings form's
// refusal msg, beside its field field (a key of chats.html: "chat-..."; ""
// none: at the top); the unanswered time as sent, not as read.
func (s *dashboardHandlers) chatSettingsError(ctx *fasthttp.RequestCtx, who signedIn, site *store.Site, st store.ChatSettings, msg, field string) error {
	d, err := s.chatSiteData(ctx, s.clock(ctx, &who.user, site), site, st, "", 0)
	if err != nil {
		return err
	}
	d.Unanswered = string(ctx.PostArgs().Peek("unanswered"))
	nav, err := s.siteNav(ctx, who, site, "chats")
	if err != nil {
		return err
	}
	return s.pages.render(ctx, fasthttp.StatusBadRequest, "chats", view{Title: "Chat · " + site.Name, User: &who.user, CSRF: who.session.CSRF,
		Error: msg, Field: field, Data: d, Nav: nav})
}

// chatsCSV is GET /sites/KEY/chats.csv[?q=words]: the finished chats the
// page shows, with their transcripts.
func (s *dashboardHandlers) chatsCSV(ctx *fasthttp.RequestCtx, who signedIn) error {
	site, _, err := s.siteFromPath(ctx)
	if err != nil {
		return err
	}
	q := string(ctx.QueryArgs().Peek("q"))
	found, err := s.chats.Search(ctx, site.ID, q, s.chatPhone(site, q), 100_000)
	if err != nil {
		return err
	}
	return csvExport(ctx, s.pages.printer(ctx, &who.user), "chats-"+site.Key+".csv", chats.CSVHeader(), func(sheet *csvSheet) error {
		return s.chats.CSVRows(ctx, found, s.sites.Location(site), sheet.row)
	})
}

// chatPhone is how the chats page finds a phone number q in a transcript:
// as the site search finds it in a chat, in any written form and read in
// the site's phone region ("+7 921 000 11 22" finds "8(921)000-11-22");
// nil when q is no phone number (or no search the site search takes).
func (s *dashboardHandlers) chatPhone(site *store.Site, q string) func(string) bool {
	sq, err := search.Parse(q, site.Region(s.phoneRegion))
	if err != nil || sq.NSN == "" {
		return nil
	}
	return sq.SaysPhone
}

// chatSettingsField is the field of the chat settings' form (chats.html) a
// refusal of chats.SetSettings is about: the greeting or the canned
// replies (too long, control characters), the unanswered time; none for
// the corner or the colour, which are chosen.
func chatSettingsField(err error) string {
	if ue, ok := asUserError(err).(interface{ MessageFormat() (string, []any) }); ok {
		if _, args := ue.MessageFormat(); len(args) > 0 {
			if p, ok := args[0].(usererr.Phrase); ok {
				switch p.Format {
				case "the greeting":
					return "chat-greeting"
				case "a canned reply":
					return "chat-canned"
				}
			}
		}
	}
	return refusedField(err, "", "the unanswered time", "chat-unanswered", "at most %d canned", "chat-canned")
}
