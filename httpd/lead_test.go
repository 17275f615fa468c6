package httpd_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"appliance/httpd"
	"appliance/httpd/httpdtest"
	"appliance/httpd/leads"
	"appliance/httpd/sites"
	"appliance/httpd/visits"
	"appliance/store"
)

// visit is the tracker's answer to a page view: what the snippet keeps and
// what Comagic.getCredentials() returns.
type visit struct {
	CI        string `json:"ci"`
	VisitorID uint64 `json:"visitor_id"`
	SessionID uint64 `json:"session_id"`
	HitID     uint64 `json:"hit_id"`
	Key       string `json:"key"`
	ServerURL string `json:"server_url"`
}

// post sends body to the server and returns the status and decoded answer.
func post(t testing.TB, rawURL, contentType string, body []byte) (int, map[string]any, http.Header) {
	t.Helper()
	resp, err := http.Post(rawURL, contentType, bytes.NewReader(body))
	if err != nil {
		t.Fatalf("post %s: %v", rawURL, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("post %s: %d %q is not JSON", rawURL, resp.StatusCode, raw)
	}
	return resp.StatusCode, out, resp.Header
}

func postJSON(t testing.TB, rawURL string, v any) (int, map[string]any, http.Header) {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return post(t, rawURL, "text/plain;charset=UTF-8", b)
}

// trackHit posts a page view through the real tracker endpoint, with Go's
// own User-Agent: a crawler's, which the reports leave out (personHit is a
// person's).
func trackHit(t testing.TB, srv *httpdtest.Server, siteKey, ci, pageURL, referrer string) visit {
	t.Helper()
	return trackHitAs(t, srv, "", siteKey, ci, pageURL, referrer)
}

// chromeUA is a desktop Chrome's User-Agent: a person's.
const chromeUA = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"

// personHit is trackHit from a person's browser (a desktop Chrome), whose
// visit the reports count and credit its leads to.
func personHit(t testing.TB, srv *httpdtest.Server, siteKey, ci, pageURL, referrer string) visit {
	t.Helper()
	return trackHitAs(t, srv, chromeUA, siteKey, ci, pageURL, referrer)
}

// trackHitAs is trackHit with the User-Agent ua ("" Go's).
func trackHitAs(t testing.TB, srv *httpdtest.Server, ua, siteKey, ci, pageURL, referrer string) visit {
	t.Helper()
	body := map[string]string{"k": siteKey, "ci": ci, "u": pageURL, "r": referrer, "t": "Page"}
	if ci != "" { // the ci's own visitor: the snippet sends the session's key with it
		site, err := srv.HTTP.Sites().ByKey(siteKey)
		c, cerr := visits.ParseCI(ci)
		if err != nil || cerr != nil {
			t.Fatalf("hit with ci %q: %v %v", ci, err, cerr)
		}
		body["key"] = sites.CredentialKey(site, c.Visitor, c.Session)
	}
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest("POST", srv.URL+"t/v1/hit", bytes.NewReader(b))
	req.Header.Set("Content-Type", "text/plain;charset=UTF-8")
	if ua != "" {
		req.Header.Set("User-Agent", ua)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	status := resp.StatusCode
	var out map[string]any
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("hit: %d %q is not JSON", status, raw)
	}
	if status != http.StatusOK || out["success"] != true {
		t.Fatalf("hit: %d %v", status, out)
	}
	b, _ = json.Marshal(out["result"])
	var v visit
	if err := json.Unmarshal(b, &v); err != nil || v.Key == "" || v.HitID == 0 {
		t.Fatalf("hit result %s: %v", b, err)
	}
	return v
}

// browserHit posts a new visitor's page view with a desktop Chrome's
// User-Agent, so that the hit counts as a person's (Go's own agent is on the
// bot list) and may claim a pool number.
func browserHit(t testing.TB, srv *httpdtest.Server, siteKey, pageURL string) {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"k": siteKey, "u": pageURL, "t": "x"})
	req, _ := http.NewRequest("POST", srv.URL+"t/v1/hit", bytes.NewReader(body))
	req.Header.Set("Content-Type", "text/plain")
	req.Header.Set("User-Agent", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("hit: %d", resp.StatusCode)
	}
}

// siteLeads reads a site's stored leads, newest first.
func siteLeads(t testing.TB, srv *httpdtest.Server, siteKey string) []store.Lead {
	t.Helper()
	site, err := srv.HTTP.Sites().ByKey(siteKey)
	if err != nil {
		t.Fatal(err)
	}
	var out []store.Lead
	if err := srv.HTTP.Leads().List(context.Background(), site.ID, leads.Filter{}, 0, func(l store.Lead) bool { out = append(out, l); return true }); err != nil {
		t.Fatal(err)
	}
	return out
}

func leadBody(site string, v visit, fields map[string]any) map[string]any {
	b := map[string]any{"k": site, "ci": v.CI, "key": v.Key, "hi": v.HitID}
	for k, f := range fields {
		b[k] = f
	}
	return b
}

