package httpd

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"slices"
	"time"

	"appliance/httpd/accounts"
	"appliance/httpd/i18n"
	"appliance/httpd/notice"
	"appliance/httpd/outbox"
	"appliance/store"
)

// accountMail sends the accounts' own emails through the server's SMTP
// server (serve --smtp): a password reset link to a user who forgot their
// password, an invite link to the person invited.
//
// Each is queued on disk before the page that asked answers (a synced
// store.AccountMail with its entry in the due queue, kind
// store.DueAccountMail), and one worker (Run) sends them, in the order
// they were asked for: a restart or a relay that is down loses none. A
// relay that does not answer, or answers 4xx, gets it again after a
// backoff, and so does one whose TLS or login fails (a 535 is a 5xx, but
// the operator's --smtp is at fault, not the address: logged as an
// error); one that refuses the email for good (5xx) does not. An email is sent
// only within the life of the link it carries: one not sent by then is
// dropped and logged, never sent stale.
//
// A reset is asked for by anyone, so its answer must not tell whether the
// address has a user: the page queues every well-formed address alike,
// and the worker looks it up and makes the link only when it sends it. So
// the queue holds a reset's address, never its token; the token goes only
// into the email, never into a log. An invite's token is made on the Team
// page (which shows the link once), so its queued email holds it in the
// clear until the SMTP server takes it, refuses it for good, or the
// invite ends (taken up, cancelled, expired); then the token is wiped (at
// once when the invite is cancelled, else at the next attempt),
// and the record, kept for the Team page's "sent" or "refused", is deleted
// when the invite expires. A backup taken while an invite's email waits
// holds its link, as long as the invite is pending (cancelling the invite
// kills the link).
type accountMail struct {
	db        *store.DB
	mailer    *notice.Mailer // nil: no --smtp; queued emails wait (and expire)
	catalog   *i18n.Catalog
	accounts  *accounts.Accounts
	publicURL string // ends in "/"
	now       func() time.Time
	log       *slog.Logger
	due       *outbox.Queue // kind store.DueAccountMail
}

// Backoff of an email the SMTP server did not take and may take later.
const (
	mailRetryFirst = 10 * time.Second
	mailRetryLimit = 15 * time.Minute
)

func newAccountMail(db *store.DB, m *notice.Mailer, cat *i18n.Catalog, a *accounts.Accounts, publicURL string, now func() time.Time, tick time.Duration, log *slog.Logger) *accountMail {
	return &accountMail{db: db, mailer: m, catalog: cat, accounts: a, publicURL: publicURL, now: now, log: log,
		due: outbox.New(db, store.DueAccountMail, outbox.Options{Now: now, Tick: tick, Log: log})}
}

// Run sends the queued emails, those left by an earlier run first, until
// ctx ends.
func (m *accountMail) Run(ctx context.Context) { m.due.Run(ctx, 1, m.attempt) }

// askReset durably queues a reset link for email, whether or not it has a
// user; it returns once the request is synced to disk.
func (m *accountMail) askReset(ctx context.Context, email string, lang i18n.Lang) error {
	now := m.now()
	return m.queue(ctx, store.AccountMail{Kind: store.MailReset, Email: email, Lang: string(lang),
		Created: now.UnixMilli(), Expires: now.Add(accounts.ResetTTL).UnixMilli()})
}

// queueInvite durably queues the email of the invite of token, in lang,
// to be sent while the invite lives.
func (m *accountMail) queueInvite(ctx context.Context, token string, inv store.Invite, lang i18n.Lang) error {
	return m.queue(ctx, store.AccountMail{Kind: store.MailInvite, Email: inv.Email, Lang: string(lang),
		Created: m.now().UnixMilli(), Expires: inv.Expires, Token: token, Invite: accounts.InviteID(token), Role: inv.Role, By: inv.By})
}

