package reports

import (
	"context"
	"encoding/binary"
	"fmt"

	"appliance/httpd/leads"
	"appliance/store"
)

// CountSpam takes lead or callback request id of site (kind store.MarkLead
// or store.MarkCallback) out of the reports when staff mark it spam (spam
// true), and puts it back when they take the mark off, in the write tx that
// stores the mark. Call it only when the record's spam-ness changes. It
// credits the sessions Compute credits: the visitor's as they were when the
// record was stored, so a later visit cannot move it to another source.
func (s *Service) CountSpam(ctx context.Context, tx *store.Tx, siteID uint32, kind store.MarkKind, id uint64, spam bool) error {
	site, err := s.sites.ByID(siteID)
	if err != nil {
		return fmt.Errorf("count spam: site %d: %w", siteID, err)
	}
	l := spamLedger{txLedger: txLedger{tx}, ctx: ctx, db: s.db, site: siteID, before: id, sign: 1}
	if spam {
		l.sign = -1
	}
	c := &counter{l: l, db: s.db, site: siteID, loc: s.sites.Location(site)}
	switch kind {
	case store.MarkLead:
		err = countRecord(tx, store.LeadKey(siteID, id), id, store.DecodeLead, c.lead)
	case store.MarkCallback:
		err = countRecord(tx, store.CallbackKey(siteID, id), id, store.DecodeCallback, c.callback)
	default:
		err = fmt.Errorf("mark kind %d", kind)
	}
	if err != nil {
		return fmt.Errorf("count spam: %w", err)
	}
	return nil
}

// countRecord reads record id under key in tx and counts it.
func countRecord[T any](tx *store.Tx, key []byte, id uint64, decode func(uint64, []byte) (T, error), count func(*T) error) error {
	b, err := tx.Get(key)
	if err != nil {
		return fmt.Errorf("record %d: %w", id, err)
	}
	r, err := decode(id, b)
	if err != nil {
		return fmt.Errorf("record %d: %w", id, err)
	}
	return count(&r)
}

// spamLedger counts a record again with its lanes' sign turned (sign -1:
// out of the reports). Its touch is the visitor's as of the record, from
// the visitor's sessions stored before it (their ids are smaller), as
// Compute replays it; it writes no touch.
type spamLedger struct {
	txLedger
	ctx    context.Context
	db     *store.DB
	site   uint32
	before uint64 // the record's id
	sign   int64
}

func (l spamLedger) add(key []byte, lanes *[numLanes]int64) {
	if l.sign < 0 {
		for i := range lanes {
			lanes[i] = -lanes[i]
		}
	}
	addLanes(l.tx, key, lanes)
}

func (l spamLedger) touch(visitor uint64) (store.Touch, bool, error) {
	var t store.Touch
	var derr error
	err := l.db.ScanPrefix(l.ctx, store.VisitorItemPrefix(visitor, store.ItemSession), false, 0, func(k, _ []byte) bool {
		id := binary.BigEndian.Uint64(k[len(k)-8:])
		if id >= l.before {
			return false
		}
		d, ok, err := l.sessionDims(l.site, id)
		if err != nil {
			derr = err
			return false
		}
		if !ok {
			return true // a bot's, or gone
		}
		if t.First == 0 {
			t.First = id
		}
		t.Last = id
		if !d.direct {
			t.LastNonDirect = id
		}
		return true
	})
	if err == nil {
		err = derr
	}
	if err != nil {
		return store.Touch{}, false, fmt.Errorf("sessions of visitor %d: %w", visitor, err)
	}
	return t, t.First != 0, nil
}

func (l spamLedger) setTouch(uint64, store.Touch) {}

// spamIDs are the ids of site's records of kind marked spam.
func spamIDs(ctx context.Context, db store.Reader, site uint32, kind store.MarkKind) (map[uint64]struct{}, error) {
	marks, err := leads.ReadMarks(ctx, db, site, kind)
	if err != nil {
		return nil, err
	}
	out := map[uint64]struct{}{}
	for id, m := range marks {
		if m.Status == leads.StatusSpam {
			out[id] = struct{}{}
		}
	}
	return out, nil
}
