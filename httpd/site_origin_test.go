package httpd_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"appliance/httpd/httpdtest"
)

// The site page's "accept page views from any domain" toggle: a
// CSRF-checked form that does what `appliance site set --any-origin` does,
// seen in what the tracker accepts from a page on another domain.
func TestSitePageAnyOriginToggle(t *testing.T) {
	srv := httpdtest.Start(t)
	c := srv.Client(t)
	key := srv.Site(t, "Shop", "shop.example")
	page := srv.URL + "sites/" + key
	hitFrom := func(origin string) int {
		t.Helper()
		b, _ := json.Marshal(map[string]string{"k": key, "u": origin + "/", "r": "", "t": "x"})
		req, _ := http.NewRequest("POST", srv.URL+"t/v1/hit", bytes.NewReader(b))
		req.Header.Set("Content-Type", "text/plain")
		req.Header.Set("Origin", origin)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	const box = `name="any_origin" value="1"`

	_, body := getPage(t, c, page)
	if !strings.Contains(body, `id="site-origin"`) || !strings.Contains(body, box+` >`) {
		t.Fatalf("the site page has no unchecked any-origin toggle:\n%s", body)
	}
	if got := hitFrom("https://mirror.example"); got != http.StatusForbidden {
		t.Fatalf("a hit from another domain before the toggle: %d, want 403", got)
	}

	if status, _, _ := postForm(t, c, page+"/origin", url.Values{"any_origin": {"1"}}); status != http.StatusForbidden {
		t.Errorf("the toggle without the CSRF token: %d, want 403", status)
	}
	if got := hitFrom("https://mirror.example"); got != http.StatusForbidden {
		t.Fatalf("a form without the CSRF token changed the setting: hit %d", got)
	}

	csrf := srv.FormToken(t, c, "sites/"+key)
	status, _, h := postForm(t, c, page+"/origin", url.Values{"csrf": {csrf}, "any_origin": {"1"}})
	if status != http.StatusSeeOther || !strings.HasSuffix(h.Get("Location"), "/sites/"+key+"?done=origin") {
		t.Fatalf("turning it on: %d → %q", status, h.Get("Location"))
	}
	_, body = getPage(t, c, page+"?done=origin")
	if !strings.Contains(body, box+` checked>`) || !strings.Contains(body, "Saved: where page views may come from.") {
		t.Errorf("after turning it on, the page does not show it on:\n%s", body)
	}
	if got := hitFrom("https://mirror.example"); got != http.StatusOK {
		t.Errorf("a hit from another domain with the toggle on: %d, want 200", got)
	}

	if status, _, _ := postForm(t, c, page+"/origin", url.Values{"csrf": {csrf}}); status != http.StatusSeeOther {
		t.Fatalf("turning it off: %d", status)
	}
	if got := hitFrom("https://mirror.example"); got != http.StatusForbidden {
		t.Errorf("a hit from another domain with the toggle off again: %d, want 403", got)
	}
	if got := hitFrom("https://shop.example"); got != http.StatusOK {
		t.Errorf("a hit from the site's own domain: %d, want 200", got)
	}
}

// The site page's title is the site's name as its owner typed it, in either
// language: a name that is also a text of the catalog ("My shop", the
// README's example, or "Settings") is not translated ("Мой магазин").
func TestSitePageTitleIsTheSiteName(t *testing.T) {
	srv := httpdtest.Start(t)
	c := srv.Client(t)
	for _, name := range []string{"My shop", "Settings"} {
		key := srv.Site(t, name, "shop.example")
		for _, lang := range []string{"en", "ru"} {
			_, body := getPageIn(t, c, srv.URL+"sites/"+key, lang)
			if want := "<title>" + name + " · appliance</title>"; !strings.Contains(body, want) {
				i := strings.Index(body, "<title>")
				t.Errorf("%s: the page of site %q has %q, want %q", lang, name, body[i:i+len(want)+10], want)
			}
		}
	}
}
