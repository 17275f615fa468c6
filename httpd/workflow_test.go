package httpd_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"appliance/httpd/accounts"
	"appliance/httpd/httpdtest"
)

var navCountRe = regexp.MustCompile(`id="nav-(leads|callbacks)"[^>]*>[A-Za-z]+(?: <span class="count" title="new">(\d+)</span>)?</a>`)

// navCounts reads the "new" counts of the site navigation on page; a link
// without a count is 0, a missing link -1.
func navCounts(t *testing.T, c *http.Client, page string) (newLeads, newCallbacks int) {
	t.Helper()
	_, body := getPage(t, c, page)
	newLeads, newCallbacks = -1, -1
	for _, m := range navCountRe.FindAllStringSubmatch(body, -1) {
		n, _ := strconv.Atoi(m[2])
		if m[1] == "leads" {
			newLeads = n
		} else {
			newCallbacks = n
		}
	}
	if newCallbacks < 0 {
		t.Fatalf("no site navigation on %s:\n%s", page, body)
	}
	return newLeads, newCallbacks
}

// A lead marked "in progress" leaves the "new" count in the navigation,
// the status filter finds it under in_progress, the CSV says so; the
// operator's navigation has callbacks (with their count) and no leads.
func TestLeadInProgressAndNewCounts(t *testing.T) {
	f := newCBFixture(t)
	c := f.srv.Client(t)
	for _, name := range []string{"Иван", "Пётр"} {
		if status, out, _ := postJSON(t, f.srv.URL+"t/v1/lead", leadBody(f.key, f.v, map[string]any{"name": name})); status != http.StatusOK {
			t.Fatalf("lead: %d %v", status, out)
		}
	}
	if status, out := f.order(t, f.v, map[string]any{"phone": "+7 916 123-45-67"}); status != http.StatusOK {
		t.Fatalf("callback: %d %v", status, out)
	}
	site := f.srv.URL + "sites/" + f.key
	for _, page := range []string{site, site + "/leads", site + "/callbacks", site + "/calls"} {
		if l, cb := navCounts(t, c, page); l != 2 || cb != 1 {
			t.Errorf("%s: %d new leads, %d new callbacks in the navigation; want 2, 1", page, l, cb)
		}
	}
	ls := siteLeads(t, f.srv, f.key)
	id := strconv.FormatUint(ls[0].ID, 10)
	form := url.Values{"csrf": {f.srv.FormToken(t, c, "sites/"+f.key+"/leads")}, "id": {id}, "status": {"in_progress"}, "note": {"calling back"}}
	if status, body, _ := postForm(t, c, site+"/leads/mark", form); status != http.StatusSeeOther {
		t.Fatalf("mark in progress: %d %s", status, body)
	}
	if l, cb := navCounts(t, c, site+"/leads"); l != 1 || cb != 1 {
		t.Errorf("after marking a lead in progress: %d new leads, %d new callbacks; want 1, 1", l, cb)
	}
	_, body := getPage(t, c, site+"/leads?status=in_progress")
	if !strings.Contains(body, `id="lead-`+id+`"`) || strings.Contains(body, `id="lead-`+strconv.FormatUint(ls[1].ID, 10)+`"`) {
		t.Errorf("the in progress filter does not select just the marked lead:\n%s", body)
	}
	if !strings.Contains(body, `<span class="tag mark-status">in progress</span>`) {
		t.Errorf("the row does not say in progress")
	}
	if _, body := getPage(t, c, site+"/leads?status=new"); strings.Contains(body, `id="lead-`+id+`"`) {
		t.Errorf("a lead in progress is listed as new")
	}
	_, csvBody := getPage(t, c, site+"/leads.csv?status=in_progress")
	if rows := csvRows(t, csvBody); len(rows) != 2 || cell(t, rows[0], rows[1], "status") != "in_progress" {
		t.Errorf("csv: %v", rows)
	}

	ops := signInAs(t, f.srv, accounts.RoleOperator)
	if l, cb := navCounts(t, ops, site+"/callbacks"); l != -1 || cb != 1 {
		t.Errorf("operator's navigation: leads %d (want no link), callbacks %d", l, cb)
	}
	cbID := strconv.FormatUint(f.callbacks(t)[0].ID, 10)
	form = url.Values{"csrf": {f.srv.FormToken(t, ops, "sites/"+f.key+"/callbacks")}, "id": {cbID}, "status": {"in_progress"}}
	if status, _, _ := postForm(t, ops, site+"/callbacks/mark", form); status != http.StatusSeeOther {
		t.Fatalf("operator marks a callback in progress: %d", status)
	}
	if _, cb := navCounts(t, ops, site+"/callbacks"); cb != 0 {
		t.Errorf("after marking the callback in progress: %d new callbacks", cb)
	}
	if _, body := getPage(t, ops, site+"/callbacks?status=in_progress"); !strings.Contains(body, `id="callback-`+cbID+`"`) {
		t.Errorf("the callbacks filter misses the callback in progress")
	}
}

// In a browser, staff change a lead's status from the list with one click
// on its status button; the page comes back at the list with the row
// showing it and the navigation's count down by one.
func TestBrowserLeadStatusFromList(t *testing.T) {
	f := newCBFixture(t)
	ctx := httpdtest.Browser(t)
	if status, out, _ := postJSON(t, f.srv.URL+"t/v1/lead", leadBody(f.key, f.v, map[string]any{"name": "Иван"})); status != http.StatusOK {
		t.Fatalf("lead: %d %v", status, out)
	}
	id := strconv.FormatUint(siteLeads(t, f.srv, f.key)[0].ID, 10)
	email, password := f.srv.Owner(t)
	httpdtest.Must(t, ctx,
		chromedp.Navigate(f.srv.URL+"login"),
		chromedp.SendKeys(chromedp.CSS(`input[name=email]`), email),
		chromedp.SendKeys(chromedp.CSS(`input[name=password]`), password),
	)
	submit(t, ctx, `button[type=submit]`)
	httpdtest.Must(t, ctx, chromedp.Navigate(f.srv.URL+"sites/"+f.key+"/leads"))
	if got := httpdtest.Eval[string](t, ctx, `document.querySelector("#nav-leads .count").textContent`); got != "1" {
		t.Fatalf("new leads in the navigation: %q", got)
	}
	httpdtest.Must(t, ctx, chromedp.SendKeys(chromedp.CSS(`#lead-`+id+` input[name=note]`), "called, no answer"))
	submit(t, ctx, `#lead-`+id+` button[value=in_progress]`)
	if got := httpdtest.Eval[string](t, ctx, `document.querySelector("#lead-`+id+` .mark-status").textContent`); got != "in progress" {
		t.Errorf("after one click the row says %q", got)
	}
	if got := httpdtest.Eval[string](t, ctx, `document.querySelector("#lead-`+id+` .mark-note").textContent`); got != "called, no answer" {
		t.Errorf("the note is %q", got)
	}
	if got := httpdtest.Eval[string](t, ctx, `location.pathname + location.hash`); got != "/sites/"+f.key+"/leads#lead-"+id {
		t.Errorf("after the click the browser is at %s", got)
	}
	if n := httpdtest.Eval[int](t, ctx, `document.querySelectorAll("#nav-leads .count").length`); n != 0 {
		t.Errorf("the navigation still counts a new lead")
	}
	submit(t, ctx, `#lead-`+id+` button[value=done]`)
	if got := httpdtest.Eval[string](t, ctx, `document.querySelector("#lead-`+id+` .mark-status").textContent`); got != "done" {
		t.Errorf("after clicking done the row says %q", got)
	}
}
