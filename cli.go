package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttputil"

	"appliance/httpd"
	"appliance/httpd/webhooks"
	"appliance/store"
)

// The admin commands speak the admin API (httpd/admin.go) to the running
// server over its unix socket. When no server runs, the command opens the
// store itself and serves the same API in-process: one code path either way.

// SocketName is the admin socket inside the data directory.
const SocketName = "admin.sock"

// AdminOptions locate the data directory.
type AdminOptions struct{ Data string }

type adminClient struct {
	http  *http.Client
	close func() error
}

type pingInfo struct {
	PID     int    `json:"pid"`
	Version string `json:"version"`
}

func unixClient(sock string) *http.Client {
	return &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", sock)
		},
	}}
}

// pingSocket asks a server on sock who it is.
func pingSocket(ctx context.Context, sock string) (pingInfo, error) {
	c := &adminClient{http: unixClient(sock)}
	c.http.Timeout = 3 * time.Second
	var info pingInfo
	err := c.call(ctx, "GET", "/admin/ping", nil, &info)
	return info, err
}

// connect returns a client for the admin API of the store in dir; policy
// checks webhook and scenario URLs when no server runs (a running server
// applies its own).
func connect(ctx context.Context, dir string, policy webhooks.Policy) (*adminClient, error) {
	sock := filepath.Join(dir, SocketName)
	if _, err := pingSocket(ctx, sock); err == nil {
		return &adminClient{http: unixClient(sock), close: func() error { return nil }}, nil
	}
	if _, err := os.Stat(filepath.Join(dir, store.DBDir)); err != nil {
		return nil, fmt.Errorf("no store in %s (start `appliance serve --data %s` once to create it)", dir, dir)
	}
	db, err := store.Open(dir, store.Options{})
	if err != nil {
		return nil, err
	}
	srv, err := httpd.New(ctx, db, httpd.Options{Listen: "localhost:8080", Version: version,
		Webhooks: webhooks.Options{Policy: policy}})
	if err != nil {
		db.Close()
		return nil, err
	}
	ln := fasthttputil.NewInmemoryListener()
	s := &fasthttp.Server{Handler: srv.AdminHandler, MaxRequestBodySize: 1 << 20}
	done := make(chan struct{})
	go func() { s.Serve(ln); close(done) }()
	hc := &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) { return ln.Dial() },
	}}
	return &adminClient{http: hc, close: func() error {
		err := s.Shutdown()
		ln.Close()
		<-done
		return errors.Join(err, db.Close())
	}}, nil
}

// call sends in as JSON and decodes the result field of the answer into out.
func (c *adminClient) call(ctx context.Context, method, path string, in, out any) error {
	resp, err := c.do(ctx, method, path, in)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		return err
	}
	var env struct {
		Success bool            `json:"success"`
		Result  json.RawMessage `json:"result"`
		Error   string          `json:"error"`
	}
	if err := json.Unmarshal(body, &env); err != nil {
		return fmt.Errorf("admin %s: bad answer (%s): %w", path, resp.Status, err)
	}
	if !env.Success {
		return errors.New(env.Error)
	}
	if out != nil {
		return json.Unmarshal(env.Result, out)
	}
	return nil
}

func (c *adminClient) do(ctx context.Context, method, path string, in any) (*http.Response, error) {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return nil, err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, "http://admin"+path, body)
	if err != nil {
		return nil, err
	}
	return c.http.Do(req)
}

// withAdmin runs fn with a client for the store in dir.
func withAdmin(ctx context.Context, dir string, fn func(c *adminClient) error) error {
	return withAdminPolicy(ctx, dir, webhooks.Policy{}, fn)
}

// whenNoServer ends the help of a flag that only matters in-process.
const whenNoServer = "; used when no server runs, a running server applies its own"

// withAdminPolicy is withAdmin for a command that adds an outbound URL:
// policy checks it when no server runs.
func withAdminPolicy(ctx context.Context, dir string, policy webhooks.Policy, fn func(c *adminClient) error) error {
	c, err := connect(ctx, dir, policy)
	if err != nil {
		return err
	}
	return errors.Join(fn(c), c.close())
}

