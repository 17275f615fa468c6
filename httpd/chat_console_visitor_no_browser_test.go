package httpd_test

import (
	"regexp"
	"testing"
)

// The console in Russian numbers a visitor as every other page of the
// dashboard does, "Посетитель № 12" (the visitor card's title, the site
// page's visits, the calls page), in the chat list and in the open chat's
// header: it wrote "Посетитель #12", the English number sign glued to the
// Russian word.
func TestChatConsoleRussianVisitorNumber(t *testing.T) {
	f := newChatFixture(t, "ru")
	f.openedByOperator(t, "Здравствуйте! Котлы Baxi есть?")
	f.opWait(t, "the chat's header is filled", `/\d/.test(document.getElementById('c-title').textContent)`)
	want := regexp.MustCompile(`^Посетитель №[\x{a0} ]\d+`)
	row := opEval[string](t, f, `document.querySelector('#c-chats li[data-chat] strong').textContent`)
	title := opEval[string](t, f, `document.getElementById('c-title').textContent`)
	for what, got := range map[string]string{"the chat list's row": row, "the chat's header": title} {
		if !want.MatchString(got) {
			t.Errorf("%s says %q, want %s", what, got, want)
		}
	}
	f.noExceptions(t)
}
