package httpd_test

// Browser tests of the chat (httpd/chat-protocol.md) as its two people use
// it: a visitor on a page of the site (on "localhost", another origin than
// the appliance on 127.0.0.1) with the install code, and an operator in the
// console (/chat) in a second browser context of the same chromium.

import (
	"cmp"
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"appliance/httpd"
	"appliance/httpd/accounts"
	"appliance/httpd/httpdtest"
	"appliance/store"
)

// chatFixture is a widget fixture with an operator's tab.
type chatFixture struct {
	*widgetFixture
	op    context.Context // the operator's tab, signed in
	opLog *consoleLog
	opts  []func(*httpd.Options)
	lang  string // the widget's and the console's
	path  string // what the visitor opens in operatorOpens; "": "/"
}

// quickChat makes the chat's waits short enough for a test: an operator
// whose console closed is offline after a second, and an unanswered chat
// becomes a lead a second after no operator is online.
func quickChat(o *httpd.Options) {
	o.Chats.Grace = time.Second
	o.Chats.LeadGrace = time.Second
	o.Chats.Sweep = 100 * time.Millisecond
}

func newChatFixture(t *testing.T, lang string) *chatFixture {
	t.Helper()
	opts := []func(*httpd.Options){quickChat}
	f := &chatFixture{widgetFixture: newWidgetFixture(t, map[string]any{"lang": lang}, opts...), opts: opts, lang: lang}
	email, password := f.srv.Owner(t)
	f.op = httpdtest.NewVisitor(t, f.browser)
	f.opLog = watchConsole(t, f.op)
	httpdtest.Must(t, f.op,
		chromedp.Navigate(f.srv.URL+"login"),
		chromedp.SendKeys(chromedp.CSS(`input[name=email]`), email),
		chromedp.SendKeys(chromedp.CSS(`input[name=password]`), password),
	)
	submit(t, f.op, `button[type=submit]`)
	return f
}

// console opens the operator console in lang (the dashboard's language
// cookie) and waits until it is connected.
func (f *chatFixture) console(t *testing.T, lang string) {
	t.Helper()
	httpdtest.Must(t, f.op, chromedp.Navigate(f.srv.URL+"chat"))
	opEval[any](t, f, `document.cookie = "apl_lang=`+lang+`; path=/"`)
	// A navigation to the URL the tab shows can be answered, on a loaded
	// machine, before the new document replaces the old one: the language
	// is asked of the page again, after another navigation, at most twice.
	for attempt := 1; ; attempt++ {
		httpdtest.Must(t, f.op, chromedp.Navigate(f.srv.URL+"chat"))
		got := opEval[string](t, f, `document.documentElement.lang`)
		if got == lang {
			break
		}
		if attempt == 3 {
			t.Fatalf("the console is in %q, want %s", got, lang)
		}
		t.Logf("the console is in %q after navigation %d, want %s: again", got, attempt, lang)
	}
	f.opWait(t, "the console connects", `document.querySelector('#c-conn.up') !== null`)
}

// noExceptions checks that neither the visitor's page nor the console
// threw.
func (f *chatFixture) noExceptions(t *testing.T) {
	t.Helper()
	f.widgetFixture.noExceptions(t)
	if ex := f.opLog.matching(chromedp.ConsoleException, ""); len(ex) > 0 {
		t.Errorf("uncaught exceptions in the console: %q", ex)
	}
}

// opEval evaluates js in the operator's tab.
func opEval[T any](t *testing.T, f *chatFixture, js string) T {
	t.Helper()
	return httpdtest.Eval[T](t, f.op, js)
}

func (f *chatFixture) opWait(t *testing.T, what, js string) {
	t.Helper()
	f.eventually(t, what+" (operator)", func() bool { return opEval[bool](t, f, `!!(`+js+`)`) })
}

// openedByOperator is how most chat tests begin: the site's page "/"
// with the install code, then operatorOpens.
func (f *chatFixture) openedByOperator(t *testing.T, text string) {
	t.Helper()
	f.page("/", sitePage("Shop", "", f.install, ""))
	f.operatorOpens(t, text)
}

// operatorOpens has the operator open the console, the visitor open the
// site's page "/" and, once the page hears an operator is online, the chat
// window, and say text; then the operator opens the new chat.
func (f *chatFixture) operatorOpens(t *testing.T, text string) {
	t.Helper()
	f.console(t, f.lang)
	f.visit(t, cmp.Or(f.path, "/"))
	f.eventually(t, "getOperatorStatus() is true", func() bool { return eval[bool](t, f.snippetFixture, `Comagic.getOperatorStatus()`) })
	eval[any](t, f.snippetFixture, `Comagic.openChatWindow()`)
	f.waitIn(t, "the chat opens", `r.querySelector('section.chat') && !r.querySelector('section.chat').hidden`)
	f.visitorSays(t, text)
	f.opWait(t, "the chat is listed", `document.querySelector('#c-chats li[data-chat] button')`)
	httpdtest.Must(t, f.op, chromedp.Click(chromedp.CSS(`#c-chats li[data-chat] button`)))
}

// visitorSays types text into the visitor's chat window and sends it with
// Enter.
func (f *chatFixture) visitorSays(t *testing.T, text string) {
	t.Helper()
	if strings.IndexFunc(text, func(r rune) bool { return unicode.Is(unicode.Cf, r) }) >= 0 {
		// A key event does not carry a format character (a bidi
		// control): the field is set, then focused for the Enter.
		in[any](t, f.widgetFixture, `(r.querySelector('#cs-chat-text').value = `+jsString(text)+`, 0)`)
		text = ""
	}
	f.typeInto(t, "#cs-chat-text", text)
	httpdtest.Must(t, f.browser, chromedp.KeyEvent(kb.Enter))
}

// operatorSays types into the console's reply field and sends with Enter.
func (f *chatFixture) operatorSays(t *testing.T, text string) {
	t.Helper()
	httpdtest.Must(t, f.op, chromedp.Focus(chromedp.ID("c-text")), chromedp.KeyEvent(text), chromedp.KeyEvent(kb.Enter))
}

// visitorLog is the texts of the messages in the visitor's window.
func (f *chatFixture) visitorLog(t *testing.T) string {
	t.Helper()
	return in[string](t, f.widgetFixture, `Array.from(r.querySelectorAll('.log .m .text')).map(n => n.textContent).join(' | ')`)
}

// operatorLog is the texts of the messages of the chat open in the console.
func (f *chatFixture) operatorLog(t *testing.T) string {
	t.Helper()
	return opEval[string](t, f, `Array.from(document.querySelectorAll('#c-log .c-msg .c-text')).map(n => n.textContent).join(' | ')`)
}

const xss = `<img src=x onerror="window.__xss=1"><script>window.__xss=2</script>`

