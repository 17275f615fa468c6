package httpd_test

import (
	"cmp"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"html"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"appliance/httpd"
	"appliance/httpd/httpdtest"
	"appliance/httpd/webhooks"
	"appliance/store"
)

// fastHooks shortens the webhook clock: polls every 5 ms, retries after
// 10 ms per failed attempt; and lets webhooks reach the receivers of the
// tests on 127.0.0.1.
func fastHooks(o *httpd.Options) {
	o.Webhooks = webhooks.Options{Tick: 5 * time.Millisecond, Timeout: 2 * time.Second,
		Backoff: func(n int) time.Duration { return time.Duration(n) * 10 * time.Millisecond }}
	httpdtest.AllowPrivate(o)
}

// hookReceiver is a CRM: it verifies each delivery's signature and counts
// the 2xx answers it gave per X-Appliance-Delivery.
type hookReceiver struct {
	t      testing.TB
	secret string
	event  string // the X-Appliance-Event every delivery must carry; "" is lead
	mu     sync.Mutex
	down   bool
	calls  int
	got    map[string]int
	bodies map[string]map[string]any
}

func newHookReceiver(t testing.TB) *hookReceiver {
	return &hookReceiver{t: t, got: map[string]int{}, bodies: map[string]map[string]any{}}
}

