package httpd_test

import "testing"

// A visitor writes while the operator's console is in a background tab
// with their chat open: the tab's title and the chat's row count it. Back
// in the tab the operator reads it: the title and the row's badge both
// clear, not only the title.
func TestChatConsoleBackInTabClearsRowBadge(t *testing.T) {
	f := newChatFixture(t, "en")
	f.openedByOperator(t, "Hello")
	f.operatorSays(t, "Hi, how can I help?")
	f.waitIn(t, "the answer shows", `r.querySelectorAll('.log .m.operator').length == 1`)
	opEval[any](t, f, `(function () {
  var hidden = false;
  Object.defineProperty(document, "visibilityState", {configurable: true, get: function () { return hidden ? "hidden" : "visible"; }});
  Object.defineProperty(document, "hidden", {configurable: true, get: function () { return hidden; }});
  window.setHidden = function (h) { hidden = h; document.dispatchEvent(new Event("visibilitychange")); };
  setHidden(true);
  return 0;
})()`)
	f.visitorSays(t, "Do you have it in blue?")
	badge := `document.querySelector('#c-chats li[data-chat] .c-unread')`
	f.opWait(t, "the background tab counts the message", badge+` && `+badge+`.textContent == '1' && document.title.indexOf('(1) ') == 0`)
	opEval[any](t, f, `(setHidden(false), 0)`)
	f.opWait(t, "the title clears", `document.title.indexOf('(') != 0`)
	f.waitIn(t, "the visitor's message is marked read", `Array.from(r.querySelectorAll('.log .m.visitor')).pop().getAttribute('data-mark') == 'read'`)
	if opEval[bool](t, f, `!!`+badge) {
		t.Errorf("the chat's row still shows %q unread after the operator read it", opEval[string](t, f, badge+`.textContent`))
	}
	f.noExceptions(t)
}
