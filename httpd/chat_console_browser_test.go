package httpd_test

// Browser tests of the operator console's news and of what it shows of a
// visitor's words (assets/dashboard/console.js), and of the visitor's
// window over the long poll (assets/snippet/chat.js).

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"appliance/httpd/httpdtest"
)

// recordNotifications is run in the operator's tab before its pages:
// desktop notifications are allowed, and each one shown is kept in
// window.__notes as "head|body" (a headless browser shows none).
const recordNotifications = `window.__notes = [];
window.Notification = function (head, o) { window.__notes.push(head + "|" + ((o && o.body) || "")); this.close = function () {}; };
window.Notification.permission = "granted";
window.Notification.requestPermission = function () { return Promise.resolve("granted"); };`

func (f *chatFixture) recordNotifications(t *testing.T) {
	t.Helper()
	httpdtest.Must(t, f.op, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: recordNotifications})
		return err
	}))
}

// notes is the notifications the console showed, in order.
func (f *chatFixture) notes(t *testing.T) string {
	t.Helper()
	return opEval[string](t, f, `window.__notes.join(" / ")`)
}

// A chat a colleague online has taken is theirs to hear of: a visitor's
// new message in it rings, notifies and counts in the title only in their
// console, while a chat nobody has taken notifies every operator. Once the
// colleague is gone (their console closed) the chat may be taken over,
// and its news is everyone's again; taken again, it is quiet again. An
// operator away hears of none but their own. (Every console rang for
// every message of every chat.)
func TestChatConsoleNotifiesOnlyWhoseChatItIs(t *testing.T) {
	f := newChatFixture(t, "en")
	f.recordNotifications(t)
	f.console(t, "en")
	origin := strings.TrimSuffix(f.web, "/")
	olgaHeader := consoleHeader(t, f.srv, "olga@shop.example", "operator")
	olga, _ := connectConsole(t, f.srv, olgaHeader, nil)
	say := func(who *wsClient, text string) uint64 {
		t.Helper()
		who.send(map[string]any{"type": "send", "ref": text, "text": text})
		return num(who.next("ack")["chat"])
	}
	noted := func(what, text string) {
		t.Helper()
		f.opWait(t, what, `window.__notes.some(n => n.indexOf(`+jsString("|"+text)+`) > 0)`)
	}
	row := func(chat uint64) string {
		return fmt.Sprintf(`document.querySelector('#c-chats li[data-chat="%d"]')`, chat)
	}
	anna, _ := newChatVisitor(t, f.srv, f.key, f.web+"boots").connect(t, origin, 0, 0)
	boris, _ := newChatVisitor(t, f.srv, f.key, f.web+"bags").connect(t, origin, 0, 0)

	annas := say(anna, "Anna: do you have boots in 38?")
	noted("a new chat nobody has taken notifies", "Anna: do you have boots in 38?")
	olga.send(map[string]any{"type": "send", "chat": annas, "ref": "o1", "text": "Yes, we do"})
	olga.next("ack")
	f.opWait(t, "the chat shows as Olga's", row(annas)+` && `+row(annas)+`.textContent.indexOf('taken by olga@shop.example') >= 0`)
	say(anna, "Anna: black ones?")
	// News of a chat nobody has, after Anna's: the console has had hers
	// by the time it shows this one.
	boriss := say(boris, "Boris: how much is delivery?")
	noted("a second chat nobody has taken notifies", "Boris: how much is delivery?")
	if got := f.notes(t); strings.Contains(got, "black ones") {
		t.Errorf("the console notified of a message in Olga's chat: %s", got)
	}
	if got := opEval[string](t, f, `document.title`); !strings.HasPrefix(got, "(1) ") {
		t.Errorf("the title is %q, want Boris's one unread message counted, not Anna's in Olga's chat", got)
	}
	if got := opEval[string](t, f, row(annas)+`.querySelector('.c-unread').textContent`); got != "1" {
		t.Errorf("Olga's chat's row counts %q unread, want 1 (shown, not rung)", got)
	}

	// Olga leaves: her chat may be taken over, and its news is everyone's.
	olga.conn.Close()
	f.opWait(t, "Olga's chat shows her offline", row(annas)+`.textContent.indexOf('olga@shop.example (offline)') >= 0`)
	f.opWait(t, "the title counts her chat's unread message again", `document.title.indexOf('(2) ') == 0`)
	say(anna, "Anna: anyone there?")
	noted("a message in the chat of an operator gone notifies", "Anna: anyone there?")

	// Olga is back and takes Boris's chat: his next words ring only in hers.
	olga, _ = connectConsole(t, f.srv, olgaHeader, nil)
	olga.send(map[string]any{"type": "claim", "chat": boriss})
	f.opWait(t, "Boris's chat shows as Olga's", row(boriss)+`.textContent.indexOf('taken by olga@shop.example') >= 0 && `+row(boriss)+`.textContent.indexOf('(offline)') < 0`)
	say(boris, "Boris: and to Kazan?")
	carl, _ := newChatVisitor(t, f.srv, f.key, f.web+"hats").connect(t, origin, 0, 0)
	say(carl, "Carl: hello")
	noted("a third chat nobody has taken notifies", "Carl: hello")
	if got := f.notes(t); strings.Contains(got, "Kazan") || strings.Contains(got, "black ones") {
		t.Errorf("the console notified of a message in Olga's chats: %s", got)
	}

	// Away, the operator hears of no chat but their own.
	httpdtest.Must(t, f.op, chromedp.Click(chromedp.ID("c-online")))
	f.opWait(t, "the operator is away", `Array.from(document.querySelectorAll('#c-operators li')).some(li => li.textContent.indexOf('owner@example.com') == 0 && li.textContent.indexOf('away') > 0)`)
	dave, _ := newChatVisitor(t, f.srv, f.key, f.web+"coats").connect(t, origin, 0, 0)
	say(dave, "Dave: hi")
	f.opWait(t, "Dave's chat is listed", `Array.from(document.querySelectorAll('#c-chats li[data-chat]')).some(li => li.textContent.indexOf('Dave: hi') >= 0)`)
	if got := f.notes(t); strings.Contains(got, "Dave") {
		t.Errorf("the console notified an operator away of a new chat: %s", got)
	}
	if got := opEval[string](t, f, `document.title`); strings.HasPrefix(got, "(") {
		t.Errorf("the title of an operator away is %q, want no count", got)
	}
	f.noExceptions(t)
}

