package httpd_test

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/andybalholm/brotli"

	"appliance/httpd/httpdtest"
)

// getScript fetches a snippet URL with the given request headers.
func getScript(t *testing.T, url string, header map[string]string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	if req.Header.Get("Accept-Encoding") == "" {
		req.Header.Set("Accept-Encoding", "identity") // or Go's transport asks for gzip itself
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("get %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read %s: %v", url, err)
	}
	return resp, body
}

func gunzip(t *testing.T, b []byte) []byte {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("gzip: %v", err)
	}
	out, err := io.ReadAll(zr)
	if err != nil {
		t.Fatalf("gzip: %v", err)
	}
	return out
}

func unbrotli(t *testing.T, b []byte) []byte {
	t.Helper()
	out, err := io.ReadAll(brotli.NewReader(bytes.NewReader(b)))
	if err != nil {
		t.Fatalf("brotli: %v", err)
	}
	return out
}

var widgetURLRe = regexp.MustCompile(`static/cs-widget\.[0-9a-f]{8}\.js`)

// The core is served minified in each encoding a browser may ask for, all
// decoding to the same script, with the headers a cross-origin script tag
// and caches need.
func TestSnippetCoreEncodings(t *testing.T) {
	srv := httpdtest.Start(t)
	url := srv.URL + "static/cs.min.js"
	resp, plain := getScript(t, url, nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %s", resp.StatusCode, plain)
	}
	for _, want := range []string{"Comagic", "ComagicWidget", "__cs_onReplacePhones", "t/v1/"} {
		if !bytes.Contains(plain, []byte(want)) {
			t.Errorf("core lacks %q", want)
		}
	}
	if bytes.Contains(plain, []byte("__CS_WIDGET_PATH__")) || !widgetURLRe.Match(plain) {
		t.Errorf("core does not name the widget chunk's hashed URL")
	}
	if bytes.Contains(plain, []byte("\n  ")) || bytes.Contains(plain, []byte("/*")) {
		t.Errorf("core is not minified (%d bytes)", len(plain))
	}

	tests := []struct {
		accept   string
		encoding string
	}{
		{"gzip, deflate, br, zstd", "br"},
		{"br", "br"},
		{"gzip", "gzip"},
		{"gzip, br;q=0", "gzip"},
		{"br;q=0.5, gzip", "gzip"},
		{"x-gzip", "gzip"},
		{"deflate", ""},
		{"identity", ""},
		{"*", "br"},
		{"*;q=0, identity", ""},
	}
	etags := map[string]string{}
	for _, tt := range tests {
		t.Run(tt.accept, func(t *testing.T) {
			resp, body := getScript(t, url, map[string]string{"Accept-Encoding": tt.accept})
			h := resp.Header
			if got := h.Get("Content-Encoding"); got != tt.encoding {
				t.Fatalf("Content-Encoding %q, want %q", got, tt.encoding)
			}
			checks := map[string]string{
				"Content-Type":                 "text/javascript; charset=utf-8",
				"Cache-Control":                "public, max-age=300, must-revalidate",
				"Vary":                         "Accept-Encoding",
				"Access-Control-Allow-Origin":  "*",
				"X-Content-Type-Options":       "nosniff",
				"Cross-Origin-Resource-Policy": "cross-origin",
			}
			for k, want := range checks {
				if got := h.Get(k); got != want {
					t.Errorf("%s: %q, want %q", k, got, want)
				}
			}
			decoded := body
			switch tt.encoding {
			case "gzip":
				decoded = gunzip(t, body)
			case "br":
				decoded = unbrotli(t, body)
			}
			if !bytes.Equal(decoded, plain) {
				t.Errorf("%s body decodes to %d bytes that differ from the %d-byte identity body", tt.encoding, len(decoded), len(plain))
			}
			if tt.encoding != "" && len(body) >= len(plain) {
				t.Errorf("%s body is %d bytes, identity %d", tt.encoding, len(body), len(plain))
			}
			etag := h.Get("ETag")
			if !strings.HasPrefix(etag, `"`) || !strings.HasSuffix(etag, `"`) {
				t.Errorf("ETag %q is not a strong entity tag", etag)
			}
			if prev, ok := etags[tt.encoding]; ok && prev != etag {
				t.Errorf("ETag of %q changed: %s then %s", tt.encoding, prev, etag)
			}
			etags[tt.encoding] = etag
		})
	}
	if len(etags) == 3 && (etags["br"] == etags["gzip"] || etags["gzip"] == etags[""]) {
		t.Errorf("representations share an ETag: %v", etags)
	}
}

// snippetCoreBudget is the most the core may weigh gzipped, as the test
// server serves it (gzip -9): issue 15's goal (SPEC §4 allows 8 KB). 6,897
// bytes before that work, 6,028 after the first round, 5,928 with
// the core's own property names shortened, 5,108 once the calls that
// answer later moved to the widget chunk and the server worked out the
// numbers' formats (README, Performance); 5,118 with dialling links of any
// case and titles and aria-labels replaced, paid for by squeezing the core;
// 5,116 with the chunk fetched again after an outage (a fresh fragment);
// 5,118 when the widget chunk's own code (modal dialogs) changed the short
// names esbuild gives two properties both files use (send_, enqueue_);
// 5,109 with leads never lost before the first answer (getCredentials'
// site key and URL, a lead sent when the hit failed), paid for by writing
// the core's functions as arrows and smaller helpers; 5,114 with a
// dialling link's extension (;ext=123) kept; 5,117 with a target whose
// title writes the number still filled on a page shown from the cache;
// 5,115 with images' alt replaced and an image target reported by its
// picture alone, paid for by squeezing the getters' helpers (a
// destructured copy, a Set of the targets filled); 5,113 with the
// widget chunk named by the hash of addVisitorInfo sent after a failed
// page view; 5,120 at a2670fc; 5,095 with the core squeezed, doing the
// same: localStorage read and written as its properties, the last
// answer's checks inside early, a late answer dropped by a no-op rather
// than a test, a selector check that returns what it found; 5,117 with a
// prerendered page's view (and its lease) waiting until the visitor opens
// it.
// Never raised without moving code out.
const snippetCoreBudget = 5120

