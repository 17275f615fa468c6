package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"appliance/store/storetest"
)

// serve with a flag given wrongly is a usage error, as an unknown flag is:
// exit 2, the flag named, the hint at serve's help, and no store made in
// --data (a typo in a unit file must not leave an empty store behind, nor
// look like a failure of the server). Run as the binary, exit code
// included.
func TestServeRefusesBadFlagValues(t *testing.T) {
	for _, tc := range []struct {
		args []string
		say  string
	}{
		{[]string{"--listen", "8080"}, `--listen "8080": want HOST:PORT or :PORT`},
		{[]string{"--listen", "127.0.0.1:80000"}, `--listen "127.0.0.1:80000"`},
		{[]string{"--public-url", "track.example.com"}, `--public-url "track.example.com": want http(s)://host[:port]`},
		{[]string{"--public-url", "https://shop.example.com/track"}, `--public-url "https://shop.example.com/track": the appliance answers at the root of its host`},
		{[]string{"--tls-cert", "cert.pem"}, "--tls-cert and --tls-key go together"},
		{[]string{"--l0-compaction", "99"}, "--l0-compaction 99: want 1 to 32"},
		{[]string{"--max-conns", "-5"}, "--max-conns -5: want a number of connections"},
		{[]string{"--tracker-ip-burst", "-3"}, "--tracker-ip-burst -3: want a number of requests"},
		{[]string{"--acme-domain", "track.example.com", "--http-listen", "80"}, `--http-listen "80"`},
		// Taken, they failed only at a browser's first visit, in the log.
		{[]string{"--acme-domain", "track.example.com", "--acme-email", "notanemail"}, `appliance: serve: --acme-email "notanemail": give an email address such as you@example.com` + "\n"},
		{[]string{"--acme-domain", "track.example.com", "--acme-directory", "acme-staging-v02.api.letsencrypt.org/directory"}, `appliance: serve: --acme-directory "acme-staging-v02.api.letsencrypt.org/directory": give the authority's directory URL, such as https://acme-v02.api.letsencrypt.org/directory` + "\n"},
		{[]string{"--export", "nast://127.0.0.1:4222"}, `--export "nast://127.0.0.1:4222": want a NATS server's URL`},
		// The email flags too, in serve's words (not "mail: invalid
		// email settings: ..."); they were refused after the store.
		{[]string{"--smtp", "http://mail.example"}, `appliance: serve: --smtp: want smtp://[user:password@]host[:port] or smtps://..., not "http://mail.example"` + "\n"},
		{[]string{"--smtp", "smtp://127.0.0.1:25"}, `appliance: serve: --smtp-from: "" is not an email address such as "Shop <noreply@shop.example>"` + "\n"},
		// The log's flags in serve's words too, as every other one is.
		{[]string{"--log-format", "xml"}, `appliance: serve: --log-format is text or json, not "xml"` + "\n"},
		{[]string{"--log-level", "loud"}, `appliance: serve: --log-level is debug, info, warn or error, not "loud"` + "\n"},
		// Each of the event stream's limits named with its value; they
		// were "--export-max-age, --export-max-bytes and
		// --export-dedup-window cannot be negative", whichever it was.
		{[]string{"--export", "nats://127.0.0.1:4222", "--export-max-bytes", "-5"}, "appliance: serve: --export-max-bytes -5: want the most bytes a new stream keeps, or 0 for no limit\n"},
		{[]string{"--export", "nats://127.0.0.1:4222", "--export-max-age", "-1h"}, "appliance: serve: --export-max-age -1h0m0s: want how long a new stream keeps events"},
		{[]string{"--export", "nats://127.0.0.1:4222", "--export-dedup-window", "-1m"}, "appliance: serve: --export-dedup-window -1m0s: want how long"},
		// A flag that applies only with another one, given without it,
		// was ignored without a word.
		{[]string{"--acme-email", "owner@example.com"}, "appliance: serve: --acme-email applies only with --acme-domain, which is not given: add --acme-domain, or leave out --acme-email\n"},
		{[]string{"--acme-directory", "https://acme-staging-v02.api.letsencrypt.org/directory", "--http-listen", ":8081"}, "appliance: serve: --acme-directory, --http-listen apply only with --acme-domain"},
		{[]string{"--export-subject", "shop.events"}, "appliance: serve: --export-subject applies only with --export, which is not given: add --export, or leave out --export-subject\n"},
		{[]string{"--export-max-bytes", "1000000", "--export-backlog", "10"}, "appliance: serve: --export-max-bytes, --export-backlog apply only with --export"},
		{[]string{"--smtp-from", "Shop <noreply@shop.example>"}, "appliance: serve: --smtp-from applies only with --smtp, which is not given: add --smtp, or leave out --smtp-from\n"},
		{[]string{"--pprof"}, "appliance: serve: --pprof applies only with --metrics-token, which is not given"},
	} {
		dir := filepath.Join(t.TempDir(), "data")
		// A serve that takes the flag serves on: stopped after a minute,
		// against a hang, not a timing claim.
		ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, os.Args[0], append([]string{"serve", "--data", dir, "--listen", "127.0.0.1:0"}, tc.args...)...)
		cmd.Dir = t.TempDir()
		cmd.Env = append(os.Environ(), "APPLIANCE_TEST_MAIN=1")
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		err := cmd.Run()
		name := strings.Join(tc.args, " ")
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			t.Fatalf("serve %s: %v, want exit 2", name, err)
		}
		if got := stderr.String(); ee.ExitCode() != 2 || !strings.Contains(got, tc.say) || !strings.Contains(got, "Run 'appliance serve --help' for usage.") {
			t.Errorf("serve %s: exit %d, stderr %q; want exit 2, %q and the hint", name, ee.ExitCode(), got, tc.say)
		}
		if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("serve %s made %s (%v); want nothing made", name, dir, err)
		}
	}
}

