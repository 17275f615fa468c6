package httpd_test

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"appliance/httpd/accounts"
	"appliance/httpd/httpdtest"
)

// getPageIn fetches a page as a browser asking for acceptLanguage would.
func getPageIn(t *testing.T, c *http.Client, u, acceptLanguage string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", u, nil)
	if acceptLanguage != "" {
		req.Header.Set("Accept-Language", acceptLanguage)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// The sign-in page speaks the browser's language before anyone chose one.
func TestLangFromAcceptLanguage(t *testing.T) {
	srv := httpdtest.Start(t)
	for _, tc := range []struct{ accept, want, lang string }{
		{"", "<h1>Sign in</h1>", `<html lang="en">`},
		{"ru-RU,ru;q=0.9,en-US;q=0.8", "<h1>Вход</h1>", `<html lang="ru">`},
		{"de-DE,de;q=0.9,en;q=0.5", "<h1>Sign in</h1>", `<html lang="en">`},
		{"de-DE,ru;q=0.5", "<h1>Вход</h1>", `<html lang="ru">`},
	} {
		_, body := getPageIn(t, http.DefaultClient, srv.URL+"login", tc.accept)
		if !strings.Contains(body, tc.want) || !strings.Contains(body, tc.lang) {
			t.Errorf("Accept-Language %q: the page lacks %s and %s", tc.accept, tc.want, tc.lang)
		}
	}
}

// The header's switch keeps the choice on the user's record, which wins
// over the browser's language, and in this browser's cookie, which
// outlives the session.
func TestLangSwitchIsTheUsersSetting(t *testing.T) {
	srv := httpdtest.Start(t)
	c := srv.Client(t)
	csrf := srv.FormToken(t, c, "/account")
	resp, err := c.PostForm(srv.URL+"lang", url.Values{"csrf": {csrf}, "lang": {"ru"}, "back": {"/account"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || !strings.HasSuffix(resp.Header.Get("Location"), "/account") {
		t.Fatalf("POST /lang: %d → %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if u, err := accounts.New(srv.DB).User("owner@example.com"); err != nil || u.Lang != "ru" {
		t.Fatalf("user's language %q, %v; want ru", u.Lang, err)
	}
	if _, body := getPageIn(t, c, srv.URL+"account", "en-US,en"); !strings.Contains(body, "<h1>Ваша учётная запись</h1>") {
		t.Errorf("the user chose Russian, the browser asks English: the account page is not Russian:\n%s", body)
	}
	// Another browser, signed in as the same user, follows the setting.
	other := srv.Client(t)
	if _, body := getPageIn(t, other, srv.URL+"account", "en-US,en"); !strings.Contains(body, "<h1>Ваша учётная запись</h1>") {
		t.Errorf("another browser of the user is not in Russian")
	}

	// Without the session's token nothing changes.
	resp, err = c.PostForm(srv.URL+"lang", url.Values{"csrf": {"forged"}, "lang": {"en"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if u, _ := accounts.New(srv.DB).User("owner@example.com"); resp.StatusCode != http.StatusForbidden || u.Lang != "ru" {
		t.Errorf("forged switch: %d, language now %q", resp.StatusCode, u.Lang)
	}
	// A language the dashboard does not have is refused.
	resp, err = c.PostForm(srv.URL+"lang", url.Values{"csrf": {csrf}, "lang": {"de"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("lang=de: %d", resp.StatusCode)
	}
}

// In a browser: a Russian browser gets Russian before any setting; an
// English one switches to Russian in the header, and the dashboard stays
// Russian from then on.
func TestBrowserLangSwitch(t *testing.T) {
	srv := httpdtest.Start(t)
	email, password := srv.Owner(t)
	browser := httpdtest.Browser(t)

	ru := httpdtest.NewVisitor(t, browser)
	if _, err := chromedp.Call(ru, network.SetExtraHTTPHeaders, network.SetExtraHTTPHeadersParams{Headers: network.Headers{"Accept-Language": "ru-RU,ru;q=0.9"}}); err != nil {
		t.Fatal(err)
	}
	httpdtest.Must(t, ru, chromedp.Navigate(srv.URL+"login"))
	if got := httpdtest.Eval[string](t, ru, `document.documentElement.lang + " " + document.querySelector("h1").textContent`); got != "ru Вход" {
		t.Errorf("a Russian browser sees %q", got)
	}

	ctx := browser
	httpdtest.Must(t, ctx,
		chromedp.Navigate(srv.URL+"login"),
		chromedp.SendKeys(chromedp.CSS(`input[name=email]`), email),
		chromedp.SendKeys(chromedp.CSS(`input[name=password]`), password),
	)
	submit(t, ctx, `main button[type=submit]`)
	httpdtest.Must(t, ctx, chromedp.Navigate(srv.URL+"account"))
	if got := httpdtest.Eval[string](t, ctx, `document.querySelector("h1").textContent`); got != "Your account" {
		t.Fatalf("before the switch the page says %q", got)
	}
	if _, err := chromedp.Run(ctx, chromedp.WaitEvent(page.LoadEventFired, nil, chromedp.Click(chromedp.CSS(`#lang-switch button[value=ru]`)))); err != nil {
		t.Fatal(err)
	}
	got := httpdtest.Eval[string](t, ctx, `location.pathname + " " + document.documentElement.lang + " " + document.querySelector("h1").textContent + " " + document.querySelector("header nav a").textContent`)
	if got != "/account ru Ваша учётная запись Сайты" {
		t.Errorf("after the switch: %q", got)
	}
	httpdtest.SaveScreenshot(t, ctx, "account-ru")
	// Signed out, the browser still speaks Russian; the switch offers English.
	submit(t, ctx, `header nav form button`)
	if got := httpdtest.Eval[string](t, ctx, `document.querySelector("h1").textContent + " " + document.querySelector("#lang-switch button").textContent`); got != "Вход English" {
		t.Errorf("signed out: %q", got)
	}
}

// A domain's error on a form is shown in the reader's language, with the
// values it names: the site form with a bad domain says so in Russian,
// with an example of a good one.
func TestFormErrorInRussian(t *testing.T) {
	srv := httpdtest.Start(t)
	c := srv.Client(t)
	csrf := srv.FormToken(t, c, "/account")
	if resp, err := c.PostForm(srv.URL+"lang", url.Values{"csrf": {csrf}, "lang": {"ru"}}); err != nil {
		t.Fatal(err)
	} else {
		resp.Body.Close()
	}
	resp, err := c.PostForm(srv.URL+"sites", url.Values{"csrf": {csrf}, "name": {"Магазин"}, "domain": {"bad..example"}})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(b), `id="domain-error">&#34;bad..example&#34; — не доменное имя; укажите, например, shop.example.com`) {
		t.Errorf("bad domain in Russian: %d\n%s", resp.StatusCode, b)
	}
}

// The sign-in page tells someone who forgot their password how to get a
// new one, in their language.
func TestLoginPageSaysHowToResetPassword(t *testing.T) {
	srv := httpdtest.Start(t)
	for _, tc := range []struct{ accept, want string }{
		{"en", "Forgot the password? Whoever runs this server sets a new one with <code>appliance user passwd EMAIL</code>."},
		{"ru", "Забыли пароль? Тот, кто обслуживает этот сервер, задаст новый командой <code>appliance user passwd EMAIL</code>."},
	} {
		if _, body := getPageIn(t, noRedirect(nil), srv.URL+"login", tc.accept); !strings.Contains(body, tc.want) {
			t.Errorf("sign-in page in %s lacks %q", tc.accept, tc.want)
		}
	}
}
