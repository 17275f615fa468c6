package httpd_test

// The widgets' windows as dialogs over the page (assets/snippet/modal.js):
// where a window covers the screen, a keyboard and a screen reader stay in
// it, the page behind is inert and still, and all of it is put back as the
// site had it when the window closes; where the chat window is a panel
// beside the page (a wide screen), the visitor can still Tab out of it.

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"appliance/httpd/httpdtest"
)

// modalPage is a site's page with a button that calls open, a link, an
// element the site made inert itself, one it hid from screen readers, a
// long text to scroll and its own overflow style on the body.
func modalPage(install, open string) string {
	return sitePage("Shop", "", install, `document.body.insertAdjacentHTML('afterbegin',
  '<button id="open" onclick="`+open+`">Open</button><a id="link" href="#top">A link of the page</a>' +
  '<div id="own" inert="inert"><button>Not yet</button></div><div id="shade" aria-hidden="true">Decoration</div>' +
  '<p id="long" style="height: 3000px">Long text</p>');
document.body.style.overflowY = 'scroll';`)
}

// pageState is what the widgets may change of the page and must give
// back: each child of the body (the widget's host aside) with its inert
// and aria-hidden attributes, and the root's and body's inline styles.
const pageState = `(function () {
  return Array.from(document.body.children).filter(function (n) { return n.localName != 'cs-widget' }).map(function (n) {
    return (n.id || n.localName) + (n.hasAttribute('inert') ? '[inert=' + n.getAttribute('inert') + ']' : '') +
      (n.hasAttribute('aria-hidden') ? '[aria-hidden=' + n.getAttribute('aria-hidden') + ']' : '');
  }).join(' ') + ' | html {' + document.documentElement.style.cssText + '} body {' + document.body.style.cssText + '}';
})()`

// pageReachable lists the page's elements a keyboard or a screen reader
// can reach (not inert), the widget's host aside.
const pageReachable = `Array.from(document.body.children).filter(function (n) { return n.localName != 'cs-widget' && !n.inert }).map(function (n) { return n.id || n.localName }).join(' ')`

// pageScrolls is the page's overflow as it scrolls: the root's and the
// body's computed overflow-y.
const pageScrolls = `getComputedStyle(document.documentElement).overflowY + ' ' + getComputedStyle(document.body).overflowY`

// covered checks that the page behind a modal window is inert (the site's
// own inert element still as it was), out of the accessibility tree and
// still.
func (f *widgetFixture) covered(t *testing.T, what string) {
	t.Helper()
	if got := eval[string](t, f.snippetFixture, pageReachable); got != "" {
		t.Errorf("%s: the page's %s are not inert", what, got)
	}
	if got := eval[string](t, f.snippetFixture, `document.getElementById('own').getAttribute('inert') + ' ' + document.getElementById('shade').getAttribute('aria-hidden')`); got != "inert true" {
		t.Errorf("%s: the site's own inert and aria-hidden are %q, want them as the site set them", what, got)
	}
	for _, c := range namedControls(t, f) {
		if c == "button Open" || c == "link A link of the page" {
			t.Errorf("%s: a screen reader reaches the page's %q", what, c)
		}
	}
	if got := eval[string](t, f.snippetFixture, pageScrolls); got != "hidden hidden" {
		t.Errorf("%s: the page's overflow is %q, want it held still", what, got)
	}
}

// tabs presses Tab (shift: Shift+Tab) n times and returns what has the
// focus after each: activeName inside the widget, "outside" elsewhere.
func (f *widgetFixture) tabs(t *testing.T, n int, shift bool) []string {
	t.Helper()
	var got []string
	for i := 0; i < n; i++ {
		if shift {
			f.press(t, kb.Tab, chromedp.KeyModifiers(chromedp.ModifierShift))
		} else {
			f.press(t, kb.Tab)
		}
		got = append(got, f.activeName(t))
	}
	return got
}

// chatModal is the chat window's aria-modal ("null" for none).
const chatModal = `String(r.querySelector('section.chat').getAttribute('role') + ' ' + r.querySelector('section.chat').getAttribute('aria-modal'))`

