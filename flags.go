package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"appliance/httpd/webhooks"
)

// What every command shares: the version, usage errors and flag plumbing.

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

// usageError is a mistake in how a command was called: exit code 2, with a hint.
type usageError struct{ error }

// bindEnv lets every flag of cmd default to its APPLIANCE_* environment
// variable (--public-url ← APPLIANCE_PUBLIC_URL); a flag given on the
// command line wins.
func bindEnv(cmd *cobra.Command) {
	cmd.PreRunE = func(c *cobra.Command, _ []string) error {
		var err error
		c.Flags().VisitAll(func(f *pflag.Flag) {
			if f.Changed || err != nil {
				return
			}
			if v, ok := os.LookupEnv(envName(f.Name)); ok {
				if serr := f.Value.Set(v); serr != nil {
					err = usageError{fmt.Errorf("%s=%q: %w", envName(f.Name), v, serr)}
				}
			}
		})
		return err
	}
}

func envName(flag string) string {
	b := []byte("APPLIANCE_" + flag)
	for i, c := range b {
		switch {
		case c == '-':
			b[i] = '_'
		case c >= 'a' && c <= 'z':
			b[i] = c - 'a' + 'A'
		}
	}
	return string(b)
}

// siteFlag adds the required --site (the 32-char site key) to cmd.
func siteFlag(cmd *cobra.Command, dst *string) {
	cmd.Flags().StringVar(dst, "site", "", "site key (required)")
	_ = cmd.MarkFlagRequired("site")
}

func dataFlag(cmd *cobra.Command, dst *string) {
	cmd.Flags().StringVar(dst, "data", "./data", "data directory (env APPLIANCE_DATA)")
}

// OutboundOptions are the flags that let webhook and callback-scenario
// URLs reach addresses that are not public (webhooks.Policy).
type OutboundOptions struct {
	AllowPrivate bool
	AllowCIDR    []string
}

// outboundFlags adds --webhook-allow-private and --webhook-allow-cidr to
// cmd; where sets where they apply.
func outboundFlags(cmd *cobra.Command, o *OutboundOptions, where string) {
	f := cmd.Flags()
	f.BoolVar(&o.AllowPrivate, "webhook-allow-private", false,
		"let webhook and callback-scenario URLs reach loopback, private and link-local addresses, for a PBX or CRM on the local network"+where+" (env APPLIANCE_WEBHOOK_ALLOW_PRIVATE)")
	f.StringSliceVar(&o.AllowCIDR, "webhook-allow-cidr", nil,
		"networks webhook and callback-scenario URLs may reach although not public, e.g. 10.0.0.0/8,192.168.1.0/24"+where+" (env APPLIANCE_WEBHOOK_ALLOW_CIDR)")
}

// policy is the webhooks.Policy the flags describe.
func (o OutboundOptions) policy() (webhooks.Policy, error) {
	allow, err := webhooks.ParseCIDRs(o.AllowCIDR)
	if err != nil {
		return webhooks.Policy{}, usageError{fmt.Errorf("--webhook-allow-cidr: %w", err)}
	}
	return webhooks.Policy{AllowPrivate: o.AllowPrivate, Allow: allow}, nil
}
