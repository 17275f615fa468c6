package httpd

import (
	"strconv"
	"testing"

	"github.com/valyala/fasthttp"
)

// The chat page's ?chat=ID comes from a query anyone may send: it never
// panics, a refusal is a 400 with a reason, and what is accepted is no
// chat (no chat=) or a chat id of 1 to 2^53-1 written plainly, so one
// chat has one address.
func FuzzChatParam(f *testing.F) {
	for _, s := range []string{"", "chat=1", "chat=42", "chat=9007199254740991", "chat=9007199254740992", "chat=0", "chat=",
		"chat=-1", "chat=+1", "chat=01", "chat=1.0", "chat=abc", "chat=18446744073709551616", "chat=1&chat=2", "q=words",
		"q=a&chat=7", "chat=%201", "chat=1%00", "chat=١"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, q string) {
		var args fasthttp.Args
		args.Parse(q)
		id, err := chatParam(&args)
		if !checkParseErr(t, err) {
			return
		}
		if !args.Has("chat") {
			if id != 0 {
				t.Fatalf("chatParam(%q) = %d without chat=", q, id)
			}
			return
		}
		if id == 0 || id >= 1<<53 || strconv.FormatUint(id, 10) != string(args.Peek("chat")) {
			t.Fatalf("chatParam(%q) = %d", q, id)
		}
	})
}
