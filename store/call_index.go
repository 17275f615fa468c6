package store

import (
	"context"
	"errors"
	"fmt"
)

// callStartIndexVersion names what IndexCallStarts has built; MetaKey
// "call-start-index" holds it once built.
const callStartIndexVersion = 1

// IndexCallStarts gives every call stored before the calls-by-start index
// (prefixCallStart) existed its entry, once per store; the server runs it
// as it starts, before it serves. It marks the store done (MetaKey
// "call-start-index"), a new store at its first start: every call written
// since carries its own entry. The entries are written indexBatch at a
// time; a call that does not decode is left out (the calls' readers say
// so).
func (d *DB) IndexCallStarts(ctx context.Context) error {
	if _, err := d.Get(MetaKey("call-start-index")); err == nil {
		return nil
	} else if !errors.Is(err, ErrNotFound) {
		return fmt.Errorf("index call starts: %w", err)
	}
	var entries [][]byte
	write := func() error {
		if len(entries) == 0 {
			return nil
		}
		err := d.Update(ctx, func(tx *Tx) error {
			for _, k := range entries {
				tx.Set(k, nil)
			}
			return nil
		})
		entries = entries[:0]
		return err
	}
	var writeErr error
	err := d.ScanPrefix(ctx, []byte{prefixCall}, false, 0, func(k, v []byte) bool {
		r, ok := ParseRecordKey(k)
		if !ok {
			return true
		}
		c, err := DecodeCall(r.ID, v)
		if err != nil || c.Time < 0 {
			return true
		}
		entries = append(entries, CallStartKey(r.Site, c.Time, r.ID))
		if len(entries) == indexBatch {
			writeErr = write()
		}
		return writeErr == nil
	})
	if err == nil {
		err = writeErr
	}
	if err == nil {
		err = write()
	}
	if err == nil {
		err = d.Set(ctx, MetaKey("call-start-index"), []byte{callStartIndexVersion})
	}
	if err != nil {
		return fmt.Errorf("index call starts: %w", err)
	}
	return nil
}