func TestTrackerLead(t *testing.T) {
	srv := httpdtest.Start(t)
	site := srv.Site(t, "Shop", "shop.example")
	other := srv.Site(t, "Other", "other.example")
	v := trackHit(t, srv, site, "", "https://shop.example/promo?utm_source=yandex&utm_medium=cpc&utm_campaign=spring", "https://yandex.ru/")
	cart := trackHit(t, srv, site, v.CI, "https://shop.example/cart", "")
	if cart.SessionID != v.SessionID {
		t.Fatalf("second hit started session %d, want %d", cart.SessionID, v.SessionID)
	}

	status, out, hdr := postJSON(t, srv.URL+"t/v1/lead", leadBody(site, cart, map[string]any{
		"name": "Дмитрий", "email": "Dmitry@Example.com", "phone": "8 (912) 345-67-89", "message": "Текст заявки...",
		"is_sale": true, "sale_cost": "9999", "group_id": 1234, "form_name": "Заказ", "u": "https://shop.example/cart#form",
	}))
	if status != http.StatusOK || len(out) != 2 || out["success"] != true || out["result"] != nil {
		t.Fatalf("lead: %d %v", status, out)
	}
	if hdr.Get("Access-Control-Allow-Origin") != "*" {
		t.Errorf("no CORS header: %v", hdr)
	}
	got := siteLeads(t, srv, site)
	if len(got) != 1 {
		t.Fatalf("%d leads stored, want 1", len(got))
	}
	l := got[0]
	want := store.Lead{ID: l.ID, Time: l.Time, Via: "js",
		Name: "Дмитрий", Email: "dmitry@example.com", EmailRaw: "Dmitry@Example.com", Phone: "79123456789", PhoneRaw: "8 (912) 345-67-89",
		Message: "Текст заявки...", IsSale: true, SaleCost: 999900, GroupID: 1234, FormName: "Заказ", IP: "127.0.0.1",
		Attribution: store.Attribution{Visitor: v.VisitorID, Session: v.SessionID, Hit: cart.HitID, PageURL: "https://shop.example/cart#form"}}
	if l.UTMSource != "yandex" || l.UTMMedium != "cpc" || l.UTMCampaign != "spring" || !strings.HasPrefix(l.Landing, "https://shop.example/promo") {
		t.Errorf("lead source %+v", l)
	}
	l.Channel, l.UTMSource, l.UTMMedium, l.UTMCampaign, l.UTMTerm, l.UTMContent, l.Click, l.Referrer, l.Landing = "", "", "", "", "", "", "", "", ""
	if l != want {
		t.Errorf("stored\n%+v\nwant\n%+v", l, want)
	}

	// The reference's minimal call, a number for a phone, and no page URL:
	// the hit's URL is the page.
	status, out, _ = postJSON(t, srv.URL+"t/v1/lead", leadBody(site, cart, map[string]any{"phone": 79251234567, "is_sale": "false"}))
	if status != http.StatusOK || out["success"] != true {
		t.Fatalf("minimal lead: %d %v", status, out)
	}
	if l := siteLeads(t, srv, site)[0]; l.Phone != "79251234567" || l.PageURL != "https://shop.example/cart" {
		t.Fatalf("minimal lead stored as %+v", l)
	}

	otherVisit := trackHit(t, srv, other, "", "https://other.example/", "")
	for _, tt := range []struct {
		name   string
		body   []byte
		status int
		errSub string
	}{
		{"not JSON", []byte(`{"k":`), 400, "the body is not JSON"},
		{"not UTF-8", []byte("{\"k\":\"" + site + "\",\"name\":\"\xff\"}"), 400, "UTF-8"},
		{"too large", []byte(`{"message":"` + strings.Repeat("a", 40<<10) + `"}`), 413, "larger than"},
		{"two objects", []byte(`{"k":"x"}{"k":"y"}`), 400, "the body must be one JSON object"},
		{"unknown site", mustJSON(leadBody("nosuchsite0000000000000000000000", cart, map[string]any{"name": "a"})), 404, "unknown site"},
		{"no ci", mustJSON(map[string]any{"k": site, "key": cart.Key, "name": "a"}), 400, "ci must be"},
		{"bad ci", mustJSON(leadBody(site, visit{CI: "1.x.3", Key: cart.Key}, map[string]any{"name": "a"})), 400, "ci must be"},
		{"wrong key", mustJSON(leadBody(site, visit{CI: cart.CI, Key: strings.Repeat("0", 32), HitID: cart.HitID}, map[string]any{"name": "a"})), 403, "wrong key"},
		{"key of another site", mustJSON(leadBody(site, otherVisit, map[string]any{"name": "a"})), 403, "wrong key"},
		{"empty lead", mustJSON(leadBody(site, cart, map[string]any{"name": " ", "message": ""})), 400, "the lead is empty"},
		{"cost without sale", mustJSON(leadBody(site, cart, map[string]any{"name": "a", "sale_cost": "100"})), 400, "sale_cost needs is_sale: true"},
		{"cost with sale false", mustJSON(leadBody(site, cart, map[string]any{"name": "a", "sale_cost": 100, "is_sale": false})), 400, "sale_cost needs is_sale: true"},
		{"bad cost", mustJSON(leadBody(site, cart, map[string]any{"name": "a", "sale_cost": "12.345", "is_sale": true})), 400, "sale_cost"},
		{"bad is_sale", mustJSON(leadBody(site, cart, map[string]any{"name": "a", "is_sale": "maybe"})), 400, `is_sale must be true or false, not a JSON string "maybe"`},
		{"phone too long", mustJSON(leadBody(site, cart, map[string]any{"phone": strings.Repeat("1", 65)})), 400, "phone is longer than 64"},
		{"long name", mustJSON(leadBody(site, cart, map[string]any{"name": strings.Repeat("n", 257)})), 400, "name is longer than 256"},
		{"long message", mustJSON(leadBody(site, cart, map[string]any{"name": "a", "message": strings.Repeat("m", 4097)})), 400, "message is longer than 4096"},
		{"control chars", mustJSON(leadBody(site, cart, map[string]any{"name": "a\u0007b"})), 400, "control characters"},
		{"javascript: page", mustJSON(leadBody(site, cart, map[string]any{"name": "a", "u": "javascript:alert(document.cookie)"})), 400, "page url must be an absolute http(s) URL"},
		{"bad hit", mustJSON(leadBody(site, cart, map[string]any{"name": "a", "hi": "x"})), 400, "hi must be"},
		{"group id object", mustJSON(leadBody(site, cart, map[string]any{"name": "a", "group_id": map[string]int{}})), 400, "group_id must be a string or a number, not a JSON object"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			before := len(siteLeads(t, srv, site))
			status, out, hdr := post(t, srv.URL+"t/v1/lead", "text/plain", tt.body)
			errMsg, _ := out["error"].(string)
			if status != tt.status || out["success"] != false || !strings.Contains(errMsg, tt.errSub) {
				t.Errorf("%d %v; want %d with %q", status, out, tt.status, tt.errSub)
			}
			if hdr.Get("Access-Control-Allow-Origin") != "*" {
				t.Errorf("error without CORS header")
			}
			// Every failure answers a result with a code, as the
			// reference's callbacks do: resp.result.code never throws.
			res, _ := out["result"].(map[string]any)
			if code, _ := res["code"].(string); code == "" || len(res) != 1 || tt.name == "empty lead" && code != "empty_lead" ||
				tt.status == 403 && code != "wrong_key" || tt.status == 404 && code != "unknown_site" || tt.status == 413 && code != "too_large" {
				t.Errorf("result %v", out["result"])
			}
			if after := len(siteLeads(t, srv, site)); after != before {
				t.Errorf("%d leads stored by a failed request", after-before)
			}
		})
	}

	req, _ := http.NewRequest("OPTIONS", srv.URL+"t/v1/lead", nil)
	req.Header.Set("Origin", "https://shop.example")
	req.Header.Set("Access-Control-Request-Method", "POST")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent || resp.Header.Get("Access-Control-Allow-Origin") != "*" {
		t.Errorf("preflight: %d %v", resp.StatusCode, resp.Header)
	}
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// credentialForm is the form the reference's PHP example posts, from a
// visit's getCredentials().
func credentialForm(v visit, fields map[string]string) url.Values {
	f := url.Values{"key": {v.Key}, "uri": {v.ServerURL}, "visitor_id": {strconv.FormatUint(v.VisitorID, 10)},
		"hit_id": {strconv.FormatUint(v.HitID, 10)}, "session_id": {strconv.FormatUint(v.SessionID, 10)}}
	for k, x := range fields {
		f.Set(k, x)
	}
	return f
}

