package httpd

import (
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"appliance/httpd/callbacks"
	"appliance/httpd/leads"
)

// The leads API's query (and the dashboard's lists, which read the same
// filters) and its status body take what anyone holding a token sends:
// they never panic, refuse with a 400 and a reason, and what they accept
// is a filter the lists can apply.
func FuzzLeadsAPIQuery(f *testing.F) {
	for _, s := range []string{"", "from=2026-11-01&to=2026-11-30", "status=done&sale=yes&phone=1&form=Order", "status=closed",
		"from=yesterday", "to=2026-02-30", "state=sent&phone=%2B7+910", "state=lost", "sale=maybe", "from=%ff", "from=2026-11-30&to=2026-11-01", "from=2026-11-30&to=2026-11-30"} {
		f.Add(s, []byte(`{"status":"done","note":"sold"}`))
	}
	f.Add("", []byte(`{"status":"spam","note":"","by":"me"}`))
	f.Add("", []byte(`[]`))
	f.Fuzz(func(t *testing.T, query string, body []byte) {
		var args fasthttp.Args
		args.Parse(query)
		loc := time.FixedZone("MSK", 3*3600)
		if lf, _, err := leadFilter(&args, loc); checkParseErr(t, err) {
			if lf.Status != "" && !leads.ValidStatus(lf.Status) || lf.Sale != "" && lf.Sale != "yes" && lf.Sale != "no" ||
				!lf.From.IsZero() && !lf.To.IsZero() && !lf.From.Before(lf.To) {
				t.Fatalf("%q accepted as %+v", query, lf)
			}
		}
		if cf, _, err := callbackFilter(&args, loc); checkParseErr(t, err) {
			if _, ok := callbacks.ParseState(cf.State); !ok || cf.Status != "" && !leads.ValidStatus(cf.Status) {
				t.Fatalf("%q accepted as %+v", query, cf)
			}
		}
		var req markRequest
		if err := decodeBody(body, maxAPIMarkBody, &req, refuseUnknown); checkParseErr(t, err) && len(body) > maxAPIMarkBody {
			t.Fatalf("a body of %d bytes accepted", len(body))
		}
	})
}
