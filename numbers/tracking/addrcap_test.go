package tracking

import (
	"errors"
	"testing"
	"time"

	"appliance/numbers"
	"appliance/store"
	"appliance/store/storetest"
)

// assignFrom is assign of a visitor at address addr.
func assignFrom(t testing.TB, tr *Tracker, visitor, addr uint64, now time.Time) Assignment {
	t.Helper()
	a, err := tr.AssignIn(nil, 1, visitor, visitor*10, addr, cpc, false, now)
	if err != nil {
		t.Fatalf("assign: %v", err)
	}
	if err := tr.db.Update(ctx, a.Persist); err != nil {
		t.Fatalf("persist: %v", err)
	}
	return a
}

// A pool's address cap is its set-up's: kept by edits that do not name
// it, applied to the serving pool when only it changes, kept across a
// restart; the page views it refuses are shown the fallback and reported
// as limited, not missed.
func TestPoolAddrCap(t *testing.T) {
	if store.DefaultPoolAddrCap != numbers.DefaultAddrCap {
		t.Fatalf("store's default cap %d, numbers' %d", store.DefaultPoolAddrCap, numbers.DefaultAddrCap)
	}
	db := storetest.Open(t)
	tr := open(t, db, t0)
	nums := setUp(t, tr, 5)
	if p := tr.Config(1).Pools[0]; p.AddrCap != numbers.DefaultAddrCap {
		t.Fatalf("new pool's cap %d", p.AddrCap)
	}
	edit := func(cap *int) (store.PoolConfig, error) {
		return tr.UpdatePool(ctx, 1, "ads", PoolInput{Name: "ads", Numbers: nums, Fallback: fallback, AddrCap: cap,
			RuleInput: RuleInput{Rule: "utm_medium=cpc", Priority: 1}}, t0)
	}
	two, neg := 2, -1
	if _, err := edit(&neg); !errors.Is(err, ErrInvalid) {
		t.Fatalf("cap -1: %v, want ErrInvalid", err)
	}
	if p, err := edit(&two); err != nil || p.AddrCap != 2 {
		t.Fatalf("cap 2: %+v %v", p, err)
	}
	if p, err := edit(nil); err != nil || p.AddrCap != 2 {
		t.Fatalf("an edit without the cap: %+v %v, want it kept", p, err)
	}
	const addr, other = 0xffffffff_cb007107, 0xffffffff_c6336409
	for v := uint64(1); v <= 3; v++ {
		n, typ := shown(assignFrom(t, tr, v, addr, t0))
		if want := Dynamic; v == 3 {
			if n != fallback || typ != Static {
				t.Fatalf("third visitor from one address: %s %s, want the fallback", n, typ)
			}
		} else if typ != want {
			t.Fatalf("visitor %d: %s %s, want a pool number", v, n, typ)
		}
	}
	if _, typ := shown(assignFrom(t, tr, 4, other, t0)); typ != Dynamic {
		t.Fatalf("other address: %s", typ)
	}
	// After a restart the cap holds; the restored leases are not counted
	// (they do not know their address): two more may claim.
	tr = open(t, db, t0.Add(time.Minute))
	for v := uint64(5); v <= 7; v++ {
		want := Dynamic
		if v == 7 {
			want = Static
		}
		if _, typ := shown(assignFrom(t, tr, v, addr, t0.Add(time.Minute))); typ != want {
			t.Fatalf("after restart, visitor %d: %s, want %s", v, typ, want)
		}
	}
	for _, s := range tr.PoolStats(t0) {
		if s.Limited != 1 {
			t.Errorf("stats since the restart: %+v, want 1 limited", s)
		}
	}
	// The cap alone changed: the serving pool follows, its counts kept.
	zero := 0
	if _, err := edit(&zero); err != nil {
		t.Fatal(err)
	}
	r, err := tr.Report(ctx, 1, t0, t0, t0.Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if r[0].Limited != 2 || r[0].Misses != 0 {
		t.Fatalf("report: limited %d misses %d, want 2 and 0", r[0].Limited, r[0].Misses)
	}
	// The pool is full now (5 numbers), so the next is a miss, not limited.
	if n, typ := shown(assignFrom(t, tr, 8, addr, t0.Add(time.Minute))); n != fallback || typ != Static {
		t.Fatalf("no cap, full pool: %s %s", n, typ)
	}
	if _, typ := shown(assignFrom(t, tr, 9, addr, t0.Add(time.Minute))); typ != Static {
		t.Fatal("unexpected number")
	}
	r, _ = tr.Report(ctx, 1, t0, t0, t0.Add(time.Minute))
	if r[0].Limited != 2 || r[0].Misses != 2 {
		t.Fatalf("report: limited %d misses %d, want 2 and 2", r[0].Limited, r[0].Misses)
	}
}
