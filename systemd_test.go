package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// notifySocket listens where a child's sd_notify datagrams arrive, as
// systemd's socket does, and returns its path and a function that reads
// the next datagram.
func notifySocket(t *testing.T) (path string, next func() string) {
	t.Helper()
	// A short directory: a unix socket path has at most 107 bytes.
	dir, err := os.MkdirTemp("", "sdn")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	path = filepath.Join(dir, "notify")
	c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return path, func() string {
		t.Helper()
		buf := make([]byte, 4096)
		c.SetReadDeadline(time.Now().Add(time.Minute)) // against a hang, not a timing claim
		n, err := c.Read(buf)
		if err != nil {
			t.Fatalf("no notification from serve: %v", err)
		}
		return string(buf[:n])
	}
}

// serve under systemd (Type=notify) says READY=1 once it serves, and
// STOPPING=1 when SIGTERM starts its shutdown.
func TestServeNotifiesSystemd(t *testing.T) {
	sock, next := notifySocket(t)
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "serve", "--data", dir, "--listen", "127.0.0.1:0")
	cmd.Env = []string{"NOTIFY_SOCKET=" + sock}
	cmd, addr := startChildCmd(t, dir, cmd)
	if got := next(); !strings.HasPrefix(got, "READY=1\n") || !strings.Contains(got, "STATUS=serving http://"+addr) {
		t.Errorf("first notification %q, want READY=1 and the status", got)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if got := next(); got != "STOPPING=1" {
		t.Errorf("notification after SIGTERM %q, want STOPPING=1", got)
	}
	if err := cmd.Wait(); err != nil {
		t.Errorf("serve after SIGTERM: %v", err)
	}
}

// SIGHUP makes serve read --tls-cert/--tls-key again: a new handshake gets
// the certificate now in the files. Files that do not load leave the
// certificate in use. systemd hears RELOADING=1, then READY=1 when done.
func TestSIGHUPReloadsTLSCertificate(t *testing.T) {
	sock, next := notifySocket(t)
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	pool := x509.NewCertPool()
	writeCert(t, certFile, keyFile, 1, pool)
	cmd := exec.Command(os.Args[0], "serve", "--data", dir, "--listen", "127.0.0.1:0",
		"--tls-cert", certFile, "--tls-key", keyFile)
	cmd.Env = []string{"NOTIFY_SOCKET=" + sock}
	cmd, addr := startChildCmd(t, dir, cmd)
	if got := next(); !strings.HasPrefix(got, "READY=1") {
		t.Fatalf("first notification %q, want READY=1", got)
	}
	serial := func() int64 {
		t.Helper()
		c, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: pool, ServerName: "localhost"})
		if err != nil {
			t.Fatalf("TLS handshake: %v", err)
		}
		defer c.Close()
		return c.ConnectionState().PeerCertificates[0].SerialNumber.Int64()
	}
	reload := func() {
		t.Helper()
		if err := cmd.Process.Signal(syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
		if got := next(); !strings.HasPrefix(got, "RELOADING=1\nMONOTONIC_USEC=") {
			t.Fatalf("notification after SIGHUP %q, want RELOADING=1 and MONOTONIC_USEC", got)
		}
		if got := next(); got != "READY=1" {
			t.Fatalf("notification after the reload %q, want READY=1", got)
		}
	}
	if got := serial(); got != 1 {
		t.Fatalf("serial %d before the reload, want 1", got)
	}
	writeCert(t, certFile, keyFile, 2, pool)
	reload()
	if got := serial(); got != 2 {
		t.Errorf("serial %d after replacing the files and SIGHUP, want 2", got)
	}
	if err := os.WriteFile(keyFile, []byte("not a key"), 0o600); err != nil {
		t.Fatal(err)
	}
	reload()
	if got := serial(); got != 2 {
		t.Errorf("serial %d after SIGHUP with a broken key file, want 2 (the one in use)", got)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Errorf("serve after SIGTERM: %v", err)
	}
}

// writeCert writes a self-signed certificate for localhost and 127.0.0.1
// with the serial number given, and adds it to pool.
func writeCert(t *testing.T, certFile, keyFile string, serial int64, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial),
		Subject:      pkix.Name{CommonName: "localhost"},
		DNSNames:     []string{"localhost"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IsCA:         true, BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	// Written beside and renamed, as certbot and autocert do.
	for file, block := range map[string]*pem.Block{certFile: {Type: "CERTIFICATE", Bytes: der}, keyFile: {Type: "EC PRIVATE KEY", Bytes: kb}} {
		if err := os.WriteFile(file+".new", pem.EncodeToMemory(block), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(file+".new", file); err != nil {
			t.Fatal(err)
		}
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool.AddCert(cert)
}
