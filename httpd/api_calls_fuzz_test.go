package httpd

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/valyala/fasthttp"
)

// The call API's parsers take what a PBX (or anyone holding a token)
// sends: they never panic, refuse with a 400/413 and a reason, and what
// they accept is what the body says.

func FuzzParseCall(f *testing.F) {
	for _, s := range []string{
		`{"called":"74950000001","caller":"79161234567","started_at":"2026-11-26T15:00:00Z","duration":65,"answered":true,"recording_url":"https://pbx.example/r.mp3"}`,
		`{"called":"+7 (495) 000-00-01"}`,
		`{"called":""}`, `{}`, `[]`, `null`, `{"called":1}`, `{"called":"x","duration":1e30}`,
		`{"called":"x","started_at":"2026-11-26T15:00:00+03:00"}`, `{"called":"x"} {}`, `{"called":"x","extra":1}`,
		"{\"called\":\"\xff\"}", `{"called":"x","duration":-5}`, `{"called":"x","answered":"yes"}`,
		`{"called":"8 495 000 00 01 (доб. 12)"}`, `{"called":"74950000001p12"}`, `{"called":"tel:+74950000001;ext=12"}`,
		`{"called":"<sip:74950000001;ext=12@pbx.example>;tag=1"}`, `{"called":"74950000001,,12","pbx_call_id":"1.2"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		in, err := parseCall(body)
		if !checkParseErr(t, err) {
			return
		}
		if in.Called == "" || !utf8.ValidString(in.Called) || in.Duration < 0 || in.Duration%time.Second != 0 {
			t.Fatalf("accepted %q as %+v", body, in)
		}
		var raw map[string]any
		if err := json.Unmarshal(body, &raw); err != nil {
			t.Fatalf("accepted %q, which is not a JSON object: %v", body, err)
		}
		if raw["called"] != in.Called {
			t.Fatalf("called %q parsed as %q", raw["called"], in.Called)
		}
		if s, ok := raw["started_at"].(string); ok && !in.StartedAt.Equal(mustTime(t, s)) {
			t.Fatalf("started_at %q parsed as %v", s, in.StartedAt)
		}
	})
}

func mustTime(t *testing.T, s string) time.Time {
	tm, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatalf("accepted started_at %q: %v", s, err)
	}
	return tm
}

func FuzzParseAttributionQuery(f *testing.F) {
	for _, s := range []string{"number=74950000001&at=2026-11-26T15:00:00Z", "number=%2B7+495+000-00-01", "", "number=",
		"at=2026-11-26T15:00:00Z", "number=1&at=now", "number=%ff", "number=1&number=2", "number=" + strings.Repeat("9", 70)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, query string) {
		var args fasthttp.Args
		args.Parse(query)
		q, err := parseAttributionQuery(&args)
		if !checkParseErr(t, err) {
			return
		}
		if q.Number == "" || !utf8.ValidString(q.Number) || len(q.Number) > 64 {
			t.Fatalf("accepted %q as %+v", query, q)
		}
		// The result must not alias the request's buffers.
		b := args.Peek("number")
		if len(b) > 0 {
			saved := q.Number
			copy(b, bytes.Repeat([]byte{'X'}, len(b)))
			if q.Number != saved {
				t.Fatalf("number aliases the query args")
			}
		}
	})
}

// The Authorization header is what anyone sends: its token is taken only
// after a Bearer scheme (in any case), whole and without the spaces
// around it, and never empty.
func FuzzBearerToken(f *testing.F) {
	for _, s := range []string{"Bearer abc", "bearer abc", "BEARER  abc ", "Basic abc", "abc", "Bearer ", "Bearer", "",
		" Bearer abc def", "Bearer\tabc", "Bearerabc", "Bearer \u00a0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, auth string) {
		token, ok := bearerToken(auth)
		if !ok {
			return
		}
		scheme, rest, _ := strings.Cut(strings.TrimSpace(auth), " ")
		if token == "" || token != strings.TrimSpace(token) || !strings.EqualFold(scheme, "bearer") || strings.TrimSpace(rest) != token {
			t.Fatalf("%q read as the token %q", auth, token)
		}
	})
}
