package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"appliance/httpd/admin"
	"appliance/numbers/tracking"
)

// The call-tracking commands: `site numbers` and `numbers ...`, through the
// admin API (httpd/numbers.go) like every admin command.

// SiteNumbersOptions are the flags of `appliance site numbers`.
type SiteNumbersOptions struct {
	Data      string
	Site      string
	Replace   []string
	Selectors []string
	SetSel    bool // --selector was given (possibly to clear them)
}

func runSiteNumbers(ctx context.Context, o SiteNumbersOptions, stdout io.Writer) error {
	in := admin.SetSiteNumbers{Site: o.Site}
	if len(o.Replace) > 0 {
		in.Numbers = &o.Replace
	}
	if o.SetSel {
		in.Selectors = &o.Selectors
	}
	if in.Numbers == nil && in.Selectors == nil {
		return usageError{errors.New("site numbers: give --replace, --selector or both")}
	}
	return withAdmin(ctx, o.Data, func(c *admin.Client) error {
		info, err := c.SetSiteNumbers(ctx, in)
		if err != nil {
			return fmt.Errorf("site numbers: %w", err)
		}
		fmt.Fprintf(stdout, "site %s replaces %d number(s):\n", info.Site, len(info.SiteNumbers))
		for _, n := range info.SiteNumbers {
			fmt.Fprintf(stdout, "  +%s  (written %q)\n", n.Number, n.Written)
		}
		if len(info.Selectors) > 0 {
			fmt.Fprintf(stdout, "extra selectors: %s\n", strings.Join(info.Selectors, "  "))
		}
		return nil
	})
}

// StaticOptions are the flags of `appliance numbers static add|remove`.
type StaticOptions struct {
	Data     string
	Site     string
	Number   string
	Rule     string
	Priority int64
	Replaces []string
}

func runStaticAdd(ctx context.Context, o StaticOptions, stdout io.Writer) error {
	return withAdmin(ctx, o.Data, func(c *admin.Client) error {
		st, err := c.AddStatic(ctx, admin.AddStatic{Site: o.Site, Number: o.Number,
			Match: admin.Match{Rule: o.Rule, Priority: o.Priority, Replaces: o.Replaces}})
		if err != nil {
			return fmt.Errorf("numbers static add: %w", err)
		}
		fmt.Fprintf(stdout, "static number +%s added: %s, priority %d, replaces %s\n", st.Number, ruleText(st.Rule), st.Priority, replacesText(st.Replaces))
		return nil
	})
}

func runStaticRemove(ctx context.Context, o StaticOptions, stdout io.Writer) error {
	return withAdmin(ctx, o.Data, func(c *admin.Client) error {
		if err := c.RemoveStatic(ctx, admin.RemoveStatic{Site: o.Site, Number: o.Number}); err != nil {
			return fmt.Errorf("numbers static remove: %w", err)
		}
		fmt.Fprintf(stdout, "static number %s removed\n", o.Number)
		return nil
	})
}

// PoolOptions are the flags of `appliance numbers pool add|remove`.
type PoolOptions struct {
	Data     string
	Site     string
	Name     string
	Numbers  []string
	Fallback string
	Reserve  string
	Rule     string
	Priority int64
	Replaces []string
}

func runPoolAdd(ctx context.Context, o PoolOptions, stdout io.Writer) error {
	return withAdmin(ctx, o.Data, func(c *admin.Client) error {
		p, err := c.AddPool(ctx, admin.PoolRequest{Site: o.Site, Name: o.Name, Numbers: o.Numbers, Fallback: o.Fallback,
			Reserve: o.Reserve, Match: admin.Match{Rule: o.Rule, Priority: o.Priority, Replaces: o.Replaces}})
		if err != nil {
			return fmt.Errorf("numbers pool add: %w", err)
		}
		fmt.Fprintf(stdout, "pool %q added: %d number(s) %s\n  fallback %s, reserve %s, %s, priority %d, replaces %s\n",
			p.Name, len(p.Numbers), plusList(p.Numbers), orNone(plusList(nonEmpty(p.Fallback))), p.Reserve, ruleText(p.Rule), p.Priority, replacesText(p.Replaces))
		return nil
	})
}

