package httpd_test

import (
	"context"
	"html"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"appliance/httpd"
	"appliance/httpd/accounts"
	"appliance/httpd/httpdtest"
	"appliance/httpd/i18n"
	"appliance/httpd/notice"
	"appliance/httpd/notice/mailtest"
	"appliance/store"
)

// The accounts' emails (password resets, invites) are queued on disk and
// sent by a worker: these tests stop, stall and restart the real SMTP
// server and the real server around them.

// logBook keeps the messages a server logs, for a test to wait for one.
type logBook struct {
	mu    sync.Mutex
	lines []string
}

func (b *logBook) Enabled(context.Context, slog.Level) bool { return true }
func (b *logBook) WithAttrs([]slog.Attr) slog.Handler       { return b }
func (b *logBook) WithGroup(string) slog.Handler            { return b }
func (b *logBook) Handle(_ context.Context, r slog.Record) error {
	b.mu.Lock()
	b.lines = append(b.lines, r.Level.String()+" "+r.Message)
	b.mu.Unlock()
	return nil
}

// count is how many messages logged so far hold s.
func (b *logBook) count(s string) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := 0
	for _, l := range b.lines {
		if strings.Contains(l, s) {
			n++
		}
	}
	return n
}

// mailQueueServer is resetServer whose log the test reads and whose mail
// worker sees the test's clock move at once; opts are its options, to
// restart it with.
func mailQueueServer(t *testing.T) (*httpdtest.Server, *mailtest.Server, *trClock, *logBook, func(*httpd.Options)) {
	t.Helper()
	relay, clock, logs, opts := mailQueueOptions(t)
	return httpdtest.Start(t, opts), relay, clock, logs, opts
}

// mailQueueOptions is mailQueueServer's SMTP server, clock, log and
// options, for a test to change before it starts the server.
func mailQueueOptions(t *testing.T) (*mailtest.Server, *trClock, *logBook, func(*httpd.Options)) {
	t.Helper()
	relay := mailtest.Start(t)
	clock := &trClock{now: time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)}
	logs := &logBook{}
	opts := func(o *httpd.Options) {
		o.Mail = notice.Options{URL: relay.URL(), From: "Dashboard <noreply@shop.example>"}
		o.Now = clock.Now
		o.TrustProxy = true
		o.MailTick = 5 * time.Millisecond
		o.Log = slog.New(logs)
	}
	return relay, clock, logs, opts
}

// queuedMail counts the account emails in the store and their entries in
// the due queue.
func queuedMail(t *testing.T, db *store.DB) (records, entries int) {
	t.Helper()
	ctx := context.Background()
	if err := db.ScanPrefix(ctx, store.AccountMailPrefix(), false, 0, func(_, _ []byte) bool { records++; return true }); err != nil {
		t.Fatal(err)
	}
	if err := db.ScanPrefix(ctx, store.DuePrefix(store.DueAccountMail), false, 0, func(_, _ []byte) bool { entries++; return true }); err != nil {
		t.Fatal(err)
	}
	return records, entries
}

// mailRetryLimit is the longest wait between two attempts of an email
// the SMTP server did not take (account_mail.go).
const mailRetryLimit = 15 * time.Minute

// A reset asked for while the SMTP server is down is sent once it is
// back, with a link that works; then nothing of it is left in the queue.
func TestPasswordResetWhileSMTPDown(t *testing.T) {
	srv, relay, clock, logs, _ := mailQueueServer(t)
	srv.Owner(t)
	relay.Stop()
	status, page := askReset(t, srv, browser(), "", "en", "owner@example.com")
	if status != http.StatusOK || !strings.Contains(page, "an email with a link") {
		t.Fatalf("reset with the SMTP server down: %d\n%s", status, page)
	}
	eventually(t, "a failed attempt", func() bool { return logs.count("password reset email not sent") > 0 })
	relay.Resume(t)
	clock.Add(mailRetryLimit)
	eventually(t, "the reset email", func() bool { return len(relay.Messages()) > 0 })
	if m := relay.Messages(); len(m) != 1 || m[0].To[0] != "owner@example.com" {
		t.Fatalf("messages %+v", m)
	}
	link, _ := mailedLink(t, relay, 0)
	if status, page, _ := send(t, browser(), "GET", link, "", "", nil); status != http.StatusOK || !strings.Contains(page, `action="/reset"`) {
		t.Errorf("the link sent after the SMTP server came back: %d\n%s", status, page)
	}
	eventually(t, "the sent email to leave the queue", func() bool { r, e := queuedMail(t, srv.DB); return r == 0 && e == 0 })
}

