package tracking

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"appliance/httpd/visits"
	"appliance/numbers"
	"appliance/store"
	"appliance/store/storetest"
)

// poolState is every pool's live leases at now, by site and pool id: what
// a start-up restored.
func poolState(tr *Tracker, now time.Time) map[string][]numbers.Lease {
	out := map[string][]numbers.Lease{}
	for id, ss := range tr.state.Load().sites {
		for _, p := range ss.pools {
			out[fmt.Sprintf("site %d pool %d", id, p.cfg.ID)] = p.live.Leases(now)
		}
	}
	return out
}

// openBoth opens the tracker of db at now as Open does and from the lease
// history alone, checks that the two restored the same leases, and
// returns the first and whether it read sealed leases.
func openBoth(t *testing.T, db *store.DB, now time.Time) (*Tracker, bool) {
	t.Helper()
	fast := open(t, db, now)
	slow, err := openTracker(ctx, db, now, numbers.DefaultRegion, visits.SourceChannel, false)
	if err != nil {
		t.Fatal(err)
	}
	if slow.sealed {
		t.Fatal("the tracker opened from the history says it read sealed leases")
	}
	if got, want := poolState(fast, now), poolState(slow, now); !reflect.DeepEqual(got, want) {
		t.Fatalf("start-up restored\n%v\nthe history says\n%v", got, want)
	}
	return fast, fast.sealed
}

