package httpd_test

import (
	"context"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"appliance/httpd"
	"appliance/httpd/accounts"
	"appliance/httpd/httpdtest"
	"appliance/httpd/notice"
	"appliance/httpd/notice/mailtest"
)

// resetServer is a server with an SMTP relay, on a clock the test moves,
// that takes the client's address from X-Forwarded-For.
func resetServer(t *testing.T) (*httpdtest.Server, *mailtest.Server, *trClock) {
	t.Helper()
	relay := mailtest.Start(t)
	clock := &trClock{now: time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)}
	srv := httpdtest.Start(t, func(o *httpd.Options) {
		o.Mail = notice.Options{URL: relay.URL(), From: "Dashboard <noreply@shop.example>"}
		o.Now = clock.Now
		o.TrustProxy = true
	})
	return srv, relay, clock
}

// browser is a client that is signed in as nobody yet: it keeps cookies
// and does not follow redirects.
func browser() *http.Client {
	jar, _ := cookiejar.New(nil)
	return noRedirect(jar)
}

// send does a request from ip in lang and returns the status, the page
// (unescaped) and the headers.
func send(t *testing.T, c *http.Client, method, u, ip, lang string, form url.Values) (int, string, http.Header) {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, _ := http.NewRequest(method, u, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if ip != "" {
		req.Header.Set("X-Forwarded-For", ip)
	}
	if lang != "" {
		req.Header.Set("Accept-Language", lang)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, html.UnescapeString(string(b)), resp.Header
}

// askReset asks for a reset link for email from ip, as the form does.
func askReset(t *testing.T, srv *httpdtest.Server, c *http.Client, ip, lang, email string) (int, string) {
	t.Helper()
	status, page, _ := send(t, c, "GET", srv.URL+"forgot", ip, lang, nil)
	m := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(page)
	if status != http.StatusOK || m == nil {
		t.Fatalf("GET /forgot: %d\n%s", status, page)
	}
	status, page, _ = send(t, c, "POST", srv.URL+"forgot", ip, lang, url.Values{"csrf": {m[1]}, "email": {email}})
	return status, page
}

var resetLinkRE = regexp.MustCompile(`https?://\S+/reset\?token=[\w-]+`)

// mailedLink is the reset link of the relay's i-th message, and its text.
func mailedLink(t *testing.T, relay *mailtest.Server, i int) (string, string) {
	t.Helper()
	_, text := readMail(t, relay.Messages()[i])
	link := resetLinkRE.FindString(text)
	if link == "" {
		t.Fatalf("no reset link in the email:\n%s", text)
	}
	return link, text
}

// postReset sends the reset page's form with password.
func postReset(t *testing.T, srv *httpdtest.Server, c *http.Client, link, password string) (int, string, http.Header) {
	t.Helper()
	token := link[strings.Index(link, "token=")+len("token="):]
	return send(t, c, "POST", srv.URL+"reset", "", "", url.Values{"csrf": {srv.FormToken(t, c, "/forgot")}, "token": {token}, "password": {password}})
}

// A user who forgot their password asks for a link on the sign-in page:
// every address gets the same answer, only a user's gets an email, in the
// user's language; the link sets a new password once, signs out every
// other browser and signs this one in; a used or expired link is refused
// saying so.
func TestPasswordResetByEmail(t *testing.T) {
	srv, relay, clock := resetServer(t)
	here, other := srv.Client(t), srv.Client(t) // the owner's browsers
	anon := browser()
	if _, page, _ := send(t, anon, "GET", srv.URL+"login", "", "", nil); !strings.Contains(page, `href="/forgot"`) {
		t.Fatalf("the sign-in page does not offer a reset:\n%s", page)
	}

	// CSRF, as every form: a request without the form's token is refused
	// and sends nothing (a mail would come before the ones below).
	if status, _, _ := send(t, browser(), "POST", srv.URL+"forgot", "", "", url.Values{"email": {"owner@example.com"}}); status != http.StatusForbidden {
		t.Errorf("a reset request without the form's token: %d", status)
	}
	status, unknown := askReset(t, srv, anon, "", "ru", "nobody@example.com")
	if status != http.StatusOK || !strings.Contains(unknown, "Если эта почта принадлежит пользователю") {
		t.Fatalf("reset of an unknown address: %d\n%s", status, unknown)
	}
	status, known := askReset(t, srv, anon, "", "ru", " Owner@Example.com ")
	if status != http.StatusOK || known != unknown {
		t.Errorf("a user's address answers %d, not as an unknown one:\n%s\n---\n%s", status, known, unknown)
	}
	eventually(t, "the reset email", func() bool { return len(relay.Messages()) >= 1 })
	// One worker sends them in order: the unknown address's, had it
	// sent one, would be first.
	m := relay.Messages()
	if len(m) != 1 || len(m[0].To) != 1 || m[0].To[0] != "owner@example.com" {
		t.Fatalf("messages %+v", m)
	}
	link, text := mailedLink(t, relay, 0)
	if !strings.Contains(text, "Кто-то (надеемся, что вы) запросил новый пароль для owner@example.com") || !strings.HasPrefix(link, srv.URL+"reset?token=") {
		t.Errorf("the email, in the asking page's language:\n%s", text)
	}

	status, page, h := send(t, anon, "GET", link, "", "", nil)
	if status != http.StatusOK || !strings.Contains(page, "owner@example.com") || !strings.Contains(page, `action="/reset"`) {
		t.Fatalf("the link's page: %d\n%s", status, page)
	}
	if got := h.Get("Referrer-Policy"); got != "no-referrer" {
		t.Errorf("the link's page has Referrer-Policy %q, want no-referrer", got)
	}
	token := link[strings.Index(link, "token=")+len("token="):]
	if status, _, _ := send(t, anon, "POST", srv.URL+"reset", "", "", url.Values{"token": {token}, "password": {"a forged passphrase"}}); status != http.StatusForbidden {
		t.Errorf("a reset without the form's token: %d", status)
	}
	if status, page, _ := postReset(t, srv, anon, link, "short"); status != http.StatusBadRequest || !strings.Contains(page, "at least 10 characters") {
		t.Errorf("a short password: %d", status)
	}
	status, _, h = postReset(t, srv, anon, link, "a brand new passphrase")
	if status != http.StatusSeeOther || !strings.HasSuffix(h.Get("Location"), "/account?done=reset") {
		t.Fatalf("set the new password: %d %v", status, h)
	}
	if _, page := getPage(t, anon, srv.URL+"account?done=reset"); !strings.Contains(page, "Your new password is set and you are signed in") {
		t.Errorf("the account page after the reset does not say so:\n%s", page)
	}
	for _, c := range []*http.Client{here, other} {
		if got := statusOf(t, c, srv, "/sites"); got != http.StatusSeeOther {
			t.Errorf("a browser signed in before the reset: %d, want a redirect to sign in", got)
		}
	}
	if _, _, err := accounts.New(srv.DB).Login(context.Background(), "owner@example.com", "a brand new passphrase"); err != nil {
		t.Errorf("sign in with the new password: %v", err)
	}

	// Used: refused, saying so; the password stays.
	for _, try := range []func() (int, string){
		func() (int, string) { s, p, _ := send(t, browser(), "GET", link, "", "", nil); return s, p },
		func() (int, string) {
			b := browser()
			s, p, _ := postReset(t, srv, b, link, "the taker's passphrase")
			return s, p
		},
	} {
		if status, page := try(); status != http.StatusNotFound || !strings.Contains(page, "already used; ask for a new one") {
			t.Errorf("a used link: %d\n%s", status, page)
		}
	}

	// Expired: an hour and a minute later.
	askReset(t, srv, browser(), "", "", "owner@example.com")
	eventually(t, "the second reset email", func() bool { return len(relay.Messages()) == 2 })
	late, text := mailedLink(t, relay, 1)
	if !strings.Contains(text, "Someone, we hope you, asked") {
		t.Errorf("the email in English, the asking page's language:\n%s", text)
	}
	clock.Add(accounts.ResetTTL + time.Minute)
	if status, page, _ := send(t, browser(), "GET", late, "", "", nil); status != http.StatusNotFound || !strings.Contains(page, "expired") {
		t.Errorf("an expired link: %d\n%s", status, page)
	}
}

// Reset requests are limited per network (an IPv6 address counts as its
// /64), answered "wait"; and per address, past which the answer is the
// same but no email goes. An account locked by wrong passwords can still
// be reset, and the reset signs its user in.
func TestPasswordResetLimits(t *testing.T) {
	srv, relay, _ := resetServer(t)
	srv.Owner(t)
	ctx := context.Background()
	for _, email := range []string{"m@example.com", "locked@example.com"} {
		if _, err := accounts.New(srv.DB).CreateUser(ctx, email, "a long enough passphrase", accounts.RoleManager); err != nil {
			t.Fatal(err)
		}
	}
	ip := "2001:db8:1:2::1"
	for i := range 4 { // 3 per address
		if status, page := askReset(t, srv, browser(), ip, "", "owner@example.com"); status != http.StatusOK || !strings.Contains(page, "an email with a link") {
			t.Fatalf("request %d: %d", i+1, status)
		}
	}
	askReset(t, srv, browser(), "2001:db8:1:2::2", "", "m@example.com")
	eventually(t, "m's email", func() bool {
		m := relay.Messages()
		return len(m) > 0 && m[len(m)-1].To[0] == "m@example.com"
	})
	if got := len(relay.Messages()); got != 4 {
		t.Errorf("%d emails, want 3 to the owner and 1 to m", got)
	}

	// Locked out by wrong passwords, from this network.
	for range 10 {
		b := browser()
		send(t, b, "POST", srv.URL+"login", ip, "", url.Values{"csrf": {srv.FormToken(t, b, "/login")}, "email": {"locked@example.com"}, "password": {"a wrong guess"}})
	}
	b := browser()
	if status, _, _ := send(t, b, "POST", srv.URL+"login", ip, "", url.Values{"csrf": {srv.FormToken(t, b, "/login")}, "email": {"locked@example.com"}, "password": {"a long enough passphrase"}}); status != http.StatusTooManyRequests {
		t.Fatalf("the locked account signs in: %d", status)
	}
	askReset(t, srv, b, "2001:db8:1:2:ffff::9", "", "locked@example.com")
	eventually(t, "the locked user's email", func() bool { return len(relay.Messages()) == 5 })
	link, _ := mailedLink(t, relay, 4)
	if status, _, _ := postReset(t, srv, b, link, "a fresh passphrase now"); status != http.StatusSeeOther {
		t.Fatalf("reset of a locked account: %d", status)
	}
	if got := statusOf(t, b, srv, "/sites"); got != http.StatusOK {
		t.Errorf("after the reset of a locked account: %d, want signed in", got)
	}

	// 10 an hour from one /64: the 11th is refused, another network is not.
	for i := 7; i <= 10; i++ {
		if status, _ := askReset(t, srv, browser(), ip, "", "nobody@example.com"); status != http.StatusOK {
			t.Fatalf("request %d from the network: %d", i, status)
		}
	}
	if status, page := askReset(t, srv, browser(), "2001:db8:1:2:abcd::1", "", "nobody@example.com"); status != http.StatusTooManyRequests || !strings.Contains(page, "Too many reset requests from your network") {
		t.Errorf("the 11th request from the /64: %d\n%s", status, page)
	}
	if status, _ := askReset(t, srv, browser(), "2001:db8:9::1", "", "nobody@example.com"); status != http.StatusOK {
		t.Errorf("another network: %d", status)
	}
}

// Without an SMTP server the reset page says, as the sign-in page did, who
// sets a new password, and sends nothing.
func TestPasswordResetWithoutMail(t *testing.T) {
	srv := httpdtest.Start(t)
	c := browser()
	if _, page, _ := send(t, c, "GET", srv.URL+"login", "", "", nil); !strings.Contains(page, "appliance user passwd EMAIL") || strings.Contains(page, `href="/forgot"`) {
		t.Errorf("the sign-in page without --smtp:\n%s", page)
	}
	if status, page, _ := send(t, c, "GET", srv.URL+"forgot", "", "", nil); status != http.StatusOK || !strings.Contains(page, "appliance user passwd EMAIL") || strings.Contains(page, `action="/forgot"`) {
		t.Errorf("/forgot without --smtp: %d\n%s", status, page)
	}
}

// With an SMTP server the owner's invite is queued to be emailed in the
// language the form chose, and the link is still shown once; the emailed
// link opens the invite page (no Referer). The list of invites says how
// each email fared: sent, not asked for, refused by the relay (with its
// answer). Without one, the form says so.
func TestInviteByEmail(t *testing.T) {
	srv, relay, _ := resetServer(t)
	c := srv.Client(t)
	if _, page := getPage(t, c, srv.URL+"team"); !strings.Contains(page, `name="send"`) || !strings.Contains(page, `name="lang"`) {
		t.Fatalf("the invite form offers no email:\n%s", page)
	}
	status, page := submitForm(t, c, srv, "/team", "/team/invite", url.Values{"email": {"Anna@Example.com"}, "role": {"manager"}, "send": {"1"}, "lang": {"ru"}})
	page = html.UnescapeString(page)
	link := regexp.MustCompile(`http://\S+/invite\?token=[\w-]+`).FindString(page)
	if status != http.StatusOK || link == "" || !strings.Contains(page, "Invite made; its email to anna@example.com is queued") {
		t.Fatalf("invite: %d\n%s", status, page)
	}
	eventually(t, "the invite email", func() bool { return len(relay.Messages()) > 0 })
	m := relay.Messages()
	if len(m) != 1 || m[0].To[0] != "anna@example.com" {
		t.Fatalf("messages %+v", m)
	}
	_, text := readMail(t, m[0])
	for _, want := range []string{"owner@example.com приглашает вас в личный кабинет", "с ролью «менеджер»", "\n" + link + "\n"} {
		if !strings.Contains(text, want) {
			t.Errorf("the invite email does not say %q:\n%s", want, text)
		}
	}
	status, _, h := send(t, browser(), "GET", link, "", "", nil)
	if status != http.StatusOK || h.Get("Referrer-Policy") != "no-referrer" {
		t.Errorf("the emailed link: %d, Referrer-Policy %q", status, h.Get("Referrer-Policy"))
	}
	eventually(t, "anna's email marked sent", func() bool { s, _ := inviteMailState(t, c, srv, "anna@example.com"); return s == "sent" })

	// Not asked to: not sent.
	submitForm(t, c, srv, "/team", "/team/invite", url.Values{"email": {"bob@example.com"}, "role": {"operator"}})
	if state, _ := inviteMailState(t, c, srv, "bob@example.com"); state != "" {
		t.Errorf("an invite not to be emailed: its email is %q", state)
	}
	relay.Refuse(&smtp.SMTPError{Code: 550, Message: "no such mailbox"})
	status, page = submitForm(t, c, srv, "/team", "/team/invite", url.Values{"email": {"carl@example.com"}, "role": {"operator"}, "send": {"1"}})
	if status != http.StatusOK || !strings.Contains(page, "is queued") || !strings.Contains(page, "/invite?token=") {
		t.Errorf("an invite to a relay that refuses: %d\n%s", status, page)
	}
	eventually(t, "carl's email refused", func() bool { s, _ := inviteMailState(t, c, srv, "carl@example.com"); return s == "refused" })
	if _, page := inviteMailState(t, c, srv, "carl@example.com"); !strings.Contains(page, "550 no such mailbox") || !strings.Contains(page, "refused by the mail server") {
		t.Errorf("the Team page does not say why carl's email was refused:\n%s", page)
	}
	if got := len(relay.Messages()); got != 1 {
		t.Errorf("%d messages taken, want 1", got)
	}

	plain := httpdtest.Start(t)
	if _, page := getPage(t, plain.Client(t), plain.URL+"team"); strings.Contains(page, `name="send"`) || !strings.Contains(page, "There is no mail server") {
		t.Errorf("the invite form without --smtp:\n%s", page)
	}
}
