package admin

import (
	"bytes"
	"testing"
)

// The CLI's counts take the noun's form the number takes: "1 visitor",
// "2 visitors", "0 events wait", "1 event waits".
func TestPrintedCountsAgreeWithTheirNouns(t *testing.T) {
	for _, c := range []struct {
		print func(*bytes.Buffer)
		want  string
	}{
		{func(w *bytes.Buffer) {
			PrintRebuilt(w, Rebuilt{Site: "k", TimeZone: "UTC", Rollups: 1, Visitors: 1, Callers: 2})
		},
			"reports of site k rebuilt from the raw records in UTC: 1 roll-up, 1 visitor, 2 callers\n"},
		{func(w *bytes.Buffer) {
			PrintCostsImported(w, CostsImported{Lines: 1, Rows: 1, From: "2026-11-01", To: "2026-11-01", Total: "10.00"})
		}, "imported 1 line: 1 day, source, medium and campaign row from 2026-11-01 to 2026-11-01, 10.00 in all\n"},
		{func(w *bytes.Buffer) {
			PrintExportBackfilled(w, ExportBackfilled{Site: "k", From: "2026-11-01", Hits: 1, Events: 0, Visitors: 2, Waiting: 1})
		}, "site k from 2026-11-01: queued 1 hit, 0 events, 2 visitors, 0 leads, 0 callbacks, 0 calls, 0 chats, 0 chat messages\n" +
			"1 event waits on disk for NATS; the server publishes them when it can reach it\n"},
		{func(w *bytes.Buffer) { PrintImport(w, ImportResult{Pool: "ads", Added: []string{"74950000001"}}) },
			"imported 1 number into pool \"ads\", skipped 0\n  added    +74950000001\n"},
		{func(w *bytes.Buffer) { w.WriteString(RetentionText(Site{RetentionDays: 1})) }, "visits kept 1 day"},
	} {
		var b bytes.Buffer
		c.print(&b)
		if b.String() != c.want {
			t.Errorf("printed %q, want %q", b.String(), c.want)
		}
	}
}
