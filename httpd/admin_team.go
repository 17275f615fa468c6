package httpd

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/valyala/fasthttp"

	"appliance/httpd/accounts"
	"appliance/httpd/admin"
	"appliance/httpd/i18n"
	"appliance/httpd/sites"
	"appliance/numbers/tracking"
	"appliance/store"
)

// The admin API's team calls (users, invites, API tokens) and a site's
// name, domains and removal; the dashboard's Team, API tokens and site
// settings pages call the same domain methods through the helpers here.

func msTime(ms int64) *time.Time {
	if ms == 0 {
		return nil
	}
	t := time.UnixMilli(ms).UTC()
	return &t
}

func userInfo(u store.User) admin.UserInfo {
	return admin.UserInfo{Email: u.Email, Role: u.Role, Created: time.UnixMilli(u.Created).UTC(), LastLogin: msTime(u.LastLogin)}
}

func (a adminAPI) Users(ctx context.Context) ([]admin.UserInfo, error) {
	users, err := a.s.accounts.Users(ctx)
	if err != nil {
		return nil, err
	}
	out := []admin.UserInfo{}
	for _, u := range users {
		out = append(out, userInfo(u))
	}
	return out, nil
}

// inviteLink is the one-time link of an invite token on the server at
// publicURL (ends in "/").
func inviteLink(publicURL, token string) string { return publicURL + "invite?token=" + token }

func invited(p accounts.PendingInvite) admin.Invited {
	return admin.Invited{ID: p.ID, Email: p.Email, Role: p.Role, By: p.By, Expires: time.UnixMilli(p.Expires).UTC()}
}

// errNoMail refuses to email an invite when the server has no SMTP server.
var errNoMail = errorf(fasthttp.StatusBadRequest, "cannot email the invite: the server runs without --smtp (or no server runs); leave out --send and send the link yourself")

// Invite makes an invite and, asked to, queues the email of its link
// (checked first: no invite is made that was to be sent and cannot be);
// the server's worker sends it. A link made whose email could not be
// queued comes back with SendError.
func (a adminAPI) Invite(ctx context.Context, in admin.Invite) (admin.Invited, error) {
	lang := i18n.Ru
	if in.Send {
		if a.s.mail == nil {
			return admin.Invited{}, errNoMail
		}
		if in.Lang != "" {
			var ok bool
			if lang, ok = i18n.Parse(in.Lang); !ok {
				return admin.Invited{}, errorf(fasthttp.StatusBadRequest, "--lang %q: ru or en", in.Lang)
			}
		}
	}
	if err := a.s.accounts.OwnerFirst(ctx, in.Role); err != nil {
		return admin.Invited{}, err
	}
	token, inv, err := a.s.accounts.Invite(ctx, in.Email, in.Role, "")
	if err != nil {
		return admin.Invited{}, err
	}
	out := admin.Invited{Email: inv.Email, Role: inv.Role, Link: inviteLink(a.s.PublicURL(), token),
		Expires: time.UnixMilli(inv.Expires).UTC()}
	if in.Send {
		if err := a.s.mail.queueInvite(ctx, token, inv, lang); err != nil {
			out.SendError = err.Error()
		} else {
			out.Queued = true
		}
	}
	return out, nil
}

func (a adminAPI) Invites(ctx context.Context) ([]admin.Invited, error) {
	list, err := a.s.accounts.Invites(ctx)
	if err != nil {
		return nil, err
	}
	out := []admin.Invited{}
	for _, p := range list {
		out = append(out, invited(p))
	}
	return out, nil
}

func (a adminAPI) CancelInvite(ctx context.Context, in admin.CancelInvite) error {
	if err := a.s.accounts.CancelInvite(ctx, in.ID); errors.Is(err, accounts.ErrInviteUsed) {
		// Not the invitee's "this invite link is invalid ...; ask the
		// owner for a new one": the owner typed an id.
		return errorf(fasthttp.StatusNotFound, "no invite waiting has the id %q (appliance user invites shows them)", in.ID)
	} else if err != nil {
		return err
	}
	return a.s.mailQueue.dropInvite(ctx, in.ID) // its email, if still queued, is not sent
}

// noUser names the address a command gave when no user has it, and where
// the users are listed: "no such user" left the reader to guess whether
// the address was mistyped or the person never added. status is 404, as
// an unknown site key's is: what a command names that is not there is a
// failure (exit 1), as the README says, token add --user's included.
func noUser(err error, email string, status int) error {
	if errors.Is(err, accounts.ErrNoUser) {
		return errorf(status, "no user has the email %q (appliance user list shows them)", email)
	}
	return err
}

// noToken names the id a command gave when no API token has it.
func noToken(err error, id string) error {
	if errors.Is(err, accounts.ErrNoTokenID) {
		return errorf(fasthttp.StatusNotFound, "no API token has the id %q (appliance token list shows them)", id)
	}
	return err
}

func (a adminAPI) SetRole(ctx context.Context, in admin.SetRole) (admin.User, error) {
	u, err := a.s.accounts.SetRole(ctx, in.Email, in.Role)
	if err != nil {
		return admin.User{}, noUser(err, in.Email, fasthttp.StatusNotFound)
	}
	return admin.User{Email: u.Email, Role: u.Role}, nil
}

func (a adminAPI) RemoveUser(ctx context.Context, in admin.RemoveUser) (admin.User, error) {
	u, err := a.s.accounts.RemoveUser(ctx, in.Email)
	if err != nil {
		return admin.User{}, noUser(err, in.Email, fasthttp.StatusNotFound)
	}
	return admin.User{Email: u.Email, Role: u.Role}, nil
}

