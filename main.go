// Command appliance is call tracking, lead capture and web analytics for a
// small business in one binary: `appliance serve` runs it on an embedded
// store; `backup` and `restore` keep that store safe; the admin commands
// (site, user, token, webhook, callback, numbers) work through the running
// server's unix socket, or on the store directly when no server runs.
//
// This file only wires cobra commands to their Options and to the functions
// that do the work where their domain lives: httpd.Run serves, store backs
// up and restores, and the admin commands are calls of the typed admin
// client (httpd/admin), which also prints their answers.
package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"syscall"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"golang.org/x/term"

	"appliance/httpd"
	"appliance/httpd/accounts"
	"appliance/httpd/admin"
	"appliance/httpd/callbacks"
	"appliance/httpd/notice"
	"appliance/httpd/sites"
	"appliance/httpd/webhooks"
	"appliance/internal/usererr"
	"appliance/numbers"
	"appliance/numbers/tracking"
	"appliance/store"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	cmd, err := newRoot(os.Stdout).ExecuteContextC(ctx)
	stop()
	os.Exit(exitCode(usageOf(cmd, err), os.Stderr))
}

// exitCode maps an error to the process exit code and prints it, in one place.
func exitCode(err error, stderr io.Writer) int {
	if err == nil {
		return 0
	}
	if errors.Is(err, context.Canceled) {
		// SIGINT or SIGTERM: what the command was doing when it came
		// ("Get \"http://admin/admin/backup\": interrupt signal
		// received", "context canceled") tells the user nothing.
		fmt.Fprintln(stderr, "appliance: interrupted")
		return 130
	}
	if le, ok := errors.AsType[loggedError](err); ok {
		// serve's failure, in the log format it was given.
		if log, lerr := le.log.logger(stderr); lerr == nil {
			log.Error("serve failed", "err", plainError(err))
			return 1
		}
	}
	fmt.Fprintln(stderr, "appliance:", plainError(err))
	var ue usageError
	if errors.As(err, &ue) {
		help := "appliance"
		var in usageIn
		if errors.As(err, &in) {
			help = in.path
		}
		fmt.Fprintf(stderr, "Run '%s --help' for usage.\n", help)
		return 2
	}
	return 1
}

// internalPrefix matches the package names our sentinel errors start with
// ("store: ", "accounts: invalid input: "...): meaningful in logs, noise to a user.
// A prefix begins the message, a line or what a ": " wrapped; "numbers: " in
// "site numbers: " is the command's name, and no command is "export" alone.
var internalPrefix = regexp.MustCompile(`(?m)(^|: )(?:store|accounts|admin|callbacks|leads|outbox|ratelimit|sites|visits|webhooks|numbers|tracking|captcha|httpd|export): (?:invalid input: )?`)

// plainError is err's message without internal package prefixes.
func plainError(err error) string {
	msg := err.Error()
	for {
		// Again: a match takes the ": " a prefix right after it follows.
		plain := internalPrefix.ReplaceAllString(msg, "$1")
		if plain == msg {
			return plain
		}
		msg = plain
	}
}

func newRoot(stdout io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:           "appliance",
		Short:         "Call tracking, leads and web analytics for one business, in one binary",
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       fullVersion(),
		Example: `  appliance serve --data ./data --listen :8080
  appliance site add --name "My shop" --domain shop.example.com
  appliance backup -o backup.tar`,
	}
	root.SetOut(stdout)
	root.SetVersionTemplate("appliance {{.Version}}\n")
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{flagValueError(err)} })
	root.AddCommand(serveCmd(stdout), backupCmd(stdout), restoreCmd(stdout), siteCmd(stdout),
		userCmd(stdout), tokenCmd(stdout), webhookCmd(stdout), callbackCmd(stdout), numbersCmd(stdout), reportsCmd(stdout), costsCmd(stdout), exportCmd(stdout), versionCmd(stdout), pruneCmd(stdout))
	builtinExamples(root)
	usageErrors(root)
	envHelp(root)
	groupExamples(root)
	return root
}

// builtinExamples adds cobra's own help and completion commands now, which
// Execute would add later, and gives them the example every command's
// --help shows.
func builtinExamples(root *cobra.Command) {
	root.InitDefaultHelpCmd()
	root.InitDefaultCompletionCmd()
	shells := map[string]string{
		"bash":       "appliance completion bash > /etc/bash_completion.d/appliance",
		"zsh":        `appliance completion zsh > "${fpath[1]}/_appliance"`,
		"fish":       "appliance completion fish > ~/.config/fish/completions/appliance.fish",
		"powershell": "appliance completion powershell | Out-String | Invoke-Expression",
	}
	for _, c := range root.Commands() {
		switch c.Name() {
		case "help":
			c.Example = "  appliance help site add"
			// cobra's help of a topic that is no command prints the
			// root's help and exits 0 (the root takes any words).
			show := c.Run
			c.RunE = func(c *cobra.Command, args []string) error {
				if found, rest, err := root.Find(args); err != nil || len(rest) > 0 || found == nil {
					return usageError{fmt.Errorf("help: no command %q; appliance --help lists them", strings.Join(args, " "))}
				}
				show(c, args)
				return nil
			}
		case "completion":
			for _, sh := range c.Commands() {
				if ex, ok := shells[sh.Name()]; ok {
					sh.Example = "  " + ex
				}
			}
		}
	}
}

// groupExamples gives each command that only groups others (site, numbers
// pool) the first example of each of its sub-commands, so that every
// command's --help shows one.
func groupExamples(c *cobra.Command) {
	for _, sub := range c.Commands() {
		groupExamples(sub)
	}
	if c.Example != "" || !c.HasSubCommands() {
		return
	}
	var ex []string
	for _, sub := range c.Commands() {
		lines := strings.Split(sub.Example, "\n")
		n := 1
		for n < len(lines) && strings.HasSuffix(lines[n-1], "\\") {
			n++ // a command continued on the next line
		}
		if sub.Example != "" {
			ex = append(ex, lines[:n]...)
		}
	}
	c.Example = strings.Join(ex, "\n")
}

// flagValueError says what a flag of a Go type takes when err is a value
// it refused ("--trust-proxy \"yes\": want true or false"), instead of the
// parser's words ("strconv.ParseBool: parsing \"yes\": invalid syntax"):
// systemd's own settings take yes and no, and a unit's Environment= is
// where a value like that is written. Other errors are returned as they are.
func flagValueError(err error) error {
	var iv *pflag.InvalidValueError
	if !errors.As(err, &iv) {
		return err
	}
	if want := flagWants(iv.GetFlag()); want != "" {
		return fmt.Errorf("--%s %q: want %s", iv.GetFlag().Name, iv.GetValue(), want)
	}
	// Our own types' parsers say what they want: in the same words, the
	// value once, not pflag's `invalid argument "x" for "--f" flag: ...`.
	return fmt.Errorf("--%s %q: %w", iv.GetFlag().Name, iv.GetValue(), iv.Unwrap())
}

// flagWants says what values f takes, for the flags whose parser says it
// in its own terms; "" for the others, whose errors say it themselves.
func flagWants(f *pflag.Flag) string {
	return map[string]string{
		"bool":     "true or false",
		"int":      "a whole number",
		"int64":    "a whole number",
		"uint":     "a whole number, 0 or more",
		"uint64":   "a whole number, 0 or more",
		"duration": "a duration such as 90s, 10m or 720h",
	}[f.Value.Type()]
}

// usageErrors makes every mistake in how c or a command under it is called a
// usageError (exit code 2, with a hint), as the flags' are: cobra reports an
// unknown sub-command, a wrong number of arguments and a missing required
// flag as plain errors, and a command that only groups others, given an
// unknown sub-command (`site lst`), prints its help and exits 0.
func usageErrors(c *cobra.Command) {
	if c.HasSubCommands() && !c.Runnable() {
		c.SuggestionsMinimumDistance = 2
		c.Args = func(c *cobra.Command, args []string) error {
			if len(args) == 0 {
				return nil
			}
			msg := fmt.Sprintf("unknown command %q for %q", args[0], c.CommandPath())
			if s := c.SuggestionsFor(args[0]); len(s) > 0 {
				msg += fmt.Sprintf("; did you mean %q?", s[0])
			}
			return errors.New(msg)
		}
		c.RunE = func(c *cobra.Command, _ []string) error { return c.Help() }
	}
	args := c.Args
	if args == nil {
		args = cobra.ArbitraryArgs
	}
	// A command that takes no arguments: cobra calls one given it an
	// "unknown command", which it is not, a sub-command being none of its
	// words; it is a value given without its flag, or a flag's value with
	// spaces unquoted.
	none := !c.HasSubCommands() && args(c, nil) == nil && args(c, []string{"x"}) != nil && args(c, []string{"x", "y"}) != nil
	c.Args = func(c *cobra.Command, a []string) error {
		if err := flagAsValue(c); err != nil {
			return usageError{err}
		}
		if none && len(a) > 0 {
			path := strings.TrimPrefix(c.CommandPath(), c.Root().Name()+" ")
			return usageError{fmt.Errorf("%s takes no arguments, only flags; %q is one (a flag's value follows its flag; quote a value with spaces)", path, a[0])}
		}
		if err := args(c, a); err != nil {
			return usageError{err}
		}
		if err := applyEnv(c); err != nil {
			return err
		}
		if err := c.ValidateRequiredFlags(); err != nil {
			return usageError{missingFlags(c, err)}
		}
		// serve says it in its log's format (runServe).
		if f := c.Flags().Lookup("data"); f != nil && c.Name() != "serve" {
			name := "--data " // APPLIANCE_DATA=… when it came from there
			if fromEnv(c, "data") {
				name = envName("data") + "="
			}
			if err := checkDataFlag(name, f.Value.String()); err != nil {
				return err
			}
		}
		return nil
	}
	for _, sub := range c.Commands() {
		usageErrors(sub)
	}
}

