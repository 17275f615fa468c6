package httpd_test

import (
	"testing"

	"github.com/chromedp/chromedp"

	"appliance/httpd/httpdtest"
)

// A chat the operator ended still says so on the visitor's next page (and
// after a reload): the conversation shown again ends with the note that
// the chat has ended and the next message starts a new one, once, after
// the messages, and not read out again. Without it the old conversation
// looks open, under "An operator is online", and the visitor's next words
// go, unknown to them, to a new chat the operator sees without it.
func TestChatEndedSaysSoOnNextPage(t *testing.T) {
	f := newChatFixture(t, "ru")
	f.openedByOperator(t, "Есть ли доставка в Тверь?")
	f.operatorSays(t, "Да, курьером")
	f.waitIn(t, "the answer shows", `r.querySelectorAll('.log .m.operator').length == 1`)
	opEval[any](t, f, `(document.getElementById('c-close').click(), 0)`)
	const ended = "Чат завершён. Напишите, чтобы начать новый."
	f.waitIn(t, "the window says the chat ended", `r.querySelector('.log').lastElementChild.textContent == '`+ended+`'`)

	lastTwo := `Array.from(r.querySelectorAll('.log > *')).slice(-2).map(n => n.querySelector('.text') ? n.querySelector('.text').textContent : n.textContent).join(' | ')`
	count := `Array.from(r.querySelectorAll('.log .note')).filter(n => n.textContent == '` + ended + `').length`
	for _, step := range []string{"next page", "reload"} {
		if step == "next page" {
			f.visit(t, "/")
		} else {
			httpdtest.Must(t, f.browser, chromedp.Reload())
		}
		f.waitIn(t, "the conversation shows again ("+step+")", `r.querySelectorAll('.log .m.operator').length == 1`)
		f.waitIn(t, "the whole conversation is there ("+step+")", `r.querySelectorAll('.log .m.visitor').length == 1`)
		if got := in[string](t, f.widgetFixture, lastTwo); got != "Да, курьером | "+ended {
			t.Errorf("%s: the window ends with %q, want the answer and the note that the chat ended", step, got)
		}
		if got := in[float64](t, f.widgetFixture, count); got != 1 {
			t.Errorf("%s: the note shows %v times", step, got)
		}
		if got := in[string](t, f.widgetFixture, `(r.querySelector('.sr[aria-live=polite]') || {}).textContent || ''`); got != "" {
			t.Errorf("%s: read out %q", step, got)
		}
	}
	// The visitor's next words start a new chat below the note.
	f.visitorSays(t, "А в Клин?")
	f.waitIn(t, "the new message is stored", `Array.from(r.querySelectorAll('.log .m.visitor')).some(n => n.textContent.indexOf('А в Клин?') == 0 && n.getAttribute('data-id'))`)
	if got := in[string](t, f.widgetFixture, lastTwo); got != ended+" | А в Клин?" {
		t.Errorf("after the new message the window ends with %q", got)
	}
	f.noExceptions(t)
}

// The chat an operator ended stays in the console's list while it is open
// on the screen; its row says it has ended, as the header does, not whose
// it still is ("taken by you"), which reads as a chat waiting for them.
func TestChatConsoleEndedChatRowSaysSo(t *testing.T) {
	f := newChatFixture(t, "en")
	f.openedByOperator(t, "Do you ship to Tver?")
	f.operatorSays(t, "Yes, by courier")
	f.waitIn(t, "the answer shows", `r.querySelectorAll('.log .m.operator').length == 1`)
	row := `document.querySelector('#c-chats li[data-chat] .c-line:last-child').textContent`
	f.opWait(t, "the row says the chat is the operator's", row+` == 'Shop · taken by you'`)
	opEval[any](t, f, `(document.getElementById('c-close').click(), 0)`)
	f.opWait(t, "the header says the chat ended", `document.getElementById('c-sub').textContent == 'This chat has ended.'`)
	f.opWait(t, "the row says the chat ended", row+` == 'Shop · This chat has ended.'`)
	f.noExceptions(t)
}
