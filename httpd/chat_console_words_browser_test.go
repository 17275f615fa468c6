package httpd_test

import (
	"strings"
	"testing"
)

// The console in Russian says whose a chat is in words that are Russian:
// the operator's own chat is "отвечаете вы" in its header and in the list,
// not "отвечает вы" (the colleague's form with "вы" put in).
func TestChatConsoleRussianWhoseChat(t *testing.T) {
	f := newChatFixture(t, "ru")
	f.openedByOperator(t, "Здравствуйте! Есть доставка в Казань?")
	opEval[any](t, f, `(document.getElementById('c-claim').click(), 0)`)
	f.opWait(t, "the chat is taken", `document.getElementById('c-claim').hidden`)
	if got := opEval[string](t, f, `document.getElementById('c-sub').textContent`); got != "отвечаете вы" {
		t.Errorf("the header of the operator's own chat says %q", got)
	}
	if got := opEval[string](t, f, `document.querySelector('#c-chats li[data-chat]').textContent`); !strings.Contains(got, "отвечаете вы") || strings.Contains(got, "отвечает вы") {
		t.Errorf("the list row of the operator's own chat says %q", got)
	}
	f.noExceptions(t)
}
