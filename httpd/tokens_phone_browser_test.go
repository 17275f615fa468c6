package httpd_test

import (
	"testing"

	"github.com/chromedp/chromedp"

	"appliance/httpd/httpdtest"
)

// On a phone, in Russian, each scope of the token form reads as a line of
// text after its box: the scope's name, then what it gives, wrapping under
// the name. The name and the words were two flex columns before, the words
// a narrow column of their own starting with the colon, two or three words
// a line.
func TestBrowserTokenScopesOnPhone(t *testing.T) {
	srv := httpdtest.Start(t)
	srv.Site(t, "Котлы", "kotly.example")
	email, password := srv.Owner(t)
	ctx := httpdtest.Browser(t)
	signInBrowser(t, ctx, srv, email, password)
	httpdtest.Eval[any](t, ctx, `document.cookie = "apl_lang=ru; path=/"`)
	httpdtest.Must(t, ctx, chromedp.EmulateViewport(375, 812), chromedp.Navigate(srv.URL+"tokens"), chromedp.WaitVisible(chromedp.ID("token-scopes")))
	// For each scope whose words wrap: does a line of them start left of
	// the scope's name's right edge (under it), as text flows?
	type scope struct {
		Name  string
		Lines int
		Under bool
	}
	got := httpdtest.Eval[[]scope](t, ctx, `[...document.querySelectorAll("#token-scopes label.check")].map(l => {
		const code = l.querySelector("code"), r = document.createRange();
		r.selectNodeContents(l); r.setStartAfter(code);
		const rects = [...r.getClientRects()].filter(x => x.width > 0);
		const tops = new Set(rects.map(x => Math.round(x.top)));
		return {Name: code.textContent, Lines: tops.size, Under: rects.some(x => x.left < code.getBoundingClientRect().right - 1)};
	})`)
	if len(got) < 8 {
		t.Fatalf("%d scopes on the form: %+v", len(got), got)
	}
	wrapped := 0
	for _, s := range got {
		if s.Lines < 2 {
			continue
		}
		wrapped++
		if !s.Under {
			t.Errorf("scope %s: its %d lines of words stand in a column right of the name", s.Name, s.Lines)
		}
	}
	if wrapped == 0 {
		t.Fatalf("no scope's words wrap on a 375px screen: the check proves nothing: %+v", got)
	}
	if w := httpdtest.Eval[int](t, ctx, `document.documentElement.scrollWidth`); w > 375 {
		t.Errorf("the page is %dpx wide on a 375px screen", w)
	}
	httpdtest.SaveScreenshot(t, ctx, "token-scopes-phone")
}
