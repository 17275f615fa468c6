package httpd_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"appliance/httpd/httpdtest"
)

// gateHits is a page script, run before the install code, that holds the
// snippet's page-view requests (t/v1/hit) until the test calls
// window.releaseHits(), or fails them at once while window.failHits is
// set: the page stands where the appliance has not answered yet, for as
// long as the test needs, with no timing involved.
const gateHits = `var realFetch = window.fetch, held = [];
window.hitsHeld = 0;
window.releaseHits = function () { window.gateOpen = true; held.forEach(function (go) { go(); }); held = []; };
window.fetch = function (u, o) {
  if (String(u).indexOf("/t/v1/hit") < 0 || window.gateOpen) return realFetch(u, o);
  if (window.failHits) return Promise.reject(new TypeError("blocked by the test"));
  window.hitsHeld++;
  return new Promise(function (ok, fail) { held.push(function () { realFetch(u, o).then(ok, fail); }); });
};`

// leadForm is the reference's form of the alternative method, posting to
// the site's send.php: the visitor's fields, and the hidden ones that
// formSubmit() fills from Comagic.getCredentials() as the reference's does
// with jQuery (val(null) writes "", as the DOM's value setter does).
func leadForm(action string) string {
	return `<form id="myform" action="` + action + `" method="POST">
<input type="text" name="name" value="Иван"><input type="text" name="phone" value="8 912 345 67 89">
<input type="text" name="email" value="ivan@example.com"><textarea name="text">Перезвоните</textarea>
<input type="hidden" name="key"><input type="hidden" name="uri"><input type="hidden" name="visitor_id">
<input type="hidden" name="hit_id"><input type="hidden" name="session_id"><input type="hidden" name="consultant_server_url">
</form>
<script>
function formSubmit() {
  var credentials = Comagic.getCredentials();
  for (var field in credentials) {
    if (credentials.hasOwnProperty(field)) {
      var el = document.querySelector('[name=' + field + ']');
      if (el) el.value = credentials[field];
    }
  }
  document.getElementById('myform').submit();
}
</script>`
}