// tokenInfo is a token as the lists show it, its sites by key (a site
// removed since is left out).
func tokenInfo(reg *sites.Registry, t accounts.TokenInfo) admin.TokenInfo {
	out := admin.TokenInfo{ID: t.ID, Name: t.Name, Sites: []string{}, Scopes: append([]string{}, t.Scopes...), User: t.User, Created: time.UnixMilli(t.Created).UTC(), LastUsed: msTime(t.LastUsed)}
	for _, id := range t.Sites {
		if s, err := reg.ByID(id); err == nil {
			out.Sites = append(out.Sites, s.Key)
		}
	}
	return out
}

func (a adminAPI) Tokens(ctx context.Context) ([]admin.TokenInfo, error) {
	list, err := a.s.accounts.Tokens(ctx)
	if err != nil {
		return nil, err
	}
	out := []admin.TokenInfo{}
	for _, t := range list {
		out = append(out, tokenInfo(a.s.sites, t))
	}
	return out, nil
}

func (a adminAPI) RevokeToken(ctx context.Context, in admin.RevokeToken) (admin.TokenInfo, error) {
	t, err := a.s.accounts.RevokeToken(ctx, in.ID)
	if err != nil {
		return admin.TokenInfo{}, noToken(err, in.ID)
	}
	return tokenInfo(a.s.sites, accounts.TokenInfo{ID: in.ID, Token: t}), nil
}

func (a adminAPI) ChangeToken(ctx context.Context, in admin.ChangeToken) (admin.TokenInfo, error) {
	if in.Name == nil && in.Sites == nil && in.Scopes == nil {
		return admin.TokenInfo{}, errorf(fasthttp.StatusBadRequest, "give a name, sites or scopes to change")
	}
	ch := accounts.TokenChange{Name: in.Name}
	if in.Sites != nil {
		ids, err := a.s.siteIDs(*in.Sites)
		if err != nil {
			return admin.TokenInfo{}, err
		}
		ch.Sites = &ids
	}
	if in.Scopes != nil {
		scopes, err := parseScopes(*in.Scopes)
		if err != nil {
			return admin.TokenInfo{}, err
		}
		ch.Scopes = &scopes
	}
	t, err := a.s.accounts.ChangeToken(ctx, in.ID, ch)
	if err != nil {
		return admin.TokenInfo{}, noToken(err, in.ID)
	}
	return tokenInfo(a.s.sites, accounts.TokenInfo{ID: in.ID, Token: t}), nil
}

func (a adminAPI) EditSite(ctx context.Context, in admin.EditSite) (admin.Site, error) {
	if in.Name == nil && in.Domains == nil && in.PhoneRegion == nil && in.RetentionDays == nil {
		return admin.Site{}, errorf(fasthttp.StatusBadRequest, "give a name, domains, a phone region or a retention")
	}
	if in.RetentionDays != nil {
		if _, err := sites.ParseRetention(strconv.Itoa(*in.RetentionDays)); err != nil {
			return admin.Site{}, err // before anything changes
		}
	}
	if in.PhoneRegion != nil {
		if _, err := sites.ParsePhoneRegion(*in.PhoneRegion); err != nil {
			return admin.Site{}, err // before anything changes
		}
	}
	var domains []string
	if in.Domains != nil {
		domains = *in.Domains
		if domains == nil {
			domains = []string{}
		}
	}
	site, err := a.s.adminSite(in.Site)
	if err != nil {
		return admin.Site{}, err
	}
	if in.Name != nil || in.Domains != nil {
		if site, err = a.s.sites.Rename(ctx, in.Site, in.Name, domains); err != nil {
			return admin.Site{}, err
		}
	}
	if in.PhoneRegion != nil {
		if site, err = a.s.sites.SetPhoneRegion(ctx, in.Site, *in.PhoneRegion); err != nil {
			return admin.Site{}, err
		}
	}
	if in.RetentionDays != nil {
		if site, err = a.s.sites.SetRetention(ctx, in.Site, *in.RetentionDays); err != nil {
			return admin.Site{}, err
		}
	}
	return a.site(site), nil
}

func (a adminAPI) RemoveSite(ctx context.Context, in admin.RemoveSite) (admin.Site, error) {
	if _, err := a.s.adminSite(in.Site); err != nil {
		return admin.Site{}, err
	}
	site, err := removeSite(ctx, a.s.sites, a.s.numbers, in.Site, in.Confirm, a.s.now())
	if err != nil {
		return admin.Site{}, err
	}
	return a.site(site), nil
}

// removeSite removes the site with key when confirm is its name (spaces
// around and case aside): its numbers are released first, so that another
// site may take them, then the site itself (sites.Registry.Remove).
func removeSite(ctx context.Context, reg *sites.Registry, nums *tracking.Tracker, key, confirm string, now time.Time) (*store.Site, error) {
	site, err := reg.ByKey(key)
	if err != nil {
		return nil, err
	}
	if !strings.EqualFold(strings.TrimSpace(confirm), strings.TrimSpace(site.Name)) {
		return nil, errorf(fasthttp.StatusBadRequest, "type the site's name, %q, to remove it", site.Name)
	}
	if err := nums.ReleaseSite(ctx, site.ID, now); err != nil {
		return nil, err
	}
	return reg.Remove(ctx, key)
}
