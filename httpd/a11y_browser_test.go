package httpd_test

// Accessibility of what a site's visitor meets from the snippet: the
// callback panel with its captcha, the lead form and the chat window, read
// through chromium's accessibility tree (what NVDA or VoiceOver is given)
// and used by keyboard alone; and of the operator console's chat.

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/accessibility"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"appliance/httpd/httpdtest"
	"appliance/store"
)

// axNode is a node of the accessibility tree, as a screen reader gets it.
type axNode struct {
	role, name, desc string
	invalid          bool
}

// axValue is the text of an accessibility value ("" for none).
func axValue(t *testing.T, v *accessibility.Value) string {
	t.Helper()
	if v == nil || len(v.Value) == 0 {
		return ""
	}
	var s any
	if err := json.Unmarshal([]byte(v.Value), &s); err != nil {
		t.Fatalf("accessibility value %s: %v", v.Value, err)
	}
	if str, ok := s.(string); ok {
		return str
	}
	return ""
}

// axTree is the page's accessibility tree, ignored nodes left out.
func axTree(t *testing.T, f *widgetFixture) []axNode {
	t.Helper()
	res, err := chromedp.Call(f.browser, accessibility.GetFullAXTree, accessibility.GetFullAXTreeParams{})
	if err != nil {
		t.Fatal(err)
	}
	var out []axNode
	for _, n := range res.Nodes {
		if n.Ignored {
			continue
		}
		a := axNode{role: axValue(t, n.Role), name: axValue(t, n.Name), desc: axValue(t, n.Description)}
		for _, p := range n.Properties {
			if p.Name == accessibility.PropertyNameInvalid && axValue(t, p.Value) == "true" {
				a.invalid = true
			}
		}
		out = append(out, a)
	}
	return out
}

// interactive are the roles a visitor operates.
var interactive = map[string]bool{"button": true, "textbox": true, "combobox": true, "radio": true, "checkbox": true,
	"link": true, "spinbutton": true, "dialog": true, "log": true, "DateTime": true}

// namedControls checks that every control of the page has a name, and
// returns "role name" of each.
func namedControls(t *testing.T, f *widgetFixture) []string {
	t.Helper()
	var got []string
	for _, n := range axTree(t, f) {
		if !interactive[n.role] {
			continue
		}
		if strings.TrimSpace(n.name) == "" {
			t.Errorf("a %s without a name", n.role)
		}
		got = append(got, n.role+" "+n.name)
	}
	return got
}

// missing is what of want is not in got.
func missing(got, want []string) []string {
	var out []string
	for _, w := range want {
		found := false
		for _, g := range got {
			if g == w {
				found = true
			}
		}
		if !found {
			out = append(out, w)
		}
	}
	return out
}

// activeName is the focused element inside the widget's shadow root: its
// id, else its aria-label, else its text.
func (f *widgetFixture) activeName(t *testing.T) string {
	t.Helper()
	return in[string](t, f, `(function (a) { return !a ? 'outside' : a.id || a.getAttribute('aria-label') || a.textContent })(document.activeElement && document.activeElement.tagName == 'CS-WIDGET' ? r.activeElement : null)`)
}

func (f *widgetFixture) press(t *testing.T, keys string, opts ...chromedp.KeyOption) {
	t.Helper()
	httpdtest.Must(t, f.browser, chromedp.KeyEvent(keys, opts...))
}

