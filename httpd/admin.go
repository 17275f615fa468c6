package httpd

import (
	"bufio"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/valyala/fasthttp"

	"appliance/export"
	"appliance/httpd/accounts"
	"appliance/httpd/admin"
	"appliance/httpd/callbacks"
	"appliance/httpd/sites"
	"appliance/httpd/webhooks"
	"appliance/internal/detach"
	"appliance/numbers/tracking"
	"appliance/store"
)

// The admin API (package admin) as the unix socket serves it: its one
// route group, and adminAPI, the server's implementation of admin.Service.

// ok is the success shape of every JSON answer.
type ok struct {
	Success bool `json:"success"`
	Result  any  `json:"result"`
}

func writeOK(ctx *fasthttp.RequestCtx, result any) {
	writeJSON(ctx, fasthttp.StatusOK, ok{Success: true, Result: result})
}

// OpenAdmin returns a client for the admin API of the store in dir: the
// running server's, over its socket, or when no server answers, the store
// opened here with the same handlers served in-process until the client is
// closed. o are the options of that in-process server (its version, the
// webhooks policy that checks outbound URLs); a running server applies its
// own.
func OpenAdmin(ctx context.Context, dir string, o Options) (*admin.Client, error) {
	c, _, err := admin.Dial(ctx, filepath.Join(dir, admin.SocketName))
	if err == nil {
		return c, nil
	}
	if errors.Is(err, fs.ErrPermission) {
		// A server runs as another user, whose socket this one may not use.
		var op *net.OpError
		if errors.As(err, &op) {
			err = op // "dial unix DIR/admin.sock: connect: permission denied"
		}
		return nil, store.AccessHint(dir, err)
	}
	if err := CheckStore(dir); err != nil {
		return nil, err
	}
	db, err := store.Open(dir, store.Options{})
	if errors.Is(err, store.ErrLocked) {
		return nil, store.Unanswered(dir, err)
	}
	if err != nil {
		return nil, err
	}
	if o.PublicURL == "" {
		// The URL the last server was reached at (the install code of a
		// site added now must name it), else the default serve's.
		u, err := db.Get(publicURLKey)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			db.Close()
			return nil, err
		}
		o.PublicURL = string(u)
	}
	if o.Listen == "" {
		o.Listen = "localhost:8080"
	}
	srv, err := New(ctx, db, o)
	if err != nil {
		db.Close()
		return nil, err
	}
	return admin.InProcess(srv.AdminHandler, db.Close), nil
}

// adminRoutes is every route of the admin API served on the unix socket,
// each calling svc. Its caller is the owner (asOwner), but each action
// names its permission as a dashboard route would.
func (s *Server) adminRoutes(svc admin.Service) *router {
	r := newRouter()
	r.api("GET", admin.PathPing, open, adminGet(svc.Ping))
	r.api("GET", admin.PathBackup, manageAccess, s.adminBackup(svc))
	r.api("GET", admin.PathSites, seeReports, adminGet(svc.Sites))
	r.api("POST", admin.PathSites, changeSites, adminPost(svc.AddSite))
	r.api("POST", admin.PathSiteOrigin, changeSites, adminPost(svc.SetOrigin))
	r.api("POST", admin.PathSiteTimeZone, changeSites, adminPost(svc.SetTimeZone))
	r.api("POST", admin.PathUsers, manageAccess, adminPost(svc.AddUser))
	r.api("POST", admin.PathPassword, manageAccess, adminPost(svc.SetPassword))
	r.api("POST", admin.PathLogout, manageAccess, adminPost(svc.Logout))
	r.api("POST", admin.PathTokens, manageAccess, adminPost(svc.AddToken))
	r.api("GET", admin.PathUsers, manageAccess, adminGet(svc.Users))
	r.api("POST", admin.PathInvite, manageAccess, adminPost(svc.Invite))
	r.api("GET", admin.PathInvites, manageAccess, adminGet(svc.Invites))
	r.api("POST", admin.PathCancelInvite, manageAccess, adminDo(svc.CancelInvite))
	r.api("POST", admin.PathRole, manageAccess, adminPost(svc.SetRole))
	r.api("POST", admin.PathRemoveUser, manageAccess, adminPost(svc.RemoveUser))
	r.api("GET", admin.PathTokens, manageAccess, adminGet(svc.Tokens))
	r.api("POST", admin.PathRevokeToken, manageAccess, adminPost(svc.RevokeToken))
	r.api("POST", admin.PathChangeToken, manageAccess, adminPost(svc.ChangeToken))
	r.api("POST", admin.PathSiteEdit, changeSites, adminPost(svc.EditSite))
	r.api("POST", admin.PathRemoveSite, changeSites, adminPost(svc.RemoveSite))
	r.api("GET", admin.PathWebhooks, seeReports, adminGetSite(svc.Webhooks))
	r.api("POST", admin.PathWebhooks, changeSites, adminPost(svc.AddWebhook))
	r.api("POST", admin.PathRemoveWebhook, changeSites, adminPost(svc.RemoveWebhook))
	r.api("POST", admin.PathChangeWebhook, changeSites, adminPost(svc.ChangeWebhook))
	r.api("POST", admin.PathCallbacks, changeSites, adminPost(svc.SetCallbacks))
	r.api("GET", admin.PathNumbers, seeReports, adminGetSite(svc.Numbers))
	r.api("POST", admin.PathSiteNumbers, changeSites, adminPost(svc.SetSiteNumbers))
	r.api("POST", admin.PathStatic, changeSites, adminPost(svc.AddStatic))
	r.api("POST", admin.PathRemoveStatic, changeSites, adminDo(svc.RemoveStatic))
	r.api("POST", admin.PathPool, changeSites, adminPost(svc.AddPool))
	r.api("POST", admin.PathEditPool, changeSites, adminPost(svc.EditPool))
	r.api("POST", admin.PathRemovePool, changeSites, adminDo(svc.RemovePool))
	r.api("POST", admin.PathImport, changeSites, adminPostProgress(s, admin.PathImport, svc.Import))
	r.api("POST", admin.PathRebuild, changeSites, adminPostProgress(s, admin.PathRebuild, svc.Rebuild))
	r.api("POST", admin.PathCosts, changeSites, adminPost(svc.ImportCosts))
	r.api("POST", admin.PathPrune, changeSites, adminPost(svc.Prune))
	r.api("POST", admin.PathExportBackfill, changeSites, adminPostProgress(s, admin.PathExportBackfill, svc.ExportBackfill))
	return r
}

