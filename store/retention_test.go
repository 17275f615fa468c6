package store

import (
	"context"
	"testing"
)

// PruneSessions works through more sessions than one batch holds, keeps a
// session that began before the limit but is still going, and a dry run
// counts what the real prune then deletes.
func TestPruneSessionsBatches(t *testing.T) {
	d := openTest(t)
	ctx := context.Background()
	const site, n, before = 7, 3*pruneBatch + 17, int64(1_000_000)
	wantHits := int64(0)
	for id := uint64(1); id <= n; id++ {
		s := Session{ID: id, Visitor: id, Started: int64(id), LastHit: int64(id) + 10, Hits: uint32(id % 5)}
		if id%50 == 0 {
			s.LastHit = before + 1 // still going: kept
		} else {
			wantHits += int64(s.Hits)
		}
		if err := d.Set(ctx, SessionKey(site, id), s.Encode()); err != nil {
			t.Fatal(err)
		}
	}
	young := Session{ID: n + 1, Started: before, LastHit: before}
	if err := d.Set(ctx, SessionKey(site, n+1), young.Encode()); err != nil {
		t.Fatal(err)
	}
	want := PrunedVisits{Sessions: n - n/50, Hits: wantHits}
	pruned := func(want int64) {
		t.Helper()
		if got, err := d.PrunedBefore(site); err != nil || got != want {
			t.Fatalf("PrunedBefore = %d, %v; want %d", got, err, want)
		}
	}

	dry, err := d.PruneSessions(ctx, site, before, true)
	if err != nil || dry != want {
		t.Fatalf("dry run = %+v, %v; want %+v", dry, err, want)
	}
	pruned(0) // a dry run records nothing
	if _, err := d.PruneSessions(ctx, site, 1, false); err != nil {
		t.Fatal(err)
	}
	pruned(0) // nor does a prune that deleted nothing
	if left := countKeys(t, d, SessionPrefix(site)); left != n+1 {
		t.Fatalf("dry run left %d sessions, want %d", left, n+1)
	}
	got, err := d.PruneSessions(ctx, site, before, false)
	if err != nil || got != want {
		t.Fatalf("prune = %+v, %v; want %+v", got, err, want)
	}
	if left := countKeys(t, d, SessionPrefix(site)); left != n/50+1 {
		t.Fatalf("prune left %d sessions, want %d", left, n/50+1)
	}
	pruned(before)
	if other, err := d.PrunedBefore(site + 1); err != nil || other != 0 {
		t.Fatalf("another site's PrunedBefore = %d, %v; want 0", other, err)
	}
	again, err := d.PruneSessions(ctx, site, before, false)
	if err != nil || again != (PrunedVisits{}) {
		t.Fatalf("second prune = %+v, %v; want nothing", again, err)
	}
	// A later prune that deletes raises the cutoff; an earlier one that
	// deletes something left (another site's clock, a smaller retention
	// after a larger) never lowers it.
	later := Session{ID: n + 2, Started: before + 5, LastHit: before + 6}
	if err := d.Set(ctx, SessionKey(site, n+2), later.Encode()); err != nil {
		t.Fatal(err)
	}
	if _, err := d.PruneSessions(ctx, site, before+100, false); err != nil {
		t.Fatal(err)
	}
	pruned(before + 100)
	early := Session{ID: 3, Started: 1, LastHit: 2} // where the first prune left a gap
	if err := d.Set(ctx, SessionKey(site, 3), early.Encode()); err != nil {
		t.Fatal(err)
	}
	if got, err := d.PruneSessions(ctx, site, 50, false); err != nil || got.Sessions != 1 {
		t.Fatalf("prune before 50 = %+v, %v; want the one session", got, err)
	}
	pruned(before + 100)
}

func countKeys(t *testing.T, d *DB, prefix []byte) int {
	t.Helper()
	n := 0
	if err := d.ScanPrefix(context.Background(), prefix, false, 0, func(_, _ []byte) bool { n++; return true }); err != nil {
		t.Fatal(err)
	}
	return n
}