// missingFlags is cobra's refusal err of c's required flags not given
// ("required flag(s) \"domain\", \"name\" not set") in the words of a
// missing argument's ("site add needs --domain and --name").
func missingFlags(c *cobra.Command, err error) error {
	var missing []string
	c.Flags().VisitAll(func(f *pflag.Flag) {
		if req := f.Annotations[cobra.BashCompOneRequiredFlag]; len(req) > 0 && req[0] == "true" && !f.Changed {
			missing = append(missing, "--"+f.Name)
		}
	})
	if len(missing) == 0 {
		return err
	}
	path := strings.TrimPrefix(c.CommandPath(), c.Root().Name()+" ")
	last := len(missing) - 1
	list := missing[last]
	if last > 0 {
		list = strings.Join(missing[:last], ", ") + " and " + list
	}
	return fmt.Errorf("%s needs %s", path, list)
}

// checkDataFlag refuses a --data that is a file, or below one, which no
// command can use as its data directory: said as such, before serve or
// restore would fail to make it ("mkdir d: not a directory") and the
// others would call it a directory with no store in it. A failure (1), as
// README says of "a --data it cannot open", not a usage error. name is
// how the value was given: "--data " or "APPLIANCE_DATA=".
func checkDataFlag(name, dir string) error {
	st, err := os.Stat(dir)
	if err == nil && !st.IsDir() {
		return fmt.Errorf("%s%s is a file, not a directory: give --data the directory of the store (serve makes it where there is none)", name, dir)
	}
	if errors.Is(err, syscall.ENOTDIR) {
		for at, p := dir, filepath.Dir(dir); p != at && p != "."; at, p = p, filepath.Dir(p) {
			if st, err := os.Stat(p); err == nil && !st.IsDir() {
				return fmt.Errorf("%s%s: %s is a file, not a directory: give --data the directory of the store", name, dir, p)
			}
		}
	}
	return nil
}

// flagAsValue refuses a flag of c whose value, on the command line, is
// another of c's flags: its own value left out (--site --number N takes
// "--number" for the site key, and N is then an argument).
func flagAsValue(c *cobra.Command) error {
	var err error
	c.Flags().VisitAll(func(f *pflag.Flag) {
		v, ok := strings.CutPrefix(f.Value.String(), "--")
		if err != nil || !f.Changed || f.Value.Type() != "string" || !ok {
			return
		}
		name, _, _ := strings.Cut(v, "=")
		if c.Flags().Lookup(name) != nil {
			err = fmt.Errorf("--%s is given no value: %q, which follows it, is a flag; give --%s its value first", f.Name, "--"+v, f.Name)
		}
	})
	return err
}

// exactArgs is cobra.ExactArgs(n) saying what the command takes, from its
// Use ("passwd EMAIL": "user passwd needs EMAIL"), rather than how many.
func exactArgs(n int) cobra.PositionalArgs {
	return func(c *cobra.Command, args []string) error {
		if len(args) == n {
			return nil
		}
		_, want, _ := strings.Cut(c.Use, " ")
		path := strings.TrimPrefix(c.CommandPath(), c.Root().Name()+" ")
		if len(args) < n {
			return fmt.Errorf("%s needs %s", path, want)
		}
		return fmt.Errorf("%s takes only %s; %q is one too many (quote a value with spaces)", path, want, args[n])
	}
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
			o.Listen = acmeListen(c, o)
			ignored, err := orphanFlags(c, map[string]bool{"acme-domain": len(o.ACME.Domains) > 0, "export": o.Export.URL != "",
				"smtp": o.SMTP != "", "metrics-token": o.MetricsToken != ""})
			if err != nil {
				return err
			}
			o.Ignored = ignored
			if o.SMTP == "" {
				o.SMTPFrom = "" // from the environment alone: ignored, as said
			}
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
	f.IntVar(&o.MaxConns, "max-conns", 0, "most simultaneous HTTP connections, a quarter of them (at most 512) from one client IP unless --trust-proxy; 0: from the open file limit (env APPLIANCE_MAX_CONNS)")
	outboundFlags(cmd, &o.Outbound, "")
	f.StringVar(&o.PhoneRegion, "phone-region", numbers.DefaultRegion, "country whose numbers visitors and you may write without a country code, e.g. RU (8 912 ...), GB, KZ (env APPLIANCE_PHONE_REGION)")
	trackerLimitFlags(cmd, &o.TrackerLimits)
	logFlags(cmd, &o.Log)
	acmeFlags(cmd, &o.ACME)
	storeFlags(cmd, &o.Store)
	memoryLimitFlag(cmd, &o.MemoryLimit)
	metricsFlags(cmd, &o)
	mailFlags(cmd, &o)
	exportFlags(cmd, &o.Export)
	bindEnv(cmd)
	return cmd
}

// dependentFlags are serve's flags that apply only with another one: the
// certificate authority's with --acme-domain, the event stream's with
// --export, the emails' sender with --smtp, the profiles with the token
// that opens them. Without it they would be ignored.
var dependentFlags = []struct {
	flags []string
	with  string
}{
	{[]string{"acme-email", "acme-directory", "http-listen"}, "acme-domain"},
	{[]string{"export-subject", "export-stream", "export-max-age", "export-max-bytes", "export-dedup-window", "export-backlog"}, "export"},
	{[]string{"smtp-from"}, "smtp"},
	{[]string{"pprof"}, "metrics-token"},
}

// orphanFlags refuses a flag of serve given on the command line without
// the flag it applies with (--acme-email without --acme-domain), which
// would be ignored: a usage error naming the missing flag. on says which
// of those are given (with a value that turns them on). A flag given only
// through its APPLIANCE_* variable is not refused, as an environment file
// several commands or servers share may set it: ignored says which
// variables are ignored and why, for serve's log.
func orphanFlags(c *cobra.Command, on map[string]bool) (ignored string, err error) {
	var why []string
	for _, d := range dependentFlags {
		if on[d.with] {
			continue
		}
		var given, env []string
		for _, name := range d.flags {
			f := c.Flags().Lookup(name)
			switch {
			case !f.Changed, f.Value.Type() == "bool" && f.Value.String() == "false":
				// Not given, or given off (--pprof=false): nothing ignored.
			case fromEnv(c, name):
				env = append(env, envName(name))
			default:
				given = append(given, "--"+name)
			}
		}
		if len(given) > 0 {
			return "", usageError{fmt.Errorf("serve: %s %s only with --%s, which is not given: add --%s, or leave out %s",
				strings.Join(given, ", "), applies(given), d.with, d.with, strings.Join(given, ", "))}
		}
		if len(env) > 0 {
			why = append(why, fmt.Sprintf("%s %s only with --%s (%s), which is not set", strings.Join(env, ", "), applies(env), d.with, envName(d.with)))
		}
	}
	return strings.Join(why, "; "), nil
}

