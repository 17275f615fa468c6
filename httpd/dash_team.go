package httpd

import (
	"errors"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/valyala/fasthttp"

	"appliance/httpd/accounts"
	"appliance/httpd/i18n"
	"appliance/store"
)

// The owner's Team and API tokens pages, and the page where an invited
// person takes up their invite. They call the accounts domain, as the
// admin API's team calls do (admin_team.go).

// mountTeam registers the team's routes (roles.go: manageAccess, the
// owner's; the invite page is open: its token is the credential).
func (s *dashboardHandlers) mountTeam(r *router) {
	r.page("GET", "/team", manageAccess, withWho(s.teamPage))
	r.page("POST", "/team/invite", manageAccess, withWho(s.invitePost))
	r.page("POST", "/team/invites/cancel", manageAccess, withWho(s.cancelInvitePost))
	r.page("POST", "/team/role", manageAccess, withWho(s.rolePost))
	r.page("POST", "/team/remove", manageAccess, withWho(s.removeUserPost))
	r.page("GET", "/tokens", manageAccess, withWho(s.tokensPage))
	r.page("POST", "/tokens", manageAccess, withWho(s.tokenPost))
	r.page("POST", "/tokens/revoke", manageAccess, withWho(s.revokeTokenPost))
	r.page("POST", "/tokens/change", manageAccess, withWho(s.changeTokenPost))
	r.page("GET", "/invite", open, s.acceptPage)
	r.page("POST", "/invite", open, s.acceptPost)
}

// fmtWhen is a Unix ms time for the pages, in loc, to the minute as the
// reader's language writes it (05.12.2026 14:30 in Russian); "" for 0.
func fmtWhen(tr i18n.Printer, ms int64, loc *time.Location) string {
	if ms == 0 {
		return ""
	}
	if tr.Lang == i18n.Ru {
		return time.UnixMilli(ms).In(loc).Format("02.01.2006 15:04")
	}
	return time.UnixMilli(ms).In(loc).Format("2006-01-02 15:04")
}

// accountZone is the zone the account's own pages (team, API tokens),
// which belong to no site, write times in: the sites' zone when they all
// share one, else the server's (time.Local). Its label goes on the page.
func (s *dashboardHandlers) accountZone() (*time.Location, string) {
	var loc *time.Location
	for _, site := range s.sites.List() {
		l := s.sites.Location(site)
		if loc != nil && l.String() != loc.String() {
			loc = time.Local
			break
		}
		loc = l
	}
	if loc == nil {
		loc = time.Local
	}
	return loc, zoneLabel(loc, s.now())
}

type userRow struct {
	Email, Role string
	Created     string
	LastLogin   string // "" never
	Self        bool
}

type inviteRow struct {
	ID, Email, Role, By, Expires string
	// Mail is the state of the invite's email: "" none asked for (or
	// gone), "queued", "retrying", "sent" or "refused"; MailError the SMTP
	// server's last answer.
	Mail, MailError string
}

// mailState is what the Team page says of an invite's email.
func mailState(rec store.AccountMail) string {
	switch {
	case rec.State == store.MailSent:
		return "sent"
	case rec.State == store.MailRefused:
		return "refused"
	case rec.Attempts > 0:
		return "retrying"
	}
	return "queued"
}

type teamData struct {
	Zone    string // the zone of the page's times (accountZone)
	Users   []userRow
	Invites []inviteRow
	Roles   []string
	// The invite just made: its one-time link, shown once, and whether its
	// email is queued.
	NewLink, NewEmail, NewRole string
	NewQueued                  bool
	// Mail: invites can be emailed (serve --smtp).
	Mail bool
	// The invite form as sent, when it was refused.
	Email, Role string
}