func (h *hookReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	h.mu.Lock()
	defer h.mu.Unlock()
	h.calls++
	if h.down {
		http.Error(w, "down for maintenance", http.StatusServiceUnavailable)
		return
	}
	if err := webhooks.Verify(h.secret, r.Header.Get("X-Appliance-Signature"), body, time.Now(), time.Minute); err != nil {
		h.t.Errorf("receiver: %v", err)
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	if want := cmp.Or(h.event, "lead"); r.Header.Get("X-Appliance-Event") != want {
		h.t.Errorf("event header %q, want %q", r.Header.Get("X-Appliance-Event"), want)
	}
	key := r.Header.Get("X-Appliance-Delivery")
	h.got[key]++
	var m map[string]any
	json.Unmarshal(body, &m)
	h.bodies[key] = m
	w.WriteHeader(http.StatusOK)
}

func (h *hookReceiver) state() (calls int, got map[string]int, bodies map[string]map[string]any) {
	h.mu.Lock()
	defer h.mu.Unlock()
	got = map[string]int{}
	for k, v := range h.got {
		got[k] = v
	}
	bodies = map[string]map[string]any{}
	for k, v := range h.bodies {
		bodies[k] = v
	}
	return h.calls, got, bodies
}

func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

var secretRe = regexp.MustCompile(`<pre class="code" id="secret-value">([^<]+)</pre>`)

// addHook adds an endpoint through the dashboard form and returns the
// secret the page shows once.
func addHook(t testing.TB, srv *httpdtest.Server, c *http.Client, site, hookURL string) string {
	t.Helper()
	return addHookFor(t, srv, c, site, hookURL, "lead")
}

// addHookFor is addHook for the event kinds given.
func addHookFor(t testing.TB, srv *httpdtest.Server, c *http.Client, site, hookURL string, events ...string) string {
	t.Helper()
	status, body := postHookForm(t, srv, c, site, hookURL, events...)
	m := secretRe.FindSubmatch(body)
	if status != http.StatusOK || m == nil {
		t.Fatalf("add webhook: %d\n%s", status, body)
	}
	return string(m[1])
}

// postHookForm posts the dashboard's form that adds an endpoint for the
// event kinds given (none: lead) and returns the status and the page.
func postHookForm(t testing.TB, srv *httpdtest.Server, c *http.Client, site, hookURL string, events ...string) (int, []byte) {
	t.Helper()
	if len(events) == 0 {
		events = []string{"lead"}
	}
	csrf := srv.FormToken(t, c, "sites/"+site+"/webhooks")
	resp, err := c.PostForm(srv.URL+"sites/"+site+"/webhooks", url.Values{"csrf": {csrf}, "url": {hookURL}, "events": events})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, body
}

// Leads reach two receivers that are down, one answering 503 and one not
// listening, across a restart of the server: every lead arrives exactly
// once per endpoint (by X-Appliance-Delivery), signed, with its data and
// source.
func TestLeadWebhooksThroughDowntimeAndRestart(t *testing.T) {
	dir := t.TempDir()
	srv := httpdtest.StartAt(t, dir, fastHooks)
	site := srv.Site(t, "Shop", "shop.example")
	c := srv.Client(t)

	flaky := newHookReceiver(t)
	flaky.down = true
	flakySrv := httptest.NewServer(flaky)
	defer flakySrv.Close()
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	lateAddr := ln.Addr().String()
	ln.Close() // nothing listens there until the receiver comes up
	late := newHookReceiver(t)

	flaky.secret = addHook(t, srv, c, site, flakySrv.URL+"/crm")
	late.secret = addHook(t, srv, c, site, "http://"+lateAddr+"/crm")

	v := trackHit(t, srv, site, "", "https://shop.example/?utm_source=vk&utm_medium=social", "")
	const n = 6
	for i := range n {
		var status int
		if i%2 == 0 {
			status, _, _ = postJSON(t, srv.URL+"t/v1/lead", leadBody(site, v, map[string]any{"name": "Lead " + string(rune('A'+i)), "phone": "+7 912 345-67-8" + string(rune('0'+i))}))
		} else {
			status, _, _ = post(t, srv.URL+"api/add_offline_message/", "application/x-www-form-urlencoded",
				[]byte(credentialForm(v, map[string]string{"name": "Lead " + string(rune('A'+i))}).Encode()))
		}
		if status != http.StatusOK {
			t.Fatalf("lead %d: status %d", i, status)
		}
	}
	eventually(t, "failed attempts at the 503 receiver", func() bool { calls, _, _ := flaky.state(); return calls >= 2*n })
	srv.Stop()

	flaky.mu.Lock()
	flaky.down = false
	flaky.mu.Unlock()
	lateLn, err := net.Listen("tcp", lateAddr)
	if err != nil {
		t.Skipf("port %s taken meanwhile: %v", lateAddr, err)
	}
	lateSrv := httptest.NewUnstartedServer(late)
	lateSrv.Listener.Close()
	lateSrv.Listener = lateLn
	lateSrv.Start()
	defer lateSrv.Close()
	time.Sleep(50 * time.Millisecond) // nothing may arrive while the server is down
	if _, got, _ := flaky.state(); len(got) != 0 {
		t.Fatalf("delivered while stopped: %v", got)
	}

	srv = httpdtest.StartAt(t, dir, fastHooks)
	for name, rc := range map[string]*hookReceiver{"503 receiver": flaky, "late receiver": late} {
		eventually(t, name+" to get all leads", func() bool { _, got, _ := rc.state(); return len(got) == n })
	}
	time.Sleep(100 * time.Millisecond) // time for a duplicate to show up
	for name, rc := range map[string]*hookReceiver{"503 receiver": flaky, "late receiver": late} {
		_, got, bodies := rc.state()
		names := map[string]bool{}
		for key, count := range got {
			if count != 1 {
				t.Errorf("%s: delivery %s accepted %d times", name, key, count)
			}
			b := bodies[key]
			data, _ := b["data"].(map[string]any)
			source, _ := data["source"].(map[string]any)
			if b["event"] != "lead" || b["site_key"] != site || data == nil || source["utm_source"] != "vk" ||
				data["visitor_id"] != float64(v.VisitorID) || b["id"] != data["id"] {
				t.Errorf("%s: body %v", name, b)
			}
			names[data["name"].(string)] = true
		}
		if len(names) != n {
			t.Errorf("%s: got leads %v, want %d distinct", name, names, n)
		}
	}

	// The delivery log shows them delivered, with the failed attempts.
	resp, err := c.Get(srv.URL + "sites/" + site + "/webhooks")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if got := strings.Count(string(page), `<td class="state">delivered`); got != 2*n {
		t.Errorf("delivery log shows %d delivered, want %d", got, 2*n)
	}
	if !strings.Contains(string(page), "503 Service Unavailable") {
		t.Error("delivery log does not show the 503 attempts")
	}

	// Send again: the same delivery id once more.
	id := regexp.MustCompile(`<tr id="delivery-(\d+)">`).FindSubmatch(page)[1]
	csrf := srv.FormToken(t, c, "sites/"+site+"/webhooks")
	resp, err = c.PostForm(srv.URL+"sites/"+site+"/webhooks/resend", url.Values{"csrf": {csrf}, "id": {string(id)}})
	if err != nil || resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("send again: %v %v", resp, err)
	}
	resp.Body.Close()
	eventually(t, "the resend", func() bool {
		_, g1, _ := flaky.state()
		_, g2, _ := late.state()
		return g1[string(id)]+g2[string(id)] == 2
	})
	// Without the CSRF token nothing happens.
	resp, _ = c.PostForm(srv.URL+"sites/"+site+"/webhooks/resend", url.Values{"id": {string(id)}})
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("send again without csrf: %d", resp.StatusCode)
	}
}

