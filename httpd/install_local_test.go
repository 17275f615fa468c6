package httpd_test

import (
	"strings"
	"testing"

	"appliance/httpd"
	"appliance/httpd/accounts"
	"appliance/httpd/httpdtest"
)

// The install code warns when it points at localhost or a loopback
// address, and only then.
func TestInstallCodeWarnsOnLoopback(t *testing.T) {
	for _, tt := range []struct {
		public string
		warn   bool
	}{
		{"", true}, // httpdtest's default: http://127.0.0.1:PORT
		{"http://localhost:8080", true},
		{"http://[::1]:8080", true},
		{"http://track.example.com", false},
	} {
		srv := httpdtest.Start(t, func(o *httpd.Options) {
			if tt.public != "" {
				o.PublicURL = tt.public
			}
		})
		srv.URL = "http://" + srv.Addr + "/" // browsers here reach it on the bound address
		key := srv.Site(t, "Shop", "shop.example.com")
		c := signInAs(t, srv, accounts.RoleOwner)
		body := getBody(t, c, srv.URL+"sites/"+key)
		if got := strings.Contains(body, `id="install-code-local"`); got != tt.warn {
			t.Errorf("public URL %q: warning shown %v, want %v", tt.public, got, tt.warn)
		}
	}
}
