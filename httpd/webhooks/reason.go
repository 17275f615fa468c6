package webhooks

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"net/http"
	"syscall"
)

// Reasons why a POST failed (store.DeliveryAttempt.Reason): the few kinds
// of failure a site's owner can act on, which the delivery log words in
// the owner's language (ReasonText) above the technical detail. Their
// numbers are stored: never renumber one.
const (
	ReasonNone        byte = 0  // it did not fail, or an email's or a Telegram message's failure, which its server words
	ReasonTimeout     byte = 1  // no answer within the timeout
	ReasonNoHost      byte = 2  // the URL's host name does not resolve
	ReasonNotAllowed  byte = 3  // the address is refused by the outbound Policy
	ReasonConnRefused byte = 4  // nothing listens at the address and port
	ReasonTLS         byte = 5  // the HTTPS handshake failed: certificate, or no TLS there
	ReasonNetwork     byte = 6  // any other failure to connect or to read the answer
	ReasonRedirect    byte = 7  // a 3xx, not followed
	ReasonAuth        byte = 8  // 401 or 403
	ReasonNotFound    byte = 9  // 404
	ReasonGone        byte = 10 // 410: ends the delivery
	ReasonSlowDown    byte = 11 // 429
	ReasonRejected    byte = 12 // another status below 500
	ReasonServer      byte = 13 // 5xx
	ReasonNoSMTP      byte = 14 // an email, and no --smtp to send it through
)

// reasonTexts are the words of each reason, catalog keys of the dashboard
// (httpd/i18n/ru/webhooks.txt).
var reasonTexts = [...]string{
	ReasonTimeout:     "The receiver did not answer in time.",
	ReasonNoHost:      "The URL's domain does not exist: check it for a typo.",
	ReasonNotAllowed:  "The URL leads to a local or private network, which this server does not send to.",
	ReasonConnRefused: "Nothing answers at that address: is the receiver running, and is the port right?",
	ReasonTLS:         "The secure (HTTPS) connection failed: the receiver's certificate is not valid, or it does not speak HTTPS there.",
	ReasonNetwork:     "Could not connect to the receiver.",
	ReasonRedirect:    "The receiver answered with a redirect, which is not followed: give the final URL.",
	ReasonAuth:        "The receiver refused access: check the secret it verifies the signature with.",
	ReasonNotFound:    "The receiver has no such page: check the URL's path.",
	ReasonGone:        "The receiver says the URL is gone for good.",
	ReasonSlowDown:    "The receiver asks to send less often.",
	ReasonRejected:    "The receiver refused the request.",
	ReasonServer:      "The receiver failed with an error of its own.",
	ReasonNoSMTP:      "No mail server is set up to send email through: it waits until whoever runs this server starts it with --smtp.",
}

// ReasonText is the words of reason for the delivery log, a key of the
// dashboard's catalog; "" for ReasonNone or one not known.
func ReasonText(reason byte) string {
	if int(reason) < len(reasonTexts) {
		return reasonTexts[reason]
	}
	return ""
}

// statusReason is the reason of an answer with status that is no 2xx.
func statusReason(status int) byte {
	switch {
	case status >= 200 && status <= 299:
		return ReasonNone
	case status >= 300 && status <= 399:
		return ReasonRedirect
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		return ReasonAuth
	case status == http.StatusNotFound:
		return ReasonNotFound
	case status == http.StatusGone:
		return ReasonGone
	case status == http.StatusTooManyRequests:
		return ReasonSlowDown
	case status >= 500:
		return ReasonServer
	}
	return ReasonRejected
}

// errReason is the reason of a request that got no answer: err is what
// the client returned.
func errReason(err error) byte {
	var dns *net.DNSError
	var ne net.Error
	var certInvalid x509.CertificateInvalidError
	var hostname x509.HostnameError
	var authority x509.UnknownAuthorityError
	var verify *tls.CertificateVerificationError
	var record tls.RecordHeaderError
	switch {
	case errors.Is(err, ErrRefused):
		return ReasonNotAllowed
	case errors.As(err, &dns) && dns.IsNotFound:
		return ReasonNoHost
	case errors.Is(err, syscall.ECONNREFUSED):
		return ReasonConnRefused
	case errors.As(err, &verify), errors.As(err, &certInvalid), errors.As(err, &hostname), errors.As(err, &authority), errors.As(err, &record):
		return ReasonTLS
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return ReasonTimeout
	}
	return ReasonNetwork
}