// applies is the verb of names: "applies" for one, "apply" for more.
func applies(names []string) string {
	if len(names) == 1 {
		return "applies"
	}
	return "apply"
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
	cmd.Flags().BoolVar(&o.LowPriority, "low-priority", true, "while a server runs, receive and check the archive at the lowest CPU priority (nice 19), leaving the CPU to the traffic; false: at this command's priority")
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
	cmd.Flags().BoolVar(&o.Force, "force", false, "replace the store already in --data: all its sites, users, tokens, numbers, leads and visits")
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
	addCmd.Flags().StringVar(&add.PhoneRegion, "phone-region", "", "country whose numbers the site's visitors write without a country code, e.g. KZ (default: the server's --phone-region)")
	addCmd.Flags().StringVar(&add.TimeZone, "time-zone", "", "IANA time zone of the site's days and hours in reports, e.g. Europe/Moscow (default: the server's zone)")
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
			"from the site's domains and their sub-domains. --time-zone sets the IANA zone of the site's days\n" +
			"and hours in reports (\"\" for the server's zone); run `appliance reports rebuild --site KEY`\n" +
			"after it to move the days already counted into the new zone.",
		Example: `  appliance site set --site KEY --any-origin=true
  appliance site set --site KEY --time-zone Europe/Moscow
  appliance site set --site KEY --phone-region KZ
  appliance site set --site KEY --name "My shop" --domain shop.example.com,shop.example.org`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			o := set
			if !c.Flags().Changed("any-origin") {
				o.AnyOrigin = nil
			}
			if !c.Flags().Changed("time-zone") {
				o.TimeZone = nil
			}
			if !c.Flags().Changed("name") {
				o.Name = nil
			}
			if !c.Flags().Changed("phone-region") {
				o.PhoneRegion = nil
			}
			if !c.Flags().Changed("retention-days") {
				o.RetentionDays = nil
			}
			if !c.Flags().Changed("domain") {
				o.Domains = nil
			}
			if o.AnyOrigin == nil && o.TimeZone == nil && o.Name == nil && o.Domains == nil && o.PhoneRegion == nil && o.RetentionDays == nil {
				return usageError{errors.New("site set: give --name, --domain, --phone-region, --retention-days N, --any-origin=true|false or --time-zone ZONE")}
			}
			return runSiteSet(c.Context(), o, stdout)
		},
	}
	dataFlag(setCmd, &set.Data)
	setCmd.Flags().StringVar(&set.Site, "site", "", "site key (required)")
	set.AnyOrigin, set.TimeZone, set.Name, set.Domains, set.PhoneRegion = new(bool), new(string), new(string), new([]string), new(string)
	set.RetentionDays = new(int)
	setCmd.Flags().IntVar(set.RetentionDays, "retention-days", 0, "days the site's sessions, page views and events are kept before the hourly sweep deletes them (reports keep their totals); 0: for ever")
	setCmd.Flags().StringVar(set.PhoneRegion, "phone-region", "", "country whose numbers the site's visitors write without a country code, e.g. KZ (\"\": the server's --phone-region)")
	setCmd.Flags().StringVar(set.Name, "name", "", "the site's name")
	setCmd.Flags().StringSliceVar(set.Domains, "domain", nil, "the site's domains, replacing the ones it has; repeat or comma-separate")
	setCmd.Flags().BoolVar(set.AnyOrigin, "any-origin", false, "take page views from pages on any domain: true or false")
	setCmd.Flags().StringVar(set.TimeZone, "time-zone", "", "IANA time zone of the site's days and hours, e.g. Europe/Moscow (\"\": the server's zone)")
	_ = setCmd.MarkFlagRequired("site")
	bindEnv(setCmd)
	cmd.AddCommand(addCmd, listCmd, setCmd, siteNumbersCmd(stdout), siteRemoveCmd(stdout))
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
		Args: exactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			add.Email = args[0]
			return runUserAdd(c.Context(), add, c.InOrStdin(), stdout)
		},
	}
	dataFlag(addCmd, &add.Data)
	addCmd.Flags().StringVar(&add.Role, "role", "", "owner, manager (all but users and tokens) or operator (callbacks and the chat console); default: owner for the first user, else operator")
	bindEnv(addCmd)

	var pw UserOptions
	pwCmd := &cobra.Command{
		Use:     "passwd EMAIL",
		Short:   "Set a user's password, read from stdin or prompted; signs the user out everywhere",
		Example: `  appliance user passwd owner@example.com`,
		Args:    exactArgs(1),
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
		Args:    exactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			out.Email = args[0]
			return runUserLogout(c.Context(), out, stdout)
		},
	}
	dataFlag(logoutCmd, &out.Data)
	bindEnv(logoutCmd)
	cmd.AddCommand(addCmd, pwCmd, logoutCmd)
	cmd.AddCommand(userTeamCmds(stdout)...)
	return cmd
}

func tokenCmd(stdout io.Writer) *cobra.Command {
	cmd := &cobra.Command{Use: "token", Short: "Make API tokens for /api/v1"}
	var o TokenOptions
	addCmd := &cobra.Command{
		Use:   "add",
		Short: "Make an API token and print it (shown once)",
		Example: `  appliance token add --name pbx --scope calls
  appliance token add --name shop-crm --site KEY1,KEY2 --scope leads:read,leads:write
  appliance token add --name anna-bridge --user anna@example.com`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error { return runTokenAdd(c.Context(), o, stdout) },
	}
	dataFlag(addCmd, &o.Data)
	addCmd.Flags().StringVar(&o.Name, "name", "", "what the token is for (required)")
	addCmd.Flags().StringSliceVar(&o.Sites, "site", nil, "key of a site the token may use; repeat or comma-separate (default: every site)")
	addCmd.Flags().StringSliceVar(&o.Scopes, "scope", nil, "what the token may do: "+strings.Join(httpd.APIScopes(), ", ")+"; repeat or comma-separate (default: all of it; README: API tokens)")
	addCmd.Flags().StringVar(&o.User, "user", "", "email of a user the token acts as in the chat's operator API (default: an operator named --name)")
	_ = addCmd.MarkFlagRequired("name")
	bindEnv(addCmd)
	cmd.AddCommand(addCmd)
	cmd.AddCommand(tokenTeamCmds(stdout)...)
	return cmd
}

func webhookCmd(stdout io.Writer) *cobra.Command {
	cmd := &cobra.Command{Use: "webhook", Short: "Send a site's leads, callbacks, calls and chats to your CRM or PBX as signed JSON (README: Webhooks)"}
	var add WebhookAddOptions
	addCmd := &cobra.Command{
		Use:   "add",
		Short: "Add a webhook endpoint to a site and print its secret (shown once)",
		Example: `  appliance webhook add --site KEY --url https://crm.example.com/hooks/appliance
  appliance webhook add --site KEY --url https://pbx.example.com/cb --events lead,callback --secret "$SECRET"
  appliance webhook add --site KEY --url mailto:owner@shop.example,sales@shop.example --events lead,callback
  appliance webhook add --site KEY --url telegram:-1001234567890 --secret "$BOT_TOKEN" --events lead,callback`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error { return runWebhookAdd(c.Context(), add, stdout) },
	}
	dataFlag(addCmd, &add.Data)
	siteFlag(addCmd, &add.Site)
	addCmd.Flags().StringVar(&add.URL, "url", "", "http(s) URL that receives the POSTs; mailto:ADDRESS[,ADDRESS][?lang=en] for emails through serve's --smtp; telegram:CHAT_ID[?lang=en] for a bot's messages, with --secret BOT_TOKEN (required)")
	addCmd.Flags().StringSliceVar(&add.Events, "events", []string{"lead"}, "event kinds: lead, callback, call, chat")
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
	var ch WebhookChangeOptions
	chCmd := &cobra.Command{
		Use:   "change",
		Short: "Change a webhook endpoint's URL, secret or events; what it has still to deliver follows",
		Example: `  appliance webhook change --site KEY --id 42 --url https://crm2.example.com/hooks/appliance
  appliance webhook change --site KEY --id 42 --secret "$NEW_SECRET"`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error { return runWebhookChange(c.Context(), ch, stdout) },
	}
	dataFlag(chCmd, &ch.Data)
	siteFlag(chCmd, &ch.Site)
	chCmd.Flags().Uint64Var(&ch.ID, "id", 0, "endpoint id, from webhook list (required)")
	chCmd.Flags().StringVar(&ch.URL, "url", "", "new http(s) URL; empty: keep")
	chCmd.Flags().StringSliceVar(&ch.Events, "events", nil, "new event kinds: lead, callback, call, chat; none: keep")
	chCmd.Flags().StringVar(&ch.Secret, "secret", "", "new signing secret; empty: keep")
	outboundFlags(chCmd, &ch.Outbound, whenNoServer)
	_ = chCmd.MarkFlagRequired("id")
	bindEnv(chCmd)
	cmd.AddCommand(addCmd, listCmd, rmCmd, chCmd)
	return cmd
}

func versionCmd(stdout io.Writer) *cobra.Command {
	return &cobra.Command{
		Use:     "version",
		Short:   "Print the version, the commit it was built from and the Go release",
		Example: `  appliance version`,
		Args:    cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			fmt.Fprintln(stdout, "appliance", fullVersion())
			return nil
		},
	}
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
	paCmd.Flags().IntVar(&pa.AddrCap, "addr-cap", numbers.DefaultAddrCap, "most numbers visitors from one IP address (IPv6: one /64) hold at once, so that one address cannot drain the pool; 0: no cap")
	_ = paCmd.MarkFlagRequired("name")
	_ = paCmd.MarkFlagRequired("numbers")
	ruleFlags(paCmd, &pa.Rule, &pa.Priority, &pa.Replaces)
	bindEnv(paCmd)
	var pr PoolOptions
	prCmd := &cobra.Command{
		Use:     "remove",
		Short:   "Remove a pool (its numbers' leases end; calls made while they were leased are still attributed)",
		Example: `  appliance numbers pool remove --site KEY --name ads`,
		Args:    cobra.NoArgs,
		RunE:    func(c *cobra.Command, _ []string) error { return runPoolRemove(c.Context(), pr, stdout) },
	}
	dataFlag(prCmd, &pr.Data)
	siteFlag(prCmd, &pr.Site)
	prCmd.Flags().StringVar(&pr.Name, "name", "", "pool name (required)")
	_ = prCmd.MarkFlagRequired("name")
	bindEnv(prCmd)
	var pe PoolOptions
	peCmd := &cobra.Command{
		Use:   "edit",
		Short: "Change a dynamic pool: the settings given change, the others stay",
		Example: `  appliance numbers pool edit --site KEY --name ads --reserve 30m --addr-cap 0
  appliance numbers pool edit --site KEY --name ads --rename cpc --rule 'utm_medium=cpc' --priority 5`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			return runPoolEdit(c.Context(), pe, c.Flags().Changed, stdout)
		},
	}
	dataFlag(peCmd, &pe.Data)
	siteFlag(peCmd, &pe.Site)
	peCmd.Flags().StringVar(&pe.Name, "name", "", "the pool's name (required)")
	peCmd.Flags().StringVar(&pe.Rename, "rename", "", "its new name")
	peCmd.Flags().StringSliceVar(&pe.Numbers, "numbers", nil, "its numbers, comma-separated or repeated: replaces the list (numbers import adds to it)")
	peCmd.Flags().StringVar(&pe.Fallback, "fallback", "", "number shown when every number is leased; '': the site's own")
	peCmd.Flags().StringVar(&pe.Reserve, "reserve", "", "how long a number stays a visitor's after their last activity: 5m to 7d")
	peCmd.Flags().IntVar(&pe.AddrCap, "addr-cap", 0, "most numbers visitors from one IP address (IPv6: one /64) hold at once; 0: no cap")
	_ = peCmd.MarkFlagRequired("name")
	peCmd.Flags().StringVar(&pe.Rule, "rule", "", "which visits (as numbers pool add's --rule); '': all")
	peCmd.Flags().Int64Var(&pe.Priority, "priority", 0, "higher wins over other matching rules; then the rule with more terms")
	peCmd.Flags().StringSliceVar(&pe.Replaces, "replaces", nil, "site numbers it stands in for; '': all")
	bindEnv(peCmd)
	pool.AddCommand(paCmd, peCmd, prCmd)

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

