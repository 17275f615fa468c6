package httpd

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/mail"
	"net/url"
	"strings"

	"golang.org/x/crypto/acme"
	"golang.org/x/crypto/acme/autocert"

	"appliance/store"
)

// ACMEOptions turn on TLS certificates from an ACME certificate authority
// (Let's Encrypt by default) for Domains, obtained when a browser first
// asks for one of them and renewed 30 days before they expire. The CA
// checks that this server answers for the domain, with TLS-ALPN-01 on the
// public listener (so it must be reached on port 443) or HTTP-01 on
// HTTPListen (port 80). Certificates and the account key are kept in the
// store.
type ACMEOptions struct {
	Domains []string
	// Email is given to the CA for notices about the certificates; may be
	// empty.
	Email string
	// DirectoryURL is the CA's ACME directory; "" for Let's Encrypt.
	DirectoryURL string
	// HTTPListen is the plain-HTTP address where HTTP-01 challenges are
	// answered and every other request is redirected to https; "" for none.
	HTTPListen string
	// HTTPClient talks to the CA; nil for http.DefaultClient. Tests give
	// one that trusts their CA.
	HTTPClient *http.Client
}

// on reports whether ACME is configured.
func (o ACMEOptions) on() bool { return len(o.Domains) > 0 }

// checkDomains lower-cases the domains and refuses what no CA can certify
// here: empty, with a port or scheme, an IP address, a single label or a
// wildcard (which needs a DNS challenge).
func checkDomains(domains []string) ([]string, error) {
	out := make([]string, 0, len(domains))
	for _, d := range domains {
		d = strings.ToLower(strings.TrimSuffix(strings.TrimSpace(d), "."))
		switch {
		case d == "":
			return nil, errors.New("serve: --acme-domain is empty")
		case strings.ContainsAny(d, ":/*@ "):
			return nil, fmt.Errorf("serve: --acme-domain %q: give a bare domain name such as track.example.com (no scheme, port, path or wildcard)", d)
		case net.ParseIP(d) != nil:
			return nil, fmt.Errorf("serve: --acme-domain %q: ACME certificates here are for domain names, not IP addresses", d)
		case !strings.Contains(d, "."):
			return nil, fmt.Errorf("serve: --acme-domain %q: a domain needs a dot, such as track.example.com", d)
		}
		out = append(out, d)
	}
	return out, nil
}

// checkACMEAccount refuses an --acme-email that is no address and an
// --acme-directory that is no http(s) URL, which were taken and failed only
// when a browser first asked for a certificate, in the log.
func checkACMEAccount(o ACMEOptions) error {
	if e := strings.TrimSpace(o.Email); e != "" {
		if a, err := mail.ParseAddress(e); err != nil || a.Name != "" {
			return fmt.Errorf("serve: --acme-email %q: give an email address such as you@example.com", o.Email)
		}
	}
	if o.DirectoryURL != "" {
		u, err := url.Parse(o.DirectoryURL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return fmt.Errorf("serve: --acme-directory %q: give the authority's directory URL, such as %s", o.DirectoryURL, autocert.DefaultACMEDirectory)
		}
	}
	return nil
}

// acmeManager is the certificate manager for o, its cache in db; nil when
// ACME is off.
func acmeManager(o ACMEOptions, db *store.DB) *autocert.Manager {
	if !o.on() {
		return nil
	}
	dir := o.DirectoryURL
	if dir == "" {
		dir = autocert.DefaultACMEDirectory
	}
	allowed := make(map[string]bool, len(o.Domains))
	for _, d := range o.Domains {
		allowed[d] = true
	}
	return &autocert.Manager{
		Prompt: autocert.AcceptTOS,
		Cache:  tlsCache{db},
		// The CA's HTTP-01 request names the port when it is not 80 (a test
		// CA); the domain is what counts.
		HostPolicy: func(_ context.Context, host string) error {
			if h, _, err := net.SplitHostPort(host); err == nil {
				host = h
			}
			if !allowed[strings.ToLower(host)] {
				return fmt.Errorf("acme: %q is not one of the --acme-domain names", host)
			}
			return nil
		},
		Email:  o.Email,
		Client: &acme.Client{DirectoryURL: dir, HTTPClient: o.HTTPClient, UserAgent: "appliance"},
	}
}