// The core stays within its budget gzipped; brotli, what browsers ask for,
// is smaller still.
func TestSnippetCoreSize(t *testing.T) {
	srv := httpdtest.Start(t)
	_, plain := getScript(t, srv.URL+"static/cs.min.js", nil)
	_, gz := getScript(t, srv.URL+"static/cs.min.js", map[string]string{"Accept-Encoding": "gzip"})
	_, br := getScript(t, srv.URL+"static/cs.min.js", map[string]string{"Accept-Encoding": "br"})
	t.Logf("core: %d bytes minified, %d gzip, %d brotli", len(plain), len(gz), len(br))
	if len(gz) > snippetCoreBudget {
		t.Errorf("core is %d bytes gzipped, over the %d-byte budget", len(gz), snippetCoreBudget)
	}
	if len(br) == 0 || len(br) >= len(gz) {
		t.Errorf("core is %d bytes in brotli, %d in gzip", len(br), len(gz))
	}
}

// A browser's revalidation with the ETag it holds is a 304 without a body,
// whichever representation it holds; a stale ETag gets the script.
func TestSnippetRevalidation(t *testing.T) {
	srv := httpdtest.Start(t)
	url := srv.URL + "static/cs.min.js"
	for _, enc := range []string{"br", "gzip", "identity"} {
		t.Run(enc, func(t *testing.T) {
			first, _ := getScript(t, url, map[string]string{"Accept-Encoding": enc})
			etag := first.Header.Get("ETag")
			for _, inm := range []string{etag, `"stale", ` + etag, "W/" + etag, "*"} {
				resp, body := getScript(t, url, map[string]string{"Accept-Encoding": enc, "If-None-Match": inm})
				if resp.StatusCode != http.StatusNotModified || len(body) != 0 {
					t.Errorf("If-None-Match %s: status %d, %d body bytes; want 304 and none", inm, resp.StatusCode, len(body))
				}
				if got := resp.Header.Get("ETag"); inm != "*" && got != etag {
					t.Errorf("If-None-Match %s: 304 with ETag %q", inm, got)
				}
				if got := resp.Header.Get("Cache-Control"); got == "" {
					t.Errorf("304 without Cache-Control")
				}
			}
			resp, body := getScript(t, url, map[string]string{"Accept-Encoding": enc, "If-None-Match": `"stale"`})
			if resp.StatusCode != http.StatusOK || len(body) == 0 {
				t.Errorf("stale ETag: status %d, %d bytes", resp.StatusCode, len(body))
			}
		})
	}
}

// The widget chunk is at the content-hashed URL the core names, cached for
// good; any other hash is not found.
func TestSnippetWidgetChunk(t *testing.T) {
	srv := httpdtest.Start(t)
	_, core := getScript(t, srv.URL+"static/cs.min.js", nil)
	path := widgetURLRe.Find(core)
	if path == nil {
		t.Fatal("core names no widget chunk")
	}
	resp, plain := getScript(t, srv.URL+string(path), nil)
	if resp.StatusCode != http.StatusOK || !bytes.Contains(plain, []byte("__cs_widget")) {
		t.Fatalf("widget chunk: status %d, body %.100s", resp.StatusCode, plain)
	}
	if got, want := resp.Header.Get("Cache-Control"), "public, max-age=31536000, immutable"; got != want {
		t.Errorf("Cache-Control %q, want %q", got, want)
	}
	if got := resp.Header.Get("Access-Control-Allow-Origin"); got != "*" {
		t.Errorf("Access-Control-Allow-Origin %q", got)
	}
	// The core imports it: a CORS request, with credentials where the
	// browser takes the core's tag's mode ("include"), which "*" does not
	// satisfy.
	resp, _ = getScript(t, srv.URL+string(path), map[string]string{"Origin": "https://shop.example"})
	if got := resp.Header.Get("Access-Control-Allow-Origin") + " " + resp.Header.Get("Access-Control-Allow-Credentials"); got != "https://shop.example true" ||
		!strings.Contains(resp.Header.Get("Vary"), "Origin") {
		t.Errorf("import from a page: Access-Control-Allow-Origin and -Credentials %q, Vary %q", got, resp.Header.Get("Vary"))
	}
	resp, br := getScript(t, srv.URL+string(path), map[string]string{"Accept-Encoding": "br"})
	if resp.Header.Get("Content-Encoding") != "br" || !bytes.Equal(unbrotli(t, br), plain) {
		t.Errorf("brotli widget differs from identity")
	}
	resp, _ = getScript(t, srv.URL+"static/cs-widget.00000000.js", nil)
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("unknown widget hash: status %d, want 404", resp.StatusCode)
	}
	req, _ := http.NewRequest("HEAD", srv.URL+"static/cs.min.js", nil)
	req.Header.Set("Accept-Encoding", "gzip")
	hr, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	hr.Body.Close()
	if hr.StatusCode != http.StatusOK || hr.Header.Get("ETag") == "" {
		t.Errorf("HEAD: status %d, ETag %q", hr.StatusCode, hr.Header.Get("ETag"))
	}
}