func TestOfflineMessage(t *testing.T) {
	srv := httpdtest.Start(t)
	site := srv.Site(t, "Shop", "shop.example")
	other := srv.Site(t, "Other", "other.example")
	v := trackHit(t, srv, site, "", "https://shop.example/contacts?utm_source=google&utm_medium=cpc", "")
	ov := trackHit(t, srv, other, "", "https://other.example/", "")
	endpoint := srv.URL + "api/add_offline_message/"

	form := credentialForm(v, map[string]string{"name": "John Smith", "email": "no@email.adr", "phone": "+79251234567",
		"text": "Hello, world!", "is_sale": "1", "sale_cost": "10000"})
	status, out, _ := post(t, endpoint, "application/x-www-form-urlencoded; charset=UTF-8", []byte(form.Encode()))
	if status != http.StatusOK || len(out) != 1 || out["success"] != true {
		t.Fatalf("add_offline_message: %d %v, want exactly {\"success\":true}", status, out)
	}
	got := siteLeads(t, srv, site)
	if len(got) != 1 {
		t.Fatalf("%d leads", len(got))
	}
	if l := got[0]; l.Via != "server" || l.Name != "John Smith" || l.Email != "no@email.adr" || l.Phone != "79251234567" ||
		l.Message != "Hello, world!" || !l.IsSale || l.SaleCost != 1000000 || l.Visitor != v.VisitorID ||
		l.Session != v.SessionID || l.Hit != v.HitID || l.UTMSource != "google" || l.PageURL != "https://shop.example/contacts?utm_source=google&utm_medium=cpc" {
		t.Fatalf("stored %+v", l)
	}

	for _, tt := range []struct {
		name   string
		form   url.Values
		status int
		errSub string
	}{
		{"wrong key", credentialForm(visit{Key: strings.Repeat("a", 32), VisitorID: v.VisitorID, SessionID: v.SessionID}, map[string]string{"name": "x"}), 403, "wrong key"},
		{"no key", credentialForm(visit{VisitorID: v.VisitorID, SessionID: v.SessionID}, map[string]string{"name": "x"}), 403, "wrong key"},
		{"another session's key", credentialForm(visit{Key: v.Key, VisitorID: v.VisitorID, SessionID: v.SessionID + 1}, map[string]string{"name": "x"}), 403, "wrong key"},
		{"unknown visitor", credentialForm(visit{Key: v.Key, VisitorID: 1<<53 - 1, SessionID: v.SessionID}, map[string]string{"name": "x"}), 403, "wrong key"},
		{"key of the other site", credentialForm(visit{Key: ov.Key, VisitorID: v.VisitorID, SessionID: v.SessionID}, map[string]string{"name": "x"}), 403, "wrong key"},
		{"no visitor", url.Values{"key": {v.Key}, "session_id": {"1"}, "name": {"x"}}, 400, "visitor_id"},
		{"bad session", credentialForm(v, map[string]string{"session_id": "-1", "name": "x"}), 400, "session_id"},
		{"bad is_sale", credentialForm(v, map[string]string{"name": "x", "is_sale": "perhaps"}), 400, "is_sale"},
		{"cost without sale", credentialForm(v, map[string]string{"name": "x", "sale_cost": "10000"}), 400, "sale_cost needs is_sale: true"},
		{"empty lead", credentialForm(v, map[string]string{"text": "  "}), 400, "the lead is empty"},
		{"bad utf-8", credentialForm(v, map[string]string{"name": "\xff"}), 400, "UTF-8"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			status, out, _ := post(t, endpoint, "application/x-www-form-urlencoded", []byte(tt.form.Encode()))
			errMsg, _ := out["error"].(string)
			if status != tt.status || out["success"] != false || !strings.Contains(errMsg, tt.errSub) {
				t.Errorf("%d %v; want %d with %q", status, out, tt.status, tt.errSub)
			}
			if n := len(siteLeads(t, srv, site)) + len(siteLeads(t, srv, other)); n != 1 {
				t.Errorf("%d leads stored, want still 1", n)
			}
		})
	}
}

