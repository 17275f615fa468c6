package httpd

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/valyala/fasthttp"

	"appliance/httpd/accounts"
	"appliance/httpd/callbacks"
	"appliance/httpd/sites"
	"appliance/httpd/visits"
	"appliance/numbers/tracking"
	"appliance/store"
)

// Error is an error a user can act on: it carries the HTTP status and a
// message safe to show. Every other error is a 500 whose cause is logged,
// not shown.
type Error struct {
	Status int
	Msg    string
	// RetryAfter is when a 429's client may try again, sent as the
	// Retry-After header (whole seconds, at least 1).
	RetryAfter time.Duration
}

func (e *Error) Error() string { return e.Msg }

// errorf makes an *Error.
func errorf(status int, format string, a ...any) *Error {
	return &Error{Status: status, Msg: fmt.Sprintf(format, a...)}
}

// tooMany is a 429 whose client may try again after wait.
func tooMany(wait time.Duration, format string, a ...any) *Error {
	return &Error{Status: fasthttp.StatusTooManyRequests, Msg: fmt.Sprintf(format, a...), RetryAfter: wait}
}

// asUserError maps domain errors to their status; nil for unknown errors.
func asUserError(err error) *Error {
	var e *Error
	switch {
	case errors.As(err, &e):
		return e
	case errors.Is(err, sites.ErrInvalid), errors.Is(err, accounts.ErrInvalid):
		return &Error{Status: fasthttp.StatusBadRequest, Msg: err.Error()}
	case errors.Is(err, visits.ErrInvalid):
		return &Error{Status: fasthttp.StatusBadRequest, Msg: reason(err, visits.ErrInvalid)}
	case errors.Is(err, callbacks.ErrInvalid):
		return &Error{Status: fasthttp.StatusBadRequest, Msg: reason(err, callbacks.ErrInvalid)}
	case errors.Is(err, callbacks.ErrSettings):
		return &Error{Status: fasthttp.StatusBadRequest, Msg: reason(err, callbacks.ErrSettings)}
	case errors.Is(err, tracking.ErrInvalid):
		return &Error{Status: fasthttp.StatusBadRequest, Msg: trackingMessage(err)}
	case errors.Is(err, tracking.ErrNoPool), errors.Is(err, tracking.ErrNoStatic), errors.Is(err, tracking.ErrNoSession):
		return &Error{Status: fasthttp.StatusNotFound, Msg: trackingMessage(err)}
	case errors.Is(err, visits.ErrUnknown):
		return &Error{Status: fasthttp.StatusBadRequest, Msg: reason(err, visits.ErrUnknown)}
	case errors.Is(err, sites.ErrNotFound), errors.Is(err, accounts.ErrNoUser), errors.Is(err, store.ErrNotFound):
		return &Error{Status: fasthttp.StatusNotFound, Msg: err.Error()}
	case errors.Is(err, accounts.ErrExists):
		return &Error{Status: fasthttp.StatusConflict, Msg: err.Error()}
	case errors.Is(err, accounts.ErrBadLogin), errors.Is(err, accounts.ErrNoSession), errors.Is(err, accounts.ErrNoToken):
		return &Error{Status: fasthttp.StatusUnauthorized, Msg: err.Error()}
	case errors.Is(err, accounts.ErrSetupUsed):
		return &Error{Status: fasthttp.StatusForbidden, Msg: err.Error()}
	case errors.Is(err, store.ErrDiskFull):
		return &Error{Status: fasthttp.StatusInsufficientStorage, Msg: "the server's disk is full: nothing was saved; try again later"}
	case errors.Is(err, store.ErrClosed):
		return &Error{Status: fasthttp.StatusServiceUnavailable, Msg: "shutting down, try again"}
	}
	return nil
}

// diskFullRetry is the Retry-After, in seconds, of an answer refused for a
// full disk: writes resume as soon as space is freed.
const diskFullRetry = "60"

// errorResponse is the one JSON shape of every error answer.
type errorResponse struct {
	Success bool   `json:"success"`
	Error   string `json:"error"`
}

// writeJSONError answers err as {"success":false,"error":...} with its status.
func (s *Server) writeJSONError(ctx *fasthttp.RequestCtx, err error) {
	ue := asUserError(err)
	if errors.Is(err, store.ErrDiskFull) {
		ctx.Response.Header.Set("Retry-After", diskFullRetry)
	}
	if ue == nil {
		s.log.Error("request failed", "path", string(ctx.Path()), "err", err)
		ue = &Error{Status: fasthttp.StatusInternalServerError, Msg: "internal error"}
	}
	if ue.Status == fasthttp.StatusTooManyRequests {
		// Every 429 says when to come back; a fraction of a second is 1.
		ctx.Response.Header.Set("Retry-After", strconv.FormatInt(max(1, int64(math.Ceil(ue.RetryAfter.Seconds()))), 10))
	}
	writeJSON(ctx, ue.Status, errorResponse{Success: false, Error: ue.Msg})
}

// writeJSON answers v as JSON with the status.
func writeJSON(ctx *fasthttp.RequestCtx, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = fasthttp.StatusInternalServerError, []byte(`{"success":false,"error":"internal error"}`)
	}
	ctx.SetStatusCode(status)
	ctx.SetContentType("application/json; charset=utf-8")
	ctx.SetBody(b)
}

// logger is the server's structured log.
type logger = *slog.Logger

// reason is the text after sentinel in err's message ("record hit: visits:
// invalid input: t is too long" -> "t is too long"): what the caller did
// wrong, without the operation and package of the server's side.
func reason(err, sentinel error) string {
	msg, s := err.Error(), sentinel.Error()+": "
	if i := strings.LastIndex(msg, s); i >= 0 {
		return msg[i+len(s):]
	}
	return msg
}