// The whole conversation: the status follows the operator, openChatWindow
// opens the lead form and then the chat, messages go both ways with
// typing and read marks, markup stays text on both sides, the visitor's
// next page shows the conversation, and a server restart mid-chat loses
// and doubles nothing.
func TestChatVisitorAndOperator(t *testing.T) {
	f := newChatFixture(t, "en")
	for _, p := range []string{"/", "/next"} {
		f.page(p, sitePage("Shop "+p, "", f.install, ""))
	}
	f.visit(t, "/")
	if eval[bool](t, f.snippetFixture, `Comagic.getOperatorStatus()`) {
		t.Fatal("getOperatorStatus() is true with no operator online")
	}
	eval[any](t, f.snippetFixture, `Comagic.openChatWindow()`)
	f.waitIn(t, "openChatWindow opens the lead form while no operator is online", `r.querySelector('[data-kind=lead]')`)
	httpdtest.Must(t, f.browser, chromedp.KeyEvent(kb.Escape))

	f.console(t, "en")
	// The page learns the new status by itself, with no reload: the status
	// poll runs every 30 s, so this waits longer than the usual deadline.
	deadline := time.Now().Add(45 * time.Second)
	for !eval[bool](t, f.snippetFixture, `Comagic.getOperatorStatus()`) {
		if time.Now().After(deadline) {
			t.Fatal("getOperatorStatus() stayed false 45 s after an operator came online")
		}
		time.Sleep(200 * time.Millisecond)
	}
	eval[any](t, f.snippetFixture, `Comagic.openChatWindow()`)
	f.waitIn(t, "openChatWindow opens the chat", `r.querySelector('section.chat') && !r.querySelector('section.chat').hidden`)
	if got := f.focused(t); got != "cs-chat-text" {
		t.Errorf("focus on %q, want the message field", got)
	}
	// Shift+Enter is a new line, Enter sends.
	f.typeInto(t, "#cs-chat-text", "Hello")
	httpdtest.Must(t, f.browser, chromedp.KeyEvent(kb.Enter, chromedp.KeyModifiers(chromedp.ModifierShift)), chromedp.KeyEvent("I need help"), chromedp.KeyEvent(kb.Enter))
	f.waitIn(t, "the visitor's message is stored", `r.querySelector('.log .m.visitor[data-mark=sent], .log .m.visitor[data-mark=delivered], .log .m.visitor[data-mark=read]')`)

	f.opWait(t, "the new chat is listed", `document.querySelector('#c-chats li[data-chat] button')`)
	f.opWait(t, "the tab title counts the unread message", `document.title.indexOf('(1) ') == 0 && document.querySelector('#c-chats .c-unread').textContent == '1'`)
	httpdtest.Must(t, f.op, chromedp.Click(chromedp.CSS(`#c-chats li[data-chat] button`)))
	f.opWait(t, "the visitor's message shows", `document.querySelectorAll('#c-log .c-msg.visitor').length == 1`)
	f.opWait(t, "the title has no unread count once the chat is open", `document.title.indexOf('(') != 0`)
	if got := f.operatorLog(t); got != "Hello\nI need help" {
		t.Errorf("operator sees %q", got)
	}
	f.opWait(t, "the journey shows the visitor's page", `document.querySelector('#c-journey-body dl') && document.querySelector('#c-journey-body').textContent.indexOf(`+jsString(f.web)+`) >= 0`)
	f.waitIn(t, "the visitor's message is marked read", `r.querySelector('.log .m.visitor[data-mark=read]')`)

	// Typing shows on the other side, both ways.
	httpdtest.Must(t, f.op, chromedp.Focus(chromedp.ID("c-text")), chromedp.KeyEvent("Hi"))
	f.waitIn(t, "the operator's typing shows", `r.querySelector('.typing').textContent.indexOf('typing') >= 0`)
	httpdtest.Must(t, f.op, chromedp.KeyEvent(", how can I help?"), chromedp.KeyEvent(kb.Enter))
	f.waitIn(t, "the operator's answer shows", `r.querySelectorAll('.log .m.operator').length == 1`)
	f.typeInto(t, "#cs-chat-text", "Wait")
	f.opWait(t, "the visitor's typing shows", `document.getElementById('c-typing').textContent != ''`)
	in[any](t, f.widgetFixture, `(r.querySelector('#cs-chat-text').value = '', 0)`)

	// Markup is text on both sides.
	f.visitorSays(t, xss)
	f.operatorSays(t, xss)
	f.opWait(t, "the visitor's markup arrives", `document.querySelectorAll('#c-log .c-msg.visitor').length == 2`)
	f.waitIn(t, "the operator's markup arrives", `r.querySelectorAll('.log .m.operator').length == 2`)
	if got := f.operatorLog(t); !strings.HasSuffix(got, xss+" | "+xss) {
		t.Errorf("operator log %q does not end with the markup as text", got)
	}
	if got := f.visitorLog(t); !strings.HasSuffix(got, xss+" | "+xss) {
		t.Errorf("visitor log %q does not end with the markup as text", got)
	}
	if n := opEval[int](t, f, `document.querySelectorAll('#c-log img, #c-log script').length + (window.__xss ? 100 : 0)`); n != 0 {
		t.Errorf("the console ran or built visitor markup (%d)", n)
	}
	if n := in[int](t, f.widgetFixture, `r.querySelectorAll('img, script').length + (window.__xss ? 100 : 0)`); n != 0 {
		t.Errorf("the widget ran or built operator markup (%d)", n)
	}
	want := "Hello\nI need help | Hi, how can I help? | " + xss + " | " + xss
	httpdtest.SaveScreenshot(t, f.browser, "widget-en-1280")
	httpdtest.SaveScreenshot(t, f.op, "console-en-1280")

	// The next page shows the conversation, once.
	f.visit(t, "/next")
	f.waitIn(t, "the chat window is open again with the history", `r.querySelector('section.chat') && !r.querySelector('section.chat').hidden && r.querySelectorAll('.log .m').length == 4`)
	if got := f.visitorLog(t); got != want {
		t.Errorf("on the next page the visitor sees %q, want %q", got, want)
	}

	// The server restarts mid-chat; a message the visitor sends while it is
	// down goes once it is back, and both sides hold each message once.
	f.srv.Stop()
	f.visitorSays(t, "Are you there?")
	f.waitIn(t, "the visitor is told the connection is lost", `r.querySelector('.status').textContent.indexOf('reconnecting') >= 0`)
	// The console is back within its reconnect backoff, well inside the
	// lead grace of a real server (60 s): the chat, answered and with the
	// visitor's last word, stays a chat. (quickChat's 1 s grace is shorter
	// than the backoff, and would rightly make it a lead.)
	f.srv = f.srv.Restart(t, append(f.opts, func(o *httpd.Options) { o.Chats.LeadGrace = time.Minute })...)
	f.opWait(t, "the console reconnects", `document.querySelector('#c-conn.up')`)
	f.opWait(t, "the message sent during the restart arrives", `document.querySelectorAll('#c-log .c-msg.visitor').length == 3`)
	f.operatorSays(t, "Yes, still here")
	f.waitIn(t, "the answer after the restart arrives", `r.querySelectorAll('.log .m.operator').length == 3`)
	want += " | Are you there? | Yes, still here"
	f.waitIn(t, "every message is acknowledged", `!r.querySelector('.log .m.visitor[data-mark=sending]')`)
	if got := f.visitorLog(t); got != want {
		t.Errorf("after the restart the visitor sees %q, want %q", got, want)
	}
	if got := f.operatorLog(t); got != want {
		t.Errorf("after the restart the operator sees %q, want %q", got, want)
	}
	f.visit(t, "/")
	f.waitIn(t, "the history after the restart", `r.querySelectorAll('.log .m').length == 6`)
	if got := f.visitorLog(t); got != want {
		t.Errorf("reloaded after the restart the visitor sees %q, want %q", got, want)
	}
	f.noExceptions(t)
}

// twoTabsOffline opens a chat whose first message, "First", the operator
// has, then a second tab of the site, and stops the server; it returns
// once both windows say the connection is lost, with the second tab and
// what closes it.
func (f *chatFixture) twoTabsOffline(t *testing.T) (tab context.Context, closeTab func()) {
	t.Helper()
	f.openedByOperator(t, "First")
	f.waitIn(t, "the first message is stored", `r.querySelector('.log .m.visitor') && !r.querySelector('.log .m.visitor[data-mark=sending]')`)
	tab, closeTab = f.secondTab(t, 1)
	f.srv.Stop()
	f.waitInTab(t, tab, "the window says the connection is lost", `r.querySelector('.status').textContent.indexOf('reconnecting') >= 0`)
	f.waitIn(t, "the window says the connection is lost", `r.querySelector('.status').textContent.indexOf('reconnecting') >= 0`)
	return tab, closeTab
}

// Two tabs of the site share the visitor's unsent messages
// (localStorage): each tab says something while the server is down, and
// one of them is closed before it is back, handing its message to the
// other. The tab left open sends both once the server is back: each is
// stored and shown once, in the order typed, and nothing is left to send.
// (The tabs once kept one list, which each rewrote from its own copy: the
// closed tab's message was lost.)
func TestChatUnsentAcrossTabs(t *testing.T) {
	f := newChatFixture(t, "en")
	tab, closeTab := f.twoTabsOffline(t)
	inTab := func(what, js string) {
		t.Helper()
		f.waitInTab(t, tab, what, js)
	}
	httpdtest.Must(t, tab, chromedp.Focus(chromedp.JSPath(shadow+`.querySelector('#cs-chat-text')`)), chromedp.KeyEvent("From the tab closed"), chromedp.KeyEvent(kb.Enter))
	inTab("the message waits", `r.querySelector('.log .m.visitor[data-mark=sending]')`)
	f.visitorSays(t, "From the tab left open")
	f.waitIn(t, "the message waits", `r.querySelector('.log .m.visitor[data-mark=sending]')`)
	closeTab()
	f.waitIn(t, "the closed tab hands its message over", `r.querySelectorAll('.log .m.visitor[data-mark=sending]').length == 2`)

	// A lead grace longer than the reconnect backoff, as in
	// TestChatVisitorAndOperator: the chat stays a chat.
	f.srv = f.srv.Restart(t, append(f.opts, func(o *httpd.Options) { o.Chats.LeadGrace = time.Minute })...)
	f.opWait(t, "the console reconnects", `document.querySelector('#c-conn.up')`)
	f.opWait(t, "both messages arrive", `document.querySelectorAll('#c-log .c-msg.visitor').length >= 3`)
	f.waitIn(t, "every message is acknowledged", `r.querySelectorAll('.log .m.visitor').length >= 3 && !r.querySelector('.log .m.visitor[data-mark=sending]')`)
	const want = "First | From the tab closed | From the tab left open"
	if got := f.operatorLog(t); got != want {
		t.Errorf("the operator sees %q, want %q", got, want)
	}
	if got := f.visitorLog(t); got != want {
		t.Errorf("the visitor sees %q, want %q", got, want)
	}
	if n := eval[int](t, f.snippetFixture, `Object.keys(localStorage).filter(k => k.indexOf('_cs_chat_p') == 0).length`); n != 0 {
		t.Errorf("%d messages are still kept to send", n)
	}
	f.visit(t, "/")
	f.waitIn(t, "the history shows again", `r.querySelectorAll('.log .m.visitor').length >= 3`)
	if got := f.visitorLog(t); got != want {
		t.Errorf("on the next page the visitor sees %q, want %q", got, want)
	}
	f.noExceptions(t)
}

