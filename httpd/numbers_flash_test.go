package httpd

import (
	"testing"

	"appliance/httpd/i18n"
)

// Every flash of the numbers page after a change (done=) is in the
// Russian catalog: they showed in English on a Russian page.
func TestNumbersFlashesTranslated(t *testing.T) {
	cat, err := i18n.Load()
	if err != nil {
		t.Fatal(err)
	}
	for done, msg := range doneMessages {
		if _, ok := cat.Lookup(i18n.Ru, msg); !ok {
			t.Errorf("the flash of done=%s, %q, has no Russian translation", done, msg)
		}
	}
}