// adminGet is a GET call without arguments.
func adminGet[Out any](fn func(context.Context) (Out, error)) handler {
	return func(ctx *fasthttp.RequestCtx) error {
		call, done := callContext(ctx)
		defer done()
		out, err := fn(call)
		if err != nil {
			return err
		}
		writeOK(ctx, out)
		return nil
	}
}

// adminGetSite is a GET call about the site named in ?site=.
func adminGetSite[Out any](fn func(context.Context, string) (Out, error)) handler {
	return func(ctx *fasthttp.RequestCtx) error {
		call, done := callContext(ctx)
		defer done()
		out, err := fn(call, string(ctx.QueryArgs().Peek(admin.SiteQuery)))
		if err != nil {
			return err
		}
		writeOK(ctx, out)
		return nil
	}
}

// adminPost is a POST call whose JSON body is its request.
func adminPost[In, Out any](fn func(context.Context, In) (Out, error)) handler {
	return func(ctx *fasthttp.RequestCtx) error {
		var in In
		if err := decodeBody(ctx.PostBody(), maxBodySize, &in, refuseUnknown); err != nil {
			return err
		}
		call, done := callContext(ctx)
		defer done()
		out, err := fn(call, in)
		if err != nil {
			return err
		}
		writeOK(ctx, out)
		return nil
	}
}

// adminDo is a POST call that answers nothing but success.
func adminDo[In any](fn func(context.Context, In) error) handler {
	return adminPost(func(ctx context.Context, in In) (any, error) { return nil, fn(ctx, in) })
}

// callContext is the context an admin call's work runs in, ended by done
// or when the server shuts down: not the request itself (detach).
func callContext(ctx *fasthttp.RequestCtx) (call context.Context, done context.CancelFunc) {
	return detach.Until(ctx.Done(), 0)
}

// adminPostProgress is adminPost for long work that says how far it is:
// the answer streams a line of admin.Progress each time fn reports, then
// the call's usual answer as its last line (a failure too, with the status
// it would have had, admin.StreamedStatus: the answer's own is sent before
// the work ends). The work runs in its own context, ended when
// the server shuts down, since the stream may not touch the request's.
func adminPostProgress[In, Out any](s *Server, path string, fn func(context.Context, In, func(done, total int64)) (Out, error)) handler {
	return func(ctx *fasthttp.RequestCtx) error {
		var in In
		if err := decodeBody(ctx.PostBody(), maxBodySize, &in, refuseUnknown); err != nil {
			return err
		}
		work, cancel := callContext(ctx)
		ctx.SetContentType("application/x-ndjson")
		ctx.SetBodyStreamWriter(func(w *bufio.Writer) {
			defer cancel()
			enc := json.NewEncoder(w)
			out, err := fn(work, in, func(done, total int64) {
				var p admin.Progress
				p.Progress.Done, p.Progress.Total = done, total
				_ = enc.Encode(p)
				_ = w.Flush()
			})
			var answer any = ok{Success: true, Result: out}
			if err != nil {
				msg, status := "internal error", fasthttp.StatusInternalServerError
				if ue := asUserError(err); ue != nil {
					msg, status = ue.UserMessage(), ue.Status()
				} else {
					s.log.Error("request failed", "path", path, "err", err)
				}
				answer = struct {
					errorResponse
					admin.StreamedStatus
				}{errorResponse{Success: false, Error: msg}, admin.StreamedStatus{Status: status}}
			}
			if err := enc.Encode(answer); err == nil {
				_ = w.Flush()
			}
		})
		return nil
	}
}