// A message typed while the server is down, with a second tab open: both
// tabs send it once the server is back (the one that typed it, and the
// other from localStorage), the server stores it once, and each tab and
// the console show it once.
func TestChatUnsentSentOnceFromTwoTabs(t *testing.T) {
	f := newChatFixture(t, "en")
	tab, _ := f.twoTabsOffline(t)
	f.visitorSays(t, "Typed once")
	f.waitIn(t, "the message waits", `r.querySelector('.log .m.visitor[data-mark=sending]')`)

	f.srv = f.srv.Restart(t, append(f.opts, func(o *httpd.Options) { o.Chats.LeadGrace = time.Minute })...)
	f.opWait(t, "the console reconnects", `document.querySelector('#c-conn.up')`)
	f.opWait(t, "the message arrives", `document.querySelectorAll('#c-log .c-msg.visitor').length >= 2`)
	f.waitIn(t, "the message is acknowledged", `r.querySelectorAll('.log .m.visitor').length >= 2 && !r.querySelector('.log .m.visitor[data-mark=sending]')`)
	f.waitInTab(t, tab, "the message shows", `r.querySelectorAll('.log .m.visitor').length >= 2 && !r.querySelector('.log .m.visitor[data-mark=sending]')`)
	const want = "First | Typed once"
	if got := f.operatorLog(t); got != want {
		t.Errorf("the operator sees %q, want %q", got, want)
	}
	if got := f.visitorLog(t); got != want {
		t.Errorf("the tab that typed it shows %q, want %q", got, want)
	}
	if got := httpdtest.Eval[string](t, tab, `Array.from(`+shadow+`.querySelectorAll('.log .m .text')).map(n => n.textContent).join(' | ')`); got != want {
		t.Errorf("the other tab shows %q, want %q", got, want)
	}
	f.visit(t, "/")
	f.waitIn(t, "the history shows again", `r.querySelectorAll('.log .m.visitor[data-id]').length >= 2`)
	if got := f.visitorLog(t); got != want {
		t.Errorf("on the next page the visitor sees %q, want %q", got, want)
	}
	f.noExceptions(t)
}

// secondTab opens the site's page "/" in a second tab of the visitor's
// browser context, which shares the first tab's localStorage, and waits
// until its chat window shows the visitor's n messages; closeTab closes it.
func (f *chatFixture) secondTab(t *testing.T, n int) (tab context.Context, closeTab func()) {
	t.Helper()
	tab, closeTab = chromedp.NewContext(f.browser)
	t.Cleanup(closeTab)
	httpdtest.Must(t, tab, chromedp.Navigate(f.web))
	f.waitInTab(t, tab, "the chat window shows the conversation", `r.querySelector('section.chat') && !r.querySelector('section.chat').hidden && r.querySelectorAll('.log .m.visitor').length == `+strconv.Itoa(n))
	return tab, closeTab
}

// waitInTab is waitIn for another tab of the visitor's.
func (f *chatFixture) waitInTab(t *testing.T, tab context.Context, what, js string) {
	t.Helper()
	f.eventually(t, what+" (second tab)", func() bool {
		return httpdtest.Eval[bool](t, tab, `(function () { var h = document.querySelector('cs-widget'); var r = h && h.shadowRoot;
return !!(r && (`+js+`)) })()`)
	})
}

// A message an earlier snippet kept unsent, in the one list it wrote
// (the "p" of _cs_chat), is sent by this one on the next page, once.
func TestChatUnsentFromEarlierSnippet(t *testing.T) {
	f := newChatFixture(t, "en")
	f.page("/", sitePage("Shop", "", f.install, ""))
	f.page("/blank", "<!doctype html><title>blank</title>")
	f.console(t, "en")
	httpdtest.Must(t, f.browser, chromedp.Navigate(f.web+"blank"))
	eval[any](t, f.snippetFixture, `(localStorage.setItem('_cs_chat', JSON.stringify({s: `+jsString(f.key)+`, chat: 0, open: true,
p: [{ref: 'earlier-1', text: 'Kept by the earlier snippet'}]})), 0)`)
	f.visit(t, "/")
	f.waitIn(t, "the kept message is stored", `r.querySelector('.log .m.visitor') && !r.querySelector('.log .m.visitor[data-mark=sending]')`)
	f.opWait(t, "the chat is listed", `document.querySelector('#c-chats li[data-chat] button')`)
	httpdtest.Must(t, f.op, chromedp.Click(chromedp.CSS(`#c-chats li[data-chat] button`)))
	f.opWait(t, "the message shows", `document.querySelectorAll('#c-log .c-msg.visitor').length >= 1`)
	const want = "Kept by the earlier snippet"
	if got := f.operatorLog(t); got != want {
		t.Errorf("the operator sees %q, want %q", got, want)
	}
	if got := eval[string](t, f.snippetFixture, `Object.keys(localStorage).filter(k => k.indexOf('_cs_chat_p') == 0).join() + '|' + ('p' in JSON.parse(localStorage.getItem('_cs_chat')))`); got != "|false" {
		t.Errorf("left in localStorage: %q, want nothing to send and no list", got)
	}
	f.visit(t, "/")
	f.waitIn(t, "the history shows again", `r.querySelector('.log .m.visitor[data-id]')`)
	if got := f.visitorLog(t); got != want {
		t.Errorf("on the next page the visitor sees %q, want %q", got, want)
	}
	f.noExceptions(t)
}

// With WebSockets blocked the chat window falls back to long-polling and
// the conversation goes both ways all the same.
func TestChatLongPollFallback(t *testing.T) {
	f := newChatFixture(t, "en")
	block := `window.WebSocket = function () { throw new Error("blocked by the network"); };`
	f.page("/", sitePage("Shop", block, f.install, ""))
	f.operatorOpens(t, "Polling hello")
	f.opWait(t, "the polled message shows", `document.querySelectorAll('#c-log .c-msg.visitor').length == 1`)
	f.operatorSays(t, "Polling answer")
	f.waitIn(t, "the answer comes through the long poll", `r.querySelectorAll('.log .m.operator').length == 1`)
	if got := f.visitorLog(t); got != "Polling hello | Polling answer" {
		t.Errorf("visitor sees %q", got)
	}
	f.noExceptions(t)
}

// A visitor on a page whose URL is longer than the server takes (a long
// ad query string) chats as on any page, over the socket and over the
// long poll: the window sends the URL cut as the hit's, and the operator
// sees the page the chat began on.
func TestChatLongPageURL(t *testing.T) {
	for _, transport := range []string{"socket", "poll"} {
		t.Run(transport, func(t *testing.T) {
			f := newChatFixture(t, "en")
			block := ""
			if transport == "poll" {
				block = `window.WebSocket = function () { throw new Error("blocked by the network"); };`
			}
			f.page("/", sitePage("Shop", block, f.install, ""))
			f.path = "/?q=" + strings.Repeat("%D0%B6", 1000) // 6,000 bytes
			f.operatorOpens(t, "Hello from a long URL")
			f.opWait(t, "the message shows", `document.querySelectorAll('#c-log .c-msg.visitor').length == 1`)
			f.opWait(t, "the page the chat began on shows", `Array.from(document.querySelectorAll('#c-journey-body dt')).some(dt => dt.textContent == 'Chat began on' && dt.nextElementSibling.textContent.indexOf('?q=%D0%B6%D0%B6') >= 0)`)
			f.noExceptions(t)
		})
	}
}

// An operator who reads the chat and leaves without answering: the status
// turns false on the page without a reload, and the chat no one answered
// becomes a lead with its transcript.
func TestChatWindowUnansweredBecomesLead(t *testing.T) {
	f := newChatFixture(t, "ru")
	f.openedByOperator(t, "Мой телефон +7 910 123-45-67, перезвоните")
	if got := in[string](t, f.widgetFixture, `r.querySelector('#cs-chat-title').textContent`); got != "Онлайн-консультант" {
		t.Errorf("title %q", got)
	}
	httpdtest.SaveScreenshot(t, f.op, "console-ru-1280")
	httpdtest.SaveScreenshot(t, f.browser, "widget-ru-1280")

	httpdtest.Must(t, f.op, chromedp.Navigate("about:blank"))
	f.eventually(t, "getOperatorStatus() turns false", func() bool { return !eval[bool](t, f.snippetFixture, `Comagic.getOperatorStatus()`) })
	// With no operator, the window asks for the means to reach the
	// visitor, which the lead then carries.
	f.waitIn(t, "the window asks for a phone or email", `r.querySelector('.status').textContent.indexOf('телефон или эл. почту') >= 0`)
	f.waitIn(t, "the visitor is told the chat became a lead", `r.querySelector('.log .note') && r.querySelector('.log').textContent.indexOf('свяжемся') >= 0`)
	var found bool
	f.eventually(t, "the lead is stored", func() bool {
		for _, l := range siteLeads(t, f.srv, f.key) {
			if strings.Contains(l.Message, "Мой телефон +7 910 123-45-67, перезвоните") {
				found = true
				if l.Phone != "79101234567" || l.PhoneRaw != "+7 910 123-45-67" {
					t.Errorf("the lead's phone %q (as written %q), want the one the visitor wrote", l.Phone, l.PhoneRaw)
				}
			}
		}
		return found
	})
	// The window tells it once, in its own language, and so does the
	// history on the next page.
	const leadNote = "К сожалению, никто не успел ответить. Ваши сообщения сохранены — мы свяжемся с вами."
	notes := `Array.from(r.querySelectorAll('.log .note')).map(n => n.textContent).join(' | ')`
	time.Sleep(500 * time.Millisecond) // the closed frame follows the system message
	if got := in[string](t, f.widgetFixture, notes); got != leadNote {
		t.Errorf("the window's notes after the lead: %q, want %q", got, leadNote)
	}
	f.visit(t, "/")
	// (the lead's note, the chat's last message, replaces the note that
	// the chat ended, which the welcome of an ended chat puts first)
	f.waitIn(t, "the history shows again", `r.querySelectorAll('.log .m').length == 1 && r.querySelector('.log').textContent.indexOf('свяжемся') >= 0`)
	if got := in[string](t, f.widgetFixture, notes); got != leadNote {
		t.Errorf("the window's notes on the next page: %q, want %q", got, leadNote)
	}
	f.noExceptions(t)
}