// A data directory whose admin socket's path is longer than a unix socket
// may have is refused before anything is made, saying so, rather than with
// bind's "invalid argument" after the store was made.
func TestServeRefusesDataPathTooLongForItsSocket(t *testing.T) {
	dir := filepath.Join(t.TempDir(), strings.Repeat("d", 120))
	cmd := exec.Command(os.Args[0], "serve", "--data", dir, "--listen", "127.0.0.1:0")
	cmd.Env = append(os.Environ(), "APPLIANCE_TEST_MAIN=1")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 || !strings.Contains(stderr.String(), "too long for its admin socket") {
		t.Errorf("serve --data %s: %v, stderr %q; want exit 1 and the path too long", dir, err, stderr.String())
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("serve made %s (%v); want nothing made", dir, err)
	}
}

// A flag's value its type refuses, on the command line or from its
// APPLIANCE_* variable (a systemd unit's Environment=, where yes and no are
// the custom), says what the flag takes, not the parser's words
// ("strconv.ParseBool: parsing ...").
func TestFlagValuesSayWhatTheyTake(t *testing.T) {
	for _, tc := range []struct {
		args []string
		env  string
		say  string
	}{
		{[]string{"serve", "--trust-proxy=yes"}, "", `--trust-proxy "yes": want true or false`},
		{[]string{"serve"}, "APPLIANCE_TRUST_PROXY=yes", `APPLIANCE_TRUST_PROXY="yes": want true or false (--trust-proxy)`},
		{[]string{"serve", "--max-conns", "lots"}, "", `--max-conns "lots": want a whole number`},
		{[]string{"serve", "--export-max-age", "3days"}, "", `--export-max-age "3days": want a duration such as 90s`},
		// The flags of our own types say it in the same words, the value
		// once, not pflag's `invalid argument "lots" for "--cache-size"
		// flag: "lots" is not a size` (three times from the variable).
		{[]string{"serve", "--cache-size", "lots"}, "", `appliance: --cache-size "lots": not a size: write a number of bytes with an optional unit, e.g. 64M or 2G` + "\n"},
		{[]string{"serve"}, "APPLIANCE_CACHE_SIZE=lots", `appliance: APPLIANCE_CACHE_SIZE="lots": not a size: write a number of bytes with an optional unit, e.g. 64M or 2G (--cache-size)` + "\n"},
		{[]string{"serve", "--tracker-site-rate", "-5"}, "", `appliance: --tracker-site-rate "-5": not a rate: requests per second, 0 or more` + "\n"},
		{[]string{"serve"}, "APPLIANCE_TRACKER_IP_RATE=fast", `appliance: APPLIANCE_TRACKER_IP_RATE="fast": not a rate: requests per second, 0 or more (--tracker-ip-rate)` + "\n"},
	} {
		dir := filepath.Join(t.TempDir(), "data")
		cmd := exec.Command(os.Args[0], append(tc.args, "--data", dir)...)
		cmd.Env = append(os.Environ(), "APPLIANCE_TEST_MAIN=1", tc.env)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		err := cmd.Run()
		var ee *exec.ExitError
		name := strings.TrimSpace(tc.env + " " + strings.Join(tc.args, " "))
		if !errors.As(err, &ee) || ee.ExitCode() != 2 {
			t.Fatalf("%s: %v, want exit 2; stderr %q", name, err, stderr.String())
		}
		if got := stderr.String(); !strings.Contains(got, tc.say) || strings.Contains(got, "strconv") || strings.Contains(got, "invalid argument") {
			t.Errorf("%s: stderr %q, want %q", name, got, tc.say)
		}
	}
}

