package httpd_test

import (
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"appliance/httpd/httpdtest"
)

// An operator at the keyboard who takes a chat, or ends one, with its
// header's button keeps their place: the button goes away, and the focus
// goes to the reply field (taken: to answer) or the conversation (ended),
// not to the top of the page.
func TestChatConsoleKeyboardFocusAfterTakeAndEnd(t *testing.T) {
	f := newChatFixture(t, "en")
	f.openedByOperator(t, "Anyone there?")
	active := `document.activeElement ? document.activeElement.id || document.activeElement.tagName : ''`
	f.opWait(t, "Take this chat is offered", `!document.getElementById('c-claim').hidden`)
	httpdtest.Must(t, f.op, chromedp.Focus(chromedp.ID("c-claim")), chromedp.KeyEvent(kb.Enter))
	f.opWait(t, "the chat is taken", `document.getElementById('c-sub').textContent == 'taken by you'`)
	if got := opEval[string](t, f, active); got != "c-text" {
		t.Errorf("after Take the focus is on %q, want the reply field", got)
	}
	httpdtest.Must(t, f.op, chromedp.Focus(chromedp.ID("c-close")), chromedp.KeyEvent(kb.Enter))
	f.opWait(t, "the chat ended", `document.getElementById('c-sub').textContent == 'This chat has ended.'`)
	if got := opEval[string](t, f, active); got != "c-log" {
		t.Errorf("after End chat the focus is on %q, want the conversation", got)
	}
	f.noExceptions(t)
}
