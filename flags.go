package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
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