// The CSV export has every filtered lead, formula-looking cells defused,
// phone numbers as text (a spreadsheet would show 7,91E+10).
func TestLeadsCSV(t *testing.T) {
	srv := httpdtest.Start(t)
	site := srv.Site(t, "Shop", "shop.example")
	v := trackHit(t, srv, site, "", "https://shop.example/?utm_source=google", "")
	for _, f := range []map[string]any{
		{"name": "=HYPERLINK(\"http://evil\",\"x\")", "phone": "+79123456789", "message": "@SUM(1+1)", "form_name": "order", "is_sale": true, "sale_cost": "150.5"},
		{"name": "-2+3", "email": "a@b.example", "message": "line 1\nline 2, \"quoted\""},
		{"name": "Обычный", "form_name": "callme"},
	} {
		if status, out, _ := postJSON(t, srv.URL+"t/v1/lead", leadBody(site, v, f)); status != http.StatusOK {
			t.Fatalf("lead: %d %v", status, out)
		}
	}
	c := srv.Client(t)
	get := func(query string) [][]string {
		resp, err := c.Get(srv.URL + "sites/" + site + "/leads.csv" + query)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if ct := resp.Header.Get("Content-Type"); resp.StatusCode != 200 || !strings.HasPrefix(ct, "text/csv") ||
			!strings.Contains(resp.Header.Get("Content-Disposition"), "attachment") {
			t.Fatalf("csv: %d %s", resp.StatusCode, ct)
		}
		body, _ := io.ReadAll(resp.Body)
		if !strings.HasPrefix(string(body), "\ufeff") {
			t.Fatal("no byte-order mark")
		}
		rows, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(string(body), "\ufeff"))).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		return rows
	}
	rows := get("")
	if len(rows) != 4 || !slices.Equal(rows[0], leadsCSVColumns) {
		t.Fatalf("csv rows %q", rows)
	}
	col := map[string]int{}
	for i, h := range rows[0] {
		col[h] = i
	}
	newest, mid, oldest := rows[1], rows[2], rows[3]
	for _, tt := range []struct{ got, want string }{
		{newest[col["name"]], "Обычный"},
		{mid[col["name"]], "'-2+3"},
		{mid[col["message"]], "line 1\nline 2, \"quoted\""},
		{oldest[col["name"]], "'=HYPERLINK(\"http://evil\",\"x\")"},
		{oldest[col["message"]], "'@SUM(1+1)"},
		{oldest[col["phone"]], `="79123456789"`},
		{oldest[col["phone_raw"]], `="+79123456789"`},
		{oldest[col["sale_cost"]], "150.50"},
		{oldest[col["is_sale"]], "true"},
		{oldest[col["utm_source"]], "google"},
		{oldest[col["visitor_id"]], v.CI[:strings.IndexByte(v.CI, '.')]},
	} {
		if tt.got != tt.want {
			t.Errorf("cell %q, want %q", tt.got, tt.want)
		}
	}
	if rows := get("?phone=1"); len(rows) != 2 || rows[1][col["form_name"]] != "order" {
		t.Errorf("phone filter: %q", rows)
	}
	if rows := get("?form=callme"); len(rows) != 2 || rows[1][col["name"]] != "Обычный" {
		t.Errorf("form filter: %q", rows)
	}
	if rows := get("?sale=no"); len(rows) != 3 {
		t.Errorf("sale=no filter: %d rows", len(rows))
	}
	today := time.Now().UTC().Format("2006-01-02")
	if rows := get("?from=" + today + "&to=" + today); len(rows) != 4 {
		t.Errorf("today: %d rows", len(rows))
	}
	if rows := get("?to=2000-01-01"); len(rows) != 1 {
		t.Errorf("before 2000: %d rows", len(rows))
	}
	resp, _ := c.Get(srv.URL + "sites/" + site + "/leads.csv?from=yesterday")
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("bad date: %d", resp.StatusCode)
	}
	anon := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, _ = anon.Get(srv.URL + "sites/" + site + "/leads.csv")
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || !strings.HasSuffix(resp.Header.Get("Location"), "/login") {
		t.Errorf("CSV export without signing in: %d", resp.StatusCode)
	}
}

