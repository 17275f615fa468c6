package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"appliance/export"
	"appliance/httpd"
	"appliance/httpd/admin"
	"appliance/store"
)

// ExportOptions are the event stream flags of `appliance serve` and
// `appliance export backfill`.
type ExportOptions struct {
	URL        string // "": export off
	Subject    string
	Stream     string
	MaxAge     time.Duration
	MaxBytes   int64
	Duplicates time.Duration
	Backlog    uint64
}

// exportFlags adds the --export flags to cmd.
func exportFlags(cmd *cobra.Command, o *ExportOptions) {
	f := cmd.Flags()
	f.StringVar(&o.URL, "export", "", "NATS server to publish every hit, event, visitor change, lead, callback, call and chat to (JetStream), e.g. nats://127.0.0.1:4222; empty: no export (env APPLIANCE_EXPORT)")
	f.StringVar(&o.Subject, "export-subject", "appliance.events", "subject of the events; each goes to SUBJECT.SITEKEY.KIND (env APPLIANCE_EXPORT_SUBJECT)")
	f.StringVar(&o.Stream, "export-stream", "APPLIANCE_EVENTS", "JetStream stream made for SUBJECT.> when no stream has this name (env APPLIANCE_EXPORT_STREAM)")
	f.DurationVar(&o.MaxAge, "export-max-age", 0, "a new stream keeps events this long, e.g. 720h; 0: until --export-max-bytes (env APPLIANCE_EXPORT_MAX_AGE)")
	f.Int64Var(&o.MaxBytes, "export-max-bytes", 0, "a new stream keeps at most this many bytes, dropping the oldest; 0: no limit (env APPLIANCE_EXPORT_MAX_BYTES)")
	f.DurationVar(&o.Duplicates, "export-dedup-window", 10*time.Minute, "a new stream drops an event published again within this time (env APPLIANCE_EXPORT_DEDUP_WINDOW)")
	f.Uint64Var(&o.Backlog, "export-backlog", store.DefaultExportMax, "most events that wait on disk while NATS is away; past it new events are not exported (replay them with export backfill) (env APPLIANCE_EXPORT_BACKLOG)")
}

// options checks the flags; nil when export is off.
func (o ExportOptions) options() (*export.Options, error) {
	if o.URL == "" {
		return nil, nil
	}
	for _, u := range strings.Split(o.URL, ",") {
		// The NATS client's schemes; a host:port alone is nats://.
		scheme, _, ok := strings.Cut(strings.TrimSpace(u), "://")
		if ok && scheme != "nats" && scheme != "tls" && scheme != "ws" && scheme != "wss" {
			return nil, usageError{fmt.Errorf("--export %q: want a NATS server's URL, nats://HOST:4222 (or tls://, ws://, wss://), several comma-separated", u)}
		}
	}
	if err := export.CheckSubject(o.Subject); err != nil {
		return nil, usageError{fmt.Errorf("--export-subject: %w", err)}
	}
	if err := export.CheckSubject(o.Stream); err != nil || len(o.Stream) > 32 || strings.ContainsAny(o.Stream, "./\\") {
		return nil, usageError{fmt.Errorf("--export-stream %q: letters, digits, - and _ only, at most 32", o.Stream)}
	}
	// Each named with its value, as serve's other sizes and rates are.
	if o.MaxAge < 0 {
		return nil, usageError{fmt.Errorf("--export-max-age %s: want how long a new stream keeps events, such as 720h, or 0 to keep them until --export-max-bytes", o.MaxAge)}
	}
	if o.MaxBytes < 0 {
		return nil, usageError{fmt.Errorf("--export-max-bytes %d: want the most bytes a new stream keeps, or 0 for no limit", o.MaxBytes)}
	}
	if o.Duplicates < 0 {
		return nil, usageError{fmt.Errorf("--export-dedup-window %s: want how long a new stream remembers an event's id to drop it published again, such as 10m", o.Duplicates)}
	}
	return &export.Options{URL: o.URL, Subject: o.Subject, Stream: o.Stream, MaxAge: o.MaxAge,
		MaxBytes: o.MaxBytes, Duplicates: o.Duplicates}, nil
}