// A visitor with a screen reader and a keyboard orders a callback: from
// the page's own button by Tab and Enter into the panel, whose every
// control has a name (the captcha's picture says what to do, a button
// plays its digits); an empty phone is announced, marked invalid and
// focused; Tab stays in the dialog; the sent request is stored and its
// outcome read with the button that takes the focus; Enter closes and
// focus is back on the page's button, as after Esc.
func TestA11yCallbackByKeyboard(t *testing.T) {
	f := newWidgetFixture(t, map[string]any{"captcha": "on", "lang": "en", "groups": "16587 Sales"})
	f.page("/", sitePage("Shop", "", f.install, `document.body.insertAdjacentHTML('afterbegin', '<button id="open" onclick="ComagicWidget.openSitePhonePanel()">Call me back</button>')`))
	f.visit(t, "/")
	f.press(t, kb.Tab)
	if got := eval[string](t, f.snippetFixture, `document.activeElement.id`); got != "open" {
		t.Fatalf("Tab focused %q, want the page's button", got)
	}
	f.press(t, kb.Enter)
	f.waitIn(t, "the callback panel opens with its captcha", `r.querySelector('[data-kind=callback] img') && r.querySelector('img').complete && r.querySelector('img').naturalWidth > 0`)
	if got := f.activeName(t); got != "cs-phone" {
		t.Errorf("focus on %q when the panel opens, want the phone field", got)
	}
	got := namedControls(t, f)
	for _, m := range missing(got, []string{"dialog Request a callback", "button Close", "textbox Phone", "radio Now", "radio Later",
		"combobox Department", "button Show another picture", "button Listen to the digits", "textbox Digits in the picture", "button Call me"}) {
		t.Errorf("no %q in the panel's accessibility tree: %q", m, got)
	}
	for _, c := range []struct{ js, want string }{
		{`r.querySelector('.captcha img').alt`, "Picture of four digits: type them in the field below. Cannot see them? Press Listen to the digits"},
		{`[r.querySelector('#cs-captcha').inputMode, r.querySelector('#cs-captcha').autocomplete].join()`, "numeric,off"},
	} {
		if got := in[string](t, f, c.js); got != c.want {
			t.Errorf("%s = %q, want %q", c.js, got, c.want)
		}
	}
	// The spoken digits are the picture's URL as .wav, in the panel's language.
	in[any](t, f, `(window.__played = [], window.Audio = function (u) { window.__played.push(u); return { play: function () { return Promise.resolve() }, pause: function () {} } }, 0)`)
	f.click(t, `button[aria-label="Listen to the digits"]`)
	if got, img := eval[string](t, f.snippetFixture, `window.__played.join()`), in[string](t, f, `r.querySelector('.captcha img').src`); got != strings.TrimSuffix(img, ".png")+".wav?lang=en" {
		t.Errorf("Listen played %q for the picture %q", got, img)
	}
	httpdtest.Must(t, f.browser, chromedp.Focus(chromedp.JSPath(shadow+`.querySelector('#cs-phone')`)))

	// Enter on the empty phone: told in the alert region, the field marked
	// invalid, described by it, and focused.
	f.press(t, kb.Enter)
	f.waitIn(t, "the empty phone is told", `r.querySelector('.msg').textContent`)
	if got := in[string](t, f, `(function (m) { return m.getAttribute('role') + ': ' + m.textContent })(r.querySelector('.msg'))`); got != "alert: Enter your phone number." {
		t.Errorf("the message region: %q", got)
	}
	if got := f.activeName(t); got != "cs-phone" {
		t.Errorf("focus on %q after the empty phone, want the phone field", got)
	}
	var phone *axNode
	for _, n := range axTree(t, f) {
		if n.role == "textbox" && n.name == "Phone" {
			phone = &n
		}
	}
	if phone == nil || !phone.invalid || phone.desc != "Enter your phone number." {
		t.Errorf("the phone field after the error: %+v, want invalid and described by the error", phone)
	}

	f.press(t, "+12025550143")
	if got := in[string](t, f, `String(r.querySelector('#cs-phone').getAttribute('aria-invalid'))`); got != "null" {
		t.Errorf("the phone is still marked invalid (%s) once typed", got)
	}
	// Tab order: the phone, the radio group, the department, the new
	// picture, the sound, the digits, the button.
	for _, want := range []string{"cs-when-now", "cs-group", "Show another picture", "Listen to the digits", "cs-captcha"} {
		f.press(t, kb.Tab)
		if got := f.activeName(t); got != want {
			t.Fatalf("Tab focused %q, want %q", got, want)
		}
	}
	f.press(t, captchaAnswer)
	f.press(t, kb.Tab)
	if got := f.activeName(t); got != "Call me" {
		t.Fatalf("Tab focused %q, want the submit button", got)
	}
	// The dialog keeps the focus: past the last control Tab goes to the
	// first (Close), and Shift+Tab back.
	f.press(t, kb.Tab)
	if got := f.activeName(t); got != "Close" {
		t.Errorf("Tab past the last control focused %q, want Close", got)
	}
	f.press(t, kb.Tab, chromedp.KeyModifiers(chromedp.ModifierShift))
	if got := f.activeName(t); got != "Call me" {
		t.Errorf("Shift+Tab from Close focused %q, want the submit button", got)
	}
	f.press(t, kb.Enter)
	f.waitIn(t, "the outcome is shown", `r.querySelector('.dialog [role=status]')`)
	var closeBtn *axNode
	for _, n := range axTree(t, f) {
		if n.role == "button" && n.desc != "" {
			closeBtn = &n
		}
	}
	if closeBtn == nil || closeBtn.name != "Close" || closeBtn.desc != "Thank you! We are calling you back." {
		t.Errorf("the button after sending: %+v, want Close described by the outcome", closeBtn)
	}
	if got := f.activeName(t); got != "Close" {
		t.Errorf("focus on %q after sending, want the Close button", got)
	}
	if cbs := f.siteCallbacks(t); len(cbs) != 1 || cbs[0].Phone != "12025550143" || cbs[0].State != store.CallbackSent {
		t.Fatalf("stored %+v, want the callback sent", cbs)
	}
	f.press(t, kb.Enter)
	f.waitIn(t, "Enter on Close closes", `!r.querySelector('.dialog')`)
	if got := eval[string](t, f.snippetFixture, `document.activeElement.id`); got != "open" {
		t.Errorf("focus on %q after closing, want the page's button", got)
	}
	f.press(t, kb.Enter)
	f.waitIn(t, "the panel opens again", `r.querySelector('.dialog')`)
	f.press(t, kb.Escape)
	f.waitIn(t, "Esc closes", `!r.querySelector('.dialog')`)
	if got := eval[string](t, f.snippetFixture, `document.activeElement.id`); got != "open" {
		t.Errorf("focus on %q after Esc, want the page's button", got)
	}
	f.noExceptions(t)
}

