// Command appliance is call tracking, lead capture and web analytics for a
// small business in one binary: `appliance serve` runs it on an embedded
// store; `backup` and `restore` keep that store safe; the admin commands
// (site, user, token) work through the running server's unix socket, or on
// the store directly when no server runs.
//
// This file only wires cobra commands to their Options and run functions.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"appliance/numbers"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := newRoot(os.Stdout).ExecuteContext(ctx)
	stop()
	os.Exit(exitCode(err, os.Stderr))
}

// exitCode maps an error to the process exit code and prints it, in one place.
func exitCode(err error, stderr io.Writer) int {
	if err == nil {
		return 0
	}
	fmt.Fprintln(stderr, "appliance:", err)
	var ue usageError
	if errors.As(err, &ue) {
		fmt.Fprintln(stderr, "Run 'appliance --help' for usage.")
		return 2
	}
	if errors.Is(err, context.Canceled) {
		return 130
	}
	return 1
}

func newRoot(stdout io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:           "appliance",
		Short:         "Call tracking, leads and web analytics for one business, in one binary",
		SilenceUsage:  true,
		SilenceErrors: true,
		Example: `  appliance serve --data ./data --listen :8080
  appliance site add --name "My shop" --domain shop.example.com
  appliance backup -o backup.tar`,
	}
	root.SetOut(stdout)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	root.AddCommand(serveCmd(stdout), backupCmd(stdout), restoreCmd(stdout), siteCmd(stdout),
		userCmd(stdout), tokenCmd(stdout), webhookCmd(stdout), callbackCmd(stdout), numbersCmd(stdout), versionCmd(stdout))
	return root
}

func serveCmd(stdout io.Writer) *cobra.Command {
	var o ServeOptions
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the server on the store in --data",
		Long: `Run the server. On first start with no users it prints a one-time setup URL;
open it to create the owner account. SIGINT/SIGTERM shut down cleanly.`,
		Example: `  appliance serve
  appliance serve --data /var/lib/appliance --listen :443 --tls-cert cert.pem --tls-key key.pem
  APPLIANCE_PUBLIC_URL=https://track.example.com appliance serve --trust-proxy`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			o.Version = version
			return runServe(c.Context(), o, stdout, nil)
		},
	}
	dataFlag(cmd, &o.Data)
	f := cmd.Flags()
	f.StringVar(&o.Listen, "listen", ":8080", "TCP address to serve on (env APPLIANCE_LISTEN)")
	f.StringVar(&o.PublicURL, "public-url", "", "URL browsers reach this server at; default from --listen (env APPLIANCE_PUBLIC_URL)")
	f.StringVar(&o.TLSCert, "tls-cert", "", "TLS certificate PEM file (env APPLIANCE_TLS_CERT)")
	f.StringVar(&o.TLSKey, "tls-key", "", "TLS private key PEM file (env APPLIANCE_TLS_KEY)")
	f.BoolVar(&o.TrustProxy, "trust-proxy", false, "take client IPs from X-Forwarded-For, behind a reverse proxy (env APPLIANCE_TRUST_PROXY)")
	f.StringVar(&o.MetricsToken, "metrics-token", "", "bearer token that opens /metrics; empty: /metrics off (env APPLIANCE_METRICS_TOKEN)")
	f.IntVar(&o.MaxConns, "max-conns", 0, "most simultaneous HTTP connections; 0: from the open file limit (env APPLIANCE_MAX_CONNS)")
	outboundFlags(cmd, &o.Outbound, "")
	f.StringVar(&o.PhoneRegion, "phone-region", numbers.DefaultRegion, "country whose numbers visitors and you may write without a country code, e.g. RU (8 912 ...), GB, KZ (env APPLIANCE_PHONE_REGION)")
	bindEnv(cmd)
	return cmd
}

func backupCmd(stdout io.Writer) *cobra.Command {
	var o BackupOptions
	cmd := &cobra.Command{
		Use:   "backup",
		Short: "Write a consistent backup archive of the store, while serving or not",
		Example: `  appliance backup -o backup-$(date +%F).tar
  appliance backup -o - | gzip > backup.tar.gz`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error { return runBackup(c.Context(), o, stdout) },
	}
	dataFlag(cmd, &o.Data)
	cmd.Flags().StringVarP(&o.Output, "output", "o", "", "archive file to write, or - for stdout (required)")
	_ = cmd.MarkFlagRequired("output")
	bindEnv(cmd)
	return cmd
}