// adminBackup streams a consistent archive of the live store, whose size
// (Content-Length) is known once the server has summed the store's files
// for its manifest. A failure before is an error answer; mid-stream it can
// no longer change the status, so the archive ends short and the CLI,
// which verifies what it received, reports it.
func (s *Server) adminBackup(svc admin.Service) handler {
	return func(ctx *fasthttp.RequestCtx) error {
		work, cancel := callContext(ctx)
		a, err := svc.Backup(work)
		if err != nil {
			cancel()
			if errors.Is(err, context.Canceled) {
				// The server began to stop (or the command went away).
				return errorf(fasthttp.StatusServiceUnavailable, "the server stopped before the backup was ready, and nothing was written: run backup again once it serves, or while it is stopped")
			}
			return err
		}
		ctx.SetContentType("application/x-tar")
		ctx.SetBodyStream(&archiveBody{a: a, ctx: ctx, cancel: cancel, log: s.log}, int(a.Size()))
		return nil
	}
}

// archiveBody is a backup as an answer's body: fasthttp hands the
// connection's writer to WriteTo (BodyWriterTo), so the archive goes out in
// the archive's own large pieces, without a copy through a pipe, and each
// piece gives the write another writeTimeout (a large store streams for
// longer than one).
type archiveBody struct {
	a      admin.Archive
	ctx    *fasthttp.RequestCtx
	cancel context.CancelFunc
	log    *slog.Logger
}

func (b *archiveBody) SupportsBodyWriteTo() bool { return true }

func (b *archiveBody) WriteTo(w io.Writer) (int64, error) {
	n, err := b.a.WriteTo(deadlineWriter{w: w, ctx: b.ctx})
	if err != nil {
		b.log.Error("backup failed", "err", err)
	}
	return n, err
}

func (b *archiveBody) Read([]byte) (int, error) {
	return 0, errors.New("backup: the archive is only written (WriteTo)")
}

func (b *archiveBody) Close() error {
	b.cancel()
	return b.a.Close()
}

// deadlineWriter extends the connection's write deadline before each write.
type deadlineWriter struct {
	w   io.Writer
	ctx *fasthttp.RequestCtx
}

func (d deadlineWriter) Write(p []byte) (int, error) {
	_ = d.ctx.SetWriteDeadline(time.Now().Add(writeTimeout))
	return d.w.Write(p)
}

// adminAPI is the server's admin.Service.
type adminAPI struct{ s *Server }

var _ admin.Service = adminAPI{}

func (a adminAPI) Ping(context.Context) (admin.Ping, error) {
	return admin.Ping{PID: os.Getpid(), Version: a.s.opts.Version, PublicURL: a.s.PublicURL()}, nil
}

func (a adminAPI) Backup(ctx context.Context) (admin.Archive, error) { return a.s.db.OpenBackup(ctx) }

func (a adminAPI) site(site *store.Site) admin.Site {
	return admin.Site{ID: site.ID, Key: site.Key, Name: site.Name, Domains: site.Domains, AnyOrigin: site.AnyOrigin,
		TimeZone: site.TimeZone, PhoneRegion: site.PhoneRegion, RetentionDays: int(site.RetentionDays), Created: time.UnixMilli(site.Created).UTC(), InstallCode: a.s.InstallCode(site.Key),
		LocalHost: loopbackHost(a.s.public.Host)}
}

func (a adminAPI) Sites(context.Context) ([]admin.Site, error) {
	out := []admin.Site{}
	for _, site := range a.s.sites.List() {
		out = append(out, a.site(site))
	}
	return out, nil
}

func (a adminAPI) AddSite(ctx context.Context, in admin.AddSite) (admin.Site, error) {
	if _, err := sites.ParseTimeZone(in.TimeZone); err != nil {
		return admin.Site{}, err // before the site is created: nothing changes
	}
	if _, err := sites.ParsePhoneRegion(in.PhoneRegion); err != nil {
		return admin.Site{}, err
	}
	site, err := a.s.sites.Create(ctx, in.Name, in.Domains)
	if err != nil {
		return admin.Site{}, err
	}
	if in.AnyOrigin {
		if site, err = a.s.sites.SetAnyOrigin(ctx, site.Key, true); err != nil {
			return admin.Site{}, err
		}
	}
	if in.TimeZone != "" {
		if site, err = a.s.sites.SetTimeZone(ctx, site.Key, in.TimeZone); err != nil {
			return admin.Site{}, err
		}
	}
	if in.PhoneRegion != "" {
		if site, err = a.s.sites.SetPhoneRegion(ctx, site.Key, in.PhoneRegion); err != nil {
			return admin.Site{}, err
		}
	}
	return a.site(site), nil
}