// The lead form in Russian has a name for every control, tells a form
// with nothing in it through its alert region with every field marked, and
// reads out the thanks with the button that takes the focus.
func TestA11yLeadForm(t *testing.T) {
	f := newWidgetFixture(t, map[string]any{"lang": "ru"})
	f.page("/", sitePage("Магазин", "", f.install, ""))
	f.visit(t, "/")
	eval[any](t, f.snippetFixture, `Comagic.openSiteRequestPanel()`)
	f.waitIn(t, "the lead form opens", `r.querySelector('[data-kind=lead]')`)
	got := namedControls(t, f)
	for _, m := range missing(got, []string{"dialog Оставить заявку", "button Закрыть", "textbox Имя", "textbox Телефон", "textbox Эл. почта",
		"textbox Сообщение", "button Отправить"}) {
		t.Errorf("no %q in the form's accessibility tree: %q", m, got)
	}
	f.press(t, kb.Enter)
	f.waitIn(t, "the empty form is told", `r.querySelector('.msg').textContent`)
	invalid := 0
	for _, n := range axTree(t, f) {
		if n.role == "textbox" && n.invalid && n.desc == "Укажите имя, телефон или эл. почту либо напишите сообщение." {
			invalid++
		}
	}
	if invalid != 4 || f.activeName(t) != "cs-name" {
		t.Errorf("%d fields marked invalid and described by the error, focus on %q; want 4 and the name", invalid, f.activeName(t))
	}
	f.press(t, "Анна")
	f.press(t, kb.Enter)
	f.waitIn(t, "the thanks", `r.querySelector('.dialog [role=status]')`)
	if got := in[string](t, f, `(function (a) { return a.textContent + ' / ' + r.getElementById(a.getAttribute('aria-describedby')).textContent })(r.activeElement)`); got != "Закрыть / Спасибо! Сообщение отправлено." {
		t.Errorf("focus after sending: %q", got)
	}
	f.noExceptions(t)
}