// leadsCSVColumns is the leads CSV's header in English, in order: a
// column added later comes at the end, after the source's, so that a
// spreadsheet reading the file by position keeps working.
var leadsCSVColumns = []string{"id", "created_at", "via", "name", "email", "phone", "phone_raw", "message",
	"is_sale", "sale_cost", "group_id", "form_name", "page_url", "visitor_id", "session_id", "hit_id",
	"email_raw", "unparsed", "status", "note", "channel", "utm_source", "utm_medium", "utm_campaign", "utm_term",
	"utm_content", "click", "referrer", "landing_page", "no_visit"}

// The CSV says which leads came without a visit (sent before the
// visitor's first page view was answered), as the leads page flags them:
// a no_visit column at the end, "true" for such a lead (its visitor_id
// empty), "false" for a visitor's, headed in Russian for a Russian reader.
func TestLeadsCSVNoVisit(t *testing.T) {
	srv := httpdtest.Start(t)
	site := srv.Site(t, "Shop", "shop.example")
	v := trackHit(t, srv, site, "", "https://shop.example/?utm_source=google", "")
	if status, out, _ := postJSON(t, srv.URL+"t/v1/lead", leadBody(site, v, map[string]any{"name": "С визитом"})); status != http.StatusOK {
		t.Fatalf("lead: %d %v", status, out)
	}
	if status, out, _ := postJSON(t, srv.URL+"t/v1/lead", map[string]any{"k": site, "name": "Без визита", "u": "https://shop.example/"}); status != http.StatusOK {
		t.Fatalf("lead without a visit: %d %v", status, out)
	}
	c := srv.Client(t)
	for _, tc := range []struct {
		accept, header string
		comma          rune
	}{
		{"en-US,en", "no_visit", ','},
		{"ru-RU,ru;q=0.9", "Без визита", ';'},
	} {
		_, body := getPageIn(t, c, srv.URL+"sites/"+site+"/leads.csv", tc.accept)
		r := csv.NewReader(strings.NewReader(strings.TrimPrefix(body, "\ufeff")))
		r.Comma = tc.comma
		rows, err := r.ReadAll()
		if err != nil || len(rows) != 3 || len(rows[0]) != len(leadsCSVColumns) {
			t.Fatalf("%s: rows %q, %v", tc.accept, rows, err)
		}
		last := len(rows[0]) - 1
		if rows[0][last] != tc.header {
			t.Errorf("%s: the last column is headed %q, want %q", tc.accept, rows[0][last], tc.header)
		}
		name, visitor := slices.Index(leadsCSVColumns, "name"), slices.Index(leadsCSVColumns, "visitor_id")
		for _, row := range rows[1:] {
			want := map[string]string{"С визитом": "false", "Без визита": "true"}[row[name]]
			if row[last] != want || (want == "true") != (row[visitor] == "") {
				t.Errorf("%s: lead %q: no_visit %q, visitor_id %q; want no_visit %q", tc.accept, row[name], row[last], row[visitor], want)
			}
		}
	}
}

