package httpd

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"

	"appliance/httpd/admin"
	"appliance/httpd/visits"
	"appliance/store"
)

// Run is `appliance serve`: it opens the store in dir (made when missing)
// and serves o.Listen and the admin socket until ctx ends, then shuts down
// in order: HTTP (drain), then the store (flush the writer, close pebble).
// It refuses a store another server or process holds, and a port another
// program listens on before it makes or opens anything in dir. ready, when set, is
// called with the bound address once both listeners accept connections,
// when systemd is also told (o.NotifySocket) that the service is ready.
// o.Log defaults to text on stderr; a MaxConns of 0 is derived from the
// open file limit, which Run raises to the hard limit first.
func Run(ctx context.Context, dir string, o Options, ready func(addr string)) error {
	sock := filepath.Join(dir, admin.SocketName)
	if max := len(syscall.RawSockaddrUnix{}.Path) - 1; len(sock) > max {
		// bind would say only "invalid argument", once the store is made.
		return fmt.Errorf("serve: the data directory's path is too long for its admin socket %s (%d bytes; a unix socket's path may have %d): give --data a shorter path, or a symbolic link to it", sock, len(sock), max)
	}
	if o.Log == nil {
		o.Log = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	if o.Stdout == nil {
		o.Stdout = os.Stdout
	}
	// The ports first: a port another program holds is refused before
	// anything is made or opened in the data directory.
	ln, err := net.Listen("tcp", o.Listen)
	if err != nil {
		return fmt.Errorf("serve: %w", listenError("--listen", o.Listen, err))
	}
	var plainLn net.Listener
	if o.ACME.on() && o.ACME.HTTPListen != "" {
		if plainLn, err = net.Listen("tcp", o.ACME.HTTPListen); err != nil {
			ln.Close()
			return fmt.Errorf("serve: %w", listenError("--http-listen", o.ACME.HTTPListen, err))
		}
		defer plainLn.Close()
	}
	started := false
	defer func() {
		if !started {
			ln.Close()
		}
	}()
	// The certificate too: a file missing, mistyped or not the key's is
	// said before the store is made or opened.
	if o.TLSCert != "" && o.certs == nil {
		if o.certs, err = loadCertFiles(o.TLSCert, o.TLSKey); err != nil {
			return fmt.Errorf("serve: %w", err)
		}
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("serve: %w", store.AccessHint(dir, err))
	}
	if c, info, err := admin.Dial(ctx, sock); err == nil {
		c.Close()
		return fmt.Errorf("serve: the store in %s is in use by a running server (pid %d, socket %s)", dir, info.PID, sock)
	}
	db, err := store.Open(dir, store.Options{Log: o.Log, CacheSize: o.CacheSize, BackupRate: o.BackupRate, L0Compaction: o.L0Compaction})
	if errors.Is(err, store.ErrLocked) {
		return fmt.Errorf("serve: %w", store.InUse(dir, err))
	}
	if err != nil {
		return err
	}
	defer db.Close()

	nofile := raiseFileLimit(o.Log)
	if o.MaxConns <= 0 {
		o.MaxConns = connsForFileLimit(nofile)
	}
	if o.PublicURL == "" {
		// With port 0 the derived public URL (and so the setup link) takes
		// the port the system chose.
		if host, _, err := net.SplitHostPort(o.Listen); err == nil {
			_, port, _ := net.SplitHostPort(ln.Addr().String())
			o.Listen = net.JoinHostPort(host, port)
		}
	}
	srv, err := New(ctx, db, o)
	if err != nil {
		return err
	}
	srv.plainLn = plainLn
	if err := rememberPublicURL(ctx, db, srv.PublicURL()); err != nil {
		// Not a reason to refuse to serve (a full disk refuses writes,
		// and the server still answers what it can).
		o.Log.Warn("the commands run while no server runs will not know the public URL", "err", err)
	}
	// The pebble lock is ours, so a socket file left here is from a crashed
	// server.
	_ = os.Remove(sock)
	adminLn, err := listenPrivate(sock)
	if err != nil {
		return fmt.Errorf("serve: admin socket: %w", err)
	}
	defer os.Remove(sock)
	if o.ACME.on() {
		plain := "none"
		if srv.plainLn != nil {
			plain = srv.plainLn.Addr().String()
		}
		o.Log.Info("acme: certificates are obtained when a browser first asks for a domain", "domains", strings.Join(srv.opts.ACME.Domains, ","),
			"directory", srv.acme.Client.DirectoryURL, "https", ln.Addr().String(), "http_challenges_and_redirects", plain)
	}
	if setup, err := srv.SetupURL(ctx); err != nil {
		adminLn.Close()
		return err
	} else if setup != "" {
		fmt.Fprintf(o.Stdout, "No users yet. Create the owner account here (this link works once):\n\n    %s\n\n", setup)
	}
	fmt.Fprintf(o.Stdout, "appliance %s serving %s on %s (data %s)\n", o.Version, srv.PublicURL(), ln.Addr(), dir)
	if ready != nil {
		ready(ln.Addr().String())
	}
	srv.notify("READY=1", "STATUS=serving "+srv.PublicURL())
	go afterStart()
	started = true // Serve closes ln
	stopping := context.AfterFunc(ctx, func() { srv.notify("STOPPING=1") })
	defer stopping()
	if err := srv.Serve(ctx, ln, adminLn); err != nil {
		return err
	}
	// HTTP has drained and the workers have stopped: every lease is in the
	// history. Sealed as the store's last write, the pools' leases are
	// read in one go at the next start (until anything else is written).
	if err := srv.numbers.Seal(context.Background(), srv.now()); err != nil {
		o.Log.Warn("the next start reads the lease history", "err", err)
	}
	fmt.Fprintln(o.Stdout, "appliance stopped")
	return nil
}

// afterStart does what a start leaves for once the server is ready, on
// the core a request does not need: it makes what the bot check needs
// for an agent it has not seen, then gives start-up's garbage back to the
// system. Opening the tracker decodes every pool number and restores
// every live lease: with 16 pools of 5,000 numbers its garbage is as large
// as what it keeps, and the server's RSS is what it holds once this is
// done (TestPoolLoad: 158 -> 120 MB).
func afterStart() {
	visits.PrepareBotCheck()
	debug.FreeOSMemory()
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
		return 0 // defaultMaxConns
	}
	reserve := min(nofile/2, 1024+64)
	return int(min(nofile-reserve, 256<<10)) // fasthttp's own default above that
}