func (m *accountMail) queue(ctx context.Context, rec store.AccountMail) error {
	id := m.db.NextID()
	err := m.db.Update(ctx, func(tx *store.Tx) error {
		tx.Set(store.AccountMailKey(id), rec.Encode())
		m.due.Put(tx, outbox.Item{At: time.UnixMilli(rec.Created), ID: id})
		return nil
	})
	if err != nil {
		return fmt.Errorf("queue account email: %w", err)
	}
	return nil
}

// inviteMail returns the state of the emails of the invites, by invite
// id (accounts.PendingInvite.ID). They are few: an invite's lives at most
// as long as the invite.
func (m *accountMail) inviteMail(ctx context.Context) (map[string]store.AccountMail, error) {
	out := map[string]store.AccountMail{}
	err := m.db.ScanPrefix(ctx, store.AccountMailPrefix(), false, 0, func(_, v []byte) bool {
		if rec, err := store.DecodeAccountMail(v); err == nil && rec.Kind == store.MailInvite {
			out[rec.Invite] = rec
		}
		return true
	})
	return out, err
}

// backlog counts the emails waiting to be sent (queued, their links still
// alive: a first attempt, or the next after a failure) and says when the
// oldest of them was asked for: the zero time when none waits. An
// invite's email kept after it was sent or refused does not wait.
func (m *accountMail) backlog(ctx context.Context) (n int, oldest time.Time, err error) {
	now := m.now().UnixMilli()
	first := int64(0)
	err = m.db.ScanPrefix(ctx, store.AccountMailPrefix(), false, 0, func(_, v []byte) bool {
		rec, err := store.DecodeAccountMail(v)
		if err != nil || rec.State != store.MailQueued || rec.Expires <= now {
			return true // unreadable or expired: dropped at its next attempt, never sent
		}
		if n == 0 || rec.Created < first {
			first = rec.Created
		}
		n++
		return true
	})
	if err != nil || n == 0 {
		return 0, time.Time{}, err
	}
	return n, time.UnixMilli(first), nil
}

// dropInvite deletes the email of the invite id (cancelled), and with it
// the token it holds, at once; its queue entry goes at its next attempt.
func (m *accountMail) dropInvite(ctx context.Context, id string) error {
	var keys [][]byte
	err := m.db.ScanPrefix(ctx, store.AccountMailPrefix(), false, 0, func(k, v []byte) bool {
		if rec, err := store.DecodeAccountMail(v); err == nil && rec.Kind == store.MailInvite && rec.Invite == id {
			keys = append(keys, slices.Clone(k))
		}
		return true
	})
	if err != nil || len(keys) == 0 {
		return err
	}
	return m.db.Update(ctx, func(tx *store.Tx) error {
		for _, k := range keys {
			tx.Delete(k)
		}
		return nil
	})
}