// A Russian owner's CSV opens in a Russian Excel: cells separated by ";"
// (its list separator; a comma file opens as one column), a decimal comma
// (12.5 would become the 12th of May), headers in Russian, the phone as
// text, and a visitor's formula defused.
func TestLeadsCSVForRussianExcel(t *testing.T) {
	srv := httpdtest.Start(t)
	site := srv.Site(t, "Shop", "shop.example")
	v := trackHit(t, srv, site, "", "https://shop.example/?utm_source=yandex", "")
	lead := map[string]any{"name": "Иван; Петров", "phone": "8 (912) 345-67-89", "message": "-1+2\nвторая строка", "is_sale": true, "sale_cost": "1500.5"}
	if status, out, _ := postJSON(t, srv.URL+"t/v1/lead", leadBody(site, v, lead)); status != http.StatusOK {
		t.Fatalf("lead: %d %v", status, out)
	}
	c := srv.Client(t)
	col := map[string]int{} // from the English file's header
	for _, tc := range []struct {
		accept string
		comma  rune
		cost   string
		header map[string]string // the header of a column, by its English name
	}{
		{"en-US,en", ',', "1500.50", map[string]string{"phone": "phone", "sale_cost": "sale_cost"}},
		{"ru-RU,ru;q=0.9", ';', "1500,50", map[string]string{"phone": "Телефон", "sale_cost": "Сумма продажи", "utm_source": "utm_source"}},
	} {
		_, body := getPageIn(t, c, srv.URL+"sites/"+site+"/leads.csv", tc.accept)
		r := csv.NewReader(strings.NewReader(strings.TrimPrefix(body, "\ufeff")))
		r.Comma = tc.comma
		rows, err := r.ReadAll()
		if err != nil || len(rows) != 2 || len(rows[0]) != len(rows[1]) || len(rows[0]) < 20 {
			t.Fatalf("%s: rows %q, %v\n%s", tc.accept, rows, err, body)
		}
		if len(col) == 0 {
			for i, h := range rows[0] {
				col[h] = i
			}
		}
		for key, want := range tc.header {
			if got := rows[0][col[key]]; got != want {
				t.Errorf("%s: the %s column is headed %q, want %q", tc.accept, key, got, want)
			}
		}
		row := rows[1]
		for _, cell := range []struct{ name, want string }{
			{"name", "Иван; Петров"},
			{"phone", `="79123456789"`},
			{"message", "'-1+2\nвторая строка"},
			{"sale_cost", tc.cost},
			{"visitor_id", v.CI[:strings.IndexByte(v.CI, '.')]},
		} {
			if got := row[col[cell.name]]; got != cell.want {
				t.Errorf("%s: %s = %q, want %q", tc.accept, cell.name, got, cell.want)
			}
		}
	}
}

