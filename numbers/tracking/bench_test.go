package tracking

import (
	"testing"
	"time"

	"appliance/store/storetest"
)

// BenchmarkAssignRenew is the page view of a visitor who holds a lease:
// the rules, the renew, and the answer's replacements (Persist is the
// store's write).
func BenchmarkAssignRenew(b *testing.B) {
	tr := open(b, storetest.Open(b), t0)
	setUp(b, tr, 8)
	if _, err := tr.Assign(1, 1, 10, cpc, false, t0); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	now := t0
	for b.Loop() {
		now = now.Add(time.Millisecond)
		if _, err := tr.Assign(1, 1, 10, cpc, false, now); err != nil {
			b.Fatal(err)
		}
	}
}