func callbackCmd(stdout io.Writer) *cobra.Command {
	cmd := &cobra.Command{Use: "callback", Short: "Set up callbacks (sitephone): the PBX scenario, captcha, widget language and groups"}
	var o CallbackSetOptions
	var webhook, secret, lang, groups string
	var digits int
	setCmd := &cobra.Command{
		Use:   "set",
		Short: "Set a site's callback scenario (a signed webhook the PBX acts on) and widget settings, and print them",
		Example: `  appliance callback set --site KEY --webhook https://pbx.example.com/callback
  appliance callback set --site KEY --webhook https://pbx.example.com/callback --secret "$SECRET" --captcha on
  appliance callback set --site KEY --captcha on --captcha-digits 6
  appliance callback set --site KEY --lang ru --groups "16587 Sales; 16588 Support"
  appliance callback set --site KEY --webhook ""    # no scenario: kept to call back, "we'll call you back" (status 0)
  appliance callback set --site KEY --queue off     # without a scenario visitors are told it is not set up (status 2)`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			f := c.Flags()
			for name, dst := range map[string]**string{"webhook": &o.Webhook, "secret": &o.Secret, "lang": &o.Lang, "groups": &o.Groups} {
				if f.Changed(name) {
					v, _ := f.GetString(name)
					*dst = &v
				}
			}
			if f.Changed("captcha-digits") {
				o.CaptchaDigits = &digits
			}
			if o.Webhook == nil && o.Secret == nil && o.Captcha == "" && o.CaptchaDigits == nil && o.Lang == nil && o.Groups == nil && o.Queue == "" {
				return usageError{fmt.Errorf("callback set: give at least one of --webhook, --secret, --captcha, --captcha-digits, --lang, --groups, --queue")}
			}
			return runCallbackSet(c.Context(), o, stdout)
		},
	}
	dataFlag(setCmd, &o.Data)
	siteFlag(setCmd, &o.Site)
	fl := setCmd.Flags()
	fl.StringVar(&webhook, "webhook", "", `http(s) URL of the callback scenario; "" removes it`)
	fl.StringVar(&secret, "secret", "", "signing secret of the scenario; default: keep it, or generate one")
	fl.StringVar(&o.Captcha, "captcha", "", "require a captcha for callbacks: on or off")
	fl.StringVar(&o.Queue, "queue", "", "without a scenario, keep callbacks to call back and tell the visitor so: on (the default) or off")
	fl.IntVar(&digits, "captcha-digits", 4, "digits in the captcha: 4 or 6")
	fl.StringVar(&lang, "lang", "", "language of the built-in widgets: ru, en or auto (the visitor's browser)")
	fl.StringVar(&groups, "groups", "", `groups the callback panel offers, "ID NAME" separated by ";"`)
	outboundFlags(setCmd, &o.Outbound, whenNoServer)
	bindEnv(setCmd)
	cmd.AddCommand(setCmd)
	return cmd
}

// The Options of each command and the function it runs.

// ServeOptions are the flags of `appliance serve`.
type ServeOptions struct {
	MemoryLimit  byteSize // the Go runtime's soft memory limit; 0: DefaultMemoryLimit, raised to follow the live heap
	Data         string
	Listen       string
	PublicURL    string
	TLSCert      string
	TLSKey       string
	TrustProxy   bool
	MetricsToken string
	MaxConns     int // 0: from the open file limit
	Version      string
	Outbound     OutboundOptions
	PhoneRegion  string // where a phone number without a country code is read: RU, GB, ...
	// TrackerLimits are the tracker's rate limits (zero: the defaults).
	TrackerLimits httpd.TrackerLimits
	Log           LogOptions
	ACME          ACMEFlags
	Store         StoreOptions
	Pprof         bool // /debug/pprof for bearers of MetricsToken
	Export        ExportOptions
	SMTP          string // the SMTP server's URL; "": no emails (notifications, resets, invites)
	SMTPFrom      string
	// Ignored says which APPLIANCE_* variables serve ignores and why (set
	// without the setting they go with, orphanFlags); its log warns of it
	// at start.
	Ignored string
}

// runServe checks the flags and runs the server (httpd.Run) until ctx
// ends; ready, when set, is called with the bound address.
func runServe(ctx context.Context, o ServeOptions, stdout io.Writer, ready func(addr string)) error {
	policy, err := o.Outbound.policy()
	if err != nil {
		return commandRefusal("serve", err)
	}
	region := strings.ToUpper(strings.TrimSpace(o.PhoneRegion))
	if region == "" {
		region = numbers.DefaultRegion
	}
	if err := numbers.CheckRegion(region); err != nil {
		return usageError{fmt.Errorf("serve: --phone-region: %w", err)}
	}
	opts := httpd.Options{
		ExportBacklog: o.Export.Backlog,
		Listen:        o.Listen, PublicURL: o.PublicURL, TLSCert: o.TLSCert, TLSKey: o.TLSKey,
		TrustProxy: o.TrustProxy, MetricsToken: o.MetricsToken, Version: o.Version, Stdout: stdout,
		MaxConns:  o.MaxConns,
		CacheSize: int64(o.Store.CacheSize), BackupRate: int64(o.Store.BackupRate), L0Compaction: o.Store.L0Compaction,
		NotifySocket: os.Getenv("NOTIFY_SOCKET"), ACME: o.ACME.options(),
		Webhooks: webhooks.Options{Policy: policy}, PhoneRegion: region,
		Limits: o.TrackerLimits, Pprof: o.Pprof, Mail: notice.Options{URL: o.SMTP, From: o.SMTPFrom},
	}
	// A flag given wrongly is refused before a store is made in --data.
	if err := opts.Check(); err != nil {
		return usageError{err}
	}
	log, err := o.Log.logger(os.Stderr)
	if err != nil {
		return commandRefusal("serve", err)
	}
	exp, err := o.Export.options()
	if err != nil {
		return commandRefusal("serve", err)
	}
	if o.Ignored != "" {
		log.Warn("environment variables ignored", "why", o.Ignored)
	}
	// SIGHUP reads the TLS certificate files again (systemctl reload).
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	tuneCAllocator()
	if !o.Pprof {
		// Nothing reads the heap profile: the runtime need not sample
		// allocations into it (its stacks' buckets are memory beside
		// the heap, ~1.5 MB at load, which the budget counts).
		runtime.MemProfileRate = 0
	}
	limit, auto := setMemoryLimit(o.MemoryLimit)
	if auto {
		go followLiveHeap(ctx, limit)
	}
	resumeGC := pauseGC(limit)
	defer resumeGC()
	serving := func(addr string) {
		resumeGC()
		if ready != nil {
			ready(addr)
		}
	}
	opts.Export, opts.Log, opts.Reload = exp, log, hup
	if err := checkDataFlag("--data ", o.Data); err != nil {
		return o.Log.failed(fmt.Errorf("serve: %w", err))
	}
	return o.Log.failed(httpd.Run(ctx, o.Data, opts, serving))
}

// BackupOptions are the flags of `appliance backup`.
type BackupOptions struct {
	Data        string
	Output      string
	LowPriority bool
}