// A visitor who sends the site's form before the appliance answered their
// first page view does not lose the lead: getCredentials() gives the URL of
// the appliance and the site key, the site's server posts them to
// add_offline_message as the reference's send.php does, and the lead is
// the site's, shown on the leads page as having no visit. A returning
// visitor's form sent before the answer carries the credentials of their
// last page view, and the lead is theirs. And the snippet's own lead,
// sent when the page view failed, is kept as the site's too.
func TestSnippetLeadBeforeFirstAnswer(t *testing.T) {
	f := newSnippetFixture(t)
	sendPHP := newSendPHP(t)
	f.page("/", sitePage("Contacts", gateHits, f.install, "")+leadForm(sendPHP.URL+"/send.php"))
	f.page("/blank", sitePage("Blank", "", "", ""))

	// A first-time visitor; their page view's hit waits.
	httpdtest.Must(t, f.browser, chromedp.Navigate(f.web))
	f.eventually(t, "the page view's hit is sent and held", func() bool { return eval[int](t, f, `window.hitsHeld`) == 1 })
	c := eval[map[string]any](t, f, `Comagic.getCredentials()`)
	if c["key"] != f.key || c["uri"] != f.srv.URL || c["consultant_server_url"] != f.srv.URL ||
		c["visitor_id"] != nil || c["session_id"] != nil || c["hit_id"] != nil {
		t.Fatalf("getCredentials() before the first answer = %v; want the site key and %s", c, f.srv.URL)
	}
	// (The store is watched, not the page: the form's page is navigating
	// to send.php, whose answer only echoes the appliance's.)
	eval[any](t, f, `formSubmit()`)
	f.eventually(t, "send.php stored the lead", func() bool { return len(siteLeads(t, f.srv, f.key)) == 1 })
	got := siteLeads(t, f.srv, f.key)
	if len(got) != 1 || got[0].Name != "Иван" || got[0].Phone != "79123456789" || got[0].Message != "Перезвоните" ||
		got[0].Via != "server" || got[0].Visitor != 0 || got[0].Session != 0 {
		t.Fatalf("stored %+v; want the form's lead, the site's without a visit", got)
	}
	first := got[0]
	page := rawPage(t, f.srv.Client(t), f.srv.URL+"sites/"+f.key+"/leads")
	row := page[strings.Index(page, fmt.Sprintf(`id="lead-%d"`, first.ID)):]
	if row = row[:strings.Index(row, "</tr>")]; !strings.Contains(row, "Иван") || !strings.Contains(row, "no visit") {
		t.Errorf("the leads page shows it as:\n%s", row)
	}

	// The same visitor comes back, and this page view is answered.
	httpdtest.Must(t, f.browser, chromedp.Navigate(f.web))
	f.eventually(t, "the page view's hit is held", func() bool { return eval[int](t, f, `window.hitsHeld`) == 1 })
	eval[any](t, f, `window.releaseHits()`)
	f.waitHit(t, 0)
	s := f.sessions(t)
	if len(s) != 1 {
		t.Fatalf("sessions %+v", s)
	}

	// On their next page view, before its answer, the credentials are
	// those of the last one, and the lead is theirs.
	httpdtest.Must(t, f.browser, chromedp.Navigate(f.web))
	f.eventually(t, "the next page view's hit is held", func() bool { return eval[int](t, f, `window.hitsHeld`) == 1 })
	c = eval[map[string]any](t, f, `Comagic.getCredentials()`)
	if ci, _ := c["comagic_id"].(string); c["visitor_id"] != float64(s[0].Visitor) || c["session_id"] != float64(s[0].ID) ||
		!strings.HasPrefix(ci, fmt.Sprintf("%d.%d.", s[0].Visitor, s[0].ID)) || c["key"] == f.key || c["key"] == nil || c["hit_id"] != nil {
		t.Fatalf("a returning visitor's getCredentials() before the answer = %v; want visitor %d, session %d with its key", c, s[0].Visitor, s[0].ID)
	}
	eval[any](t, f, `document.querySelector('[name=text]').value = 'Ещё раз'; formSubmit()`)
	f.eventually(t, "send.php stored the lead", func() bool { return len(siteLeads(t, f.srv, f.key)) == 2 })
	got = siteLeads(t, f.srv, f.key)
	if len(got) != 2 || got[0].Message != "Ещё раз" || got[0].Visitor != s[0].Visitor || got[0].Session != s[0].ID {
		t.Fatalf("stored %+v; want the second lead the visitor's", got)
	}

	// A new visitor whose page view fails: addOfflineRequest's lead is
	// kept as the site's, and says so.
	httpdtest.Must(t, f.browser, chromedp.Navigate(f.web+"blank"))
	eval[any](t, f, `localStorage.clear(); document.cookie = "_cs_ci=; max-age=0; path=/"; document.cookie = "_cs_key=; max-age=0; path=/"`)
	f.page("/failing", sitePage("Failing", gateHits+`window.failHits = true;`, f.install, ""))
	httpdtest.Must(t, f.browser, chromedp.Navigate(f.web+"failing"))
	r := callback(t, f, `Comagic.addOfflineRequest({name: 'Пётр', message: 'the hit failed'}, cb)`)
	if r["success"] != true {
		t.Fatalf("addOfflineRequest after the page view failed: %v", r)
	}
	got = siteLeads(t, f.srv, f.key)
	if len(got) != 3 || got[0].Message != "the hit failed" || got[0].Via != "js" || got[0].Visitor != 0 || got[0].PageURL != f.web+"failing" {
		t.Fatalf("stored %+v; want the snippet's lead, the site's without a visit", got)
	}
	// So is what the visitor gave addVisitorInfo then: no visitor to add
	// it to, the site's lead without a visit, via visitor_info.
	r = callback(t, f, `Comagic.addVisitorInfo({name: 'Пётр', phone: '8 912 000 11 22'}, cb)`)
	if r["success"] != true {
		t.Fatalf("addVisitorInfo after the page view failed: %v", r)
	}
	got = siteLeads(t, f.srv, f.key)
	if len(got) != 4 || got[0].Via != "visitor_info" || got[0].Visitor != 0 || got[0].Name != "Пётр" || got[0].Phone != "79120001122" || got[0].PageURL != f.web+"failing" {
		t.Fatalf("stored %+v; want the visitor info kept as the site's lead without a visit", got)
	}
	f.noExceptions(t)
}

