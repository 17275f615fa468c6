package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"
)

// serve --acme-domain on the command line: plain HTTP on --http-listen
// redirects to https on the domain, at the TLS listener's port. (The
// certificates themselves are tested against a real ACME server in
// httpd's TestACMECertificates.)
func TestServeACMEFlags(t *testing.T) {
	tlsAddr, plainAddr := freeAddr(t), freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		root := newRoot(io.Discard)
		root.SetArgs([]string{"serve", "--data", t.TempDir(), "--listen", tlsAddr,
			"--acme-domain", "Shop.Example.com", "--acme-email", "owner@example.com", "--http-listen", plainAddr})
		done <- root.ExecuteContext(ctx)
	}()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	}()
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	var resp *http.Response
	for {
		select {
		case err := <-done:
			done <- err
			t.Fatalf("serve: %v", err)
		default:
		}
		req, _ := http.NewRequest("GET", "http://"+plainAddr+"/sites?x=1", nil)
		req.Host = "shop.example.com"
		var err error
		if resp, err = noFollow.Do(req); err == nil {
			resp.Body.Close()
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	port := tlsAddr[strings.LastIndex(tlsAddr, ":")+1:]
	if want := "https://shop.example.com:" + port + "/sites?x=1"; resp.StatusCode != http.StatusMovedPermanently || resp.Header.Get("Location") != want {
		t.Errorf("plain HTTP answered %d to %q, want 301 to %q", resp.StatusCode, resp.Header.Get("Location"), want)
	}
}

// ACME refuses what it cannot serve, saying why.
func TestServeACMERefusals(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--acme-domain", "shop.example.com", "--tls-cert", "c.pem", "--tls-key", "k.pem"}, "not both"},
		{[]string{"--acme-domain", "203.0.113.5"}, "not IP addresses"},
		{[]string{"--acme-domain", "https://shop.example.com"}, "bare domain name"},
		{[]string{"--acme-domain", "shop"}, "needs a dot"},
	} {
		root := newRoot(io.Discard)
		root.SetArgs(append([]string{"serve", "--data", t.TempDir(), "--listen", "127.0.0.1:0", "--http-listen", "127.0.0.1:0"}, tc.args...))
		err := root.ExecuteContext(context.Background())
		var stderr bytes.Buffer
		exitCode(err, &stderr)
		if err == nil || !strings.Contains(stderr.String(), tc.want) {
			t.Errorf("serve %s: %q, want it to say %q", strings.Join(tc.args, " "), stderr.String(), tc.want)
		}
	}
}

// With --acme-domain serve listens on :443 unless told where.
func TestACMEListen(t *testing.T) {
	for _, tc := range []struct {
		name    string
		domains []string
		args    []string
		env     string
		want    string
	}{
		{"no acme", nil, nil, "", ":8080"},
		{"acme", []string{"shop.example.com"}, nil, "", ":443"},
		{"acme and --listen", []string{"shop.example.com"}, []string{"--listen", ":8443"}, "", ":8443"},
		{"acme and APPLIANCE_LISTEN", []string{"shop.example.com"}, nil, ":9443", ":8080"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.env != "" {
				t.Setenv("APPLIANCE_LISTEN", tc.env)
			}
			cmd := &cobra.Command{}
			o := ServeOptions{ACME: ACMEFlags{Domains: tc.domains}}
			cmd.Flags().StringVar(&o.Listen, "listen", ":8080", "")
			if err := cmd.ParseFlags(tc.args); err != nil {
				t.Fatal(err)
			}
			if got := acmeListen(cmd, o); got != tc.want {
				t.Errorf("listen %q, want %q", got, tc.want)
			}
		})
	}
}
