package jsonstr

import (
	"bytes"
	"encoding/json"
	"testing"
)

// encodingJSON is what encoding/json writes for s, HTML escaping on or off.
func encodingJSON(t testing.TB, s string, html bool) string {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(html)
	if err := enc.Encode(s); err != nil {
		t.Fatal(err)
	}
	return string(bytes.TrimSuffix(buf.Bytes(), []byte("\n")))
}

var samples = []string{
	"", "plain", `quote " and \ backslash`, "tab\tnew\nline\r\b\f\x00\x1f\x7f",
	"<script>&amp;</script>", "Привет, мир", "emoji 😀", "\u2028\u2029",
	"bad \xff utf-8 \xc3", "\xed\xa0\x80 surrogate", "ends in \xe2\x82",
}

func TestAppendMatchesEncodingJSON(t *testing.T) {
	for _, s := range samples {
		for _, html := range []bool{false, true} {
			if got, want := string(Append(nil, s, html)), encodingJSON(t, s, html); got != want {
				t.Errorf("Append(%q, html %v) = %s, encoding/json %s", s, html, got, want)
			}
		}
	}
}

func TestAppendKeepsPrefix(t *testing.T) {
	if got := string(Append([]byte(`{"a":`), "x<y", true)); got != `{"a":"x\u003cy"` {
		t.Fatalf("got %s", got)
	}
}

func FuzzAppend(f *testing.F) {
	for _, s := range samples {
		f.Add(s, true)
		f.Add(s, false)
	}
	f.Fuzz(func(t *testing.T, s string, html bool) {
		got := Append(nil, s, html)
		if want := encodingJSON(t, s, html); string(got) != want {
			t.Fatalf("Append(%q, %v) = %s, encoding/json %s", s, html, got, want)
		}
		var back string
		if err := json.Unmarshal(got, &back); err != nil {
			t.Fatalf("%s does not decode: %v", got, err)
		}
	})
}