// A reset queued before the server stops (the SMTP server down all the
// while) is sent by the next server over the same store.
func TestPasswordResetQueuedAcrossRestart(t *testing.T) {
	srv, relay, clock, logs, opts := mailQueueServer(t)
	srv.Owner(t)
	relay.Stop()
	if status, _ := askReset(t, srv, browser(), "", "en", "owner@example.com"); status != http.StatusOK {
		t.Fatalf("reset: %d", status)
	}
	eventually(t, "a failed attempt", func() bool { return logs.count("password reset email not sent") > 0 })
	srv = srv.Restart(t, opts) // the store is closed and opened again
	relay.Resume(t)
	clock.Add(mailRetryLimit)
	eventually(t, "the reset email after the restart", func() bool { return len(relay.Messages()) > 0 })
	link, _ := mailedLink(t, relay, 0)
	if status, _, _ := postReset(t, srv, browser(), link, "a passphrase after the restart"); status != http.StatusSeeOther {
		t.Errorf("the link sent after the restart: %d", status)
	}
}

// An email not sent within the life of its link is dropped and logged,
// not sent stale: a reset an hour later, an invite after its 7 days.
func TestAccountMailExpired(t *testing.T) {
	srv, relay, clock, logs, _ := mailQueueServer(t)
	c := srv.Client(t)
	relay.Stop()
	askReset(t, srv, browser(), "", "en", "owner@example.com")
	if status, page := submitForm(t, c, srv, "/team", "/team/invite", url.Values{"email": {"anna@example.com"}, "role": {"manager"}, "send": {"1"}}); status != http.StatusOK || !strings.Contains(page, "is queued") {
		t.Fatalf("invite: %d\n%s", status, page)
	}
	eventually(t, "failed attempts", func() bool {
		return logs.count("password reset email not sent") > 0 && logs.count("invite email not sent") > 0
	})
	// Both links are dead by the time the SMTP server is back.
	clock.Add(accounts.InviteTTL + time.Minute)
	relay.Resume(t)
	eventually(t, "the queue to empty", func() bool { r, e := queuedMail(t, srv.DB); return r == 0 && e == 0 })
	if m := relay.Messages(); len(m) != 0 {
		t.Errorf("%d emails sent after their links died, to %v", len(m), m[0].To)
	}
	for _, what := range []string{"password reset email", "invite email"} {
		if n := logs.count(what + " not sent within its link's life; dropped"); n != 1 {
			t.Errorf("the %s dropped logged %d times, want once", what, n)
		}
	}
	// A reset asked for now is sent, and is the only email: the worker
	// sends in order, so a stale one would have come first.
	askReset(t, srv, browser(), "", "en", "owner@example.com")
	eventually(t, "a fresh reset email", func() bool { return len(relay.Messages()) > 0 })
	m := relay.Messages()
	if _, text := mailedLink(t, relay, 0); len(m) != 1 || !strings.Contains(text, "Someone, we hope you, asked") {
		t.Errorf("%d emails, want the fresh reset only:\n%s", len(m), text)
	}
}

// inviteMailState is what the Team page says of the email of email's
// invite (its data-state: queued, retrying, sent, refused, "" none).
func inviteMailState(t *testing.T, c *http.Client, srv *httpdtest.Server, email string) (state, page string) {
	t.Helper()
	_, page = getPage(t, c, srv.URL+"team")
	page = html.UnescapeString(page)
	m := regexp.MustCompile(`(?s)<td data-label="Email">` + regexp.QuoteMeta(email) + `</td>.*?data-state="(\w*)"`).FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no invite email state for %s on the Team page:\n%s", email, page)
	}
	return m[1], page
}

