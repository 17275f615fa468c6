package callbacks

import (
	"strings"
	"testing"

	"appliance/store"
)

// The scenario URL is what a site's owner types on the Callbacks page or
// gives `callback set --webhook`: apply never panics, and a URL it takes
// is stored within MaxScenarioURL bytes and taken again as stored (the
// page's form sends the stored URL back with every change of the
// settings).
func FuzzScenarioURL(f *testing.F) {
	for _, s := range []string{"https://pbx.example/originate", " http://pbx.example:8080/a?b=c ", "ftp://pbx.example/", "",
		"https://pbx.example/" + strings.Repeat("ж", 600), "https://pbx.example/%zz", "https://пбх.example/звонок"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		var w store.WidgetSettings
		if err := apply(&w, Change{ScenarioURL: &raw}); err != nil {
			return
		}
		if len(w.ScenarioURL) > MaxScenarioURL {
			t.Fatalf("%.80q stored as a URL of %d bytes, over %d", raw, len(w.ScenarioURL), MaxScenarioURL)
		}
		stored := w.ScenarioURL
		if err := apply(&w, Change{ScenarioURL: &stored}); err != nil || w.ScenarioURL != stored {
			t.Fatalf("%.80q stored as %.80q, which gives %.80q, %v", raw, stored, w.ScenarioURL, err)
		}
	})
}
