package httpd_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/letsencrypt/challtestsrv"
	"github.com/letsencrypt/pebble/v2/ca"
	"github.com/letsencrypt/pebble/v2/db"
	"github.com/letsencrypt/pebble/v2/va"
	"github.com/letsencrypt/pebble/v2/wfe"

	"appliance/httpd"
)

// The domain the tests get certificates for; the test DNS server answers
// 127.0.0.1 for every name.
const acmeDomain = "shop.test"

// freePort is a TCP port on 127.0.0.1 that was free a moment ago: the CA
// must know the ports it validates on before the server listens.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// syncBuffer collects a log written from several goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// testCA is letsencrypt's pebble ACME server, in process: its directory
// over HTTPS, and its validation authority checking challenges on
// 127.0.0.1 (a DNS server, challtestsrv, resolves every name there) at
// tlsPort (TLS-ALPN-01) and httpPort (HTTP-01).
type testCA struct {
	directory string
	client    *http.Client // trusts the directory's certificate
	roots     *x509.CertPool
	close     func()
}

func startCA(t *testing.T, tlsPort, httpPort int) *testCA {
	t.Helper()
	t.Setenv("PEBBLE_VA_NOSLEEP", "1")      // validate at once
	t.Setenv("PEBBLE_WFE_NONCEREJECT", "0") // no made-up bad nonces
	var logs syncBuffer
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("ACME server's log:\n%s", logs.String())
		}
	})
	logger := log.New(&logs, "pebble ", log.Lmicroseconds)

	dnsAddr := net.JoinHostPort("127.0.0.1", strconv.Itoa(freePort(t)))
	dns, err := challtestsrv.New(challtestsrv.Config{DNSAddrs: []string{dnsAddr}, Log: logger})
	if err != nil {
		t.Fatal(err)
	}
	dns.SetDefaultDNSIPv4("127.0.0.1")
	dns.SetDefaultDNSIPv6("")
	go dns.Run()
	t.Cleanup(dns.Shutdown)

	store := db.NewMemoryStore()
	authority := ca.New(logger, store, "", "ecdsa", 0, 1, map[string]ca.Profile{"default": {Description: "test"}})
	validator := va.New(logger, httpPort, tlsPort, false, dnsAddr, store)
	front := wfe.New(logger, store, validator, authority, []string{"pebble.letsencrypt.org"}, false, false, 0, 0)
	srv := httptest.NewTLSServer(front.Handler())
	var once sync.Once
	closeSrv := func() { once.Do(func() { srv.Client().CloseIdleConnections(); srv.Close() }) }
	t.Cleanup(closeSrv)
	roots := x509.NewCertPool()
	roots.AddCert(authority.GetRootCert(0).Cert)
	return &testCA{directory: srv.URL + wfe.DirectoryPath, client: srv.Client(), roots: roots, close: closeSrv}
}