// A visitor who writes again after the operator answered and left: the
// window says no one is online and to write; what they write becomes a
// lead with the conversation, and they are told they will be contacted.
func TestChatFollowUpAfterOperatorLeftBecomesLead(t *testing.T) {
	f := newChatFixture(t, "ru")
	f.openedByOperator(t, "Доставляете в Тулу?")
	f.operatorSays(t, "Да, за два дня")
	f.waitIn(t, "the answer shows", `r.querySelectorAll('.log .m.operator').length == 1`)

	httpdtest.Must(t, f.op, chromedp.Navigate("about:blank"))
	f.eventually(t, "getOperatorStatus() turns false", func() bool { return !eval[bool](t, f.snippetFixture, `Comagic.getOperatorStatus()`) })
	f.waitIn(t, "the window says no one is online", `r.querySelector('.status').textContent.indexOf('Сейчас никого нет на связи') == 0`)
	f.visitorSays(t, "Отлично, позвоните мне: 8 910 123-45-67")
	f.waitIn(t, "the visitor is told they will be contacted", `r.querySelector('.log').textContent.indexOf('свяжемся') >= 0`)
	var found bool
	f.eventually(t, "the lead is stored", func() bool {
		for _, l := range siteLeads(t, f.srv, f.key) {
			found = found || strings.Contains(l.Message, "Отлично, позвоните мне: 8 910 123-45-67") && strings.Contains(l.Message, "Да, за два дня")
		}
		return found
	})
	f.noExceptions(t)
}

// A reply over the 4096-byte limit that the field's 4096-character
// maxlength lets through (Cyrillic: two bytes a letter) is not sent: the
// console says it is too long and keeps it in the field to be shortened,
// and stays connected.
func TestChatConsoleLongReplyKept(t *testing.T) {
	f := newChatFixture(t, "ru")
	f.openedByOperator(t, "Расскажите подробно об условиях доставки\u202e 8 916 123")
	// A bidi override the visitor typed shows as U+FFFD, set apart from
	// the rest of the line (dir=auto), so it reorders nothing.
	f.opWait(t, "the visitor's message shows", `document.querySelectorAll('#c-log .c-msg.visitor .c-text').length == 1`)
	if got, dir := f.operatorLog(t), opEval[string](t, f, `document.querySelector('#c-log .c-msg.visitor .c-text').dir`); got != "Расскажите подробно об условиях доставки\ufffd 8 916 123" || dir != "auto" {
		t.Errorf("the console shows %q (dir %q), want the override as U+FFFD, dir auto", got, dir)
	}
	long := strings.Repeat("доставка ", 300) // 2700 characters, 5100 bytes
	opEval[any](t, f, `(document.getElementById('c-text').value = `+jsString(long)+`, 0)`)
	httpdtest.Must(t, f.op, chromedp.Focus(chromedp.ID("c-text")), chromedp.KeyEvent(kb.Enter))
	f.opWait(t, "the console says the reply is too long", `!document.getElementById('c-error').hidden && document.getElementById('c-error').textContent == 'Сообщение пустое или слишком длинное.'`)
	if got := opEval[string](t, f, `document.getElementById('c-text').value`); strings.TrimSpace(got) != strings.TrimSpace(long) {
		t.Errorf("the reply field holds %d characters, want the reply kept", len([]rune(got)))
	}
	time.Sleep(time.Second)
	if !opEval[bool](t, f, `!!document.querySelector('#c-conn.up')`) {
		t.Error("the console lost its connection over a reply too long")
	}
	if n := in[int](t, f.widgetFixture, `r.querySelectorAll('.log .m.operator').length`); n != 0 {
		t.Errorf("the visitor got %d operator messages", n)
	}
	opEval[any](t, f, `(document.getElementById('c-text').value = '', 0)`)
	f.operatorSays(t, "Коротко: 2 дня")
	f.waitIn(t, "a reply of the right size goes", `r.querySelectorAll('.log .m.operator').length == 1`)
	f.noExceptions(t)
}

// Screenshots of the widget and the console on a phone, in both
// languages; the chat window fills the screen there, and its field and the
// lead form's are in a font a phone does not zoom into.
func TestChatPhoneScreens(t *testing.T) {
	for _, lang := range []string{"ru", "en"} {
		t.Run(lang, func(t *testing.T) {
			f := newChatFixture(t, lang)
			httpdtest.Must(t, f.browser, chromedp.EmulateViewport(390, 844))
			httpdtest.Must(t, f.op, chromedp.EmulateViewport(390, 844))
			f.openedByOperator(t, map[string]string{"ru": "Здравствуйте!", "en": "Hello there!"}[lang])
			f.operatorSays(t, map[string]string{"ru": "Добрый день, чем помочь?", "en": "Good afternoon, how can I help?"}[lang])
			f.waitIn(t, "the answer shows", `r.querySelectorAll('.log .m.operator').length == 1`)
			if got := in[string](t, f.widgetFixture, `(function (b) { return b.width + 'x' + b.height })(r.querySelector('section.chat').getBoundingClientRect())`); got != "390x844" {
				t.Errorf("the chat window on a phone is %s, want the whole screen 390x844", got)
			}
			httpdtest.SaveScreenshot(t, f.browser, "widget-"+lang+"-390")
			httpdtest.SaveScreenshot(t, f.op, "console-"+lang+"-390")
			// A field in a font under 16px makes iOS Safari zoom the page
			// into it when it takes focus, and the page stays zoomed.
			small := `Array.from(r.querySelectorAll('input, select, textarea')).filter(n => n.type != 'radio' && parseFloat(getComputedStyle(n).fontSize) < 16).map(n => n.id || n.outerHTML.slice(0, 40)).join(' ')`
			if got := in[string](t, f.widgetFixture, small); got != "" {
				t.Errorf("fields of the chat in a font under 16px: %s", got)
			}
			eval[any](t, f.snippetFixture, `Comagic.openSiteRequestPanel()`)
			f.waitIn(t, "the lead form opens", `r.querySelector('#cs-message')`)
			if got := in[string](t, f.widgetFixture, small); got != "" {
				t.Errorf("fields of the lead form in a font under 16px: %s", got)
			}
			f.noExceptions(t)
		})
	}
}

