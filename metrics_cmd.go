package main

import "github.com/spf13/cobra"

// metricsFlags adds serve's monitoring flags beside --metrics-token.
func metricsFlags(cmd *cobra.Command, o *ServeOptions) {
	cmd.Flags().BoolVar(&o.Pprof, "pprof", false,
		"serve Go's profiles at /debug/pprof/ to bearers of --metrics-token (env APPLIANCE_PPROF)")
}
