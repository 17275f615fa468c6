package httpd_test

import (
	"testing"
)

// The words a visitor typed in the chat and did not send yet are still in
// the field on the site's next page (or the page reloaded), as the lead
// form's are: they were lost when the visitor went on to another page of
// the site mid-sentence. Sent, they are gone from the field for good, and
// the message is in the log once.
func TestChatUnsentWordsKeptAcrossPages(t *testing.T) {
	f := newChatFixture(t, "ru")
	f.openedByOperator(t, "Здравствуйте")
	f.operatorSays(t, "Добрый день! Чем помочь?")
	f.waitIn(t, "the operator's answer", `r.querySelectorAll('.log .m.operator').length == 1`)
	// (the fields are read trimmed: a test's key event for Enter leaves a
	// new line in the field, which a visitor's Enter does not)
	f.typeInto(t, "#cs-chat-text", "Нужен кирпич М150, 2000 шт")

	f.visit(t, "/")
	f.waitIn(t, "the chat is back", `r.querySelector('section.chat') && !r.querySelector('section.chat').hidden && r.querySelectorAll('.log .m').length == 2`)
	if got := in[string](t, f.widgetFixture, `r.querySelector('#cs-chat-text').value.trim()`); got != "Нужен кирпич М150, 2000 шт" {
		t.Errorf("on the next page the field holds %q, want the words typed", got)
	}
	f.typeInto(t, "#cs-chat-text", "\r")
	f.opWait(t, "the operator gets it", `document.querySelectorAll('#c-log .c-msg').length == 3`)

	f.visit(t, "/")
	f.waitIn(t, "the chat is back", `r.querySelector('section.chat') && !r.querySelector('section.chat').hidden && r.querySelectorAll('.log .m').length == 3`)
	if got := in[string](t, f.widgetFixture, `r.querySelector('#cs-chat-text').value.trim()`); got != "" {
		t.Errorf("after the words were sent the next page's field holds %q", got)
	}
	if got, want := f.visitorLog(t), "Здравствуйте | Добрый день! Чем помочь? | Нужен кирпич М150, 2000 шт"; got != want {
		t.Errorf("the log: %q, want %q", got, want)
	}
	f.noExceptions(t)
}
