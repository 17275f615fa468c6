package store

import (
	"encoding/binary"
	"fmt"
	"io"
)

// A session's tail: what a later hit of a session changes in its record
// (LastHit and Hits), written as a merge operand on the session's key
// instead of the whole record again. The record (user agent, landing page,
// referrer, campaign: about 250 bytes) is written once, when the session
// starts, and a hit that continues it adds a tail of a dozen bytes. A read
// of the key (Get, a scan) sees one record: the merger lays the tails'
// latest LastHit and Hits over the record's, so no reader of sessions
// knows of tails. An operand is a tail when its first byte is
// sessionTailTag, which no session version uses; otherwise it is a whole
// record (a Set, the oldest of the key's operands). Tails merge by the
// larger of each field, in any order, and a record written whole later
// (an event's) holds the tails before it. A tail whose record is gone (a
// session deleted, then continued by a hit that raced the delete) merges
// into nothing: compactions drop it and reads do not see it.
const sessionTailTag byte = 0xfe

// ContinueSession writes s's LastHit and Hits into its stored record
// (SessionKey(site, s.ID)), which must exist: a hit that continues a
// session. It writes only those two fields, as a merge operand.
func (t *Tx) ContinueSession(site uint32, s *Session) {
	var kb [13]byte
	var vb [1 + 2*binary.MaxVarintLen64]byte
	b := append(vb[:0], sessionTailTag)
	b = binary.AppendVarint(b, s.LastHit)
	b = binary.AppendUvarint(b, uint64(s.Hits))
	k := binary.BigEndian.AppendUint32(append(kb[:0], prefixSession), site)
	_ = t.own.Merge(binary.BigEndian.AppendUint64(k, s.ID), b, nil)
}

// isSessionKey reports whether key is a SessionKey.
func isSessionKey(key []byte) bool { return len(key) == 13 && key[0] == prefixSession }

// sessionValue merges a session key's operands: the record, if reached,
// and the tails over it.
type sessionValue struct {
	record  []byte // the whole record (a copy); nil: not reached (yet)
	tails   bool   // a tail was merged
	lastHit int64
	hits    uint64
}

func (s *sessionValue) add(v []byte, newer bool) error {
	if len(v) == 0 || v[0] != sessionTailTag {
		// A whole record. Pebble hands the Set under the tails last,
		// as the oldest; a newer whole one replaces the older.
		if s.record == nil || newer {
			s.record = append(s.record[:0], v...)
		}
		return nil
	}
	lastHit, n := binary.Varint(v[1:])
	if n <= 0 {
		return fmt.Errorf("%w: session tail", ErrCorrupt)
	}
	hits, m := binary.Uvarint(v[1+n:])
	if m <= 0 || 1+n+m != len(v) {
		return fmt.Errorf("%w: session tail", ErrCorrupt)
	}
	if !s.tails {
		s.lastHit, s.hits, s.tails = lastHit, hits, true
		return nil
	}
	s.lastHit, s.hits = max(s.lastHit, lastHit), max(s.hits, hits)
	return nil
}

func (s *sessionValue) MergeNewer(v []byte) error { return s.add(v, true) }
func (s *sessionValue) MergeOlder(v []byte) error { return s.add(v, false) }

func (s *sessionValue) Finish(includesBase bool) ([]byte, io.Closer, error) {
	v, _, c, err := s.DeletableFinish(includesBase)
	return v, c, err
}

// DeletableFinish is the record with the tails laid over it; the merged
// tail when the record was not reached (a compaction of newer operands
// only); nothing when the record is known to be gone (deleted).
func (s *sessionValue) DeletableFinish(includesBase bool) ([]byte, bool, io.Closer, error) {
	switch {
	case s.record != nil && s.tails:
		return applySessionTail(s.record, s.lastHit, s.hits), false, nil, nil
	case s.record != nil:
		return s.record, false, nil, nil
	case includesBase:
		return nil, true, nil, nil
	}
	b := append(make([]byte, 0, 1+2*binary.MaxVarintLen64), sessionTailTag)
	b = binary.AppendVarint(b, s.lastHit)
	return binary.AppendUvarint(b, s.hits), false, nil, nil
}

// applySessionTail is the encoded session rec with LastHit and Hits
// raised to lastHit and hits (each left when larger already). A record it
// cannot read is left as it is, for its reader to report.
func applySessionTail(rec []byte, lastHit int64, hits uint64) []byte {
	if len(rec) == 0 || rec[0] != sessionVersion {
		return rec
	}
	i := 1
	for range 3 { // ID, Visitor, Started
		_, n := binary.Uvarint(rec[i:]) // a varint's length reads as a uvarint's
		if n <= 0 {
			return rec
		}
		i += n
	}
	head := i
	old, n := binary.Varint(rec[i:])
	if n <= 0 {
		return rec
	}
	i += n
	oldHits, m := binary.Uvarint(rec[i:])
	if m <= 0 {
		return rec
	}
	i += m
	out := make([]byte, 0, len(rec)+2*binary.MaxVarintLen64)
	out = append(out, rec[:head]...)
	out = binary.AppendVarint(out, max(old, lastHit))
	out = binary.AppendUvarint(out, min(max(oldHits, hits), 1<<32-1))
	return append(out, rec[i:]...)
}
