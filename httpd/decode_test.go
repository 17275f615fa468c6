package httpd

import (
	"strings"
	"testing"
)

// TestDecodeBody: the one JSON reader answers every malformed body with a
// 4xx that says what is wrong, whichever endpoint it came to, and refuses
// unknown fields only where asked.
func TestDecodeBody(t *testing.T) {
	type target struct {
		Name string `json:"name"`
		N    int    `json:"n"`
	}
	for _, c := range []struct {
		body    string
		unknown unknownFields
		status  int // 0: decoded
		msg     string
	}{
		{`{"name":"a","n":1}`, refuseUnknown, 0, ""},
		{`{"name":"a","extra":1}`, ignoreUnknown, 0, ""},
		{`{"name":"a","extra":1}`, refuseUnknown, 400, `unknown field "extra"`},
		{strings.Repeat(" ", 65) + `{}`, ignoreUnknown, 413, "the body is larger than 64 bytes"},
		{"{\"name\":\"\xff\"}", ignoreUnknown, 400, "the body is not valid UTF-8"},
		{`{"name":"\ud800"}`, ignoreUnknown, 400, "the body escapes half of a UTF-16 surrogate pair"},
		{`{"name":"a"} {}`, ignoreUnknown, 400, "the body must be one JSON object"},
		{`{"n":"1"}`, ignoreUnknown, 400, "n must be a whole number, not a JSON string"},
		{`[]`, ignoreUnknown, 400, "the body must be a JSON object, not a JSON array"},
		{``, ignoreUnknown, 400, "the body is empty: it must be a JSON object"},
		{`{"name":`, ignoreUnknown, 400, "the body is not JSON"},
	} {
		var v target
		err := decodeBody([]byte(c.body), 64, &v, c.unknown)
		if c.status == 0 {
			if err != nil {
				t.Errorf("%s: %v", c.body, err)
			}
			continue
		}
		e, ok := err.(*Error)
		if !ok || e.Code != c.status || !strings.HasPrefix(e.Msg, c.msg) {
			t.Errorf("%s: %v, want %d %q", c.body, err, c.status, c.msg)
		}
	}
}

// The lead and callback bodies are read by the same decoder as every other
// body: what it refuses there, it refuses here, with the same words.
func TestLeadAndCallbackBodiesShareTheDecoder(t *testing.T) {
	for _, body := range []string{`{"k":"x","ci":"1.2.3","key":"k","name":"\ud800"}`, `{"k":"x","ci":"1.2.3","key":"k","name":"a"} 1`} {
		_, lerr := parseLeadJSON([]byte(body))
		_, cerr := parseCallbackJSON([]byte(body))
		want := decodeBody([]byte(body), maxTrackerBody, &struct{}{}, ignoreUnknown)
		if want == nil || lerr == nil || cerr == nil || lerr.Error() != want.Error() || cerr.Error() != want.Error() {
			t.Errorf("%s: lead %v, callback %v, want %v", body, lerr, cerr, want)
		}
	}
}