func exportCmd(stdout io.Writer) *cobra.Command {
	cmd := &cobra.Command{Use: "export", Short: "The event stream to NATS JetStream (serve --export)"}
	var o BackfillOptions
	bf := &cobra.Command{
		Use:   "backfill",
		Short: "Replay a site's history into the event stream",
		Long: "Publish a site's hits, events, visitors, leads, callbacks, calls and chats from a day on (in the\n" +
			"site's time zone) to the event stream, as serve --export publishes new ones, with the same dedup ids:\n" +
			"JetStream drops those it still remembers from the last --export-dedup-window. A running server\n" +
			"publishes them with its own --export settings, and refuses the --export flags given here; with no\n" +
			"server running, give --export here (set through APPLIANCE_EXPORT_*, as an environment file serve\n" +
			"shares may set them, they are not refused, and a running server's settings are used).",
		Example: `  appliance export backfill --site KEY --from 2026-01-01
  appliance export backfill --site KEY --from 2026-01-01 --export nats://127.0.0.1:4222   # no server running`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			o.Given = nil
			c.Flags().Visit(func(f *pflag.Flag) {
				if strings.HasPrefix(f.Name, "export") && !fromEnv(c, f.Name) {
					o.Given = append(o.Given, "--"+f.Name)
				}
			})
			return runExportBackfill(c.Context(), o, stdout)
		},
	}
	dataFlag(bf, &o.Data)
	siteFlag(bf, &o.Site)
	bf.Flags().StringVar(&o.From, "from", "", "first day to replay, YYYY-MM-DD (required) (env APPLIANCE_FROM)")
	_ = bf.MarkFlagRequired("from")
	exportFlags(bf, &o.Export)
	bindEnv(bf)
	cmd.AddCommand(bf)
	return cmd
}

// BackfillOptions are the flags of `appliance export backfill`.
type BackfillOptions struct {
	Data   string
	Site   string
	From   string
	Export ExportOptions // used when no server runs
	// Given are the --export flags given on the command line, which a
	// running server would not use: refused while one runs.
	Given []string
}

func runExportBackfill(ctx context.Context, o BackfillOptions, stdout io.Writer) error {
	if _, err := time.Parse("2006-01-02", o.From); err != nil {
		return usageError{fmt.Errorf("export backfill: --from %q: write a day as 2026-01-31", o.From)}
	}
	exp, err := o.Export.options()
	if err != nil {
		return commandRefusal("export backfill", err)
	}
	c, err := httpd.OpenAdmin(ctx, o.Data, httpd.Options{Version: version, Export: exp, ExportBacklog: o.Export.Backlog, Log: inProcessLog()})
	if err != nil {
		return fmt.Errorf("export backfill: %w", err)
	}
	defer c.Close()
	if c.Remote() && len(o.Given) > 0 {
		// The running server publishes through its own exporter: flags
		// that would be taken and ignored are refused, as serve's are.
		return usageError{fmt.Errorf("export backfill: %s %s only with no server running, and a server runs on --data %s: it publishes with its own serve --export settings; leave out %s, or stop the server",
			strings.Join(o.Given, ", "), applies(o.Given), o.Data, strings.Join(o.Given, ", "))}
	}
	if !c.Remote() && exp == nil {
		// With no server running, the stream is this command's own
		// --export; the server's words for export off ("the server runs
		// without --export") would name a server that is not there.
		return usageError{fmt.Errorf("export backfill: no server runs on --data %s to publish through: give --export nats://HOST:4222 to publish to it directly", o.Data)}
	}
	p := newProgress(stdout, "backfill", -1, "records")
	r, err := c.ExportBackfill(ctx, admin.ExportBackfill{Site: o.Site, From: o.From}, p.Report)
	p.Done()
	if err != nil {
		return refusedUsage(fmt.Errorf("export backfill: %w", err))
	}
	admin.PrintExportBackfilled(stdout, r)
	return nil
}
