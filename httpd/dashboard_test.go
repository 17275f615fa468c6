package httpd_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"html"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"appliance/httpd"
	"appliance/httpd/accounts"
	"appliance/httpd/httpdtest"
	"appliance/store"
)

func noRedirect(jar http.CookieJar) *http.Client {
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func TestDashboardNeedsLogin(t *testing.T) {
	srv := httpdtest.Start(t)
	c := noRedirect(nil)
	for _, p := range []string{"sites", "sites/abc"} {
		resp, err := c.Get(srv.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusSeeOther || !strings.HasSuffix(resp.Header.Get("Location"), "/login") {
			t.Errorf("/%s: %d → %q, want a redirect to /login", p, resp.StatusCode, resp.Header.Get("Location"))
		}
	}
}

func TestFormsNeedCSRF(t *testing.T) {
	srv := httpdtest.Start(t)
	c := srv.Client(t)
	resp, err := c.PostForm(srv.URL+"sites", url.Values{"name": {"x"}, "domain": {"x.com"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("POST /sites without csrf: %d", resp.StatusCode)
	}
	if n := len(srv.HTTP.Sites().List()); n != 0 {
		t.Fatalf("a site was added without CSRF token: %d", n)
	}
	csrf := srv.FormToken(t, c, "/sites")
	resp, err = c.PostForm(srv.URL+"sites", url.Values{"csrf": {csrf}, "name": {"x"}, "domain": {"x.com"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || len(srv.HTTP.Sites().List()) != 1 {
		t.Fatalf("POST /sites with csrf: %d", resp.StatusCode)
	}
	// Sign-in forms use a double-submit cookie: no cookie, no sign-in.
	resp, err = noRedirect(nil).PostForm(srv.URL+"login", url.Values{"csrf": {"forged"}, "email": {"owner@example.com"}, "password": {"correct horse battery"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("login with a forged csrf: %d", resp.StatusCode)
	}
}

func TestBadSiteInputIsShownAndNothingStored(t *testing.T) {
	srv := httpdtest.Start(t)
	c := srv.Client(t)
	csrf := srv.FormToken(t, c, "/sites")
	resp, err := c.PostForm(srv.URL+"sites", url.Values{"csrf": {csrf}, "name": {"Shop"}, "domain": {"not a domain!"}})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest || len(srv.HTTP.Sites().List()) != 0 {
		t.Fatalf("bad domain: status %d, sites %d", resp.StatusCode, len(srv.HTTP.Sites().List()))
	}
	// It says what is wrong and what to give instead, quoting what was
	// typed (it quoted "not", the field's first word).
	if !strings.Contains(string(b), "&#34;not a domain!&#34; is not a domain name; give one such as shop.example.com") {
		t.Errorf("bad domain: the page does not say what a domain is:\n%s", b)
	}
	// Domains separated by spaces are still several; the settings form
	// quotes its refused line whole too.
	if status, body, _ := postForm(t, c, srv.URL+"sites", url.Values{"csrf": {csrf}, "name": {"Shop"}, "domain": {"shop.example other.example"}}); status != http.StatusSeeOther {
		t.Fatalf("two domains: %d\n%s", status, body)
	}
	site := srv.HTTP.Sites().List()[0]
	if got := strings.Join(site.Domains, " "); got != "shop.example other.example" {
		t.Errorf("the site's domains: %q", got)
	}
	page := srv.URL + "sites/" + site.Key + "/settings"
	form := url.Values{"csrf": {srv.FormToken(t, c, "sites/"+site.Key+"/settings")}, "name": {"Shop"}, "domains": {"shop.example\nmy shop.ru"}}
	if status, body, _ := postForm(t, c, page, form); status != http.StatusBadRequest || !strings.Contains(body, "&#34;my shop.ru&#34; is not a domain name") {
		t.Errorf("settings with the line \"my shop.ru\": %d\n%s", status, body)
	}
}

func TestLoginRateLimit(t *testing.T) {
	srv := httpdtest.Start(t)
	srv.Owner(t)
	jar, _ := cookiejar.New(nil)
	c := noRedirect(jar)
	var last int
	for i := 0; i < 12; i++ {
		resp, err := c.Get(srv.URL + "login")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		csrf := jarCookie(jar, srv.URL, "apl_csrf")
		resp, err = c.PostForm(srv.URL+"login", url.Values{"csrf": {csrf}, "email": {"owner@example.com"}, "password": {"wrong guess " + string(rune('a'+i))}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		last = resp.StatusCode
	}
	if last != http.StatusTooManyRequests {
		t.Fatalf("12th wrong password in a minute: status %d, want 429", last)
	}
	// Even the right password is refused while limited.
	resp, err := c.PostForm(srv.URL+"login", url.Values{"csrf": {jarCookie(jar, srv.URL, "apl_csrf")}, "email": {"owner@example.com"}, "password": {"correct horse battery"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("right password while limited: %d", resp.StatusCode)
	}
}

// An attacker who exhausts the wrong passwords of the owner's account from
// one address locks only that address out: the owner signs in from another.
// Only many addresses lock the account, and only for a while. An IPv6
// address counts as its /64.
func TestSignInLimitIsPerAccountAndIP(t *testing.T) {
	clock := &trClock{now: time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)}
	srv := httpdtest.Start(t, func(o *httpd.Options) { o.TrustProxy = true; o.Now = clock.Now })
	srv.Owner(t)
	var lastBody string // the page of the last answer
	signInLang := func(ip, password, lang string) *http.Response {
		t.Helper()
		jar, _ := cookiejar.New(nil)
		c := noRedirect(jar)
		resp, err := c.Get(srv.URL + "login")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		form := url.Values{"csrf": {jarCookie(jar, srv.URL, "apl_csrf")}, "email": {"Owner@example.com"}, "password": {password}}
		req, _ := http.NewRequest("POST", srv.URL+"login", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("X-Forwarded-For", ip)
		req.Header.Set("Accept-Language", lang)
		resp, err = c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		lastBody = html.UnescapeString(string(b))
		return resp
	}
	signIn := func(ip, password string) *http.Response { t.Helper(); return signInLang(ip, password, "en") }
	const attacker, owner = "203.0.113.66", "198.51.100.7"
	var last *http.Response
	for i := 0; i < 15; i++ {
		last = signIn(attacker, fmt.Sprintf("guess %d", i))
	}
	if last.StatusCode != http.StatusTooManyRequests || last.Header.Get("Retry-After") == "" {
		t.Fatalf("attacker's 15th guess: %d (Retry-After %q), want 429 with Retry-After", last.StatusCode, last.Header.Get("Retry-After"))
	}
	if resp := signIn(attacker, "correct horse battery"); resp.StatusCode != http.StatusTooManyRequests {
		t.Errorf("right password from the locked address: %d, want 429", resp.StatusCode)
	}
	if !strings.Contains(lastBody, "Too many wrong passwords for this account from your network; wait 15 min and try again. Signing in from another network still works.") {
		t.Errorf("the locked address is told:\n%s", lastBody)
	}
	if signInLang(attacker, "correct horse battery", "ru"); !strings.Contains(lastBody, "Слишком много неверных паролей для этой учётной записи из вашей сети; подождите 15\u00a0мин.") {
		t.Errorf("the locked address is told, in Russian:\n%s", lastBody)
	}
	if resp := signIn(owner, "correct horse battery"); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("owner from another address: %d, want signed in", resp.StatusCode)
	}

	// Wrong passwords from many addresses slow the account down for
	// everyone, for the window after them.
	for a := 1; a <= 10; a++ {
		for i := 0; i < 10; i++ {
			signIn(fmt.Sprintf("192.0.2.%d", a), "botnet guess")
		}
	}
	if resp := signIn(owner, "correct horse battery"); resp.StatusCode != http.StatusTooManyRequests {
		t.Errorf("owner while the account is under a spread attack: %d, want 429", resp.StatusCode)
	}
	if !strings.Contains(lastBody, "from many networks: it is locked for everyone for 15 min") {
		t.Errorf("the owner under a spread attack is told:\n%s", lastBody)
	}
	clock.Set(clock.Now().Add(16 * time.Minute))
	if resp := signIn(owner, "correct horse battery"); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("owner after the window: %d, want signed in", resp.StatusCode)
	}
	if resp := signIn(attacker, "correct horse battery"); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("the once-locked address after the window: %d, want signed in", resp.StatusCode)
	}

	// An IPv6 host has a whole /64: guesses from each of its addresses
	// count as one network's, which they lock out; another network still
	// signs in.
	for i := 0; i < 15; i++ {
		last = signIn(fmt.Sprintf("2001:db8:66:1::%x", i+1), fmt.Sprintf("v6 guess %d", i))
	}
	if last.StatusCode != http.StatusTooManyRequests || !strings.Contains(lastBody, "from your network") {
		t.Errorf("15th guess from one IPv6 /64, each from another address: %d, want 429 for the network", last.StatusCode)
	}
	if resp := signIn("2001:db8:66:2::1", "correct horse battery"); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("owner from the next /64: %d, want signed in", resp.StatusCode)
	}
}

func jarCookie(jar http.CookieJar, base, name string) string {
	u, _ := url.Parse(base)
	for _, c := range jar.Cookies(u) {
		if c.Name == name {
			return c.Value
		}
	}
	return ""
}

// selfSigned writes a certificate for 127.0.0.1 and its key.
func selfSigned(t *testing.T) (certFile, keyFile string, pool *x509.CertPool) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	kb, _ := x509.MarshalECPrivateKey(key)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600)
	cert, _ := x509.ParseCertificate(der)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

func TestTLSAndSecureCookies(t *testing.T) {
	certFile, keyFile, pool := selfSigned(t)
	srv := httpdtest.Start(t, func(o *httpd.Options) {
		o.TLSCert, o.TLSKey = certFile, keyFile
		o.PublicURL = strings.Replace(o.PublicURL, "http://", "https://", 1)
	})
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	resp, err := c.Get(srv.URL + "login")
	if err != nil {
		t.Fatalf("https: %v", err)
	}
	resp.Body.Close()
	var found bool
	for _, ck := range resp.Cookies() {
		if ck.Name == "__Host-apl_csrf" { // over https: cookies_test.go
			found = true
			if !ck.Secure || !ck.HttpOnly || ck.SameSite != http.SameSiteLaxMode || ck.Path != "/" || ck.Domain != "" {
				t.Errorf("cookie %+v: want Secure, HttpOnly, SameSite=Lax, Path=/, no Domain", ck)
			}
		}
	}
	if !found {
		t.Fatal("no form cookie set")
	}
}

// The export links keep the page's filter: following them downloads what
// the page shows.
func TestExportLinksKeepTheFilter(t *testing.T) {
	srv := httpdtest.Start(t)
	c := srv.Client(t)
	key := srv.Site(t, "Shop", "shop.example.com")
	for _, c2 := range []struct{ page, query, want string }{
		{"leads", "form=Order+form&phone=1&from=2026-11-01", `href="/sites/` + key + `/leads.csv?from=2026-11-01&amp;form=Order&#43;form&amp;phone=1"`},
		{"callbacks", "from=2026-11-01&state=failed", `href="/sites/` + key + `/callbacks.csv?from=2026-11-01&amp;state=failed"`},
	} {
		resp, err := c.Get(srv.URL + "sites/" + key + "/" + c2.page + "?" + c2.query)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(string(body), c2.want) {
			t.Errorf("%s page (%d) lacks the link %s", c2.page, resp.StatusCode, c2.want)
		}
	}
}

// A call the PBX reports for a number no site has is listed on the sites
// page, so a number missing from the set-up does not go unseen.
func TestSitesPageListsCallsToUnknownNumbers(t *testing.T) {
	srv := httpdtest.Start(t)
	c := srv.Client(t)
	token, err := accounts.New(srv.DB).CreateToken(t.Context(), "pbx", nil)
	if err != nil {
		t.Fatal(err)
	}
	postCall(t, srv, token, `{"called":"74951112233","caller":"79161234567","duration":42,"answered":true}`)
	resp, err := c.Get(srv.URL + "sites")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{`id="unknown-calls"`, `<a class="tel" href="tel:+74951112233">8 (495) 111-22-33</a>`, `<a class="tel" href="tel:+79161234567">8 (916) 123-45-67</a>`, "42 s"} {
		if !strings.Contains(string(page), want) {
			t.Errorf("sites page lacks %s", want)
		}
	}
}

// The calls to numbers no site has belong to no site: the sites page
// writes them in the zone the sites share, as the team and API tokens
// pages write their times, and names it. Before, it wrote them in the
// server's zone while the tokens page beside it used the sites' one.
func TestUnknownCallsInSitesZone(t *testing.T) {
	srv := httpdtest.Start(t)
	key := srv.Site(t, "Shop", "shop.example.com")
	if _, err := srv.HTTP.Sites().SetTimeZone(t.Context(), key, "Asia/Vladivostok"); err != nil {
		t.Fatal(err)
	}
	c := srv.Client(t)
	token, err := accounts.New(srv.DB).CreateToken(t.Context(), "pbx", nil)
	if err != nil {
		t.Fatal(err)
	}
	started := time.Now().Add(-time.Hour).UTC().Truncate(time.Second)
	postCall(t, srv, token, `{"called":"74951112233","caller":"79161234567","duration":42,"answered":true,"started_at":"`+started.Format(time.RFC3339)+`"}`)
	vlad, err := time.LoadLocation("Asia/Vladivostok")
	if err != nil {
		t.Fatal(err)
	}
	_, page := getPage(t, c, srv.URL+"sites")
	for _, want := range []string{`id="unknown-calls"`, "<small>(Asia/Vladivostok)</small>", started.In(vlad).Format(time.DateTime)} {
		if !strings.Contains(page, want) {
			t.Errorf("sites page lacks %s", want)
		}
	}
}

// postCall reports a call to /api/v1/calls, as a PBX does, with the API
// token, and fails the test unless it is stored; it returns the call's id.
func postCall(t *testing.T, srv *httpdtest.Server, token, body string) uint64 {
	t.Helper()
	req, _ := http.NewRequest("POST", srv.URL+"api/v1/calls", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("post call %s: %d %s", body, resp.StatusCode, raw)
	}
	return decodeResult(t, string(raw)).CallID
}

// The calls page lists calls by when they started, newest first, also a
// call the PBX reported hours late (a retried webhook), and so do the CSV
// and, after a restart, calls stored before the by-start index.
func TestCallsListedByStart(t *testing.T) {
	srv := httpdtest.Start(t)
	key := srv.Site(t, "Shop", "shop.example")
	site, err := srv.HTTP.Sites().ByKey(key)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := srv.HTTP.Numbers().SetSiteNumbers(t.Context(), site.ID, []string{"+7 495 111-22-33"}, time.Now()); err != nil {
		t.Fatal(err)
	}
	token, err := accounts.New(srv.DB).CreateToken(t.Context(), "pbx", nil)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC().Truncate(time.Second)
	call := func(caller string, ago time.Duration) uint64 {
		return postCall(t, srv, token, `{"called":"74951112233","caller":"`+caller+`","duration":5,"answered":true,"started_at":"`+
			now.Add(-ago).Format(time.RFC3339)+`"}`)
	}
	// Reported in this order; started an hour ago, three hours ago (the
	// late report), two hours ago.
	hourAgo, late, twoHoursAgo := call("79160000001", time.Hour), call("79160000003", 3*time.Hour), call("79160000002", 2*time.Hour)
	want := []uint64{hourAgo, twoHoursAgo, late}
	check := func(c *http.Client, when string) {
		t.Helper()
		page := okPage(t, c, srv.URL+"sites/"+key+"/calls")
		var got []uint64
		for _, m := range regexp.MustCompile(`<tr id="call-(\d+)">`).FindAllStringSubmatch(page, -1) {
			id, _ := strconv.ParseUint(m[1], 10, 64)
			got = append(got, id)
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s: the calls page lists %v, want %v (newest start first)", when, got, want)
		}
		got = got[:0]
		for i, line := range strings.Split(rawPage(t, c, srv.URL+"sites/"+key+"/calls.csv"), "\n") {
			if id, err := strconv.ParseUint(strings.TrimPrefix(strings.SplitN(line, ",", 2)[0], "\ufeff"), 10, 64); i > 0 && err == nil {
				got = append(got, id)
			}
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s: the calls CSV lists %v, want %v", when, got, want)
		}
	}
	check(srv.Client(t), "as reported")

	// A store written before the index: its entries and its mark gone.
	var gone [][]byte
	srv.DB.ScanPrefix(t.Context(), store.CallStartPrefix(site.ID), false, 0, func(k, _ []byte) bool { gone = append(gone, bytes.Clone(k)); return true })
	if len(gone) != 3 {
		t.Fatalf("%d by-start entries, want 3", len(gone))
	}
	srv = restartWithout(t, srv, append(gone, store.MetaKey("call-start-index")))
	check(srv.Client(t), "after a restart over older calls")
}

// restartWithout deletes keys from srv's store, as a store written by an
// older version lacks them, and starts the server again on it.
func restartWithout(t *testing.T, srv *httpdtest.Server, keys [][]byte) *httpdtest.Server {
	t.Helper()
	if err := srv.DB.Update(t.Context(), func(tx *store.Tx) error {
		for _, k := range keys {
			tx.Delete(k)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	dir := srv.Dir
	srv.Stop()
	return httpdtest.StartAt(t, dir)
}
