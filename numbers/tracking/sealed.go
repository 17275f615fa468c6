package tracking

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"sync/atomic"
	"time"

	"appliance/store"
)

// The pools' live leases, sealed at a clean shutdown (Tracker.Seal) so that
// the next Open reads them in one Get instead of seeking every pool
// number's last lease in the history (restoreLatest: most of a start with
// pools). The first write after them that changes what they were read
// from deletes them in the same batch: the first lease a tracker writes
// (Persist), and every change of a set-up. So a crash after that write
// finds none, and the history is read as before; a crash before it finds
// them as exact as at the shutdown. They also name the last id the store
// had handed out (store.DB.LastID): a server that knows nothing of them
// (an older version, started in between) hands out ids for every page
// view it records, so Open, finding another, reads the history.
//
// The encoding, version 1: the version byte; the instant they were sealed
// at (uint64 BE, Unix ns); the store's last id (uint64 BE); the number of
// pools (uvarint); per pool its site, the site's set-up revision, the
// pool's id and size (uvarints) and its number of leases (uvarint), then
// per lease in slot order the slot less the previous lease's slot plus
// one (uvarint), the visitor (uint64 BE), the sealing instant less the
// claim (varint) and the until less the claim (uvarint).
const sealedVersion = 1

// sealedName is the store.SealedKey name of the pools' leases.
const sealedName = "pools"

// errSealed is a sealed record that does not read.
var errSealed = fmt.Errorf("sealed pool leases: %w", store.ErrCorrupt)

// sealedFlag is set while the store may hold sealed leases: until a write
// that deletes them is durable.
type sealedFlag = atomic.Bool

// Seal writes the live leases of every pool at now, for the next Open.
// Call it at a clean shutdown, once nothing can lease any more and every
// Persist has returned (the HTTP servers have drained), and write nothing
// after it: a lease live in a pool but not in the history (its write
// failed) would otherwise be held longer than the history says, and a
// write of ids after it makes them stale. Leases whose claim is not known
// recorded (MarkRecorded) are left out, as the history lacks them.
func (t *Tracker) Seal(ctx context.Context, now time.Time) error {
	st := t.state.Load()
	b := binary.BigEndian.AppendUint64([]byte{sealedVersion}, uint64(now.UnixNano()))
	b = binary.BigEndian.AppendUint64(b, t.db.LastID())
	npools := 0
	for _, ss := range st.sites {
		npools += len(ss.pools)
	}
	b = binary.AppendUvarint(b, uint64(npools))
	at := now.UnixNano()
	for _, ss := range st.sites {
		for _, p := range ss.pools {
			ls := p.live.Leases(now)
			n := 0
			for _, l := range ls {
				if l.Recorded {
					n++
				}
			}
			b = binary.AppendUvarint(b, uint64(ss.id))
			b = binary.AppendUvarint(b, ss.cfg.Revision)
			b = binary.AppendUvarint(b, uint64(p.cfg.ID))
			b = binary.AppendUvarint(b, uint64(p.live.Size()))
			b = binary.AppendUvarint(b, uint64(n))
			next := 0
			for _, l := range ls {
				if !l.Recorded {
					continue
				}
				since := l.Since.UnixNano()
				b = binary.AppendUvarint(b, uint64(l.Slot-next))
				b = binary.BigEndian.AppendUint64(b, l.Visitor)
				b = binary.AppendVarint(b, at-since)
				b = binary.AppendUvarint(b, uint64(l.Until.UnixNano()-since))
				next = l.Slot + 1
			}
		}
	}
	if err := t.db.Set(ctx, store.SealedKey(sealedName), b); err != nil {
		return fmt.Errorf("seal pool leases: %w", err)
	}
	t.sealedLive.Store(true)
	return nil
}

// unseal deletes the sealed leases in tx, a write that changes leases or
// set-ups, while the store may hold them.
func unseal(tx *store.Tx, f *sealedFlag) {
	if f == nil || !f.Load() {
		return
	}
	tx.Delete(store.SealedKey(sealedName))
	// Once this write is durable, every later one follows it in the log.
	tx.AfterCommit(func() { f.Store(false) })
}

// sealedLease is one lease of a sealed record.
type sealedLease struct {
	slot         int
	visitor      uint64
	since, until int64 // Unix ns
}

// sealedPool is the head of one pool's part of a sealed record.
type sealedPool struct {
	site     uint32
	revision uint64
	id       uint32
	size     int
}