// BackupOptions are the flags of `appliance backup`.
type BackupOptions struct {
	Data   string
	Output string
}

// runBackup streams the archive from the server (or the store) to the
// output and verifies it on the way; a file output appears only complete.
func runBackup(ctx context.Context, o BackupOptions, stdout io.Writer) error {
	return withAdmin(ctx, o.Data, func(c *adminClient) error {
		resp, err := c.do(ctx, "GET", "/admin/backup", nil)
		if err != nil {
			return fmt.Errorf("backup: %w", err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
			return fmt.Errorf("backup: %s: %s", resp.Status, b)
		}
		var out io.Writer = stdout
		var f *os.File
		tmp := o.Output + ".partial"
		if o.Output != "-" {
			f, err = os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
			if err != nil {
				return fmt.Errorf("backup: %w", err)
			}
			defer os.Remove(tmp)
			defer f.Close()
			out = f
		}
		pr, pw := io.Pipe()
		verified := make(chan error, 1)
		go func() {
			err := store.VerifyArchive(pr)
			io.Copy(io.Discard, pr)
			verified <- err
		}()
		bw := bufio.NewWriterSize(out, 1<<16)
		n, copyErr := io.Copy(io.MultiWriter(bw, pw), resp.Body)
		pw.Close()
		if err := errors.Join(copyErr, bw.Flush(), <-verified); err != nil {
			return fmt.Errorf("backup: incomplete archive: %w", err)
		}
		if f == nil {
			return nil
		}
		if err := f.Sync(); err != nil {
			return fmt.Errorf("backup: %w", err)
		}
		if err := f.Close(); err != nil {
			return fmt.Errorf("backup: %w", err)
		}
		if err := os.Rename(tmp, o.Output); err != nil {
			return fmt.Errorf("backup: %w", err)
		}
		fmt.Fprintf(os.Stderr, "backup: wrote %s (%d bytes, verified)\n", o.Output, n)
		return nil
	})
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
	if o.File != "-" {
		f, err := os.Open(o.File)
		if err != nil {
			return fmt.Errorf("restore: %w", err)
		}
		defer f.Close()
		r = f
	}
	if err := store.Restore(bufio.NewReaderSize(r, 1<<16), o.Data, o.Force); err != nil {
		if errors.Is(err, store.ErrLocked) {
			return fmt.Errorf("restore: %w", inUse(o.Data, err))
		}
		return err
	}
	fmt.Fprintf(stdout, "restored %s into %s\n", o.File, o.Data)
	return nil
}

// SiteAddOptions are the flags of `appliance site add`.
type SiteAddOptions struct {
	Data      string
	Name      string
	Domains   []string
	AnyOrigin bool
}

func runSiteAdd(ctx context.Context, o SiteAddOptions, stdout io.Writer) error {
	return withAdmin(ctx, o.Data, func(c *adminClient) error {
		var site httpd.SiteInfo
		if err := c.call(ctx, "POST", "/admin/sites", map[string]any{"name": o.Name, "domains": o.Domains, "any_origin": o.AnyOrigin}, &site); err != nil {
			return fmt.Errorf("site add: %w", err)
		}
		fmt.Fprintf(stdout, "site %q added\nsite key: %s\n%s\n\ninstall code:\n%s\n", site.Name, site.Key, originText(site), site.InstallCode)
		return nil
	})
}

// SiteSetOptions are the flags of `appliance site set`.
type SiteSetOptions struct {
	Data      string
	Site      string
	AnyOrigin bool
}

func runSiteSet(ctx context.Context, o SiteSetOptions, stdout io.Writer) error {
	return withAdmin(ctx, o.Data, func(c *adminClient) error {
		var site httpd.SiteInfo
		if err := c.call(ctx, "POST", "/admin/sites/origin", map[string]any{"site_key": o.Site, "any_origin": o.AnyOrigin}, &site); err != nil {
			return fmt.Errorf("site set: %w", err)
		}
		fmt.Fprintf(stdout, "site %q: %s\n", site.Name, originText(site))
		return nil
	})
}

// originText says where a site takes page views from.
func originText(s httpd.SiteInfo) string {
	if s.AnyOrigin {
		return "takes page views from pages on any domain"
	}
	return "takes page views only from " + strings.Join(s.Domains, ", ") + " and their sub-domains"
}

func runSiteList(ctx context.Context, o AdminOptions, stdout io.Writer) error {
	return withAdmin(ctx, o.Data, func(c *adminClient) error {
		var list []httpd.SiteInfo
		if err := c.call(ctx, "GET", "/admin/sites", nil, &list); err != nil {
			return fmt.Errorf("site list: %w", err)
		}
		if len(list) == 0 {
			fmt.Fprintln(stdout, "no sites yet: appliance site add --name N --domain D")
		}
		for _, s := range list {
			mark := ""
			if s.AnyOrigin {
				mark = "  (any origin)"
			}
			fmt.Fprintf(stdout, "%s  %-24s %s%s\n", s.Key, s.Name, strings.Join(s.Domains, ","), mark)
		}
		return nil
	})
}

// UserOptions are the flags of `appliance user add|passwd|logout`.
type UserOptions struct {
	Data  string
	Email string
	Role  string
}

// readPassword reads one line from in (a pipe or the terminal).
func readPassword(in io.Reader, stdout io.Writer) (string, error) {
	if f, ok := in.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			fmt.Fprint(stdout, "Password (at least 10 characters): ")
		}
	}
	line, err := bufio.NewReader(in).ReadString('\n')
	if err != nil && !(errors.Is(err, io.EOF) && line != "") {
		return "", fmt.Errorf("read password: %w", err)
	}
	return strings.TrimRight(line, "\r\n"), nil
}

