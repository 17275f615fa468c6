package export

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"
)

func marshal(t testing.TB, v any) []byte {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}

// appendJSONCases are strings encoding/json treats each its own way.
var appendJSONCases = []string{"", "plain", `quo"te \ back`, "<a href='x'>&amp;</a>", "tab\tnl\nret\rbs\bff\f",
	"\x00\x01\x1f\x7f", "Кроссовки кожаные — Shop", "bad \xff\xfe utf-8 \xe2\x82", "line\u2028para\u2029sep", "emoji 🦀"}

// The hand-written hit and event messages are byte for byte what
// encoding/json writes for the same structs.
func TestAppendJSON(t *testing.T) {
	for _, s := range appendJSONCases {
		checkAppendJSON(t, s, 1<<63+5, true)
	}
}

func FuzzAppendJSON(f *testing.F) {
	for _, s := range appendJSONCases {
		f.Add(s, uint64(7), false)
	}
	f.Fuzz(checkAppendJSON)
}

func checkAppendJSON(t *testing.T, s string, n uint64, bot bool) {
	src := Source{Channel: s, UTMSource: s + "1", UTMMedium: "cpc", UTMCampaign: s, UTMTerm: s, UTMContent: "c",
		Click: "gclid", Referrer: s, Landing: "https://x.example/?a=1&b=" + s}
	h := Header{V: SchemaVersion, Kind: KindHit, Site: s, ID: n, At: timeText(int64(n >> 20))}
	hit := Hit{Header: h, Session: n + 1, Visitor: n / 3, URL: s, Title: s, Bot: bot, Source: src}
	if got, want := hit.appendJSON([]byte("x")), append([]byte("x"), marshal(t, hit)...); !bytes.Equal(got, want) {
		t.Errorf("hit %q:\n got %s\nwant %s", s, got, want)
	}
	h.Kind = KindEvent
	ev := Event{Header: h, Session: n, Visitor: 0, Hit: n - 1, Category: s, Action: s, Name: "n", Value: s, Bot: !bot, Source: src}
	if got, want := ev.appendJSON(nil), marshal(t, ev); !bytes.Equal(got, want) {
		t.Errorf("event %q:\n got %s\nwant %s", s, got, want)
	}
}

// timeText writes what time.Format does, across the years it writes by
// hand and past them.
func TestTimeText(t *testing.T) {
	for _, ms := range []int64{1, -1, 999, 1700000000123, 253402300799999, 253402300800000, -62135596800000,
		-62135596800001, 951782400000, 4102444799999} {
		want := time.UnixMilli(ms).UTC().Format(timeLayout)
		if got := timeText(ms); got != want {
			t.Errorf("timeText(%d) = %q, want %q", ms, got, want)
		}
	}
	if got := timeText(0); got != "" {
		t.Errorf("timeText(0) = %q, want \"\"", got)
	}
}
