package httpd_test

import (
	"html"
	"net/http"
	"strings"
	"testing"

	"appliance/httpd/httpdtest"
)

// The team page's note on roles is what an owner reads before giving a
// colleague one: an operator's says what an operator has, the chat console
// and the visitor cards it links besides the callbacks (the role table,
// roles.go, grants useChat and seeVisitors), and what an operator does not
// see. It said "the list of sites and their callbacks" only, so an owner
// looking for a role for the person who answers the site's chat found none.
func TestTeamPageOperatorRoleText(t *testing.T) {
	srv := httpdtest.Start(t)
	srv.Site(t, "Котлы", "kotly.example")
	op := signInAs(t, srv, "operator")
	if status, _ := getPageIn(t, op, srv.URL+"chat", "ru"); status != http.StatusOK {
		t.Fatalf("an operator's chat console: %d", status)
	}
	owner := signInAs(t, srv, "owner")
	for _, tc := range []struct {
		lang, from string
		want       []string
	}{
		{"ru", "Оператор:", []string{"обратные звонки", "чат", "карточки посетителей", "не видит"}},
		{"en", "Operator:", []string{"callbacks", "chat", "visitor cards", "not"}},
	} {
		status, body := getPageIn(t, owner, srv.URL+"team", tc.lang)
		if status != http.StatusOK {
			t.Fatalf("%s team page: %d", tc.lang, status)
		}
		note := html.UnescapeString(cutAt(body, tc.from, "."))
		if note == "" {
			t.Fatalf("%s: the team page has no %q note", tc.lang, tc.from)
		}
		for _, w := range tc.want {
			if !strings.Contains(note, w) {
				t.Errorf("%s: the operator's note %q does not say %q", tc.lang, note, w)
			}
		}
	}
}