// The site's chat page sets the floating button, greeting and canned
// replies; the button opens the lead form while no operator is online and
// the chat once one is; a canned reply goes out from the console; the
// button counts what arrives while the window is minimized; a finished
// chat is listed with its transcript, found by a word and exported as CSV.
func TestChatSettingsButtonAndFinishedChats(t *testing.T) {
	f := newChatFixture(t, "en")
	f.page("/", sitePage("Shop", "", f.install, ""))
	httpdtest.Must(t, f.op, chromedp.Navigate(f.srv.URL+"sites/"+f.key+"/chat"))
	opEval[any](t, f, `(function () { var q = s => document.querySelector(s);
q('#chat-settings input[name=button]').checked = true; q('select[name=position]').value = 'left';
q('input[name=color]').value = '#aa3355'; q('textarea[name=greeting]').value = 'Hi! Ask us anything.';
q('textarea[name=canned]').value = 'Hello!\nWe deliver in 2 days.'; return 0 })()`)
	submit(t, f.op, `#chat-settings button[type=submit]`)
	if got := opEval[string](t, f, `(document.querySelector('.flash') || {}).textContent || ''`); !strings.Contains(got, "Saved") {
		t.Fatalf("saving the chat settings says %q", got)
	}

	f.visit(t, "/")
	f.waitIn(t, "the floating button shows", `r.querySelector('button.fab')`)
	if got := in[string](t, f.widgetFixture, `(function (b) { var c = getComputedStyle(b); return b.getAttribute('aria-label') + '|' + c.backgroundColor + '|' + (b.getBoundingClientRect().left < 100) })(r.querySelector('button.fab'))`); got != "Open the chat|rgb(170, 51, 85)|true" {
		t.Errorf("the button: %s", got)
	}
	f.click(t, "button.fab")
	f.waitIn(t, "with no operator online the button opens the lead form", `r.querySelector('[data-kind=lead]')`)
	httpdtest.Must(t, f.browser, chromedp.KeyEvent(kb.Escape))

	f.console(t, "en")
	f.eventually(t, "the page hears the operator is online", func() bool { return eval[bool](t, f.snippetFixture, `Comagic.getOperatorStatus()`) })
	f.click(t, "button.fab")
	f.waitIn(t, "the button opens the chat", `r.querySelector('section.chat') && !r.querySelector('section.chat').hidden`)
	if got := in[string](t, f.widgetFixture, `r.querySelector('.greet').textContent`); got != "Hi! Ask us anything." {
		t.Errorf("greeting %q", got)
	}
	f.visitorSays(t, "Do you deliver to Tula?")
	f.opWait(t, "the chat is listed", `document.querySelector('#c-chats li[data-chat] button')`)
	httpdtest.Must(t, f.op, chromedp.Click(chromedp.CSS(`#c-chats li[data-chat] button`)))
	f.opWait(t, "the canned replies are offered", `document.querySelectorAll('#c-canned option').length == 3`)
	opEval[any](t, f, `(function (s) { s.value = '1'; s.dispatchEvent(new Event('change')); return 0 })(document.getElementById('c-canned'))`)
	if got := opEval[string](t, f, `document.getElementById('c-text').value`); got != "We deliver in 2 days." {
		t.Errorf("the canned reply put %q in the reply field", got)
	}
	httpdtest.Must(t, f.op, chromedp.Focus(chromedp.ID("c-text")), chromedp.KeyEvent(kb.Enter))
	f.waitIn(t, "the canned reply arrives", `r.querySelectorAll('.log .m.operator').length == 1`)

	f.click(t, "header button.min")
	f.waitIn(t, "the window is minimized to the button", `r.querySelector('section.chat').hidden && !r.querySelector('button.fab').hidden`)
	f.operatorSays(t, "Anything else?")
	f.waitIn(t, "the button counts the unread answer", `r.querySelector('.badge').textContent == '1'`)

	httpdtest.Must(t, f.op, chromedp.Click(chromedp.ID("c-close")))
	f.click(t, "button.fab")
	f.waitIn(t, "the visitor is told the chat ended", `r.querySelector('.log').textContent.indexOf('The chat has ended') >= 0`)

	httpdtest.Must(t, f.op, chromedp.Navigate(f.srv.URL+"sites/"+f.key+"/chat?q=tula"))
	if got := opEval[string](t, f, `(document.querySelector('#chats .transcript') || {}).textContent || ''`); !strings.Contains(got, "Do you deliver to Tula?") || !strings.Contains(got, "We deliver in 2 days.") {
		t.Errorf("the finished chat's transcript: %q", got)
	}
	httpdtest.Must(t, f.op, chromedp.Navigate(f.srv.URL+"sites/"+f.key+"/chat?q=moscow"))
	if n := opEval[int](t, f, `document.querySelectorAll('#chats tbody tr').length`); n != 0 {
		t.Errorf("a search for a word no chat has lists %d chats", n)
	}
	csv := opEval[string](t, f, `fetch('/sites/`+f.key+`/chats.csv').then(r => r.text())`)
	if !strings.HasPrefix(csv, "id,created,closed") || !strings.Contains(csv, "Do you deliver to Tula?") {
		t.Errorf("CSV:\n%s", csv)
	}
	f.noExceptions(t)
}

// The console lists the visitors on the site now with their page, and an
// operator starts a chat with one: the invitation opens the visitor's
// window with the operator's words, and the visitor answers.
func TestChatInvitation(t *testing.T) {
	f := newChatFixture(t, "en")
	f.page("/", sitePage("Shop", "", f.install, ""))
	f.page("/pricing", sitePage("Pricing", "", f.install, ""))
	f.console(t, "en")
	f.visit(t, "/")
	f.visit(t, "/pricing")
	f.opWait(t, "the visitor is listed on the pricing page", `Array.from(document.querySelectorAll('#c-visitors li[data-visitor]')).some(li => li.textContent.indexOf('/pricing') >= 0)`)
	httpdtest.Must(t, f.op, chromedp.Click(chromedp.CSS(`#c-visitors li[data-visitor] button`)))
	f.opWait(t, "the journey shows both pages", `document.querySelectorAll('#c-journey-body ol li').length == 2`)
	if got := opEval[string](t, f, `document.querySelector('#c-journey-body ol').textContent`); !strings.Contains(got, "Shop") || !strings.Contains(got, "Pricing") {
		t.Errorf("pages of the session: %q", got)
	}
	f.operatorSays(t, "Hi! Questions about our prices?")
	f.waitIn(t, "the invitation opens the visitor's window", `r.querySelector('section.chat') && !r.querySelector('section.chat').hidden && r.querySelectorAll('.log .m.operator').length == 1`)
	f.visitorSays(t, "Yes: is there a discount?")
	f.opWait(t, "the answer to the invitation arrives", `document.querySelectorAll('#c-log .c-msg.visitor').length == 1`)
	if got := f.operatorLog(t); got != "Hi! Questions about our prices? | Yes: is there a discount?" {
		t.Errorf("operator sees %q", got)
	}
	f.noExceptions(t)
}

// A visitor who writes Hebrew in a Russian window, and an operator who
// answers in Arabic, read each message right to left (its punctuation at
// its end, on the left), and the fields (the chat's, the lead form's) take
// the direction of what is typed in them; a Russian message in the same
// window stays left to right.
func TestChatRightToLeft(t *testing.T) {
	f := newChatFixture(t, "ru")
	f.openedByOperator(t, "Здравствуйте")
	f.opWait(t, "the visitor's message shows", `document.querySelectorAll('#c-log .c-msg.visitor').length == 1`)
	in[any](t, f.widgetFixture, `(r.querySelector('#cs-chat-text').value = "שלום, מתי אתם פתוחים?", 0)`)
	if !in[bool](t, f.widgetFixture, `r.querySelector('#cs-chat-text').matches(':dir(rtl)')`) {
		t.Error("the chat field holding Hebrew is left to right")
	}
	f.visitorSays(t, "") // focuses the field, sends with Enter
	opEval[any](t, f, `(document.getElementById('c-text').value = "مرحبا! من 9 إلى 18.", 0)`)
	httpdtest.Must(t, f.op, chromedp.Focus(chromedp.ID("c-text")), chromedp.KeyEvent(kb.Enter))
	f.waitIn(t, "the answer shows", `r.querySelectorAll('.log .m.operator').length == 1`)
	got := in[string](t, f.widgetFixture, `Array.from(r.querySelectorAll('.log .m .text')).map(n => n.textContent + (n.matches(':dir(rtl)') ? ' rtl' : ' ltr')).join(' | ')`)
	if want := "Здравствуйте ltr | שלום, מתי אתם פתוחים? rtl | مرحبا! من 9 إلى 18. rtl"; got != want {
		t.Errorf("the visitor's window shows %q, want %q", got, want)
	}
	// So do the lead form's name and message.
	eval[any](t, f.snippetFixture, `Comagic.openSiteRequestPanel()`)
	f.waitIn(t, "the lead form opens", `r.querySelector('#cs-message')`)
	if got := in[string](t, f.widgetFixture, `['#cs-name', '#cs-message'].map(function (s) { var n = r.querySelector(s); n.value = "דוד"; return n.matches(':dir(rtl)') ? 'rtl' : 'ltr'; }).join(' ')`); got != "rtl rtl" {
		t.Errorf("the lead form's name and message holding Hebrew are %s, want rtl rtl", got)
	}
	f.noExceptions(t)
}

// A text longer than one message may be (4096 bytes: 2,048 Cyrillic
// letters) that the visitor pastes goes whole, as messages in order, each
// cut at a space; none of it is cut off by the field or refused.
func TestChatVisitorLongTextSentWhole(t *testing.T) {
	f := newChatFixture(t, "ru")
	f.openedByOperator(t, "Здравствуйте")
	f.opWait(t, "the visitor's message shows", `document.querySelectorAll('#c-log .c-msg.visitor').length == 1`)
	var b strings.Builder
	for i := 1; b.Len() < 10_000; i++ {
		fmt.Fprintf(&b, "пункт %d договора поставки; ", i)
	}
	long := strings.TrimSpace(b.String())
	httpdtest.Must(t, f.browser, chromedp.Focus(chromedp.JSPath(shadow+`.querySelector('#cs-chat-text')`)))
	if _, err := chromedp.Call(f.browser, input.InsertText, input.InsertTextParams{Text: long}); err != nil {
		t.Fatal(err)
	}
	httpdtest.Must(t, f.browser, chromedp.KeyEvent(kb.Enter))
	f.opWait(t, "the long text arrives", `document.querySelectorAll('#c-log .c-msg.visitor').length == 4`)
	parts := opEval[[]string](t, f, `Array.from(document.querySelectorAll('#c-log .c-msg.visitor .c-text')).slice(1).map(n => n.textContent)`)
	for i, p := range parts {
		if len(p) > 4096 {
			t.Errorf("part %d is %d bytes, over 4096", i+1, len(p))
		}
	}
	if got := strings.Join(parts, " "); got != long {
		t.Errorf("the operator got %d bytes in %d parts, want the %d bytes pasted", len(got), len(parts), len(long))
	}
	// (chromedp's Enter types a line break after the keydown that sent.)
	if got := in[string](t, f.widgetFixture, `r.querySelector('#cs-chat-text').value.trim()`); got != "" {
		t.Errorf("the field still holds %q", got)
	}
	f.noExceptions(t)
}

