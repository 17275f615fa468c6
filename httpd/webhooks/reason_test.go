package webhooks_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"appliance/httpd/webhooks"
)

// Each way a receiver fails is told apart, so that the delivery log can
// say it in the owner's words: real receivers on 127.0.0.1 that time
// out, refuse the connection, speak HTTPS with a certificate nobody
// trusts, or answer a status; and an address the policy refuses.
func TestSendReasons(t *testing.T) {
	status := func(code int) *httptest.Server {
		ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if code/100 == 3 {
				w.Header().Set("Location", "https://elsewhere.example/")
			}
			w.WriteHeader(code)
		}))
		t.Cleanup(ts.Close)
		return ts
	}
	release := make(chan struct{})
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-release }))
	t.Cleanup(hang.Close)
	t.Cleanup(func() { close(release) }) // runs before hang.Close
	tlsSrv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	t.Cleanup(tlsSrv.Close)
	plain := status(http.StatusOK)

	private := webhooks.Policy{AllowPrivate: true}.Client()
	for _, tt := range []struct {
		name   string
		url    string
		client *http.Client
		want   byte
	}{
		{"delivered", plain.URL, private, webhooks.ReasonNone},
		{"timeout", hang.URL, private, webhooks.ReasonTimeout},
		{"nothing listens", "http://" + freePort(t) + "/", private, webhooks.ReasonConnRefused},
		{"untrusted certificate", tlsSrv.URL, private, webhooks.ReasonTLS},
		{"loopback refused", plain.URL, webhooks.Policy{}.Client(), webhooks.ReasonNotAllowed},
		{"302", status(http.StatusFound).URL, private, webhooks.ReasonRedirect},
		{"401", status(http.StatusUnauthorized).URL, private, webhooks.ReasonAuth},
		{"403", status(http.StatusForbidden).URL, private, webhooks.ReasonAuth},
		{"404", status(http.StatusNotFound).URL, private, webhooks.ReasonNotFound},
		{"410", status(http.StatusGone).URL, private, webhooks.ReasonGone},
		{"422", status(http.StatusUnprocessableEntity).URL, private, webhooks.ReasonRejected},
		{"429", status(http.StatusTooManyRequests).URL, private, webhooks.ReasonSlowDown},
		{"500", status(http.StatusInternalServerError).URL, private, webhooks.ReasonServer},
		{"503", status(http.StatusServiceUnavailable).URL, private, webhooks.ReasonServer},
	} {
		t.Run(tt.name, func(t *testing.T) {
			// Only the hanging receiver is waited on for a short time: on
			// a busy machine a TLS handshake may take longer than that.
			timeout := 30 * time.Second
			if tt.want == webhooks.ReasonTimeout {
				timeout = 300 * time.Millisecond
			}
			_, failure, reason := webhooks.Send(context.Background(), tt.client, timeout,
				webhooks.Request{URL: tt.url, Secret: "reason-secret-0123456789", At: time.Now(), Body: []byte("{}")})
			if reason != tt.want {
				t.Errorf("reason %d (%q), want %d (%q); failure %q", reason, webhooks.ReasonText(reason), tt.want, webhooks.ReasonText(tt.want), failure)
			}
			if (reason == webhooks.ReasonNone) != (failure == "") || (reason != webhooks.ReasonNone) != (webhooks.ReasonText(reason) != "") {
				t.Errorf("reason %d with failure %q and words %q", reason, failure, webhooks.ReasonText(reason))
			}
		})
	}
}
