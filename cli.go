package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"appliance/httpd"
	"appliance/httpd/admin"
	"appliance/httpd/webhooks"
	"appliance/store"
)

// The admin commands speak the admin API (httpd/admin.go) to the running
// server over its unix socket. When no server runs, the command opens the
// store itself and serves the same API in-process: one code path either way.

// AdminOptions locate the data directory.
type AdminOptions struct{ Data string }

// withAdmin runs fn with a client for the store in dir.
func withAdmin(ctx context.Context, dir string, fn func(c *admin.Client) error) error {
	return withAdminPolicy(ctx, dir, webhooks.Policy{}, fn)
}

// whenNoServer ends the help of a flag that only matters in-process.
const whenNoServer = "; used when no server runs, a running server applies its own"

// withAdminPolicy is withAdmin for a command that adds an outbound URL:
// policy checks it when no server runs.
func withAdminPolicy(ctx context.Context, dir string, policy webhooks.Policy, fn func(c *admin.Client) error) error {
	c, err := httpd.OpenAdmin(ctx, dir, httpd.Options{Version: version, Webhooks: webhooks.Options{Policy: policy}})
	if err != nil {
		return err
	}
	return errors.Join(fn(c), c.Close())
}

// BackupOptions are the flags of `appliance backup`.
type BackupOptions struct {
	Data   string
	Output string
}

// runBackup streams the archive from the server (or the store) to the
// output and verifies it on the way; a file output appears only complete.
func runBackup(ctx context.Context, o BackupOptions, stdout io.Writer) error {
	return withAdmin(ctx, o.Data, func(c *admin.Client) error {
		body, err := c.Backup(ctx)
		if err != nil {
			return fmt.Errorf("backup: %w", err)
		}
		defer body.Close()
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
		n, copyErr := io.Copy(io.MultiWriter(bw, pw), body)
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
			return fmt.Errorf("restore: %w", store.InUse(o.Data, err))
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
	return withAdmin(ctx, o.Data, func(c *admin.Client) error {
		site, err := c.AddSite(ctx, admin.AddSite{Name: o.Name, Domains: o.Domains, AnyOrigin: o.AnyOrigin})
		if err != nil {
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
	return withAdmin(ctx, o.Data, func(c *admin.Client) error {
		site, err := c.SetOrigin(ctx, admin.SetOrigin{Site: o.Site, AnyOrigin: &o.AnyOrigin})
		if err != nil {
			return fmt.Errorf("site set: %w", err)
		}
		fmt.Fprintf(stdout, "site %q: %s\n", site.Name, originText(site))
		return nil
	})
}

// originText says where a site takes page views from.
func originText(s admin.Site) string {
	if s.AnyOrigin {
		return "takes page views from pages on any domain"
	}
	return "takes page views only from " + strings.Join(s.Domains, ", ") + " and their sub-domains"
}

func runSiteList(ctx context.Context, o AdminOptions, stdout io.Writer) error {
	return withAdmin(ctx, o.Data, func(c *admin.Client) error {
		list, err := c.Sites(ctx)
		if err != nil {
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
	return withAdmin(ctx, o.Data, func(c *admin.Client) error {
		u, err := c.AddUser(ctx, admin.AddUser{Email: o.Email, Password: pw, Role: o.Role})
		if err != nil {
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
	return withAdmin(ctx, o.Data, func(c *admin.Client) error {
		if _, err := c.SetPassword(ctx, admin.SetPassword{Email: o.Email, Password: pw}); err != nil {
			return fmt.Errorf("user passwd: %w", err)
		}
		fmt.Fprintf(stdout, "password of %s changed; all of their sessions were signed out\n", o.Email)
		return nil
	})
}

func runUserLogout(ctx context.Context, o UserOptions, stdout io.Writer) error {
	return withAdmin(ctx, o.Data, func(c *admin.Client) error {
		if _, err := c.Logout(ctx, admin.Logout{Email: o.Email}); err != nil {
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
	return withAdmin(ctx, o.Data, func(c *admin.Client) error {
		t, err := c.AddToken(ctx, admin.AddToken{Name: o.Name, Sites: o.Sites})
		if err != nil {
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