// A visitor whose network dropped long enough for the reconnect backoff to
// grow (up to 30 s) is connected again as soon as the browser says the
// network is back, not at the next retry: the page here holds every timer
// of a second or more once the chat is up, so only the online event can
// bring the chat back; a message written meanwhile then goes.
func TestChatReconnectsWhenNetworkIsBack(t *testing.T) {
	f := newChatFixture(t, "en")
	hold := `var realSet = window.setTimeout;
window.setTimeout = function (fn, ms) {
  if (window.holdTimers && ms >= 1000) return 0;
  return realSet.apply(window, arguments);
};`
	f.page("/", sitePage("Shop", hold, f.install, ""))
	f.operatorOpens(t, "Hello")
	f.opWait(t, "the visitor's message shows", `document.querySelectorAll('#c-log .c-msg.visitor').length == 1`)
	eval[any](t, f.snippetFixture, `window.holdTimers = true`)
	f.srv.Stop()
	f.waitIn(t, "the visitor is told the connection is lost", `r.querySelector('.status').textContent.indexOf('reconnecting') >= 0`)
	f.visitorSays(t, "Still there?")
	f.srv = f.srv.Restart(t, append(f.opts, func(o *httpd.Options) { o.Chats.LeadGrace = time.Minute })...)
	f.opWait(t, "the console reconnects", `document.querySelector('#c-conn.up')`)
	eval[any](t, f.snippetFixture, `window.dispatchEvent(new Event("online"))`)
	f.waitIn(t, "the window is connected again", `r.querySelector('.status').textContent.indexOf('reconnecting') < 0`)
	f.opWait(t, "the message written while offline arrives", `document.querySelectorAll('#c-log .c-msg.visitor').length == 2`)
	if got := f.operatorLog(t); got != "Hello | Still there?" {
		t.Errorf("the operator sees %q", got)
	}
	f.noExceptions(t)
}

// A control character pasted with a visitor's text (some editors put a
// vertical tab or form feed on the clipboard for a line break, and may
// carry others that show as nothing) does not get the text refused: in the
// chat and in the lead form it goes with a line break for the first kind
// and without the others.
func TestChatControlCharactersPasted(t *testing.T) {
	f := newChatFixture(t, "en")
	f.openedByOperator(t, "Hello")
	f.opWait(t, "the visitor's message shows", `document.querySelectorAll('#c-log .c-msg.visitor').length == 1`)
	in[any](t, f.widgetFixture, `(r.querySelector('#cs-chat-text').value = "line one\u000bline two\u0007\u000cline three", 0)`)
	f.visitorSays(t, "")
	f.opWait(t, "the pasted message arrives", `document.querySelectorAll('#c-log .c-msg.visitor').length == 2`)
	if got, want := f.operatorLog(t), "Hello | line one\nline two\nline three"; got != want {
		t.Errorf("the operator sees %q, want %q", got, want)
	}
	eval[any](t, f.snippetFixture, `Comagic.openSiteRequestPanel()`)
	f.waitIn(t, "the lead form opens", `r.querySelector('#cs-message')`)
	in[any](t, f.widgetFixture, `(r.querySelector('#cs-name').value = "Anna\u0007", r.querySelector('#cs-message').value = "Call me\u000bafter lunch", 0)`)
	f.click(t, ".dialog button[type=submit]")
	f.waitIn(t, "the lead is sent", `r.querySelector('.dialog [role=status]')`)
	ls := siteLeads(t, f.srv, f.key)
	if len(ls) != 1 || ls[0].Name != "Anna" || ls[0].Message != "Call me\nafter lunch" {
		t.Errorf("stored leads %+v, want Anna's with the line break", ls)
	}
	f.noExceptions(t)
}

// The console counts a chat's messages no operator has read, also those
// that came while it was closed: after a reload the chat still says 1
// unread (the chat's operator_read mark), where it said none. An operator
// who reads the chat in another console clears the count in this one,
// as the visitor's window marks it read.
func TestChatConsoleUnreadAcrossReloadAndOperators(t *testing.T) {
	f := newChatFixture(t, "en")
	f.page("/", sitePage("Shop", "", f.install, ""))
	f.console(t, "en")
	f.visit(t, "/")
	f.eventually(t, "getOperatorStatus() is true", func() bool { return eval[bool](t, f.snippetFixture, `Comagic.getOperatorStatus()`) })
	eval[any](t, f.snippetFixture, `Comagic.openChatWindow()`)
	f.waitIn(t, "the chat opens", `r.querySelector('section.chat') && !r.querySelector('section.chat').hidden`)
	f.visitorSays(t, "Hello")
	unread := `document.querySelector('#c-chats .c-unread') && document.querySelector('#c-chats .c-unread').textContent == '1' && document.title.indexOf('(1) ') == 0`
	f.opWait(t, "the chat counts 1 unread", unread)

	f.console(t, "en") // a reload
	f.opWait(t, "the chat is listed again", `document.querySelector('#c-chats li[data-chat] button')`)
	f.opWait(t, "after a reload the chat still counts 1 unread", unread)

	// Another console (a second tab) opens the chat and reads it.
	other, closeOther := chromedp.NewContext(f.op)
	defer closeOther()
	httpdtest.Must(t, other, chromedp.Navigate(f.srv.URL+"chat"))
	f.eventually(t, "the chat is listed in the other console", func() bool {
		return httpdtest.Eval[bool](t, other, `!!document.querySelector('#c-chats li[data-chat] button')`)
	})
	httpdtest.Must(t, other, chromedp.Click(chromedp.CSS(`#c-chats li[data-chat] button`)))
	f.waitIn(t, "the visitor's message is marked read", `r.querySelector('.log .m.visitor[data-mark=read]')`)
	f.opWait(t, "the first console no longer counts it unread", `!document.querySelector('#c-chats .c-unread') && document.title.indexOf('(') != 0`)
	f.noExceptions(t)
}

// A greeting with a long link in it, and a visitor's message of one long
// word, wrap inside the chat window on a phone: nothing runs past its
// right edge.
func TestChatLongWordsWrap(t *testing.T) {
	f := newChatFixture(t, "en")
	f.page("/", sitePage("Shop", "", f.install, ""))
	greeting := "Hi! Our prices: https://shop.example.com/catalog/" + strings.Repeat("CategoryAndSubcategory", 8) + ".pdf"
	httpdtest.Must(t, f.op, chromedp.Navigate(f.srv.URL+"sites/"+f.key+"/chat"))
	opEval[any](t, f, `(document.querySelector('textarea[name=greeting]').value = `+jsString(greeting)+`, 0)`)
	submit(t, f.op, `#chat-settings button[type=submit]`)
	httpdtest.Must(t, f.browser, chromedp.EmulateViewport(390, 844))
	f.operatorOpens(t, strings.Repeat("Щ", 120))
	f.waitIn(t, "the message shows", `r.querySelector('.log .m.visitor')`)
	if got := in[string](t, f.widgetFixture, `r.querySelector('.greet').textContent`); got != greeting {
		t.Fatalf("greeting %q", got)
	}
	wide := `(function (log) { var edge = log.getBoundingClientRect().right;
  return Array.from(log.querySelectorAll('.greet, .m')).filter(n => n.getBoundingClientRect().right > edge + 0.5).map(n => n.className).join(' ') +
    (log.scrollWidth > log.clientWidth ? ' (the log scrolls sideways)' : ''); })(r.querySelector('.log'))`
	if got := in[string](t, f.widgetFixture, wide); got != "" {
		t.Errorf("past the window's right edge: %s", got)
	}
	f.noExceptions(t)
}

// A long chat on a busy day: a second operator (over their own socket)
// has written 600 replies, more than one history answer carries (500),
// then the visitor asks one more thing. An operator who opens the console
// now (a reload, the start of a shift) sees the whole chat, the visitor's
// last question counted unread and shown; the chat is the second
// operator's, online, to answer. When they leave, the chat they took is
// shown as theirs, offline, and the first takes it over by answering.
func TestChatConsoleLongChatWhole(t *testing.T) {
	f := newChatFixture(t, "ru")
	f.openedByOperator(t, "Здравствуйте! Подберёте кроссовки 42 размера?")
	olga, welcome := connectConsole(t, f.srv, consoleHeader(t, f.srv, "olga@shop.example", "operator"), nil)
	open, _ := welcome["chats"].([]any)
	if len(open) != 1 {
		t.Fatalf("the second operator's console lists %d chats, want 1", len(open))
	}
	chat := num(open[0].(map[string]any)["id"])
	for i := 1; i <= 600; i++ {
		olga.send(map[string]any{"type": "send", "chat": chat, "ref": "r" + strconv.Itoa(i), "text": "Вариант " + strconv.Itoa(i)})
		olga.next("ack")
	}
	// The first operator has stepped away (their console closed); Olga is
	// still online, so the visitor may write.
	httpdtest.Must(t, f.op, chromedp.Navigate("about:blank"))
	f.visitorSays(t, "А доставка завтра будет?")
	f.waitIn(t, "the visitor's window holds the whole chat", `r.querySelectorAll('.log .m').length >= 602`)

	f.console(t, "ru") // back
	unread := `document.querySelector('#c-chats .c-unread') && document.querySelector('#c-chats .c-unread').textContent == '1'`
	f.opWait(t, "the chat counts the visitor's last question unread", unread)
	if got := opEval[string](t, f, `document.querySelector('#c-chats li[data-chat] .c-line').textContent`); got != "А доставка завтра будет?" {
		t.Errorf("the chats list shows %q as the chat's last message", got)
	}
	httpdtest.Must(t, f.op, chromedp.Click(chromedp.CSS(`#c-chats li[data-chat] button`)))
	f.opWait(t, "the console shows all 602 messages", `document.querySelectorAll('#c-log .c-msg').length == 602`)
	if got := opEval[string](t, f, `document.querySelector('#c-log .c-msg:last-child .c-text').textContent`); got != "А доставка завтра будет?" {
		t.Errorf("the console's last message is %q", got)
	}
	if !opEval[bool](t, f, `document.getElementById('c-claim').hidden && document.getElementById('c-text').disabled`) {
		t.Errorf("the console offers to take, or to answer, the chat of Olga, who is online")
	}

	// Olga goes home: the chat she took is shown as hers, gone, and may be
	// taken over; answering takes it.
	olga.conn.Close()
	f.opWait(t, "the chat shows Olga offline and offers to take it",
		`document.getElementById('c-sub').textContent == 'отвечает olga@shop.example (не в сети)' && !document.getElementById('c-claim').hidden && !document.getElementById('c-text').disabled`)
	f.operatorSays(t, "Да, завтра до 18:00")
	f.waitIn(t, "the answer reaches the visitor", `Array.from(r.querySelectorAll('.log .m.operator')).some(n => n.textContent.indexOf('Да, завтра до 18:00') >= 0)`)
	f.opWait(t, "the chat is the operator's now", `document.getElementById('c-claim').hidden && document.getElementById('c-sub').textContent.indexOf('olga') < 0`)
	f.noExceptions(t)
}

