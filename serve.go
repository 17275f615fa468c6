package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"appliance/httpd"
	"appliance/httpd/admin"
	"appliance/httpd/webhooks"
	"appliance/numbers"
	"appliance/store"
)

// ServeOptions are the flags of `appliance serve`.
type ServeOptions struct {
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
}

// runServe opens the store and serves until ctx ends, then shuts down in
// order: HTTP (drain), then the store (flush the writer, close pebble).
// ready, when set, is called with the bound address once both listeners
// accept connections.
func runServe(ctx context.Context, o ServeOptions, stdout io.Writer, ready func(addr string)) error {
	policy, err := o.Outbound.policy()
	if err != nil {
		return err
	}
	region := strings.ToUpper(strings.TrimSpace(o.PhoneRegion))
	if region == "" {
		region = numbers.DefaultRegion
	}
	if err := numbers.CheckRegion(region); err != nil {
		return usageError{fmt.Errorf("--phone-region: %w", err)}
	}
	if err := os.MkdirAll(o.Data, 0o700); err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	sock := filepath.Join(o.Data, admin.SocketName)
	if c, info, err := admin.Dial(ctx, sock); err == nil {
		c.Close()
		return fmt.Errorf("serve: the store in %s is in use by a running server (pid %d, socket %s)", o.Data, info.PID, sock)
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	db, err := store.Open(o.Data, store.Options{Log: log})
	if errors.Is(err, store.ErrLocked) {
		return fmt.Errorf("serve: %w", inUse(o.Data, err))
	}
	if err != nil {
		return err
	}
	defer db.Close()

	nofile := raiseFileLimit(log)
	if o.MaxConns <= 0 {
		o.MaxConns = connsForFileLimit(nofile)
	}
	srv, err := httpd.New(ctx, db, httpd.Options{
		Listen: o.Listen, PublicURL: o.PublicURL, TLSCert: o.TLSCert, TLSKey: o.TLSKey,
		TrustProxy: o.TrustProxy, MetricsToken: o.MetricsToken, Version: o.Version, Log: log, Stdout: stdout,
		MaxConns: o.MaxConns,
		Webhooks: webhooks.Options{Policy: policy}, PhoneRegion: region,
	})
	if err != nil {
		return err
	}
	// The pebble lock is ours, so a socket file left here is from a crashed
	// server.
	_ = os.Remove(sock)
	adminLn, err := net.Listen("unix", sock)
	if err != nil {
		return fmt.Errorf("serve: admin socket: %w", err)
	}
	defer os.Remove(sock)
	if err := os.Chmod(sock, 0o600); err != nil {
		adminLn.Close()
		return fmt.Errorf("serve: admin socket: %w", err)
	}
	ln, err := net.Listen("tcp", o.Listen)
	if err != nil {
		adminLn.Close()
		return fmt.Errorf("serve: %w", err)
	}
	if setup, err := srv.SetupURL(ctx); err != nil {
		ln.Close()
		adminLn.Close()
		return err
	} else if setup != "" {
		fmt.Fprintf(stdout, "No users yet. Create the owner account here (this link works once):\n\n    %s\n\n", setup)
	}
	fmt.Fprintf(stdout, "appliance %s serving %s on %s (data %s)\n", o.Version, srv.PublicURL(), ln.Addr(), o.Data)
	if ready != nil {
		ready(ln.Addr().String())
	}
	if err := srv.Serve(ctx, ln, adminLn); err != nil {
		return err
	}
	fmt.Fprintln(stdout, "appliance stopped")
	return nil
}

// raiseFileLimit raises the soft limit of open files to the hard one (every
// connection holds a descriptor) and returns the limit now in force, 0 when
// it cannot be read. It logs what it did.
func raiseFileLimit(log *slog.Logger) uint64 {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		log.Warn("cannot read the open file limit", "err", err)
		return 0
	}
	if lim.Cur >= lim.Max {
		log.Info("open file limit", "limit", lim.Cur)
		return lim.Cur
	}
	was := lim.Cur
	lim.Cur = lim.Max
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		log.Warn("cannot raise the open file limit", "limit", was, "hard_limit", lim.Max, "err", err)
		return was
	}
	log.Info("raised the open file limit to the hard limit", "from", was, "limit", lim.Cur)
	return lim.Cur
}

// connsForFileLimit is how many connections may be open at once with
// nofile descriptors: the rest stay for the store (pebble keeps up to 1,000
// tables open), the admin socket and the runtime, half of a small limit.
func connsForFileLimit(nofile uint64) int {
	if nofile == 0 {
		return 0 // httpd's default
	}
	reserve := min(nofile/2, 1024+64)
	return int(min(nofile-reserve, 256<<10)) // fasthttp's own default above that
}

// inUse says who holds the store in dir, from the *store.LockedError in
// err: a process that has it open (a server, even a stopped one, or an
// admin command) or a restore.
func inUse(dir string, err error) error {
	var le *store.LockedError
	if errors.As(err, &le) && le.PID != 0 {
		return fmt.Errorf("the store in %s is in use by process %d (a server, running or paused, an admin command or a restore); stop it first: %w", dir, le.PID, store.ErrLocked)
	}
	return fmt.Errorf("the store in %s is in use by another process (a server, running or paused, an admin command or a restore); stop it first: %w", dir, store.ErrLocked)
}