// The Team page answers an invite to be emailed at once, while the SMTP
// server holds the message; its list of invites says the email is
// queued, then sent once the server lets it go.
func TestInviteAnswersWhileSMTPStalls(t *testing.T) {
	srv, relay, _, _, _ := mailQueueServer(t)
	c := srv.Client(t)
	relay.Hold()
	status, page := submitForm(t, c, srv, "/team", "/team/invite", url.Values{"email": {"anna@example.com"}, "role": {"manager"}, "send": {"1"}, "lang": {"en"}})
	page = html.UnescapeString(page)
	link := regexp.MustCompile(`http://\S+/invite\?token=[\w-]+`).FindString(page)
	if status != http.StatusOK || link == "" || !strings.Contains(page, "Invite made; its email to anna@example.com is queued") {
		t.Fatalf("invite with the SMTP server stalled: %d\n%s", status, page)
	}
	if n := len(relay.Messages()); n != 0 {
		t.Fatalf("%d messages taken while the server holds them", n)
	}
	eventually(t, "the worker to reach the stalled server", func() bool { return relay.Held() == 1 })
	if state, page := inviteMailState(t, c, srv, "anna@example.com"); state != "queued" || !strings.Contains(page, "queued, goes out in a moment") {
		t.Errorf("while the server holds it, the invite's email is %q", state)
	}
	relay.Release()
	eventually(t, "the invite email", func() bool { return len(relay.Messages()) == 1 })
	_, text := readMail(t, relay.Messages()[0])
	if !strings.Contains(text, "\n"+link+"\n") || !strings.Contains(text, "owner@example.com invites you to the dashboard") {
		t.Errorf("the invite email:\n%s", text)
	}
	eventually(t, "the Team page to say sent", func() bool { s, _ := inviteMailState(t, c, srv, "anna@example.com"); return s == "sent" })
	if _, page := inviteMailState(t, c, srv, "anna@example.com"); !strings.Contains(page, "email sent") {
		t.Errorf("the Team page does not say the email was sent")
	}
	// Sent: the queue keeps only its state, not the token.
	err := srv.DB.ScanPrefix(context.Background(), store.AccountMailPrefix(), false, 0, func(_, v []byte) bool {
		rec, err := store.DecodeAccountMail(v)
		if err != nil || rec.Token != "" || strings.Contains(string(v), link[strings.Index(link, "token=")+len("token="):]) {
			t.Errorf("a sent invite's email still holds its token (%v)", err)
		}
		return true
	})
	if err != nil {
		t.Fatal(err)
	}
}

// A relay that answers 4xx (try again later) gets the invite's email
// again after a backoff; meanwhile the Team page says it is not sent yet,
// with the relay's answer.
func TestInviteEmailRetriedAfterTemporaryRefusal(t *testing.T) {
	srv, relay, clock, _, _ := mailQueueServer(t)
	c := srv.Client(t)
	relay.Refuse(&smtp.SMTPError{Code: 451, Message: "try again later"})
	if status, page := submitForm(t, c, srv, "/team", "/team/invite", url.Values{"email": {"anna@example.com"}, "role": {"operator"}, "send": {"1"}}); status != http.StatusOK || !strings.Contains(page, "is queued") {
		t.Fatalf("invite: %d\n%s", status, page)
	}
	eventually(t, "the Team page to say retrying", func() bool { s, _ := inviteMailState(t, c, srv, "anna@example.com"); return s == "retrying" })
	if _, page := inviteMailState(t, c, srv, "anna@example.com"); !strings.Contains(page, "451 try again later") {
		t.Errorf("the Team page does not give the relay's answer:\n%s", page)
	}
	relay.Refuse(nil)
	clock.Add(mailRetryLimit)
	eventually(t, "the invite email", func() bool { return len(relay.Messages()) == 1 })
	eventually(t, "the Team page to say sent", func() bool { s, _ := inviteMailState(t, c, srv, "anna@example.com"); return s == "sent" })
}

// Cancelling an invite whose email waits for the SMTP server deletes the
// email, and the token it holds, at once: it is never sent.
func TestCancelledInviteEmailNotSent(t *testing.T) {
	srv, relay, clock, logs, _ := mailQueueServer(t)
	c := srv.Client(t)
	relay.Stop()
	submitForm(t, c, srv, "/team", "/team/invite", url.Values{"email": {"anna@example.com"}, "role": {"operator"}, "send": {"1"}})
	eventually(t, "a failed attempt", func() bool { return logs.count("invite email not sent") > 0 })
	_, page := getPage(t, c, srv.URL+"team")
	id := regexp.MustCompile(`name="id" value="([0-9a-f]+)"`).FindStringSubmatch(page)
	if id == nil {
		t.Fatalf("no invite to cancel:\n%s", page)
	}
	if status, _ := submitForm(t, c, srv, "/team", "/team/invites/cancel", url.Values{"id": {id[1]}}); status != http.StatusSeeOther {
		t.Fatalf("cancel: %d", status)
	}
	if records, _ := queuedMail(t, srv.DB); records != 0 {
		t.Errorf("%d account emails left after the invite was cancelled", records)
	}
	relay.Resume(t)
	clock.Add(mailRetryLimit)
	eventually(t, "the queue to empty", func() bool { r, e := queuedMail(t, srv.DB); return r == 0 && e == 0 })
	if n := len(relay.Messages()); n != 0 {
		t.Errorf("%d emails sent for a cancelled invite", n)
	}
}

