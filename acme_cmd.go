package main

import (
	"os"

	"github.com/spf13/cobra"
	"golang.org/x/crypto/acme/autocert"

	"appliance/httpd"
)

// ACMEFlags are serve's flags for certificates from an ACME CA.
type ACMEFlags struct {
	Domains    []string
	Email      string
	Directory  string
	HTTPListen string
}

// acmeFlags adds --acme-domain, --acme-email, --acme-directory and
// --http-listen to cmd.
func acmeFlags(cmd *cobra.Command, o *ACMEFlags) {
	f := cmd.Flags()
	f.StringSliceVar(&o.Domains, "acme-domain", nil, "serve https with certificates from Let's Encrypt for this domain, obtained and renewed by themselves and kept in the store; repeat or comma-separate; the domain must point here and reach port 443 (--listen, :443 by default then) or 80 (--http-listen) (env APPLIANCE_ACME_DOMAIN)")
	f.StringVar(&o.Email, "acme-email", "", "email the certificate authority may write to about the certificates, e.g. before they expire (env APPLIANCE_ACME_EMAIL)")
	f.StringVar(&o.Directory, "acme-directory", autocert.DefaultACMEDirectory, "ACME directory URL of the certificate authority, e.g. https://acme-staging-v02.api.letsencrypt.org/directory for a trial (env APPLIANCE_ACME_DIRECTORY)")
	f.StringVar(&o.HTTPListen, "http-listen", ":80", `with --acme-domain: plain-HTTP address that answers the authority's HTTP-01 checks and redirects everything else to https; "" for none (env APPLIANCE_HTTP_LISTEN)`)
}

// options is the httpd side of the flags: none without a domain.
func (o ACMEFlags) options() httpd.ACMEOptions {
	if len(o.Domains) == 0 {
		return httpd.ACMEOptions{}
	}
	return httpd.ACMEOptions{Domains: o.Domains, Email: o.Email, DirectoryURL: o.Directory, HTTPListen: o.HTTPListen}
}

// acmeListen is the address serve listens on: with --acme-domain and no
// --listen (flag or environment), :443, where the authority checks
// TLS-ALPN-01 and browsers go.
func acmeListen(cmd *cobra.Command, o ServeOptions) string {
	if len(o.ACME.Domains) == 0 || cmd.Flags().Changed("listen") {
		return o.Listen
	}
	if _, ok := os.LookupEnv(envName("listen")); ok {
		return o.Listen
	}
	return ":443"
}
