package httpd_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"appliance/httpd/httpdtest"
)

// A chat of the operator API carries its times as every other answer of
// the API, its own messages' "at" and the chat webhook write them, RFC 3339
// in UTC (created_at, closed_at: null while open, last_message_at), beside
// the console's milliseconds (created, closed, last_at) it always had: a
// bot that lists chats and reads their messages needs no second time
// format, and the same chat's created_at and closed_at are the webhook's.
func TestOperatorAPIChatTimes(t *testing.T) {
	hooks := newHookReceiver(t)
	hooks.event = "chat"
	hookSrv := httptest.NewServer(hooks)
	defer hookSrv.Close()
	srv := httpdtest.Start(t, fastHooks)
	site := srv.Site(t, "Shop", "shop.example")
	hooks.secret = addHookFor(t, srv, srv.Client(t), site, hookSrv.URL+"/crm", "chat")
	bot := chatToken(t, srv, "bot")
	if status, out := apiCall(t, "POST", srv.URL+"api/v1/operators/presence", bot, map[string]string{"site": site, "status": "online"}); status != http.StatusOK {
		t.Fatalf("presence online: %d %v", status, out)
	}
	cv := newChatVisitor(t, srv, site, "https://shop.example/")
	vis, _ := cv.connect(t, shopOrigin, 0, 0)
	vis.send(map[string]any{"type": "send", "ref": "1", "text": "Hello?"})
	chat := num(vis.next("ack")["chat"])

	b, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, chatREADME, _ := strings.Cut(string(b), "\n## Online consultant (chat)\n")
	chatREADME, _, _ = strings.Cut(chatREADME, "\n## ")

	// listed finds the chat in a list and checks its times against its
	// milliseconds.
	listed := func(status string) map[string]any {
		t.Helper()
		code, out := apiCall(t, "GET", srv.URL+"api/v1/chats?site="+site+"&status="+status, bot, nil)
		list, _ := out["result"].([]any)
		if code != http.StatusOK || len(list) != 1 {
			t.Fatalf("%s chats: %d %v", status, code, out)
		}
		c := list[0].(map[string]any)
		for rfc, ms := range map[string]string{"created_at": "created", "closed_at": "closed", "last_message_at": "last_at"} {
			// The README's operator API says so too: it named only the
			// milliseconds.
			if !strings.Contains(chatREADME, "`"+rfc+"`") {
				t.Errorf("README's chat section does not name the list's %s", rfc)
			}
			v, ok := c[rfc]
			if !ok {
				t.Errorf("%s chat without %s: %v", status, rfc, c)
				continue
			}
			if c[ms] == 0.0 {
				if v != nil {
					t.Errorf("%s chat: %s %v for %s 0, want null", status, rfc, v, ms)
				}
				continue
			}
			s, _ := v.(string)
			at, err := time.Parse(time.RFC3339Nano, s)
			if err != nil || at.Location() != time.UTC || at.UnixMilli() != int64(c[ms].(float64)) {
				t.Errorf("%s chat: %s %q, want %s %v as RFC 3339 in UTC", status, rfc, s, ms, c[ms])
			}
		}
		return c
	}
	if open := listed("open"); open["closed_at"] != nil || open["created_at"] == nil || open["last_message_at"] == nil {
		t.Errorf("open chat: %v", open)
	}
	if status, out := apiCall(t, "POST", fmt.Sprintf("%sapi/v1/chats/%d/close", srv.URL, chat), bot, nil); status != http.StatusOK {
		t.Fatalf("close: %d %v", status, out)
	}
	closed := listed("closed")
	var data map[string]any
	eventually(t, "the chat webhook", func() bool {
		_, n, bodies := hooks.state()
		for k := range n {
			data, _ = bodies[k]["data"].(map[string]any)
		}
		return data != nil
	})
	for _, k := range []string{"created_at", "closed_at"} {
		if closed[k] == nil || closed[k] != data[k] {
			t.Errorf("%s: the API's %v, the webhook's %v", k, closed[k], data[k])
		}
	}
}