// A relay that refuses the appliance's login (535 to a wrong password, 530
// to a message sent without one) is the operator's --smtp at fault, not
// the address: the emails are kept and tried again, logged as errors
// that say so, and the Team page says retrying, not refused; once --smtp
// is mended they go out, an account's Message-ID its own.
func TestAccountMailRelayLoginRefused(t *testing.T) {
	for _, tt := range []struct{ name, user, code string }{
		{"wrong password", "mailer:wrong@", "535"},
		{"no login", "", "530"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			relay, clock, logs, opts := mailQueueOptions(t)
			relay.Login("mailer", "s3cret")
			with := func(userinfo string) func(*httpd.Options) {
				return func(o *httpd.Options) {
					opts(o)
					o.Mail.URL = "smtp://" + userinfo + relay.Addr
				}
			}
			srv := httpdtest.Start(t, with(tt.user))
			srv.Owner(t)
			c := srv.Client(t)
			askReset(t, srv, browser(), "", "en", "owner@example.com")
			submitForm(t, c, srv, "/team", "/team/invite", url.Values{"email": {"anna@example.com"}, "role": {"manager"}, "send": {"1"}, "lang": {"en"}})
			const logged = "ERROR invite email not sent: the SMTP server refused our TLS, login or sender"
			eventually(t, "the refused login logged as an error", func() bool {
				return logs.count("ERROR password reset email not sent: the SMTP server refused our TLS, login or sender") > 0 && logs.count(logged) > 0
			})
			clock.Add(mailRetryLimit) // a later attempt is refused alike
			eventually(t, "a second attempt", func() bool { return logs.count(logged) > 1 })
			if n := logs.count("refused by the SMTP server; dropped"); n != 0 {
				t.Errorf("%d emails dropped for the relay's refused login", n)
			}
			if r, e := queuedMail(t, srv.DB); r != 2 || e != 2 {
				t.Errorf("%d emails, %d queue entries after the refused login, want 2 and 2", r, e)
			}
			state, page := inviteMailState(t, c, srv, "anna@example.com")
			if state != "retrying" || !strings.Contains(page, tt.code+" ") {
				t.Errorf("the Team page says the invite's email is %q, want retrying with the relay's %s", state, tt.code)
			}
			if n := len(relay.Messages()); n != 0 {
				t.Fatalf("%d messages taken without the login", n)
			}

			srv = srv.Restart(t, with("mailer:s3cret@")) // --smtp mended
			clock.Add(mailRetryLimit)
			eventually(t, "both emails", func() bool { return len(relay.Messages()) == 2 })
			for _, m := range relay.Messages() {
				if msg, _ := readMail(t, m); !strings.HasPrefix(msg.Header.Get("Message-ID"), "<appliance.account.") {
					t.Errorf("an account email's Message-ID %q", msg.Header.Get("Message-ID"))
				}
			}
			eventually(t, "the Team page to say sent", func() bool { s, _ := inviteMailState(t, c, srv, "anna@example.com"); return s == "sent" })
		})
	}
}

// /metrics tells how many account emails wait and for how long: an
// operator's alert that resets and invites are not going out. An invite's
// email kept after it was sent waits no more.
func TestMetricsAccountMail(t *testing.T) {
	const token = "scrape-token"
	relay, clock, logs, opts := mailQueueOptions(t)
	srv := httpdtest.Start(t, opts, func(o *httpd.Options) { o.MetricsToken = token })
	c := srv.Client(t)
	metrics := func() (pending, oldest float64) {
		m := scrape(t, srv, token)
		return value(m, "appliance_account_mail_pending"), value(m, "appliance_account_mail_oldest_pending_seconds")
	}
	if p, o := metrics(); p != 0 || o != 0 {
		t.Fatalf("before any email: %v waiting, the oldest %v s", p, o)
	}
	relay.Stop()
	askReset(t, srv, browser(), "", "en", "owner@example.com")
	eventually(t, "a failed attempt", func() bool { return logs.count("password reset email not sent") > 0 })
	clock.Add(40 * time.Second)
	submitForm(t, c, srv, "/team", "/team/invite", url.Values{"email": {"anna@example.com"}, "role": {"manager"}, "send": {"1"}})
	eventually(t, "a failed attempt of the invite", func() bool { return logs.count("invite email not sent") > 0 })
	if p, o := metrics(); p != 2 || o != 40 {
		t.Errorf("the SMTP server down for 40 s: %v waiting, the oldest %v s; want 2 and 40", p, o)
	}
	relay.Resume(t)
	clock.Add(mailRetryLimit)
	eventually(t, "both emails", func() bool { return len(relay.Messages()) == 2 })
	eventually(t, "nothing waiting", func() bool { p, o := metrics(); return p == 0 && o == 0 })
	if r, _ := queuedMail(t, srv.DB); r != 1 {
		t.Errorf("%d account emails kept, want the sent invite's", r)
	}
}