func restoreCmd(stdout io.Writer) *cobra.Command {
	var o RestoreOptions
	cmd := &cobra.Command{
		Use:   "restore FILE",
		Short: "Replace the store with a backup archive (server stopped)",
		Long: `Restore a backup archive into --data. The server must be stopped. The archive is
verified completely before it replaces anything; a data directory that already
holds a store is only replaced with --force. Use - to read the archive from stdin.`,
		Example: `  appliance restore backup.tar --data ./data
  gunzip -c backup.tar.gz | appliance restore - --force`,
		Args: func(c *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usageError{errors.New("restore needs exactly one FILE")}
			}
			return nil
		},
		RunE: func(c *cobra.Command, args []string) error {
			o.File = args[0]
			return runRestore(c.Context(), o, stdout)
		},
	}
	dataFlag(cmd, &o.Data)
	cmd.Flags().BoolVar(&o.Force, "force", false, "replace an existing store")
	bindEnv(cmd)
	return cmd
}

func siteCmd(stdout io.Writer) *cobra.Command {
	cmd := &cobra.Command{Use: "site", Short: "Add, list and set up sites"}
	var add SiteAddOptions
	addCmd := &cobra.Command{
		Use:     "add",
		Short:   "Add a site and print its key and install code",
		Example: `  appliance site add --name "My shop" --domain shop.example.com --domain www.shop.example.com`,
		Args:    cobra.NoArgs,
		RunE:    func(c *cobra.Command, _ []string) error { return runSiteAdd(c.Context(), add, stdout) },
	}
	dataFlag(addCmd, &add.Data)
	addCmd.Flags().StringVar(&add.Name, "name", "", "site name (required)")
	addCmd.Flags().StringSliceVar(&add.Domains, "domain", nil, "domain of the site; repeat or comma-separate (required)")
	addCmd.Flags().BoolVar(&add.AnyOrigin, "any-origin", false, "take page views from pages on any domain, not only the site's domains and their sub-domains")
	_ = addCmd.MarkFlagRequired("name")
	_ = addCmd.MarkFlagRequired("domain")
	bindEnv(addCmd)

	var list AdminOptions
	listCmd := &cobra.Command{
		Use:     "list",
		Short:   "List sites",
		Example: `  appliance site list`,
		Args:    cobra.NoArgs,
		RunE:    func(c *cobra.Command, _ []string) error { return runSiteList(c.Context(), list, stdout) },
	}
	dataFlag(listCmd, &list.Data)
	bindEnv(listCmd)

	var set SiteSetOptions
	setCmd := &cobra.Command{
		Use:   "set",
		Short: "Change a site's settings",
		Long: "Change a site's settings. --any-origin=true lets pages on any domain send the site's page views\n" +
			"(a site whose pages are also framed or mirrored elsewhere); false, the default, takes them only\n" +
			"from the site's domains and their sub-domains.",
		Example: `  appliance site set --site KEY --any-origin=true`,
		Args:    cobra.NoArgs,
		RunE:    func(c *cobra.Command, _ []string) error { return runSiteSet(c.Context(), set, stdout) },
	}
	dataFlag(setCmd, &set.Data)
	setCmd.Flags().StringVar(&set.Site, "site", "", "site key (required)")
	setCmd.Flags().BoolVar(&set.AnyOrigin, "any-origin", false, "take page views from pages on any domain (required: true or false)")
	_ = setCmd.MarkFlagRequired("site")
	_ = setCmd.MarkFlagRequired("any-origin")
	bindEnv(setCmd)
	cmd.AddCommand(addCmd, listCmd, setCmd, siteNumbersCmd(stdout))
	return cmd
}

func userCmd(stdout io.Writer) *cobra.Command {
	cmd := &cobra.Command{Use: "user", Short: "Add dashboard users, set passwords, sign users out"}
	var add UserOptions
	addCmd := &cobra.Command{
		Use:   "add EMAIL",
		Short: "Add a user (the first one is the owner); the password is read from stdin or prompted",
		Example: `  appliance user add owner@example.com
  echo 'a long passphrase' | appliance user add ops@example.com --role operator`,
		Args: cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			add.Email = args[0]
			return runUserAdd(c.Context(), add, c.InOrStdin(), stdout)
		},
	}
	dataFlag(addCmd, &add.Data)
	addCmd.Flags().StringVar(&add.Role, "role", "", "owner, manager (all but users and tokens) or operator (callbacks only); default: owner for the first user, else operator")
	bindEnv(addCmd)

	var pw UserOptions
	pwCmd := &cobra.Command{
		Use:     "passwd EMAIL",
		Short:   "Set a user's password, read from stdin or prompted; signs the user out everywhere",
		Example: `  appliance user passwd owner@example.com`,
		Args:    cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			pw.Email = args[0]
			return runUserPasswd(c.Context(), pw, c.InOrStdin(), stdout)
		},
	}
	dataFlag(pwCmd, &pw.Data)
	bindEnv(pwCmd)

	var out UserOptions
	logoutCmd := &cobra.Command{
		Use:     "logout EMAIL",
		Short:   "Sign a user out of every browser (their password stays)",
		Example: `  appliance user logout ops@example.com`,
		Args:    cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			out.Email = args[0]
			return runUserLogout(c.Context(), out, stdout)
		},
	}
	dataFlag(logoutCmd, &out.Data)
	bindEnv(logoutCmd)
	cmd.AddCommand(addCmd, pwCmd, logoutCmd)
	return cmd
}