func (s *dashboardHandlers) teamData(ctx *fasthttp.RequestCtx, who signedIn) (teamData, error) {
	d := teamData{Roles: []string{accounts.RoleOperator, accounts.RoleManager, accounts.RoleOwner}, Role: accounts.RoleOperator, Mail: s.mail != nil}
	loc, zone := s.accountZone()
	d.Zone = zone
	tr := s.pages.printer(ctx, &who.user)
	users, err := s.accounts.Users(ctx)
	if err != nil {
		return d, err
	}
	for _, u := range users {
		d.Users = append(d.Users, userRow{Email: u.Email, Role: u.Role, Created: fmtWhen(tr, u.Created, loc), LastLogin: fmtWhen(tr, u.LastLogin, loc), Self: u.Email == who.user.Email})
	}
	invites, err := s.accounts.Invites(ctx)
	if err != nil {
		return d, err
	}
	var mail map[string]store.AccountMail
	if s.mail != nil && len(invites) > 0 {
		if mail, err = s.mail.inviteMail(ctx); err != nil {
			return d, err
		}
	}
	for _, p := range invites {
		row := inviteRow{ID: p.ID, Email: p.Email, Role: p.Role, By: p.By, Expires: fmtWhen(tr, p.Expires, loc)}
		if rec, ok := mail[p.ID]; ok {
			row.Mail, row.MailError = mailState(rec), rec.LastError
		}
		d.Invites = append(d.Invites, row)
	}
	return d, nil
}

// teamPage is GET /team: the users with role and last sign-in, the
// invites waiting, and the form that makes one.
func (s *dashboardHandlers) teamPage(ctx *fasthttp.RequestCtx, who signedIn) error {
	d, err := s.teamData(ctx, who)
	if err != nil {
		return err
	}
	v := view{Title: "Team", User: &who.user, CSRF: who.session.CSRF, Data: d}
	switch string(ctx.QueryArgs().Peek("done")) {
	case "role":
		v.Flash = "Role changed."
	case "removed":
		v.Flash = "User removed; their sessions have ended."
	case "cancelled":
		v.Flash = "Invite cancelled: its link no longer works."
	}
	return s.pages.render(ctx, fasthttp.StatusOK, "team", v)
}

// teamError renders the Team page with a refused form's message, beside
// form field field ("" none: at the top); a domain error that is no user
// mistake goes up.
func (s *dashboardHandlers) teamError(ctx *fasthttp.RequestCtx, who signedIn, err error, field string, fill func(d *teamData)) error {
	ue := asUserError(err)
	if ue == nil || ue.Status() >= 500 {
		return err
	}
	d, derr := s.teamData(ctx, who)
	if derr != nil {
		return derr
	}
	if fill != nil {
		fill(&d)
	}
	return s.pages.render(ctx, ue.Status(), "team", view{Title: "Team", User: &who.user, CSRF: who.session.CSRF, Error: errText(s.pages.printer(ctx, &who.user), err), Field: field, Data: d})
}

// invitePost is POST /team/invite: a one-time link for an address and a
// role, shown once on the page this answers, and, when the form asks and
// the server has an SMTP server, queued to be emailed to the address in
// the language the form chose. The page does not wait for the SMTP
// server: the list of invites says how the email fares.
func (s *dashboardHandlers) invitePost(ctx *fasthttp.RequestCtx, who signedIn) error {
	args := ctx.PostArgs()
	email, role := strings.TrimSpace(string(args.Peek("email"))), string(args.Peek("role"))
	token, inv, err := s.accounts.Invite(ctx, email, role, who.user.Email)
	if err != nil {
		field := refusedField(err, "", "%q is not an email address", "invite-email", "%s already has an account", "invite-email")
		return s.teamError(ctx, who, err, field, func(d *teamData) { d.Email, d.Role = email, role })
	}
	tr := s.pages.printer(ctx, &who.user)
	v := view{Title: "Team", User: &who.user, CSRF: who.session.CSRF,
		Flash: tr.T("Invite made. Copy the link now and send it to %s: it is shown once.", inv.Email)}
	queued := false
	if s.mail != nil && len(args.Peek("send")) > 0 {
		lang, ok := i18n.Parse(string(args.Peek("lang")))
		if !ok {
			lang = langOf(ctx, &who.user)
		}
		if err := s.mail.queueInvite(ctx, token, inv, lang); err != nil {
			s.mail.log.Error("invite email not queued", "to", inv.Email, "err", err)
			v.Error = tr.T("The invite's email could not be queued. Copy the link below and send it yourself.")
		} else {
			queued = true
			v.Flash = tr.T("Invite made; its email to %s is queued and goes out in a moment.", inv.Email)
		}
	}
	d, err := s.teamData(ctx, who)
	if err != nil {
		return err
	}
	d.NewLink, d.NewEmail, d.NewRole, d.NewQueued = inviteLink(s.publicURL, token), inv.Email, inv.Role, queued
	v.Data = d
	return s.pages.render(ctx, fasthttp.StatusOK, "team", v)
}