// runBackup streams the archive from the server (or the store) to the
// output and verifies it on the way; a file output appears only complete.
func runBackup(ctx context.Context, o BackupOptions, stdout io.Writer) error {
	if o.Output == "-" && isTerminal(stdout) {
		// A tar archive is binary: on a terminal it is garbage, and lost.
		return usageError{errors.New("backup -o - writes the archive to stdout, which is a terminal here: redirect it (appliance backup -o - > backup.tar) or pipe it (appliance backup -o - | gzip > backup.tar.gz), or give -o a file")}
	}
	if o.Output != "-" {
		dir := filepath.Dir(o.Output)
		if st, err := os.Stat(dir); err != nil || !st.IsDir() {
			return fmt.Errorf("backup: the folder %q for %s does not exist; create it first", dir, o.Output)
		}
		// Said before the archive is made, not after it was, by the
		// rename that would put it there. A folder, or a file in the
		// store's, is a value -o cannot take: a usage error, exit 2, as
		// -o - on a terminal is.
		if st, err := os.Stat(o.Output); err == nil && st.IsDir() {
			return usageError{fmt.Errorf("backup: -o %s is a folder; give a file in it (appliance backup -o %s)", o.Output, filepath.Join(o.Output, "backup.tar"))}
		}
		// Not among the store's own files, which a restore replaces
		// whole (the archive with them).
		if db := filepath.Join(o.Data, store.DBDir); within(o.Output, db) {
			return usageError{fmt.Errorf("backup: -o %s is inside the store's folder %s, which a restore replaces; put the archive outside it", o.Output, db)}
		}
	}
	err := withAdmin(ctx, o.Data, webhooks.Policy{}, "backup", func(c *admin.Client) error {
		if o.LowPriority && c.Remote() {
			// Background work beside a serving store: the server reads
			// the store at its lowest priority, and so does this side.
			backgroundPriority()
		}
		body, err := c.Backup(ctx)
		if err != nil {
			return fmt.Errorf("backup: %w", err)
		}
		defer body.Close()
		var p *progress
		if o.Output != "-" {
			// A spinner until the manifest, which follows the server's
			// check of the store's files, gives the archive's size.
			p = newProgress(stdout, "backup", -1, "bytes")
		}
		n, err := store.SaveArchive(p.Reader(body), o.Output, stdout, p.SetTotal)
		p.Done()
		if err != nil {
			return fmt.Errorf("backup: %w", err)
		}
		// On stderr: stdout may be the archive (-o -).
		if o.Output == "-" {
			fmt.Fprintf(os.Stderr, "backup: wrote %d bytes to stdout (verified)\n", n)
		} else {
			fmt.Fprintf(os.Stderr, "backup: wrote %s (%d bytes, verified)\n", o.Output, n)
		}
		return nil
	})
	if errors.Is(err, store.ErrDiskFull) {
		// The server is stopped (a serving one answers the backup) and the
		// store will not open on a full disk: the way out is the copy one
		// takes to move it to a larger disk, and a stopped store's files
		// are such a copy.
		return fmt.Errorf("%w\nbackup: with the server stopped, its data directory is itself a consistent copy: copy it as it is to another disk (cp -a %s /mnt/larger/), or free space and run backup again", err, o.Data)
	}
	return err
}

// RestoreOptions are the flags of `appliance restore`.
type RestoreOptions struct {
	Data  string
	File  string
	Force bool
}

// runRestore restores under the store's lock (see store.Restore), which
// also tells a paused server, one that no longer answers its socket.
func runRestore(ctx context.Context, o RestoreOptions, stdout io.Writer) error {
	var r io.Reader = os.Stdin
	if o.File == "-" && isTerminal(os.Stdin) {
		// It would wait, silent, for an archive typed in.
		return usageError{errors.New("restore - reads the archive from stdin, which is a terminal here: pipe it in (gunzip -c backup.tar.gz | appliance restore -) or give the archive's file")}
	}
	if o.File != "-" {
		f, err := os.Open(o.File)
		if err != nil {
			return fmt.Errorf("restore: %w", err)
		}
		defer f.Close()
		r = f
	}
	ents, _ := os.ReadDir(filepath.Join(o.Data, store.DBDir))
	replaces := o.Force && len(ents) > 0
	total := int64(-1)
	if f, ok := r.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode().IsRegular() {
			total = st.Size()
		}
	}
	p := newProgress(stdout, "restore", total, "bytes")
	err := store.Restore(bufio.NewReaderSize(p.Reader(interruptible(ctx, r)), 1<<16), o.Data, o.Force)
	p.Done()
	if err != nil {
		if errors.Is(err, store.ErrLocked) {
			return fmt.Errorf("restore: %w", store.InUse(o.Data, err))
		}
		if errors.Is(err, store.ErrNotEmpty) {
			// Refused before the archive is read: the command line as
			// given, not the archive, is what to change (exit 2).
			return usageError{fmt.Errorf("restore: --data %s: %w; add --force to replace it (its sites, users, tokens, numbers, leads and visits), or give --data another directory", o.Data, store.ErrNotEmpty)}
		}
		return err
	}
	from := o.File
	if from == "-" {
		from = "the archive from stdin"
	}
	if replaces {
		fmt.Fprintf(stdout, "restored %s into %s, replacing the store that was there: its sites, users, tokens, numbers, leads and visits are now the archive's\n", from, o.Data)
		return nil
	}
	fmt.Fprintf(stdout, "restored %s into %s\n", from, o.Data)
	return nil
}

// within reports whether path is dir or inside it, both made absolute.
func within(path, dir string) bool {
	p, err1 := filepath.Abs(path)
	d, err2 := filepath.Abs(dir)
	if err1 != nil || err2 != nil {
		return false
	}
	rel, err := filepath.Rel(d, p)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}

// interruptible reads r until ctx ends (SIGINT, SIGTERM), then fails with
// ctx's error: restore then removes what it unpacked and exits 130, also
// while a pipe sends nothing (a stalled download into restore -), where a
// plain read would wait for the pipe. Each read runs aside into a buffer
// of its own, so one still waiting when ctx ends writes into no buffer of
// the caller's.
func interruptible(ctx context.Context, r io.Reader) io.Reader {
	return &ctxReader{ctx: ctx, r: r, done: make(chan ctxRead, 1)}
}

type ctxRead struct {
	n   int
	err error
}

type ctxReader struct {
	ctx  context.Context
	r    io.Reader
	buf  []byte
	done chan ctxRead
}

func (c *ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	if cap(c.buf) < len(p) {
		c.buf = make([]byte, len(p))
	}
	buf, r := c.buf[:len(p)], c.r
	go func() {
		n, err := r.Read(buf)
		c.done <- ctxRead{n, err}
	}()
	select {
	case got := <-c.done:
		return copy(p, buf[:got.n]), got.err
	case <-c.ctx.Done():
		return 0, c.ctx.Err() // and no read after this one: ctx.Err() first
	}
}

// AdminOptions locate the data directory.
type AdminOptions struct{ Data string }

// SiteAddOptions are the flags of `appliance site add`.
type SiteAddOptions struct {
	Data        string
	Name        string
	Domains     []string
	AnyOrigin   bool
	TimeZone    string
	PhoneRegion string
}

func runSiteAdd(ctx context.Context, o SiteAddOptions, stdout io.Writer) error {
	return adminCall(ctx, o.Data, "site add", func(c *admin.Client) (admin.Site, error) {
		return c.AddSite(ctx, admin.AddSite{Name: o.Name, Domains: o.Domains, AnyOrigin: o.AnyOrigin, TimeZone: o.TimeZone, PhoneRegion: o.PhoneRegion})
	}, func(s admin.Site) { admin.PrintSiteAdded(stdout, s) })
}

// SiteSetOptions are the flags of `appliance site set`: a nil setting is
// left as it is.
type SiteSetOptions struct {
	Data      string
	Site      string
	AnyOrigin *bool
	TimeZone  *string
	Name      *string
	Domains   *[]string
	// PhoneRegion: a two-letter country code, "" for the server's.
	PhoneRegion *string
	// RetentionDays: days raw visits are kept, 0 for ever.
	RetentionDays *int
}

func runSiteSet(ctx context.Context, o SiteSetOptions, stdout io.Writer) error {
	if d := o.RetentionDays; d != nil && (*d < 0 || *d > sites.MaxRetentionDays) {
		// A value the flag cannot take: a usage error (2), said before
		// anything is changed (the other flags given with it included).
		return usageError{fmt.Errorf("site set: --retention-days is a whole number of days from 0 (keep for ever) to %d, not %d", sites.MaxRetentionDays, *d)}
	}
	if o.TimeZone != nil {
		// The server's rule, checked before --name and the others given
		// with it change the site (the zone is set by a call of its own,
		// after them).
		if _, err := sites.ParseTimeZone(*o.TimeZone); err != nil {
			return usageError{fmt.Errorf("site set: %s", usererr.UserMessage(err))}
		}
	}
	return withAdmin(ctx, o.Data, webhooks.Policy{}, "site set", func(c *admin.Client) error {
		if o.Name != nil || o.Domains != nil || o.PhoneRegion != nil || o.RetentionDays != nil {
			s, err := c.EditSite(ctx, admin.EditSite{Site: o.Site, Name: o.Name, Domains: o.Domains, PhoneRegion: o.PhoneRegion, RetentionDays: o.RetentionDays})
			if err != nil {
				return fmt.Errorf("site set: %w", err)
			}
			fmt.Fprintf(stdout, "site %q: domains %s; %s; %s\n", s.Name, strings.Join(s.Domains, ", "), admin.RegionText(s), admin.RetentionText(s))
		}
		if o.AnyOrigin != nil {
			s, err := c.SetOrigin(ctx, admin.SetOrigin{Site: o.Site, AnyOrigin: o.AnyOrigin})
			if err != nil {
				return fmt.Errorf("site set: %w", err)
			}
			admin.PrintOrigin(stdout, s)
		}
		if o.TimeZone != nil {
			s, err := c.SetTimeZone(ctx, admin.SetTimeZone{Site: o.Site, TimeZone: *o.TimeZone})
			if err != nil {
				return fmt.Errorf("site set: %w", err)
			}
			admin.PrintTimeZone(stdout, s)
		}
		return nil
	})
}

func runSiteList(ctx context.Context, o AdminOptions, stdout io.Writer) error {
	return adminCall(ctx, o.Data, "site list", func(c *admin.Client) ([]admin.Site, error) {
		return c.Sites(ctx)
	}, func(list []admin.Site) { admin.PrintSites(stdout, list) })
}

// UserOptions are the flags of `appliance user add|passwd|logout`.
type UserOptions struct {
	Data  string
	Email string
	Role  string
}

