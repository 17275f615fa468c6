package webhooks

import (
	"slices"
	"strings"
	"testing"
)

// An endpoint's URL, secret and kinds are what a site's owner types on
// the Webhooks page or gives `webhook add`: newEndpoint never panics, and
// what it accepts is an endpoint it accepts again as stored (the page's
// "Change" sends the stored URL back), with a URL of at most MaxURL bytes,
// a secret of printable ASCII and known kinds, at least one.
func FuzzNewEndpoint(f *testing.F) {
	for _, s := range [][3]string{
		{"https://crm.example/hook", "", "lead"},
		{"http://crm.example:8080/a?b=c#d", "whsec_0123456789abcdef", "lead,call"},
		{"HTTPS://CRM.example/Путь", "", "CHAT callback"},
		{"mailto:owner@shop.example", "", "lead"},
		{"telegram:123456789", "123456:ABCdefGhIJKlmNoPQRsTUVwxyZ-0123456789", "lead"},
		{"ftp://crm.example/", "", ""},
		{"https://crm.example/" + strings.Repeat("ж", 600), "", "lead"},
		{"https://crm.example/%zz", "short", "sms"},
		{" https://crm.example/ ", " whsec_0123456789abcdef ", ",,"},
	} {
		f.Add(s[0], s[1], s[2])
	}
	f.Fuzz(func(t *testing.T, rawURL, secret, kinds string) {
		ep, err := newEndpoint(rawURL, secret, ParseKinds(kinds))
		if err != nil {
			return
		}
		if len(ep.URL) > MaxURL {
			t.Errorf("%.80q stored as a URL of %d bytes, over %d", rawURL, len(ep.URL), MaxURL)
		}
		if strings.ContainsFunc(ep.Secret, func(r rune) bool { return r < 0x21 || r > 0x7e }) || len(ep.Secret) > MaxSecret {
			t.Errorf("secret %q stored as %q", secret, ep.Secret)
		}
		if len(ep.Events) == 0 {
			t.Errorf("%q: no kinds", kinds)
		}
		for _, k := range ep.Events {
			if !slices.Contains(Kinds(), Kind(k)) {
				t.Errorf("%q: kind %q stored", kinds, k)
			}
		}
		kk := make([]Kind, 0, len(ep.Events))
		for _, k := range ep.Events {
			kk = append(kk, Kind(k))
		}
		again, err := newEndpoint(ep.URL, ep.Secret, kk)
		if err != nil || again.URL != ep.URL || again.Secret != ep.Secret || !slices.Equal(again.Events, ep.Events) {
			t.Errorf("%.80q stored as %.80q, which gives %.80q, %v", rawURL, ep.URL, again.URL, err)
		}
	})
}
