package httpd

import (
	"fmt"
	"slices"
	"strings"

	"github.com/valyala/fasthttp"

	"appliance/httpd/accounts"
	"appliance/internal/usererr"
	"appliance/store"
)

// permission is what a route asks of its caller. Every route names one when
// it is registered (routes.go), the dispatcher checks it before the handler
// runs, and grants says which roles hold it: one table of what each role
// may do.
type permission int

const (
	// open: anyone, signed in or not (the tracker, the /api/v1 endpoints,
	// which check their own token, sign-in, setup, assets).
	open permission = iota
	// anyUser: any signed-in user: their own account, signing out, the
	// list of sites.
	anyUser
	// seeCallbacks: a site's callback requests (the list and its CSV).
	seeCallbacks
	// markCallbacks: set a callback's status (done, spam) and note.
	markCallbacks
	// useChat: the chat console: talk to the visitors of every site.
	useChat
	// moveChats: transfer any open chat, also one a colleague online
	// holds (an operator transfers their own, and those they could take).
	moveChats
	// markLeads: set a lead's status (done, spam) and note.
	markLeads
	// seeVisitors: one visitor's card (sessions, contacts, leads,
	// callbacks, calls, chats): what the chat console's visitor panel and
	// the callback list's visitor links already show an operator.
	seeVisitors
	// seeReports: a site's visits, leads, calls, webhooks and numbers.
	seeReports
	// changeSites: add sites; change webhooks, numbers, callback settings.
	changeSites
	// manageAccess: users and API tokens.
	manageAccess
)

// grants is the one table of what each role may do: owner everything;
// manager everything but users and tokens; operator callbacks (and the
// list of sites that leads to them), the chat console and visitor cards.
var grants = [...]struct{ owner, manager, operator bool }{
	open:          {true, true, true},
	anyUser:       {true, true, true},
	seeCallbacks:  {true, true, true},
	markCallbacks: {true, true, true},
	useChat:       {true, true, true},
	moveChats:     {true, true, false},
	markLeads:     {true, true, false},
	seeVisitors:   {true, true, true},
	seeReports:    {true, true, false},
	changeSites:   {true, true, false},
	manageAccess:  {true, false, false},
}

// permissionNames name the permissions for templates ({{if may .User
// "changeSites"}}) and messages.
var permissionNames = map[string]permission{
	"open": open, "anyUser": anyUser, "seeCallbacks": seeCallbacks,
	"markCallbacks": markCallbacks, "useChat": useChat, "moveChats": moveChats, "markLeads": markLeads, "seeVisitors": seeVisitors, "seeReports": seeReports, "changeSites": changeSites, "manageAccess": manageAccess,
}

// allows reports whether role holds p; an unknown role holds only open.
func (p permission) allows(role string) bool {
	g := grants[p]
	switch role {
	case accounts.RoleOwner:
		return g.owner
	case accounts.RoleManager:
		return g.manager
	case accounts.RoleOperator:
		return g.operator
	}
	return p == open
}

// may is the template function behind {{if may .User "changeSites"}}. An
// unknown permission name is an error, so a typo fails the page instead of
// hiding (or showing) a part of it.
func may(u *store.User, name string) (bool, error) {
	p, ok := permissionNames[name]
	if !ok {
		return false, fmt.Errorf("may: unknown permission %q", name)
	}
	return u != nil && p.allows(u.Role), nil
}

// scope is what an API token may do (token add --scope), named for what
// an integration does, as the dashboard's permissions are named for what
// a person does. Every /api/v1 route names exactly one when it is
// registered (apiHandlers.route); apiAuth refuses a token made with scopes
// that do not include it. A token made without scopes may do everything,
// as every token could before scopes existed.
type scope int

const (
	// noScope: not an API route.
	noScope scope = iota
	// scopeCalls: report calls and look up who a call is from (a PBX).
	scopeCalls
	// scopeReportsRead: the sources and timeseries reports.
	scopeReportsRead
	// scopeLeadsRead: list leads.
	scopeLeadsRead
	// scopeLeadsWrite: set a lead's status and note.
	scopeLeadsWrite
	// scopeCallbacksRead: list callback requests.
	scopeCallbacksRead
	// scopeCallbacksWrite: set a callback's status and note.
	scopeCallbacksWrite
	// scopeVisitorsRead: visitor cards (contacts, sessions, leads, calls).
	scopeVisitorsRead
	// scopeChats: the chat operator API: read and answer chats, presence.
	scopeChats
)