// A site's server may encode add_offline_message's fields other than the
// reference's example does: PHP's curl given an array (CURLOPT_POSTFIELDS
// => $data) posts multipart/form-data, and a hand-made request may name no
// Content-Type. Each lead is stored as the urlencoded one is; a JSON body
// is refused with what to send, and stores nothing.
func TestOfflineMessageEncodings(t *testing.T) {
	srv := httpdtest.Start(t)
	site := srv.Site(t, "Shop", "shop.example")
	v := trackHit(t, srv, site, "", "https://shop.example/contacts?utm_source=google", "")
	endpoint := srv.URL + "api/add_offline_message/"

	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	form := credentialForm(v, map[string]string{"name": "Иван", "phone": "8 912 345 67 89", "text": "multipart", "is_sale": "1", "sale_cost": "500"})
	for k := range form {
		if err := mw.WriteField(k, form.Get(k)); err != nil {
			t.Fatal(err)
		}
	}
	mw.Close()
	status, out, hdr := post(t, endpoint, mw.FormDataContentType(), body.Bytes())
	if status != http.StatusOK || len(out) != 1 || out["success"] != true {
		t.Fatalf("multipart add_offline_message: %d %v, want exactly {\"success\":true}", status, out)
	}
	if got := hdr.Get("Access-Control-Allow-Origin"); got != "*" {
		t.Errorf("Access-Control-Allow-Origin %q", got)
	}
	got := siteLeads(t, srv, site)
	if len(got) != 1 || got[0].Name != "Иван" || got[0].Phone != "79123456789" || got[0].Message != "multipart" ||
		!got[0].IsSale || got[0].SaleCost != 50000 || got[0].Visitor != v.VisitorID || got[0].Session != v.SessionID ||
		got[0].Hit != v.HitID || got[0].UTMSource != "google" || got[0].Via != "server" {
		t.Fatalf("stored %+v", got)
	}

	req, err := http.NewRequest("POST", endpoint, strings.NewReader(credentialForm(v, map[string]string{"text": "no content type"}).Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header["Content-Type"] = nil // net/http sends none
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || string(raw) != `{"success":true}` {
		t.Fatalf("without a Content-Type: %d %s", resp.StatusCode, raw)
	}
	if got := siteLeads(t, srv, site); len(got) != 2 || got[0].Message != "no content type" && got[1].Message != "no content type" {
		t.Fatalf("stored %+v", got)
	}

	for _, tt := range []struct {
		name, contentType, body string
		status                  int
		errSub                  string
	}{
		{"json", "application/json", `{"key":"` + v.Key + `","visitor_id":` + strconv.FormatUint(v.VisitorID, 10) + `,"session_id":` +
			strconv.FormatUint(v.SessionID, 10) + `,"name":"x"}`, http.StatusUnsupportedMediaType, "form-encoded"},
		{"multipart without boundary", "multipart/form-data", "name=x", http.StatusBadRequest, "boundary"},
		{"broken multipart", "multipart/form-data; boundary=zz", "--zz\r\nContent-Disposition: form-data; name=\"name\"\r\n\r\nx", http.StatusBadRequest, "multipart"},
		{"multipart with a wrong key", mw.FormDataContentType(), strings.Replace(body.String(), v.Key, strings.Repeat("a", 32), 1), http.StatusForbidden, "wrong key"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			status, out, _ := post(t, endpoint, tt.contentType, []byte(tt.body))
			errMsg, _ := out["error"].(string)
			if status != tt.status || out["success"] != false || !strings.Contains(errMsg, tt.errSub) {
				t.Errorf("%d %v; want %d with %q", status, out, tt.status, tt.errSub)
			}
			if n := len(siteLeads(t, srv, site)); n != 2 {
				t.Errorf("%d leads stored, want still 2", n)
			}
		})
	}
}

// The reference's alternative method, reproduced: the page's form carries
// getCredentials() in hidden fields to the site's own handler (send.php
// there, a Go handler on another port here), which posts them with the
// form's fields to consultant_server_url + "api/add_offline_message/" as
// the PHP example does, and reads {"success": true}.
func TestServerSideFlowLikePHP(t *testing.T) {
	srv := httpdtest.Start(t)
	site := srv.Site(t, "Shop", "shop.example")
	v := trackHit(t, srv, site, "", "https://shop.example/feedback?utm_source=newsletter", "")

	sendPHP := newSendPHP(t)

	// The browser submits the form with the hidden credential fields that
	// formSubmit() filled from Comagic.getCredentials().
	creds := map[string]string{"site_key": site, "key": v.Key, "uri": v.ServerURL, "visitor_id": strconv.FormatUint(v.VisitorID, 10),
		"hit_id": strconv.FormatUint(v.HitID, 10), "session_id": strconv.FormatUint(v.SessionID, 10), "consultant_server_url": v.ServerURL}
	form := url.Values{"name": {"Иван"}, "phone": {"8 912 345 67 89"}, "email": {"ivan@example.com"}, "text": {"Перезвоните"}}
	for k, x := range creds {
		form.Set(k, x)
	}
	resp, err := http.PostForm(sendPHP.URL+"/send.php", form)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "Заявка успешно сохранена." {
		t.Fatalf("send.php answered %q", body)
	}
	got := siteLeads(t, srv, site)
	if len(got) != 1 || got[0].Name != "Иван" || got[0].Phone != "79123456789" || got[0].Message != "Перезвоните" ||
		got[0].SaleCost != 1000000 || got[0].UTMSource != "newsletter" || got[0].Visitor != v.VisitorID || got[0].Via != "server" {
		t.Fatalf("stored %+v", got)
	}

	// A tampered hidden field is refused and stores nothing.
	form.Set("key", strings.Repeat("f", 32))
	resp, err = http.PostForm(sendPHP.URL+"/send.php", form)
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "Произошла непредвиденная ошибка" || len(siteLeads(t, srv, site)) != 1 {
		t.Fatalf("tampered key: send.php answered %q, %d leads", body, len(siteLeads(t, srv, site)))
	}
}

// newSendPHP is the site's own form handler of the reference's alternative
// method (send.php there), on another port: it posts the form's
// credentials and fields to consultant_server_url +
// "api/add_offline_message/" as the PHP example does, and answers what the
// example prints for the appliance's answer.
func newSendPHP(t testing.TB) *httptest.Server {
	sendPHP := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		// $data = array('key' => $_POST['key'], ..., 'is_sale' => true, 'sale_cost' => 10000);
		// http_build_query writes true as 1.
		data := url.Values{}
		for _, f := range []string{"key", "uri", "visitor_id", "hit_id", "session_id", "name", "email", "phone", "text"} {
			data.Set(f, r.PostForm.Get(f))
		}
		data.Set("is_sale", "1")
		data.Set("sale_cost", "10000")
		req, _ := http.NewRequest("POST", r.PostForm.Get("consultant_server_url")+"api/add_offline_message/", strings.NewReader(data.Encode()))
		req.Header.Set("Content-type", "application/x-www-form-urlencoded; charset=UTF-8")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		var result map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&result); err != nil || result["success"] != true {
			io.WriteString(w, "Произошла непредвиденная ошибка")
			return
		}
		io.WriteString(w, "Заявка успешно сохранена.")
	}))
	t.Cleanup(sendPHP.Close)
	return sendPHP
}

