package httpd_test

import (
	"encoding/json"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/fasthttp/websocket"

	"appliance/httpd/accounts"
	"appliance/httpd/httpdtest"
)

// closedWith reads a socket until it closes and returns the close code
// and reason and the frames that came before (held ones first); code -1
// when it ended without a close frame (or hangGuard passed).
func closedWith(c *wsClient) (int, string, []map[string]any) {
	c.t.Helper()
	frames := c.held
	c.held = nil
	for {
		_ = c.conn.SetReadDeadline(time.Now().Add(hangGuard))
		_, b, err := c.conn.ReadMessage()
		if err != nil {
			if ce, ok := err.(*websocket.CloseError); ok {
				return ce.Code, ce.Text, frames
			}
			return -1, err.Error(), frames
		}
		var f map[string]any
		_ = json.Unmarshal(b, &f)
		frames = append(frames, f)
	}
}

// signedIn is a browser signed in as email: its client (cookie jar, no
// redirects followed) and the headers of its console's socket.
func signedIn(t *testing.T, srv *httpdtest.Server, email, password string) (*http.Client, http.Header) {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.PostForm(srv.URL+"login", url.Values{"csrf": {srv.FormToken(t, c, "/login")}, "email": {email}, "password": {password}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign in %s: status %d", email, resp.StatusCode)
	}
	u, _ := url.Parse(srv.URL)
	var cookies []string
	for _, ck := range jar.Cookies(u) {
		cookies = append(cookies, ck.Name+"="+ck.Value)
	}
	return c, http.Header{"Origin": {strings.TrimSuffix(srv.URL, "/")}, "Cookie": {strings.Join(cookies, "; ")}}
}

func postSeeOther(t *testing.T, srv *httpdtest.Server, c *http.Client, path, formPage string, v url.Values) {
	t.Helper()
	v.Set("csrf", srv.FormToken(t, c, formPage))
	resp, err := c.PostForm(srv.URL+path, v)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("POST /%s: status %d", path, resp.StatusCode)
	}
}

// wantSignedOut waits for the console socket to close and fails the test
// unless it closed as signed out (1008 "signed out", what the console
// shows as such) with no answer among the frames before it: late tells
// an answer to a frame sent after the session ended.
func wantSignedOut(t *testing.T, who string, c *wsClient, late func(f map[string]any) bool) {
	t.Helper()
	code, reason, before := closedWith(c)
	for _, f := range before {
		if late(f) {
			t.Errorf("%s: a frame sent after the session ended was acted upon: %v", who, f)
		}
	}
	if code != websocket.ClosePolicyViolation || reason != "signed out" {
		t.Fatalf("%s: console closed with %d %q, want 1008 \"signed out\"; frames before %v", who, code, reason, before)
	}
}

// An operator removed on the team page while their console is open loses
// it at once, not at its next heartbeat (up to 25 s later): the socket
// closes as signed out, a message they send after the removal is neither
// stored nor sent to the visitor, and the visitor's window, and
// getOperatorStatus, learn at once that nobody is online. Before, the
// removed operator read and answered the site's chats, online for its
// visitors, until the heartbeat.
func TestConsoleClosedWhenUserRemoved(t *testing.T) {
	srv := httpdtest.Start(t)
	site := srv.Site(t, "Shop", "shop.example")
	owner := srv.Client(t)
	anna, _ := connectConsole(t, srv, consoleHeader(t, srv, "anna@shop.example", accounts.RoleOperator), nil)
	cv := newChatVisitor(t, srv, site, "https://shop.example/")
	vis, welcome := cv.connect(t, shopOrigin, 0, 0)
	if welcome["operators"] != true {
		t.Fatalf("visitor's welcome with anna's console open: %v", welcome)
	}
	vis.send(map[string]any{"type": "send", "ref": "v1", "text": "Есть доставка в Казань?"})
	chat := num(vis.next("ack")["chat"])
	anna.message(1)

	postSeeOther(t, srv, owner, "team/remove", "/team", url.Values{"email": {"anna@shop.example"}})

	if online := operatorsOnline(t, srv, site); online {
		t.Error("getOperatorStatus says online once the only operator was removed")
	}
	// Sent after the removal: the socket may be closing already, so a
	// failed write is no failure.
	_ = anna.conn.WriteJSON(map[string]any{"type": "send", "chat": chat, "ref": "late", "text": "Я ещё здесь"})
	wantSignedOut(t, "removed anna", anna, func(f map[string]any) bool { return f["ref"] == "late" })

	for {
		f := vis.read()
		if f == nil {
			t.Fatal("visitor's socket closed waiting for presence")
		}
		if f["type"] == "message" && f["from"] != "visitor" {
			t.Fatalf("the visitor got a message after the operator's removal: %v", f)
		}
		if f["type"] == "presence" && f["operators"] == false {
			break
		}
	}
	boris, _ := connectConsole(t, srv, consoleHeader(t, srv, "boris@shop.example", accounts.RoleOperator), nil)
	boris.send(map[string]any{"type": "history", "chat": chat, "after": 0})
	last, _ := untilType(boris, "history")
	if got := num(last["id"]); got != 1 {
		t.Fatalf("the chat holds %d messages, want only the visitor's: a removed operator's message was stored", got)
	}
}