// SetTimeZone sets the zone of a site's days and hours.
func (a adminAPI) SetTimeZone(ctx context.Context, in admin.SetTimeZone) (admin.Site, error) {
	site, err := a.s.sites.SetTimeZone(ctx, in.Site, in.TimeZone)
	if err != nil {
		return admin.Site{}, err
	}
	return a.site(site), nil
}

// SetOrigin sets whether a site takes hits from pages on any domain.
func (a adminAPI) SetOrigin(ctx context.Context, in admin.SetOrigin) (admin.Site, error) {
	if in.AnyOrigin == nil {
		return admin.Site{}, errorf(fasthttp.StatusBadRequest, "any_origin (true or false) is required")
	}
	site, err := a.s.sites.SetAnyOrigin(ctx, in.Site, *in.AnyOrigin)
	if err != nil {
		return admin.Site{}, err
	}
	return a.site(site), nil
}

func (a adminAPI) AddUser(ctx context.Context, in admin.AddUser) (admin.User, error) {
	if in.Role == "" {
		// The first user is the owner (also on a store a first operator
		// left without one), the others operators.
		has, err := a.s.accounts.HasOwner(ctx)
		if err != nil {
			return admin.User{}, err
		}
		in.Role = accounts.RoleOperator
		if !has {
			in.Role = accounts.RoleOwner
		}
	}
	if err := a.s.accounts.OwnerFirst(ctx, in.Role); err != nil {
		return admin.User{}, err
	}
	u, err := a.s.accounts.CreateUser(ctx, in.Email, in.Password, in.Role)
	if errors.Is(err, accounts.ErrExists) {
		return admin.User{}, errorf(fasthttp.StatusConflict, "%s already has an account (appliance user passwd %s sets a new password)", in.Email, in.Email)
	} else if err != nil {
		return admin.User{}, err
	}
	return admin.User{Email: u.Email, Role: u.Role}, nil
}

func (a adminAPI) SetPassword(ctx context.Context, in admin.SetPassword) (admin.User, error) {
	if err := a.s.accounts.SetPassword(ctx, in.Email, in.Password); err != nil {
		return admin.User{}, noUser(err, in.Email, fasthttp.StatusNotFound)
	}
	return admin.User{Email: in.Email}, nil
}

// Logout signs a user out everywhere.
func (a adminAPI) Logout(ctx context.Context, in admin.Logout) (admin.User, error) {
	if err := a.s.accounts.EndSessions(ctx, in.Email); err != nil {
		return admin.User{}, noUser(err, in.Email, fasthttp.StatusNotFound)
	}
	return admin.User{Email: in.Email}, nil
}

// siteIDs are the ids of the sites with the keys, for a token.
func (s *Server) siteIDs(keys []string) ([]uint32, error) {
	var ids []uint32
	for _, key := range keys {
		key = strings.TrimSpace(key)
		if key == "" {
			continue
		}
		site, err := s.sites.ByKey(key)
		if err != nil {
			// Not there: 404, as every other command's unknown site key.
			return nil, errorf(fasthttp.StatusNotFound, "no site has the key %q (appliance site list shows them)", key)
		}
		ids = append(ids, site.ID)
	}
	return ids, nil
}

func (a adminAPI) AddToken(ctx context.Context, in admin.AddToken) (admin.Token, error) {
	ids, err := a.s.siteIDs(in.Sites)
	if err != nil {
		return admin.Token{}, err
	}
	scopes, err := parseScopes(in.Scopes)
	if err != nil {
		return admin.Token{}, err
	}
	token, err := a.s.accounts.MakeToken(ctx, accounts.NewToken{Name: in.Name, Sites: ids, Scopes: scopes, User: in.User})
	if err != nil {
		// Not there: 404 (exit 1), as its --site of no site is.
		return admin.Token{}, noUser(err, in.User, fasthttp.StatusNotFound)
	}
	if scopes == nil {
		scopes = []string{}
	}
	return admin.Token{Name: in.Name, Token: token, Sites: in.Sites, User: in.User, Scopes: scopes}, nil
}

func endpoint(ep store.WebhookEndpoint) admin.Endpoint {
	return admin.Endpoint{ID: ep.ID, URL: ep.URL, Events: ep.Events, Created: time.UnixMilli(ep.Created).UTC()}
}

func (a adminAPI) Webhooks(_ context.Context, key string) ([]admin.Endpoint, error) {
	site, err := a.s.adminSite(key)
	if err != nil {
		return nil, err
	}
	eps, err := a.s.hooks.Endpoints(site.ID)
	if err != nil {
		return nil, err
	}
	out := []admin.Endpoint{}
	for _, ep := range eps {
		out = append(out, endpoint(ep))
	}
	return out, nil
}

