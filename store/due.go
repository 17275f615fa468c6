package store

import (
	"context"
	"encoding/binary"
	"fmt"
)

// DueEntry is the value of a due-queue entry (prefixDue): what its worker
// needs to find the record the entry is due for, besides the id in the key.
type DueEntry struct {
	Site uint32 // the site whose record (Delivery, Callback) the id names
	// Lane is the receiver whose attempts are limited together (a webhook
	// endpoint's id), so that one that hangs cannot hold every worker; 0:
	// none. Version 1 entries decode as 0.
	Lane uint64
}

// dueVersion 2 added Lane.
const dueVersion = 2

// Encode returns the versioned encoding of e.
func (e *DueEntry) Encode() []byte {
	enc := newEncoder(dueVersion, 12)
	enc.uint(uint64(e.Site))
	enc.uint(e.Lane)
	return enc.b
}

// DecodeDueEntry decodes a DueEntry of any version.
func DecodeDueEntry(b []byte) (DueEntry, error) {
	d, v := newDecoder(b, "due entry", dueVersion)
	e := DueEntry{Site: d.uint32("site")}
	if v >= 2 {
		e.Lane = d.uint()
	}
	return e, d.done()
}

// moveRetiredDue moves the entries of the two retired queue families
// (prefixOutbox, prefixCallbackDue, see keys.go) into prefixDue, in one
// durable write: a data directory written before the one queue keeps its
// pending deliveries and scheduled calls. Once moved there is nothing left
// under the old prefixes, so later opens write nothing. An old entry whose
// value is not a site id was never sent by the old code either; it is
// dropped.
func (d *DB) moveRetiredDue(ctx context.Context) error {
	type move struct {
		old  []byte
		kind DueKind
		due  int64
		id   uint64
		site uint32
		ok   bool
	}
	var moves []move
	for _, f := range []struct {
		prefix byte
		kind   DueKind
	}{{prefixOutbox, DueDelivery}, {prefixCallbackDue, DueCallback}} {
		err := d.ScanPrefix(ctx, []byte{f.prefix}, false, 0, func(k, v []byte) bool {
			m := move{old: append([]byte(nil), k...), kind: f.kind}
			if len(k) == 17 && len(v) == 4 {
				m.due = int64(binary.BigEndian.Uint64(k[1:9]))
				m.id = binary.BigEndian.Uint64(k[9:])
				m.site = binary.BigEndian.Uint32(v)
				m.ok = m.due >= 0
			}
			moves = append(moves, m)
			return true
		})
		if err != nil {
			return fmt.Errorf("move queue %q: %w", f.prefix, err)
		}
	}
	if len(moves) == 0 {
		return nil
	}
	err := d.Update(ctx, func(tx *Tx) error {
		for _, m := range moves {
			tx.Delete(m.old)
			if m.ok {
				e := DueEntry{Site: m.site}
				tx.Set(DueKey(m.kind, m.due, m.id), e.Encode())
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("move %d queue entries: %w", len(moves), err)
	}
	return nil
}
