package httpd_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"appliance/httpd/httpdtest"
)

// widgetChat reads the chat part of GET /t/v1/widget.
func widgetChat(t *testing.T, srv *httpdtest.Server, key string) map[string]any {
	t.Helper()
	resp, err := http.Get(srv.URL + "t/v1/widget?k=" + key)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var v struct {
		Result struct {
			Chat map[string]any `json:"chat"`
		} `json:"result"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil {
		t.Fatal(err)
	}
	return v.Result.Chat
}

// The site's chat settings form: what it refuses is said and changes
// nothing; what it takes reaches the widget's settings and every page
// view's answer.
func TestChatSettingsForm(t *testing.T) {
	srv := httpdtest.Start(t)
	key := srv.Site(t, "Shop", "shop.example")
	c := srv.Client(t)
	post := func(form url.Values) (int, string) {
		t.Helper()
		form.Set("csrf", srv.FormToken(t, c, "/sites/"+key+"/chat"))
		resp, err := c.PostForm(srv.URL+"sites/"+key+"/chat", form)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	for _, bad := range []struct {
		form url.Values
		says string
	}{
		{url.Values{"button": {"1"}, "color": {"red"}}, "colour must be #RRGGBB"},
		{url.Values{"button": {"1"}, "position": {"top"}}, "position must be right or left"},
		{url.Values{"button": {"1"}, "unanswered": {"soon"}}, "number of minutes"},
		{url.Values{"button": {"1"}, "greeting": {strings.Repeat("x", 5000)}}, "greeting"},
	} {
		status, body := post(bad.form)
		if status != http.StatusBadRequest || !strings.Contains(body, bad.says) {
			t.Errorf("%v: %d, want 400 saying %q", bad.form, status, bad.says)
		}
	}
	if got := widgetChat(t, srv, key); got["button"] != false {
		t.Fatalf("after refused forms the widget's chat settings are %v", got)
	}
	status, _ := post(url.Values{"button": {"1"}, "position": {"left"}, "color": {"#aa3355"}, "greeting": {" Hi there "},
		"unanswered": {"2.5"}, "canned": {"Hello!\n\n  We deliver in 2 days.  \n"}})
	if status != http.StatusSeeOther {
		t.Fatalf("saving: %d", status)
	}
	got := widgetChat(t, srv, key)
	if got["button"] != true || got["position"] != "left" || got["color"] != "#aa3355" || got["greeting"] != "Hi there" {
		t.Errorf("the widget's chat settings: %v", got)
	}
	hit, err := http.Post(srv.URL+"t/v1/hit", "text/plain", strings.NewReader(`{"k":"`+key+`","u":"https://shop.example/"}`))
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(hit.Body)
	hit.Body.Close()
	if !strings.Contains(string(raw), `"chat":{"operators":false,"button":true}`) {
		t.Errorf("the page view's answer: %s", raw)
	}
	resp, err := c.Get(srv.URL + "sites/" + key + "/chat")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{`value="2.5"`, "Hello!\nWe deliver in 2 days.</textarea>", `value="#aa3355"`, `<option value="left" selected>`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("the page does not show %q", want)
		}
	}
}