func (a adminAPI) AddWebhook(ctx context.Context, in admin.AddWebhook) (admin.Endpoint, error) {
	site, err := a.s.adminSite(in.Site)
	if err != nil {
		return admin.Endpoint{}, err
	}
	var kinds []webhooks.Kind
	for _, e := range in.Events {
		kinds = append(kinds, webhooks.Kind(e))
	}
	ep, err := a.s.hooks.Add(ctx, site.ID, in.URL, in.Secret, kinds)
	if errors.Is(err, webhooks.ErrInvalid) {
		return admin.Endpoint{}, errorf(fasthttp.StatusBadRequest, "%s", adminMessage(err))
	}
	if err != nil {
		return admin.Endpoint{}, err
	}
	out := endpoint(ep)
	out.Secret = ep.Secret
	out.NoSMTP = strings.HasPrefix(ep.URL, "mailto:") && a.s.mail == nil
	return out, nil
}

// noWebhook is the refusal of a webhook id the site has not, naming the
// command that lists them.
func noWebhook(siteKey string, id uint64) error {
	return errorf(fasthttp.StatusNotFound, "site %s has no webhook %d (appliance webhook list --site %s shows them)", siteKey, id, siteKey)
}

func (a adminAPI) RemoveWebhook(ctx context.Context, in admin.RemoveWebhook) (admin.Removed, error) {
	site, err := a.s.adminSite(in.Site)
	if err != nil {
		return admin.Removed{}, err
	}
	if err := a.s.hooks.Remove(ctx, site.ID, in.ID); errors.Is(err, webhooks.ErrNotFound) {
		return admin.Removed{}, noWebhook(site.Key, in.ID)
	} else if err != nil {
		return admin.Removed{}, err
	}
	return admin.Removed{ID: in.ID}, nil
}

// ChangeWebhook is `appliance webhook change`: what is not given is kept.
func (a adminAPI) ChangeWebhook(ctx context.Context, in admin.ChangeWebhook) (admin.Endpoint, error) {
	site, err := a.s.adminSite(in.Site)
	if err != nil {
		return admin.Endpoint{}, err
	}
	eps, err := a.s.hooks.Endpoints(site.ID)
	if err != nil {
		return admin.Endpoint{}, err
	}
	i := slices.IndexFunc(eps, func(ep store.WebhookEndpoint) bool { return ep.ID == in.ID })
	if i < 0 {
		return admin.Endpoint{}, noWebhook(site.Key, in.ID)
	}
	url, events := cmp.Or(in.URL, eps[i].URL), in.Events
	if len(events) == 0 {
		events = eps[i].Events
	}
	var kinds []webhooks.Kind
	for _, e := range events {
		kinds = append(kinds, webhooks.Kind(e))
	}
	ep, err := a.s.hooks.Change(ctx, site.ID, in.ID, url, in.Secret, kinds)
	switch {
	case errors.Is(err, webhooks.ErrInvalid):
		return admin.Endpoint{}, errorf(fasthttp.StatusBadRequest, "%s", adminMessage(err))
	case errors.Is(err, webhooks.ErrNotFound):
		return admin.Endpoint{}, noWebhook(site.Key, in.ID)
	case err != nil:
		return admin.Endpoint{}, err
	}
	return endpoint(ep), nil
}

// SetCallbacks is `appliance callback set`: absent fields keep their
// value; captcha is "on", "off" or "".
func (a adminAPI) SetCallbacks(ctx context.Context, in admin.SetCallbacks) (admin.CallbackSettings, error) {
	site, err := a.s.adminSite(in.Site)
	if err != nil {
		return admin.CallbackSettings{}, err
	}
	c := callbacks.Change{ScenarioURL: in.Webhook, Secret: in.Secret, CaptchaDigits: in.CaptchaDigits, Lang: in.Lang}
	if in.Secret != nil && *in.Secret == "" {
		c.Secret = nil
	}
	switch in.Captcha {
	case "":
	case "on", "off":
		on := in.Captcha == "on"
		c.Captcha = &on
	default:
		return admin.CallbackSettings{}, errorf(fasthttp.StatusBadRequest, "captcha is on or off, not %q", in.Captcha)
	}
	switch in.Queue {
	case "":
	case "on", "off":
		on := in.Queue == "on"
		c.Queue = &on
	default:
		return admin.CallbackSettings{}, errorf(fasthttp.StatusBadRequest, "queue is on or off, not %q", in.Queue)
	}
	if in.Groups != nil {
		groups, err := callbacks.ParseGroups(*in.Groups)
		if err != nil {
			return admin.CallbackSettings{}, err
		}
		c.Groups = &groups
	}
	before, err := a.s.callbacks.Settings(site.ID)
	if err != nil {
		return admin.CallbackSettings{}, err
	}
	w, err := a.s.callbacks.Configure(ctx, site.ID, c)
	if err != nil {
		return admin.CallbackSettings{}, err
	}
	out := admin.CallbackSettings{Site: site.Key, Webhook: w.ScenarioURL, Captcha: w.Captcha,
		CaptchaDigits: callbacks.CaptchaDigits(w), Lang: w.Lang, Groups: []admin.Group{}, Queue: !w.NoQueue}
	for _, g := range callbacks.PublicOf(w).Groups {
		out.Groups = append(out.Groups, admin.Group{ID: g.ID, Name: g.Name})
	}
	if w.ScenarioSecret != before.ScenarioSecret {
		out.Secret = w.ScenarioSecret
	}
	return out, nil
}