func tokenCmd(stdout io.Writer) *cobra.Command {
	cmd := &cobra.Command{Use: "token", Short: "Make API tokens for /api/v1"}
	var o TokenOptions
	addCmd := &cobra.Command{
		Use:   "add",
		Short: "Make an API token and print it (shown once)",
		Example: `  appliance token add --name pbx
  appliance token add --name shop-crm --site KEY1,KEY2`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error { return runTokenAdd(c.Context(), o, stdout) },
	}
	dataFlag(addCmd, &o.Data)
	addCmd.Flags().StringVar(&o.Name, "name", "", "what the token is for (required)")
	addCmd.Flags().StringSliceVar(&o.Sites, "site", nil, "key of a site the token may use; repeat or comma-separate (default: every site)")
	_ = addCmd.MarkFlagRequired("name")
	bindEnv(addCmd)
	cmd.AddCommand(addCmd)
	return cmd
}

func webhookCmd(stdout io.Writer) *cobra.Command {
	cmd := &cobra.Command{Use: "webhook", Short: "Send a site's leads and callbacks to your CRM or PBX as signed JSON"}
	var add WebhookAddOptions
	addCmd := &cobra.Command{
		Use:   "add",
		Short: "Add a webhook endpoint to a site and print its secret (shown once)",
		Example: `  appliance webhook add --site KEY --url https://crm.example.com/hooks/appliance
  appliance webhook add --site KEY --url https://pbx.example.com/cb --events lead,callback --secret "$SECRET"`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error { return runWebhookAdd(c.Context(), add, stdout) },
	}
	dataFlag(addCmd, &add.Data)
	siteFlag(addCmd, &add.Site)
	addCmd.Flags().StringVar(&add.URL, "url", "", "http(s) URL that receives the POSTs (required)")
	addCmd.Flags().StringSliceVar(&add.Events, "events", []string{"lead"}, "event kinds: lead, callback, call")
	addCmd.Flags().StringVar(&add.Secret, "secret", "", "signing secret; empty: generate one")
	outboundFlags(addCmd, &add.Outbound, whenNoServer)
	_ = addCmd.MarkFlagRequired("url")
	bindEnv(addCmd)

	var list WebhookOptions
	listCmd := &cobra.Command{
		Use:     "list",
		Short:   "List a site's webhook endpoints",
		Example: `  appliance webhook list --site KEY`,
		Args:    cobra.NoArgs,
		RunE:    func(c *cobra.Command, _ []string) error { return runWebhookList(c.Context(), list, stdout) },
	}
	dataFlag(listCmd, &list.Data)
	siteFlag(listCmd, &list.Site)
	bindEnv(listCmd)

	var rm WebhookOptions
	rmCmd := &cobra.Command{
		Use:     "remove",
		Short:   "Remove a webhook endpoint (its undelivered deliveries are dropped)",
		Example: `  appliance webhook remove --site KEY --id 42`,
		Args:    cobra.NoArgs,
		RunE:    func(c *cobra.Command, _ []string) error { return runWebhookRemove(c.Context(), rm, stdout) },
	}
	dataFlag(rmCmd, &rm.Data)
	siteFlag(rmCmd, &rm.Site)
	rmCmd.Flags().Uint64Var(&rm.ID, "id", 0, "endpoint id, from webhook list (required)")
	_ = rmCmd.MarkFlagRequired("id")
	bindEnv(rmCmd)
	cmd.AddCommand(addCmd, listCmd, rmCmd)
	return cmd
}

func versionCmd(stdout io.Writer) *cobra.Command {
	return &cobra.Command{
		Use:     "version",
		Short:   "Print the version",
		Example: `  appliance version`,
		Args:    cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			fmt.Fprintln(stdout, "appliance", version)
			return nil
		},
	}
}
