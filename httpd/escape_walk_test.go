package httpd

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"appliance/httpd/accounts"
	"appliance/httpd/sites"
	"appliance/httpd/visits"
)

// xssPayload is markup a visitor may type anywhere: it must reach every
// page as text.
const xssPayload = `"><img src=x onerror=window.__xss=1><script>window.__xss=2</script>'`

// What a visitor sends through every tracker endpoint (the page's URL,
// title and referrer, UTM tags, the user agent, an event, contact
// details, a property, a lead, a callback, a chat) reaches every page of
// the dashboard as text, markup and all, and every CSV export with no
// cell a spreadsheet would run as a formula. The pages come from the route
// table, so a page added later is walked without touching this test.
func TestEveryPageShowsVisitorMarkupAsText(t *testing.T) {
	s, base := startInternal(t, Options{})
	ctx := context.Background()
	site, err := s.sites.Create(ctx, "Shop", []string{"shop.example"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.accounts.CreateUser(ctx, "owner@example.com", "a long enough passphrase", accounts.RoleOwner); err != nil {
		t.Fatal(err)
	}
	token, _, err := s.accounts.Login(ctx, "owner@example.com", "a long enough passphrase")
	if err != nil {
		t.Fatal(err)
	}
	post := func(path string, body map[string]any, header map[string]string) []byte {
		t.Helper()
		b, _ := json.Marshal(body)
		req, _ := http.NewRequest("POST", base+path, bytes.NewReader(b))
		req.Header.Set("Content-Type", "text/plain")
		for k, v := range header {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		out, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: %d %s", path, resp.StatusCode, out)
		}
		return out
	}
	p := url.QueryEscape(xssPayload)
	page := "https://shop.example/" + url.PathEscape(xssPayload) + "?utm_source=" + p + "&utm_medium=cpc" + p + "&utm_campaign=" + p +
		"&utm_term=" + p + "&utm_content=" + p
	ua := map[string]string{"User-Agent": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 " + xssPayload,
		"Origin": "https://shop.example"}
	var hit struct {
		Result struct {
			CI    string `json:"ci"`
			HitID uint64 `json:"hit_id"`
		} `json:"result"`
	}
	if err := json.Unmarshal(post("/t/v1/hit", map[string]any{"k": site.Key, "u": page, "r": "https://ref.example/" + url.PathEscape(xssPayload), "t": xssPayload}, ua), &hit); err != nil {
		t.Fatal(err)
	}
	ci, err := visits.ParseCI(hit.Result.CI)
	if err != nil {
		t.Fatal(err)
	}
	creds := func(m map[string]any) map[string]any {
		m["k"], m["ci"], m["key"] = site.Key, hit.Result.CI, sites.CredentialKey(site, ci.Visitor, ci.Session)
		return m
	}
	post("/t/v1/event", creds(map[string]any{"hi": hit.Result.HitID, "c": xssPayload, "a": xssPayload, "n": xssPayload, "v": "=1+1"}), ua)
	post("/t/v1/event", creds(map[string]any{"hi": hit.Result.HitID, "c": "=HYPERLINK(\"http://evil.example\")", "a": "+1", "n": "-1+1", "v": "@SUM(1)"}), ua)
	post("/t/v1/visitor", creds(map[string]any{"hi": hit.Result.HitID, "name": xssPayload, "email": "ann@example.com"}), ua)
	post("/t/v1/property", creds(map[string]any{"op": "set", "name": xssPayload, "value": xssPayload}), ua)
	post("/t/v1/lead", creds(map[string]any{"hi": hit.Result.HitID, "name": xssPayload, "email": xssPayload, "phone": "+7 916<b>",
		"message": xssPayload + "\n=HYPERLINK(\"http://evil.example\")", "form_name": xssPayload, "u": page}), ua)
	post("/t/v1/lead", creds(map[string]any{"hi": hit.Result.HitID, "name": "=HYPERLINK(\"http://evil.example\")", "message": "@SUM(1)", "u": page}), ua)
	post("/t/v1/callback", creds(map[string]any{"hi": hit.Result.HitID, "phone": "8 916<b>" + xssPayload[:20], "u": page}), ua)
	post("/t/v1/chat", creds(map[string]any{"u": page, "frames": []map[string]any{{"type": "send", "ref": "1", "text": xssPayload}}}), ua)
	post("/t/v1/chat", creds(map[string]any{"u": page, "frames": []map[string]any{{"type": "send", "ref": "2", "text": "=1+1"}}}), ua)
	c, ok, err := s.chats.VisitorChat(site.ID, ci.Visitor)
	if err != nil || !ok {
		t.Fatalf("the visitor's chat: %v %v", ok, err)
	}
	post("/t/v1/chat", creds(map[string]any{"u": page, "frames": []map[string]any{{"type": "close", "chat": c.ID}}}), ua)

	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	escaped := map[string]bool{} // the pages that show the payload as text
	csvs := 0
	get := func(path string) {
		t.Helper()
		req, _ := http.NewRequest("GET", base+path, nil)
		req.AddCookie(&http.Cookie{Name: sessionCookie, Value: token})
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		ct := resp.Header.Get("Content-Type")
		switch {
		case strings.HasPrefix(ct, "text/html"):
			for _, raw := range []string{"<img src=x", "<script>window.__xss"} {
				if i := strings.Index(string(body), raw); i >= 0 {
					t.Errorf("GET %s: the visitor's markup is markup: …%s…", path, body[max(0, i-80):min(len(body), i+80)])
				}
			}
			if strings.Contains(string(body), "&lt;img src=x onerror=window.__xss=1&gt;") {
				escaped[strings.SplitN(path, "?", 2)[0]] = true
			}
		case strings.HasPrefix(ct, "text/csv"):
			csvs++
			r := csv.NewReader(bytes.NewReader(body))
			r.FieldsPerRecord = -1
			rows, err := r.ReadAll()
			if err != nil {
				t.Errorf("GET %s: %v", path, err)
			}
			for _, row := range rows {
				for _, cell := range row {
					if cell != "" && strings.ContainsRune("=+-@\t\r", rune(cell[0])) && !plainNumber.MatchString(cell) && !strings.HasPrefix(cell, `="`) {
						t.Errorf("GET %s: a cell a spreadsheet runs as a formula: %q", path, cell)
					}
				}
			}
		}
	}
	visitor := strconv.FormatUint(ci.Visitor, 10)
	for _, rt := range s.routes.all {
		if !rt.page || rt.method != "GET" || rt.need == open {
			continue
		}
		path := routeURL(s.routes, rt, site.Key)
		if strings.HasSuffix(path, "/*") {
			path = strings.TrimSuffix(path, "*") + visitor
		}
		get(path)
	}
	for _, path := range []string{
		"/sites/" + site.Key + "/search?q=" + url.QueryEscape("<img"),
		"/sites/" + site.Key + "/chat?q=" + url.QueryEscape("<img"),
		"/sites/" + site.Key + "/reports/devices.csv?by=browser",
		"/sites/" + site.Key + "/reports?group=utm_source",
		"/sites/" + site.Key + "/reports?group=utm_campaign",
		"/sites/" + site.Key + "/reports?group=referrer",
		"/sites/" + site.Key + "/reports?group=landing",
	} {
		get(path)
	}
	for _, want := range []string{"/sites/" + site.Key + "/leads", "/sites/" + site.Key + "/callbacks", "/sites/" + site.Key + "/chat",
		"/sites/" + site.Key + "/visitors/" + visitor, "/sites/" + site.Key + "/search", "/sites/" + site.Key + "/reports/events", "/sites/" + site.Key + "/reports/properties"} {
		if !escaped[want] {
			t.Errorf("%s does not show the visitor's markup as text (the walk saw it on %v)", want, escaped)
		}
	}
	if csvs < 5 {
		t.Errorf("only %d CSV exports walked", csvs)
	}
}