// An operator's reply that is not through yet (its frame lost on the way)
// stays "sending" when a colleague writes the same words in the chat: the
// console tells its own copy by the ref the server echoes, not by its
// text. The chat then ends, and the reply, sent again on the reconnect, is
// refused: the console says it was not sent. (The colleague's "OK" took
// the place of the copy, and the refusal showed nowhere.)
func TestChatConsoleOwnReplyNotTakenForColleagues(t *testing.T) {
	f := newChatFixture(t, "en")
	f.openedByOperator(t, "Can I pay by card?")
	f.opWait(t, "the visitor's message shows", `document.querySelectorAll('#c-log .c-msg.visitor').length == 1`)
	olga, welcome := connectConsole(t, f.srv, consoleHeader(t, f.srv, "olga@shop.example", "operator"), nil)
	chat := num(welcome["chats"].([]any)[0].(map[string]any)["id"])
	// The console's frames go nowhere from now on (a network that drops
	// them); what comes to it still arrives.
	opEval[any](t, f, `(function () { var send = WebSocket.prototype.send;
WebSocket.prototype.send = function (d) { window.__sock = this; if (!window.__drop) return send.call(this, d); };
window.__drop = true; return 0; })()`)
	f.operatorSays(t, "OK")
	f.opWait(t, "the reply is sending", `document.querySelector('#c-log .c-msg.operator:not([data-id])')`)
	olga.send(map[string]any{"type": "send", "chat": chat, "ref": "o1", "text": "OK"})
	olga.next("ack")
	f.opWait(t, "Olga's reply shows", `document.querySelector('#c-log .c-msg.operator[data-id]')`)
	if got := opEval[string](t, f, `Array.from(document.querySelectorAll('#c-log .c-msg.operator')).map(n => n.querySelector('.c-mark').textContent).join(' | ')`); strings.Count(got, " | ") != 1 || !strings.HasSuffix(got, " | Sending") || strings.HasPrefix(got, "Sending") {
		t.Errorf("the console's replies are marked %q, want Olga's stored and its own still sending", got)
	}
	olga.send(map[string]any{"type": "close", "chat": chat})
	f.opWait(t, "the chat shows as ended", `document.getElementById('c-sub').textContent == 'This chat has ended.'`)
	opEval[any](t, f, `(window.__drop = false, window.__sock.close(), 0)`)
	f.opWait(t, "the reply is refused on the reconnect and says so", `document.querySelector('#c-log .c-msg.operator.failed')`)
	if got := opEval[string](t, f, `document.querySelector('#c-log .c-msg.operator.failed').textContent`); !strings.Contains(got, "OK") || !strings.Contains(got, "Not sent") {
		t.Errorf("the refused reply shows %q", got)
	}
	if got := f.operatorLog(t); got != "Can I pay by card? | OK | OK" {
		t.Errorf("the console shows %q", got)
	}
	f.noExceptions(t)
}