// attempt is the queue's attempt function: it sends the email of it once
// and records the outcome.
func (m *accountMail) attempt(ctx context.Context, it outbox.Item) error {
	key := store.AccountMailKey(it.ID)
	v, err := m.db.Get(key)
	if errors.Is(err, store.ErrNotFound) {
		return m.finish(ctx, it, nil)
	} else if err != nil {
		return err
	}
	rec, err := store.DecodeAccountMail(v)
	if err != nil {
		m.log.Error("account email unreadable; dropped", "id", it.ID, "err", err)
		return m.finish(ctx, it, nil)
	}
	now := m.now()
	if now.UnixMilli() >= rec.Expires {
		if rec.State == store.MailQueued {
			m.log.Warn(m.what(rec)+" not sent within its link's life; dropped", "to", rec.Email,
				"attempts", rec.Attempts, "last_error", rec.LastError)
		}
		return m.finish(ctx, it, nil)
	}
	if rec.State != store.MailQueued { // sent or refused: kept till it expires
		return m.finish(ctx, it, &rec)
	}
	var sendErr error
	switch rec.Kind {
	case store.MailReset:
		var done bool
		done, sendErr = m.sendReset(ctx, rec)
		if done {
			return m.finish(ctx, it, nil)
		}
	case store.MailInvite:
		if _, err := m.accounts.CheckInvite(rec.Token); errors.Is(err, accounts.ErrInviteUsed) {
			return m.finish(ctx, it, nil) // taken up, cancelled or expired: nothing to send
		} else if err != nil {
			return err
		}
		sendErr = m.sendInvite(ctx, rec)
	default:
		m.log.Error("account email of an unknown kind; dropped", "id", it.ID, "kind", rec.Kind)
		return m.finish(ctx, it, nil)
	}
	if sendErr != nil && ctx.Err() != nil {
		return ctx.Err() // cut short by shutdown: tried again at the next start
	}
	rec.Attempts++
	switch {
	case sendErr == nil:
		m.log.Info(m.what(rec)+" sent", "to", rec.Email)
		if rec.Kind == store.MailReset {
			return m.finish(ctx, it, nil)
		}
		rec.State, rec.Token, rec.LastError = store.MailSent, "", ""
		return m.finish(ctx, it, &rec)
	case notice.Refused(sendErr):
		m.log.Warn(m.what(rec)+" refused by the SMTP server; dropped", "to", rec.Email, "err", sendErr)
		if rec.Kind == store.MailReset {
			return m.finish(ctx, it, nil)
		}
		rec.State, rec.Token, rec.LastError = store.MailRefused, "", sendErr.Error()
		return m.finish(ctx, it, &rec)
	}
	rec.LastError = sendErr.Error()
	next := now.Add(outbox.Backoff(int(rec.Attempts), mailRetryFirst, mailRetryLimit))
	if notice.RelayFault(sendErr) {
		m.log.Error(m.what(rec)+" not sent: the SMTP server refused our TLS, login or sender; fix --smtp or --smtp-from, it is tried again later", "to", rec.Email,
			"attempts", rec.Attempts, "next", next.UTC().Format(time.RFC3339), "err", sendErr)
	} else {
		m.log.Warn(m.what(rec)+" not sent; tried again later", "to", rec.Email, "attempts", rec.Attempts,
			"next", next.UTC().Format(time.RFC3339), "err", sendErr)
	}
	return m.move(ctx, it, &rec, min(next.UnixMilli(), rec.Expires))
}

// finish deletes the email of it and its entry; or, for rec (an invite's
// sent or refused, its token wiped), keeps it until it expires.
func (m *accountMail) finish(ctx context.Context, it outbox.Item, rec *store.AccountMail) error {
	if rec != nil {
		return m.move(ctx, it, rec, rec.Expires)
	}
	return m.db.Update(ctx, func(tx *store.Tx) error {
		tx.Delete(store.AccountMailKey(it.ID))
		m.due.Remove(tx, it.At, it.ID)
		return nil
	})
}

// move writes rec and moves its entry to at (Unix ms).
func (m *accountMail) move(ctx context.Context, it outbox.Item, rec *store.AccountMail, at int64) error {
	return m.db.Update(ctx, func(tx *store.Tx) error {
		tx.Set(store.AccountMailKey(it.ID), rec.Encode())
		m.due.Remove(tx, it.At, it.ID)
		m.due.Put(tx, outbox.Item{At: time.UnixMilli(at), ID: it.ID})
		return nil
	})
}

// what names an email's kind in the log.
func (m *accountMail) what(rec store.AccountMail) string {
	if rec.Kind == store.MailInvite {
		return "invite email"
	}
	return "password reset email"
}

// errNoSMTP is why a queued email waits on a server without --smtp.
var errNoSMTP = errors.New("the server runs without --smtp")