// A visitor chats by keyboard: Tab and Enter on the page's button open the
// chat with the focus in its labelled field; Enter sends (Shift+Enter is
// a new line) and the operator gets the message; the operator's answer is
// read out once through the polite region, not again when the next page
// shows the conversation; Esc minimizes the window and gives the focus
// back.
func TestA11yChatByKeyboard(t *testing.T) {
	f := newChatFixture(t, "en")
	f.page("/", sitePage("Shop", "", f.install, `document.body.insertAdjacentHTML('afterbegin', '<button id="open" onclick="Comagic.openChatWindow()">Chat</button>')`))
	f.console(t, "en")
	f.visit(t, "/")
	f.eventually(t, "getOperatorStatus() is true", func() bool { return eval[bool](t, f.snippetFixture, `Comagic.getOperatorStatus()`) })
	f.press(t, kb.Tab)
	f.press(t, kb.Enter)
	f.waitIn(t, "the chat opens", `r.querySelector('section.chat') && !r.querySelector('section.chat').hidden`)
	if got := f.activeName(t); got != "cs-chat-text" {
		t.Errorf("focus on %q when the chat opens, want its field", got)
	}
	got := namedControls(t, f.widgetFixture)
	for _, m := range missing(got, []string{"dialog Chat with us", "button Minimize the chat", "textbox Message", "button Send", "log Conversation"}) {
		t.Errorf("no %q in the chat's accessibility tree: %q", m, got)
	}
	f.press(t, "Hello")
	f.press(t, kb.Enter, chromedp.KeyModifiers(chromedp.ModifierShift))
	f.seen(t, "the chat window", "section.chat")
	f.press(t, "I need a quote")
	f.press(t, kb.Enter)
	f.opWait(t, "the chat is listed", `document.querySelector('#c-chats li[data-chat] button')`)
	httpdtest.Must(t, f.op, chromedp.Click(chromedp.CSS(`#c-chats li[data-chat] button`)))
	f.opWait(t, "the operator reads the message", `document.querySelector('#c-log .c-msg .c-text')`)
	if got := f.operatorLog(t); got != "Hello\nI need a quote" {
		t.Errorf("the operator got %q", got)
	}
	live := `Array.from(r.querySelectorAll('.sr[aria-live=polite] div')).map(n => n.textContent).join(' | ')`
	if got := in[string](t, f.widgetFixture, live); got != "" {
		t.Errorf("read out before any answer: %q", got)
	}
	f.operatorSays(t, "Sure, what size?")
	f.waitIn(t, "the answer is read out", `r.querySelector('.sr[aria-live=polite]') && r.querySelector('.sr[aria-live=polite]').textContent.indexOf('Sure, what size?') >= 0`)
	if got := in[string](t, f.widgetFixture, live); !strings.Contains(got, "owner: Sure, what size?") || strings.Count(got, "Sure") != 1 {
		t.Errorf("read out: %q", got)
	}
	if got := in[string](t, f.widgetFixture, `[r.querySelector('.log').getAttribute('role'), r.querySelector('.log').getAttribute('aria-live')].join()`); got != "log,off" {
		t.Errorf("the log is %s: a new page would read the conversation out", got)
	}

	// The next page shows the conversation again; none of it is read out.
	f.visit(t, "/")
	f.waitIn(t, "the conversation is shown again", `Array.from(r.querySelectorAll('.log .m .text')).some(n => n.textContent == 'Sure, what size?')`)
	if got := in[string](t, f.widgetFixture, `(r.querySelector('.sr[aria-live=polite]') || {}).textContent || ''`); got != "" {
		t.Errorf("the next page read out %q", got)
	}
	f.press(t, kb.Tab)
	f.press(t, kb.Enter)
	f.waitIn(t, "the chat has the focus", `r.activeElement && r.activeElement.id == 'cs-chat-text'`)
	f.press(t, kb.Escape)
	f.waitIn(t, "Esc minimizes", `r.querySelector('section.chat').hidden`)
	if got := eval[string](t, f.snippetFixture, `document.activeElement.id`); got != "open" {
		t.Errorf("focus on %q after Esc, want the page's button", got)
	}
	f.noExceptions(t)
}