func runPoolRemove(ctx context.Context, o PoolOptions, stdout io.Writer) error {
	return withAdmin(ctx, o.Data, func(c *admin.Client) error {
		if err := c.RemovePool(ctx, admin.RemovePool{Site: o.Site, Name: o.Name}); err != nil {
			return fmt.Errorf("numbers pool remove: %w", err)
		}
		fmt.Fprintf(stdout, "pool %q removed (its lease history stays: its calls are still attributed)\n", o.Name)
		return nil
	})
}

// ImportOptions are the flags of `appliance numbers import`.
type ImportOptions struct {
	Data string
	Site string
	Pool string
	File string // "-" for stdin
}

func runNumbersImport(ctx context.Context, o ImportOptions, stdin io.Reader, stdout io.Writer) error {
	r := stdin
	if o.File != "-" {
		f, err := os.Open(o.File)
		if err != nil {
			return fmt.Errorf("numbers import: %w", err)
		}
		defer f.Close()
		r = f
	}
	data, err := io.ReadAll(io.LimitReader(r, tracking.MaxImportBytes+1))
	if err != nil {
		return fmt.Errorf("numbers import: %w", err)
	}
	if len(data) > tracking.MaxImportBytes {
		return fmt.Errorf("numbers import: %s is larger than %d bytes", o.File, tracking.MaxImportBytes)
	}
	return withAdmin(ctx, o.Data, func(c *admin.Client) error {
		res, err := c.Import(ctx, admin.Import{Site: o.Site, Pool: o.Pool, CSV: string(data)})
		if err != nil {
			return fmt.Errorf("numbers import: %w", err)
		}
		fmt.Fprintf(stdout, "imported %d number(s) into pool %q, skipped %d\n", len(res.Added), res.Pool, len(res.Skipped))
		for _, n := range res.Added {
			fmt.Fprintf(stdout, "  added    +%s\n", n)
		}
		for _, s := range res.Skipped {
			fmt.Fprintf(stdout, "  skipped  line %d %q: %s\n", s.Line, s.Value, s.Reason)
		}
		return nil
	})
}

// NumbersListOptions are the flags of `appliance numbers list`.
type NumbersListOptions struct {
	Data string
	Site string
}

func runNumbersList(ctx context.Context, o NumbersListOptions, stdout io.Writer) error {
	return withAdmin(ctx, o.Data, func(c *admin.Client) error {
		info, err := c.Numbers(ctx, o.Site)
		if err != nil {
			return fmt.Errorf("numbers list: %w", err)
		}
		fmt.Fprintf(stdout, "site %s\n", info.Site)
		if len(info.SiteNumbers) == 0 {
			fmt.Fprintf(stdout, "site numbers: none yet (appliance site numbers --site %s --replace NUMBER)\n", info.Site)
		} else {
			fmt.Fprintln(stdout, "site numbers:")
			for _, n := range info.SiteNumbers {
				fmt.Fprintf(stdout, "  +%s  (written %q)\n", n.Number, n.Written)
			}
		}
		if len(info.Selectors) > 0 {
			fmt.Fprintf(stdout, "extra selectors: %s\n", strings.Join(info.Selectors, "  "))
		}
		fmt.Fprintf(stdout, "static numbers: %d\n", len(info.Statics))
		for _, s := range info.Statics {
			fmt.Fprintf(stdout, "  +%s  %s, priority %d, replaces %s\n", s.Number, ruleText(s.Rule), s.Priority, replacesText(s.Replaces))
		}
		fmt.Fprintf(stdout, "pools: %d\n", len(info.Pools))
		for _, p := range info.Pools {
			fmt.Fprintf(stdout, "  %s: %d number(s), %s, priority %d, reserve %s, fallback %s, replaces %s\n",
				p.Name, len(p.Numbers), ruleText(p.Rule), p.Priority, p.Reserve, orNone(plusList(nonEmpty(p.Fallback))), replacesText(p.Replaces))
			fmt.Fprintf(stdout, "    leased now %d of %d, missed today %d, suggested size %d\n", p.Live, len(p.Numbers), p.Misses, p.Suggest)
			fmt.Fprintf(stdout, "    %s\n", plusList(p.Numbers))
		}
		return nil
	})
}