// serve on a port another program holds says so, who holds it (here this
// test's process, whose descriptors serve may read) and what to do, not
// "listen tcp ...: bind: address already in use"; and it changes nothing
// in --data: no data directory made where there was none, no file of an
// existing store touched (opening it writes a new log and manifest). Run
// as the binary, exit code included.
func TestServeOnATakenPortChangesNothing(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	addr := ln.Addr().String()
	existing := t.TempDir()
	db := storetest.OpenAt(t, existing)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	for _, dir := range []string{filepath.Join(t.TempDir(), "data"), existing} {
		before := listing(t, dir)
		cmd := exec.Command(os.Args[0], "serve", "--data", dir, "--listen", addr)
		cmd.Env = append(os.Environ(), "APPLIANCE_TEST_MAIN=1")
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		err := cmd.Run()
		var ee *exec.ExitError
		want := fmt.Sprintf("appliance: serve: --listen %s: process %d (", addr, os.Getpid())
		if !errors.As(err, &ee) || ee.ExitCode() != 1 || !strings.HasPrefix(stderr.String(), want) ||
			!strings.HasSuffix(stderr.String(), ") already listens there; stop it, or give --listen another port\n") {
			t.Errorf("serve on a taken port: %v, printed %q; want exit 1 and %q...", err, stderr.String(), want)
		}
		if after := listing(t, dir); after != before {
			t.Errorf("serve on a taken port changed %s:\n%s\nwas:\n%s", dir, after, before)
		}
	}
}