// sendReset makes a reset link for rec's address and mails it; done is
// true when there is nothing to send (the address has no user).
func (m *accountMail) sendReset(ctx context.Context, rec store.AccountMail) (done bool, err error) {
	if m.mailer == nil {
		return false, errNoSMTP
	}
	token, u, err := m.accounts.RequestReset(ctx, rec.Email)
	if errors.Is(err, accounts.ErrNoUser) || errors.Is(err, accounts.ErrInvalid) {
		return true, nil // no user: nothing is sent, and the asker was not told
	}
	if err != nil {
		return false, err
	}
	lang, _ := i18n.Parse(rec.Lang)
	if l, ok := i18n.Parse(u.Lang); ok {
		lang = l
	}
	tr := m.catalog.For(lang)
	host := m.host()
	v := accountMailView{Lang: string(lang), Subject: tr.T("Password reset for %s", host),
		Intro:  tr.T("Someone, we hope you, asked to set a new password for %[1]s on %[2]s.", u.Email, host),
		Open:   tr.T("Open this link within an hour to choose it; it works once:"),
		Button: tr.T("Choose a new password"),
		URL:    m.publicURL + "reset?token=" + token,
		Note:   tr.T("If it was not you, ignore this email: your password stays as it is."),
	}
	return false, m.send(ctx, tr, u.Email, v)
}

// sendInvite emails the invite link of rec to the person invited, in its
// language.
func (m *accountMail) sendInvite(ctx context.Context, rec store.AccountMail) error {
	if m.mailer == nil {
		return errNoSMTP
	}
	lang, _ := i18n.Parse(rec.Lang)
	tr := m.catalog.For(lang)
	host := m.host()
	v := accountMailView{Lang: string(lang), Subject: tr.T("Invitation to the dashboard of %s", host),
		Intro:  tr.T("You are invited to the dashboard at %[1]s as %[2]s.", host, tr.T(rec.Role)),
		Open:   tr.T("Open this link to choose your password and sign in as %s; it works once, for 7 days:", rec.Email),
		Button: tr.T("Accept the invitation"),
		URL:    inviteLink(m.publicURL, rec.Token),
	}
	if rec.By != "" {
		v.Intro = tr.T("%[1]s invites you to the dashboard at %[2]s as %[3]s.", rec.By, host, tr.T(rec.Role))
	}
	return m.send(ctx, tr, rec.Email, v)
}

// send mails v to the address to: its text, and the same as HTML.
func (m *accountMail) send(ctx context.Context, tr i18n.Printer, to string, v accountMailView) error {
	v.Copy = tr.T("If the button does not work, open this link:")
	v.Footer = tr.T("Sent by the appliance at %s.", m.publicURL)
	html, err := notice.RenderHTML(accountMailTemplate, v)
	if err != nil {
		return fmt.Errorf("%s: %w", v.Subject, err)
	}
	return m.mailer.SendHTML(ctx, notice.KindAccount, to, v.Subject, v.text(), html)
}

func (m *accountMail) host() string {
	if u, err := url.Parse(m.publicURL); err == nil && u.Host != "" {
		return u.Host
	}
	return m.publicURL
}

// accountMailView is an account's email (a password reset, an invite),
// written once and rendered as its text and as its HTML, which say the
// same: what it is, the link with how long it lives, and the link once
// more, written out, for a reader whose client hides the button.
type accountMailView struct {
	Lang, Subject string
	Intro         string // who asks for what
	Open          string // how to use the link and how long it lives; ends in ":"
	Button        string // the HTML's button to the link
	URL           string // the link: http(s), from --public-url
	Copy          string // the HTML's words before the link written out
	Note          string // after the link; "" none
	Footer        string
}

func (v *accountMailView) text() string {
	t := v.Intro + "\n\n" + v.Open + "\n" + v.URL + "\n"
	if v.Note != "" {
		t += "\n" + v.Note + "\n"
	}
	return t + "\n-- \n" + v.Footer + "\n"
}

// accountMailHTML is an account email's HTML, in the frame every HTML
// email shares (notice.ParseHTML). It has no words of its own (all come
// from the catalog through accountMailView) and no <style>, which many
// mail clients drop: every element carries its own, and every one with
// text sets both its colour and its background, as notifications do.
//
//go:embed account_mail.html
var accountMailHTML string

var accountMailTemplate = notice.ParseHTML("account", accountMailHTML)