// serveACME runs `serve` on dir with ACME for acmeDomain from ca, the TLS
// listener on tlsPort, the plain-HTTP one on httpPort, until the returned
// stop is called.
func serveACME(t *testing.T, dir string, ca *testCA, tlsPort, httpPort int) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- httpd.Run(ctx, dir, httpd.Options{
			Listen: net.JoinHostPort("127.0.0.1", strconv.Itoa(tlsPort)), Stdout: io.Discard,
			ACME: httpd.ACMEOptions{
				Domains: []string{acmeDomain}, Email: "owner@shop.test",
				DirectoryURL: ca.directory, HTTPClient: ca.client,
				HTTPListen: net.JoinHostPort("127.0.0.1", strconv.Itoa(httpPort)),
			},
		}, func(string) { ready <- "" })
	}()
	select {
	case <-ready:
	case err := <-done:
		cancel()
		t.Fatalf("serve: %v", err)
	}
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("serve: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

// handshake connects to the TLS port as a browser of acmeDomain that trusts
// roots, and returns the certificate the server showed.
func handshake(t *testing.T, tlsPort int, roots *x509.CertPool) *x509.Certificate {
	t.Helper()
	c, err := tls.Dial("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(tlsPort)),
		&tls.Config{ServerName: acmeDomain, RootCAs: roots})
	if err != nil {
		t.Fatalf("TLS handshake for %s: %v", acmeDomain, err)
	}
	defer c.Close()
	return c.ConnectionState().PeerCertificates[0]
}

// With --acme-domain the first browser to ask for the domain gets a
// certificate the CA issued after checking this server answers for the
// domain: with TLS-ALPN-01 on the TLS port, or, when the CA cannot reach
// that port, HTTP-01 on the plain-HTTP one. The certificate is kept in the
// store: a restart serves it while the CA is gone. Plain HTTP other than the
// challenges is redirected to https.
func TestACMECertificates(t *testing.T) {
	for _, tc := range []struct {
		name string
		alpn bool // the CA reaches the TLS port
	}{
		{"tls-alpn-01", true},
		{"http-01", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tlsPort, httpPort := freePort(t), freePort(t)
			caTLSPort := tlsPort
			if !tc.alpn {
				caTLSPort = freePort(t) // nothing listens there
			}
			ca := startCA(t, caTLSPort, httpPort)
			dir := t.TempDir()
			stop := serveACME(t, dir, ca, tlsPort, httpPort)

			cert := handshake(t, tlsPort, ca.roots)
			if err := cert.VerifyHostname(acmeDomain); err != nil {
				t.Fatalf("certificate served: %v", err)
			}
			if !tc.alpn {
				return
			}

			// Plain HTTP: the challenge path is autocert's, the rest redirects.
			noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
			req, _ := http.NewRequest("GET", "http://127.0.0.1:"+strconv.Itoa(httpPort)+"/login?next=%2Fsites", nil)
			req.Host = acmeDomain
			resp, err := noFollow.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			want := "https://" + acmeDomain + ":" + strconv.Itoa(tlsPort) + "/login?next=%2Fsites"
			if resp.StatusCode != http.StatusMovedPermanently || resp.Header.Get("Location") != want {
				t.Errorf("plain HTTP: %d to %q, want 301 to %q", resp.StatusCode, resp.Header.Get("Location"), want)
			}
			// A write (a lead from a page on http, whose install code names
			// the appliance without a scheme) is redirected with 308, which
			// a client follows with its method and body, and allows any
			// origin, so that a page's fetch follows it.
			req, _ = http.NewRequest("POST", "http://127.0.0.1:"+strconv.Itoa(httpPort)+"/t/v1/lead", strings.NewReader(`{"k":"x"}`))
			req.Host = acmeDomain
			resp, err = noFollow.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			want = "https://" + acmeDomain + ":" + strconv.Itoa(tlsPort) + "/t/v1/lead"
			if resp.StatusCode != http.StatusPermanentRedirect || resp.Header.Get("Location") != want || resp.Header.Get("Access-Control-Allow-Origin") != "*" {
				t.Errorf("plain HTTP POST: %d to %q, CORS %q; want 308 to %q, *", resp.StatusCode, resp.Header.Get("Location"), resp.Header.Get("Access-Control-Allow-Origin"), want)
			}
			follow := &http.Client{Transport: &http.Transport{
				TLSClientConfig: &tls.Config{RootCAs: ca.roots},
				DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
					_, port, _ := net.SplitHostPort(addr) // acmeDomain is this machine
					return (&net.Dialer{}).DialContext(ctx, network, net.JoinHostPort("127.0.0.1", port))
				},
			}}
			resp, err = follow.Post("http://"+acmeDomain+":"+strconv.Itoa(httpPort)+"/t/v1/lead", "text/plain", strings.NewReader(`{"k":"NoSuchSiteKeyNoSuchSiteKey0000"}`))
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			// The lead endpoint read the body: it names the site key sent.
			if resp.Request.URL.Scheme != "https" || resp.StatusCode != http.StatusNotFound || !bytes.Contains(body, []byte("NoSuchSiteKey")) {
				t.Errorf("a lead posted to http:// ended at %s as %d %s; want the https endpoint's answer to its body", resp.Request.URL, resp.StatusCode, body)
			}

			// A restart with the CA gone serves the certificate from the store.
			stop()
			ca.close()
			serveACME(t, dir, ca, tlsPort, httpPort)
			if again := handshake(t, tlsPort, ca.roots); !again.Equal(cert) {
				t.Errorf("after a restart the server showed serial %s, want the stored %s", again.SerialNumber, cert.SerialNumber)
			}
		})
	}
}
