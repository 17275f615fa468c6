package store

import (
	"context"
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
	if built, err := d.indexBuilt("call-start-index"); built || err != nil {
		if err != nil {
			return fmt.Errorf("index call starts: %w", err)
		}
		return nil
	}
	entries := &indexWriter{d: d, ctx: ctx}
	err := d.ScanPrefix(ctx, []byte{prefixCall}, false, 0, func(k, v []byte) bool {
		r, ok := ParseRecordKey(k)
		if !ok {
			return true
		}
		if c, err := DecodeCall(r.ID, v); err == nil && c.Time >= 0 {
			entries.add(CallStartKey(r.Site, c.Time, r.ID))
		}
		return entries.err == nil
	})
	if err == nil {
		err = entries.flush()
	}
	if err == nil {
		err = d.Set(ctx, MetaKey("call-start-index"), []byte{callStartIndexVersion})
	}
	if err != nil {
		return fmt.Errorf("index call starts: %w", err)
	}
	return nil
}
