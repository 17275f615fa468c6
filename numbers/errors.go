package numbers

import (
	"errors"
	"fmt"
)

// Error is an error of package numbers that a caller can answer as is: it
// carries its status (HTTP's numbers: 400, 404...) and a message for the
// person who sent the request. Its text keeps the package's form, the
// reason first and the kind last ("pool name \"x\": ...: numbers: invalid
// input"). An error of a kind wraps its sentinel, so errors.Is still tells
// the kind; the sentinels are Errors themselves.
type Error struct {
	kind   *Error // nil for a sentinel
	status int
	msg    string
	cause  error // what the message reports, when it is another error
	// format and args are msg before formatting: a catalog key of the
	// dashboard and its arguments (MessageFormat).
	format string
	args   []any
}

func (e *Error) Error() string {
	if e.kind == nil {
		return "numbers: " + e.msg
	}
	return e.msg + ": " + e.kind.Error()
}

// Unwrap returns the sentinel e is of and its cause, if any.
func (e *Error) Unwrap() []error {
	var out []error
	if e.kind != nil {
		out = append(out, e.kind)
	}
	if e.cause != nil {
		out = append(out, e.cause)
	}
	return out
}

// Status is the HTTP status that answers e.
func (e *Error) Status() int { return e.status }

// UserMessage is what is wrong, for the person who sent the request: the
// reason, and what was not found ("remove pool \"x\": no such pool").
func (e *Error) UserMessage() string {
	if e.kind != nil && e.status == 404 {
		return e.msg + ": " + e.kind.msg
	}
	return e.msg
}

// MessageFormat is UserMessage before formatting, for a reader's
// language: the format (a catalog key of the dashboard) and its
// arguments; a message not made by errorf is its own format.
func (e *Error) MessageFormat() (string, []any) {
	if e.format == "" || e.kind != nil && e.status == 404 {
		return e.UserMessage(), nil
	}
	return e.format, e.args
}

// errorf is an Error of kind with a formatted message.
func errorf(kind *Error, format string, a ...any) error {
	return &Error{kind: kind, status: kind.status, msg: fmt.Sprintf(format, a...), format: format, args: a}
}

// within is err with what it was about in front of its message: an Error
// stays one, with its kind and status; any other error is wrapped.
func within(what string, err error) error {
	if e, ok := errors.AsType[*Error](err); ok && e.kind != nil {
		return &Error{kind: e.kind, status: e.status, msg: what + ": " + e.msg, cause: e.cause}
	}
	return fmt.Errorf("%s: %w", what, err)
}

// because is an Error of kind whose message is err's (its UserMessage when
// it has one), which it wraps.
func because(kind *Error, err error) error {
	msg := err.Error()
	if u, ok := errors.AsType[interface {
		error
		UserMessage() string
	}](err); ok {
		msg = u.UserMessage()
	}
	return &Error{kind: kind, status: kind.status, msg: msg, cause: err}
}
