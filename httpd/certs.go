package httpd

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
	"strings"
	"sync/atomic"
	"time"
)

// certFiles serves the certificate of a pair of PEM files (--tls-cert,
// --tls-key) and reads them again on reload (SIGHUP), so that a renewed
// certificate takes effect without a restart. A pair that does not load
// leaves the one in use.
type certFiles struct {
	cert, key string
	current   atomic.Pointer[tls.Certificate]
}

// loadCertFiles reads the pair once; it fails when it does not load.
func loadCertFiles(certFile, keyFile string) (*certFiles, error) {
	c := &certFiles{cert: certFile, key: keyFile}
	if _, err := c.reload(); err != nil {
		return nil, err
	}
	return c, nil
}

// reload reads the files again and returns the certificate now served.
func (c *certFiles) reload() (*x509.Certificate, error) {
	pair, err := loadPair(c.cert, c.key)
	if err != nil {
		return nil, err
	}
	c.current.Store(&pair)
	return pair.Leaf, nil
}

// loadPair reads a certificate and its key from PEM files, saying which
// file is wrong and how: one that cannot be read, one that holds no
// certificate (or no key), a key that is not the certificate's.
func loadPair(certFile, keyFile string) (tls.Certificate, error) {
	certPEM, err := os.ReadFile(certFile)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("--tls-cert: cannot read the certificate: %w", err)
	}
	keyPEM, err := os.ReadFile(keyFile)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("--tls-key: cannot read the private key: %w", err)
	}
	if !hasPEM(certPEM, func(typ string) bool { return typ == "CERTIFICATE" }) {
		return tls.Certificate{}, fmt.Errorf(`--tls-cert %s holds no certificate: want a PEM file with a "-----BEGIN CERTIFICATE-----" block (the full chain, as certbot's fullchain.pem)`, certFile)
	}
	if !hasPEM(keyPEM, func(typ string) bool { return typ == "PRIVATE KEY" || strings.HasSuffix(typ, " PRIVATE KEY") }) {
		hint := ""
		if hasPEM(keyPEM, func(typ string) bool { return typ == "CERTIFICATE" }) {
			hint = " (it holds a certificate: are --tls-cert and --tls-key swapped?)"
		}
		return tls.Certificate{}, fmt.Errorf(`--tls-key %s holds no private key: want a PEM file with a "-----BEGIN PRIVATE KEY-----" block (certbot's privkey.pem)%s`, keyFile, hint)
	}
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("--tls-key %s does not go with the certificate in --tls-cert %s (give the key the certificate was issued for): %w", keyFile, certFile, err)
	}
	return pair, nil
}

// hasPEM reports whether data holds a PEM block of a type want accepts.
func hasPEM(data []byte, want func(typ string) bool) bool {
	for {
		var b *pem.Block
		if b, data = pem.Decode(data); b == nil {
			return false
		}
		if want(b.Type) {
			return true
		}
	}
}

// getCertificate is tls.Config.GetCertificate.
func (c *certFiles) getCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	return c.current.Load(), nil
}

// reloadCerts is what a reload signal does: read the certificate files
// again (there is nothing else to reload), telling systemd while it runs.
func (s *Server) reloadCerts() {
	if s.certs == nil {
		s.log.Info("reload: no --tls-cert/--tls-key files to read again")
		return
	}
	s.notify("RELOADING=1", fmt.Sprintf("MONOTONIC_USEC=%d", monotonicUsec()))
	defer s.notify("READY=1")
	leaf, err := s.certs.reload()
	if err != nil {
		s.log.Error("reload: kept the TLS certificate in use", "err", err)
		return
	}
	s.log.Info("reloaded the TLS certificate", "file", s.certs.cert, "subject", leaf.Subject.String(),
		"serial", leaf.SerialNumber.String(), "not_after", leaf.NotAfter.UTC().Format(time.RFC3339))
}