// seenJS is a function of the shadow root r and a selector that lists what
// a visitor on a small screen, or with poor sight, cannot use in the
// elements it selects: text under 4.5:1 against what is behind it (the
// element's and its ancestors' opacity counted), a field's border under
// 3:1, a control smaller than 44 px a side (a radio button's label is its
// target), and anything past the right edge of the screen.
const seenJS = `function (r, sel) {
  var bad = [];
  var rgba = function (s) { var m = s.match(/[\d.]+/g).map(Number); return { r: m[0], g: m[1], b: m[2], a: m.length > 3 ? m[3] : 1 } };
  var lum = function (c) { return [c.r, c.g, c.b].map(function (v) { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4) })
    .reduce(function (s, v, i) { return s + v * [0.2126, 0.7152, 0.0722][i] }, 0) };
  var ratio = function (a, b) { var x = lum(a), y = lum(b); return (Math.max(x, y) + 0.05) / (Math.min(x, y) + 0.05) };
  var over = function (c, bg, a) { return { r: c.r * a + bg.r * (1 - a), g: c.g * a + bg.g * (1 - a), b: c.b * a + bg.b * (1 - a) } };
  var behind = function (n) { for (; n && n.nodeType == 1; n = n.parentNode || n.host) { var c = rgba(getComputedStyle(n).backgroundColor); if (c.a > 0) return c } return { r: 255, g: 255, b: 255 } };
  var alpha = function (n) { var a = 1; for (; n && n.nodeType == 1; n = n.parentNode) a *= +getComputedStyle(n).opacity; return a };
  var name = function (n) { return n.tagName.toLowerCase() + (n.className && n.className.baseVal === undefined ? '.' + n.className : '') + ' "' + (n.textContent || n.getAttribute('aria-label') || '').slice(0, 30) + '"' };
  r.querySelectorAll(sel).forEach(function (root) {
    [root].concat(Array.from(root.querySelectorAll('*'))).forEach(function (n) {
      var b = n.getBoundingClientRect();
      if (!b.width || !n.getClientRects().length) return;
      if (b.right > document.documentElement.clientWidth + 0.5) bad.push(name(n) + ' past the right edge: ' + b.right);
      var st = getComputedStyle(n);
      var text = Array.from(n.childNodes).some(function (c) { return c.nodeType == 3 && c.textContent.trim() }) || /^(INPUT|TEXTAREA|SELECT)$/.test(n.tagName) && n.value;
      var bg = behind(n);
      if (text && !n.disabled) {
        var c = rgba(st.color), k = ratio(over(c, bg, c.a * alpha(n)), bg);
        if (k < 4.5) bad.push(name(n) + ' text contrast ' + k.toFixed(2));
      }
      if (/^(INPUT|TEXTAREA|SELECT)$/.test(n.tagName) && n.type != 'radio') {
        var k2 = ratio(rgba(st.borderTopColor), behind(n.parentNode));
        if (k2 < 3) bad.push(name(n) + ' border contrast ' + k2.toFixed(2));
      }
      var target = n.type == 'radio' ? n.closest('label') : /^(BUTTON|INPUT|SELECT|TEXTAREA)$/.test(n.tagName) ? n : null;
      if (target) { var t = target.getBoundingClientRect(); if (t.width < 44 || t.height < 44) bad.push(name(n) + ' target ' + Math.round(t.width) + 'x' + Math.round(t.height)) }
    });
  });
  return bad.join('\n');
}`