// A lead is never lost over what the visitor typed: a message alone, an
// email or a phone that does not parse is stored as typed, with a flag,
// through the page's endpoint and the server's, and the dashboard shows
// the flag (escaped).
func TestLeadKeepsWhatDoesNotParse(t *testing.T) {
	srv := httpdtest.Start(t)
	site := srv.Site(t, "Shop", "shop.example")
	v := trackHit(t, srv, site, "", "https://shop.example/contacts", "")
	cases := []struct {
		name                string
		fields              map[string]string
		phoneBad, emailBad  bool
		email, phone, shown string
	}{
		{"message only", map[string]string{"message": "Перезвоните после 18:00"}, false, false, "", "", "Перезвоните после 18:00"},
		{"email without a domain", map[string]string{"email": "ivan@mail"}, false, true, "", "", "ivan@mail"},
		{"phone with a name", map[string]string{"phone": "+7 (916) 123-45-67, Иван"}, true, false, "", "", "+7 (916) 123-45-67, Иван"},
		{"too few digits", map[string]string{"phone": "12"}, true, false, "", "", "12"},
		{"markup in a phone", map[string]string{"phone": "<b>x</b>", "email": "Ivan@Example.com"}, true, false, "ivan@example.com", "", "<b>x</b>"},
	}
	c := srv.Client(t)
	for _, via := range []string{"js", "server"} {
		for _, tt := range cases {
			t.Run(via+"/"+tt.name, func(t *testing.T) {
				var status int
				var out map[string]any
				if via == "js" {
					body := leadBody(site, v, nil)
					for k, f := range tt.fields {
						body[k] = f
					}
					status, out, _ = postJSON(t, srv.URL+"t/v1/lead", body)
				} else {
					form := credentialForm(v, nil)
					for k, f := range tt.fields {
						if k == "message" {
							k = "text"
						}
						form.Set(k, f)
					}
					status, out, _ = post(t, srv.URL+"api/add_offline_message/", "application/x-www-form-urlencoded", []byte(form.Encode()))
				}
				if status != http.StatusOK || out["success"] != true {
					t.Fatalf("%d %v; want the lead stored", status, out)
				}
				l := siteLeads(t, srv, site)[0]
				if l.Via != via || l.Message != tt.fields["message"] || l.PhoneRaw != tt.fields["phone"] || l.EmailRaw != tt.fields["email"] ||
					l.Phone != tt.phone || l.Email != tt.email || l.PhoneUnparsed != tt.phoneBad || l.EmailUnparsed != tt.emailBad {
					t.Fatalf("stored %+v", l)
				}
				page := rawPage(t, c, srv.URL+"sites/"+site+"/leads")
				row := page[strings.Index(page, fmt.Sprintf(`id="lead-%d"`, l.ID)):]
				row = row[:strings.Index(row, "</tr>")]
				if !strings.Contains(html.UnescapeString(row), tt.shown) {
					t.Errorf("row does not show %q:\n%s", tt.shown, row)
				}
				if got := strings.Contains(row, "not a phone number"); got != tt.phoneBad {
					t.Errorf("phone flag shown %v, want %v:\n%s", got, tt.phoneBad, row)
				}
				if got := strings.Contains(row, "not an email address"); got != tt.emailBad {
					t.Errorf("email flag shown %v, want %v:\n%s", got, tt.emailBad, row)
				}
				if strings.Contains(row, "<b>") {
					t.Errorf("markup not escaped:\n%s", row)
				}
			})
		}
	}
}