// serve with --tls-cert/--tls-key files that do not make a certificate
// (a file missing, one that is no certificate, the files swapped, a key of
// another certificate) says which file and what is wrong with it, exits 1,
// and, as with a taken port, changes nothing in --data: the files are read
// before the store is made or opened. Run as the binary.
func TestServeRefusesBadTLSFilesBeforeTheStore(t *testing.T) {
	files := t.TempDir()
	cert, key := filepath.Join(files, "cert.pem"), filepath.Join(files, "key.pem")
	otherCert, otherKey := filepath.Join(files, "other-cert.pem"), filepath.Join(files, "other-key.pem")
	pool := x509.NewCertPool()
	writeCert(t, cert, key, 1, pool)
	writeCert(t, otherCert, otherKey, 2, pool)
	notCert := filepath.Join(files, "notes.txt")
	if err := os.WriteFile(notCert, []byte("the certificate is coming next week\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	existing := t.TempDir()
	db := storetest.OpenAt(t, existing)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, cert, key, say string
	}{
		{"missing certificate", filepath.Join(files, "no-such.pem"), key, "appliance: serve: --tls-cert: cannot read the certificate: open " + filepath.Join(files, "no-such.pem") + ": no such file or directory"},
		{"missing key", cert, filepath.Join(files, "no-such-key.pem"), "appliance: serve: --tls-key: cannot read the private key: open " + filepath.Join(files, "no-such-key.pem")},
		{"not a certificate", notCert, key, "appliance: serve: --tls-cert " + notCert + ` holds no certificate: want a PEM file with a "-----BEGIN CERTIFICATE-----" block`},
		{"swapped", key, cert, "appliance: serve: --tls-cert " + key + " holds no certificate"},
		{"key of another certificate", cert, otherKey, "appliance: serve: --tls-key " + otherKey + " does not go with the certificate in --tls-cert " + cert},
	} {
		for _, dir := range []string{filepath.Join(t.TempDir(), "data"), existing} {
			before := listing(t, dir)
			ctx, cancel := context.WithTimeout(t.Context(), time.Minute) // against a hang, not a timing claim
			cmd := exec.CommandContext(ctx, os.Args[0], "serve", "--data", dir, "--listen", "127.0.0.1:0", "--tls-cert", tc.cert, "--tls-key", tc.key)
			cmd.Env = append(os.Environ(), "APPLIANCE_TEST_MAIN=1")
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			err := cmd.Run()
			cancel()
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() != 1 || !strings.HasPrefix(stderr.String(), tc.say) {
				t.Errorf("%s: %v, printed %q; want exit 1 and %q", tc.name, err, stderr.String(), tc.say)
			}
			if after := listing(t, dir); after != before {
				t.Errorf("%s: serve changed %s:\n%s\nwas:\n%s", tc.name, dir, after, before)
			}
		}
	}
	// The key file holding a certificate says they may be swapped.
	cmd := exec.Command(os.Args[0], "serve", "--data", filepath.Join(t.TempDir(), "data"), "--listen", "127.0.0.1:0", "--tls-cert", cert, "--tls-key", otherCert)
	cmd.Env = append(os.Environ(), "APPLIANCE_TEST_MAIN=1")
	out, _ := cmd.CombinedOutput()
	if want := "--tls-key " + otherCert + " holds no private key"; !strings.Contains(string(out), want) || !strings.Contains(string(out), "are --tls-cert and --tls-key swapped?") {
		t.Errorf("a certificate as the key: %q; want %q and the hint that they may be swapped", out, want)
	}
}

// listing is every file under dir with its size and modification time;
// "" when dir does not exist.
func listing(t *testing.T, dir string) string {
	t.Helper()
	var b strings.Builder
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if errors.Is(err, fs.ErrNotExist) && p == dir {
			return nil
		}
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		fmt.Fprintf(&b, "%s %d %s\n", p, fi.Size(), fi.ModTime().Format(time.RFC3339Nano))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// serve --help says what --max-conns holds one client IP to, as the
// README's Commands table does: a newcomer load-testing from one machine
// met a cap the help did not name.
func TestMaxConnsHelpNamesThePerIPCap(t *testing.T) {
	c, _, err := newRoot(io.Discard).Find([]string{"serve"})
	if err != nil {
		t.Fatal(err)
	}
	if usage := c.Flags().Lookup("max-conns").Usage; !strings.Contains(usage, "a quarter of them (at most 512) from one client IP unless --trust-proxy") {
		t.Errorf("serve --max-conns: %q does not name the per-IP cap", usage)
	}
}

// The flags that apply only with another one (--acme-email with
// --acme-domain, --export-subject with --export) set through their
// APPLIANCE_* variables alone, as an environment file several servers or
// commands share may set them, are not refused: serve starts, and its log
// says once, at start, which variables it ignores and why.
func TestServeWarnsOfIgnoredVariables(t *testing.T) {
	log := serveLog(t, []string{"APPLIANCE_ACME_EMAIL=owner@example.com", "APPLIANCE_ACME_DIRECTORY=https://acme.example/directory",
		"APPLIANCE_EXPORT_SUBJECT=shop.events", "APPLIANCE_SMTP_FROM=noreply@shop.example",
		"APPLIANCE_PPROF=false"}, "--log-format", "json") // off: nothing ignored
	var warned []string
	sc := bufio.NewScanner(strings.NewReader(log))
	for sc.Scan() {
		var line struct{ Level, Msg, Why string }
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			t.Fatalf("log line %q: %v", sc.Text(), err)
		}
		if line.Level == "WARN" && line.Msg == "environment variables ignored" {
			warned = append(warned, line.Why)
		}
	}
	want := "APPLIANCE_ACME_EMAIL, APPLIANCE_ACME_DIRECTORY apply only with --acme-domain (APPLIANCE_ACME_DOMAIN), which is not set; " +
		"APPLIANCE_EXPORT_SUBJECT applies only with --export (APPLIANCE_EXPORT), which is not set; " +
		"APPLIANCE_SMTP_FROM applies only with --smtp (APPLIANCE_SMTP), which is not set"
	if len(warned) != 1 || warned[0] != want {
		t.Errorf("serve warned %q; want once %q; log:\n%s", warned, want, log)
	}
}
