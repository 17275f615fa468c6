package store

import (
	"bytes"
	"context"
	"errors"
	"testing"
)

// A sealed value is current while it is the store's last write, across a
// clean reopen; any later write, before or after a reopen, makes it stale
// for good, and so does a write of the same group after it.
func TestCurrent(t *testing.T) {
	ctx := context.Background()
	d := openTest(t)
	key := SealedKey("test")
	big := bytes.Repeat([]byte("0123456789abcdef"), 1<<17) // 2 MiB: the pools' snapshot is of this order
	current := func(d *DB, want []byte) {
		t.Helper()
		got, err := d.Current(key)
		if want == nil {
			if !errors.Is(err, ErrNotFound) {
				t.Fatalf("Current = %d bytes, %v; want ErrNotFound", len(got), err)
			}
			return
		}
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("Current = %d bytes, %v; want the %d bytes written", len(got), err, len(want))
		}
	}
	current(d, nil) // none yet
	if err := d.Set(ctx, key, big); err != nil {
		t.Fatal(err)
	}
	current(d, big)
	d = reopen(t, d)
	current(d, big)
	// A write after it, in this session or a later one.
	if err := d.Set(ctx, MetaKey("other"), []byte("x")); err != nil {
		t.Fatal(err)
	}
	current(d, nil)
	d = reopen(t, d)
	current(d, nil)

	if err := d.Set(ctx, key, []byte("again")); err != nil {
		t.Fatal(err)
	}
	d = reopen(t, d)
	current(d, []byte("again"))
	if err := d.Delete(ctx, key); err != nil {
		t.Fatal(err)
	}
	current(d, nil)

	// Another write in the same group, after the sealed one.
	if err := d.Update(ctx, func(tx *Tx) error {
		tx.Set(key, []byte("sealed"))
		tx.Set(MetaKey("other"), []byte("y"))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	current(d, nil)
	// Written last in its group: current.
	if err := d.Update(ctx, func(tx *Tx) error {
		tx.Set(MetaKey("other"), []byte("z"))
		tx.Set(key, []byte("sealed"))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	current(d, []byte("sealed"))
}

// Compaction into the last level may zero sequence numbers: Current then
// says stale (a slow start), never current after a later write.
func TestCurrentAfterCompaction(t *testing.T) {
	ctx := context.Background()
	d := openTest(t)
	key := SealedKey("test")
	for i := range 1000 {
		if err := d.Set(ctx, MetaKey("k"+string(rune('a'+i%26))), bytes.Repeat([]byte{byte(i)}, 100)); err != nil {
			t.Fatal(err)
		}
	}
	if err := d.Set(ctx, key, []byte("v")); err != nil {
		t.Fatal(err)
	}
	if err := d.db.Compact(ctx, []byte{0}, []byte{0xff}, true); err != nil {
		t.Fatal(err)
	}
	if v, err := d.Current(key); err == nil && string(v) != "v" {
		t.Fatalf("Current after compaction = %q", v)
	} else if err != nil && !errors.Is(err, ErrNotFound) {
		t.Fatal(err)
	}
	if err := d.Set(ctx, MetaKey("later"), nil); err != nil {
		t.Fatal(err)
	}
	if err := d.db.Compact(ctx, []byte{0}, []byte{0xff}, true); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Current(key); !errors.Is(err, ErrNotFound) {
		t.Fatalf("after a later write and a compaction Current = %v, want ErrNotFound", err)
	}
}
