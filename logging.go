package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/spf13/cobra"
)

// LogOptions are the flags that shape serve's log on stderr; the zero
// value is text from info up.
type LogOptions struct {
	Format string // text or json
	Level  string // debug, info, warn or error
}

// logFlags adds --log-format and --log-level to cmd.
func logFlags(cmd *cobra.Command, o *LogOptions) {
	f := cmd.Flags()
	f.StringVar(&o.Format, "log-format", "text", "log lines as text (key=value) or json, one object a line (env APPLIANCE_LOG_FORMAT)")
	f.StringVar(&o.Level, "log-level", "info", "least important log lines written: debug, info, warn or error (env APPLIANCE_LOG_LEVEL)")
}

// logger is the logger the flags describe, writing to w.
func (o LogOptions) logger(w io.Writer) (*slog.Logger, error) {
	var level slog.Level // info when not given
	if l := strings.TrimSpace(o.Level); l != "" && level.UnmarshalText([]byte(l)) != nil {
		return nil, usageError{fmt.Errorf("--log-level is debug, info, warn or error, not %q", o.Level)}
	}
	opts := &slog.HandlerOptions{Level: level}
	switch strings.ToLower(strings.TrimSpace(o.Format)) {
	case "text", "":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, usageError{fmt.Errorf("--log-format is text or json, not %q", o.Format)}
}

// failed is serve's error err as its log says it: with --log-format json
// a loggedError, which exitCode writes as one JSON line (level ERROR) for
// journald or docker's log shipping to read, not a line of text among
// them. A text log keeps exitCode's plain line; a usage error (a flag
// given wrongly) stays usage text with its --help.
func (o LogOptions) failed(err error) error {
	if err == nil || errors.Is(err, context.Canceled) || strings.ToLower(strings.TrimSpace(o.Format)) != "json" {
		return err
	}
	if _, ok := errors.AsType[usageError](err); ok {
		return err
	}
	return loggedError{err, o}
}

// loggedError is an error of serve to be written as its log's line.
type loggedError struct {
	error
	log LogOptions
}

func (e loggedError) Unwrap() error { return e.error }
