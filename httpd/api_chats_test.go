package httpd_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"appliance/httpd/accounts"
	"appliance/httpd/httpdtest"
)

func chatToken(t testing.TB, srv *httpdtest.Server, name string, sites ...uint32) string {
	t.Helper()
	tok, err := accounts.New(srv.DB).CreateToken(t.Context(), name, sites)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// apiCall sends a request to the API with a bearer token and decodes the
// answer.
func apiCall(t testing.TB, method, rawURL, token string, body any) (int, map[string]any) {
	t.Helper()
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, rawURL, r)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	raw, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("%s %s: %d %q", method, rawURL, resp.StatusCode, raw)
	}
	return resp.StatusCode, out
}

func apiMessages(t testing.TB, srv *httpdtest.Server, token string, chat, after uint64) []map[string]any {
	t.Helper()
	status, out := apiCall(t, "GET", fmt.Sprintf("%sapi/v1/chats/%d/messages?after=%d", srv.URL, chat, after), token, nil)
	if status != http.StatusOK {
		t.Fatalf("messages: %d %v", status, out)
	}
	var msgs []map[string]any
	for _, m := range out["result"].([]any) {
		msgs = append(msgs, m.(map[string]any))
	}
	return msgs
}

// The operator API through the real server: a bot lists chats, reads
// messages after an id, answers (the visitor sees it like an operator's),
// sets its presence and closes the chat, which goes out as the chat
// webhook with its transcript.
func TestOperatorAPI(t *testing.T) {
	hooks := newHookReceiver(t)
	hooks.event = "chat"
	hookSrv := httptest.NewServer(hooks)
	defer hookSrv.Close()
	srv := httpdtest.Start(t, fastHooks)
	site := srv.Site(t, "Shop", "shop.example")
	other := srv.Site(t, "Other", "other.example")
	siteID := mustSite(t, srv, site)
	hooks.secret = addHookFor(t, srv, srv.Client(t), site, hookSrv.URL+"/crm", "chat")
	bot := chatToken(t, srv, "bot")
	otherOnly := chatToken(t, srv, "other crm", mustSite(t, srv, other))

	status, out := apiCall(t, "POST", srv.URL+"api/v1/operators/presence", bot, map[string]string{"site": site, "status": "online"})
	if status != http.StatusOK || !srv.HTTP.Chats().SiteOnline(siteID) {
		t.Fatalf("presence online: %d %v", status, out)
	}
	cv := newChatVisitor(t, srv, site, "https://shop.example/?utm_source=vk")
	vis, w := cv.connect(t, shopOrigin, 0, 0)
	if w["operators"] != true {
		t.Fatalf("welcome = %v", w)
	}
	vis.send(map[string]any{"type": "send", "ref": "1", "text": "Is the bot there?"})
	chat := num(vis.next("ack")["chat"])

	status, out = apiCall(t, "GET", srv.URL+"api/v1/chats?site="+site+"&status=open", bot, nil)
	list, _ := out["result"].([]any)
	if status != http.StatusOK || len(list) != 1 || num(list[0].(map[string]any)["id"]) != chat ||
		list[0].(map[string]any)["source"].(map[string]any)["utm_source"] != "vk" {
		t.Fatalf("open chats: %d %v", status, out)
	}
	// The reports count the chat (the chats column) in the write that
	// opened it.
	day := time.Now().UTC()
	q := url.Values{"site": {site}, "from": {day.AddDate(0, 0, -1).Format("2006-01-02")}, "to": {day.AddDate(0, 0, 1).Format("2006-01-02")}, "group": {"channel"}}
	if status, out = apiCall(t, "GET", srv.URL+"api/v1/reports/sources?"+q.Encode(), bot, nil); status != http.StatusOK ||
		out["result"].(map[string]any)["total"].(map[string]any)["chats"] != 1.0 {
		t.Errorf("reports: %d %v, want one chat", status, out)
	}
	if status, out = apiCall(t, "GET", srv.URL+"api/v1/chats?site="+site+"&status=closed", bot, nil); status != http.StatusOK || len(out["result"].([]any)) != 0 {
		t.Fatalf("closed chats: %d %v", status, out)
	}
	status, out = apiCall(t, "POST", fmt.Sprintf("%sapi/v1/chats/%d/messages", srv.URL, chat), bot, map[string]string{"text": "Bot here: yes."})
	if status != http.StatusOK || out["success"] != true || num(out["result"].(map[string]any)["message_id"]) != 2 {
		t.Fatalf("post message: %d %v", status, out)
	}
	if m := vis.next("message"); m["from"] == "visitor" {
		if m = vis.next("message"); m["name"] != "bot" || m["text"] != "Bot here: yes." {
			t.Fatalf("visitor got %v", m)
		}
	}
	if msgs := apiMessages(t, srv, bot, chat, 1); len(msgs) != 1 || msgs[0]["from"] != "operator" || msgs[0]["name"] != "bot" {
		t.Fatalf("messages after 1 = %v", msgs)
	}
	for _, tt := range []struct {
		method, path, token string
		body                any
		want                int
	}{
		{"GET", "api/v1/chats?site=" + site, "", nil, http.StatusUnauthorized},
		{"GET", "api/v1/chats?site=" + site, otherOnly, nil, http.StatusNotFound},
		{"GET", "api/v1/chats?site=no-such-site", bot, nil, http.StatusNotFound},
		{"GET", fmt.Sprintf("api/v1/chats/%d/messages", chat), otherOnly, nil, http.StatusNotFound},
		{"GET", "api/v1/chats?site=" + site + "&status=maybe", bot, nil, http.StatusBadRequest},
		{"GET", "api/v1/chats/abc/messages", bot, nil, http.StatusBadRequest},
		{"GET", fmt.Sprintf("api/v1/chats/%d/messages?after=-1", chat), bot, nil, http.StatusBadRequest},
		// A misspelt parameter is refused, not ignored (every chat or message
		// as if it were applied).
		{"GET", "api/v1/chats?site=" + site + "&stauts=open", bot, nil, http.StatusBadRequest},
		{"GET", fmt.Sprintf("api/v1/chats/%d/messages?since=3", chat), bot, nil, http.StatusBadRequest},
		{"POST", fmt.Sprintf("api/v1/chats/%d/messages", chat), bot, map[string]string{"text": ""}, http.StatusBadRequest},
		{"POST", fmt.Sprintf("api/v1/chats/%d/messages", chat), bot, map[string]string{"text": strings.Repeat("x", 4097)}, http.StatusBadRequest},
		{"POST", fmt.Sprintf("api/v1/chats/%d/messages", chat), bot, map[string]string{"txt": "typo"}, http.StatusBadRequest},
		{"POST", "api/v1/chats/999999/messages", bot, map[string]string{"text": "x"}, http.StatusNotFound},
		{"POST", "api/v1/operators/presence", bot, map[string]string{"site": site, "status": "busy"}, http.StatusBadRequest},
	} {
		if status, out := apiCall(t, tt.method, srv.URL+tt.path, tt.token, tt.body); status != tt.want || out["success"] != false {
			t.Errorf("%s %s: %d %v, want %d", tt.method, tt.path, status, out, tt.want)
		}
	}
	if msgs := apiMessages(t, srv, bot, chat, 0); len(msgs) != 2 {
		t.Fatalf("refused requests stored messages: %v", msgs)
	}
	if status, out = apiCall(t, "POST", fmt.Sprintf("%sapi/v1/chats/%d/close", srv.URL, chat), bot, nil); status != http.StatusOK {
		t.Fatalf("close: %d %v", status, out)
	}
	if cl := vis.next("closed"); cl["by"] != "operator" {
		t.Fatalf("closed = %v", cl)
	}
	if status, _ = apiCall(t, "POST", fmt.Sprintf("%sapi/v1/chats/%d/close", srv.URL, chat), bot, nil); status != http.StatusOK {
		t.Errorf("closing again: %d", status)
	}
	status, out = apiCall(t, "POST", fmt.Sprintf("%sapi/v1/chats/%d/messages", srv.URL, chat), bot, map[string]string{"text": "late"})
	if status != http.StatusConflict {
		t.Errorf("message to a closed chat: %d %v", status, out)
	}
	var got map[string]any
	eventually(t, "the chat webhook", func() bool {
		_, n, bodies := hooks.state()
		for k := range n {
			got = bodies[k]
		}
		return got != nil
	})
	raw, _ := json.Marshal(got)
	var body struct {
		Event string `json:"event"`
		Data  struct {
			ID       uint64 `json:"id"`
			ClosedBy string `json:"closed_by"`
			Assigned string `json:"assigned"`
			Source   struct {
				UTMSource string `json:"utm_source"`
			} `json:"source"`
			Messages []struct {
				From, Name, Text string
			} `json:"messages"`
		} `json:"data"`
	}
	if err := json.Unmarshal(raw, &body); err != nil {
		t.Fatal(err)
	}
	if body.Event != "chat" || body.Data.ID != chat || body.Data.ClosedBy != "operator" || body.Data.Assigned != "bot" ||
		body.Data.Source.UTMSource != "vk" || len(body.Data.Messages) != 2 || body.Data.Messages[1].Text != "Bot here: yes." {
		t.Errorf("chat webhook: %s", raw)
	}
	// A token made for a user acts as that user.
	if _, err := accounts.New(srv.DB).CreateUser(t.Context(), "anna@shop.example", "a long enough passphrase", accounts.RoleOperator); err != nil {
		t.Fatal(err)
	}
	anna, err := accounts.New(srv.DB).CreateUserToken(t.Context(), "anna's bridge", nil, "Anna@Shop.example")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := accounts.New(srv.DB).CreateUserToken(t.Context(), "nobody's", nil, "nobody@shop.example"); err == nil {
		t.Error("a token made for a user who does not exist")
	}
	vis.send(map[string]any{"type": "send", "ref": "2", "text": "a new chat"})
	chat2 := num(vis.next("ack")["chat"])
	if status, out = apiCall(t, "POST", fmt.Sprintf("%sapi/v1/chats/%d/messages", srv.URL, chat2), anna, map[string]string{"text": "Anna here"}); status != http.StatusOK {
		t.Fatalf("user token message: %d %v", status, out)
	}
	if msgs := apiMessages(t, srv, anna, chat2, 1); len(msgs) != 1 || msgs[0]["name"] != "anna@shop.example" {
		t.Errorf("the user token's message: %v", msgs)
	}
	if status, _ = apiCall(t, "POST", srv.URL+"api/v1/operators/presence", bot, map[string]string{"site": site, "status": "offline"}); status != http.StatusOK || srv.HTTP.Chats().SiteOnline(siteID) {
		t.Errorf("presence offline: %d, online %v", status, srv.HTTP.Chats().SiteOnline(siteID))
	}
}
