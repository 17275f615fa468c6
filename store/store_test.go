package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// openTest opens a real store in a fresh temporary directory and closes it
// when the test ends.
func openTest(t testing.TB) *DB {
	t.Helper()
	return openDir(t, t.TempDir())
}

// openDir opens the store in dataDir and closes it when the test ends
// (Close is idempotent, so a test may close it earlier).
func openDir(t testing.TB, dataDir string) *DB {
	t.Helper()
	d, err := Open(dataDir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := d.Close(); err != nil {
			t.Error(err)
		}
	})
	return d
}

// reopen closes d and opens its data directory again.
func reopen(t testing.TB, d *DB) *DB {
	t.Helper()
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	return openDir(t, d.Dir())
}

type kv struct{ k, v string }

// scanAll returns every key and value of the store in order.
func scanAll(t testing.TB, d *DB) []kv {
	t.Helper()
	var out []kv
	err := d.Scan(context.Background(), nil, nil, false, 0, func(k, v []byte) bool {
		out = append(out, kv{string(k), string(v)})
		return true
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestGetNotFound(t *testing.T) {
	d := openTest(t)
	if _, err := d.Get(UserKey("nobody@example.com")); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get absent key: err = %v, want ErrNotFound", err)
	}
	if err := d.Set(context.Background(), UserKey("a@example.com"), nil); err != nil {
		t.Fatal(err)
	}
	v, err := d.Get(UserKey("a@example.com"))
	if err != nil || v == nil || len(v) != 0 {
		t.Fatalf("Get empty value = %q, %v; want empty non-nil, nil", v, err)
	}
}

func TestGetCopiesValue(t *testing.T) {
	d := openTest(t)
	ctx := context.Background()
	if err := d.Set(ctx, MetaKey("k"), []byte("value")); err != nil {
		t.Fatal(err)
	}
	v, err := d.Get(MetaKey("k"))
	if err != nil {
		t.Fatal(err)
	}
	copy(v, "XXXXX")
	if w, _ := d.Get(MetaKey("k")); string(w) != "value" {
		t.Fatalf("after changing a returned value, store holds %q", w)
	}
}

func TestScan(t *testing.T) {
	d := openTest(t)
	ctx := context.Background()
	for id := uint64(1); id <= 10; id++ {
		for _, site := range []uint32{1, 2, 3} {
			if err := d.Set(ctx, SessionKey(site, id), []byte{byte(site), byte(id)}); err != nil {
				t.Fatal(err)
			}
		}
	}
	ids := func(reverse bool, limit int, stopAt uint64) []uint64 {
		var got []uint64
		err := d.ScanPrefix(ctx, SessionPrefix(2), reverse, limit, func(k, v []byte) bool {
			id, ok := IDFromKey(k)
			if !ok || !bytes.Equal(v, []byte{2, byte(id)}) {
				t.Fatalf("scan saw %x=%x", k, v)
			}
			got = append(got, id)
			return id != stopAt
		})
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	for _, tt := range []struct {
		name    string
		reverse bool
		limit   int
		stopAt  uint64
		want    []uint64
	}{
		{"all", false, 0, 0, []uint64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}},
		{"reverse", true, 0, 0, []uint64{10, 9, 8, 7, 6, 5, 4, 3, 2, 1}},
		{"limit", false, 3, 0, []uint64{1, 2, 3}},
		{"reverse limit", true, 2, 0, []uint64{10, 9}},
		{"stop", false, 0, 4, []uint64{1, 2, 3, 4}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := ids(tt.reverse, tt.limit, tt.stopAt); !equalIDs(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}

	cctx, cancel := context.WithCancel(ctx)
	cancel()
	err := d.ScanPrefix(cctx, SessionPrefix(2), false, 0, func(k, v []byte) bool { return true })
	if !errors.Is(err, context.Canceled) {
		t.Errorf("scan with cancelled ctx: err = %v", err)
	}
}

func equalIDs(a, b []uint64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestOpenLocked(t *testing.T) {
	d := openTest(t)
	_, err := Open(d.Dir(), Options{})
	if !errors.Is(err, ErrLocked) {
		t.Fatalf("second Open of the same dir: err = %v, want ErrLocked", err)
	}
}

// A failure to open that has nothing to do with the lock must not be
// reported as ErrLocked, whatever the path looks like.
func TestOpenErrorNotLocked(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "block", "clock")
	_, err := Open(dir, Options{ReadOnly: true})
	if err == nil {
		t.Fatal("read-only Open of a missing store succeeded")
	}
	if errors.Is(err, ErrLocked) {
		t.Fatalf("read-only Open of a missing store: err = %v, reported as ErrLocked", err)
	}
}

func TestCloseTwice(t *testing.T) {
	d := openTest(t)
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if err := d.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

// A store closed cleanly leaves no log for the next Open to read back and
// write to a table before it returns (what a serve writes last, its sealed
// pool leases, would otherwise be part of every start); what was written
// is there after it.
func TestCloseLeavesNoLogToReplay(t *testing.T) {
	d := openTest(t)
	value := bytes.Repeat([]byte("lease"), 50_000)
	if err := d.Set(context.Background(), MetaKey("x"), value); err != nil {
		t.Fatal(err)
	}
	d = reopen(t, d)
	if l0 := d.db.Metrics().Levels[0]; l0.TablesFlushed != 0 || l0.TableBytesFlushed != 0 {
		t.Errorf("Open wrote %d tables (%d bytes) of what it read back from the log", l0.TablesFlushed, l0.TableBytesFlushed)
	}
	if v, err := d.Get(MetaKey("x")); err != nil || !bytes.Equal(v, value) {
		t.Fatalf("after reopening: %d bytes, %v", len(v), err)
	}
}

func TestReadOnly(t *testing.T) {
	d := openTest(t)
	if err := d.Set(context.Background(), MetaKey("x"), []byte("1")); err != nil {
		t.Fatal(err)
	}
	dir := d.Dir()
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	ro, err := Open(dir, Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	if v, err := ro.Get(MetaKey("x")); err != nil || string(v) != "1" {
		t.Fatalf("read-only Get = %q, %v", v, err)
	}
	if err := ro.Set(context.Background(), MetaKey("y"), nil); !errors.Is(err, ErrClosed) {
		t.Fatalf("Set on a read-only store: err = %v, want ErrClosed", err)
	}
}

// GetSorted reads keys in order, present, absent and repeated, from the
// memtable and from tables on disk alike, and reads nothing outside them.
func TestGetSorted(t *testing.T) {
	d := openTest(t)
	ctx := context.Background()
	for i := range 10 {
		if i%3 == 0 {
			continue // absent
		}
		if err := d.Set(ctx, []byte(fmt.Sprintf("k%02d", i)), []byte(fmt.Sprintf("v%d", i))); err != nil {
			t.Fatal(err)
		}
		if i == 5 {
			if err := d.Compact(ctx); err != nil { // half on disk, half in the memtable
				t.Fatal(err)
			}
		}
	}
	keys := [][]byte{[]byte("k00"), []byte("k01"), []byte("k01"), []byte("k03"), []byte("k05"), []byte("k08"), []byte("k09")}
	var got []string
	err := d.GetSorted(ctx, keys, func(i int, v []byte) {
		got = append(got, fmt.Sprintf("%s=%s", keys[i], v))
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"k00=", "k01=v1", "k01=v1", "k03=", "k05=v5", "k08=v8", "k09="}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	if err := d.GetSorted(ctx, nil, func(int, []byte) { t.Fatal("called for no keys") }); err != nil {
		t.Fatal(err)
	}
}

// TestL0Compaction: Options.L0Compaction reaches pebble's level-0
// thresholds (writes stop at three times it), 0 keeps pebble's, and a
// value out of range is refused before anything is opened.
func TestL0Compaction(t *testing.T) {
	if po := openOptions(Options{}); po.L0CompactionThreshold != DefaultL0Compaction || po.L0StopWritesThreshold != 3*DefaultL0Compaction {
		t.Errorf("default: compaction %d, stop %d; want %d, %d", po.L0CompactionThreshold, po.L0StopWritesThreshold, DefaultL0Compaction, 3*DefaultL0Compaction)
	}
	if po := openOptions(Options{L0Compaction: 8}); po.L0CompactionThreshold != 8 || po.L0StopWritesThreshold != 24 {
		t.Errorf("8: compaction %d, stop %d; want 8, 24", po.L0CompactionThreshold, po.L0StopWritesThreshold)
	}
	dir := t.TempDir()
	d, err := Open(dir, Options{L0Compaction: 8})
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	for _, n := range []int{-1, MaxL0Compaction + 1} {
		other := t.TempDir()
		if _, err := Open(other, Options{L0Compaction: n}); err == nil || !strings.Contains(err.Error(), "level-0 compaction") {
			t.Errorf("L0Compaction %d: err %v, want it refused", n, err)
		}
		if entries, _ := os.ReadDir(other); len(entries) != 0 {
			t.Errorf("L0Compaction %d: the refused open left %d entries in the data dir", n, len(entries))
		}
	}
}

// A snapshot reads the store as it was when taken: a later set, merge and
// delete are not seen through it, and are through the DB.
func TestSnapshot(t *testing.T) {
	ctx := context.Background()
	d := openTest(t)
	if err := d.Set(ctx, []byte("a"), []byte("1")); err != nil {
		t.Fatal(err)
	}
	if err := d.Set(ctx, []byte("b"), []byte("2")); err != nil {
		t.Fatal(err)
	}
	snap := d.NewSnapshot()
	defer snap.Close()
	if err := d.Set(ctx, []byte("a"), []byte("changed")); err != nil {
		t.Fatal(err)
	}
	if err := d.Delete(ctx, []byte("b")); err != nil {
		t.Fatal(err)
	}
	if err := d.Set(ctx, []byte("c"), []byte("3")); err != nil {
		t.Fatal(err)
	}
	var r Reader = snap
	if v, err := r.Get([]byte("a")); err != nil || string(v) != "1" {
		t.Errorf("snapshot get a = %q, %v; want 1", v, err)
	}
	if _, err := r.Get([]byte("c")); !errors.Is(err, ErrNotFound) {
		t.Errorf("snapshot get c: %v, want ErrNotFound", err)
	}
	var seen []string
	if err := r.ScanPrefix(ctx, nil, false, 0, func(k, v []byte) bool {
		if !bytes.Equal(k, dataVersionKey) {
			seen = append(seen, string(k)+"="+string(v))
		}
		return true
	}); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(seen, " "); got != "a=1 b=2" {
		t.Errorf("snapshot scan: %s, want a=1 b=2", got)
	}
	r = d
	if v, err := r.Get([]byte("a")); err != nil || string(v) != "changed" {
		t.Errorf("db get a = %q, %v; want changed", v, err)
	}
}

// A backup's checkpoint that its process never closed (killed during the
// backup) is removed by the next Open, which holds the lock: its hard
// links kept the disk space of every table the store dropped since.
func TestOpenRemovesLeftBackupCheckpoints(t *testing.T) {
	dir := t.TempDir()
	d := openDir(t, dir)
	if err := d.Set(context.Background(), MetaKey("x"), []byte("y")); err != nil {
		t.Fatal(err)
	}
	if _, err := d.OpenBackup(context.Background()); err != nil { // never closed
		t.Fatal(err)
	}
	left, _ := filepath.Glob(filepath.Join(dir, ".backup-*"))
	if len(left) != 1 {
		t.Fatalf("checkpoints in the data directory: %v, want the backup's", left)
	}
	reopen(t, d)
	if left, _ := filepath.Glob(filepath.Join(dir, ".backup-*")); len(left) != 0 {
		t.Errorf("after Open: %v left, want none", left)
	}
}
