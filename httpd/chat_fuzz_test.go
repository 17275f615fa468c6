package httpd

import (
	"encoding/json"
	"testing"
	"unicode/utf8"

	"appliance/httpd/chats"
)

// The chat's parsers take what any page or socket sends: they never
// panic, refuse with a code and a reason, and what they accept is a frame
// of a known type whose fields are what the JSON says.

var chatFrameSeeds = []string{
	`{"type":"hello","ci":"1.2.3","key":"00112233445566778899aabbccddeeff","u":"https://shop.example/","chat":5,"after":3}`,
	`{"type":"hello","ci":"1.2.3","key":"00112233445566778899aabbccddeeff","chat":5,"after":0,"earlier":true}`, `{"type":"hello","Earlier":true}`,
	`{"type":"send","ref":"r-1","text":"Hello\nthere"}`, `{"type":"typing","on":true}`, `{"type":"read","chat":1,"id":2}`,
	`{"type":"close","chat":1}`, `{"type":"ping"}`, `{"type":"hello","status":"away","chats":{"12":3}}`,
	`{"type":"invite","site":"k","visitor":9,"text":"hi"}`, `{"type":"status","status":"online"}`,
	`{}`, `[]`, `null`, `"send"`, `{"type":5}`, `{"type":"send","text":5}`, `{"type":"nope"}`, `{"type":"send"} {}`,
	`{"type":"send","chat":-1}`, `{"type":"send","chat":1e30}`, "{\"type\":\"send\",\"text\":\"\xff\"}",
	`{"type":"send","text":"\ud800"}`, `{"type":"send","ref":"` + string(make([]byte, 70)) + `"}`, `{"type":"hello","chats":{"a":-1}}`,
}

func FuzzParseChatFrame(f *testing.F) {
	for _, s := range chatFrameSeeds {
		f.Add([]byte(s), false)
		f.Add([]byte(s), true)
	}
	f.Fuzz(func(t *testing.T, b []byte, console bool) {
		known := visitorFrames
		if console {
			known = consoleFrames
		}
		fr, err := parseChatFrame(b, known)
		if err != nil {
			ef, keep := errorFrame(err, "")
			if keep || ef.Code == "" || ef.Code == "server_error" || ef.Message == "" {
				t.Fatalf("refusal of %q: %+v keep %v", b, ef, keep)
			}
			return
		}
		if !known[fr.Type] || !utf8.ValidString(fr.Text) || len(b) > maxChatFrame || chats.CheckRef(fr.Ref) != nil {
			t.Fatalf("accepted %q as %+v", b, fr)
		}
		var raw map[string]any
		if err := json.Unmarshal(b, &raw); err != nil || raw["type"] != fr.Type {
			t.Fatalf("accepted %q, which is not an object of that type: %v", b, err)
		}
	})
}

func FuzzParsePoll(f *testing.F) {
	f.Add([]byte(`{"k":"KEY","ci":"1.2.3","key":"00112233445566778899aabbccddeeff","u":"https://shop.example/","chat":1,"after":2,"wait":25,"frames":[{"type":"send","ref":"a","text":"hi"},{"type":"typing","on":false}]}`))
	f.Add([]byte(`{"k":"KEY","chat":3,"after":0,"earlier":true,"status":"closed","wait":25}`))
	f.Add([]byte(`{"earlier":1,"status":null}`))
	f.Add([]byte(`{"k":"KEY","wait":26}`))
	f.Add([]byte(`{"frames":[{"type":"hello"}]}`))
	f.Add([]byte(`{"frames":[1]}`))
	f.Add([]byte(`{"frames":[{},{},{},{},{},{},{},{},{},{},{}]}`))
	f.Add([]byte(`{"wait":-1}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, b []byte) {
		req, frames, err := parsePoll(b)
		if !checkParseErr(t, err) {
			return
		}
		if req.Wait < 0 || req.Wait > maxPollWait || len(frames) > maxPollFrames || len(frames) != len(req.Frames) {
			t.Fatalf("accepted %q as %+v", b, req)
		}
		for _, fr := range frames {
			if !visitorFrames[fr.Type] || fr.Type == "hello" {
				t.Fatalf("accepted frame %+v in %q", fr, b)
			}
		}
	})
}

func FuzzChatText(f *testing.F) {
	for _, s := range []string{"hello", "  ", "a\nb\tc", "a\x00b", "\xff", "<script>alert(1)</script>", "\u2028"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out, err := chats.CheckText(s)
		if err != nil {
			return
		}
		if out == "" || len(out) > chats.MaxText || !utf8.ValidString(out) {
			t.Fatalf("CheckText(%q) = %q", s, out)
		}
	})
}
