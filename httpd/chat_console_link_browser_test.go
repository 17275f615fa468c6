package httpd_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"appliance/httpd/chats"
	"appliance/httpd/httpdtest"
)

// opLoad navigates the operator's tab to the console's address path (or
// reloads it, path "") and waits until the new page's console is connected:
// the old document, marked, is not taken for it.
func (f *chatFixture) opLoad(t *testing.T, path string) {
	t.Helper()
	opEval[any](t, f, `(window.__old = 1, 0)`)
	if path == "" {
		httpdtest.Must(t, f.op, chromedp.Reload())
	} else {
		httpdtest.Must(t, f.op, chromedp.Navigate(f.srv.URL+path))
	}
	f.opWait(t, "the console at "+path+" connects", `!window.__old && document.querySelector('#c-conn.up')`)
}

// The console's address of a chat (/chat?chat=ID, the visitor card's and
// the chat page's link) opens that chat with its messages; the address
// follows the chat the operator opens, so a reload keeps it. An ended
// chat's address says plainly that it ended and links to its transcript;
// an unknown one says there is no such chat. (The console had no address
// for a chat: a link could not open one.)
func TestChatConsoleAddressOpensChat(t *testing.T) {
	f := newChatFixture(t, "en")
	f.console(t, "en")
	origin := strings.TrimSuffix(f.web, "/")
	say := func(page, text string) uint64 {
		t.Helper()
		v, _ := newChatVisitor(t, f.srv, f.key, f.web+page).connect(t, origin, 0, 0)
		v.send(map[string]any{"type": "send", "ref": "r1", "text": text})
		return num(v.next("ack")["chat"])
	}
	anna := say("boots", "Anna: do you have boots in 38?")
	boris := say("bags", "Boris: how much is delivery?")
	carl := say("hats", "Carl: is this hat wool?")
	if _, err := f.srv.HTTP.Chats().Close(t.Context(), mustSite(t, f.srv, f.key), carl, 0, chats.ClosedByOperator); err != nil {
		t.Fatal(err)
	}
	shows := func(chat uint64, text string) string {
		return fmt.Sprintf(`document.getElementById('c-log').getAttribute('data-chat') == '%d' && !document.getElementById('c-chat').hidden
&& document.querySelector('#c-chats li.sel[data-chat="%d"]') && Array.from(document.querySelectorAll('#c-log .c-msg .c-text')).some(n => n.textContent == %s)`,
			chat, chat, jsString(text))
	}

	f.opLoad(t, fmt.Sprintf("chat?chat=%d", anna))
	f.opWait(t, "Anna's chat is open with her message", shows(anna, "Anna: do you have boots in 38?"))
	if got := f.operatorLog(t); got != "Anna: do you have boots in 38?" {
		t.Errorf("the console shows %q, want Anna's chat alone", got)
	}

	httpdtest.Must(t, f.op, chromedp.Click(chromedp.CSS(fmt.Sprintf(`#c-chats li[data-chat="%d"] button`, boris))))
	f.opWait(t, "Boris's chat is open", shows(boris, "Boris: how much is delivery?"))
	if got, want := opEval[string](t, f, `location.pathname + location.search`), fmt.Sprintf("/chat?chat=%d", boris); got != want {
		t.Errorf("with Boris's chat open the address is %q, want %q", got, want)
	}
	f.opLoad(t, "")
	f.opWait(t, "Boris's chat is open again after the reload", shows(boris, "Boris: how much is delivery?"))

	f.opLoad(t, fmt.Sprintf("chat?chat=%d", carl))
	f.opWait(t, "the console says Carl's chat ended", `!document.getElementById('c-missing').hidden`)
	if got, want := opEval[string](t, f, `document.getElementById('c-missing').textContent`), fmt.Sprintf("Chat #%d has ended and is no longer in the console. Read its transcript", carl); got != want {
		t.Errorf("the console says %q, want %q", got, want)
	}
	if got := opEval[bool](t, f, `document.getElementById('c-chat').hidden && document.getElementById('c-empty').hidden && !document.querySelector('#c-chats li.sel')`); !got {
		t.Error("with an ended chat's address the console shows a chat, or its empty pane's words too")
	}
	httpdtest.Must(t, f.op, chromedp.Click(chromedp.CSS(`#c-missing a`)))
	f.opWait(t, "the transcript shows Carl's words", fmt.Sprintf(`location.pathname == '/sites/%s/chat' && document.getElementById('chat-%d') && document.getElementById('chat-%d').textContent.indexOf('Carl: is this hat wool?') >= 0`, f.key, carl, carl))

	f.opLoad(t, "chat?chat=999999")
	f.opWait(t, "the console says there is no such chat", `!document.getElementById('c-missing').hidden`)
	if got := opEval[string](t, f, `document.getElementById('c-missing').innerHTML`); got != "There is no chat #999999." {
		t.Errorf("for an unknown chat the console says %q", got)
	}
	// Opening a chat from the list leaves the words, and the address
	// follows.
	httpdtest.Must(t, f.op, chromedp.Click(chromedp.CSS(fmt.Sprintf(`#c-chats li[data-chat="%d"] button`, anna))))
	f.opWait(t, "Anna's chat is open", shows(anna, "Anna: do you have boots in 38?"))
	if got := opEval[string](t, f, `(document.getElementById('c-missing').hidden ? '' : 'shown ') + location.search`); got != fmt.Sprintf("?chat=%d", anna) {
		t.Errorf("with Anna's chat open: %q, want the words gone and ?chat=%d", got, anna)
	}
	f.noExceptions(t)
}