// rawPage fetches a dashboard page with the signed-in client c, as sent.
func rawPage(t testing.TB, c *http.Client, rawURL string) string {
	t.Helper()
	resp, err := c.Get(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("get %s: %d %s", rawURL, resp.StatusCode, b)
	}
	return string(b)
}

// A sale's amount reads on the leads page and the visitor card as the
// reports write money: 1 000.50, with a decimal comma in Russian.
func TestSaleAmountWrittenAsReports(t *testing.T) {
	srv := httpdtest.Start(t)
	site := srv.Site(t, "Shop", "shop.example")
	v := trackHit(t, srv, site, "", "https://shop.example/", "")
	if status, out, _ := postJSON(t, srv.URL+"t/v1/lead", leadBody(site, v, map[string]any{"name": "Ann", "is_sale": true, "sale_cost": "1000.5"})); status != http.StatusOK {
		t.Fatalf("lead: %d %v", status, out)
	}
	c := srv.Client(t)
	for _, u := range []string{"sites/" + site + "/leads", "sites/" + site + "/visitors/" + strconv.FormatUint(v.VisitorID, 10)} {
		for lang, want := range map[string]string{"en": "1\u00a0000.50", "ru": "1\u00a0000,50"} {
			code, page := getPageIn(t, c, srv.URL+u, lang)
			if code != http.StatusOK {
				t.Fatalf("%s: %d", u, code)
			}
			sale := regexp.MustCompile(`<div class="sale">(.*?)</div>`).FindStringSubmatch(page)
			if sale == nil || !strings.Contains(sale[1], want) {
				t.Errorf("%s in %s: the sale reads %q, want the amount written %q", u, lang, sale, want)
			}
		}
	}
}

