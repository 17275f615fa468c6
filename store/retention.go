package store

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
)

// pruneBatch bounds the records one durable write of a prune deletes, so
// that the sweep never holds the writer long.
const pruneBatch = 256

// PrunedVisits counts what PruneSessions deleted (or, in a dry run, would).
type PrunedVisits struct {
	Sessions, Hits, Events int64
}

// PruneSessions deletes the site's sessions whose last page view is before
// beforeMs (Unix ms), with their page views, events and the visitor card's
// index entries; visitors, leads, calls and the report roll-ups stay.
// Session ids grow with time, so the scan stops at the first session that
// began at or after beforeMs. With dry set it only counts. The session
// counters Hits and Events say how many page views and events go with it.
// A prune that deletes sessions raises the site's PrunedBefore to beforeMs
// in the same write.
func (d *DB) PruneSessions(ctx context.Context, site uint32, beforeMs int64, dry bool) (PrunedVisits, error) {
	var p PrunedVisits
	for from := uint64(0); ; {
		batch, next, err := d.oldSessions(ctx, site, from, beforeMs, &p)
		if err != nil {
			return p, fmt.Errorf("prune sessions of site %d: %w", site, err)
		}
		if !dry && len(batch) > 0 {
			if err := d.Update(ctx, func(tx *Tx) error {
				for _, s := range batch {
					tx.Delete(SessionKey(site, s.id))
					tx.DeleteRange(HitPrefix(site, s.id), PrefixEnd(HitPrefix(site, s.id)))
					tx.DeleteRange(EventPrefix(site, s.id), PrefixEnd(EventPrefix(site, s.id)))
					tx.Delete(VisitorItemKey(s.visitor, ItemSession, s.id))
				}
				return raisePruned(tx, site, beforeMs)
			}); err != nil {
				return p, fmt.Errorf("prune sessions of site %d: %w", site, err)
			}
		}
		if next == 0 {
			return p, nil
		}
		from = next
	}
}

// raisePruned records in tx that sessions of site which ended before
// beforeMs may have been deleted, unless a later cutoff is recorded.
func raisePruned(tx *Tx, site uint32, beforeMs int64) error {
	k := PrunedKey(site)
	b, err := tx.Get(k)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return err
	}
	if len(b) == 8 && int64(binary.BigEndian.Uint64(b)) >= beforeMs {
		return nil
	}
	tx.Set(k, binary.BigEndian.AppendUint64(nil, uint64(beforeMs)))
	return nil
}