// Bidi controls a visitor typed (here the Arabic letter mark U+061C and an
// isolate, U+2067) show in the console as U+FFFD, as the dashboard's pages
// show them: in the visitor's message, in the chats list, in the name they
// left and in their page's title beside the chat, and in the desktop
// notification. (The console let U+061C through.)
func TestChatConsoleShowsVisitorsBidiControls(t *testing.T) {
	f := newChatFixture(t, "en")
	f.recordNotifications(t)
	f.path = "/shoes"
	f.page("/shoes", sitePage("Shoes\u061c 42\u2067", "", f.install, ""))
	f.console(t, "en")
	f.visit(t, "/shoes")
	eval[any](t, f.snippetFixture, `Comagic.addVisitorInfo({name: "Anna\u061c Petrova\u2067"}, function () {})`)
	f.eventually(t, "getOperatorStatus() is true", func() bool { return eval[bool](t, f.snippetFixture, `Comagic.getOperatorStatus()`) })
	eval[any](t, f.snippetFixture, `Comagic.openChatWindow()`)
	f.waitIn(t, "the chat opens", `r.querySelector('section.chat') && !r.querySelector('section.chat').hidden`)
	f.visitorSays(t, "Size\u061c 42\u2067, please")
	f.opWait(t, "the console notifies", `window.__notes.length >= 2`)
	if got := f.notes(t); !strings.Contains(got, "|Size\ufffd 42\ufffd, please") {
		t.Errorf("the notifications are %q, want the message with U+FFFD for its controls", got)
	}
	if got := opEval[string](t, f, `document.querySelector('#c-chats li[data-chat] .c-line').textContent`); got != "Size\ufffd 42\ufffd, please" {
		t.Errorf("the chats list shows %q", got)
	}
	httpdtest.Must(t, f.op, chromedp.Click(chromedp.CSS(`#c-chats li[data-chat] button`)))
	f.opWait(t, "the journey shows the contact", `document.querySelector('#c-journey-body').textContent.indexOf('Anna') >= 0`)
	if got := f.operatorLog(t); got != "Size\ufffd 42\ufffd, please" {
		t.Errorf("the console shows %q", got)
	}
	journey := opEval[string](t, f, `document.querySelector('#c-journey-body').textContent`)
	for _, want := range []string{"Anna\ufffd Petrova\ufffd", "Shoes\ufffd 42\ufffd"} {
		if !strings.Contains(journey, want) {
			t.Errorf("the journey %q does not show %q", journey, want)
		}
	}
	if n := opEval[int](t, f, `(document.getElementById('console').textContent.match(/[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g) || []).length`); n != 0 {
		t.Errorf("the console shows %d bidi controls", n)
	}
	f.noExceptions(t)
}

// pollNetwork blocks WebSockets, so the chat window long-polls, and
// watches its requests that carry frames: window.__sends is the text of
// every send frame in the order requests carried them; with
// window.__hold set the answer of the next request that sends a message
// waits for window.__release(), and window.__fail of them fail as a
// dropped connection would.
const pollNetwork = `window.WebSocket = function () { throw new Error("blocked by the network"); };
window.__sends = [];
window.__fail = 0;
var realFetch = window.fetch;
window.fetch = function (url, o) {
  var body = o && typeof o.body == "string" ? o.body : "";
  if (String(url).indexOf("t/v1/chat") < 0 || body.indexOf('"frames":[{') < 0) return realFetch.apply(this, arguments);
  var sends = JSON.parse(body).frames.filter(function (f) { return f.type == "send"; });
  sends.forEach(function (f) { window.__sends.push(f.text); });
  if (!sends.length) return realFetch.apply(this, arguments);
  if (window.__fail > 0) { window.__fail--; return Promise.reject(new TypeError("the connection dropped")); }
  var answer = realFetch.apply(this, arguments);
  if (!window.__hold) return answer;
  window.__hold = false;
  return new Promise(function (resolve, reject) { window.__release = function () { answer.then(resolve, reject); }; });
};`

