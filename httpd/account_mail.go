package httpd

import (
	"context"
	"errors"
	"log/slog"
	"net/url"

	"appliance/httpd/accounts"
	"appliance/httpd/i18n"
	"appliance/httpd/notice"
)

// accountMail sends the accounts' own emails when the server has an SMTP
// server (serve --smtp): a password reset link to a user who forgot their
// password, an invite link to the person invited. Without one it is nil,
// and the owner hands links over as before.
//
// A reset is asked for by anyone, so its answer must not tell whether the
// address has a user: the page answers at once, the same for every
// address, and one worker (Run) looks the address up, makes the link and
// sends it, in the order they were asked for. The token goes only into
// the email, never into a log.
type accountMail struct {
	mailer    *notice.Mailer
	catalog   *i18n.Catalog
	accounts  *accounts.Accounts
	publicURL string // ends in "/"
	log       *slog.Logger
	resets    chan resetRequest
}

// resetRequest is an address a reset was asked for, and the language of
// the page that asked (the email's, unless the user chose one).
type resetRequest struct {
	email string
	lang  i18n.Lang
}

// resetBacklog bounds the resets waiting for the worker: past it new ones
// are dropped (and logged); the rate limits keep it far from full.
const resetBacklog = 256

func newAccountMail(m *notice.Mailer, cat *i18n.Catalog, a *accounts.Accounts, publicURL string, log *slog.Logger) *accountMail {
	return &accountMail{mailer: m, catalog: cat, accounts: a, publicURL: publicURL, log: log, resets: make(chan resetRequest, resetBacklog)}
}

// Run sends the reset emails asked for until ctx ends.
func (m *accountMail) Run(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case r := <-m.resets:
			m.sendReset(ctx, r)
		}
	}
}

// askReset queues a reset link for email, whether or not it has a user.
func (m *accountMail) askReset(email string, lang i18n.Lang) {
	select {
	case m.resets <- resetRequest{email: email, lang: lang}:
	default:
		m.log.Warn("password reset not sent: too many waiting for the SMTP server", "to", email)
	}
}

func (m *accountMail) sendReset(ctx context.Context, r resetRequest) {
	token, u, err := m.accounts.RequestReset(ctx, r.email)
	if errors.Is(err, accounts.ErrNoUser) || errors.Is(err, accounts.ErrInvalid) {
		return // no user: nothing is sent, and the asker was not told
	}
	if err != nil {
		m.log.Error("password reset not made", "to", r.email, "err", err)
		return
	}
	lang := r.lang
	if l, ok := i18n.Parse(u.Lang); ok {
		lang = l
	}
	tr := m.catalog.For(lang)
	host := m.host()
	subject := tr.T("Password reset for %s", host)
	text := tr.T("Someone, we hope you, asked to set a new password for %[1]s on %[2]s.", u.Email, host) + "\n\n" +
		tr.T("Open this link within an hour to choose it; it works once:") + "\n" +
		m.publicURL + "reset?token=" + token + "\n\n" +
		tr.T("If it was not you, ignore this email: your password stays as it is.") + "\n" +
		m.footer(tr)
	if err := m.mailer.SendText(ctx, u.Email, subject, text); err != nil {
		m.log.Warn("password reset email not sent", "to", u.Email, "err", err)
		return
	}
	m.log.Info("password reset link sent", "to", u.Email)
}

// sendInvite emails the invite link to the person invited, in lang; by
// is who invited them ("" the admin socket).
func (m *accountMail) sendInvite(ctx context.Context, email, role, by, link string, lang i18n.Lang) error {
	tr := m.catalog.For(lang)
	host := m.host()
	subject := tr.T("Invitation to the dashboard of %s", host)
	intro := tr.T("You are invited to the dashboard at %[1]s as %[2]s.", host, tr.T(role))
	if by != "" {
		intro = tr.T("%[1]s invites you to the dashboard at %[2]s as %[3]s.", by, host, tr.T(role))
	}
	text := intro + "\n\n" +
		tr.T("Open this link to choose your password and sign in as %s; it works once, for 7 days:", email) + "\n" +
		link + "\n" + m.footer(tr)
	return m.mailer.SendText(ctx, email, subject, text)
}

func (m *accountMail) host() string {
	if u, err := url.Parse(m.publicURL); err == nil && u.Host != "" {
		return u.Host
	}
	return m.publicURL
}

func (m *accountMail) footer(tr i18n.Printer) string {
	return "\n-- \n" + tr.T("Sent by the appliance at %s.", m.publicURL) + "\n"
}