// On a phone (375×667) the chat window fills the screen and is a modal
// dialog: Tab and Shift+Tab cycle inside it, the page behind is inert to a
// keyboard and a screen reader and does not scroll, a lead form opened
// over it has it inert in turn, and Esc gives the focus back to the
// page's button and the page back as the site had it (its own inert
// element still inert, its overflow style). Turned sideways (667×375) the
// window is a panel again, the page usable, Tab leaves it; turned back it
// is a dialog again and takes the focus from the page.
func TestChatModalOnPhone(t *testing.T) {
	f := newChatFixture(t, "en")
	httpdtest.Must(t, f.browser, chromedp.EmulateViewport(375, 667))
	f.page("/", modalPage(f.install, "Comagic.openChatWindow()"))
	f.console(t, "en")
	f.visit(t, "/")
	f.eventually(t, "getOperatorStatus() is true", func() bool { return eval[bool](t, f.snippetFixture, `Comagic.getOperatorStatus()`) })
	before := eval[string](t, f.snippetFixture, pageState)
	if !strings.Contains(before, "own[inert=inert]") || !strings.Contains(before, "overflow-y: scroll") {
		t.Fatalf("the page is %q: the test does not read it", before)
	}
	w := f.widgetFixture

	f.press(t, kb.Tab)
	f.press(t, kb.Enter)
	w.waitIn(t, "the chat opens", `r.querySelector('section.chat') && !r.querySelector('section.chat').hidden`)
	if got := w.activeName(t); got != "cs-chat-text" {
		t.Errorf("focus on %q when the chat opens, want its field", got)
	}
	if got := in[string](t, w, chatModal); got != "dialog true" {
		t.Errorf("the chat window on a phone: role and aria-modal %q, want a modal dialog", got)
	}
	w.covered(t, "the chat on a phone")
	if got, want := strings.Join(w.tabs(t, 5, false), ", "), "Send, Minimize the chat, Conversation, cs-chat-text, Send"; got != want {
		t.Errorf("Tab from the field went to %s, want %s", got, want)
	}
	if got, want := strings.Join(w.tabs(t, 2, true), ", "), "cs-chat-text, Conversation"; got != want {
		t.Errorf("Shift+Tab from Send went to %s, want %s", got, want)
	}
	if got, want := strings.Join(w.tabs(t, 2, true), ", "), "Minimize the chat, Send"; got != want {
		t.Errorf("Shift+Tab from the log went to %s, want %s", got, want)
	}

	// A lead form over the chat: the chat is inert under it, the page
	// still; closed, the chat has the focus back and is the dialog again.
	eval[any](t, f.snippetFixture, `Comagic.openSiteRequestPanel()`)
	w.waitIn(t, "the lead form opens", `r.querySelector('[data-kind=lead]')`)
	if got := in[string](t, w, `String(r.querySelector('section.chat').inert)`); got != "true" {
		t.Errorf("the chat under the lead form is not inert")
	}
	w.covered(t, "the lead form over the chat")
	f.press(t, kb.Escape)
	w.waitIn(t, "Esc closes the lead form", `!r.querySelector('.dialog')`)
	if got := in[string](t, w, `String(r.querySelector('section.chat').inert)`); got != "false" {
		t.Errorf("the chat is still inert once the lead form is closed")
	}
	if got := w.activeName(t); got != "Send" {
		t.Errorf("focus on %q after the lead form, want the chat's Send again", got)
	}
	w.covered(t, "the chat after the lead form")

	f.press(t, kb.Escape)
	w.waitIn(t, "Esc minimizes the chat", `r.querySelector('section.chat').hidden`)
	if got := eval[string](t, f.snippetFixture, `document.activeElement.id`); got != "open" {
		t.Errorf("focus on %q after Esc, want the page's button", got)
	}
	if got := eval[string](t, f.snippetFixture, pageState); got != before {
		t.Errorf("the page after the chat closed:\n%s\nwant it as it was:\n%s", got, before)
	}

	// Turned sideways while open: a panel beside the page.
	f.press(t, kb.Enter)
	w.waitIn(t, "the chat opens again", `!r.querySelector('section.chat').hidden && r.querySelector('section.chat').getAttribute('aria-modal') == 'true'`)
	httpdtest.Must(t, f.browser, chromedp.EmulateViewport(667, 375))
	w.waitIn(t, "the chat is a panel sideways", `!r.querySelector('section.chat').hasAttribute('aria-modal')`)
	if got := eval[string](t, f.snippetFixture, pageState); got != before {
		t.Errorf("the page beside the chat panel:\n%s\nwant it as it was:\n%s", got, before)
	}
	if got := w.activeName(t); got != "cs-chat-text" {
		t.Fatalf("focus on %q after turning, want the chat's field still", got)
	}
	if got := w.tabs(t, 2, false); got[1] == "Minimize the chat" {
		t.Errorf("Tab past Send went back into the chat panel sideways (%q)", got)
	}
	// Turned back with the focus on the page: a dialog again, with the focus.
	httpdtest.Must(t, f.browser, chromedp.Focus(chromedp.ID("link")))
	httpdtest.Must(t, f.browser, chromedp.EmulateViewport(375, 667))
	w.waitIn(t, "the chat is a dialog again", `r.querySelector('section.chat').getAttribute('aria-modal') == 'true'`)
	w.covered(t, "the chat turned back")
	if got := w.activeName(t); got != "cs-chat-text" {
		t.Errorf("focus on %q after turning back, want the chat's field", got)
	}
	f.press(t, kb.Escape)
	w.waitIn(t, "Esc minimizes the chat", `r.querySelector('section.chat').hidden`)
	if got := eval[string](t, f.snippetFixture, `document.activeElement.id`); got != "link" {
		t.Errorf("focus on %q after Esc, want the page's link that had it", got)
	}
	if got := eval[string](t, f.snippetFixture, pageState); got != before {
		t.Errorf("the page after the chat closed:\n%s\nwant it as it was:\n%s", got, before)
	}

	// Left open, the window is open on the next page, and a dialog there.
	httpdtest.Must(t, f.browser, chromedp.Focus(chromedp.ID("open")))
	f.press(t, kb.Enter)
	w.waitIn(t, "the chat opens again", `!r.querySelector('section.chat').hidden`)
	f.noExceptions(t)
	f.visit(t, "/")
	w.waitIn(t, "the chat is open on the next page", `r.querySelector('section.chat') && !r.querySelector('section.chat').hidden`)
	if got := in[string](t, w, chatModal); got != "dialog true" {
		t.Errorf("the chat window kept open on the next page: role and aria-modal %q, want a modal dialog", got)
	}
	w.covered(t, "the chat kept open on the next page")
	f.noExceptions(t)
}

