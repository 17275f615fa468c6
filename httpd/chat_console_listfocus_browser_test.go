package httpd_test

import (
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// An operator at the keyboard going down the console's lists keeps their
// place while the lists are drawn again (a message in another chat, a
// visitor arriving on the site): the focus stays on the row it was on,
// not thrown to the top of the page.
func TestChatConsoleListKeepsKeyboardFocus(t *testing.T) {
	f := newChatFixture(t, "en")
	f.console(t, "en")
	origin := strings.TrimSuffix(f.web, "/")
	annaV := newChatVisitor(t, f.srv, f.key, f.web+"boots")
	anna, _ := annaV.connect(t, origin, 0, 0)
	boris, _ := newChatVisitor(t, f.srv, f.key, f.web+"bags").connect(t, origin, 0, 0)
	anna.send(map[string]any{"type": "send", "ref": "a1", "text": "Do you have boots?"})
	first := strconv.FormatUint(num(anna.next("ack")["chat"]), 10)
	boris.send(map[string]any{"type": "send", "ref": "b1", "text": "How much is delivery?"})
	boris.next("ack")
	row := `#c-chats li[data-chat="` + first + `"] button`
	f.opWait(t, "both chats are listed", `document.querySelectorAll('#c-chats li[data-chat]').length == 2 && document.querySelector('`+row+`')`)
	focusInConsole(t, f, row)
	boris.send(map[string]any{"type": "send", "ref": "b2", "text": "And to Klin?"})
	f.opWait(t, "the list is drawn again", `document.querySelector('#c-chats').textContent.indexOf('And to Klin?') >= 0`)
	if got := opEval[string](t, f, `document.activeElement.parentNode.getAttribute && document.activeElement.parentNode.getAttribute('data-chat') || document.activeElement.tagName`); got != first {
		t.Errorf("after the list was drawn again the focus is on %q, want the chat row %s", got, first)
	}

	vrow := `#c-visitors li[data-visitor="` + strconv.FormatUint(annaV.v.VisitorID, 10) + `"] button`
	f.opWait(t, "Anna is listed on the site", `document.querySelector('`+vrow+`')`)
	focusInConsole(t, f, vrow)
	newChatVisitor(t, f.srv, f.key, f.web+"hats").connect(t, origin, 0, 0)
	f.opWait(t, "the third visitor is listed", `document.querySelectorAll('#c-visitors li[data-visitor]').length == 3`)
	if got := opEval[string](t, f, `document.activeElement.parentNode.getAttribute && document.activeElement.parentNode.getAttribute('data-visitor') || document.activeElement.tagName`); got != strconv.FormatUint(annaV.v.VisitorID, 10) {
		t.Errorf("after a visitor came the focus is on %q, want Anna's row", got)
	}
	f.noExceptions(t)
}

func focusInConsole(t *testing.T, f *chatFixture, sel string) {
	t.Helper()
	if _, err := chromedp.Run(f.op, chromedp.Focus(chromedp.CSS(sel))); err != nil {
		t.Fatal(err)
	}
}
