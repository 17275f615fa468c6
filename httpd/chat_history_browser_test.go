package httpd_test

import (
	"strconv"
	"testing"

	"github.com/chromedp/chromedp"

	"appliance/httpd/httpdtest"
)

// A visitor whose chat the operator ended and who then started a new one
// sees, after a reload, both: the ended chat's conversation above, closed
// by a note that it ended, then the new chat, in the order they happened,
// over the socket and over the long poll. Before, the new page asked for
// the current chat only and what was said minutes ago was gone. What the
// operator typed stays text.
func TestChatEarlierChatShownAfterReload(t *testing.T) {
	for _, transport := range []string{"socket", "poll"} {
		t.Run(transport, func(t *testing.T) {
			f := newChatFixture(t, "en")
			block := ""
			if transport == "poll" {
				block = `window.WebSocket = function () { throw new Error("blocked by the network"); };`
			}
			f.page("/", sitePage("Shop", block, f.install, ""))
			f.operatorOpens(t, "Do you ship to Tver?")
			f.operatorSays(t, xss)
			f.waitIn(t, "the answer shows", `r.querySelectorAll('.log .m.operator').length == 1`)
			opEval[any](t, f, `(document.getElementById('c-close').click(), 0)`)
			f.opWait(t, "the console says the chat ended", `document.getElementById('c-sub').textContent == 'This chat has ended.'`)
			f.waitIn(t, "the window says the chat ended", `Array.from(r.querySelectorAll('.log .note')).some(n => n.textContent == 'The chat has ended. Write to start a new one.')`)
			f.visitorSays(t, "And to Klin?")
			f.waitIn(t, "the new chat's message is stored", `Array.from(r.querySelectorAll('.log .m.visitor')).some(n => n.querySelector('.text').textContent == 'And to Klin?' && n.getAttribute('data-id'))`)
			first := in[float64](t, f.widgetFixture, `+r.querySelector('.log .m.visitor[data-id]').getAttribute('data-chat')`)
			second := in[float64](t, f.widgetFixture, `+Array.from(r.querySelectorAll('.log .m.visitor')).pop().getAttribute('data-chat')`)
			if !(second > first) {
				t.Fatalf("the new message is in chat %v, the first in %v: want a new chat; %s", second, first, in[string](t, f.widgetFixture, `Array.from(r.querySelectorAll('.log > *')).map(n => n.className + '/' + n.getAttribute('data-chat') + '/' + n.getAttribute('data-id')).join(' ')`))
			}

			httpdtest.Must(t, f.browser, chromedp.Reload())
			f.waitIn(t, "the new chat shows", `Array.from(r.querySelectorAll('.log .m.visitor')).some(n => n.querySelector('.text').textContent == 'And to Klin?')`)
			f.waitIn(t, "the ended chat shows above it", `r.querySelectorAll('.log .m.operator').length == 1`)
			log := `Array.from(r.querySelectorAll('.log > .m, .log > .note')).map(n => (n.classList.contains('ended') ? 'ENDED ' + n.getAttribute('data-chat') + ': ' + n.textContent : n.querySelector('.text') ? n.getAttribute('data-chat') + ': ' + n.querySelector('.text').textContent : 'NOTE: ' + n.textContent)).join(' | ')`
			want := jsNum(first) + ": Do you ship to Tver? | " + jsNum(first) + ": " + xss + " | ENDED " + jsNum(first) + ": This chat has ended | " + jsNum(second) + ": And to Klin?"
			if got := in[string](t, f.widgetFixture, log); got != want {
				t.Errorf("after the reload the window shows\n%s\nwant\n%s", got, want)
			}
			if got := in[bool](t, f.widgetFixture, `!r.querySelector('.log img, .log script') && window.__xss === undefined`); !got {
				t.Error("the operator's words became markup")
			}
			// The window goes on with the new chat: the operator who takes
			// it and their answer come below it.
			f.opWait(t, "the new chat is listed", `Array.from(document.querySelectorAll('#c-chats li[data-chat]')).some(li => +li.getAttribute('data-chat') == `+jsNum(second)+`)`)
			httpdtest.Must(t, f.op, chromedp.Click(chromedp.CSS(`#c-chats li[data-chat="`+jsNum(second)+`"] button`)))
			f.operatorSays(t, "Yes, to Klin too")
			f.waitIn(t, "the answer shows last", `r.querySelector('.log').lastElementChild.textContent.indexOf('Yes, to Klin too') >= 0`)
			if got := in[string](t, f.widgetFixture, log); got != want+" | NOTE: owner is answering you | "+jsNum(second)+": Yes, to Klin too" {
				t.Errorf("after the answer the window shows\n%s", got)
			}
			f.noExceptions(t)
		})
	}
}

func jsNum(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }
