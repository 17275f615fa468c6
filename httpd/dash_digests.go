package httpd

import (
	"github.com/valyala/fasthttp"

	"appliance/store"
)

// The report digests on the dashboard: the subscriptions on the account
// page of an owner or manager (operators do not see reports), and the
// unsubscribe link of the emails, which works without signing in.

func (s *dashboardHandlers) mountDigests(r *router) {
	r.page("POST", "/account/digests", seeReports, withWho(s.saveDigests))
	// The link's token is the credential; the GET only shows a button,
	// so that a mail scanner following links unsubscribes no one.
	r.page("GET", "/digest/unsubscribe", open, s.unsubscribePage)
	r.page("POST", "/digest/unsubscribe", open, s.unsubscribe)
}

// digestsView is the account page's digests section.
type digestsView struct {
	Show  bool // the user may see reports
	Mail  bool // the server can send email
	Sites []digestSite
}

type digestSite struct {
	Key, Name     string
	Daily, Weekly bool
}

func (s *dashboardHandlers) digestsData(u store.User) digestsView {
	v := digestsView{Show: seeReports.allows(u.Role), Mail: s.digests.mailer != nil}
	if !v.Show || !v.Mail {
		return v
	}
	for _, site := range s.sites.List() {
		bits := s.digests.subscription(site.ID, u.Email)
		v.Sites = append(v.Sites, digestSite{Key: site.Key, Name: site.Name,
			Daily: bits&store.DigestDaily != 0, Weekly: bits&store.DigestWeekly != 0})
	}
	return v
}

// saveDigests is POST /account/digests: the digests the user gets, one
// daily and one weekly checkbox a site (their values are site keys).
func (s *dashboardHandlers) saveDigests(ctx *fasthttp.RequestCtx, who signedIn) error {
	if s.digests.mailer == nil {
		return errorf(fasthttp.StatusConflict, "This server sends no email: start it with --smtp to send report digests.")
	}
	args := ctx.PostArgs()
	want := map[string]byte{}
	for _, k := range args.PeekMulti("daily") {
		want[string(k)] |= store.DigestDaily
	}
	for _, k := range args.PeekMulti("weekly") {
		want[string(k)] |= store.DigestWeekly
	}
	for k := range want {
		if _, err := s.sites.ByKey(k); err != nil {
			return errorf(fasthttp.StatusBadRequest, "There is no site %q.", cutText(k))
		}
	}
	for _, site := range s.sites.List() {
		if err := s.digests.subscribe(ctx, site, who.user.Email, want[site.Key]); err != nil {
			return err
		}
	}
	s.seeOther(ctx, "/account?done=digests")
	return nil
}

// unsubscribeData is the unsubscribe page.
type unsubscribeData struct {
	Token, Email, Site string
	Weekly, Done       bool
}

func (s *dashboardHandlers) unsubscribeRequest(token string) (unsubscribeData, byte, uint32, error) {
	kind, siteID, email, err := s.digests.parseToken(token)
	if err != nil {
		return unsubscribeData{}, 0, 0, errorf(fasthttp.StatusBadRequest, "This unsubscribe link is not valid: copy the whole link from the email.")
	}
	d := unsubscribeData{Token: token, Email: email, Weekly: kind == store.DigestWeekly}
	if site, err := s.sites.ByID(siteID); err == nil {
		d.Site = site.Name
	}
	return d, kind, siteID, nil
}

// unsubscribePage is GET /digest/unsubscribe?token=…: what the link
// stops, and a button that does it.
func (s *dashboardHandlers) unsubscribePage(ctx *fasthttp.RequestCtx) error {
	d, _, _, err := s.unsubscribeRequest(string(ctx.QueryArgs().Peek("token")))
	if err != nil {
		return err
	}
	return s.pages.render(ctx, fasthttp.StatusOK, "unsubscribe", view{Title: "Unsubscribe", Data: d})
}

// unsubscribe is POST /digest/unsubscribe: the token's digest stops.
func (s *dashboardHandlers) unsubscribe(ctx *fasthttp.RequestCtx) error {
	d, kind, site, err := s.unsubscribeRequest(formValue(ctx, "token"))
	if err != nil {
		return err
	}
	if err := s.digests.unsubscribe(ctx, site, d.Email, kind); err != nil {
		return err
	}
	d.Done = true
	return s.pages.render(ctx, fasthttp.StatusOK, "unsubscribe", view{Title: "Unsubscribe", Data: d})
}
