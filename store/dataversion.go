package store

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/cockroachdb/pebble/v2"
)

// DataVersion names what this binary writes into a store: every record's
// encoding version and the key families. It grows by one whenever a record's
// version does (a new field in a token, a delivery, a due entry...), which
// TestDataVersionFollowsRecordVersions holds to. A store remembers the
// highest DataVersion that opened it for writing (the meta key
// "data-version"), and a binary that knows less refuses to open it: an
// older binary would read the newer records as corrupt, or drop their new
// fields when it rewrites them, long after it started. Stores made before
// the key existed read as version 0. Version 2: calls keep the called
// number's extension and the pool's name (callVersion 4), set-ups the
// names of removed pools (numbersVersion 3), and a lease's claim record
// may be a merge of a renew's copy (store.Tx.KeepClaim), which an older
// binary's merger cannot read. Version 3: webhook endpoints' health
// (WebhookHealth, a new family): an older binary would leave it stale
// while it delivers, and this one would then warn, and email owners, of
// an episode that ended under the older one. Version 4: a pool's set-up
// keeps its address cap (PoolConfig.AddrCap, numbersVersion 4), which an
// older binary would read as corrupt.
const DataVersion uint64 = 4

// dataVersionKey holds the store's DataVersion (uint64 BE).
var dataVersionKey = MetaKey("data-version")

// ErrNewerData is wrapped by NewerDataError.
var ErrNewerData = errors.New("store: written by a newer version")

// NewerDataError says a store was written by a newer binary than this one.
type NewerDataError struct {
	Dir    string // the data directory; "" for a backup's store
	Stored uint64 // the store's data version
}

func (e *NewerDataError) Error() string {
	if e.Dir == "" {
		return fmt.Sprintf("this backup was made by a newer appliance (data version %d; this binary reads up to %d): "+
			"restore it with that version or a later one", e.Stored, DataVersion)
	}
	return fmt.Sprintf("the store in %q was written by a newer appliance (data version %d; this binary reads up to %d): "+
		"run that version or a later one, or restore a backup made before the upgrade with this one (appliance restore --force)",
		e.Dir, e.Stored, DataVersion)
}

func (e *NewerDataError) Unwrap() error { return ErrNewerData }

// storedDataVersion reads the data version of the store get reads: 0 for a
// store made before it was kept.
func storedDataVersion(get func([]byte) ([]byte, error)) (uint64, error) {
	v, err := get(dataVersionKey)
	switch {
	case errors.Is(err, ErrNotFound):
		return 0, nil
	case err != nil:
		return 0, fmt.Errorf("read data version: %w", err)
	case len(v) != 8:
		return 0, fmt.Errorf("data version: %w", ErrCorrupt)
	}
	return binary.BigEndian.Uint64(v), nil
}

// checkDataVersion refuses a store of a newer data version than this
// binary's and returns the one it has.
func checkDataVersion(dir string, get func([]byte) ([]byte, error)) (uint64, error) {
	stored, err := storedDataVersion(get)
	if err != nil {
		return 0, err
	}
	if stored > DataVersion {
		return stored, &NewerDataError{Dir: dir, Stored: stored}
	}
	return stored, nil
}

// markDataVersion notes this binary's DataVersion in a store that had an
// older one, durably, before anything else is written: from then on an
// older binary refuses the store rather than misread what this one writes.
// It writes to pebble itself, before the writer starts (so the writer's
// counts are of the store's users' writes alone).
func (d *DB) markDataVersion(stored uint64) error {
	if stored >= DataVersion {
		return nil
	}
	if err := d.db.Set(dataVersionKey, binary.BigEndian.AppendUint64(nil, DataVersion), pebble.Sync); err != nil {
		return fmt.Errorf("note data version: %w", err)
	}
	return nil
}

// DataVersion returns the data version the store holds: DataVersion once a
// binary of this version opened it for writing, 0 for a store made before
// the version was kept.
func (d *DB) DataVersion() (uint64, error) { return storedDataVersion(d.Get) }
