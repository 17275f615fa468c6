package httpd_test

import (
	"context"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"appliance/httpd/accounts"
	"appliance/httpd/httpdtest"
)

// colleagueConsole signs a user of role in, in a browser context of their
// own, and opens their console in English with desktop notifications
// recorded (window.__notes); it returns their tab once it is connected.
func (f *chatFixture) colleagueConsole(t *testing.T, email, role string) context.Context {
	t.Helper()
	const password = "a long enough passphrase"
	if _, err := accounts.New(f.srv.DB).CreateUser(t.Context(), email, password, role); err != nil {
		t.Fatal(err)
	}
	tab := httpdtest.NewVisitor(t, f.browser)
	httpdtest.Must(t, tab, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: recordNotifications})
		return err
	}))
	httpdtest.Must(t, tab,
		chromedp.Navigate(f.srv.URL+"login"),
		chromedp.SendKeys(chromedp.CSS(`input[name=email]`), email),
		chromedp.SendKeys(chromedp.CSS(`input[name=password]`), password),
	)
	submit(t, tab, `button[type=submit]`)
	httpdtest.Must(t, tab, chromedp.Navigate(f.srv.URL+"chat"))
	f.waitInConsole(t, tab, "the colleague's console connects", `document.querySelector('#c-conn.up') !== null`)
	return tab
}

func (f *chatFixture) waitInConsole(t *testing.T, tab context.Context, what, js string) {
	t.Helper()
	f.eventually(t, what, func() bool { return httpdtest.Eval[bool](t, tab, `!!(`+js+`)`) })
}

// An operator hands a chat to a colleague online with the header's
// Transfer list: the colleague's console rings and notifies of it, shows
// the chat as theirs with the note of who transferred it, and they answer
// it; the visitor sees them join and their answer. The first operator's
// console shows the chat as the colleague's and no longer lets them
// answer: a reply forced through is refused, marked "Not sent", and never
// reaches the visitor.
func TestChatConsoleTransfersChatToColleague(t *testing.T) {
	f := newChatFixture(t, "en")
	f.openedByOperator(t, "Do you ship to Kazan?")
	f.operatorSays(t, "One moment, let me ask my colleague")
	f.waitIn(t, "the visitor sees the answer", `Array.from(r.querySelectorAll('.log .m .text')).some(n => n.textContent.indexOf('One moment') == 0)`)
	boris := f.colleagueConsole(t, "boris@shop.example", accounts.RoleOperator)

	list := `document.getElementById('c-transfer')`
	f.opWait(t, "Boris is offered in the Transfer list", `!`+list+`.hidden && Array.from(`+list+`.options).some(o => o.value == 'boris@shop.example')`)
	if got := opEval[string](t, f, `Array.from(`+list+`.options).map(o => o.textContent).join(' | ')`); got != "Transfer to… | boris@shop.example" {
		t.Errorf("the Transfer list offers %q", got)
	}
	httpdtest.SaveScreenshot(t, f.op, "console-transfer-en-1280")
	// The list is not drawn again by frames that change nothing it offers
	// (here the operator's own presence, away and back), so one the
	// operator has open stays open under the mouse: its option nodes are
	// the same after.
	opEval[any](t, f, `(`+list+`.options[1].__kept = true, 0)`)
	ops := opEval[string](t, f, `document.getElementById('c-operators').textContent`)
	opEval[any](t, f, `(document.getElementById('c-online').click(), 0)`)
	f.opWait(t, "the operator's own presence comes back as away", `document.getElementById('c-operators').textContent != `+jsString(ops))
	opEval[any](t, f, `(document.getElementById('c-online').click(), 0)`)
	f.opWait(t, "the operator is online again", `document.getElementById('c-operators').textContent == `+jsString(ops))
	if !opEval[bool](t, f, list+`.options[1].__kept === true`) {
		t.Error("the Transfer list was drawn again by presence frames that changed nothing it offers")
	}
	// The operator picks Boris in the list (as a select's change).
	opEval[any](t, f, `(`+list+`.value = 'boris@shop.example', `+list+`.dispatchEvent(new Event('change')), 0)`)

	row := `document.querySelector('#c-chats li[data-chat]')`
	f.waitInConsole(t, boris, "Boris is notified", `window.__notes.some(n => n == 'A chat was transferred to you|owner@example.com transferred the chat to boris@shop.example')`)
	f.waitInConsole(t, boris, "the chat is Boris's in his list", row+` && `+row+`.textContent.indexOf('taken by you') >= 0`)
	// Boris opens the chat (in one step: his list is drawn again on each
	// frame, and a node found first may be gone by the click).
	httpdtest.Eval[any](t, boris, `(document.querySelector('#c-chats li[data-chat] button').click(), 0)`)
	f.waitInConsole(t, boris, "the note shows in the chat", `Array.from(document.querySelectorAll('#c-log .c-msg.system')).some(n => n.textContent == 'owner@example.com transferred the chat to boris@shop.example')`)
	httpdtest.Must(t, boris, chromedp.Focus(chromedp.ID("c-text")), chromedp.KeyEvent("Yes, tomorrow by courier"), chromedp.KeyEvent(kb.Enter))
	f.waitIn(t, "the visitor sees Boris join and answer", `r.textContent.indexOf('boris is answering you') >= 0 &&
Array.from(r.querySelectorAll('.log .m.operator')).some(n => n.textContent.indexOf('boris') == 0 && n.textContent.indexOf('Yes, tomorrow by courier') > 0)`)

	f.opWait(t, "the first operator sees the chat as Boris's", `document.getElementById('c-sub').textContent == 'taken by boris@shop.example'`)
	if !opEval[bool](t, f, `document.getElementById('c-text').disabled && document.getElementById('c-text').placeholder == 'boris@shop.example answers this chat'`) {
		t.Error("the first operator may still write in Boris's chat")
	}
	opEval[any](t, f, `(document.getElementById('c-text').disabled = false, 0)`)
	f.operatorSays(t, "Still here")
	f.opWait(t, "the forced reply is refused", `document.querySelector('#c-log .c-msg.operator.failed')`)
	if got := opEval[string](t, f, `document.querySelector('#c-log .c-msg.operator.failed').textContent`); !strings.Contains(got, "Still here") || !strings.Contains(got, "Not sent") {
		t.Errorf("the refused reply shows %q", got)
	}
	if got := f.visitorLog(t); strings.Contains(got, "Still here") || !strings.HasSuffix(got, "Yes, tomorrow by courier") {
		t.Errorf("the visitor's window shows %q", got)
	}
	if got := f.operatorLog(t); got != "Do you ship to Kazan? | One moment, let me ask my colleague | owner@example.com transferred the chat to boris@shop.example | Yes, tomorrow by courier | Still here" {
		t.Errorf("the first operator's console shows %q", got)
	}
	// Boris returns the chat to the queue: the visitor, who was told Boris
	// answers, is told the question went back to the team.
	httpdtest.Eval[any](t, boris, `(document.getElementById('c-release').click(), 0)`)
	f.waitIn(t, "the visitor is told the chat went back to the queue", `r.textContent.indexOf('Your question has been passed to our other operators') >= 0`)
	f.noExceptions(t)
}

