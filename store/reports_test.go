package store

import (
	"bytes"
	"testing"
)

// Touch and Cost join the generic codec tests of records_test.go.
func init() {
	codecs = append(codecs,
		codec{"touch", func(b []byte) (any, error) { return DecodeTouch(b) }, func(r any) []byte { t := r.(Touch); return t.Encode() }},
		codec{"cost", func(b []byte) (any, error) { return DecodeCost(b) }, func(r any) []byte { c := r.(Cost); return c.Encode() }})
	samples["touch"] = []any{Touch{}, Touch{First: 1, Last: 1<<53 - 1, LastNonDirect: 7, LastStarted: -1}}
	samples["cost"] = []any{Cost{}, Cost{Amount: 1<<62 + 5, Imported: -3}}
}

// Report keys sort by dimension, model and period, and parse back; the
// keys of one site never fall into another site's range.
func TestReportKeys(t *testing.T) {
	a := ReportKey(1, 's', 0, 20000, []byte("row"))
	b := ReportKey(1, 's', 0, 20001, []byte("a"))
	if bytes.Compare(a, b) >= 0 {
		t.Errorf("period order: %x >= %x", a, b)
	}
	if !bytes.HasPrefix(a, ReportPrefix(1, 's', 0)) || !bytes.HasPrefix(a, ReportSitePrefix(1)) || bytes.HasPrefix(a, ReportSitePrefix(2)) {
		t.Errorf("prefixes of %x", a)
	}
	p, row, ok := ParseReportKey(a)
	if !ok || p != 20000 || string(row) != "row" {
		t.Errorf("ParseReportKey = %d %q %v", p, row, ok)
	}
	if _, _, ok := ParseReportKey(a[:10]); ok {
		t.Error("a short key parsed")
	}
	c := CostKey(3, 20001, []byte("src"))
	if d, row, ok := ParseCostKey(c); !ok || d != 20001 || string(row) != "src" || !bytes.HasPrefix(c, CostDayKey(3, 20001)) || !bytes.HasPrefix(c, CostPrefix(3)) {
		t.Errorf("ParseCostKey = %d %q %v", d, row, ok)
	}
	if got := TouchKey(5); len(got) != 9 || got[0] != prefixTouch {
		t.Errorf("TouchKey = %x", got)
	}
	if got := CallerKey(5, "7916"); !bytes.HasPrefix(got, CallerPrefix(5)) || !bytes.HasSuffix(got, []byte("7916")) {
		t.Errorf("CallerKey = %x", got)
	}
}