// Bidi controls a visitor typed (a name written backwards by U+202E, a
// phone's digits reordered by U+200F) reach the dashboard's pages as
// U+FFFD, so they cannot reorder what the operator reads; the lead is
// stored as typed.
func TestBidiControlsShownNotObeyed(t *testing.T) {
	srv := httpdtest.Start(t)
	site := srv.Site(t, "Shop", "shop.example")
	v := trackHit(t, srv, site, "", "https://shop.example/", "")
	const name, phone, message = "Ann\u202eavoN", "8 916\u200f123\u200f45 67 доб\u20672", "call me\u2066 \u202bplease"
	if status, out, _ := postJSON(t, srv.URL+"t/v1/lead", leadBody(site, v, map[string]any{"name": name, "phone": phone, "message": message})); status != http.StatusOK {
		t.Fatalf("lead: %d %v", status, out)
	}
	if l := siteLeads(t, srv, site); len(l) != 1 || l[0].Name != name || l[0].PhoneRaw != phone || l[0].Message != message {
		t.Fatalf("stored %+v, want the lead as typed", l)
	}
	c := srv.Client(t)
	for _, u := range []string{"sites/" + site + "/leads", "sites/" + site + "/visitors/" + strconv.FormatUint(v.VisitorID, 10)} {
		page := rawPage(t, c, srv.URL+u)
		if i := strings.IndexAny(page, "\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"); i >= 0 {
			t.Errorf("%s holds a bidi control: %q", u, page[max(i-40, 0):min(i+40, len(page))])
		}
		if !strings.Contains(page, "Ann\ufffdavoN") || !strings.Contains(page, "call me\ufffd \ufffdplease") {
			t.Errorf("%s does not show the visitor's text with its controls made visible", u)
		}
	}
}

// The bidi controls a visitor typed reach no download and no attribute a
// browser shows (a tooltip) as they were: a lead's CSV row, and the page
// address a lead's tooltip shows, hold them as U+FFFD, as the pages'
// text does, so a spreadsheet or a tooltip cannot show the operator a
// phone reversed or a file name spoofed ("…\u202egpj.exe" read as
// "…exe.jpg"). The Arabic letter mark (U+061C) is one of them.
func TestBidiControlsShownInDownloadsAndTooltips(t *testing.T) {
	srv := httpdtest.Start(t)
	site := srv.Site(t, "Shop", "shop.example")
	v := trackHit(t, srv, site, "", "https://shop.example/sale\u202egpj.exe", "https://ya\u2067ndex.example/\u061c")
	lead := map[string]any{"name": "Ann\u202eavoN\u061c", "phone": "8 916\u200f123\u200f45 67", "message": "call me\u2066 \u202bplease"}
	if status, out, _ := postJSON(t, srv.URL+"t/v1/lead", leadBody(site, v, lead)); status != http.StatusOK {
		t.Fatalf("lead: %d %v", status, out)
	}
	c := srv.Client(t)
	for _, u := range []string{"sites/" + site + "/leads.csv", "sites/" + site + "/leads", "sites/" + site} {
		page := rawPage(t, c, srv.URL+u)
		if i := strings.IndexAny(page, bidiControls); i >= 0 {
			t.Errorf("%s holds a bidi control: %q", u, page[max(i-60, 0):min(i+60, len(page))])
		}
	}
	if csv := rawPage(t, c, srv.URL+"sites/"+site+"/leads.csv"); !strings.Contains(csv, "Ann\ufffdavoN\ufffd") || !strings.Contains(csv, "call me\ufffd \ufffdplease") {
		t.Errorf("the CSV does not show the visitor's text with its controls made visible:\n%s", csv)
	}
	if page := rawPage(t, c, srv.URL+"sites/"+site+"/leads"); !strings.Contains(page, "title=\"https://shop.example/sale\ufffdgpj.exe\"") {
		t.Errorf("the lead's page address tooltip does not show it with its control made visible")
	}
}

