package httpd_test

import (
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/security"
	"github.com/chromedp/chromedp"

	"appliance/httpd/httpdtest"
)

// On a page served over https the ci cookie and the session key's cookie
// are Secure (never sent over plain http), on an http page they cannot be
// (TestSnippetPageView checks that side).
func TestSnippetCookiesSecureOnHTTPS(t *testing.T) {
	f := newSnippetFixture(t)
	// One https origin for the page and, behind it, the appliance (as
	// behind a site owner's TLS proxy): an https page loads no script
	// from plain http.
	appliance, err := url.Parse(f.srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(appliance)
	var page string
	ts := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/" {
			proxy.ServeHTTP(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		io.WriteString(w, page)
	}))
	ts.Config.ErrorLog = log.New(io.Discard, "", 0) // chromium's first handshakes refuse the certificate
	ts.StartTLS()
	t.Cleanup(ts.Close)
	base := strings.Replace(ts.URL, "127.0.0.1", "localhost", 1) + "/"
	// The install code names the appliance without a scheme (//host/).
	page = sitePage("Home", "", strings.ReplaceAll(f.install, strings.TrimPrefix(f.srv.URL, "http:"), strings.TrimPrefix(base, "https:")), "")
	if page == sitePage("Home", "", f.install, "") {
		t.Fatalf("the install code %q does not name the appliance's URL %s", f.install, f.srv.URL)
	}
	// The test server's certificate is its own.
	if _, err := chromedp.Call(f.browser, security.SetIgnoreCertificateErrors, security.SetIgnoreCertificateErrorsParams{Ignore: true}); err != nil {
		t.Fatal(err)
	}
	httpdtest.Must(t, f.browser, chromedp.Navigate(base))
	f.waitHit(t, 0)
	cookies, err := chromedp.Call(f.browser, network.GetCookies, network.GetCookiesParams{})
	if err != nil {
		t.Fatal(err)
	}
	found := 0
	for _, c := range cookies.Cookies {
		if c.Name != "_cs_ci" && c.Name != "_cs_key" {
			continue
		}
		found++
		if !c.Secure {
			t.Errorf("cookie %s on an https page is not Secure", c.Name)
		}
	}
	if found != 2 {
		t.Errorf("%d of the cookies _cs_ci and _cs_key set, want both", found)
	}
}
