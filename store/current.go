package store

import (
	"context"
	"fmt"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/sstable/block"
)

// Current returns a copy of the value under key when the write that set
// it is the last one the store has: the group that wrote it ended with
// nothing after it but the sequence every group writes last (MetaKey
// "seq"), and no group has been committed since, by this process or any
// other that opened the store in between, whatever its version. Otherwise
// (a later write, a crash after one, no such key) it returns ErrNotFound.
//
// It is how state derived from other records and written at a clean
// shutdown (SealedKey) is known to be exactly current at the next start:
// every write group sets MetaKey("seq") as its last operation, so pebble's
// sequence number of that key is the last group's, and the key's own is
// one less only when it was written last in that group. Pebble may zero
// the sequence numbers of keys compacted into its last level; then the two
// no longer differ by one and the value is not believed (a slow start, not
// a wrong one).
func (d *DB) Current(key []byte) ([]byte, error) {
	snap := d.db.NewSnapshot()
	defer snap.Close()
	// last reads the newest version of k: its sequence number, kind and
	// (when value is set) a copy of its value.
	last := func(k []byte, withValue bool) (seq uint64, kind pebble.InternalKeyKind, value []byte, err error) {
		upper := append(append([]byte{}, k...), 0)
		err = snap.ScanInternal(context.Background(), block.CategoryUnknown, k, upper,
			func(ik *pebble.InternalKey, v pebble.LazyValue, _ pebble.IteratorLevel) error {
				seq, kind = uint64(ik.SeqNum()), ik.Kind()
				if withValue && kind == pebble.InternalKeyKindSet {
					b, _, err := v.Value(nil)
					if err != nil {
						return err
					}
					value = append([]byte{}, b...)
				}
				return nil
			}, nil, nil, nil, nil)
		return seq, kind, value, err
	}
	seq, kind, value, err := last(key, true)
	if err != nil {
		return nil, fmt.Errorf("read %x: %w", key, err)
	}
	if kind != pebble.InternalKeyKindSet || seq == 0 {
		return nil, ErrNotFound
	}
	meta := MetaKey("seq")
	mseq, _, _, err := last(meta, false)
	if err != nil {
		return nil, fmt.Errorf("read %x: %w", meta, err)
	}
	if mseq != seq+1 {
		return nil, ErrNotFound
	}
	return value, nil
}
