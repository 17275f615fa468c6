package httpd_test

import (
	"testing"

	"appliance/httpd"
	"appliance/httpd/callbacks"
	"appliance/httpd/httpdtest"
)

// A visitor's tab loaded the site while the appliance ran one version; the
// owner upgrades it; the visitor, still on that page, asks for a callback
// and opens the lead form. The page's core imports its own version's
// widget chunk from the upgraded appliance, which has it from the store:
// the callback is taken and the form opens, without a reload.
func TestWidgetOfEarlierVersionAfterUpgrade(t *testing.T) {
	before, chunk := httpd.SnippetOf(t, "before the upgrade")
	f := newWidgetFixture(t, map[string]any{"webhook": ""}, before)
	f.page("/", sitePage("Shop", "", f.install, ""))
	f.visit(t, "/")
	if eval[bool](t, f.snippetFixture, `typeof window.__cs_widget != 'undefined'`) {
		t.Fatal("the widget chunk loaded with the page: nothing to import after the upgrade")
	}

	after, newChunk := httpd.SnippetOf(t, "after the upgrade")
	if newChunk == chunk {
		t.Fatal("both versions have one chunk")
	}
	f.srv = f.srv.Restart(t, httpdtest.AllowPrivate, captchaDigits, after)

	got := callback(t, f.snippetFixture, `ComagicWidget.sitePhoneCall({phone: '79101234567'}, cb)`)
	if res, _ := got["result"].(map[string]any); got["success"] != true || res["status"] != float64(callbacks.StatusAccepted) || res["code"] != callbacks.CodeQueued {
		t.Errorf("sitePhoneCall after the upgrade: %v, want status %d (%s)", got, callbacks.StatusAccepted, callbacks.CodeQueued)
	}
	if n := len(f.siteCallbacks(t)); n != 1 {
		t.Errorf("%d callbacks stored, want 1", n)
	}
	eval[any](t, f.snippetFixture, `Comagic.openSiteRequestPanel()`)
	f.waitIn(t, "the lead form opens", `r.querySelector('[data-kind=lead]')`)
	f.noExceptions(t)
}