// cancelInvitePost is POST /team/invites/cancel: the invite's link no
// longer works, and its email, if still queued, is not sent.
func (s *dashboardHandlers) cancelInvitePost(ctx *fasthttp.RequestCtx, who signedIn) error {
	id := string(ctx.PostArgs().Peek("id"))
	if err := s.accounts.CancelInvite(ctx, id); err != nil {
		return s.teamError(ctx, who, err, "", nil)
	}
	if s.mail != nil {
		if err := s.mail.dropInvite(ctx, id); err != nil {
			return err
		}
	}
	s.seeOther(ctx, "/team?done=cancelled")
	return nil
}

// errSelf refuses a change of one's own role or account from the Team
// page: the owner would lock themselves out.
var errSelf = errorf(fasthttp.StatusBadRequest, "You cannot change your own role or remove yourself here; another owner can.")

func (s *dashboardHandlers) rolePost(ctx *fasthttp.RequestCtx, who signedIn) error {
	args := ctx.PostArgs()
	email := string(args.Peek("email"))
	if strings.EqualFold(strings.TrimSpace(email), who.user.Email) {
		return s.teamError(ctx, who, errSelf, "", nil)
	}
	if _, err := s.accounts.SetRole(ctx, email, string(args.Peek("role"))); err != nil {
		return s.teamError(ctx, who, err, "", nil)
	}
	s.seeOther(ctx, "/team?done=role")
	return nil
}

func (s *dashboardHandlers) removeUserPost(ctx *fasthttp.RequestCtx, who signedIn) error {
	email := string(ctx.PostArgs().Peek("email"))
	if strings.EqualFold(strings.TrimSpace(email), who.user.Email) {
		return s.teamError(ctx, who, errSelf, "", nil)
	}
	if _, err := s.accounts.RemoveUser(ctx, email); err != nil {
		return s.teamError(ctx, who, err, "", nil)
	}
	s.seeOther(ctx, "/team?done=removed")
	return nil
}

type acceptData struct {
	Token, Email, Role string
}

// acceptPage is GET /invite?token=: the invited person sets a password.
func (s *dashboardHandlers) acceptPage(ctx *fasthttp.RequestCtx) error {
	token := string(ctx.QueryArgs().Peek("token"))
	inv, err := s.accounts.CheckInvite(token)
	if err != nil {
		return err
	}
	err = s.pages.render(ctx, fasthttp.StatusOK, "invite", view{Title: "Join", CSRF: s.preCSRF(ctx),
		Data: acceptData{Token: token, Email: inv.Email, Role: inv.Role}})
	noReferrer(ctx) // its URL holds the token
	return err
}

// acceptPost is POST /invite: the user is made with the password and
// signed in; the invite is used up.
func (s *dashboardHandlers) acceptPost(ctx *fasthttp.RequestCtx) error {
	if err := s.checkPreCSRF(ctx); err != nil {
		return err
	}
	args := ctx.PostArgs()
	token := string(args.Peek("token"))
	cookie, _, _, err := s.accounts.AcceptInvite(ctx, token, string(args.Peek("password")))
	if errors.Is(err, accounts.ErrInvalid) {
		inv, cerr := s.accounts.CheckInvite(token)
		if cerr != nil {
			return cerr
		}
		return s.pages.render(ctx, fasthttp.StatusBadRequest, "invite", view{Title: "Join", CSRF: s.preCSRF(ctx),
			Error: errText(s.pages.printer(ctx, nil), err), Field: passwordField(string(args.Peek("password"))), Data: acceptData{Token: token, Email: inv.Email, Role: inv.Role}})
	}
	if err != nil {
		return err
	}
	s.cookies.set(ctx, s.cookies.session, cookie, accounts.SessionTTL)
	s.seeOther(ctx, "/sites")
	return nil
}

type tokenRow struct {
	ID, Name string
	User     string   // the email of the user it acts as; "": none
	Sites    []string // names; none: every site
	Scopes   []string // none: every scope
	Created  string
	LastUsed string // "" never
	// The row's change form, ticked with what the token has now.
	SiteChoices  []siteChoice
	ScopeChoices []scopeChoice
	// Refused: the change form's refusal is about this row's name; the
	// form is open, filled as sent (SentName, its ticks).
	Refused  bool
	SentName string
}

