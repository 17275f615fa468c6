//go:build linux

package reports

import (
	"testing"
	"time"

	"appliance/internal/cputime"
	"appliance/store"
)

// discard is a ledger that keeps nothing: what counting costs besides
// the store's own work (the merge operands and the touch's Get and Set,
// which the store's writer applies with the hit's other writes).
type discard struct{ ops int }

func (d *discard) add([]byte, *[numLanes]int64) { d.ops++ }
func (d *discard) touch(uint64) (store.Touch, bool, error) {
	return store.Touch{First: 1, Last: 1}, true, nil
}
func (d *discard) setTouch(uint64, store.Touch) {}
func (d *discard) sessionDims(uint32, uint64) (dims, bool, error) {
	return dims{}, false, nil
}
func (d *discard) firstCall(uint32, string, uint64) (bool, error) { return true, nil }

// BenchmarkCountSession is the CPU the reports add to a hit that starts
// a session (the one hit in 3.65 that does; later hits of a session add
// nothing): reading its rows from the traffic source and building five
// roll-up keys and operands. cpu-ns/op is the process's CPU per session,
// steady on a shared machine.
func BenchmarkCountSession(b *testing.B) {
	loc, _ := time.LoadLocation("Europe/Moscow")
	d := &discard{}
	c := &counter{l: d, site: 1, loc: loc}
	s := store.Session{ID: 7, Visitor: 3, Started: time.Date(2026, 11, 3, 10, 0, 0, 0, loc).UnixMilli(), Channel: "ad",
		UTMSource: "yandex", UTMMedium: "cpc", UTMCampaign: "autumn-sale", UTMTerm: "leather shoes",
		Referrer: "https://yandex.ru/search/?text=shoes", Landing: "https://shop.example.com/catalog/shoes?utm_source=yandex&utm_medium=cpc"}
	b.ReportAllocs()
	cpu := cputime.Process()
	for b.Loop() {
		if _, _, err := c.session(&s, false, nil); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(cputime.Process()-cpu)/float64(b.N), "cpu-ns/op")
	b.ReportMetric(float64(d.ops)/float64(b.N), "operands/op")
}