func (a adminAPI) Numbers(ctx context.Context, key string) (admin.Numbers, error) {
	site, err := a.s.adminSite(key)
	if err != nil {
		return admin.Numbers{}, err
	}
	return a.s.numbersInfo(ctx, site)
}

func (a adminAPI) SetSiteNumbers(ctx context.Context, in admin.SetSiteNumbers) (admin.Numbers, error) {
	site, err := a.s.adminSite(in.Site)
	if err != nil {
		return admin.Numbers{}, err
	}
	if in.Numbers == nil && in.Selectors == nil {
		return admin.Numbers{}, errorf(fasthttp.StatusBadRequest, "give numbers, selectors or both")
	}
	if in.Numbers != nil {
		if _, err := a.s.numbers.SetSiteNumbers(ctx, site.ID, *in.Numbers, a.s.now()); err != nil {
			return admin.Numbers{}, err
		}
	}
	if in.Selectors != nil {
		if _, err := a.s.numbers.SetSelectors(ctx, site.ID, *in.Selectors, a.s.now()); err != nil {
			return admin.Numbers{}, err
		}
	}
	return a.s.numbersInfo(ctx, site)
}

func ruleInput(m admin.Match) tracking.RuleInput {
	return tracking.RuleInput{Rule: m.Rule, Priority: m.Priority, Replaces: m.Replaces}
}

func (a adminAPI) AddStatic(ctx context.Context, in admin.AddStatic) (admin.Static, error) {
	site, err := a.s.adminSite(in.Site)
	if err != nil {
		return admin.Static{}, err
	}
	st, err := a.s.numbers.AddStatic(ctx, site.ID, tracking.StaticInput{Number: in.Number, RuleInput: ruleInput(in.Match)}, a.s.now())
	if err != nil {
		return admin.Static{}, err
	}
	return admin.Static{Number: st.Number, Match: admin.Match{Rule: st.Rule, Priority: st.Priority, Replaces: nonNil(st.Replaces)}}, nil
}

func (a adminAPI) RemoveStatic(ctx context.Context, in admin.RemoveStatic) error {
	site, err := a.s.adminSite(in.Site)
	if err != nil {
		return err
	}
	err = a.s.numbers.RemoveStatic(ctx, site.ID, in.Number, a.s.now())
	if errors.Is(err, tracking.ErrNoStatic) {
		// The command that lists them, as a user or token not there
		// names its own (the domain's words are the Numbers page's).
		return errorf(fasthttp.StatusNotFound, "the site has no static number %q (appliance numbers list --site %s shows them)", in.Number, site.Key)
	}
	return err
}

func (a adminAPI) AddPool(ctx context.Context, in admin.PoolRequest) (admin.Pool, error) {
	// A name the site's pools have: the domain's "(edit it instead)" is
	// the Numbers page's, and no command edits a pool; say what does.
	if info, err := a.Numbers(ctx, in.Site); err == nil {
		for _, p := range info.Pools {
			if p.Name == in.Name {
				return admin.Pool{}, errorf(fasthttp.StatusBadRequest, "pool %q: the site has a pool of that name: numbers import --site %s --pool %s FILE adds numbers to it, numbers pool edit --site %s --name %s changes its settings", in.Name, in.Site, in.Name, in.Site, in.Name)
			}
		}
	}
	return a.pool(ctx, in, false)
}

func (a adminAPI) EditPool(ctx context.Context, in admin.PoolRequest) (admin.Pool, error) {
	return a.pool(ctx, in, true)
}