// sealedSetUp makes a store in dir with one pool of 40 numbers and leases
// of every kind: renewed, lapsed by now, live, and one claimed but never
// written (its visitor was not answered). It seals them at t0+17m, as a
// clean shutdown does, and returns the pool's numbers.
func sealedSetUp(t *testing.T, dir string) []string {
	db := storetest.OpenAt(t, dir)
	tr := open(t, db, t0)
	if _, err := tr.SetSiteNumbers(ctx, 1, []string{"8 (487) 275-14-04"}, t0); err != nil {
		t.Fatal(err)
	}
	var nums []string
	for i := range 40 {
		nums = append(nums, fmt.Sprintf("7495100%04d", i))
	}
	if _, err := tr.AddPool(ctx, 1, PoolInput{Name: "ads", Numbers: nums, Fallback: fallback,
		RuleInput: RuleInput{Rule: "utm_medium=cpc", Priority: 1}}, t0); err != nil {
		t.Fatal(err)
	}
	for v := range uint64(10) {
		assign(t, tr, v+1, cpc, false, t0)
	}
	for v := range uint64(10) {
		assign(t, tr, v+11, cpc, false, t0.Add(10*time.Minute))
	}
	for v := range uint64(5) {
		assign(t, tr, v+1, cpc, false, t0.Add(15*time.Minute)) // renewed to t0+35m
	}
	if _, err := tr.Assign(1, 99, 990, cpc, false, t0.Add(16*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if err := tr.Seal(ctx, t0.Add(17*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	return nums
}

// After a clean shutdown start-up restores the sealed leases, and they
// are what the history says: the renewed and the live ones, not the
// lapsed one nor the one never written.
func TestSealedLeasesAreTheHistorys(t *testing.T) {
	dir := t.TempDir()
	sealedSetUp(t, dir)
	db := storetest.OpenAt(t, dir)
	now := t0.Add(25 * time.Minute)
	tr, sealed := openBoth(t, db, now)
	if !sealed {
		t.Fatal("start-up after a clean shutdown read the history, not the sealed leases")
	}
	var visitors []uint64
	for _, l := range poolState(tr, now)["site 1 pool 1"] {
		visitors = append(visitors, l.Visitor)
		if !l.Recorded {
			t.Errorf("restored lease of visitor %d is not marked recorded", l.Visitor)
		}
	}
	if got, want := fmt.Sprint(len(visitors)), "15"; got != want {
		t.Errorf("%s leases live at t0+25m (%v), want %s: visitors 1-5 renewed and 11-20", got, visitors, want)
	}
	for _, v := range visitors {
		if v > 5 && v < 11 || v == 99 {
			t.Errorf("visitor %d holds a number after start-up", v)
		}
	}
	// A visitor who held a number keeps it; a newcomer gets another.
	a := assign(t, tr, 3, cpc, false, now)
	if a.leases[0].lease.Fresh {
		t.Error("visitor 3's lease was claimed anew after start-up")
	}
	b := assign(t, tr, 100, cpc, false, now)
	held := map[string]bool{}
	for _, l := range poolState(tr, now)["site 1 pool 1"] {
		if l.Visitor != 100 {
			held[l.Number] = true
		}
	}
	if n, _ := shown(b); held[n] {
		t.Errorf("newcomer got %s, which another visitor holds", n)
	}
}

// Any write after the seal makes start-up read the history: a lease, a
// change of the set-up, and a lease of a start that itself read them.
func TestSealedLeasesGoStaleWithAWrite(t *testing.T) {
	now := t0.Add(25 * time.Minute)
	for _, tt := range []struct {
		name  string
		write func(t *testing.T, tr *Tracker)
	}{
		{"a lease", func(t *testing.T, tr *Tracker) { assign(t, tr, 50, cpc, false, now) }},
		{"a renew", func(t *testing.T, tr *Tracker) { assign(t, tr, 12, cpc, false, now) }},
		{"a set-up change", func(t *testing.T, tr *Tracker) {
			if _, err := tr.SetSelectors(ctx, 1, []string{".phone"}, now); err != nil {
				t.Fatal(err)
			}
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			sealedSetUp(t, dir)
			db := storetest.OpenAt(t, dir)
			tr, sealed := openBoth(t, db, now)
			if !sealed {
				t.Fatal("the sealed leases were not read")
			}
			tt.write(t, tr)
			if _, err := db.Get(store.SealedKey(sealedName)); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("after the write the sealed leases are still stored (%v)", err)
			}
			later := now.Add(time.Minute)
			if _, sealed := openBoth(t, db, later); sealed {
				t.Error("a tracker opened after the write believed the sealed leases")
			}
			if err := db.Close(); err != nil {
				t.Fatal(err)
			}
			db = storetest.OpenAt(t, dir)
			if _, sealed := openBoth(t, db, later); sealed {
				t.Error("start-up believed sealed leases older than a write")
			}
		})
	}
}

// A server that knows nothing of sealed leases (an older version) may
// write leases after them without deleting them; it hands out ids for the
// page views it records, and start-up then reads the history.
func TestSealedLeasesOfAnotherServer(t *testing.T) {
	dir := t.TempDir()
	sealedSetUp(t, dir)
	db := storetest.OpenAt(t, dir)
	db.NextID()
	if err := db.Set(ctx, store.MetaKey("test"), []byte("a page view of an older server")); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db = storetest.OpenAt(t, dir)
	if _, sealed := openBoth(t, db, t0.Add(25*time.Minute)); sealed {
		t.Error("start-up believed sealed leases older than ids written since")
	}
}

// Sealed by a clock ahead of the one that starts: a lease claimed after
// the start's now is in them, so start-up reads the history.
func TestSealedLeasesOfALaterClock(t *testing.T) {
	dir := t.TempDir()
	sealedSetUp(t, dir)
	db := storetest.OpenAt(t, dir)
	if _, sealed := openBoth(t, db, t0.Add(5*time.Minute)); sealed {
		t.Error("start-up believed sealed leases claimed after its now")
	}
}

const sealedChildEnv = "TRACKING_SEALED_CHILD_DIR"

// TestSealedChild is the server of TestSealedLeasesAfterSIGKILL, run only
// as its child: it starts on the sealed store, leases a number to a
// visitor (an acknowledged write), says so, and waits to be killed.
func TestSealedChild(t *testing.T) {
	dir := os.Getenv(sealedChildEnv)
	if dir == "" {
		t.Skip("the child process of TestSealedLeasesAfterSIGKILL")
	}
	db, err := store.Open(dir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	tr := open(t, db, t0.Add(25*time.Minute))
	if !tr.sealed {
		t.Fatal("the child did not read the sealed leases")
	}
	a := assign(t, tr, 200, cpc, false, t0.Add(25*time.Minute))
	n, _ := shown(a)
	fmt.Printf("LEASED %s\n", n)
	select {}
}

// A crash after a lease written on top of sealed leases: the next start
// reads the history, which has that lease.
func TestSealedLeasesAfterSIGKILL(t *testing.T) {
	dir := t.TempDir()
	sealedSetUp(t, dir)
	cmd := exec.Command(os.Args[0], "-test.run=^TestSealedChild$", "-test.v")
	cmd.Env = append(os.Environ(), sealedChildEnv+"="+dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	var leased string
	buf := make([]byte, 4096)
	var got strings.Builder
	for leased == "" {
		n, err := out.Read(buf)
		got.Write(buf[:n])
		if err != nil {
			t.Fatalf("child said %q: %v", got.String(), err)
		}
		for _, line := range strings.Split(got.String(), "\n") {
			if s, ok := strings.CutPrefix(line, "LEASED "); ok && !strings.Contains(got.String(), "FAIL") {
				leased = strings.TrimSpace(s)
			}
		}
		if strings.Contains(got.String(), "FAIL") {
			t.Fatalf("child: %s", got.String())
		}
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	db := storetest.OpenAt(t, filepath.Clean(dir))
	now := t0.Add(26 * time.Minute)
	tr, sealed := openBoth(t, db, now)
	if sealed {
		t.Fatal("start-up after a crash believed sealed leases older than an acknowledged lease")
	}
	if v, _, ok := tr.state.Load().sites[1].pools[0].live.Holder(leased, now); !ok || v != 200 {
		t.Errorf("after the crash %s is held by %d (%v), want visitor 200, whose lease was acknowledged", leased, v, ok)
	}
}

// FuzzWalkSealed: a sealed record read from a store (a restored backup
// may hold anything) never panics, and one that reads is read the same
// after it is written again.
func FuzzWalkSealed(f *testing.F) {
	rec := func(at int64, pools ...[]uint64) []byte {
		b := binary.BigEndian.AppendUint64([]byte{sealedVersion}, uint64(at))
		b = binary.BigEndian.AppendUint64(b, 77)
		b = binary.AppendUvarint(b, uint64(len(pools)))
		for _, p := range pools {
			for _, v := range p[:5] {
				b = binary.AppendUvarint(b, v)
			}
			for i := 5; i+3 < len(p); i += 4 {
				b = binary.AppendUvarint(b, p[i])
				b = binary.BigEndian.AppendUint64(b, p[i+1])
				b = binary.AppendVarint(b, int64(p[i+2]))
				b = binary.AppendUvarint(b, p[i+3])
			}
		}
		return b
	}
	f.Add(rec(t0.UnixNano()))
	f.Add(rec(t0.UnixNano(), []uint64{1, 3, 1, 40, 2, 0, 7, 60e9, 1200e9, 4, 9, 0, 1}))
	f.Add(rec(-1, []uint64{1 << 40, 3, 1, 40, 1, 0, 7, 60e9, 1200e9}))
	f.Add([]byte{sealedVersion})
	f.Fuzz(func(t *testing.T, b []byte) {
		type entry struct {
			h sealedPool
			l []sealedLease
		}
		var got []entry
		at, lastID, err := walkSealed(b, func(h sealedPool) error {
			got = append(got, entry{h: h})
			return nil
		}, func(l sealedLease) error {
			e := &got[len(got)-1]
			if l.slot >= e.h.size || l.until <= l.since || (len(e.l) > 0 && l.slot <= e.l[len(e.l)-1].slot) {
				t.Fatalf("lease %+v read from a record of a pool %+v after %+v", l, e.h, e.l)
			}
			e.l = append(e.l, l)
			return nil
		})
		if err != nil {
			return
		}
		// Written again the way Seal writes it, it reads the same.
		w := binary.BigEndian.AppendUint64([]byte{sealedVersion}, uint64(at))
		w = binary.BigEndian.AppendUint64(w, lastID)
		w = binary.AppendUvarint(w, uint64(len(got)))
		for _, e := range got {
			for _, v := range []uint64{uint64(e.h.site), e.h.revision, uint64(e.h.id), uint64(e.h.size), uint64(len(e.l))} {
				w = binary.AppendUvarint(w, v)
			}
			next := 0
			for _, l := range e.l {
				w = binary.AppendUvarint(w, uint64(l.slot-next))
				w = binary.BigEndian.AppendUint64(w, l.visitor)
				w = binary.AppendVarint(w, at-l.since)
				w = binary.AppendUvarint(w, uint64(l.until-l.since))
				next = l.slot + 1
			}
		}
		var again []entry
		if _, _, err := walkSealed(w, func(h sealedPool) error {
			again = append(again, entry{h: h})
			return nil
		}, func(l sealedLease) error {
			again[len(again)-1].l = append(again[len(again)-1].l, l)
			return nil
		}); err != nil || !reflect.DeepEqual(again, got) {
			t.Fatalf("written again it reads %+v, %v; want %+v", again, err, got)
		}
	})
}
