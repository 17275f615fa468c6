package store

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/sstable"
)

// A new store is made in storeFormat; one made in pebble's newest format
// (every store before storeFormat) opens as it is, reads what it held,
// takes writes and keeps its format: pebble only moves a store's format up.
func TestStoreFormat(t *testing.T) {
	ctx := context.Background()
	fresh := openTest(t)
	if got := fresh.db.FormatMajorVersion(); got != storeFormat {
		t.Errorf("a new store is at format %s, want %s", got, storeFormat)
	}
	// Its tables are made of rows: columnar blocks start at Pebblev5.
	if tf := fresh.db.TableFormat(); tf >= sstable.TableFormatPebblev5 {
		t.Errorf("a new store writes tables in %s, want row-based ones (before %s)", tf, sstable.TableFormatPebblev5)
	}

	dir := t.TempDir()
	opts := pebbleOptions(false, MinCacheSize)
	opts.FormatMajorVersion = pebble.FormatNewest
	old, err := pebble.Open(filepath.Join(dir, DBDir), opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := old.Set([]byte("k-old"), []byte("v-old"), pebble.Sync); err != nil {
		t.Fatal(err)
	}
	if err := old.Flush(); err != nil { // a table in the newest format
		t.Fatal(err)
	}
	if err := old.Close(); err != nil {
		t.Fatal(err)
	}
	d := openDir(t, dir)
	if got := d.db.FormatMajorVersion(); got != pebble.FormatNewest {
		t.Errorf("a store made at %s opened at %s, want it kept", pebble.FormatNewest, got)
	}
	if v, err := d.Get([]byte("k-old")); err != nil || string(v) != "v-old" {
		t.Fatalf("the old store's record: %q, %v", v, err)
	}
	if err := d.Set(ctx, []byte("k-new"), []byte("v-new")); err != nil {
		t.Fatal(err)
	}
	d = reopen(t, d)
	if v, err := d.Get([]byte("k-new")); err != nil || string(v) != "v-new" {
		t.Fatalf("written after the open: %q, %v", v, err)
	}
}