func ruleText(r string) string {
	if r == "" {
		return "rule: all traffic"
	}
	return "rule " + r
}

func replacesText(r []string) string {
	if len(r) == 0 {
		return "all site numbers"
	}
	return plusList(r)
}

func plusList(ns []string) string {
	out := make([]string, len(ns))
	for i, n := range ns {
		out[i] = "+" + n
	}
	return strings.Join(out, " ")
}

func nonEmpty(s string) []string {
	if s == "" {
		return nil
	}
	return []string{s}
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

// siteNumbersCmd is `appliance site numbers`.
func siteNumbersCmd(stdout io.Writer) *cobra.Command {
	var o SiteNumbersOptions
	cmd := &cobra.Command{
		Use:   "numbers",
		Short: "Set the site's own numbers (as written on its pages) that replacement looks for",
		Example: `  appliance site numbers --site KEY --replace 74872751404
  appliance site numbers --site KEY --replace "8 (487) 275-14-04","+7 495 000-00-00" --selector ".header .tel"`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			o.SetSel = c.Flags().Changed("selector")
			return runSiteNumbers(c.Context(), o, stdout)
		},
	}
	dataFlag(cmd, &o.Data)
	siteFlag(cmd, &o.Site)
	cmd.Flags().StringSliceVar(&o.Replace, "replace", nil, "the site's numbers, comma-separated or repeated; replaces the list")
	cmd.Flags().StringArrayVar(&o.Selectors, "selector", nil, "extra CSS selector whose elements show the number; repeat; replaces the list (--selector '' clears it)")
	bindEnv(cmd)
	return cmd
}

