package httpd_test

import (
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"appliance/httpd/httpdtest"
)

// An operator writing to one visitor who looks at another chat meanwhile
// does not carry the words over: the other chat's field is its own (empty),
// Enter there sends nothing, and back in the first chat the words are
// there to finish. Before, the field kept what was typed, and Enter in the
// other chat sent one visitor's answer (an address, a phone) to another.
func TestChatConsoleReplyStaysWithItsChat(t *testing.T) {
	f := newChatFixture(t, "ru")
	f.console(t, "ru")
	origin := strings.TrimSuffix(f.web, "/")
	say := func(who *wsClient, text string) uint64 {
		who.send(map[string]any{"type": "send", "ref": text, "text": text})
		return num(who.next("ack")["chat"])
	}
	anna, _ := newChatVisitor(t, f.srv, f.key, f.web+"boots").connect(t, origin, 0, 0)
	boris, _ := newChatVisitor(t, f.srv, f.key, f.web+"bags").connect(t, origin, 0, 0)
	first := say(anna, "Куда привезти заказ?")
	second := say(boris, "Сколько стоит доставка?")
	open := func(chat uint64) {
		t.Helper()
		sel := `#c-chats li[data-chat="` + strconv.FormatUint(chat, 10) + `"] button`
		f.opWait(t, "the chat is listed", `document.querySelector('`+sel+`')`)
		opEval[any](t, f, `(document.querySelector('`+sel+`').click(), 0)`)
		f.opWait(t, "the chat is open", `document.querySelector('#c-chats li.sel[data-chat="`+strconv.FormatUint(chat, 10)+`"]')`)
	}
	open(first)
	const draft = "Ваш адрес: ул. Ленина, 5, кв. 12"
	httpdtest.Must(t, f.op, chromedp.Focus(chromedp.ID("c-text")), chromedp.KeyEvent(draft))
	open(second)
	if got := opEval[string](t, f, `document.getElementById('c-text').value`); got != "" {
		t.Errorf("the other chat's field holds %q", got)
	}
	httpdtest.Must(t, f.op, chromedp.Focus(chromedp.ID("c-text")), chromedp.KeyEvent(kb.Enter))
	open(first)
	if got := opEval[string](t, f, `document.getElementById('c-text').value`); got != draft {
		t.Errorf("back in the first chat the field holds %q, want the words typed there", got)
	}
	if got := f.operatorLog(t); got != "Куда привезти заказ?" {
		t.Errorf("the first chat shows %q", got)
	}
	open(second)
	if got := f.operatorLog(t); got != "Сколько стоит доставка?" {
		t.Errorf("the second chat shows %q: one visitor's answer went to another", got)
	}
	f.noExceptions(t)
}

// An invitation refused after the operator went on to another chat goes
// back to the invitation's field, not to the chat open now, where Enter
// would send it to another visitor.
func TestChatConsoleRefusedInvitationBackToItsField(t *testing.T) {
	f := newChatFixture(t, "en")
	f.console(t, "en")
	origin := strings.TrimSuffix(f.web, "/")
	annaV := newChatVisitor(t, f.srv, f.key, f.web+"boots")
	anna, _ := annaV.connect(t, origin, 0, 0)
	boris, _ := newChatVisitor(t, f.srv, f.key, f.web+"bags").connect(t, origin, 0, 0)
	boris.send(map[string]any{"type": "send", "ref": "b1", "text": "How much is delivery?"})
	second := num(boris.next("ack")["chat"])
	anna.send(map[string]any{"type": "send", "ref": "a1", "text": "Hello, I have a question"})
	anna.next("ack")
	annaRow := `#c-visitors li button`
	f.opWait(t, "the visitors are listed", `document.querySelectorAll('`+annaRow+`').length == 2`)
	annaRow = `document.querySelector('#c-visitors li[data-visitor="` + strconv.FormatUint(annaV.v.VisitorID, 10) + `"] button')`
	borisChat := `document.querySelector('#c-chats li[data-chat="` + strconv.FormatUint(second, 10) + `"] button')`
	f.opWait(t, "Boris's chat is listed", borisChat)
	opEval[any](t, f, `(`+annaRow+`.click(), 0)`)
	const invitation = "Hi! Can I help you choose boots?"
	// Sent, and Boris's chat opened, before the refusal can come.
	opEval[any](t, f, `(function () {
  var ta = document.getElementById('c-text');
  ta.value = `+jsString(invitation)+`;
  ta.dispatchEvent(new KeyboardEvent('keydown', {key: 'Enter', bubbles: true}));
  `+borisChat+`.click();
  return 0;
})()`)
	f.opWait(t, "the console says the visitor has a chat", `!document.getElementById('c-error').hidden`)
	if got := opEval[string](t, f, `document.getElementById('c-text').value`); got != "" {
		t.Errorf("Boris's chat's field holds %q", got)
	}
	opEval[any](t, f, `(`+annaRow+`.click(), 0)`)
	if got := opEval[string](t, f, `document.getElementById('c-text').value`); got != invitation {
		t.Errorf("the invitation's field holds %q, want the invitation back", got)
	}
	f.noExceptions(t)
}
