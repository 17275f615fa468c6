// Package storetest opens real stores for tests: a pebble store in a
// temporary directory, closed when the test ends. There is no mock of the
// store; a test that needs one uses the real thing, which is fast enough.
package storetest

import (
	"testing"

	"appliance/store"
)

// Open opens a new store in a temporary directory of t and closes it when
// the test ends.
func Open(t testing.TB) *store.DB {
	t.Helper()
	return OpenAt(t, t.TempDir())
}

// OpenAt opens the store in dir (new or not: to reopen one after a
// restart or a crash) and closes it when the test ends. Closing it earlier
// is fine; store.DB.Close runs once.
func OpenAt(t testing.TB, dir string) *store.DB {
	t.Helper()
	db, err := store.Open(dir, store.Options{})
	if err != nil {
		t.Fatalf("open store %q: %v", dir, err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}