// scopeNames are the scopes as tokens store them and people type them.
// Stored names never change meaning.
var scopeNames = [...]string{
	noScope:             "",
	scopeCalls:          "calls",
	scopeReportsRead:    "reports:read",
	scopeLeadsRead:      "leads:read",
	scopeLeadsWrite:     "leads:write",
	scopeCallbacksRead:  "callbacks:read",
	scopeCallbacksWrite: "callbacks:write",
	scopeVisitorsRead:   "visitors:read",
	scopeChats:          "chats",
}

func (sc scope) String() string { return scopeNames[sc] }

// scopeDoes says what each scope allows, as the token form shows it (a
// catalog key).
var scopeDoes = [len(scopeNames)]string{
	scopeCalls:          "report calls and look up their source (a PBX)",
	scopeReportsRead:    "read the sources and timeseries reports",
	scopeLeadsRead:      "read leads",
	scopeLeadsWrite:     "set a lead's status and note; not read leads (a form or PBX that only posts needs no more): tick leads:read too for a CRM",
	scopeCallbacksRead:  "read callback requests",
	scopeCallbacksWrite: "set a callback's status and note; not read them: tick callbacks:read too to list them",
	scopeVisitorsRead:   "read visitor cards: contacts, sessions, leads, calls, chats",
	scopeChats:          "read and answer chats as an operator",
}

// APIScopes are the names of every scope an API token may be made for,
// in the table's order: what the token form and `token add --help` offer.
func APIScopes() []string { return slices.Clone(scopeNames[1:]) }

// parseScopes checks the names of the scopes a token is made with: each
// one of apiScopes, surrounding space ignored; none is every scope.
func parseScopes(names []string) ([]string, error) {
	var out []string
	for _, n := range names {
		n = strings.TrimSpace(n)
		if n == "" {
			continue
		}
		if !slices.Contains(APIScopes(), n) {
			return nil, errorf(fasthttp.StatusBadRequest, "no scope is named %.40q; the scopes are %s", n, strings.Join(APIScopes(), ", "))
		}
		out = append(out, n)
	}
	return out, nil
}

// whoKey is the request's user value holding the signed-in caller.
type whoKey struct{}

// authorize checks a request against its route's permission: for anything
// but open routes a live login whose role holds the permission, and the
// session's CSRF token on every POST. It returns the caller.
func (s *Server) authorize(ctx *fasthttp.RequestCtx, rt *route) (signedIn, error) {
	if rt.need == open {
		return signedIn{}, nil
	}
	_, sess, user, err := s.cookies.live(ctx, s.accounts, s.opts.Now())
	if err != nil {
		return signedIn{}, err
	}
	if ctx.IsPost() && !tokenEqual(formValue(ctx, "csrf"), sess.CSRF) {
		return signedIn{}, errorf(fasthttp.StatusForbidden, "This form has expired; reload the page and try again.")
	}
	if !rt.need.allows(user.Role) {
		return signedIn{}, errorf(fasthttp.StatusForbidden, "Your role (%s) does not give access to this page. Ask the owner of this appliance if you need it.", usererr.P(user.Role))
	}
	return signedIn{user: user, session: sess}, nil
}

// formValue is a field of a POST form, urlencoded or multipart (a file
// upload); "" when the form has none.
func formValue(ctx *fasthttp.RequestCtx, name string) string {
	if v := ctx.PostArgs().Peek(name); v != nil {
		return string(v)
	}
	if f, err := ctx.MultipartForm(); err == nil && len(f.Value[name]) > 0 {
		return f.Value[name][0]
	}
	return ""
}

// asOwner authorizes every admin API request as the owner: the admin socket
// is open only to the server's own OS user (mode 0600), who holds the data
// directory anyway.
func asOwner(*fasthttp.RequestCtx, *route) (signedIn, error) {
	return signedIn{user: store.User{Role: accounts.RoleOwner}}, nil
}

// withWho adapts a handler that needs the signed-in caller. The caller is
// set by the dispatcher after authorize; a route registered as open by
// mistake has none, and fails closed (to the sign-in page).
func withWho(h func(ctx *fasthttp.RequestCtx, who signedIn) error) handler {
	return func(ctx *fasthttp.RequestCtx) error {
		who, ok := ctx.UserValue(whoKey{}).(signedIn)
		if !ok || who.user.Email == "" {
			return accounts.ErrNoSession
		}
		return h(ctx, who)
	}
}