// readPassword reads the password for user add and user passwd: on a
// terminal, typed twice without showing it (Ctrl-C gives up); else one line
// of in (a pipe), which must have one.
func readPassword(ctx context.Context, in io.Reader, stdout io.Writer) (string, error) {
	if f, ok := in.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		return typePassword(ctx, int(f.Fd()), stdout)
	}
	// Read through interruptible, so that SIGINT or SIGTERM while a pipe
	// has not written the line yet ends the command (130), as on a
	// terminal.
	line, err := bufio.NewReader(interruptible(ctx, in)).ReadString('\n')
	if errors.Is(err, io.EOF) && line == "" {
		return "", errors.New("no password on stdin: run it on a terminal to type one, or pipe it in (printf '%s\\n' \"$PASSWORD\" | appliance user ...)")
	}
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("read password: %w", err)
	}
	return strings.TrimRight(line, "\r\n"), nil
}

// typePassword asks for the password on the terminal fd with its echo off,
// then for it again; the two must match. The terminal is left as it was,
// also when ctx ends (Ctrl-C) while it waits.
func typePassword(ctx context.Context, fd int, stdout io.Writer) (string, error) {
	state, err := term.GetState(fd)
	if err != nil {
		return "", fmt.Errorf("read password: %w", err)
	}
	if err := echoOff(fd); err != nil {
		return "", fmt.Errorf("read password: %w", err)
	}
	defer term.Restore(fd, state)
	type typed struct {
		pw  []byte
		err error
	}
	read := func(prompt string) (string, error) {
		fmt.Fprint(stdout, prompt)
		got := make(chan typed, 1)
		go func() {
			pw, err := term.ReadPassword(fd)
			got <- typed{pw, err}
		}()
		select {
		case t := <-got:
			fmt.Fprintln(stdout)
			if t.err != nil {
				return "", fmt.Errorf("read password: %w", t.err)
			}
			return string(t.pw), nil
		case <-ctx.Done():
			_ = term.Restore(fd, state)
			fmt.Fprintln(stdout)
			return "", ctx.Err()
		}
	}
	pw, err := read("Password (at least 10 characters): ")
	if err != nil {
		return "", err
	}
	again, err := read("The same password again: ")
	if err != nil {
		return "", err
	}
	if pw != again {
		return "", errors.New("the two passwords typed differ; nothing was changed")
	}
	return pw, nil
}

func runUserAdd(ctx context.Context, o UserOptions, in io.Reader, stdout io.Writer) error {
	if err := httpd.CheckStore(o.Data); err != nil {
		return fmt.Errorf("user add: %w", err)
	}
	pw, err := readPassword(ctx, in, stdout)
	if err != nil {
		return fmt.Errorf("user add: %w", err)
	}
	if err := accounts.PasswordRules(pw); err != nil {
		// The server's rule, checked here: a password read from stdin
		// is input, not a flag (exit 1, not a usage error).
		return fmt.Errorf("user add: %w", err)
	}
	return adminCall(ctx, o.Data, "user add", func(c *admin.Client) (admin.User, error) {
		return c.AddUser(ctx, admin.AddUser{Email: o.Email, Password: pw, Role: o.Role})
	}, func(u admin.User) { fmt.Fprintf(stdout, "user %s added (%s)\n", u.Email, u.Role) })
}

func runUserPasswd(ctx context.Context, o UserOptions, in io.Reader, stdout io.Writer) error {
	if err := httpd.CheckStore(o.Data); err != nil {
		return fmt.Errorf("user passwd: %w", err)
	}
	pw, err := readPassword(ctx, in, stdout)
	if err != nil {
		return fmt.Errorf("user passwd: %w", err)
	}
	if err := accounts.PasswordRules(pw); err != nil {
		// The server's rule, checked here: a password read from stdin
		// is input, not a flag (exit 1, not a usage error).
		return fmt.Errorf("user passwd: %w", err)
	}
	return adminCall(ctx, o.Data, "user passwd", func(c *admin.Client) (admin.User, error) {
		return c.SetPassword(ctx, admin.SetPassword{Email: o.Email, Password: pw})
	}, func(admin.User) {
		fmt.Fprintf(stdout, "password of %s changed; all of their sessions were signed out\n", o.Email)
	})
}

func runUserLogout(ctx context.Context, o UserOptions, stdout io.Writer) error {
	return adminCall(ctx, o.Data, "user logout", func(c *admin.Client) (admin.User, error) {
		return c.Logout(ctx, admin.Logout{Email: o.Email})
	}, func(admin.User) { fmt.Fprintf(stdout, "%s is signed out everywhere\n", o.Email) })
}

// TokenOptions are the flags of `appliance token add`.
type TokenOptions struct {
	Data  string
	Name  string
	Sites []string // site keys; none: every site
	User  string   // the token acts as this user (the chat's operator API)
	// Scopes name what the token may do; none: everything.
	Scopes []string
}

func runTokenAdd(ctx context.Context, o TokenOptions, stdout io.Writer) error {
	return adminCall(ctx, o.Data, "token add", func(c *admin.Client) (admin.Token, error) {
		return c.AddToken(ctx, admin.AddToken{Name: o.Name, Sites: o.Sites, User: o.User, Scopes: o.Scopes})
	}, func(t admin.Token) { admin.PrintToken(stdout, t) })
}

// WebhookAddOptions are the flags of `appliance webhook add`.
type WebhookAddOptions struct {
	Data   string
	Site   string
	URL    string
	Events []string
	Secret string
	// Outbound applies when no server runs; a running server checks the
	// URL with its own.
	Outbound OutboundOptions
}

// WebhookOptions are the flags of `appliance webhook list|remove`.
type WebhookOptions struct {
	Data string
	Site string
	ID   uint64
}

func runWebhookAdd(ctx context.Context, o WebhookAddOptions, stdout io.Writer) error {
	policy, err := o.Outbound.policy()
	if err != nil {
		return err
	}
	return adminCallPolicy(ctx, o.Data, policy, "webhook add", func(c *admin.Client) (admin.Endpoint, error) {
		return c.AddWebhook(ctx, admin.AddWebhook{Site: o.Site, URL: o.URL, Events: o.Events, Secret: o.Secret})
	}, func(ep admin.Endpoint) { admin.PrintWebhookAdded(stdout, ep) })
}

// WebhookChangeOptions are the flags of `appliance webhook change`; what
// is empty is kept.
type WebhookChangeOptions struct {
	Data, Site, URL, Secret string
	ID                      uint64
	Events                  []string
	// Outbound applies when no server runs; a running server checks the
	// URL with its own.
	Outbound OutboundOptions
}

func runWebhookChange(ctx context.Context, o WebhookChangeOptions, stdout io.Writer) error {
	policy, err := o.Outbound.policy()
	if err != nil {
		return err
	}
	return adminCallPolicy(ctx, o.Data, policy, "webhook change", func(c *admin.Client) (admin.Endpoint, error) {
		return c.ChangeWebhook(ctx, admin.ChangeWebhook{Site: o.Site, ID: o.ID, URL: o.URL, Secret: o.Secret, Events: o.Events})
	}, func(ep admin.Endpoint) {
		fmt.Fprintf(stdout, "webhook %d changed: %s (%s); what it has still to deliver goes there\n", ep.ID, ep.URL, strings.Join(ep.Events, ","))
	})
}

func runWebhookList(ctx context.Context, o WebhookOptions, stdout io.Writer) error {
	return adminCall(ctx, o.Data, "webhook list", func(c *admin.Client) ([]admin.Endpoint, error) {
		return c.Webhooks(ctx, o.Site)
	}, func(list []admin.Endpoint) { admin.PrintWebhooks(stdout, o.Site, list) })
}

func runWebhookRemove(ctx context.Context, o WebhookOptions, stdout io.Writer) error {
	return adminCall(ctx, o.Data, "webhook remove", func(c *admin.Client) (admin.Removed, error) {
		return c.RemoveWebhook(ctx, admin.RemoveWebhook{Site: o.Site, ID: o.ID})
	}, func(admin.Removed) { fmt.Fprintf(stdout, "webhook %d removed\n", o.ID) })
}

// CallbackSetOptions are the flags of `appliance callback set`; a nil
// field was not given and keeps its value.
type CallbackSetOptions struct {
	Data    string
	Site    string
	Webhook *string
	Secret  *string
	Captcha string // "on", "off", or "" to keep
	Queue   string // "on", "off", or "" to keep
	// CaptchaDigits is 4 or 6.
	CaptchaDigits *int
	Lang          *string
	Groups        *string
	// Outbound applies when no server runs; a running server checks the
	// URL with its own.
	Outbound OutboundOptions
}

