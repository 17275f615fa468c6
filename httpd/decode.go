package httpd

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/valyala/fasthttp"
)

// unknownFields says what decodeBody does with a field its target lacks.
type unknownFields bool

const (
	// refuseUnknown: a misspelt field is an error, not a silent default.
	refuseUnknown unknownFields = false
	// ignoreUnknown: the lead and callback bodies take any field, so that
	// a newer snippet can send more (addOfflineRequest passes the page's
	// form as it is).
	ignoreUnknown unknownFields = true
)

// decodeBody decodes body, one JSON object, into v (a pointer to a
// struct). It is the one reader of every JSON body the server takes: at
// most max bytes (else 413), a UTF-8 byte-order mark before it left out
// (withoutBOM), valid UTF-8 without escaped halves of
// surrogate pairs, nothing after the object, fields v lacks refused unless
// unknown is ignoreUnknown. Every failure is an *Error (413 or 400) whose
// message says what is wrong.
func decodeBody(body []byte, max int, v any, unknown unknownFields) error {
	if len(body) > max {
		return errorf(fasthttp.StatusRequestEntityTooLarge, "the body is larger than %d bytes", max)
	}
	body = withoutBOM(body)
	if !utf8.Valid(body) {
		return errorf(fasthttp.StatusBadRequest, "the body is not valid UTF-8")
	}
	if loneSurrogate(body) {
		return errorf(fasthttp.StatusBadRequest, "the body escapes half of a UTF-16 surrogate pair (\\ud800-\\udfff without its other half): not a character")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if unknown == refuseUnknown {
		dec.DisallowUnknownFields()
	}
	if err := dec.Decode(v); err != nil {
		return errorf(fasthttp.StatusBadRequest, "%s", jsonReason(err))
	}
	if _, err := dec.Token(); err != io.EOF {
		return errorf(fasthttp.StatusBadRequest, "the body must be one JSON object")
	}
	return nil
}

// withoutBOM is body without the UTF-8 byte-order mark some tools (and
// Windows' editors) write before a text: JSON forbids it, but it says
// nothing a reader should refuse a body for.
func withoutBOM(body []byte) []byte { return bytes.TrimPrefix(body, []byte("\ufeff")) }

// loneSurrogate reports whether a JSON text escapes half of a UTF-16
// surrogate pair without the other ("\ud800"), which encoding/json would
// quietly turn into U+FFFD. Backslashes are only valid inside strings, so
// the raw text can be scanned; a bad escape is left to the decoder.
func loneSurrogate(b []byte) bool {
	for i := 0; i+1 < len(b); i++ {
		if b[i] != '\\' {
			continue
		}
		i++ // the escaped byte: "\\" is one backslash, not an escape
		r, ok := hex4(b, i)
		if !ok {
			continue
		}
		i += 4
		switch {
		case utf16.IsSurrogate(r) && r >= 0xdc00: // a low half first
			return true
		case utf16.IsSurrogate(r):
			lo, ok := hex4(b, i+2)
			if !ok || b[i+1] != '\\' || lo < 0xdc00 || lo > 0xdfff {
				return true
			}
			i += 6
		}
	}
	return false
}

// hex4 reads the four hex digits of a \u escape whose u is at b[i].
func hex4(b []byte, i int) (rune, bool) {
	if i+4 >= len(b) || b[i] != 'u' {
		return 0, false
	}
	var r rune
	for _, c := range b[i+1 : i+5] {
		switch {
		case c >= '0' && c <= '9':
			r = r<<4 | rune(c-'0')
		case c >= 'a' && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case c >= 'A' && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			return 0, false
		}
	}
	return r, true
}

// jsonReason turns a decoding error into a reason a site developer can act on.
func jsonReason(err error) string {
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &te) && te.Field != "":
		return fmt.Sprintf("%s must be %s, not a JSON %s", te.Field, jsonKind(te.Type), te.Value)
	case errors.As(err, &te):
		return fmt.Sprintf("the body must be a JSON object, not a JSON %s", te.Value)
	case errors.Is(err, io.EOF):
		return "the body is empty: it must be a JSON object"
	}
	msg := strings.TrimPrefix(err.Error(), "json: ")
	if strings.HasPrefix(msg, "unknown field") {
		return msg
	}
	return "the body is not JSON: " + msg
}

// jsonKind says what a field of type t takes, for an error message.
func jsonKind(t reflect.Type) string {
	switch k := t.Kind().String(); {
	case t == reflect.TypeFor[flexString]():
		return "a string or a number"
	case t == reflect.TypeFor[flexBool]():
		return "true or false"
	case strings.HasPrefix(k, "uint") || strings.HasPrefix(k, "int"):
		return "a whole number"
	default:
		return "a " + k
	}
}