// numbersCmd is `appliance numbers`.
func numbersCmd(stdout io.Writer) *cobra.Command {
	cmd := &cobra.Command{Use: "numbers", Short: "Tracking numbers: static numbers per source and dynamic pools"}
	ruleFlags := func(c *cobra.Command, rule *string, prio *int64, repl *[]string) {
		c.Flags().StringVar(rule, "rule", "", "which visits: utm_source=yandex&utm_medium=cpc, referrer=google.com, channel=organic, click=gclid, landing=/promo; empty: all")
		c.Flags().Int64Var(prio, "priority", 0, "higher wins over other matching rules; then the rule with more terms")
		c.Flags().StringSliceVar(repl, "replaces", nil, "site numbers it stands in for (default: all)")
	}

	static := &cobra.Command{Use: "static", Short: "Static tracking numbers: one number per traffic source"}
	var sa StaticOptions
	saCmd := &cobra.Command{
		Use:   "add",
		Short: "Add (or change) a static number shown to every visit its rule matches",
		Example: `  appliance numbers static add --site KEY --number 74951825168 --rule 'utm_source=yandex'
  appliance numbers static add --site KEY --number "+7 495 182-51-69" --rule 'channel=organic' --priority 5`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error { return runStaticAdd(c.Context(), sa, stdout) },
	}
	dataFlag(saCmd, &sa.Data)
	siteFlag(saCmd, &sa.Site)
	saCmd.Flags().StringVar(&sa.Number, "number", "", "the tracking number, any written form (required)")
	_ = saCmd.MarkFlagRequired("number")
	ruleFlags(saCmd, &sa.Rule, &sa.Priority, &sa.Replaces)
	bindEnv(saCmd)
	var sr StaticOptions
	srCmd := &cobra.Command{
		Use:     "remove",
		Short:   "Remove a static number",
		Example: `  appliance numbers static remove --site KEY --number 74951825168`,
		Args:    cobra.NoArgs,
		RunE:    func(c *cobra.Command, _ []string) error { return runStaticRemove(c.Context(), sr, stdout) },
	}
	dataFlag(srCmd, &sr.Data)
	siteFlag(srCmd, &sr.Site)
	srCmd.Flags().StringVar(&sr.Number, "number", "", "the static number (required)")
	_ = srCmd.MarkFlagRequired("number")
	bindEnv(srCmd)
	static.AddCommand(saCmd, srCmd)

	pool := &cobra.Command{Use: "pool", Short: "Dynamic pools: each matching visitor leases a number of their own"}
	var pa PoolOptions
	paCmd := &cobra.Command{
		Use:   "add",
		Short: "Add a dynamic pool",
		Example: `  appliance numbers pool add --site KEY --name ads --numbers 74950000001,74950000002 \
    --fallback 74950000009 --reserve 20m --rule 'utm_medium=cpc'`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error { return runPoolAdd(c.Context(), pa, stdout) },
	}
	dataFlag(paCmd, &pa.Data)
	siteFlag(paCmd, &pa.Site)
	paCmd.Flags().StringVar(&pa.Name, "name", "", "pool name (required)")
	paCmd.Flags().StringSliceVar(&pa.Numbers, "numbers", nil, "the pool's numbers, comma-separated or repeated (required; more with numbers import)")
	paCmd.Flags().StringVar(&pa.Fallback, "fallback", "", "number shown when every number is leased; empty: the site's own")
	paCmd.Flags().StringVar(&pa.Reserve, "reserve", "20m", "how long a number stays a visitor's after their last activity: 5m to 7d")
	_ = paCmd.MarkFlagRequired("name")
	_ = paCmd.MarkFlagRequired("numbers")
	ruleFlags(paCmd, &pa.Rule, &pa.Priority, &pa.Replaces)
	bindEnv(paCmd)
	var pr PoolOptions
	prCmd := &cobra.Command{
		Use:     "remove",
		Short:   "Remove a pool (its lease history stays, so its calls are still attributed)",
		Example: `  appliance numbers pool remove --site KEY --name ads`,
		Args:    cobra.NoArgs,
		RunE:    func(c *cobra.Command, _ []string) error { return runPoolRemove(c.Context(), pr, stdout) },
	}
	dataFlag(prCmd, &pr.Data)
	siteFlag(prCmd, &pr.Site)
	prCmd.Flags().StringVar(&pr.Name, "name", "", "pool name (required)")
	_ = prCmd.MarkFlagRequired("name")
	bindEnv(prCmd)
	pool.AddCommand(paCmd, prCmd)

	var im ImportOptions
	imCmd := &cobra.Command{
		Use:   "import FILE",
		Short: "Add the numbers of a file to a pool: one a line, or a CSV with a number column (- for stdin)",
		Example: `  appliance numbers import --site KEY --pool ads numbers.csv
  printf '74950000003\n74950000004\n' | appliance numbers import --site KEY --pool ads -`,
		Args: func(c *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usageError{errors.New("numbers import needs exactly one FILE (- for stdin)")}
			}
			return nil
		},
		RunE: func(c *cobra.Command, args []string) error {
			im.File = args[0]
			return runNumbersImport(c.Context(), im, c.InOrStdin(), stdout)
		},
	}
	dataFlag(imCmd, &im.Data)
	siteFlag(imCmd, &im.Site)
	imCmd.Flags().StringVar(&im.Pool, "pool", "", "pool name (required)")
	_ = imCmd.MarkFlagRequired("pool")
	bindEnv(imCmd)

	var ls NumbersListOptions
	lsCmd := &cobra.Command{
		Use:     "list",
		Short:   "List a site's numbers, static numbers and pools with their live usage",
		Example: `  appliance numbers list --site KEY`,
		Args:    cobra.NoArgs,
		RunE:    func(c *cobra.Command, _ []string) error { return runNumbersList(c.Context(), ls, stdout) },
	}
	dataFlag(lsCmd, &ls.Data)
	siteFlag(lsCmd, &ls.Site)
	bindEnv(lsCmd)

	cmd.AddCommand(static, pool, imCmd, lsCmd)
	return cmd
}