// changeHook posts the webhooks page's form that changes endpoint id and
// returns the status and the page (or where it sent the browser).
func changeHook(t *testing.T, srv *httpdtest.Server, c *http.Client, site, id, hookURL, secret string) (int, string) {
	t.Helper()
	csrf := srv.FormToken(t, c, "sites/"+site+"/webhooks")
	nc := *c
	nc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := nc.PostForm(srv.URL+"sites/"+site+"/webhooks/change", url.Values{"csrf": {csrf}, "id": {id}, "url": {hookURL},
		"secret": {secret}, "events": {"lead"}})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// The owner moves an endpoint whose CRM is down to a new URL with a new
// secret: the lead queued for it, retrying, arrives there under the same
// delivery id, signed with the new secret (removing the endpoint and
// adding another dropped it). A change with no secret keeps the secret; a
// bad URL is refused and changes nothing.
func TestWebhookChangeTakesQueuedDeliveries(t *testing.T) {
	srv := httpdtest.Start(t, fastHooks)
	site := srv.Site(t, "Shop", "shop.example")
	c := srv.Client(t)
	old := newHookReceiver(t)
	old.down = true
	oldSrv := httptest.NewServer(old)
	defer oldSrv.Close()
	old.secret = addHook(t, srv, c, site, oldSrv.URL+"/crm")
	_, page := getPage(t, c, srv.URL+"sites/"+site+"/webhooks")
	m := regexp.MustCompile(`<tr id="endpoint-(\d+)">`).FindStringSubmatch(page)
	if m == nil || !strings.Contains(page, `action="/sites/`+site+`/webhooks/change"`) {
		t.Fatalf("the webhooks page has no form to change the endpoint:\n%s", page)
	}
	id := m[1]

	v := trackHit(t, srv, site, "", "https://shop.example/", "")
	if status, out, _ := postJSON(t, srv.URL+"t/v1/lead", leadBody(site, v, map[string]any{"name": "Queued"})); status != http.StatusOK {
		t.Fatalf("lead: %d %v", status, out)
	}
	eventually(t, "retries at the old receiver", func() bool { calls, _, _ := old.state(); return calls >= 2 })
	_, page = getPage(t, c, srv.URL+"sites/"+site+"/webhooks")
	dl := regexp.MustCompile(`<tr id="delivery-(\d+)">`).FindStringSubmatch(page)
	if dl == nil {
		t.Fatalf("no delivery in the log:\n%s", page)
	}

	if status, page := changeHook(t, srv, c, site, id, "ftp://crm.example/", ""); status != http.StatusBadRequest || !strings.Contains(page, "The URL must be http://") {
		t.Errorf("a bad URL: %d\n%s", status, page)
	}
	moved := newHookReceiver(t)
	moved.secret = "whsec_moved-0123456789abcdef"
	moved.down = true
	movedSrv := httptest.NewServer(moved)
	defer movedSrv.Close()
	if status, _ := changeHook(t, srv, c, site, id, movedSrv.URL+"/crm", moved.secret); status != http.StatusSeeOther {
		t.Fatalf("change: %d", status)
	}
	// While the new URL fails too, the log says the delivery goes there.
	eventually(t, "retries at the new URL", func() bool { calls, _, _ := moved.state(); return calls >= 1 })
	_, page = getPage(t, c, srv.URL+"sites/"+site+"/webhooks")
	row, _, _ := strings.Cut(page[strings.Index(page, `<tr id="delivery-`+dl[1]+`">`):], "</tr>")
	if !strings.Contains(row, movedSrv.URL+"/crm") {
		t.Errorf("the retrying delivery's row does not name the URL it goes to:\n%s", row)
	}
	moved.mu.Lock()
	moved.down = false
	moved.mu.Unlock()
	eventually(t, "the queued lead at the new URL", func() bool { _, got, _ := moved.state(); return got[dl[1]] == 1 })
	if _, _, bodies := moved.state(); bodies[dl[1]]["data"].(map[string]any)["name"] != "Queued" {
		t.Errorf("the new URL got %v", bodies[dl[1]])
	}
	if _, page := getPage(t, c, srv.URL+"sites/"+site+"/webhooks"); !strings.Contains(page, `<td class="url">`+movedSrv.URL+"/crm</td>") {
		t.Errorf("the page does not show the new URL")
	}

	// No secret given: the one set stays.
	kept := newHookReceiver(t)
	kept.secret = moved.secret
	keptSrv := httptest.NewServer(kept)
	defer keptSrv.Close()
	if status, _ := changeHook(t, srv, c, site, id, keptSrv.URL+"/crm", ""); status != http.StatusSeeOther {
		t.Fatalf("change without a secret: %d", status)
	}
	if status, out, _ := postJSON(t, srv.URL+"t/v1/lead", leadBody(site, v, map[string]any{"name": "Later"})); status != http.StatusOK {
		t.Fatalf("lead: %d %v", status, out)
	}
	eventually(t, "the next lead, signed with the kept secret", func() bool { _, got, _ := kept.state(); return len(got) == 1 })
}

// testHook clicks an endpoint's "Send a test" and returns the page.
func testHook(t *testing.T, srv *httpdtest.Server, c *http.Client, site, id string) string {
	t.Helper()
	csrf := srv.FormToken(t, c, "sites/"+site+"/webhooks")
	resp, err := c.PostForm(srv.URL+"sites/"+site+"/webhooks/test", url.Values{"csrf": {csrf}, "id": {id}})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("send a test: %d\n%s", resp.StatusCode, body)
	}
	return string(body)
}