// acmeTLSConfig serves the manager's certificates over HTTP/1.1 (fasthttp
// speaks no HTTP/2) and answers TLS-ALPN-01 challenges. A client that
// names no server (by IP address) gets the first domain's certificate.
func (s *Server) acmeTLSConfig() *tls.Config {
	first := s.opts.ACME.Domains[0]
	return &tls.Config{
		MinVersion: tls.VersionTLS12,
		NextProtos: []string{"http/1.1", acme.ALPNProto},
		GetCertificate: func(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
			if hello.ServerName == "" {
				hello.ServerName = first
			}
			cert, err := s.acme.GetCertificate(hello)
			if err != nil && s.acme.HostPolicy(hello.Context(), hello.ServerName) == nil {
				s.log.Warn("acme: no certificate for the domain yet", "domain", hello.ServerName, "err", err)
			}
			return cert, err
		},
	}
}

// acmeHTTP answers the CA's HTTP-01 challenges and redirects every other
// plain-HTTP request to the same path on https (redirectToHTTPS).
func (s *Server) acmeHTTP() *http.Server {
	return &http.Server{
		Handler:           s.acme.HTTPHandler(http.HandlerFunc(s.redirectToHTTPS)),
		ReadHeaderTimeout: readTimeout,
		ReadTimeout:       readTimeout,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
}

// redirectToHTTPS sends a plain-HTTP request to https: on the domain it
// asked for when that is one of ours, else on the public URL's host, and
// at the public URL's port.
func (s *Server) redirectToHTTPS(w http.ResponseWriter, r *http.Request) {
	to := url.URL{Scheme: "https", Host: s.public.Host, Path: r.URL.Path, RawQuery: r.URL.RawQuery}
	host := r.Host
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	if s.acme.HostPolicy(r.Context(), host) == nil {
		to.Host = strings.ToLower(host)
		if port := s.public.Port(); port != "" {
			to.Host = net.JoinHostPort(to.Host, port)
		}
	}
	// Written by hand rather than with http.Redirect: the Location is built
	// above from our own names only (TestNoHostBasedRedirects).
	w.Header().Set("Location", to.String())
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		w.WriteHeader(http.StatusMovedPermanently)
		return
	}
	// Anything else is a write: a page view, a lead or a callback from a
	// page on http whose install code names the appliance without a
	// scheme (//HOST/, SPEC §4), or a lead a site's server posts to the
	// http:// URL it was given. A 301 would have it follow as a GET
	// without its body, and the lead would be lost: 308 keeps the method
	// and body, and the page's fetch follows it only with the CORS header
	// (the tracker's answers allow any origin as well).
	w.Header().Set("Access-Control-Allow-Origin", "*")
	w.WriteHeader(http.StatusPermanentRedirect)
}

// tlsCache is autocert's cache in the store (store.TLSCacheKey): durable
// like every write, and in backups.
type tlsCache struct{ db *store.DB }

func (c tlsCache) Get(_ context.Context, name string) ([]byte, error) {
	v, err := c.db.Get(store.TLSCacheKey(name))
	if errors.Is(err, store.ErrNotFound) {
		return nil, autocert.ErrCacheMiss
	}
	return v, err
}

func (c tlsCache) Put(ctx context.Context, name string, data []byte) error {
	return c.db.Set(ctx, store.TLSCacheKey(name), data)
}

func (c tlsCache) Delete(ctx context.Context, name string) error {
	return c.db.Delete(ctx, store.TLSCacheKey(name))
}
