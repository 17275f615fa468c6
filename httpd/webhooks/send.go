package webhooks

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"appliance/internal/detach"
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

// Send posts r with client (Hooks.Client: the one client of every
// outbound request), giving up after timeout. status is the HTTP status (0
// when no answer came) and failure says why the receiver did not take it
// ("" for a 2xx): the error, or the status line with a short quoted
// excerpt of the answer (or the redirect, which is not followed). The
// excerpt is kept short so that the log of a URL pointed at some internal
// service shows little of what it answered. reason is the kind of the
// failure (Reason*; ReasonNone for a 2xx), for a log that says it in the
// reader's words.
func Send(ctx context.Context, client *http.Client, timeout time.Duration, r Request) (status int, failure string, reason byte) {
	ctx, cancel := detach.Until(ctx.Done(), timeout) // ctx may be a RequestCtx
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.URL, bytes.NewReader(r.Body))
	if err != nil {
		return 0, err.Error(), ReasonNetwork
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", r.UserAgent)
	req.Header.Set(HeaderSignature, Sign(r.Secret, r.At, r.Body))
	req.Header.Set(HeaderEvent, r.Event)
	req.Header.Set(HeaderDelivery, strconv.FormatUint(r.ID, 10))
	req.Header.Set(HeaderAttempt, strconv.FormatUint(uint64(r.Attempt), 10))
	resp, err := client.Do(req)
	if err != nil {
		return 0, err.Error(), errReason(err)
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, maxExcerpt*utf8.UTFMax))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // lets the connection be reused
	if resp.StatusCode >= 200 && resp.StatusCode <= 299 {
		return resp.StatusCode, "", ReasonNone
	}
	// The status line in its standard words: the receiver's own reason
	// phrase is text it chose, like the body.
	failure = strings.TrimSpace(strconv.Itoa(resp.StatusCode) + " " + http.StatusText(resp.StatusCode))
	if loc := resp.Header.Get("Location"); loc != "" {
		failure += " (redirect to " + excerpt([]byte(loc)) + " not followed)"
	} else if m := bytes.TrimSpace(msg); len(m) > 0 {
		failure += ": " + excerpt(m)
	}
	return resp.StatusCode, failure, statusReason(resp.StatusCode)
}

// maxExcerpt is how many characters of an answer a failure shows.
const maxExcerpt = 120

// excerpt is the start of b, quoted, with control characters escaped and
// invalid UTF-8 replaced: at most maxExcerpt characters between the quotes,
// then "…" when b is longer.
func excerpt(b []byte) string {
	out, n := []byte{'"'}, 0
	for _, r := range string(b) {
		q := strconv.Quote(string(r))
		q = q[1 : len(q)-1]
		if n += utf8.RuneCountInString(q); n > maxExcerpt {
			return string(out) + `"…`
		}
		out = append(out, q...)
	}
	return string(append(out, '"'))
}
