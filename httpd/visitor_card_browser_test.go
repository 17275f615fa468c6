package httpd_test

import (
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"appliance/httpd/httpdtest"
)

// The owner opens the Calls page, follows the call that caller ID tied to
// a visitor who left a lead, and reads the visitor's card: every visit,
// the lead, the callback, the chat, the calls and how each was matched,
// with what the visitor typed shown as text and run as nothing; the card
// fits a phone's screen. Screenshots at 1280 and 390 px are kept as
// artifacts (httpdtest.ArtifactDir).
func TestBrowserVisitorCardFromCall(t *testing.T) {
	f := newTrFixture(t, true)
	setUpNumbers(t, f)
	j := visitorJourney(t, f)
	srv, key := f.srv, f.site.Key
	srv.Owner(t)
	ctx := httpdtest.Browser(t)
	httpdtest.Must(t, ctx,
		chromedp.Navigate(srv.URL+"login"),
		chromedp.SendKeys(chromedp.CSS(`input[name=email]`), "owner@example.com"),
		chromedp.SendKeys(chromedp.CSS(`input[name=password]`), "correct horse battery"),
	)
	submit(t, ctx, `button[type=submit]`)
	httpdtest.Must(t, ctx, chromedp.Navigate(srv.URL+"sites/"+key+"/calls"), chromedp.WaitVisible(chromedp.ID("calls")))

	// The call to the site's own number from the phone of the lead.
	row := "#call-" + strconv.FormatUint(j.calls["site"], 10)
	text := func(sel string) string {
		t.Helper()
		return httpdtest.Eval[string](t, ctx, `(document.querySelector(`+jsString(sel)+`) || {innerText: ""}).innerText`)
	}
	if got := text(row + " .attribution"); !strings.Contains(got, "caller ID") {
		t.Fatalf("the call's row says %q, want it matched by caller ID", got)
	}
	httpdtest.Must(t, ctx, chromedp.Click(chromedp.CSS(row+" a.visitor-link")), chromedp.WaitVisible(chromedp.ID("visitor-timeline")))
	v := strconv.FormatUint(j.first.VisitorID, 10)
	if u := httpdtest.Eval[string](t, ctx, `location.pathname`); u != "/sites/"+key+"/visitors/"+v {
		t.Fatalf("the link led to %s", u)
	}
	if got := text("#visitor-title"); !strings.Contains(got, "Visitor #"+v) {
		t.Errorf("title %q", got)
	}
	// What the visitor typed is on the page as text.
	if got := text("#visitor-contacts .visitor-name"); got != xssName {
		t.Errorf("name shown as %q, want the text %q", got, xssName)
	}
	lead := "#lead-" + strconv.FormatUint(j.leadID, 10)
	if got := text(lead + " .message"); got != xssMessage {
		t.Errorf("lead message shown as %q", got)
	}
	if got := text(".tl-chat .message"); got != xssChat {
		t.Errorf("chat message shown as %q", got)
	}
	// ... and ran as nothing: no element it names, no script it holds.
	if httpdtest.Eval[bool](t, ctx, `window.__xss !== undefined || document.querySelectorAll("main img[src=x], main svg[onload], main script").length > 0`) {
		t.Fatal("visitor-typed markup ran on the visitor card")
	}
	// Everything they did, newest first: the chat, calls and callback of
	// the second visit before the lead and the first visit.
	order := httpdtest.Eval[[]string](t, ctx, `[...document.querySelectorAll("#visitor-timeline > li")].map(li => li.id)`)
	pos := map[string]int{}
	for i, id := range order {
		pos[id] = i
	}
	first, second := "session-"+strconv.FormatUint(j.first.SessionID, 10), "session-"+strconv.FormatUint(j.second.SessionID, 10)
	for _, id := range []string{first, second, lead[1:], "call-" + strconv.FormatUint(j.calls["site"], 10), "call-" + strconv.FormatUint(j.calls["lease"], 10)} {
		if _, ok := pos[id]; !ok {
			t.Errorf("the card lacks %s: %v", id, order)
		}
	}
	if pos[second] > pos[lead[1:]] || pos[lead[1:]] > pos[first] {
		t.Errorf("not newest first: %v", order)
	}
	for _, want := range []string{"number lease", "static rule + caller ID", "caller ID"} {
		if !strings.Contains(text("#visitor-timeline"), want) {
			t.Errorf("the card does not say %q", want)
		}
	}
	if got := text("#" + first + " .device"); got != "mobile · Safari · iOS" {
		t.Errorf("first visit's device %q", got)
	}
	if n := httpdtest.Eval[int](t, ctx, `document.querySelectorAll("#visitor-timeline a.recording[href^='https://pbx.example/rec/']").length`); n != 4 {
		t.Errorf("%d recording links, want 4", n)
	}
	httpdtest.SaveScreenshot(t, ctx, "visitor-card-1280")

	// A phone: nothing wider than the screen, and the lead says its
	// source there.
	httpdtest.Must(t, ctx, chromedp.EmulateViewport(375, 812), chromedp.Reload(), chromedp.WaitVisible(chromedp.ID("visitor-timeline")))
	if w := httpdtest.Eval[int](t, ctx, `document.documentElement.scrollWidth`); w > 375 {
		wide := httpdtest.Eval[string](t, ctx, `[...document.querySelectorAll("main *")].filter(e => e.getBoundingClientRect().right > 375).slice(0, 5).map(e => e.tagName + (e.id ? "#" + e.id : "") + "." + e.className).join(" ")`)
		t.Errorf("the visitor card is %dpx wide on a 375px screen; too wide: %s", w, wide)
	}
	if got := text(lead + " .source"); !strings.Contains(got, "Source: google") || !strings.Contains(got, "Campaign: winter") {
		t.Errorf("on a phone the lead's source reads %q", got)
	}
	httpdtest.SaveScreenshot(t, ctx, "visitor-card-375")
}
