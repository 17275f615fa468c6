package httpd_test

import (
	"fmt"
	"strings"
	"testing"
)

// An operator scrolled up in a long chat to read what the visitor wrote
// earlier stays there while other chats come and change (another visitor
// opens a chat): the conversation is not thrown back to its end under
// their eyes.
func TestChatConsoleScrolledUpStaysWhileOtherChatsChange(t *testing.T) {
	f := newChatFixture(t, "en")
	f.console(t, "en")
	origin := strings.TrimSuffix(f.web, "/")
	anna, _ := newChatVisitor(t, f.srv, f.key, f.web+"boots").connect(t, origin, 0, 0)
	for i := 1; i <= 15; i++ {
		text := fmt.Sprintf("Line %d of my long question about boots", i)
		anna.send(map[string]any{"type": "send", "ref": fmt.Sprint("a", i), "text": text})
		anna.next("ack")
	}
	f.opWait(t, "the chat is listed", `document.querySelector('#c-chats li[data-chat] button')`)
	opEval[any](t, f, `(document.querySelector('#c-chats li[data-chat] button').click(), 0)`)
	f.opWait(t, "the chat shows whole", `document.querySelectorAll('#c-log .c-msg').length == 15`)
	if !opEval[bool](t, f, `(function (l) { return l.scrollHeight > l.clientHeight + 100 })(document.getElementById('c-log'))`) {
		t.Fatal("the conversation fits the log: nothing to scroll")
	}
	opEval[any](t, f, `(document.getElementById('c-log').scrollTop = 0, 0)`)
	boris, _ := newChatVisitor(t, f.srv, f.key, f.web+"bags").connect(t, origin, 0, 0)
	boris.send(map[string]any{"type": "send", "ref": "b1", "text": "How much is delivery?"})
	boris.next("ack")
	f.opWait(t, "the other chat is listed", `document.querySelectorAll('#c-chats li[data-chat]').length == 2`)
	if got := opEval[float64](t, f, `document.getElementById('c-log').scrollTop`); got != 0 {
		t.Errorf("the conversation scrolled to %v under the operator, want it where they left it (0)", got)
	}
	f.noExceptions(t)
}

// The open chat is not drawn again for another chat's news: what the
// operator selected in it (a phone number to copy) stays selected, and a
// screen reader, to which the conversation is a live log, does not read it
// out again from the start.
func TestChatConsoleOpenChatKeptWhileOtherChatsChange(t *testing.T) {
	f := newChatFixture(t, "en")
	f.console(t, "en")
	origin := strings.TrimSuffix(f.web, "/")
	anna, _ := newChatVisitor(t, f.srv, f.key, f.web+"boots").connect(t, origin, 0, 0)
	anna.send(map[string]any{"type": "send", "ref": "a1", "text": "Call me at +7 910 123-45-67"})
	anna.next("ack")
	f.opWait(t, "the chat is listed", `document.querySelector('#c-chats li[data-chat] button')`)
	opEval[any](t, f, `(document.querySelector('#c-chats li[data-chat] button').click(), 0)`)
	f.opWait(t, "the message shows", `document.querySelector('#c-log .c-msg .c-text')`)
	opEval[any](t, f, `(function () {
  var n = document.querySelector('#c-log .c-msg .c-text');
  n.__kept = true;
  getSelection().selectAllChildren(n);
  return 0;
})()`)
	boris, _ := newChatVisitor(t, f.srv, f.key, f.web+"bags").connect(t, origin, 0, 0)
	boris.send(map[string]any{"type": "send", "ref": "b1", "text": "How much is delivery?"})
	boris.next("ack")
	f.opWait(t, "the other chat is listed", `document.querySelectorAll('#c-chats li[data-chat]').length == 2`)
	if !opEval[bool](t, f, `document.querySelector('#c-log .c-msg .c-text').__kept === true`) {
		t.Error("the open chat was drawn again for another chat's frame")
	}
	if got := opEval[string](t, f, `getSelection().toString()`); got != "Call me at +7 910 123-45-67" {
		t.Errorf("the operator's selection is %q after another chat came", got)
	}
	f.noExceptions(t)
}
