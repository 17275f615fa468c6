package admin

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"
)

// The calls of the team (users, invites, API tokens) and of a site's
// name, domains and removal: what the dashboard's Team, API tokens and
// site settings pages do, for the command line.

// UserInfo is a dashboard user as the list shows it; LastLogin is nil
// when the user never signed in (or not since it was recorded).
type UserInfo struct {
	Email     string     `json:"email"`
	Role      string     `json:"role"`
	Created   time.Time  `json:"created"`
	LastLogin *time.Time `json:"last_login"`
}

// Invite makes a one-time link for Email to become a user with Role;
// Send emails it too (the server needs --smtp), in Lang ("ru" when "").
type Invite struct {
	Email string `json:"email"`
	Role  string `json:"role"`
	Send  bool   `json:"send,omitempty"`
	Lang  string `json:"lang,omitempty"`
}

// Invited is an invite: Link (the one-time link, shown once) only in the
// answer to Invite; ID cancels it.
type Invited struct {
	ID      string    `json:"id"`
	Email   string    `json:"email"`
	Role    string    `json:"role"`
	By      string    `json:"by,omitempty"`
	Link    string    `json:"link,omitempty"`
	Expires time.Time `json:"expires"`
	// Queued: the link's email is queued on the server's disk
	// (Invite.Send), which sends it in a moment and retries while the
	// SMTP server is down; SendError says why it could not be queued.
	Queued    bool   `json:"queued,omitempty"`
	SendError string `json:"send_error,omitempty"`
}

// CancelInvite deletes an invite not yet taken up.
type CancelInvite struct {
	ID string `json:"id"`
}

// SetRole gives a user a role; the last owner keeps theirs.
type SetRole struct {
	Email string `json:"email"`
	Role  string `json:"role"`
}

// RemoveUser deletes a user; their sessions end at once.
type RemoveUser struct {
	Email string `json:"email"`
}

// TokenInfo is an API token as the list shows it (never the token): ID
// revokes it; Sites are the keys of the sites it may use, none every site;
// Scopes what it may do, none everything; LastUsed is nil when never
// used, and is written at most once a minute.
type TokenInfo struct {
	ID       string     `json:"id"`
	Name     string     `json:"name"`
	Sites    []string   `json:"sites"`
	Scopes   []string   `json:"scopes"`
	User     string     `json:"user,omitempty"` // the user it acts as; "": none
	Created  time.Time  `json:"created"`
	LastUsed *time.Time `json:"last_used"`
}

// RevokeToken deletes an API token; requests with it are refused at once.
type RevokeToken struct {
	ID string `json:"id"`
}

// ChangeToken changes an API token's name, sites (keys) or scopes; nil
// keeps them, an empty list is every site or everything. The token itself
// stays the same.
type ChangeToken struct {
	ID     string    `json:"id"`
	Name   *string   `json:"name,omitempty"`
	Sites  *[]string `json:"sites,omitempty"`
	Scopes *[]string `json:"scopes,omitempty"`
}

// EditSite changes a site's name, domains, phone region (a two-letter
// country code such as "KZ", "" for the server's --phone-region); nil
// keeps the value.
type EditSite struct {
	Site        string    `json:"site_key"`
	Name        *string   `json:"name,omitempty"`
	Domains     *[]string `json:"domains,omitempty"`
	PhoneRegion *string   `json:"phone_region,omitempty"`
	// RetentionDays: days the site's raw visits are kept, 0 for ever.
	RetentionDays *int `json:"retention_days,omitempty"`
}

// RemoveSite removes a site: Confirm must be its name, as typed by the
// person removing it. What the site gathered stays in the store and in
// backups; its key no longer works.
type RemoveSite struct {
	Site    string `json:"site_key"`
	Confirm string `json:"confirm"`
}

// Users lists the dashboard users.
func (c *Client) Users(ctx context.Context) ([]UserInfo, error) {
	return call[[]UserInfo](ctx, c, "GET", PathUsers, nil)
}

// Invite makes a one-time invite link.
func (c *Client) Invite(ctx context.Context, in Invite) (Invited, error) {
	return call[Invited](ctx, c, "POST", PathInvite, in)
}

// Invites lists the invites not yet taken up.
func (c *Client) Invites(ctx context.Context) ([]Invited, error) {
	return call[[]Invited](ctx, c, "GET", PathInvites, nil)
}