func runUserAdd(ctx context.Context, o UserOptions, in io.Reader, stdout io.Writer) error {
	pw, err := readPassword(in, stdout)
	if err != nil {
		return err
	}
	return withAdmin(ctx, o.Data, func(c *adminClient) error {
		var u struct{ Email, Role string }
		if err := c.call(ctx, "POST", "/admin/users", map[string]string{"email": o.Email, "password": pw, "role": o.Role}, &u); err != nil {
			return fmt.Errorf("user add: %w", err)
		}
		fmt.Fprintf(stdout, "user %s added (%s)\n", u.Email, u.Role)
		return nil
	})
}

func runUserPasswd(ctx context.Context, o UserOptions, in io.Reader, stdout io.Writer) error {
	pw, err := readPassword(in, stdout)
	if err != nil {
		return err
	}
	return withAdmin(ctx, o.Data, func(c *adminClient) error {
		if err := c.call(ctx, "POST", "/admin/users/password", map[string]string{"email": o.Email, "password": pw}, nil); err != nil {
			return fmt.Errorf("user passwd: %w", err)
		}
		fmt.Fprintf(stdout, "password of %s changed; all of their sessions were signed out\n", o.Email)
		return nil
	})
}

func runUserLogout(ctx context.Context, o UserOptions, stdout io.Writer) error {
	return withAdmin(ctx, o.Data, func(c *adminClient) error {
		if err := c.call(ctx, "POST", "/admin/users/logout", map[string]string{"email": o.Email}, nil); err != nil {
			return fmt.Errorf("user logout: %w", err)
		}
		fmt.Fprintf(stdout, "%s is signed out everywhere\n", o.Email)
		return nil
	})
}

// TokenOptions are the flags of `appliance token add`.
type TokenOptions struct {
	Data  string
	Name  string
	Sites []string // site keys; none: every site
}

func runTokenAdd(ctx context.Context, o TokenOptions, stdout io.Writer) error {
	return withAdmin(ctx, o.Data, func(c *adminClient) error {
		var t struct{ Name, Token string }
		in := struct {
			Name  string   `json:"name"`
			Sites []string `json:"sites,omitempty"`
		}{o.Name, o.Sites}
		if err := c.call(ctx, "POST", "/admin/tokens", in, &t); err != nil {
			return fmt.Errorf("token add: %w", err)
		}
		scope := "every site"
		if len(o.Sites) > 0 {
			scope = "only the sites " + strings.Join(o.Sites, ", ")
		}
		fmt.Fprintf(stdout, "API token %q for %s (shown once; send it as Authorization: Bearer TOKEN):\n%s\n", t.Name, scope, t.Token)
		return nil
	})
}