// seen runs seenJS over the elements of sel in the shadow root.
func (f *widgetFixture) seen(t *testing.T, what, sel string) {
	t.Helper()
	if got := in[string](t, f, `(`+seenJS+`)(r, `+jsString(sel)+`)`); got != "" {
		t.Errorf("%s:\n%s", what, got)
	}
}

// On a phone 320 px wide (a 640 px window at 200 % zoom), in Russian (the
// longer texts), the callback panel with its captcha, the lead form and
// the popup fit the screen without sideways scrolling, read with enough
// contrast and have targets a finger can hit.
func TestA11yNarrowScreen(t *testing.T) {
	f := newWidgetFixture(t, map[string]any{"captcha": "on", "lang": "ru", "groups": "16587 Отдел продаж и сервисного обслуживания"})
	httpdtest.Must(t, f.browser, chromedp.EmulateViewport(320, 568))
	f.page("/", sitePage("Магазин", "", f.install, ""))
	f.visit(t, "/")
	eval[any](t, f.snippetFixture, `ComagicWidget.openSitePhonePanel()`)
	f.waitIn(t, "the callback panel opens with its captcha", `r.querySelector('[data-kind=callback] img') && r.querySelector('img').complete && r.querySelector('img').naturalWidth > 0`)
	f.click(t, "button[type=submit]")
	f.waitIn(t, "the empty phone is told", `r.querySelector('.msg').textContent`)
	f.click(t, "#cs-when-later")
	httpdtest.SaveScreenshot(t, f.browser, "a11y-callback-320")
	f.seen(t, "the callback panel", ".dialog")
	if got := in[string](t, f, `[document.documentElement.scrollWidth, r.querySelector('.dialog').scrollWidth - r.querySelector('.dialog').clientWidth].join()`); got != "320,0" {
		t.Errorf("page and dialog widths beyond the screen: %s, want 320,0", got)
	}

	eval[any](t, f.snippetFixture, `Comagic.openSiteRequestPanel()`)
	f.waitIn(t, "the lead form opens", `r.querySelector('[data-kind=lead]')`)
	f.press(t, kb.Enter)
	f.waitIn(t, "the empty form is told", `r.querySelector('.msg').textContent`)
	f.seen(t, "the lead form", ".dialog")

	eval[any](t, f.snippetFixture, `ComagicWidget.sitePhoneCall({phone: ''})`)
	f.waitIn(t, "the popup", `r.querySelector('.toast')`)
	f.seen(t, "the popup", ".toast")
	f.noExceptions(t)
}

// axOf is the accessibility node of the element sel in tab, as a screen
// reader gets it, and its live property ("" when it is in no live
// region).
func axOf(t *testing.T, tab context.Context, sel string) (axNode, string) {
	t.Helper()
	nodes, err := chromedp.Run(tab, chromedp.Nodes(chromedp.CSS(sel)))
	if err != nil || len(nodes) == 0 {
		t.Fatalf("%s: %v", sel, err)
	}
	no := false
	res, err := chromedp.Call(tab, accessibility.GetPartialAXTree, accessibility.GetPartialAXTreeParams{BackendNodeID: nodes[0].BackendNodeID, FetchRelatives: &no})
	if err != nil {
		t.Fatalf("the accessibility node of %s: %v", sel, err)
	}
	for _, n := range res.Nodes {
		if n.BackendDOMNodeID != nodes[0].BackendNodeID || n.Ignored {
			continue
		}
		a, live := axNode{role: axValue(t, n.Role), name: axValue(t, n.Name), desc: axValue(t, n.Description)}, ""
		for _, p := range n.Properties {
			if p.Name == accessibility.PropertyNameLive {
				live = axValue(t, p.Value)
			}
		}
		return a, live
	}
	t.Fatalf("%s is not in the accessibility tree", sel)
	return axNode{}, ""
}

