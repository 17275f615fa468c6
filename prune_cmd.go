package main

import (
	"context"
	"io"

	"github.com/spf13/cobra"

	"appliance/httpd/admin"
)

// pruneCmd is `appliance prune`: the retention sweep on demand.
func pruneCmd(stdout io.Writer) *cobra.Command {
	var o PruneOptions
	cmd := &cobra.Command{
		Use:   "prune",
		Short: "Delete visits past each site's retention, delivered webhooks, old lease history, expired captchas",
		Long: "Delete what is past each site's retention (site set --retention-days; 0 keeps everything):\n" +
			"sessions with their page views and events, delivered webhook deliveries and the lease history of\n" +
			"the site's tracking numbers; and the expired captchas. The reports keep their totals. A running\n" +
			"server does this every hour by itself; --dry-run only says how much would go.",
		Example: `  appliance prune --dry-run
  appliance prune`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error { return runPrune(c.Context(), o, stdout) },
	}
	dataFlag(cmd, &o.Data)
	cmd.Flags().BoolVar(&o.DryRun, "dry-run", false, "change nothing; say how much would be deleted")
	bindEnv(cmd)
	return cmd
}

// PruneOptions are the flags of `appliance prune`.
type PruneOptions struct {
	Data   string
	DryRun bool
}

func runPrune(ctx context.Context, o PruneOptions, stdout io.Writer) error {
	return adminCall(ctx, o.Data, "prune", func(c *admin.Client) (admin.Pruned, error) {
		return c.Prune(ctx, admin.Prune{DryRun: o.DryRun})
	}, func(p admin.Pruned) { admin.PrintPruned(stdout, p) })
}