// The leads a minute of one address hold an IPv6 host to its /64: each of
// its addresses sending a few leads does not get it past the limit, and
// the lead keeps the sender's own address.
func TestLeadLimitCountsIPv6ByNetwork(t *testing.T) {
	clock := &trClock{now: time.Now()} // one minute throughout
	srv := httpdtest.Start(t, func(o *httpd.Options) { o.TrustProxy = true; o.Now = clock.Now })
	site := srv.Site(t, "Shop", "shop.example")
	v := trackHit(t, srv, site, "", "https://shop.example/", "")
	n := 0
	send := func(ip string) int {
		t.Helper()
		// each its own words: the same ones again would be a repeat of
		// the first lead (leads.RepeatWindow), answered before the limit
		n++
		b, _ := json.Marshal(leadBody(site, v, map[string]any{"phone": "79123456789", "message": fmt.Sprint("from ", ip, " #", n)}))
		req, _ := http.NewRequest("POST", srv.URL+"t/v1/lead", bytes.NewReader(b))
		req.Header.Set("Content-Type", "text/plain;charset=UTF-8")
		req.Header.Set("X-Forwarded-For", ip)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	refused := 0
	for i := range 2 * leadsPerMinuteForTest {
		if status := send(fmt.Sprintf("2001:db8:66:1::%x", i/2+1)); status == http.StatusTooManyRequests {
			refused++
		} else if status != http.StatusOK {
			t.Fatalf("lead %d: %d", i+1, status)
		}
	}
	if refused != leadsPerMinuteForTest {
		t.Errorf("%d of %d leads a minute from one /64 refused, want %d", refused, 2*leadsPerMinuteForTest, leadsPerMinuteForTest)
	}
	if status := send("2001:db8:66:2::1"); status != http.StatusOK {
		t.Errorf("a lead from the next /64: %d", status)
	}
	if l := siteLeads(t, srv, site)[0]; l.IP != "2001:db8:66:2::1" {
		t.Errorf("the lead keeps the address %q, want the sender's own", l.IP)
	}
}

// A flood of leads from more networks than the limit tracks (an IPv6 /48
// is 65,536 /64s) does not get a real visitor's lead refused: the limit
// forgets the networks seen least recently instead of refusing new ones,
// and a network of the flood is still held to its leads a minute.
func TestLeadLimitKeepsTakingNewNetworksUnderAFlood(t *testing.T) {
	const keys = 50
	clock := &trClock{now: time.Now()} // one minute throughout
	srv := httpdtest.Start(t, func(o *httpd.Options) {
		o.TrustProxy = true
		o.Now = clock.Now
		o.Limits = httpd.TrackerLimits{Keys: keys}
	})
	site := srv.Site(t, "Shop", "shop.example")
	v := trackHit(t, srv, site, "", "https://shop.example/", "")
	n := 0
	send := func(ip string) int {
		t.Helper()
		// each its own words: the same ones again would be a repeat of
		// the first lead (leads.RepeatWindow), answered before the limit
		n++
		b, _ := json.Marshal(leadBody(site, v, map[string]any{"phone": "79123456789", "message": fmt.Sprint("from ", ip, " #", n)}))
		req, _ := http.NewRequest("POST", srv.URL+"t/v1/lead", bytes.NewReader(b))
		req.Header.Set("Content-Type", "text/plain;charset=UTF-8")
		req.Header.Set("X-Forwarded-For", ip)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	refused := 0
	for i := range 2 * keys {
		if status := send(fmt.Sprintf("2001:db8:66:%x::1", i)); status != http.StatusOK {
			refused++
		}
	}
	if refused > 0 {
		t.Errorf("%d of the flood's %d leads from as many new networks refused", refused, 2*keys)
	}
	visitor := "2001:db8:77:1::5"
	if status := send(visitor); status != http.StatusOK {
		t.Fatalf("a visitor's lead from a new network after a flood of %d networks: %d, want 200", 2*keys, status)
	}
	if l := siteLeads(t, srv, site)[0]; l.IP != visitor {
		t.Errorf("the newest lead is from %q, want the visitor's", l.IP)
	}
	flooder := fmt.Sprintf("2001:db8:66:%x::1", 2*keys-1) // one lead sent
	for i := 1; i < leadsPerMinuteForTest; i++ {
		if status := send(flooder); status != http.StatusOK {
			t.Fatalf("lead %d of a flood network: %d", i+1, status)
		}
	}
	if status := send(flooder); status != http.StatusTooManyRequests {
		t.Errorf("lead %d a minute of a flood network: %d, want 429", leadsPerMinuteForTest+1, status)
	}
}

// leadsPerMinuteForTest is the tracker's limit of leads a minute from one
// address.
const leadsPerMinuteForTest = 20