// An operator with a screen reader in the console: the open chat's
// conversation is a log that is not live (it is drawn again whole as
// frames come: a live one read the whole conversation out again), a
// visitor's new message is read out once through a polite region holding
// that message alone, as text, and the reply field and the transfer list
// have names of their own in the reader's language. (The console's middle
// pane was live as a whole; the field and the list were named by their
// placeholder and their first option.)
func TestA11yConsoleReadsNewMessagesOnce(t *testing.T) {
	f := newChatFixture(t, "ru")
	f.openedByOperator(t, "Здравствуйте")
	f.opWait(t, "the visitor's message shows", `document.querySelectorAll('#c-log .c-msg.visitor').length == 1`)
	if got := opEval[string](t, f, `(function () { var l = document.getElementById('c-log'), n = l.closest('[aria-live]');
return [l.getAttribute('role'), l.getAttribute('aria-live'), n && n != l ? n.id || n.className : ''].join(); })()`); got != "log,off," {
		t.Errorf("the conversation's role, aria-live and live ancestor: %q, want a log that is not live, in no live region", got)
	}
	if log, live := axOf(t, f.op, "#c-log"); log.role != "log" || live != "" && live != "off" || !strings.Contains(log.name, "Посетитель №\u00a01") {
		t.Errorf("the conversation is a %q named %q, live %q: want a log not live, named by the chat's title", log.role, log.name, live)
	}
	announced := `document.getElementById('c-announce').textContent`
	if got := opEval[string](t, f, announced); got != "" {
		t.Errorf("read out before any new message: %q", got)
	}
	if a, live := axOf(t, f.op, "#c-announce"); live != "polite" {
		t.Errorf("the reading region is a %q, live %q, want polite", a.role, live)
	}

	f.visitorSays(t, xss)
	f.opWait(t, "the new message is read out", announced+` != ''`)
	if got := opEval[string](t, f, announced); got != "Посетитель: "+xss {
		t.Errorf("read out %q, want the new message alone", got)
	}
	if got := opEval[int](t, f, `document.getElementById('c-announce').querySelectorAll('img, script, b').length`); got != 0 {
		t.Errorf("the visitor's words became %d elements in the reading region", got)
	}
	f.visitorSays(t, "Размер 38")
	f.opWait(t, "the next message is read out", announced+`.indexOf('Размер 38') >= 0`)
	if got := opEval[string](t, f, announced); got != "Посетитель: Размер 38" {
		t.Errorf("read out %q, want the next message alone", got)
	}
	if got := f.operatorLog(t); got != "Здравствуйте | "+xss+" | Размер 38" {
		t.Errorf("the conversation shows %q", got)
	}
	// The operator's own reply is not read out to them.
	f.operatorSays(t, "Есть")
	f.opWait(t, "the reply is stored", `document.querySelector('#c-log .c-msg.operator[data-id]')`)
	if got := opEval[string](t, f, announced); got != "Посетитель: Размер 38" {
		t.Errorf("after the operator's reply the region reads %q", got)
	}

	for sel, want := range map[string]axNode{"#c-text": {role: "textbox", name: "Ваш ответ посетителю"}, "#c-transfer": {role: "combobox", name: "Передать чат коллеге"}} {
		if got, _ := axOf(t, f.op, sel); got.role != want.role || got.name != want.name {
			t.Errorf("%s is a %q named %q, want a %q named %q", sel, got.role, got.name, want.role, want.name)
		}
	}
	f.noExceptions(t)
}
