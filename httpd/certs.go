package httpd

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
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
	pair, err := tls.LoadX509KeyPair(c.cert, c.key)
	if err != nil {
		return nil, fmt.Errorf("load TLS certificate %q and key %q: %w", c.cert, c.key, err)
	}
	c.current.Store(&pair)
	return pair.Leaf, nil
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
