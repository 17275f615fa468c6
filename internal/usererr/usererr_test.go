package usererr_test

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"appliance/internal/usererr"
)

// An error of a kind reads kind first (or reason first for a ReasonFirst
// kind), answers its kind's status and code unless it sets its own, keeps
// its format for the dashboard's catalog, and wraps its kind and cause.
func TestError(t *testing.T) {
	invalid := usererr.New("leads", 400, "invalid lead").WithCode("invalid_request")
	noPool := usererr.New("tracking", 404, "no such pool").ReasonFirst()
	cause := errors.New("disk full")
	for _, c := range []struct {
		err                   *usererr.Error
		text, msg, code, form string
		status                int
	}{
		{invalid.Errorf("name longer than %d bytes", 256), "leads: invalid lead: name longer than 256 bytes", "name longer than 256 bytes", "invalid_request", "name longer than %d bytes", 400},
		{invalid.Errorf("the lead is empty").WithCode("empty_lead"), "leads: invalid lead: the lead is empty", "the lead is empty", "empty_lead", "the lead is empty", 400},
		{invalid.Because(cause), "leads: invalid lead: disk full", "disk full", "invalid_request", "disk full", 400},
		{invalid.Because(invalid.Errorf("bad %s", "email")), "leads: invalid lead: bad email", "bad email", "invalid_request", "bad %s", 400},
		{noPool.Errorf("edit pool %q", "ads"), `edit pool "ads": tracking: no such pool`, `edit pool "ads": no such pool`, "", `edit pool "ads": no such pool`, 404},
		{noPool.Errorf("import into pool %q", "ads").WithHint(" (add it first)"), `import into pool "ads": tracking: no such pool (add it first)`, `import into pool "ads": no such pool (add it first)`, "", `import into pool "ads": no such pool (add it first)`, 404},
	} {
		if got := c.err.Error(); got != c.text {
			t.Errorf("text %q, want %q", got, c.text)
		}
		if got, form := c.err.UserMessage(), func() string { f, _ := c.err.MessageFormat(); return f }(); got != c.msg || form != c.form {
			t.Errorf("%v: message %q format %q, want %q %q", c.err, got, form, c.msg, c.form)
		}
		if c.err.Status() != c.status || c.err.Code() != c.code {
			t.Errorf("%v: %d %q, want %d %q", c.err, c.err.Status(), c.err.Code(), c.status, c.code)
		}
	}
	if err := usererr.Within("lead 3", invalid.Because(cause)); !errors.Is(err, invalid) || !errors.Is(err, cause) || usererr.UserMessage(err) != "lead 3: disk full" {
		t.Errorf("%v does not keep its kind, cause and message", err)
	}
	if err := usererr.Within("x", cause); errors.Is(err, invalid) || usererr.UserMessage(err) != "x: disk full" {
		t.Errorf("a plain error within: %v", err)
	}
	if errors.Is(noPool.Errorf("x"), invalid) {
		t.Error("an error is of another kind")
	}
}

// Translate says each piece in the reader's language: what Within put in
// front (a catalog key or a Phrase), the format, the Phrases among the
// arguments, through Because too; a message with a hint goes whole.
func TestTranslate(t *testing.T) {
	ru := map[string]string{
		"pool %q": "пул %q", "static number": "статический номер", "in pool %q": "в пуле %q",
		"%s: %s is already %s": "%s: %s уже %s", "bad rule %q": "плохое правило %q",
	}
	tr := func(key string, args ...any) string {
		if m, ok := ru[key]; ok {
			key = m
		}
		return fmt.Sprintf(key, args...)
	}
	invalid := usererr.New("tracking", 400, "invalid input")
	for _, c := range []struct {
		err      error
		en, inRu string
	}{
		{invalid.Errorf("%s: %s is already %s", usererr.P("pool %q", "ads"), "7495", usererr.P("in pool %q", "seo")),
			`pool "ads": 7495 is already in pool "seo"`, `пул "ads": 7495 уже в пуле "seo"`},
		{usererr.Within("static number", usererr.Within(usererr.P("pool %q", "ads"), invalid.Because(invalid.Errorf("bad rule %q", "x=")))),
			`static number: pool "ads": bad rule "x="`, `статический номер: пул "ads": плохое правило "x="`},
		{usererr.Within("static number", invalid.Errorf("bad rule %q", "x=").WithHint(" (see the README)")),
			`static number: bad rule "x=" (see the README)`, `static number: bad rule "x=" (see the README)`},
	} {
		e, _ := errors.AsType[*usererr.Error](c.err)
		if got := usererr.UserMessage(c.err); got != c.en {
			t.Errorf("English %q, want %q", got, c.en)
		}
		if got := e.Translate(tr); got != c.inRu {
			t.Errorf("translated %q, want %q", got, c.inRu)
		}
	}
}

// A CSV reader's error is said as the line it is on and what is wrong, a
// phrase of the catalog, not the reader's English.
func TestCSV(t *testing.T) {
	for _, tc := range []struct{ file, want string }{
		{"a,b\nc,d\"e\n", `line 2: a quote (") inside a field that does not begin with one: put the whole field in quotes and double each quote inside it`},
		{"a,b\nc,\"d\ne,f\n", "line 2: a field in quotes is not closed, or has more text after its closing quote"},
		{"a,b\n\"c\"d,e\n", "line 2: a field in quotes is not closed, or has more text after its closing quote"},
		{"a,b\nc\n", "line 2: a different number of fields than the first line"},
	} {
		r := csv.NewReader(strings.NewReader(tc.file))
		var err error
		for err == nil {
			_, err = r.Read()
		}
		p := usererr.CSV(err)
		if got := p.String(); got != tc.want {
			t.Errorf("%q: %q, want %q", tc.file, got, tc.want)
		}
		if strings.Contains(p.Format, "%v") || strings.Contains(p.Format, "%s") {
			t.Errorf("%q: the phrase %q carries the reader's own words", tc.file, p.Format)
		}
	}
	if got := usererr.CSV(io.ErrUnexpectedEOF).String(); got != "the file cannot be read as CSV" {
		t.Errorf("an error of no line: %q", got)
	}
}
