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

	"appliance/httpd"
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
	Version      string
}

// runServe opens the store and serves until ctx ends, then shuts down in
// order: HTTP (drain), then the store (flush the writer, close pebble).
// ready, when set, is called with the bound address once both listeners
// accept connections.
func runServe(ctx context.Context, o ServeOptions, stdout io.Writer, ready func(addr string)) error {
	if err := os.MkdirAll(o.Data, 0o700); err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	sock := filepath.Join(o.Data, SocketName)
	if info, err := pingSocket(ctx, sock); err == nil {
		return fmt.Errorf("serve: the store in %s is in use by a running server (pid %d, socket %s)", o.Data, info.PID, sock)
	}
	db, err := store.Open(o.Data, store.Options{})
	if errors.Is(err, store.ErrLocked) {
		return fmt.Errorf("serve: the store in %s is in use by another process (%v)", o.Data, err)
	}
	if err != nil {
		return err
	}
	defer db.Close()

	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	srv, err := httpd.New(ctx, db, httpd.Options{
		Listen: o.Listen, PublicURL: o.PublicURL, TLSCert: o.TLSCert, TLSKey: o.TLSKey,
		TrustProxy: o.TrustProxy, MetricsToken: o.MetricsToken, Version: o.Version, Log: log, Stdout: stdout,
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