// listenError says why serve cannot listen on addr, given as flag, in the
// terms of whoever chose it: a port another program holds, or one below
// 1024 without the right to bind it.
func listenError(flag, addr string, err error) error {
	switch {
	case errors.Is(err, syscall.EADDRINUSE):
		who := "another program"
		if _, port, perr := net.SplitHostPort(addr); perr == nil {
			if n, perr := strconv.Atoi(port); perr == nil {
				if pid, cmd := portHolder(n); pid != 0 {
					who = fmt.Sprintf("process %d (%s)", pid, cmd)
				}
			}
		}
		return fmt.Errorf("%s %s: %s already listens there; stop it, or give %s another port", flag, addr, who, flag)
	case errors.Is(err, syscall.EACCES):
		return fmt.Errorf("%s %s: a port below 1024 needs root or the CAP_NET_BIND_SERVICE capability (AmbientCapabilities= in a systemd unit)", flag, addr)
	}
	return fmt.Errorf("%s %s: %w", flag, addr, err)
}

// listenPrivate listens on the unix socket sock, which only this user may
// connect to from the moment it exists: the socket is made under a umask
// that leaves the group and others nothing, rather than chmod'ed after
// bind, which left it open to anyone for a moment under a permissive umask
// in a data directory the user made readable. The umask is the process's,
// so a file another goroutine creates meanwhile is made private too (a
// directory too, hence 0077, not 0177). The socket, born 0700, is then
// made 0600, as the README says: that only narrows it.
func listenPrivate(sock string) (net.Listener, error) {
	old := unix.Umask(0o077)
	ln, err := net.Listen("unix", sock)
	unix.Umask(old)
	if err != nil {
		return nil, err
	}
	if err := os.Chmod(sock, 0o600); err != nil {
		ln.Close()
		return nil, err
	}
	return ln, nil
}

// publicURLKey holds the public URL of the last server that ran on the
// store, for the commands that open the store themselves while no server
// runs: the install code `site add` prints names the host the site's
// pages must load the snippet from, which the store knows no other way.
var publicURLKey = store.MetaKey("public-url")

// rememberPublicURL keeps u as the store's public URL; written only when
// it changed, so that a plain restart writes nothing (the pools' sealed
// state stays the store's last write).
func rememberPublicURL(ctx context.Context, db *store.DB, u string) error {
	old, err := db.Get(publicURLKey)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("read public url: %w", err)
	}
	if string(old) == u {
		return nil
	}
	if err := db.Set(ctx, publicURLKey, []byte(u)); err != nil {
		return fmt.Errorf("remember public url: %w", err)
	}
	return nil
}