// Over the long poll a message is sent once: not again with each poll
// answer while its own answer is on its way (a poll answer's welcome
// resent every message not acked yet, and could put one behind the next),
// only after its request failed, then in its place before what was typed
// after it.
func TestChatLongPollSendsEachMessageOnce(t *testing.T) {
	f := newChatFixture(t, "en")
	f.page("/", sitePage("Shop", pollNetwork, f.install, ""))
	f.operatorOpens(t, "Hello")
	f.waitIn(t, "the first message is acknowledged", `r.querySelector('.log .m.visitor[data-id]') && !r.querySelector('.log .m.visitor[data-mark=sending]')`)

	// The answer to "First" is slow; meanwhile the long poll answers with
	// the stored message.
	eval[any](t, f.snippetFixture, `(window.__hold = true, 0)`)
	f.visitorSays(t, "First")
	f.waitIn(t, "the long poll brings the message stored", `r.querySelectorAll('.log .m.visitor:not([data-id=""])').length == 2`)
	if got := f.visitorLog(t); got != "Hello | First" || in[bool](t, f.widgetFixture, `!!r.querySelector('.log .m.visitor[data-mark=sending]')`) {
		t.Errorf("with the answer to First on its way the visitor sees %q, want each message once, stored", got)
	}
	eval[any](t, f.snippetFixture, `(window.__release(), 0)`)
	f.visitorSays(t, "Second")
	f.waitIn(t, "both are acknowledged", `r.querySelectorAll('.log .m.visitor').length == 3 && !r.querySelector('.log .m.visitor[data-mark=sending]')`)

	// The request of "Third" fails: it goes again, before "Fourth".
	eval[any](t, f.snippetFixture, `(window.__fail = 1, 0)`)
	f.visitorSays(t, "Third")
	f.eventually(t, "the request of Third failed", func() bool { return eval[bool](t, f.snippetFixture, `window.__fail == 0`) })
	f.visitorSays(t, "Fourth")
	f.waitIn(t, "every message is acknowledged", `r.querySelectorAll('.log .m.visitor').length == 5 && !r.querySelector('.log .m.visitor[data-mark=sending]')`)
	f.opWait(t, "the console has them all", `document.querySelectorAll('#c-log .c-msg.visitor').length == 5`)

	if got, want := eval[string](t, f.snippetFixture, `window.__sends.join(' | ')`), "Hello | First | Second | Third | Third | Fourth"; got != want {
		t.Errorf("the window sent %q, want %q", got, want)
	}
	const want = "Hello | First | Second | Third | Fourth"
	if got := f.visitorLog(t); got != want {
		t.Errorf("the visitor sees %q, want %q", got, want)
	}
	if got := f.operatorLog(t); got != want {
		t.Errorf("the operator sees %q, want %q", got, want)
	}
	f.noExceptions(t)
}

// An invitation refused (the visitor has begun a chat meanwhile) says so,
// and what the operator wrote goes back to the field instead of being
// lost.
func TestChatConsoleRefusedInvitationKept(t *testing.T) {
	f := newChatFixture(t, "en")
	f.console(t, "en")
	origin := strings.TrimSuffix(f.web, "/")
	anna, _ := newChatVisitor(t, f.srv, f.key, f.web+"boots").connect(t, origin, 0, 0)
	f.opWait(t, "the visitor is listed", `document.querySelector('#c-visitors li[data-visitor] button')`)
	httpdtest.Must(t, f.op, chromedp.Click(chromedp.CSS(`#c-visitors li[data-visitor] button`)))
	anna.send(map[string]any{"type": "send", "ref": "a1", "text": "Hello, I have a question"})
	anna.next("ack")
	const invitation = "Hi! Can I help you choose boots?"
	// Sent by the button, not Enter: the refusal can come back before
	// chromedp's Enter has sent its character event, which then lands in
	// the field the refusal filled (a real keyboard's Enter, its keydown
	// prevented, types nothing; CI met the race once).
	httpdtest.Must(t, f.op, chromedp.Focus(chromedp.ID("c-text")), chromedp.KeyEvent(invitation), chromedp.Click(chromedp.ID("c-send")))
	f.opWait(t, "the console says the visitor has a chat", `!document.getElementById('c-error').hidden && document.getElementById('c-error').textContent == 'This visitor already has an open chat.'`)
	if got := opEval[string](t, f, `document.getElementById('c-text').value`); got != invitation {
		t.Errorf("the field holds %q, want the invitation back", got)
	}
	f.noExceptions(t)
}