func (a adminAPI) pool(ctx context.Context, in admin.PoolRequest, edit bool) (admin.Pool, error) {
	site, err := a.s.adminSite(in.Site)
	if err != nil {
		return admin.Pool{}, err
	}
	pin := tracking.PoolInput{Name: in.Name, Numbers: in.Numbers, Fallback: in.Fallback, AddrCap: in.AddrCap, RuleInput: ruleInput(in.Match)}
	if in.Rename != "" {
		pin.Name = in.Rename
	}
	if pin.Reserve, err = parseReserve(in.Reserve); err != nil {
		// The Numbers page's sentence ("Reserve ...: write it like
		// ..."), in the words of the command's flag.
		return admin.Pool{}, errorf(fasthttp.StatusBadRequest, "--reserve %q: write it like 20m, 2h or 7d", in.Reserve)
	}
	var p store.PoolConfig
	if edit {
		p, err = a.s.numbers.UpdatePool(ctx, site.ID, in.Name, pin, a.s.now())
		if errors.Is(err, tracking.ErrNoPool) {
			return admin.Pool{}, errorf(fasthttp.StatusNotFound, "%s", admin.NoPool(site.Key, in.Name, true))
		}
	} else {
		p, err = a.s.numbers.AddPool(ctx, site.ID, pin, a.s.now())
	}
	if err != nil {
		return admin.Pool{}, err
	}
	return poolAnswer(p), nil
}

// poolAnswer is a pool's set-up as the admin API shows it, without usage.
func poolAnswer(p store.PoolConfig) admin.Pool {
	return admin.Pool{Name: p.Name, Numbers: p.Numbers, Fallback: p.Fallback,
		Reserve: (time.Duration(p.Reserve) * time.Millisecond).String(), AddrCap: p.AddrCap,
		Match: admin.Match{Rule: p.Rule, Priority: p.Priority, Replaces: nonNil(p.Replaces)}}
}

func (a adminAPI) RemovePool(ctx context.Context, in admin.RemovePool) error {
	site, err := a.s.adminSite(in.Site)
	if err != nil {
		return err
	}
	err = a.s.numbers.RemovePool(ctx, site.ID, in.Name, a.s.now())
	if errors.Is(err, tracking.ErrNoPool) {
		return errorf(fasthttp.StatusNotFound, "%s", admin.NoPool(site.Key, in.Name, false))
	}
	return err
}

// Import adds the numbers of an import file to a pool and answers what was
// added and skipped.
func (a adminAPI) Import(ctx context.Context, in admin.Import, progress func(done, total int64)) (admin.ImportResult, error) {
	site, err := a.s.adminSite(in.Site)
	if err != nil {
		return admin.ImportResult{}, err
	}
	res, err := importNumbers(ctx, a.s.numbers, site.Region(a.s.opts.PhoneRegion), a.s.now(), site, in.Pool, in.CSV, progress)
	if errors.Is(err, tracking.ErrNoPool) {
		return admin.ImportResult{}, errorf(fasthttp.StatusNotFound, "%s", admin.NoPool(site.Key, in.Pool, true))
	}
	if err != nil {
		return admin.ImportResult{}, fileRefusal(err)
	}
	out := admin.ImportResult{Pool: res.Pool, Added: res.Added, Skipped: []admin.Skipped{}}
	for _, sk := range res.Skipped {
		out.Skipped = append(out.Skipped, admin.Skipped{Line: sk.Line, Value: sk.Value, Reason: sk.Reason})
	}
	return out, nil
}

// fileRefusal is err, a refusal of what the file a request carries holds
// (a call's 400), as 422: not a value of the request itself, which the
// command made from its flags, and the CLI tells the two apart by their
// status (admin.Refusal), a failure (1) from a usage error (2).
func fileRefusal(err error) error {
	if ue := asUserError(err); ue != nil && ue.Status() == fasthttp.StatusBadRequest {
		return errorf(fasthttp.StatusUnprocessableEntity, "%s", adminMessage(err))
	}
	return err
}

// adminSite finds the site named by key for the admin API.
func (s *Server) adminSite(key string) (*store.Site, error) {
	if key == "" {
		return nil, errorf(fasthttp.StatusBadRequest, "site_key is required")
	}
	site, err := s.sites.ByKey(key)
	if err != nil {
		return nil, errorf(fasthttp.StatusNotFound, "no site has the key %q (appliance site list shows them)", key)
	}
	return site, nil
}

// Rebuild recomputes a site's report roll-ups from its raw records.
func (a adminAPI) Rebuild(ctx context.Context, in admin.Rebuild, progress func(done, total int64)) (admin.Rebuilt, error) {
	site, err := a.s.adminSite(in.Site)
	if err != nil {
		return admin.Rebuilt{}, err
	}
	// The roll-ups of days whose visits a prune deleted cannot be counted
	// again: a rebuild would replace them with what is left (leads, calls).
	if day, err := a.s.rebuilds.prunedDay(site); err != nil {
		return admin.Rebuilt{}, err
	} else if day != "" && !in.DropPruned {
		return admin.Rebuilt{}, errorf(fasthttp.StatusConflict, "the site's visits that ended before %s were pruned (its retention), and its reports keep what they counted of them; a rebuild counts again from the records kept, so those days would lose their visits, sessions and sources: give --drop-pruned to rebuild anyway", day)
	}
	j, err := a.s.rebuilds.begin(site, "appliance reports rebuild")
	if err != nil {
		return admin.Rebuilt{}, errorf(fasthttp.StatusConflict, "a rebuild of the site's reports is running (asked from the dashboard): wait for it to end")
	}
	a.s.rebuilds.run(ctx, j, site, in.DropPruned, progress)
	if j.err != nil {
		return admin.Rebuilt{}, j.err
	}
	res := j.res
	return admin.Rebuilt{Site: site.Key, Rollups: res.Rollups, Visitors: res.Visitors, Callers: res.Callers, TimeZone: site.TimeZone}, nil
}