// CancelInvite deletes an invite.
func (c *Client) CancelInvite(ctx context.Context, in CancelInvite) error {
	_, err := call[struct{}](ctx, c, "POST", PathCancelInvite, in)
	return err
}

// SetRole gives a user a role.
func (c *Client) SetRole(ctx context.Context, in SetRole) (User, error) {
	return call[User](ctx, c, "POST", PathRole, in)
}

// RemoveUser deletes a user.
func (c *Client) RemoveUser(ctx context.Context, in RemoveUser) (User, error) {
	return call[User](ctx, c, "POST", PathRemoveUser, in)
}

// Tokens lists the API tokens.
func (c *Client) Tokens(ctx context.Context) ([]TokenInfo, error) {
	return call[[]TokenInfo](ctx, c, "GET", PathTokens, nil)
}

// RevokeToken deletes an API token.
func (c *Client) RevokeToken(ctx context.Context, in RevokeToken) (TokenInfo, error) {
	return call[TokenInfo](ctx, c, "POST", PathRevokeToken, in)
}

// ChangeToken changes an API token's name, sites or scopes.
func (c *Client) ChangeToken(ctx context.Context, in ChangeToken) (TokenInfo, error) {
	return call[TokenInfo](ctx, c, "POST", PathChangeToken, in)
}

// EditSite changes a site's name or domains.
func (c *Client) EditSite(ctx context.Context, in EditSite) (Site, error) {
	return call[Site](ctx, c, "POST", PathSiteEdit, in)
}

// RemoveSite removes a site.
func (c *Client) RemoveSite(ctx context.Context, in RemoveSite) (Site, error) {
	return call[Site](ctx, c, "POST", PathRemoveSite, in)
}

func whenText(t *time.Time, never string) string {
	if t == nil {
		return never
	}
	return t.UTC().Format("2006-01-02 15:04 UTC")
}

// PrintUsers prints the user list, a line per user.
func PrintUsers(w io.Writer, list []UserInfo) {
	if len(list) == 0 {
		// A new store: the owner is made with serve's setup link.
		fmt.Fprintln(w, "no users yet: open the one-time setup link appliance serve printed, or appliance user add EMAIL (the first user is the owner)")
	}
	for _, u := range list {
		fmt.Fprintf(w, "%-32s %-8s last sign-in: %s\n", u.Email, u.Role, whenText(u.LastLogin, "never"))
	}
}

// PrintInvited prints a new invite with its link, shown once.
func PrintInvited(w io.Writer, in Invited) {
	if in.Queued {
		fmt.Fprintf(w, "invite for %s as %s queued to be emailed to them; the server sends it in a moment and tries again while the SMTP server is down (works once, until %s; shown once):\n%s\n",
			in.Email, in.Role, in.Expires.UTC().Format("2006-01-02 15:04 UTC"), in.Link)
		return
	}
	fmt.Fprintf(w, "invite for %s as %s (works once, until %s; shown once, send it to them):\n%s\n",
		in.Email, in.Role, in.Expires.UTC().Format("2006-01-02 15:04 UTC"), in.Link)
}

// PrintInvites prints the invites not yet taken up.
func PrintInvites(w io.Writer, list []Invited) {
	if len(list) == 0 {
		fmt.Fprintln(w, "no invites waiting")
	}
	for _, in := range list {
		fmt.Fprintf(w, "%s  %-32s %-8s until %s\n", in.ID, in.Email, in.Role, in.Expires.UTC().Format("2006-01-02 15:04 UTC"))
	}
}

// PrintTokens prints the API tokens, a line per token: its id (for
// revoke), name, sites, scopes, the user it acts as and last use.
func PrintTokens(w io.Writer, list []TokenInfo) {
	if len(list) == 0 {
		fmt.Fprintln(w, "no API tokens: appliance token add --name N")
	}
	for _, t := range list {
		sites := "every site"
		if len(t.Sites) > 0 {
			sites = strings.Join(t.Sites, ",")
		}
		as := ""
		if t.User != "" {
			as = "  acts as " + t.User
		}
		fmt.Fprintf(w, "%s  %-20s %s  scopes: %s%s  last used: %s\n", t.ID, t.Name, sites, scopesText(t.Scopes), as, whenText(t.LastUsed, "never"))
	}
}

// scopesText names a token's scopes; none is every scope.
func scopesText(scopes []string) string {
	if len(scopes) == 0 {
		return "all"
	}
	return strings.Join(scopes, ",")
}
