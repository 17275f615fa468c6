package httpd_test

import (
	"bytes"
	"net/http"
	"testing"

	"appliance/httpd/httpdtest"
)

// The dashboard's static files are served compressed the way the client
// asks (brotli first), each representation with its own ETag, all decoding
// to the same file; a versioned URL is cached for good.
func TestDashboardAssetsCompressed(t *testing.T) {
	srv := httpdtest.Start(t)
	for _, name := range []string{"style.css", "dashboard.js", "console.js"} {
		t.Run(name, func(t *testing.T) {
			url := srv.URL + "assets/" + name
			resp, plain := getScript(t, url, nil)
			if resp.StatusCode != http.StatusOK || len(plain) == 0 {
				t.Fatalf("status %d, %d bytes", resp.StatusCode, len(plain))
			}
			if got := resp.Header.Get("Content-Encoding"); got != "" {
				t.Errorf("identity answer with Content-Encoding %q", got)
			}
			etags := map[string]bool{resp.Header.Get("ETag"): true}
			for accept, enc := range map[string]string{"gzip, deflate, br, zstd": "br", "gzip, deflate": "gzip"} {
				resp, body := getScript(t, url, map[string]string{"Accept-Encoding": accept})
				if got := resp.Header.Get("Content-Encoding"); got != enc {
					t.Fatalf("Accept-Encoding %s: Content-Encoding %q", enc, got)
				}
				if got := resp.Header.Get("Vary"); got != "Accept-Encoding" {
					t.Errorf("%s: Vary %q", enc, got)
				}
				var decoded []byte
				if enc == "br" {
					decoded = unbrotli(t, body)
				} else {
					decoded = gunzip(t, body)
				}
				if !bytes.Equal(decoded, plain) {
					t.Errorf("%s body decodes to %d bytes that differ from the %d-byte file", enc, len(decoded), len(plain))
				}
				if len(body) >= len(plain)/2 {
					t.Errorf("%s body is %d bytes for a %d-byte file", enc, len(body), len(plain))
				}
				etag := resp.Header.Get("ETag")
				if etags[etag] {
					t.Errorf("%s: ETag %s is another representation's", enc, etag)
				}
				etags[etag] = true
				again, none := getScript(t, url, map[string]string{"Accept-Encoding": enc, "If-None-Match": etag})
				if again.StatusCode != http.StatusNotModified || len(none) != 0 {
					t.Errorf("%s: revalidation answered %d with %d bytes", enc, again.StatusCode, len(none))
				}
			}
			resp, _ = getScript(t, url+"?v=1", map[string]string{"Accept-Encoding": "br"})
			if got, want := resp.Header.Get("Cache-Control"), "public, max-age=31536000, immutable"; got != want {
				t.Errorf("versioned URL: Cache-Control %q, want %q", got, want)
			}
		})
	}
}
