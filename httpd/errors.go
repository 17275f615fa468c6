package httpd

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/valyala/fasthttp"

	"appliance/store"
)

// userError is an error a user can act on, as net.Error is one that may be
// retried: it carries the HTTP status that answers it and a message safe
// to show. The domain packages' errors (sites.Error, visits.Error...) and
// this package's Error implement it; every other error is a 500 whose
// cause is logged, not shown.
type userError interface {
	error
	Status() int
	UserMessage() string
}

// Error is a userError of the HTTP layer itself: a request that cannot be
// decoded, a limit, a page that is not there.
type Error struct {
	Code int
	Msg  string
	// RetryAfter is when a 429's client may try again, sent as the
	// Retry-After header (whole seconds, at least 1).
	RetryAfter time.Duration
	// format and args are Msg before formatting, for the dashboard to
	// show it in the reader's language (the format is a catalog key).
	format string
	args   []any
}

func (e *Error) Error() string       { return e.Msg }
func (e *Error) Status() int         { return e.Code }
func (e *Error) UserMessage() string { return e.Msg }

// errorf makes an *Error.
func errorf(status int, format string, a ...any) *Error {
	return &Error{Code: status, Msg: fmt.Sprintf(format, a...), format: format, args: a}
}

// MessageFormat is e's message before formatting: a catalog key and its
// arguments.
func (e *Error) MessageFormat() (string, []any) {
	if e.format == "" {
		return e.Msg, nil
	}
	return e.format, e.args
}

// tooMany is a 429 whose client may try again after wait.
func tooMany(wait time.Duration, format string, a ...any) *Error {
	return &Error{Code: fasthttp.StatusTooManyRequests, Msg: fmt.Sprintf(format, a...), RetryAfter: wait, format: format, args: a}
}

// asUserError is the userError in err's chain, with the store's own
// conditions (a full disk, a shutdown, a missing record) as users see them;
// nil for every other error.
func asUserError(err error) userError {
	if ue, ok := errors.AsType[userError](err); ok {
		return ue
	}
	switch {
	case errors.Is(err, store.ErrNotFound):
		return &Error{Code: fasthttp.StatusNotFound, Msg: err.Error()}
	case errors.Is(err, store.ErrDiskFull):
		return &Error{Code: fasthttp.StatusInsufficientStorage, Msg: "the server's disk is full: nothing was saved; try again later"}
	case errors.Is(err, store.ErrClosed):
		return &Error{Code: fasthttp.StatusServiceUnavailable, Msg: "shutting down, try again"}
	}
	return nil
}

// diskFullRetry is the Retry-After, in seconds, of an answer refused for a
// full disk: writes resume as soon as space is freed.
const diskFullRetry = "60"

// errorResponse is the one JSON shape of every error answer; an API
// whose answers always carry a result (sitePhoneCall) has it in errors too.
type errorResponse struct {
	Success bool   `json:"success"`
	Error   string `json:"error"`
	Result  any    `json:"result,omitempty"`
}

// failure is an error of a call whose failed answers carry a result, so
// that a page's code written for the reference reads resp.result without
// a TypeError: sitePhoneCall's {status, code}, addOfflineRequest's {code}.
type failure struct {
	err    error
	result any
}

func (f *failure) Error() string { return f.err.Error() }
func (f *failure) Unwrap() error { return f.err }

// failureCode names err for a page's code: the domain's own code when it
// has one (callbacks.CodeInvalidPhone...), else its kind by HTTP status.
func failureCode(err error) string {
	if c, ok := errors.AsType[interface {
		error
		Code() string
	}](err); ok && c.Code() != "" {
		return c.Code()
	}
	status := fasthttp.StatusInternalServerError
	if ue := asUserError(err); ue != nil {
		status = ue.Status()
	}
	switch status {
	case fasthttp.StatusBadRequest:
		return "invalid_request"
	case fasthttp.StatusForbidden:
		return "wrong_key"
	case fasthttp.StatusNotFound:
		return "unknown_site"
	case fasthttp.StatusRequestEntityTooLarge:
		return "too_large"
	case fasthttp.StatusTooManyRequests:
		return "rate_limit"
	}
	return "server_error"
}

// codeResult is the result of a failed call that answers only a code.
type codeResult struct {
	Code string `json:"code"`
}

// writeJSONError answers err as {"success":false,"error":...} with its status.
func (s *Server) writeJSONError(ctx *fasthttp.RequestCtx, err error) {
	ue := asUserError(err)
	if errors.Is(err, store.ErrDiskFull) {
		ctx.Response.Header.Set("Retry-After", diskFullRetry)
	}
	if ue == nil {
		s.log.Error("request failed", "path", string(ctx.Path()), "err", err)
		ue = &Error{Code: fasthttp.StatusInternalServerError, Msg: "internal error"}
	}
	if e, ok := ue.(*Error); ok && e.Code == fasthttp.StatusTooManyRequests {
		// Every 429 says when to come back; a fraction of a second is 1.
		ctx.Response.Header.Set("Retry-After", strconv.FormatInt(max(1, int64(math.Ceil(e.RetryAfter.Seconds()))), 10))
	}
	resp := errorResponse{Success: false, Error: ue.UserMessage()}
	if f, ok := errors.AsType[*failure](err); ok {
		resp.Result = f.result
	}
	writeJSON(ctx, ue.Status(), resp)
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