type siteChoice struct {
	Key, Name string
	Checked   bool
}

// scopeChoice is a scope on the token form: its name and what it allows
// (a catalog key).
type scopeChoice struct {
	Name, Does string
	Checked    bool
}

type tokensData struct {
	Zone   string // the zone of the page's times (accountZone)
	Tokens []tokenRow
	Sites  []siteChoice
	Scopes []scopeChoice
	Users  []userChoice // the team, whom a new token may act as
	// The token just made, shown once.
	NewToken, NewName string
	Name              string // the form as sent, when refused
}

// userChoice is a user of the team on the token form, with their role.
type userChoice struct {
	Email, Role string
	Selected    bool
}

// tokensData is the API tokens page, its form ticked with the sites and
// scopes of a refused one.
func (s *dashboardHandlers) tokensData(ctx *fasthttp.RequestCtx, who signedIn, checked, scopes []string, user string) (tokensData, error) {
	tr := s.pages.printer(ctx, &who.user)
	var d tokensData
	loc, zone := s.accountZone()
	d.Zone = zone
	sites := s.sites.List()
	for _, site := range sites {
		d.Sites = append(d.Sites, siteChoice{Key: site.Key, Name: site.Name, Checked: slices.Contains(checked, site.Key)})
	}
	d.Scopes = scopeChoices(scopes)
	users, err := s.accounts.Users(ctx)
	if err != nil {
		return d, err
	}
	for _, u := range users {
		d.Users = append(d.Users, userChoice{Email: u.Email, Role: u.Role, Selected: u.Email == user})
	}
	list, err := s.accounts.Tokens(ctx)
	if err != nil {
		return d, err
	}
	for _, t := range list {
		row := tokenRow{ID: t.ID, Name: t.Name, User: t.User, Scopes: t.Scopes, Created: fmtWhen(tr, t.Created, loc), LastUsed: fmtWhen(tr, t.LastUsed, loc),
			ScopeChoices: scopeChoices(t.Scopes)}
		for _, id := range t.Sites {
			if site, err := s.sites.ByID(id); err == nil {
				row.Sites = append(row.Sites, site.Name)
			} else {
				row.Sites = append(row.Sites, "removed site "+strconv.FormatUint(uint64(id), 10))
			}
		}
		for _, site := range sites {
			row.SiteChoices = append(row.SiteChoices, siteChoice{Key: site.Key, Name: site.Name, Checked: slices.Contains(t.Sites, site.ID)})
		}
		d.Tokens = append(d.Tokens, row)
	}
	return d, nil
}

// scopeChoices are the token form's scopes, those named ticked.
func scopeChoices(ticked []string) []scopeChoice {
	var out []scopeChoice
	for sc := scopeCalls; int(sc) < len(scopeNames); sc++ {
		out = append(out, scopeChoice{Name: sc.String(), Does: scopeDoes[sc], Checked: slices.Contains(ticked, sc.String())})
	}
	return out
}

// tokensPage is GET /tokens: every API token with its sites and last use.
func (s *dashboardHandlers) tokensPage(ctx *fasthttp.RequestCtx, who signedIn) error {
	d, err := s.tokensData(ctx, who, nil, nil, "")
	if err != nil {
		return err
	}
	v := view{Title: "API tokens", User: &who.user, CSRF: who.session.CSRF, Data: d}
	switch string(ctx.QueryArgs().Peek("done")) {
	case "revoked":
		v.Flash = "Token revoked: requests with it are refused from now on."
	case "changed":
		v.Flash = "Token changed: its next request is held to its new sites and scopes; the integration keeps the same token."
	}
	return s.pages.render(ctx, fasthttp.StatusOK, "tokens", v)
}