// ExportBackfill queues a site's records from a day on in the export log.
// A running server's exporter publishes them as the backfill goes (it
// keeps the backlog under half its bound); with no server running, the
// exporter runs here until the log is drained, or gives up when NATS cannot
// be reached (the rest waits on disk for serve --export). progress is told
// how many of the site's records are queued (see export.Backfill).
func (a adminAPI) ExportBackfill(ctx context.Context, in admin.ExportBackfill, progress func(done, total int64)) (admin.ExportBackfilled, error) {
	site, err := a.s.adminSite(in.Site)
	if err != nil {
		return admin.ExportBackfilled{}, err
	}
	day, err := time.ParseInLocation("2006-01-02", in.From, a.s.sites.Location(site))
	if err != nil {
		return admin.ExportBackfilled{}, errorf(fasthttp.StatusBadRequest, "from %q is not a day: write it as 2026-01-31", in.From)
	}
	x := a.s.exporter
	if x == nil {
		return admin.ExportBackfilled{}, errorf(fasthttp.StatusConflict, "export is off: the server runs without --export (or give --export when no server runs)")
	}
	if !a.s.exportRunning.Load() {
		rctx, stop := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() { _ = x.Run(rctx); close(done) }()
		defer func() { stop(); <-done }()
		var cancel context.CancelFunc
		ctx, cancel = x.StopWhenStalled(ctx)
		defer cancel()
	}
	res, err := export.Backfill(ctx, a.s.db, site.ID, day.UnixMilli(), 50*time.Millisecond, progress)
	if err == nil && !a.s.exportRunning.Load() {
		err = x.WaitDrained(ctx)
	}
	out := admin.ExportBackfilled{Site: site.Key, From: in.From, Hits: res.Hits, Events: res.Events,
		Visitors: res.Visitors, Leads: res.Leads, Callbacks: res.Callbacks, Calls: res.Calls, Chats: res.Chats,
		ChatMessages: res.ChatMessages, Waiting: a.s.db.ExportStats().Backlog}
	if err != nil && context.Cause(ctx) == export.ErrStalled {
		return out, nil // what was queued waits on disk; the answer says how much
	}
	return out, err
}

// ImportCosts stores the ad costs of a cost file for a site.
func (a adminAPI) ImportCosts(ctx context.Context, in admin.ImportCosts) (admin.CostsImported, error) {
	site, err := a.s.adminSite(in.Site)
	if err != nil {
		return admin.CostsImported{}, err
	}
	res, err := a.s.reports.ImportCosts(ctx, site, strings.NewReader(in.CSV))
	if err != nil {
		return admin.CostsImported{}, fileRefusal(err)
	}
	return admin.CostsImported{Lines: res.Lines, Rows: res.Rows, From: res.From.String(), To: res.To.String(), Total: res.Total.String()}, nil
}

// Prune deletes (or, dry, counts) what is past the sites' retention.
func (a adminAPI) Prune(ctx context.Context, in admin.Prune) (admin.Pruned, error) {
	c, err := a.s.retention.Prune(ctx, in.DryRun)
	if err != nil {
		return admin.Pruned{}, err
	}
	return admin.Pruned{DryRun: in.DryRun, Sessions: c.Sessions, PageViews: c.PageViews, Events: c.Events,
		Deliveries: c.Deliveries, Leases: c.Leases, Captchas: c.Captchas}, nil
}

// adminMessage is err's text for the CLI, which prints it after the
// command's name ("webhook add: the URL must be ..."): without its package
// prefix, as userMessage, but not capitalized as a page's sentence is.
func adminMessage(err error) string {
	if ue := asUserError(err); ue != nil {
		return ue.UserMessage()
	}
	return err.Error()
}

// noStore is the refusal of a command run where no store is.
func noStore(dir string) error {
	return fmt.Errorf("no store in %s (start `appliance serve --data %s` once to create it)", dir, dir)
}

// CheckStore is OpenAdmin's refusal of a data directory that holds no
// store or that this user may not read, for a command to give before it
// asks for anything (a password typed twice, then refused for the
// directory).
func CheckStore(dir string) error {
	_, err := os.Stat(filepath.Join(dir, store.DBDir))
	switch {
	case err == nil:
		return nil
	case errors.Is(err, fs.ErrPermission):
		return store.AccessHint(dir, err)
	default:
		return noStore(dir)
	}
}
