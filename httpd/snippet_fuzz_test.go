package httpd

import (
	"strings"
	"testing"
)

// Accept-Encoding and If-None-Match come from anyone on the internet: any
// value picks a coding we have, and never panics.
func FuzzSnippetHeaders(f *testing.F) {
	for _, s := range []string{"", "gzip, deflate, br, zstd", "br;q=0", "*;q=0, identity;q=0", "gzip;q=1.5", "br;q=NaN", ";;,,;q=", `"abc-gz", W/"x"`, "*"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, h string) {
		enc := negotiateEncoding(h)
		if enc < 0 || enc >= numEncodings {
			t.Fatalf("negotiateEncoding(%q) = %d", h, enc)
		}
		lower := strings.ToLower(h)
		if enc == encBrotli && !strings.Contains(lower, "br") && !strings.Contains(h, "*") ||
			enc == encGzip && !strings.Contains(lower, "gzip") && !strings.Contains(h, "*") {
			t.Fatalf("negotiateEncoding(%q) chose %q the client did not name", h, encodingNames[enc])
		}
		etagMatch(h, `"0123456789abcdef"`)
	})
}
