package webhooks

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strconv"
	"time"
)

// Request is one signed POST of a JSON body to a receiver: a webhook
// delivery, or a callback to a site's telephony scenario.
type Request struct {
	URL, Secret string
	Event       string    // X-Appliance-Event
	ID          uint64    // X-Appliance-Delivery: the same on every retry, so a receiver acts once
	Attempt     uint32    // X-Appliance-Attempt: 1 for the first try
	At          time.Time // signing time
	Body        []byte
	UserAgent   string
}

// Send posts r with client, giving up after timeout. status is the HTTP
// status (0 when no answer came) and failure says why the receiver did
// not take it ("" for a 2xx): the error, or the status with the start of
// the answer (or the redirect, which is not followed).
func Send(ctx context.Context, client *http.Client, timeout time.Duration, r Request) (status int, failure string) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.URL, bytes.NewReader(r.Body))
	if err != nil {
		return 0, err.Error()
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", r.UserAgent)
	req.Header.Set(HeaderSignature, Sign(r.Secret, r.At, r.Body))
	req.Header.Set(HeaderEvent, r.Event)
	req.Header.Set(HeaderDelivery, strconv.FormatUint(r.ID, 10))
	req.Header.Set(HeaderAttempt, strconv.FormatUint(uint64(r.Attempt), 10))
	resp, err := client.Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // lets the connection be reused
	if resp.StatusCode >= 200 && resp.StatusCode <= 299 {
		return resp.StatusCode, ""
	}
	failure = resp.Status
	if loc := resp.Header.Get("Location"); loc != "" {
		failure += " (redirect to " + loc + " not followed)"
	} else if m := bytes.TrimSpace(msg); len(m) > 0 {
		failure += ": " + string(bytes.ToValidUTF8(m, []byte("?")))
	}
	return resp.StatusCode, failure
}