// An operator's session ends mid-chat (it expired while the laptop slept,
// the password was changed elsewhere) and the console's socket drops: the
// console says the operator is signed out, with a sign-in link, instead of
// "reconnecting" for ever; a reply typed meanwhile waits, and once the
// operator has signed in again in another tab and comes back, the console
// reconnects at once and the reply reaches the visitor.
func TestChatConsoleSignedOutMidChat(t *testing.T) {
	f := newChatFixture(t, "ru")
	f.openedByOperator(t, "Добрый день, вы работаете в субботу?")
	f.opWait(t, "the visitor's message shows", `document.querySelectorAll('#c-log .c-msg.visitor').length == 1`)
	email, password := "owner@example.com", "correct horse battery"
	if err := accounts.New(f.srv.DB).EndSessions(context.Background(), email); err != nil {
		t.Fatal(err)
	}
	f.srv = f.srv.Restart(t, append(f.opts, func(o *httpd.Options) { o.Chats.LeadGrace = time.Minute })...)
	f.opWait(t, "the console says the operator is signed out, with a sign-in link",
		`document.querySelector('#c-conn.out a[href="/login"]') && document.querySelector('#c-conn').textContent.indexOf('Вы вышли из системы') == 0`)
	f.operatorSays(t, "Да, с 10 до 16")

	other, closeOther := chromedp.NewContext(f.op)
	defer closeOther()
	httpdtest.Must(t, other,
		chromedp.Navigate(f.srv.URL+"login"),
		chromedp.SendKeys(chromedp.CSS(`input[name=email]`), email),
		chromedp.SendKeys(chromedp.CSS(`input[name=password]`), password),
	)
	submit(t, other, `button[type=submit]`)
	opEval[any](t, f, `window.dispatchEvent(new Event("focus")), 0`) // back to the console's tab
	f.opWait(t, "the console is connected again", `document.querySelector('#c-conn.up')`)
	f.waitIn(t, "the reply typed while signed out reaches the visitor",
		`Array.from(r.querySelectorAll('.log .m.operator')).some(n => n.textContent.indexOf('Да, с 10 до 16') >= 0)`)
	f.noExceptions(t)
}

// An operator on another page of the dashboard (the leads, say) while a
// colleague keeps the console: when a visitor writes, "Chat" in the menu
// and the tab's title count the chat waiting for an answer; once it is
// answered the count goes.
func TestChatWaitingShownOnOtherPages(t *testing.T) {
	f := newChatFixture(t, "ru")
	f.page("/", sitePage("Shop", "", f.install, ""))
	olga, _ := connectConsole(t, f.srv, consoleHeader(t, f.srv, "olga@shop.example", "operator"), nil)
	httpdtest.Must(t, f.op, chromedp.Navigate(f.srv.URL+"sites"))
	opEval[any](t, f, `document.cookie = "apl_lang=ru; path=/"`)
	httpdtest.Must(t, f.op, chromedp.Navigate(f.srv.URL+"sites/"+f.key+"/leads"))
	title := opEval[string](t, f, `document.title`)
	badge := `document.querySelector('#main-nav a[href="/chat"] .nav-badge')`

	f.visit(t, "/")
	f.eventually(t, "getOperatorStatus() is true", func() bool { return eval[bool](t, f.snippetFixture, `Comagic.getOperatorStatus()`) })
	eval[any](t, f.snippetFixture, `Comagic.openChatWindow()`)
	f.waitIn(t, "the chat opens", `r.querySelector('section.chat') && !r.querySelector('section.chat').hidden`)
	f.visitorSays(t, "Добрый вечер! Можно оплатить картой при получении?")
	f.opWait(t, "the menu and the title count the chat waiting",
		badge+` && !`+badge+`.hidden && `+badge+`.textContent == '1' && `+badge+`.title == '1 чат ждёт ответа' && document.title == '(1) ' + `+jsString(title))

	chat := num(olga.next("chat")["chat"].(map[string]any)["id"])
	olga.send(map[string]any{"type": "send", "chat": chat, "ref": "a1", "text": "Да, можно"})
	olga.next("ack")
	f.opWait(t, "the count goes once the chat is answered", `(!`+badge+` || `+badge+`.hidden) && document.title == `+jsString(title))
	f.noExceptions(t)
}

// An operator who keeps the console open but does nothing in it for the
// idle time is offline for visitors: the console says so instead of
// "Connected", and a move of the mouse over it makes them online again.
func TestChatConsoleSaysWhenIdle(t *testing.T) {
	f := newChatFixture(t, "ru")
	f.srv = f.srv.Restart(t, append(f.opts, func(o *httpd.Options) { o.Chats.Idle = 2 * time.Second })...)
	f.console(t, "ru")
	f.opWait(t, "the console says the operator is offline for visitors",
		`document.getElementById('c-conn').textContent.indexOf('Для посетителей вы не в сети') == 0 && !document.querySelector('#c-conn.up')`)
	httpdtest.Must(t, f.op, chromedp.MouseEvent(input.DispatchMouseEventTypeMouseMoved, 200, 200))
	f.opWait(t, "a move of the mouse makes the operator online again",
		`document.getElementById('c-conn').textContent == 'Подключено' && document.querySelector('#c-conn.up') && Array.from(document.querySelectorAll('#c-operators li')).some(li => li.textContent.indexOf('owner@example.com') == 0 && li.textContent.indexOf('на связи') > 0)`)
	f.noExceptions(t)
}

// Two operators in one chat: while a colleague writes a reply, the console
// says so under the chat, so that the visitor does not get two answers
// that cross.
func TestChatConsoleShowsColleagueWriting(t *testing.T) {
	f := newChatFixture(t, "ru")
	f.openedByOperator(t, "Подскажите, какой размер взять?")
	f.opWait(t, "the visitor's message shows", `document.querySelectorAll('#c-log .c-msg.visitor').length == 1`)
	olga, welcome := connectConsole(t, f.srv, consoleHeader(t, f.srv, "olga@shop.example", "operator"), nil)
	chat := num(welcome["chats"].([]any)[0].(map[string]any)["id"])
	olga.send(map[string]any{"type": "typing", "chat": chat, "on": true})
	f.opWait(t, "the console says Olga writes a reply", `document.getElementById('c-typing').textContent == 'olga@shop.example пишет ответ…'`)
	olga.send(map[string]any{"type": "typing", "chat": chat, "on": false})
	f.opWait(t, "and no more once she stopped", `document.getElementById('c-typing').textContent == ''`)
	f.noExceptions(t)
}

// Several visitors write at once: the console lists first the chats whose
// visitor waits for an answer, the latest first, and the answered ones
// after them, whatever order the chats began in.
func TestChatConsoleListsWaitingChatsFirst(t *testing.T) {
	f := newChatFixture(t, "ru")
	f.console(t, "ru")
	origin := strings.TrimSuffix(f.web, "/")
	olga, _ := connectConsole(t, f.srv, consoleHeader(t, f.srv, "olga@shop.example", "operator"), nil)
	say := func(who *wsClient, text string) uint64 {
		who.send(map[string]any{"type": "send", "ref": text, "text": text})
		return num(who.next("ack")["chat"])
	}
	anna, _ := newChatVisitor(t, f.srv, f.key, f.web+"boots").connect(t, origin, 0, 0)
	boris, _ := newChatVisitor(t, f.srv, f.key, f.web+"bags").connect(t, origin, 0, 0)
	first := say(anna, "Есть ли сапоги 38 размера?")
	second := say(boris, "Сколько стоит доставка?")
	olga.send(map[string]any{"type": "send", "chat": second, "ref": "o1", "text": "300 рублей"})
	olga.next("ack")
	order := `Array.from(document.querySelectorAll('#c-chats li[data-chat]')).map(li => li.getAttribute('data-chat')).join(',')`
	want := fmt.Sprintf("%d,%d", first, second)
	f.opWait(t, "the chat that waits is listed first", order+` == `+jsString(want))

	say(boris, "А за МКАД?")
	want = fmt.Sprintf("%d,%d", second, first)
	f.opWait(t, "both wait: the latest first", order+` == `+jsString(want))
	f.noExceptions(t)
}