// "Send a test" posts a signed test event to the endpoint at once and
// says what its receiver answered and how long it took, or why it was not
// taken; nothing is queued or retried.
func TestWebhookSendATest(t *testing.T) {
	srv := httpdtest.Start(t, fastHooks)
	site := srv.Site(t, "Shop", "shop.example")
	c := srv.Client(t)
	rc := newHookReceiver(t)
	rc.event = "test"
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(30 * time.Millisecond) // an answer that takes at least 30 ms
		rc.ServeHTTP(w, r)
	}))
	defer slow.Close()
	rc.secret = addHook(t, srv, c, site, slow.URL+"/crm")
	_, page := getPage(t, c, srv.URL+"sites/"+site+"/webhooks")
	id := regexp.MustCompile(`<tr id="endpoint-(\d+)">`).FindStringSubmatch(page)[1]

	page = testHook(t, srv, c, site, id)
	m := regexp.MustCompile(`<p class="flash" role="status">The test was taken: 200 in (\d+) ms.</p>`).FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("the page does not say the test was taken:\n%s", page)
	}
	if ms, _ := strconv.Atoi(m[1]); ms < 30 {
		t.Errorf("the test took %d ms by the page; the receiver took at least 30", ms)
	}
	calls, got, bodies := rc.state()
	if calls != 1 || len(got) != 1 {
		t.Fatalf("receiver: %d calls, %v", calls, got)
	}
	for _, b := range bodies {
		if data, ok := b["data"].(map[string]any); b["event"] != "test" || b["site_key"] != site || !ok || len(data) != 0 {
			t.Errorf("test body %v", b)
		}
	}

	rc.mu.Lock()
	rc.down = true
	rc.mu.Unlock()
	page = testHook(t, srv, c, site, id)
	if !strings.Contains(page, `The test was not taken: 503 Service Unavailable: &#34;down for maintenance&#34; The receiver failed with an error of its own.`) {
		t.Errorf("the page does not say why the test was not taken:\n%s", page)
	}
	if !strings.Contains(page, "Nothing delivered yet.") {
		t.Error("a test shows in the delivery log")
	}
	time.Sleep(50 * time.Millisecond) // time for a retry to show up
	if calls, _, _ := rc.state(); calls != 2 {
		t.Errorf("the receiver had %d calls; a failed test is not retried", calls)
	}
}

// A receiver that answers 410 Gone wants no more: the delivery ends
// refused after that one attempt, the log says so and why, and nothing
// asks again until the owner presses "Send again", which delivers it once
// the receiver takes it.
func TestWebhookGoneEndsRetries(t *testing.T) {
	srv := httpdtest.Start(t, fastHooks)
	site := srv.Site(t, "Shop", "shop.example")
	c := srv.Client(t)
	rc := newHookReceiver(t)
	var gone atomic.Bool
	gone.Store(true)
	var goneCalls atomic.Int32
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if gone.Load() {
			goneCalls.Add(1)
			http.Error(w, "this hook was deleted", http.StatusGone)
			return
		}
		rc.ServeHTTP(w, r)
	}))
	defer ts.Close()
	rc.secret = addHook(t, srv, c, site, ts.URL+"/zap")

	v := trackHit(t, srv, site, "", "https://shop.example/", "")
	if status, out, _ := postJSON(t, srv.URL+"t/v1/lead", leadBody(site, v, map[string]any{"name": "Анна", "phone": "+79101234567"})); status != http.StatusOK {
		t.Fatalf("lead: %d %v", status, out)
	}
	var page string
	eventually(t, "the delivery refused in the log", func() bool {
		_, page = getPage(t, c, srv.URL+"sites/"+site+"/webhooks")
		return strings.Contains(page, "refused by the receiver (410 Gone)")
	})
	if !strings.Contains(page, `410 Gone: "this hook was deleted`) {
		t.Errorf("the log does not say what the receiver answered:\n%s", page)
	}
	if _, ru := getPageIn(t, c, srv.URL+"sites/"+site+"/webhooks", "ru"); !strings.Contains(ru, "отклонено получателем (410 Gone)") {
		t.Errorf("the Russian log does not say the receiver refused it:\n%s", ru)
	}
	s, _ := srv.HTTP.Sites().ByKey(site)
	var log []store.Delivery
	srv.DB.ScanPrefix(context.Background(), store.DeliveryPrefix(s.ID), false, 0, func(k, v []byte) bool {
		id, _ := store.IDFromKey(k)
		dl, err := store.DecodeDelivery(id, v)
		if err != nil {
			t.Fatal(err)
		}
		log = append(log, dl)
		return true
	})
	if len(log) != 1 {
		t.Fatalf("deliveries %+v", log)
	}
	if dl := log[0]; dl.State != store.DeliveryRefused || dl.Attempts != 1 {
		t.Fatalf("delivery state %d after %d attempts, want refused after 1", dl.State, dl.Attempts)
	}
	if _, err := srv.DB.Get(store.DueKey(store.DueDelivery, log[0].Due, log[0].ID)); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("the refused delivery is still queued: %v", err)
	}

	gone.Store(false)
	if status, _ := submitForm(t, c, srv, "sites/"+site+"/webhooks", "sites/"+site+"/webhooks/resend", url.Values{"id": {strconv.FormatUint(log[0].ID, 10)}}); status != http.StatusSeeOther {
		t.Fatalf("send again: %d", status)
	}
	eventually(t, "the delivery sent again", func() bool {
		_, got, _ := rc.state()
		return got[strconv.FormatUint(log[0].ID, 10)] == 1
	})
	if n := goneCalls.Load(); n != 1 {
		t.Errorf("the receiver answered 410 to %d attempts, want 1", n)
	}
}