// On a wide screen (1280×800) the chat window stays a panel beside the
// page, which the visitor keeps using: no aria-modal, nothing of the page
// inert or held still, Tab past its last control leaves it; Esc minimizes
// it and gives the focus back to the page's button.
func TestChatPanelOnDesktop(t *testing.T) {
	f := newChatFixture(t, "en")
	httpdtest.Must(t, f.browser, chromedp.EmulateViewport(1280, 800))
	f.page("/", modalPage(f.install, "Comagic.openChatWindow()"))
	f.console(t, "en")
	f.visit(t, "/")
	f.eventually(t, "getOperatorStatus() is true", func() bool { return eval[bool](t, f.snippetFixture, `Comagic.getOperatorStatus()`) })
	before := eval[string](t, f.snippetFixture, pageState)
	w := f.widgetFixture
	f.press(t, kb.Tab)
	f.press(t, kb.Enter)
	w.waitIn(t, "the chat opens", `r.querySelector('section.chat') && !r.querySelector('section.chat').hidden`)
	if got := in[string](t, w, chatModal); got != "dialog null" {
		t.Errorf("the chat window on a wide screen: role and aria-modal %q, want a non-modal dialog", got)
	}
	if got := eval[string](t, f.snippetFixture, pageState); got != before {
		t.Errorf("the page beside the chat panel:\n%s\nwant it as it was:\n%s", got, before)
	}
	if got := eval[string](t, f.snippetFixture, pageScrolls); got != "visible scroll" {
		t.Errorf("the page's overflow beside the chat panel is %q, want the site's", got)
	}
	if got := w.tabs(t, 2, false); got[0] != "Send" || got[1] == "Minimize the chat" {
		t.Errorf("Tab from the field went to %q: want Send, then out of the panel", got)
	}
	httpdtest.Must(t, f.browser, chromedp.Focus(chromedp.JSPath(shadow+`.querySelector('#cs-chat-text')`)))
	f.press(t, kb.Escape)
	w.waitIn(t, "Esc minimizes the chat", `r.querySelector('section.chat').hidden`)
	if got := eval[string](t, f.snippetFixture, `document.activeElement.id`); got != "open" {
		t.Errorf("focus on %q after Esc, want the page's button", got)
	}
	f.noExceptions(t)
}

// The lead form, modal at every width, covers the page the same way (the
// one helper of modal.js): on a phone and on a wide screen the page is
// inert and still while it is open, and so is
// what the page adds meanwhile; Tab stays in it, and Esc gives the focus
// and the page back as they were.
func TestLeadFormModal(t *testing.T) {
	for _, size := range []struct {
		name string
		w, h int64
	}{{"phone", 375, 667}, {"desktop", 1280, 800}} {
		t.Run(size.name, func(t *testing.T) {
			f := newWidgetFixture(t, map[string]any{"lang": "en"})
			httpdtest.Must(t, f.browser, chromedp.EmulateViewport(size.w, size.h))
			f.page("/", modalPage(f.install, "Comagic.openSiteRequestPanel()"))
			f.visit(t, "/")
			before := eval[string](t, f.snippetFixture, pageState)
			f.press(t, kb.Tab)
			f.press(t, kb.Enter)
			f.waitIn(t, "the lead form opens", `r.querySelector('[data-kind=lead]')`)
			f.covered(t, "the lead form")
			// What the page adds to its body meanwhile is behind the dialog too.
			eval[any](t, f.snippetFixture, `document.body.insertAdjacentHTML('beforeend', '<button id="late">Late</button>')`)
			f.eventually(t, "the page's new button is inert", func() bool {
				return eval[bool](t, f.snippetFixture, `document.getElementById('late').inert`)
			})
			if got, want := strings.Join(f.tabs(t, 2, true), ", "), "Close, Send"; got != want {
				t.Errorf("Shift+Tab from the name went to %s, want %s", got, want)
			}
			f.press(t, kb.Escape)
			f.waitIn(t, "Esc closes the lead form", `!r.querySelector('.dialog')`)
			if got := eval[string](t, f.snippetFixture, `document.activeElement.id`); got != "open" {
				t.Errorf("focus on %q after Esc, want the page's button", got)
			}
			if got, want := eval[string](t, f.snippetFixture, pageState), strings.Replace(before, " |", " late |", 1); got != want {
				t.Errorf("the page after the lead form closed:\n%s\nwant it as it was:\n%s", got, want)
			}
			f.noExceptions(t)
		})
	}
}