// A chat that ends before an operator read it (the visitor closed it, it
// became a lead) leaves the console's list, and its unread messages the
// tab title's count: the title said "(1)" until a reload, for a chat
// nobody could open any more.
func TestChatConsoleTitleForgetsEndedChats(t *testing.T) {
	f := newChatFixture(t, "en")
	f.console(t, "en")
	origin := strings.TrimSuffix(f.web, "/")
	anna, _ := newChatVisitor(t, f.srv, f.key, f.web+"boots").connect(t, origin, 0, 0)
	boris, _ := newChatVisitor(t, f.srv, f.key, f.web+"bags").connect(t, origin, 0, 0)
	say := func(who *wsClient, text string) uint64 {
		who.send(map[string]any{"type": "send", "ref": text, "text": text})
		return num(who.next("ack")["chat"])
	}
	first := say(anna, "Do you have boots in size 38?")
	say(boris, "How much is delivery?")
	f.opWait(t, "the title counts both unread messages", `document.title.indexOf('(2) ') == 0 && document.querySelectorAll('#c-chats li[data-chat]').length == 2`)
	anna.send(map[string]any{"type": "close", "chat": first})
	f.opWait(t, "the closed chat leaves the list", `document.querySelectorAll('#c-chats li[data-chat]').length == 1`)
	f.opWait(t, "the title counts only the open chat's message", `document.title.indexOf('(1) ') == 0`)
	f.noExceptions(t)
}

// On a phone (a touch screen, no mouse) Enter in the chat's field is a
// new line, as in the phone's messengers: its keyboard has no
// Shift+Enter, so Enter sent every line as a message of its own, and the
// hint spoke of keys the visitor does not have. The Send button sends.
func TestChatTouchEnterIsNewLine(t *testing.T) {
	f := newChatFixture(t, "en")
	f.page("/", sitePage("Shop", "", f.install, ""))
	httpdtest.Must(t, f.browser, chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile, chromedp.EmulateTouch))
	f.console(t, "en")
	f.visit(t, "/")
	if !eval[bool](t, f.snippetFixture, `matchMedia('(hover: none) and (pointer: coarse)').matches`) {
		t.Fatal("the emulated phone has a mouse")
	}
	f.eventually(t, "getOperatorStatus() is true", func() bool { return eval[bool](t, f.snippetFixture, `Comagic.getOperatorStatus()`) })
	eval[any](t, f.snippetFixture, `Comagic.openChatWindow()`)
	f.waitIn(t, "the chat opens", `r.querySelector('section.chat') && !r.querySelector('section.chat').hidden`)
	if in[bool](t, f.widgetFixture, `!r.querySelector('.hint').hidden`) {
		t.Error("the hint about Enter and Shift+Enter shows on a phone")
	}
	f.typeInto(t, "#cs-chat-text", "Hello")
	httpdtest.Must(t, f.browser, chromedp.KeyEvent(kb.Enter), chromedp.KeyEvent("I need help"))
	if got := in[string](t, f.widgetFixture, `r.querySelector('#cs-chat-text').value`); got != "Hello\nI need help" {
		t.Errorf("the field holds %q after Enter, want two lines", got)
	}
	f.click(t, ".chat form button[type=submit]")
	f.waitIn(t, "the message is stored", `r.querySelector('.log .m.visitor[data-mark=sent], .log .m.visitor[data-mark=delivered], .log .m.visitor[data-mark=read]')`)
	f.opWait(t, "the chat is listed", `document.querySelector('#c-chats li[data-chat] button')`)
	httpdtest.Must(t, f.op, chromedp.Click(chromedp.CSS(`#c-chats li[data-chat] button`)))
	f.opWait(t, "the message shows", `document.querySelectorAll('#c-log .c-msg.visitor').length >= 1`)
	if got := f.operatorLog(t); got != "Hello\nI need help" {
		t.Errorf("the operator got %q, want one message of two lines", got)
	}
	f.noExceptions(t)
}

// An owner answers from their phone: in the console too, Enter on a
// touch screen is a new line and the Send button sends; the hint about
// Shift+Enter is not shown. Enter sent each line as a message.
func TestChatConsoleTouchEnterIsNewLine(t *testing.T) {
	f := newChatFixture(t, "en")
	f.page("/", sitePage("Shop", "", f.install, ""))
	httpdtest.Must(t, f.op, chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile, chromedp.EmulateTouch))
	f.operatorOpens(t, "Hello")
	if opEval[bool](t, f, `!document.getElementById('c-hint').hidden`) {
		t.Error("the hint about Enter and Shift+Enter shows on a phone")
	}
	httpdtest.Must(t, f.op, chromedp.Focus(chromedp.ID("c-text")), chromedp.KeyEvent("Good day!"), chromedp.KeyEvent(kb.Enter), chromedp.KeyEvent("How can I help?"))
	if got := opEval[string](t, f, `document.getElementById('c-text').value`); got != "Good day!\nHow can I help?" {
		t.Errorf("the field holds %q after Enter, want two lines", got)
	}
	httpdtest.Must(t, f.op, chromedp.Click(chromedp.ID("c-send")))
	f.waitIn(t, "the answer reaches the visitor", `r.querySelectorAll('.log .m.operator').length >= 1`)
	if got := f.visitorLog(t); got != "Hello | Good day!\nHow can I help?" {
		t.Errorf("the visitor's window shows %q, want one answer of two lines", got)
	}
	f.noExceptions(t)
}

// The floating button counts the answers the visitor has not seen: on
// the next page too, where the window gets the whole conversation again.
// It counted every operator's message of the chat on each new page, seen
// or not (and on a site without the button, opened the minimized window
// on every page for them).
func TestChatUnreadCountSurvivesNextPage(t *testing.T) {
	f := newChatFixture(t, "en")
	site, err := f.srv.HTTP.Sites().ByKey(f.key)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.srv.HTTP.Chats().SetSettings(context.Background(), site.ID, store.ChatSettings{Button: true}); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"/", "/next"} {
		f.page(p, sitePage("Shop "+p, "", f.install, ""))
	}
	f.operatorOpens(t, "Hello")
	f.operatorSays(t, "Hi there! What are you looking for?")
	f.waitIn(t, "the answer shows", `r.querySelectorAll('.log .m.operator').length == 1`)
	f.click(t, "header button.min")
	f.waitIn(t, "the window is minimized to the button", `r.querySelector('section.chat').hidden && !r.querySelector('button.fab').hidden`)

	f.visit(t, "/next")
	f.waitIn(t, "the floating button shows", `r.querySelector('button.fab')`)
	f.operatorSays(t, "Are you still there?")
	f.waitIn(t, "the new answer is read out", `Array.from(r.querySelectorAll('.sr')).some(n => n.textContent.indexOf('Are you still there?') >= 0)`)
	if got := in[string](t, f.widgetFixture, `r.querySelector('.badge').hidden ? '' : r.querySelector('.badge').textContent`); got != "1" {
		t.Errorf("the button counts %q unread, want 1: the first answer was seen on the page before", got)
	}
	if in[bool](t, f.widgetFixture, `!r.querySelector('section.chat') || r.querySelector('section.chat').hidden`) == false {
		t.Error("the minimized window opened on the next page")
	}
	f.noExceptions(t)
}

// Two tabs of the site, the chat minimized in both: an answer is counted
// on both floating buttons, and once the visitor reads it in one tab the
// other's count goes too. It stayed there for a message already read.
func TestChatUnreadCountSharedByTabs(t *testing.T) {
	f := newChatFixture(t, "en")
	site, err := f.srv.HTTP.Sites().ByKey(f.key)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.srv.HTTP.Chats().SetSettings(context.Background(), site.ID, store.ChatSettings{Button: true}); err != nil {
		t.Fatal(err)
	}
	f.openedByOperator(t, "Hello")
	f.click(t, "header button.min")
	f.waitIn(t, "the window is minimized to the button", `r.querySelector('section.chat').hidden && !r.querySelector('button.fab').hidden`)
	tab, closeTab := chromedp.NewContext(f.browser)
	defer closeTab()
	httpdtest.Must(t, tab, chromedp.Navigate(f.web))
	f.waitInTab(t, tab, "the floating button shows", `r.querySelector('button.fab') && !r.querySelector('button.fab').hidden`)
	f.operatorSays(t, "Anything else?")
	const one = `r.querySelector('button.fab .badge') && !r.querySelector('button.fab .badge').hidden && r.querySelector('button.fab .badge').textContent == '1'`
	f.waitIn(t, "the button counts the answer", one)
	f.waitInTab(t, tab, "the button counts the answer", one)
	eval[any](t, f.snippetFixture, `Comagic.openChatWindow()`)
	f.waitIn(t, "the window opens", `!r.querySelector('section.chat').hidden && r.querySelector('button.fab .badge').hidden`)
	f.opWait(t, "the operator sees it read", `document.querySelector('#c-log .c-msg.operator .c-mark') && document.querySelector('#c-log .c-msg.operator .c-mark').textContent.indexOf('Read') >= 0`)
	f.waitInTab(t, tab, "the other tab's count goes", `r.querySelector('button.fab .badge').hidden`)
	f.noExceptions(t)
}