func runCallbackSet(ctx context.Context, o CallbackSetOptions, stdout io.Writer) error {
	if o.Captcha != "" && o.Captcha != "on" && o.Captcha != "off" {
		return usageError{fmt.Errorf("callback set: --captcha is on or off, not %q", o.Captcha)}
	}
	if o.Queue != "" && o.Queue != "on" && o.Queue != "off" {
		return usageError{fmt.Errorf("callback set: --queue is on or off, not %q", o.Queue)}
	}
	if o.Lang != nil {
		// As the server reads it (callbacks.Settings): a value the flag
		// cannot take is a usage error (2), as --captcha-digits's is.
		if _, ok := callbacks.ReadLang(*o.Lang); !ok {
			return usageError{fmt.Errorf("callback set: --lang is ru, en or auto (the visitor's browser), not %q", *o.Lang)}
		}
	}
	if o.CaptchaDigits != nil && *o.CaptchaDigits != 4 && *o.CaptchaDigits != 6 {
		return usageError{fmt.Errorf("callback set: --captcha-digits is 4 or 6, not %d", *o.CaptchaDigits)}
	}
	policy, err := o.Outbound.policy()
	if err != nil {
		return err
	}
	return adminCallPolicy(ctx, o.Data, policy, "callback set", func(c *admin.Client) (admin.CallbackSettings, error) {
		return c.SetCallbacks(ctx, admin.SetCallbacks{Site: o.Site, Webhook: o.Webhook, Secret: o.Secret,
			Captcha: o.Captcha, CaptchaDigits: o.CaptchaDigits, Lang: o.Lang, Groups: o.Groups, Queue: o.Queue})
	}, func(info admin.CallbackSettings) { admin.PrintCallbackSettings(stdout, info) })
}

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
	return adminCall(ctx, o.Data, "site numbers", func(c *admin.Client) (admin.Numbers, error) {
		return c.SetSiteNumbers(ctx, in)
	}, func(info admin.Numbers) { admin.PrintSiteNumbers(stdout, info) })
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
	type added struct {
		st   admin.Static
		info admin.Numbers
	}
	return adminCall(ctx, o.Data, "numbers static add", func(c *admin.Client) (added, error) {
		st, err := c.AddStatic(ctx, admin.AddStatic{Site: o.Site, Number: o.Number,
			Match: admin.Match{Rule: o.Rule, Priority: o.Priority, Replaces: o.Replaces}})
		if err != nil {
			return added{}, err
		}
		info, err := c.Numbers(ctx, o.Site)
		return added{st, info}, err
	}, func(a added) {
		admin.PrintStaticAdded(stdout, a.st)
		admin.PrintNoSiteNumbers(stdout, a.info)
	})
}

func runStaticRemove(ctx context.Context, o StaticOptions, stdout io.Writer) error {
	return adminCall(ctx, o.Data, "numbers static remove", func(c *admin.Client) (struct{}, error) {
		return struct{}{}, c.RemoveStatic(ctx, admin.RemoveStatic{Site: o.Site, Number: o.Number})
	}, func(struct{}) { fmt.Fprintf(stdout, "static number %s removed\n", o.Number) })
}

// PoolOptions are the flags of `appliance numbers pool add|remove`.
type PoolOptions struct {
	Data     string
	Site     string
	Name     string
	Rename   string // edit's
	Numbers  []string
	Fallback string
	Reserve  string
	AddrCap  int
	Rule     string
	Priority int64
	Replaces []string
}

func runPoolAdd(ctx context.Context, o PoolOptions, stdout io.Writer) error {
	type added struct {
		p    admin.Pool
		info admin.Numbers
	}
	return adminCall(ctx, o.Data, "numbers pool add", func(c *admin.Client) (added, error) {
		p, err := c.AddPool(ctx, admin.PoolRequest{Site: o.Site, Name: o.Name, Numbers: o.Numbers, Fallback: o.Fallback,
			Reserve: o.Reserve, AddrCap: &o.AddrCap, Match: admin.Match{Rule: o.Rule, Priority: o.Priority, Replaces: o.Replaces}})
		if err != nil {
			return added{}, err
		}
		info, err := c.Numbers(ctx, o.Site)
		return added{p, info}, err
	}, func(a added) {
		admin.PrintPoolAdded(stdout, a.p)
		admin.PrintNoSiteNumbers(stdout, a.info)
	})
}

// runPoolEdit changes the settings of pool o.Name whose flags were given
// (changed reports which): the others are read from the pool as it is
// and sent back unchanged.
func runPoolEdit(ctx context.Context, o PoolOptions, changed func(flag string) bool, stdout io.Writer) error {
	return adminCall(ctx, o.Data, "numbers pool edit", func(c *admin.Client) (admin.Pool, error) {
		info, err := c.Numbers(ctx, o.Site)
		if err != nil {
			return admin.Pool{}, err
		}
		i := slices.IndexFunc(info.Pools, func(p admin.Pool) bool { return p.Name == o.Name })
		if i < 0 {
			// Not there: a failure (1), as numbers pool remove's is.
			return admin.Pool{}, errors.New(admin.NoPool(o.Site, o.Name, true))
		}
		p := info.Pools[i]
		addrCap := int(p.AddrCap)
		in := admin.PoolRequest{Site: o.Site, Name: p.Name, Numbers: p.Numbers, Fallback: p.Fallback, Reserve: p.Reserve,
			AddrCap: &addrCap, Match: p.Match}
		if changed("rename") {
			in.Rename = o.Rename
		}
		if changed("numbers") {
			in.Numbers = o.Numbers
		}
		if changed("fallback") {
			in.Fallback = o.Fallback
		}
		if changed("reserve") {
			in.Reserve = o.Reserve
		}
		if changed("addr-cap") {
			in.AddrCap = &o.AddrCap
		}
		if changed("rule") {
			in.Rule = o.Rule
		}
		if changed("priority") {
			in.Priority = o.Priority
		}
		if changed("replaces") {
			in.Replaces = slices.DeleteFunc(o.Replaces, func(n string) bool { return strings.TrimSpace(n) == "" })
		}
		return c.EditPool(ctx, in)
	}, func(p admin.Pool) { admin.PrintPoolChanged(stdout, p) })
}

