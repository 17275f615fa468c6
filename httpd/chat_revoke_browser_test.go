package httpd_test

import (
	"net/url"
	"testing"

	"github.com/chromedp/chromedp"

	"appliance/httpd/accounts"
	"appliance/httpd/httpdtest"
)

// An operator removed on the team page while their console is open sees
// at once, in their language, that they are signed out, with a sign-in
// link; the visitor's page learns at once that nobody is online
// (getOperatorStatus), instead of at the console's next heartbeat.
func TestChatConsoleRemovedOperatorSignedOutAtOnce(t *testing.T) {
	f := newChatFixture(t, "ru")
	f.page("/", sitePage("Shop", "", f.install, ""))
	boris := f.colleagueConsole(t, "boris@shop.example", accounts.RoleOperator)
	httpdtest.Eval[any](t, boris, `document.cookie = "apl_lang=ru; path=/", 0`)
	httpdtest.Must(t, boris, chromedp.Navigate(f.srv.URL+"chat"))
	f.waitInConsole(t, boris, "boris's console connects in Russian", `document.documentElement.lang == 'ru' && document.querySelector('#c-conn.up') !== null`)
	f.visit(t, "/")
	f.eventually(t, "getOperatorStatus() is true", func() bool { return eval[bool](t, f.snippetFixture, `Comagic.getOperatorStatus()`) })

	postSeeOther(t, f.srv, f.srv.Client(t), "team/remove", "/team", url.Values{"email": {"boris@shop.example"}})

	f.waitInConsole(t, boris, "the removed operator's console says they are signed out, with a sign-in link",
		`document.querySelector('#c-conn.out a[href="/login"]') && document.querySelector('#c-conn').textContent.indexOf('Вы вышли из системы') == 0`)
	f.eventually(t, "getOperatorStatus() is false", func() bool { return !eval[bool](t, f.snippetFixture, `Comagic.getOperatorStatus()`) })
	f.noExceptions(t)
}