// watchRequests is a page script, run after gateHits, that notes each of
// the page's requests to the appliance: its URL, its body, and whether the
// page view's hit had been answered when it went out (the note is made
// before the snippet's own handlers of the answer run).
const watchRequests = `var gatedFetch = window.fetch;
window.sent = [];
window.fetch = function (u, o) {
  var p = gatedFetch(u, o);
  window.sent.push({u: String(u), body: String((o && o.body) || ""), answered: !!window.hitAnswered});
  if (String(u).indexOf("/t/v1/hit") >= 0) p.then(function () { window.hitAnswered = true; }, function () {});
  return p;
};`

// Comagic.addVisitorInfo called before the appliance answered a first-time
// visitor's page view waits for the answer and goes out with the ci and
// key it brings: the info is the visitor's, not a lead of the site (it is
// never sent with the site key, which /vc/s/ would keep as a lead).
func TestSnippetVisitorInfoBeforeFirstAnswer(t *testing.T) {
	f := newSnippetFixture(t)
	f.page("/", sitePage("Contacts", gateHits+watchRequests, f.install, ""))
	httpdtest.Must(t, f.browser, chromedp.Navigate(f.web))
	f.eventually(t, "the page view's hit is sent and held", func() bool { return eval[int](t, f, `window.hitsHeld`) == 1 })
	eval[any](t, f, `window.info = null; Comagic.addVisitorInfo({name: 'Иван', phone: '8 912 345 67 89', email: 'Ivan@Example.com'}, function (r) { window.info = r; }); 0`)
	f.eventually(t, "the widget chunk loaded", func() bool { return eval[bool](t, f, `typeof window.__cs_widget == "function"`) })
	eval[any](t, f, `window.releaseHits()`)
	f.eventually(t, "addVisitorInfo answered", func() bool { return eval[bool](t, f, `window.info != null`) })
	if r := eval[map[string]any](t, f, `window.info`); r["success"] != true {
		t.Fatalf("addVisitorInfo's callback got %v", r)
	}
	sent := eval[[]map[string]any](t, f, `window.sent.filter(function (s) { return s.u.indexOf("/t/v1/visitor") >= 0; })`)
	if len(sent) != 1 {
		t.Fatalf("requests to /t/v1/visitor: %v; want one", sent)
	}
	var body struct {
		K, CI, Key string
	}
	json.Unmarshal([]byte(sent[0]["body"].(string)), &body)
	if sent[0]["answered"] != true || body.CI == "" || body.Key == "" || body.Key == f.key {
		t.Fatalf("addVisitorInfo went out as %v; want after the page view's answer, with its ci and key", sent[0])
	}
	s := f.sessions(t)
	if len(s) != 1 || !strings.HasPrefix(body.CI, fmt.Sprintf("%d.%d.", s[0].Visitor, s[0].ID)) {
		t.Fatalf("sessions %+v, the info's ci %q", s, body.CI)
	}
	v := storedVisitor(t, f.srv, s[0].Visitor)
	if v.Name != "Иван" || strings.Join(v.Phones, ",") != "79123456789" || strings.Join(v.Emails, ",") != "ivan@example.com" {
		t.Errorf("visitor %+v; want the info added", v)
	}
	if got := siteLeads(t, f.srv, f.key); len(got) != 0 {
		t.Errorf("leads %+v; want none", got)
	}
	f.noExceptions(t)
}