func runPoolRemove(ctx context.Context, o PoolOptions, stdout io.Writer) error {
	return adminCall(ctx, o.Data, "numbers pool remove", func(c *admin.Client) (struct{}, error) {
		return struct{}{}, c.RemovePool(ctx, admin.RemovePool{Site: o.Site, Name: o.Name})
	}, func(struct{}) {
		fmt.Fprintf(stdout, "pool %q removed (its numbers' leases have ended; calls made while they were leased are still attributed)\n", o.Name)
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
	data, err := io.ReadAll(io.LimitReader(interruptible(ctx, r), tracking.MaxImportBytes+1))
	if err != nil {
		return fmt.Errorf("numbers import: %w", err)
	}
	if len(data) > tracking.MaxImportBytes {
		return fmt.Errorf("numbers import: %s is larger than %d bytes", o.File, tracking.MaxImportBytes)
	}
	return adminCall(ctx, o.Data, "numbers import", func(c *admin.Client) (admin.ImportResult, error) {
		// The server parses the numbers, the long part (10,000 take
		// seconds), and reports how far into the file it is.
		var p *progress
		if o.File != "-" {
			p = newProgress(stdout, "import", int64(len(data)), "bytes")
		}
		defer p.Done()
		res, err := c.Import(ctx, admin.Import{Site: o.Site, Pool: o.Pool, CSV: string(data)}, p.Report)
		if err == nil && len(res.Added) == 0 && len(res.Skipped) == 0 {
			// An empty file (a failed export, a pipe whose writer failed)
			// is no import to report as done.
			name := o.File
			if name == "-" {
				name = "stdin"
			}
			return res, fmt.Errorf("%s holds no numbers: want one a line, or a CSV with a number column", name)
		}
		return res, err
	}, func(res admin.ImportResult) { admin.PrintImport(stdout, res) })
}

// NumbersListOptions are the flags of `appliance numbers list`.
type NumbersListOptions struct {
	Data string
	Site string
}

func runNumbersList(ctx context.Context, o NumbersListOptions, stdout io.Writer) error {
	return adminCall(ctx, o.Data, "numbers list", func(c *admin.Client) (admin.Numbers, error) {
		return c.Numbers(ctx, o.Site)
	}, func(info admin.Numbers) { admin.PrintNumbers(stdout, info) })
}

// What every command shares: the admin client, the version, usage errors
// and flag plumbing.

// adminCall makes one call of the admin API of the store in dir (see
// httpd.OpenAdmin) and prints its answer; the error of a failed call is
// prefixed with the command.
func adminCall[Out any](ctx context.Context, dir, command string, call func(*admin.Client) (Out, error), print func(Out)) error {
	return adminCallPolicy(ctx, dir, webhooks.Policy{}, command, call, print)
}

// adminCallPolicy is adminCall for a command that adds an outbound URL:
// policy checks it when no server runs.
func adminCallPolicy[Out any](ctx context.Context, dir string, policy webhooks.Policy, command string, call func(*admin.Client) (Out, error), print func(Out)) error {
	return withAdmin(ctx, dir, policy, command, func(c *admin.Client) error {
		out, err := call(c)
		if err != nil {
			return fmt.Errorf("%s: %w", command, err)
		}
		print(out)
		return nil
	})
}

// withAdmin runs fn with a client for the store in dir; a value the
// server refused is a usage error (refusedUsage). A store it cannot reach
// (none in dir, one held by a process that does not answer) is refused
// in the words of command, as fn's errors are.
func withAdmin(ctx context.Context, dir string, policy webhooks.Policy, command string, fn func(c *admin.Client) error) error {
	c, err := httpd.OpenAdmin(ctx, dir, httpd.Options{Version: version, Webhooks: webhooks.Options{Policy: policy}, Log: inProcessLog()})
	if err != nil {
		return fmt.Errorf("%s: %w", command, err)
	}
	return refusedUsage(errors.Join(fn(c), c.Close()))
}

// refusedUsage is err as a usage error (exit 2) when the server refused a
// value of the request (admin.Refusal.Invalid: a reserve below the
// least, a time zone it does not know, a bad phone number): the command
// made the request from its flags and arguments, and the server's check
// is the one rule of what they may be, running or not. A refusal of what
// the command read from a file or stdin (a costs file's bad line, 422)
// stays a failure (1).
func refusedUsage(err error) error {
	if r, ok := errors.AsType[*admin.Refusal](err); !ok || !r.Invalid() {
		return err
	}
	if _, ok := errors.AsType[usageError](err); ok {
		return err
	}
	return usageError{err}
}

// commandRefusal is err, when it is a usage error of a flag the command
// shares with others (--log-format, --export-subject), in the words of
// the command's own ("serve: --log-format ..."); other errors as they are.
func commandRefusal(command string, err error) error {
	ue, ok := errors.AsType[usageError](err)
	if !ok {
		return err
	}
	return usageError{fmt.Errorf("%s: %w", command, ue.error)}
}

// whenNoServer ends the help of a flag that only matters in-process.
const whenNoServer = "; used when no server runs, a running server applies its own"

// usageError is a mistake in how a command was called: exit code 2, with a hint.
type usageError struct{ error }

// Unwrap lets errors.Is find the refusal's cause (store.ErrNotEmpty).
func (e usageError) Unwrap() error { return e.error }

// usageIn is a usage error of the command at path, whose help the hint names.
type usageIn struct {
	error
	path string
}

func (e usageIn) Unwrap() error { return e.error }

// usageOf ties a usage error to cmd, the command that was run.
func usageOf(cmd *cobra.Command, err error) error {
	var ue usageError
	if cmd == nil || !errors.As(err, &ue) {
		return err
	}
	return usageIn{err, cmd.CommandPath()}
}

// bindEnv lets every flag of cmd default to its APPLIANCE_* environment
// variable (--public-url ← APPLIANCE_PUBLIC_URL); a flag given on the
// command line wins.
func bindEnv(cmd *cobra.Command) {
	if cmd.Annotations == nil {
		cmd.Annotations = map[string]string{}
	}
	cmd.Annotations[envAnnotation] = "1"
}

// envHelp ends the help of each flag of c and the commands under it that
// takes its APPLIANCE_* variable (bindEnv) with the variable's name, as
// serve's flags say it in their own words: the README says every flag has
// one, and --help should let a reader find it.
func envHelp(c *cobra.Command) {
	for _, sub := range c.Commands() {
		envHelp(sub)
	}
	if c.Annotations[envAnnotation] == "" {
		return
	}
	c.Flags().VisitAll(func(f *pflag.Flag) {
		if env := "(env " + envName(f.Name) + ")"; f.Name != "help" && !strings.Contains(f.Usage, env) {
			f.Usage += " " + env
		}
	})
}

// envAnnotation marks a command whose flags take their APPLIANCE_*
// variables (bindEnv).
const envAnnotation = "appliance-env"

// applyEnv gives each flag of c not given on the command line its APPLIANCE_*
// variable's value, when c is bound (bindEnv) and the variable is set. It
// runs before the required flags are checked (usageErrors), and sets through
// the flag set, so that the flag counts as given: a required one (--site) is
// satisfied, and one a command applies only when given (site set --name)
// applies.
func applyEnv(c *cobra.Command) error {
	if c.Annotations[envAnnotation] == "" {
		return nil
	}
	var err error
	c.Flags().VisitAll(func(f *pflag.Flag) {
		if f.Changed || err != nil {
			return
		}
		if v, ok := os.LookupEnv(envName(f.Name)); ok {
			_ = c.Flags().SetAnnotation(f.Name, fromEnvAnnotation, []string{envName(f.Name)})
			if serr := c.Flags().Set(f.Name, v); serr != nil {
				var iv *pflag.InvalidValueError
				if want := flagWants(f); want != "" {
					serr = fmt.Errorf("want %s (--%s)", want, f.Name)
				} else if errors.As(serr, &iv) {
					serr = fmt.Errorf("%w (--%s)", iv.Unwrap(), f.Name)
				}
				err = usageError{fmt.Errorf("%s=%q: %w", envName(f.Name), v, serr)}
			}
		}
	})
	return err
}

// fromEnvAnnotation marks a flag whose value applyEnv took from its
// APPLIANCE_* variable, not from the command line: Changed says only that
// it was given, one way or the other.
const fromEnvAnnotation = "appliance-from-env"

// fromEnv reports whether flag name of c was given through its APPLIANCE_*
// variable alone (applyEnv), not on the command line.
func fromEnv(c *cobra.Command, name string) bool {
	f := c.Flags().Lookup(name)
	return f != nil && len(f.Annotations[fromEnvAnnotation]) > 0
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

func reportsCmd(stdout io.Writer) *cobra.Command {
	cmd := &cobra.Command{Use: "reports", Short: "Maintain the reports' roll-ups"}
	var o RebuildOptions
	rb := &cobra.Command{
		Use:   "rebuild",
		Short: "Recompute a site's report roll-ups from its raw records",
		Long: "Recompute every daily and hourly roll-up of a site's reports from its stored sessions, events,\n" +
			"leads, callbacks and calls, in the site's time zone: run it after changing the site's time zone\n" +
			"(site set --time-zone) so that the days already counted move into it, or to recover the roll-ups.\n" +
			"It may run while the site takes traffic: what arrives meanwhile stays counted on top of the rebuilt days.\n" +
			"Once a prune has deleted old visits (site set --retention-days), it refuses: those days' reports\n" +
			"keep what was counted of them, which a rebuild cannot count again (--drop-pruned to rebuild anyway).",
		Example: `  appliance reports rebuild --site KEY`,
		Args:    cobra.NoArgs,
		RunE:    func(c *cobra.Command, _ []string) error { return runReportsRebuild(c.Context(), o, stdout) },
	}
	dataFlag(rb, &o.Data)
	siteFlag(rb, &o.Site)
	rb.Flags().BoolVar(&o.DropPruned, "drop-pruned", false, "rebuild even though a prune deleted old visits: their days keep only the leads, callbacks and calls still stored")
	bindEnv(rb)
	cmd.AddCommand(rb)
	return cmd
}

// RebuildOptions are the flags of `appliance reports rebuild`.
type RebuildOptions struct {
	Data       string
	Site       string
	DropPruned bool
}

func runReportsRebuild(ctx context.Context, o RebuildOptions, stdout io.Writer) error {
	return adminCall(ctx, o.Data, "reports rebuild", func(c *admin.Client) (admin.Rebuilt, error) {
		p := newProgress(stdout, "rebuild", -1, "sessions")
		defer p.Done()
		return c.Rebuild(ctx, admin.Rebuild{Site: o.Site, DropPruned: o.DropPruned}, p.Report)
	}, func(r admin.Rebuilt) { admin.PrintRebuilt(stdout, r) })
}

func costsCmd(stdout io.Writer) *cobra.Command {
	cmd := &cobra.Command{Use: "costs", Short: "Import ad costs for the reports' cost, CPL and ROI columns"}
	var o CostsImportOptions
	im := &cobra.Command{
		Use:   "import FILE",
		Short: "Import a CSV of ad costs: date,source,medium,campaign,cost (- for stdin)",
		Long: "Import what was spent on ads, per day and source, medium and campaign (the utm_ tags of the\n" +
			"ads' links): a CSV with the columns date (YYYY-MM-DD), source, medium, campaign, cost (in\n" +
			"currency units: 1500 or 1500.50), comma or semicolon separated, with an optional header line.\n" +
			"A day, source, medium and campaign imported again replaces what was imported for it. A file with\n" +
			"a bad line is refused whole, with the numbers of its bad lines.",
		Example: `  appliance costs import --site KEY costs.csv
  printf '2026-11-01,yandex,cpc,autumn,1500\n' | appliance costs import --site KEY -`,
		Args: func(c *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usageError{errors.New("costs import needs exactly one FILE (- for stdin)")}
			}
			return nil
		},
		RunE: func(c *cobra.Command, args []string) error {
			o.File = args[0]
			return runCostsImport(c.Context(), o, c.InOrStdin(), stdout)
		},
	}
	dataFlag(im, &o.Data)
	siteFlag(im, &o.Site)
	bindEnv(im)
	cmd.AddCommand(im)
	return cmd
}

// CostsImportOptions are the flags of `appliance costs import`.
type CostsImportOptions struct {
	Data string
	Site string
	File string // "-" for stdin
}

func runCostsImport(ctx context.Context, o CostsImportOptions, stdin io.Reader, stdout io.Writer) error {
	r := stdin
	if o.File != "-" {
		f, err := os.Open(o.File)
		if err != nil {
			return fmt.Errorf("costs import: %w", err)
		}
		defer f.Close()
		r = f
	}
	// The admin API takes the file in one request.
	const max = admin.MaxRequestBodySize - 4096
	data, err := io.ReadAll(io.LimitReader(interruptible(ctx, r), max+1))
	if err != nil {
		return fmt.Errorf("costs import: %w", err)
	}
	if len(data) > max {
		return fmt.Errorf("costs import: %s is larger than %d KiB: split it into files of fewer days", o.File, max>>10)
	}
	return adminCall(ctx, o.Data, "costs import", func(c *admin.Client) (admin.CostsImported, error) {
		return c.ImportCosts(ctx, admin.ImportCosts{Site: o.Site, CSV: string(data)})
	}, func(r admin.CostsImported) { admin.PrintCostsImported(stdout, r) })
}
