package httpd_test

import (
	"context"
	"testing"

	"appliance/store"
)

// The window's minimize button hides the window, and the floating button
// shows then and hides while the window is open: on screen, not only in
// the hidden attribute, which the window's and the button's display:flex
// overrode (the browser's [hidden] rule loses to a class's display), so
// the minimized window stayed on the page over the button.
func TestChatMinimizeHidesWindowOnScreen(t *testing.T) {
	f := newChatFixture(t, "ru")
	site, err := f.srv.HTTP.Sites().ByKey(f.key)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.srv.HTTP.Chats().SetSettings(context.Background(), site.ID, store.ChatSettings{Button: true}); err != nil {
		t.Fatal(err)
	}
	f.openedByOperator(t, "Добрый день")
	shown := `(function (n) { return n && n.getClientRects().length > 0 })`
	window, button := shown+`(r.querySelector('section.chat'))`, shown+`(r.querySelector('button.fab'))`
	if !in[bool](t, f.widgetFixture, window) || in[bool](t, f.widgetFixture, button) {
		t.Errorf("the open window: window shown %v, floating button shown %v; want the window alone",
			in[bool](t, f.widgetFixture, window), in[bool](t, f.widgetFixture, button))
	}
	f.click(t, "header button.min")
	f.waitIn(t, "the window is minimized", `r.querySelector('section.chat').hidden`)
	if in[bool](t, f.widgetFixture, window) || !in[bool](t, f.widgetFixture, button) {
		t.Errorf("minimized: window shown %v, floating button shown %v; want the button alone",
			in[bool](t, f.widgetFixture, window), in[bool](t, f.widgetFixture, button))
	}
	f.noExceptions(t)
}