// A reset and an invite come as a text and, as its alternative, HTML in
// the frame of every HTML email, in the reader's language: a button to
// the link, the same link written out, how long it lives. The inviter's
// name is text in the HTML, markup and all.
func TestAccountMailHTML(t *testing.T) {
	srv, relay, _, _, _ := mailQueueServer(t)
	srv.Owner(t)
	askReset(t, srv, browser(), "", "en", "owner@example.com")
	eventually(t, "the reset email", func() bool { return len(relay.Messages()) == 1 })
	const by = `Ann <b>Boss</b> & "Co" &lt`
	if err := srv.HTTP.QueueInvite(context.Background(), "anna@example.com", "manager", by, i18n.Ru); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the invite email", func() bool { return len(relay.Messages()) == 2 })
	inviteRE := regexp.MustCompile(`https?://\S+/invite\?token=[\w-]+`)
	for i, want := range []struct {
		lang, button string
		link         *regexp.Regexp
		says         []string
	}{
		{"en", "Choose a new password", resetLinkRE, []string{
			"Someone, we hope you, asked to set a new password for owner@example.com",
			"Open this link within an hour to choose it; it works once:",
			"If the button does not work, open this link:",
			"If it was not you, ignore this email"}},
		{"ru", "Принять приглашение", inviteRE, []string{
			by + " приглашает вас в личный кабинет",
			"Ссылка сработает один раз и действует 7 дней:",
			"Если кнопка не работает, откройте эту ссылку:"}},
	} {
		_, text, htm := mailtest.Read(t, relay.Messages()[i].Data)
		if htm == "" {
			t.Fatalf("the %s email has no HTML part:\n%s", want.button, text)
		}
		link := want.link.FindString(text)
		if link == "" || !strings.Contains(text, "\n"+link+"\n") {
			t.Fatalf("no link on its own line in the text:\n%s", text)
		}
		h := mailtest.CheckHTML(t, htm)
		if h.Lang != want.lang {
			t.Errorf("<html lang=%q>, want %q", h.Lang, want.lang)
		}
		if got := h.Links[want.button]; got != link {
			t.Errorf("the button %q links to %q, the text to %q (links %v)", want.button, got, link, h.Links)
		}
		if got := h.Links[link]; got != link {
			t.Errorf("the link is not written out as text linking to itself: %v", h.Links)
		}
		if len(h.Links) != 2 {
			t.Errorf("links %v, want the button and the link", h.Links)
		}
		seen := strings.Join(strings.Fields(h.Text), " ")
		for _, w := range want.says {
			if !strings.Contains(seen, w) {
				t.Errorf("the HTML does not say %q:\n%s", w, seen)
			}
		}
	}
	if _, _, htm := mailtest.Read(t, relay.Messages()[1].Data); strings.Contains(htm, "<b>Boss") || !strings.Contains(htm, "Ann &lt;b&gt;Boss&lt;/b&gt; &amp; &#34;Co&#34; &amp;lt") {
		t.Errorf("the inviter's name is not escaped in the HTML:\n%s", htm)
	}
}

// A relay that refuses an account's email for good (550: no such
// mailbox) gets it once: a reset is dropped and logged, an invite's is
// marked refused on the Team page with the relay's answer as it gave it;
// neither is queued again.
func TestAccountMailRefused(t *testing.T) {
	srv, relay, clock, logs, _ := mailQueueServer(t)
	srv.Owner(t)
	c := srv.Client(t)
	relay.Refuse(&smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such mailbox"})
	askReset(t, srv, browser(), "", "en", "owner@example.com")
	submitForm(t, c, srv, "/team", "/team/invite", url.Values{"email": {"anna@example.com"}, "role": {"manager"}, "send": {"1"}, "lang": {"en"}})
	eventually(t, "both refused", func() bool { return logs.count("refused by the SMTP server; dropped") == 2 })
	if state, page := inviteMailState(t, c, srv, "anna@example.com"); state != "refused" || !strings.Contains(page, "550 5.1.1 no such mailbox") {
		t.Errorf("the Team page says the invite's email is %q, want refused with the relay's 550 5.1.1 no such mailbox", state)
	}
	clock.Add(mailRetryLimit)
	if _, entries := queuedMail(t, srv.DB); entries != 1 || relay.Tries() != 2 {
		t.Errorf("%d queue entries (want the refused invite's, kept till it expires), %d tries (want 2)", entries, relay.Tries())
	}
}
