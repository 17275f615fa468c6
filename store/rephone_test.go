package store_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"appliance/numbers"
	"appliance/store"
	"appliance/store/storetest"
)

// reread is the server's decision, in RU for every site.
func reread(_ uint32, digits, typed string) (string, bool) {
	p, ok := numbers.Reread(digits, typed, "RU")
	return p.Digits, ok
}

// oldLeads writes n leads of site 1 as the version before ParsePhone read
// 00 before a country code wrote them, one in every dialled with 00
// (stored as the invalid RU number), the others ordinary numbers, and
// returns how many were dialled with 00.
func oldLeads(t testing.TB, db *store.DB, n, every int) int {
	t.Helper()
	bad := 0
	for from := 0; from < n; from += 10_000 {
		err := db.Update(context.Background(), func(tx *store.Tx) error {
			for i := from; i < min(from+10_000, n); i++ {
				l := store.Lead{Time: int64(i), Via: "js", Name: "lead"}
				l.Visitor = uint64(i%500 + 1)
				if i%every == 0 {
					l.PhoneRaw = fmt.Sprintf("00 44 20 7946 %04d", i%10_000)
					l.Phone = "700442079" + fmt.Sprintf("46%04d", i%10_000)
					bad++
				} else {
					l.PhoneRaw = fmt.Sprintf("8 921 %03d-%02d-%02d", i/10_000, i/100%100, i%100)
					l.Phone = fmt.Sprintf("7921%03d%02d%02d", i/10_000, i/100%100, i%100)
				}
				tx.Set(store.LeadKey(1, uint64(i+1)), l.Encode())
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return bad
}

// leadPhones counts site 1's leads by whether their number is the old
// reading's (7 00...).
func leadPhones(t testing.TB, db *store.DB) (old, reread int) {
	t.Helper()
	err := db.ScanPrefix(context.Background(), store.LeadPrefix(1), false, 0, func(k, v []byte) bool {
		id, _ := store.IDFromKey(k)
		l, err := store.DecodeLead(id, v)
		if err != nil {
			t.Fatal(err)
		}
		switch l.Phone[:3] {
		case "700":
			old++
		case "442":
			reread++
		}
		return true
	})
	if err != nil {
		t.Fatal(err)
	}
	return old, reread
}

// A run cut short (here its context cancelled midway, as a crash would cut
// it) leaves the batches it wrote, whole, and no mark: the next start
// goes on from there and rewrites only what is left; once marked, it reads
// nothing more, and a run even without the mark changes nothing.
func TestRereadPhonesResumes(t *testing.T) {
	dir := t.TempDir()
	db := storetest.OpenAt(t, dir)
	const n = 30_000
	bad := oldLeads(t, db, n, 10)
	ctx, cancel := context.WithCancel(context.Background())
	seen := 0
	_, err := db.RereadPhones(ctx, 1, func(site uint32, digits, typed string) (string, bool) {
		d, ok := reread(site, digits, typed)
		if ok && typed != "" && typed[0] == '0' {
			if seen++; seen == bad/2 { // the first batches are written
				cancel()
			}
		}
		return d, ok
	})
	if err == nil {
		t.Fatal("a cancelled run reported no error")
	}
	db.Close()

	db = storetest.OpenAt(t, dir)
	old, done := leadPhones(t, db)
	if done == 0 || done%1000 != 0 || old+done != bad {
		t.Fatalf("after the cut run: %d leads reread, %d left; want whole batches of %d", done, old, bad)
	}
	if _, err := db.Get(store.MetaKey("phone-reread")); err == nil {
		t.Fatal("a cut run is marked done")
	}
	st, err := db.RereadPhones(context.Background(), 2, reread)
	if err != nil || st.Leads != old || st.Read != n {
		t.Fatalf("the next run: %+v, %v; want %d leads of %d rewritten", st, err, old, n)
	}
	if old, done := leadPhones(t, db); old != 0 || done != bad {
		t.Fatalf("after the next run: %d reread, %d left", done, old)
	}
	if st, err := db.RereadPhones(context.Background(), 3, reread); err != nil || st != (store.PhonesReread{}) {
		t.Fatalf("a run once marked: %+v, %v", st, err)
	}
	if err := db.Delete(context.Background(), store.MetaKey("phone-reread")); err != nil {
		t.Fatal(err)
	}
	if st, err := db.RereadPhones(context.Background(), 4, reread); err != nil || st.Leads+st.Callbacks+st.Visitors != 0 || st.Read != n {
		t.Fatalf("a run without the mark: %+v, %v; want nothing rewritten", st, err)
	}
}

// The reread of a store of 100,000 leads, a tenth or a thousandth of them
// dialled with 00: go test -run X -bench RereadPhones ./store/
func BenchmarkRereadPhones(b *testing.B) {
	for _, every := range []int{10, 1000} {
		b.Run(fmt.Sprintf("1-in-%d", every), func(b *testing.B) {
			for range b.N {
				b.StopTimer()
				db := storetest.Open(b)
				bad := oldLeads(b, db, 100_000, every)
				b.StartTimer()
				start := time.Now()
				st, err := db.RereadPhones(context.Background(), 1, reread)
				if err != nil || st.Leads != bad {
					b.Fatalf("%+v, %v; want %d", st, err, bad)
				}
				b.ReportMetric(float64(time.Since(start).Milliseconds()), "ms/100k-leads")
				b.StopTimer()
				// Once done: the check a start makes.
				start = time.Now()
				if _, err := db.RereadPhones(context.Background(), 2, reread); err != nil {
					b.Fatal(err)
				}
				b.ReportMetric(float64(time.Since(start).Microseconds()), "µs-once-done")
				db.Close()
				b.StartTimer()
			}
		})
	}
}