// The delivery log says why an attempt failed in the owner's language,
// above what the connection or the receiver said: a receiver that is not
// running, one that refuses the signature, one whose HTTPS certificate is
// not trusted.
func TestDeliveryLogSaysWhyInWords(t *testing.T) {
	srv := httpdtest.Start(t, fastHooks)
	site := srv.Site(t, "Shop", "shop.example")
	c := srv.Client(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + ln.Addr().String() + "/crm"
	ln.Close()
	auth := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "bad signature", http.StatusUnauthorized)
	}))
	defer auth.Close()
	untrusted := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer untrusted.Close()
	for _, u := range []string{closed, auth.URL + "/crm", untrusted.URL + "/crm"} {
		addHook(t, srv, c, site, u)
	}
	v := trackHit(t, srv, site, "", "https://shop.example/", "")
	if status, out, _ := postJSON(t, srv.URL+"t/v1/lead", leadBody(site, v, map[string]any{"name": "Анна", "phone": "+79101234567"})); status != http.StatusOK {
		t.Fatalf("lead: %d %v", status, out)
	}
	for _, tt := range []struct {
		lang  string
		words []string
	}{
		{"en", []string{"Nothing answers at that address: is the receiver running, and is the port right?",
			"The receiver refused access: check the secret it verifies the signature with.",
			"The secure (HTTPS) connection failed: the receiver's certificate is not valid, or it does not speak HTTPS there."}},
		{"ru", []string{"По этому адресу никто не отвечает: работает ли получатель и верен ли порт?",
			"Получатель отказал в доступе: проверьте секрет, которым он проверяет подпись.",
			"Защищённое соединение (HTTPS) не установилось: сертификат получателя недействителен, или по этому адресу нет HTTPS."}},
	} {
		var page string
		eventually(t, "a failed attempt of each delivery in "+tt.lang, func() bool {
			_, raw := getPageIn(t, c, srv.URL+"sites/"+site+"/webhooks", tt.lang)
			page = html.UnescapeString(raw)
			return strings.Count(page, `<div class="error-text why">`) >= 3
		})
		for _, w := range tt.words {
			if !strings.Contains(page, `<div class="error-text why">`+w+`</div>`) {
				t.Errorf("%s: the log does not say %q:\n%s", tt.lang, w, page)
			}
		}
		for _, detail := range []string{"connection refused", `401 Unauthorized: "bad signature"`, "certificate"} {
			if !strings.Contains(page, detail) {
				t.Errorf("%s: the log lost the detail %q", tt.lang, detail)
			}
		}
	}
}