// operatorsOnline is the site's getOperatorStatus (GET /t/v1/chat/status).
func operatorsOnline(t *testing.T, srv *httpdtest.Server, site string) bool {
	t.Helper()
	resp, err := http.Get(srv.URL + "t/v1/chat/status?k=" + url.QueryEscape(site))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		Result struct {
			Operators bool `json:"operators"`
		} `json:"result"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	return out.Result.Operators
}

// Signing out closes the console of that session at once, and no other;
// signing out everywhere else closes the consoles of the user's other
// sessions at once.
func TestConsoleClosedWhenSessionEnds(t *testing.T) {
	srv := httpdtest.Start(t)
	srv.Site(t, "Shop", "shop.example")
	const email, pw = "boris@shop.example", "a long enough passphrase"
	consoleHeader(t, srv, email, accounts.RoleOperator) // creates boris
	laptop, laptopH := signedIn(t, srv, email, pw)
	phone, phoneH := signedIn(t, srv, email, pw)
	_, tabletH := signedIn(t, srv, email, pw)
	onLaptop, _ := connectConsole(t, srv, laptopH, nil)
	onPhone, _ := connectConsole(t, srv, phoneH, nil)
	onTablet, _ := connectConsole(t, srv, tabletH, nil)

	postSeeOther(t, srv, laptop, "logout", "/account", url.Values{})
	_ = onLaptop.conn.WriteJSON(map[string]any{"type": "ping"})
	wantSignedOut(t, "the laptop's console once it signed out", onLaptop, func(f map[string]any) bool { return f["type"] == "pong" })
	onPhone.send(map[string]any{"type": "ping"})
	onPhone.next("pong")

	postSeeOther(t, srv, phone, "account/logout-others", "/account", url.Values{})
	_ = onTablet.conn.WriteJSON(map[string]any{"type": "ping"})
	wantSignedOut(t, "the tablet's console once the phone signed out everywhere else", onTablet, func(f map[string]any) bool { return f["type"] == "pong" })
}

// Signing out of one browser leaves the user's console in another online
// for the site's visitors; signing out of the last one makes them offline
// at once. Before, the dashboard's sign-out made the user offline on every
// site whatever else of theirs stayed open: the phone's console, open and
// answering, read as nobody online to getOperatorStatus.
func TestSignOutOfOneBrowserKeepsTheOtherOnline(t *testing.T) {
	srv := httpdtest.Start(t)
	site := srv.Site(t, "Shop", "shop.example")
	const email, pw = "vera@shop.example", "a long enough passphrase"
	consoleHeader(t, srv, email, accounts.RoleOperator) // creates vera
	laptop, laptopH := signedIn(t, srv, email, pw)
	phone, phoneH := signedIn(t, srv, email, pw)
	onLaptop, _ := connectConsole(t, srv, laptopH, nil)
	onPhone, _ := connectConsole(t, srv, phoneH, nil)
	if !operatorsOnline(t, srv, site) {
		t.Fatal("getOperatorStatus says offline with two consoles open")
	}

	postSeeOther(t, srv, laptop, "logout", "/account", url.Values{})
	wantSignedOut(t, "the laptop's console once it signed out", onLaptop, func(map[string]any) bool { return false })
	onPhone.send(map[string]any{"type": "ping"})
	onPhone.next("pong")
	if !operatorsOnline(t, srv, site) {
		t.Error("getOperatorStatus says offline once the laptop signed out, with the phone's console open")
	}

	postSeeOther(t, srv, phone, "logout", "/account", url.Values{})
	if operatorsOnline(t, srv, site) {
		t.Error("getOperatorStatus says online once the last browser signed out")
	}
	wantSignedOut(t, "the phone's console once it signed out", onPhone, func(map[string]any) bool { return false })
}