// tokenPost is POST /tokens: a new token for every site or the sites
// ticked, for everything or the scopes ticked, acting as the user chosen
// or as none, shown once on the page this answers.
func (s *dashboardHandlers) tokenPost(ctx *fasthttp.RequestCtx, who signedIn) error {
	args := ctx.PostArgs()
	name := string(args.Peek("name"))
	keys, ids, scopes, err := s.tokenFormGrant(args)
	if err != nil {
		return err
	}
	user := strings.TrimSpace(string(args.Peek("user")))
	token, err := s.accounts.MakeToken(ctx, accounts.NewToken{Name: name, Sites: ids, Scopes: scopes, User: user})
	if errors.Is(err, accounts.ErrNoUser) {
		// Removed since the page was read: the form's choice is stale.
		err = errorf(fasthttp.StatusBadRequest, "The user the token was to act as is no longer on the team; choose another.")
	}
	if err != nil {
		if ue := asUserError(err); ue != nil && ue.Status() < 500 {
			d, derr := s.tokensData(ctx, who, keys, scopes, user)
			if derr != nil {
				return derr
			}
			d.Name = name
			return s.pages.render(ctx, ue.Status(), "tokens", view{Title: "API tokens", User: &who.user, CSRF: who.session.CSRF, Error: errText(s.pages.printer(ctx, &who.user), err),
				Field: refusedField(err, "", "token name must be", "token-name"), Data: d})
		}
		return err
	}
	d, err := s.tokensData(ctx, who, nil, nil, "")
	if err != nil {
		return err
	}
	d.NewToken, d.NewName = token, strings.TrimSpace(name)
	return s.pages.render(ctx, fasthttp.StatusOK, "tokens", view{Title: "API tokens", User: &who.user, CSRF: who.session.CSRF,
		Flash: "Token made. Copy it now: it is shown once.", Data: d})
}

// tokenFormGrant is the sites (their keys and ids) and scopes ticked on a
// token form; none ticked is every site, everything.
func (s *dashboardHandlers) tokenFormGrant(args *fasthttp.Args) (keys []string, ids []uint32, scopes []string, err error) {
	for _, k := range args.PeekMulti("site") {
		site, err := s.sites.ByKey(string(k))
		if err != nil {
			return nil, nil, nil, errorf(fasthttp.StatusBadRequest, "A site of the form no longer exists; reload the page and try again.")
		}
		keys, ids = append(keys, site.Key), append(ids, site.ID)
	}
	var ticked []string
	for _, sc := range args.PeekMulti("scope") {
		ticked = append(ticked, string(sc))
	}
	scopes, err = parseScopes(ticked)
	return keys, ids, scopes, err
}

// changeTokenPost is POST /tokens/change: a token's name, sites and scopes
// as its row's form has them now (none ticked: every site, everything).
func (s *dashboardHandlers) changeTokenPost(ctx *fasthttp.RequestCtx, who signedIn) error {
	args := ctx.PostArgs()
	name := string(args.Peek("name"))
	keys, ids, scopes, err := s.tokenFormGrant(args)
	if err != nil {
		return err
	}
	id := string(args.Peek("id"))
	_, err = s.accounts.ChangeToken(ctx, id, accounts.TokenChange{Name: &name, Sites: &ids, Scopes: &scopes})
	if err != nil {
		if ue := asUserError(err); ue != nil && ue.Status() < 500 {
			d, derr := s.tokensData(ctx, who, nil, nil, "")
			if derr != nil {
				return derr
			}
			field := refusedField(err, "", "token name must be", "change-name")
			for i := range d.Tokens {
				if row := &d.Tokens[i]; field != "" && row.ID == id {
					row.Refused, row.SentName, row.ScopeChoices = true, name, scopeChoices(scopes)
					for j := range row.SiteChoices {
						row.SiteChoices[j].Checked = slices.Contains(keys, row.SiteChoices[j].Key)
					}
				}
			}
			return s.pages.render(ctx, ue.Status(), "tokens", view{Title: "API tokens", User: &who.user, CSRF: who.session.CSRF, Error: errText(s.pages.printer(ctx, &who.user), err),
				Field: field, Data: d})
		}
		return err
	}
	s.seeOther(ctx, "/tokens?done=changed")
	return nil
}

func (s *dashboardHandlers) revokeTokenPost(ctx *fasthttp.RequestCtx, who signedIn) error {
	if _, err := s.accounts.RevokeToken(ctx, string(ctx.PostArgs().Peek("id"))); err != nil {
		return err
	}
	s.seeOther(ctx, "/tokens?done=revoked")
	return nil
}