// PrunedBefore is the cutoff (Unix ms) of the latest prune that deleted
// sessions of site: the site's visits that ended before it are no longer
// all kept, so what is counted from its raw records (a report rebuild)
// would miss them. 0 when no prune deleted any.
func (d *DB) PrunedBefore(site uint32) (int64, error) {
	b, err := d.Get(PrunedKey(site))
	if errors.Is(err, ErrNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	if len(b) != 8 {
		return 0, fmt.Errorf("pruned cutoff of site %d: %w", site, ErrCorrupt)
	}
	return int64(binary.BigEndian.Uint64(b)), nil
}

// oldSession is a session PruneSessions removes.
type oldSession struct{ id, visitor uint64 }

// oldSessions reads the site's sessions from session id from on and returns
// up to pruneBatch of those that ended before beforeMs, counted into p, and
// the session id to go on from (0 when the scan reached a session that
// began at or after beforeMs, or the site's last).
func (d *DB) oldSessions(ctx context.Context, site uint32, from uint64, beforeMs int64, p *PrunedVisits) ([]oldSession, uint64, error) {
	var (
		batch []oldSession
		next  uint64
		derr  error
	)
	err := d.Scan(ctx, SessionKey(site, from), PrefixEnd(SessionPrefix(site)), false, 0, func(k, v []byte) bool {
		s, err := DecodeSession(v)
		if err != nil {
			derr = fmt.Errorf("session %x: %w", k, err)
			return false
		}
		if s.Started >= beforeMs {
			return false
		}
		if s.LastHit >= beforeMs {
			return true // began before, still going after: kept
		}
		id := binary.BigEndian.Uint64(k[len(k)-8:])
		if len(batch) == pruneBatch {
			next = id
			return false
		}
		batch = append(batch, oldSession{id, s.Visitor})
		p.Sessions++
		p.Hits += int64(s.Hits)
		p.Events += int64(s.Events)
		return true
	})
	if err == nil {
		err = derr
	}
	return batch, next, err
}

// PruneDeliveries deletes the site's webhook deliveries that are done
// (delivered, or dropped with their endpoint) and were created before
// beforeMs (Unix ms); pending ones stay whatever their age. With dry set
// it only counts.
func (d *DB) PruneDeliveries(ctx context.Context, site uint32, beforeMs int64, dry bool) (int64, error) {
	var n int64
	var keys [][]byte
	var derr error
	err := d.ScanPrefix(ctx, DeliveryPrefix(site), false, 0, func(k, v []byte) bool {
		id, ok := IDFromKey(k)
		if !ok {
			derr = fmt.Errorf("delivery key %x: %w", k, ErrCorrupt)
			return false
		}
		dl, err := DecodeDelivery(id, v)
		if err != nil {
			derr = fmt.Errorf("delivery %d: %w", id, err)
			return false
		}
		if dl.Created >= beforeMs {
			return false // ids grow with time: the rest are newer
		}
		if dl.State != DeliveryPending {
			n++
			if !dry {
				keys = append(keys, DeliveryKey(site, id))
			}
		}
		return true
	})
	if err == nil {
		err = derr
	}
	if err == nil {
		err = d.deleteKeys(ctx, keys)
	}
	if err != nil {
		return n, fmt.Errorf("prune deliveries of site %d: %w", site, err)
	}
	return n, nil
}

// PruneLeases deletes leases of the lease history that ended before the
// cutoff before gives their number (Unix ns; ok false keeps the number's
// history, as for a number no site has now): both the claim and its until.
// A lease still live, or the latest of its number that ended after the
// cutoff, is never touched. With dry set it only counts.
func (d *DB) PruneLeases(ctx context.Context, before func(number string) (ns int64, ok bool), dry bool) (int64, error) {
	var n int64
	var keys [][]byte
	var derr error
	var number string
	var cutoff int64
	var keep bool
	err := d.ScanPrefix(ctx, []byte{prefixLease}, false, 0, func(k, v []byte) bool {
		num, since, until, ok := ParseLeaseKey(k)
		if !ok {
			derr = fmt.Errorf("lease key %x: %w", k, ErrCorrupt)
			return false
		}
		if !until {
			return true // judged with its until, which follows it
		}
		if num != number {
			number = num
			cutoff, keep = before(num)
			keep = !keep
		}
		if keep || len(v) != 8 || int64(binary.BigEndian.Uint64(v)) >= cutoff {
			return true
		}
		n++
		if !dry {
			keys = append(keys, LeaseClaimKey(num, since), LeaseUntilKey(num, since))
		}
		return true
	})
	if err == nil {
		err = derr
	}
	if err == nil {
		err = d.deleteKeys(ctx, keys)
	}
	if err != nil {
		return n, fmt.Errorf("prune lease history: %w", err)
	}
	return n, nil
}

// deleteKeys deletes keys in durable writes of at most pruneBatch keys.
func (d *DB) deleteKeys(ctx context.Context, keys [][]byte) error {
	for len(keys) > 0 {
		part := keys[:min(len(keys), pruneBatch)]
		keys = keys[len(part):]
		if err := d.Update(ctx, func(tx *Tx) error {
			for _, k := range part {
				tx.Delete(k)
			}
			return nil
		}); err != nil {
			return err
		}
	}
	return nil
}
