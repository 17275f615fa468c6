package httpd_test

import (
	"strings"
	"testing"
)

// The console in Russian says whose a chat is in words that are Russian:
// the operator's own chat is "отвечаете вы" in its header and in the list,
// not "отвечает вы" (the colleague's form with "вы" put in); a chat
// answered and then released to the queue is one nobody answers now, not
// one "nobody has answered yet" ("пока никто не ответил").
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
	f.operatorSays(t, "Да, курьером за 2 дня")
	f.waitIn(t, "the visitor has the answer", `r.querySelectorAll('.log .m.operator').length == 1`)
	opEval[any](t, f, `(document.getElementById('c-release').click(), 0)`)
	f.opWait(t, "the chat is back in the queue", `!document.getElementById('c-claim').hidden`)
	if got := opEval[string](t, f, `document.getElementById('c-sub').textContent`); got != "пока никто не отвечает" {
		t.Errorf("the header of an answered chat released to the queue says %q", got)
	}
	f.noExceptions(t)
}