// walkSealed reads a sealed record: pool calls pool with each pool's head,
// then lease with each of its leases; either may stop the walk with an
// error, which it returns. It returns errSealed for a record that does not
// read whole.
func walkSealed(b []byte, pool func(sealedPool) error, lease func(sealedLease) error) (at int64, lastID uint64, err error) {
	if len(b) < 17 || b[0] != sealedVersion {
		return 0, 0, errSealed
	}
	at = int64(binary.BigEndian.Uint64(b[1:9]))
	lastID = binary.BigEndian.Uint64(b[9:17])
	b = b[17:]
	uvarint := func() uint64 {
		v, n := binary.Uvarint(b)
		if n <= 0 {
			err = errSealed
			return 0
		}
		b = b[n:]
		return v
	}
	npools := uvarint()
	for i := uint64(0); i < npools && err == nil; i++ {
		site, revision, id, size, n := uvarint(), uvarint(), uvarint(), uvarint(), uvarint()
		if err != nil || site > math.MaxUint32 || id > math.MaxUint32 || size > MaxPoolNumbers || n > size {
			return 0, 0, errSealed
		}
		h := sealedPool{site: uint32(site), revision: revision, id: uint32(id), size: int(size)}
		if err := pool(h); err != nil {
			return 0, 0, err
		}
		next := uint64(0)
		for range n {
			slot := next + uvarint()
			if err != nil || slot >= size || len(b) < 8 {
				return 0, 0, errSealed
			}
			visitor := binary.BigEndian.Uint64(b)
			b = b[8:]
			back, k := binary.Varint(b)
			if k <= 0 {
				return 0, 0, errSealed
			}
			b = b[k:]
			held := uvarint()
			if err != nil || held == 0 || held > math.MaxInt64 {
				return 0, 0, errSealed
			}
			if (back > 0 && at < math.MinInt64+back) || (back < 0 && at > math.MaxInt64+back) {
				return 0, 0, errSealed
			}
			since := at - back
			if since > math.MaxInt64-int64(held) {
				return 0, 0, errSealed
			}
			if err := lease(sealedLease{slot: int(slot), visitor: visitor, since: since, until: since + int64(held)}); err != nil {
				return 0, 0, err
			}
			next = slot + 1
		}
	}
	if err == nil && len(b) != 0 {
		err = errSealed
	}
	return at, lastID, err
}

// errStale says a sealed record is not for the set-up Open read: it does
// not name the same pools at the same revisions.
var errStale = errors.New("tracking: sealed leases of another set-up")

// restoreSealed restores the leases live at now from the sealed record,
// when the store has one that fits st and no ids were written since it;
// it reports whether it did, and whether the store has one (which the
// tracker's first write must delete). It checks the whole record before
// it restores anything, so that when it reports false the pools are as
// they were.
func restoreSealed(db *store.DB, st *state, now time.Time, use bool) (used, found bool, err error) {
	b, err := db.Get(store.SealedKey(sealedName))
	if errors.Is(err, store.ErrNotFound) {
		return false, false, nil
	}
	if err != nil {
		return false, false, err
	}
	if !use {
		return false, true, nil
	}
	type ref struct {
		site uint32
		id   uint32
	}
	pools := map[ref]*pool{}
	for _, ss := range st.sites {
		for _, p := range ss.pools {
			pools[ref{ss.id, p.cfg.ID}] = p
		}
	}
	t := now.UnixNano()
	var cur *pool
	seen := make(map[ref]bool, len(pools))
	check := func(h sealedPool) error {
		ss := st.sites[h.site]
		r := ref{h.site, h.id}
		cur = pools[r]
		if ss == nil || cur == nil || seen[r] || ss.cfg.Revision != h.revision || cur.live.Size() != h.size {
			return errStale
		}
		seen[r] = true
		return nil
	}
	_, lastID, err := walkSealed(b, check, func(l sealedLease) error {
		// The history holds no claim after now: a record with one was
		// sealed by a clock ahead of this one, and only the history can
		// tell which lease held the number at now.
		if l.since > t {
			return errStale
		}
		return nil
	})
	if err != nil || len(seen) != len(pools) || lastID != db.OpenedID() {
		return false, true, nil // stale or unreadable: the history has it all
	}
	_, _, err = walkSealed(b, func(h sealedPool) error {
		cur = pools[ref{h.site, h.id}]
		return nil
	}, func(l sealedLease) error {
		if l.until <= t {
			return nil
		}
		// A set-up's pool numbers are distinct: slot i is Numbers[i].
		return cur.live.RestoreSlot(l.slot, l.visitor, time.Unix(0, l.since), time.Unix(0, l.until))
	})
	if err != nil {
		return false, true, fmt.Errorf("restore sealed leases: %w", err)
	}
	return true, true, nil
}
