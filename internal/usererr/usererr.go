// Package usererr is the error the domain packages (sites, leads, numbers,
// chats...) give a caller that may answer it as is, as GoatCounter's guru
// does: it carries its HTTP status, a message for the person who sent the
// request (without the package's prefix), a code for programs when the
// protocol has one, and the message before formatting (a catalog key of
// the dashboard and its arguments), so that the dashboard shows it in the
// reader's language.
//
// A package declares its kinds in one var block with New; an error of a
// kind (Errorf, Because, Within) wraps it, so errors.Is tells the kind,
// and wraps its cause when it reports another error.
package usererr

import (
	"encoding/csv"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Error is a kind of a package's errors (made by New) or an error of a
// kind.
type Error struct {
	kind   *Error // nil for a kind
	pkg    string // a kind's package, the prefix of its text
	after  bool   // a kind's text follows the reason (ReasonFirst)
	status int
	code   string // for programs: a page's result code, a protocol's error code; "" none
	msg    string
	cause  error  // what the message reports, when it is another error
	hint   string // said after the message: what to do about it
	// format and args are msg before formatting (MessageFormat).
	format string
	args   []any
	// within are what Within put in front of the message, outermost
	// first: strings (catalog keys) or Phrases.
	within []any
}

// Phrase is a piece of a message that a reader's language says its own
// way, a catalog key and its arguments (P("pool %q", name)): an argument
// of Errorf, or what Within puts in front. Formatted, it is its English.
type Phrase struct {
	Format string
	Args   []any
}

// P is the phrase of format and args.
func P(format string, args ...any) Phrase { return Phrase{format, args} }

func (p Phrase) String() string { return fmt.Sprintf(p.Format, p.Args...) }

// New is a kind of error of package pkg, answered with status; its text
// is "pkg: msg".
func New(pkg string, status int, msg string) *Error {
	return &Error{pkg: pkg, status: status, msg: msg}
}

// WithCode sets e's code: on a kind, for its var block (its errors carry
// it); on an error of a kind, for that error alone. It returns e.
func (e *Error) WithCode(code string) *Error {
	e.code = code
	return e
}

// WithHint adds what to do about e after its message; it returns e.
func (e *Error) WithHint(hint string) *Error {
	e.hint = hint
	return e
}

// ReasonFirst makes the errors of kind k read the reason first and the
// kind last ("pool name \"x\": ...: numbers: invalid input"), and the user
// message of a 404 name what was not found ("remove pool \"x\": no such
// pool"). For its var block; it returns k.
func (k *Error) ReasonFirst() *Error {
	k.after = true
	return k
}

func (e *Error) Error() string {
	switch {
	case e.kind == nil:
		return e.pkg + ": " + e.msg
	case e.kind.after:
		return e.msg + ": " + e.kind.Error() + e.hint
	}
	return e.kind.Error() + ": " + e.msg + e.hint
}

// Unwrap returns the kind e is of and its cause, if any.
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

// Code is e's code for programs (a page's result code, a protocol's error
// code), its kind's unless set; "" when it has none.
func (e *Error) Code() string { return e.code }

// names reports whether e's user message ends with its kind's: a 404 of a
// ReasonFirst kind says what was not found.
func (e *Error) names() bool { return e.kind != nil && e.kind.after && e.status == 404 }

// UserMessage is what is wrong, for the person who sent the request.
func (e *Error) UserMessage() string {
	if e.names() {
		return e.msg + ": " + e.kind.msg + e.hint
	}
	return e.msg + e.hint
}

// MessageFormat is UserMessage before formatting, for a reader's
// language: the format (a catalog key of the dashboard) and its
// arguments; a message not made by Errorf is its own format.
func (e *Error) MessageFormat() (string, []any) {
	if e.format == "" || e.hint != "" || e.names() || len(e.within) > 0 {
		return e.UserMessage(), nil
	}
	return e.format, e.args
}

// Translate is UserMessage in a reader's language, t translating a
// catalog key and its arguments: each piece Within put in front, the
// message's format, and every Phrase among its arguments, apart. A message
// not made by Errorf (or with a hint) is translated whole.
func (e *Error) Translate(t func(key string, args ...any) string) string {
	if e.format == "" || e.hint != "" || e.names() {
		return t(e.UserMessage())
	}
	var b strings.Builder
	for _, w := range e.within {
		b.WriteString(translate(t, w))
		b.WriteString(": ")
	}
	b.WriteString(t(e.format, translateArgs(t, e.args)...))
	return b.String()
}

// Translate is p in t's language, the Phrases among its arguments too.
func (p Phrase) Translate(t func(key string, args ...any) string) string { return translate(t, p) }

// MessageOf is the user's message of a piece: an error's UserMessage (see
// UserMessage), a Phrase or any other value formatted.
func MessageOf(piece any) string {
	if err, ok := piece.(error); ok {
		return UserMessage(err)
	}
	return fmt.Sprint(piece)
}

// translate is a piece of a message in t's language: a Phrase's format
// and arguments, a string as a catalog key.
func translate(t func(string, ...any) string, piece any) string {
	switch p := piece.(type) {
	case Phrase:
		return t(p.Format, translateArgs(t, p.Args)...)
	case string:
		return t(p)
	}
	return fmt.Sprint(piece)
}

// translateArgs is args with each Phrase translated (a copy when there
// is one: args stay the error's).
func translateArgs(t func(string, ...any) string, args []any) []any {
	if !slices.ContainsFunc(args, isPhrase) {
		return args
	}
	out := slices.Clone(args)
	for i, a := range out {
		if p, ok := a.(Phrase); ok {
			out[i] = translate(t, p)
		}
	}
	return out
}

func isPhrase(a any) bool { _, ok := a.(Phrase); return ok }

// Errorf is an error of kind k with a formatted message.
func (k *Error) Errorf(format string, a ...any) *Error {
	return &Error{kind: k, status: k.status, code: k.code, msg: fmt.Sprintf(format, a...), format: format, args: a}
}

// Because is an error of kind k whose message is err's (its UserMessage
// when it has one), which it wraps.
func (k *Error) Because(err error) *Error {
	msg := err.Error()
	if u, ok := errors.AsType[interface {
		error
		UserMessage() string
	}](err); ok {
		msg = u.UserMessage()
	}
	out := &Error{kind: k, status: k.status, code: k.code, msg: msg, cause: err}
	if e, ok := errors.AsType[*Error](err); ok && e.kind != nil && e.hint == "" && !e.names() {
		out.format, out.args, out.within = e.format, e.args, e.within
	}
	return out
}

// Within is err with what it was about in front of its message: an error
// of a kind stays one, with its kind, status and code (and what it says,
// for Translate); any other error is wrapped. what is a string (a catalog
// key) or a Phrase.
func Within(what any, err error) error {
	if e, ok := errors.AsType[*Error](err); ok && e.kind != nil {
		return &Error{kind: e.kind, status: e.status, code: e.code, msg: fmt.Sprint(what) + ": " + e.msg, cause: e.cause, hint: e.hint,
			format: e.format, args: e.args, within: append([]any{what}, e.within...)}
	}
	return fmt.Errorf("%s: %w", what, err)
}

// UserMessage is the message of the Error in err's chain, for the person
// who sent the request; err's own text when there is none.
func UserMessage(err error) string {
	if e, ok := errors.AsType[*Error](err); ok {
		return e.UserMessage()
	}
	return err.Error()
}

// CSV is what is wrong with a CSV file, at the line where an
// encoding/csv reader's error (err, from Read) found it, as a Phrase a
// reader's language says its own way: "line 3: a field in quotes is not
// closed...", not the reader's English ("parse error on line 3, column 9:
// extraneous or missing \" in quoted-field").
func CSV(err error) Phrase {
	var pe *csv.ParseError
	if !errors.As(err, &pe) {
		return P("the file cannot be read as CSV")
	}
	switch {
	case errors.Is(pe.Err, csv.ErrBareQuote):
		return P(`line %d: a quote (") inside a field that does not begin with one: put the whole field in quotes and double each quote inside it`, pe.Line)
	case errors.Is(pe.Err, csv.ErrQuote):
		// The line where the field in quotes began: an unclosed one is
		// found only at the end of the file.
		return P("line %d: a field in quotes is not closed, or has more text after its closing quote", pe.StartLine)
	case errors.Is(pe.Err, csv.ErrFieldCount):
		return P("line %d: a different number of fields than the first line", pe.Line)
	}
	return P("line %d: cannot be read as CSV", pe.Line)
}