// A chat handed to a colleague shows the visitor's next words as unread
// in the colleague's list (its badge), though the console that handed it
// on still shows the chat; they are read once he opens it. That console
// read them for him as they came, and his list never showed the badge.
func TestChatConsoleTransferredChatUnreadForColleague(t *testing.T) {
	f := newChatFixture(t, "en")
	f.openedByOperator(t, "Do you ship to Kazan?")
	f.operatorSays(t, "One moment, let me ask my colleague")
	boris := f.colleagueConsole(t, "boris@shop.example", accounts.RoleOperator)
	list := `document.getElementById('c-transfer')`
	f.opWait(t, "Boris is offered in the Transfer list", `!`+list+`.hidden && Array.from(`+list+`.options).some(o => o.value == 'boris@shop.example')`)
	opEval[any](t, f, `(`+list+`.value = 'boris@shop.example', `+list+`.dispatchEvent(new Event('change')), 0)`)
	row := `document.querySelector('#c-chats li[data-chat]')`
	f.waitInConsole(t, boris, "the chat is Boris's in his list", row+` && `+row+`.textContent.indexOf('taken by you') >= 0`)
	if got := httpdtest.Eval[string](t, boris, `Array.from(document.querySelectorAll('#c-chats .c-unread')).map(n => n.textContent).join()`); got != "" {
		t.Errorf("before the visitor writes again, Boris's list shows unread %q", got)
	}

	f.visitorSays(t, "Hello? Anyone?")
	f.opWait(t, "the first operator's console shows the words", `Array.from(document.querySelectorAll('#c-log .c-msg')).some(n => n.textContent.indexOf('Hello? Anyone?') >= 0)`)
	// The first operator steps away: Boris's console learns it after
	// whatever that console sent on showing the words (one socket, in
	// order), a read among them.
	ops := `document.getElementById('c-operators').textContent`
	before := httpdtest.Eval[string](t, boris, ops)
	opEval[any](t, f, `(document.getElementById('c-online').click(), 0)`)
	f.waitInConsole(t, boris, "Boris sees the first operator away", ops+` != `+jsString(before))
	if got := httpdtest.Eval[string](t, boris, `Array.from(document.querySelectorAll('#c-chats .c-unread')).map(n => n.textContent).join()`); got != "1" {
		t.Errorf("Boris's list shows unread %q for his chat, want 1", got)
	}
	httpdtest.Eval[any](t, boris, `(document.querySelector('#c-chats li[data-chat] button').click(), 0)`)
	f.waitInConsole(t, boris, "Boris reads the chat", `!document.querySelector('#c-chats .c-unread')`)
	f.noExceptions(t)
}
