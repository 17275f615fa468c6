package httpd_test

import (
	"testing"

	"appliance/httpd/callbacks"
	"appliance/httpd/i18n"
	"appliance/httpd/webhooks"
)

// TestWebhookReasonsTranslated: the words of every reason a delivery or
// a callback failed, which the delivery log and the callbacks page show
// ({{t .Why}}, {{t .LastWhy}}), are in the catalog.
func TestWebhookReasonsTranslated(t *testing.T) {
	cat, err := i18n.Load()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for r := range 256 {
		text := webhooks.ReasonText(byte(r))
		if text == "" {
			continue
		}
		n++
		if _, ok := cat.Lookup(i18n.Ru, text); !ok {
			t.Errorf("reason %d, %q, has no Russian words", r, text)
		}
	}
	for r := range 256 {
		if text := callbacks.ReasonText(byte(r)); text != "" {
			if _, ok := cat.Lookup(i18n.Ru, text); !ok {
				t.Errorf("callback reason %d, %q, has no Russian words", r, text)
			}
		}
	}
	if n < int(webhooks.ReasonNoSMTP) {
		t.Errorf("%d reasons have words, want %d", n, webhooks.ReasonNoSMTP)
	}
}
