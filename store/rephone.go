package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
)

// phoneRereadVersion names what RereadPhones has done; MetaKey
// "phone-reread" holds it once done.
const phoneRereadVersion = 1

// rereadBatch is how many rewritten records one write of RereadPhones
// holds.
const rereadBatch = 1000

// RereadPhone decides a stored phone number's digits under the phone rule
// of now: given the site, the digits stored (E.164 without "+"; "" when
// the number did not parse) and the number as typed ("" when the record
// did not keep it), it returns the digits to store instead and true, or
// false to leave the number as it is. It must be a pure function of its
// arguments: RereadPhones calls it again, in the write, for a record
// changed since it was read.
type RereadPhone func(site uint32, digits, typed string) (string, bool)

// PhonesReread counts what RereadPhones read and rewrote.
type PhonesReread struct {
	Read                       int // leads, callbacks and visitors read
	Leads, Callbacks, Visitors int // rewritten with another number
}

// RereadPhones gives the phone numbers stored before the phone rule
// changed the reading reread decides, once per store (MetaKey
// "phone-reread"; a new store is marked at its first start): each lead's
// and callback's number is reread from its digits and the text as typed,
// each of a visitor's numbers from its digits and each number kept as
// typed (PhonesTyped) from its text. A record reread changes is rewritten
// with the new digits (a lead's PhoneUnparsed cleared; a visitor's typed
// number joins its Phones, deduplicated), its contact index entry with
// it, and the phone index names its visitor under the new digits unless a
// later visitor left them (the entry under the old digits, which no call
// comes from, stays); the change is exported (Tx.Export at now) as any
// change of the record is. Nothing else moves: a callback keeps its state
// (one kept for staff is not handed to a scenario), a call its attribution.
//
// The server runs it as it starts, before it serves. It reads every lead,
// callback and visitor once and writes rereadBatch records at a time,
// each batch durable and whole (the record, its index entries and export
// mark together): each record is read again in the write, and decided
// anew if it changed since the scan, so a change written meanwhile is not
// lost, and a run cut short
// (a crash) leaves the records rewritten so far, which reread no longer
// changes, for the next start to go on from. A record that does not
// decode is left as it is (its family's readers say so).
func (d *DB) RereadPhones(ctx context.Context, now int64, reread RereadPhone) (PhonesReread, error) {
	var st PhonesReread
	if done, err := d.indexBuilt("phone-reread"); done || err != nil {
		if err != nil {
			return st, fmt.Errorf("reread phones: %w", err)
		}
		return st, nil
	}
	type queued struct {
		key, value []byte // as the scan read it
		r          rephoned
	}
	var batch []queued
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		var n PhonesReread
		err := d.Update(ctx, func(tx *Tx) error {
			n = PhonesReread{}
			left := map[string]PhoneVisitor{} // phone index entries this write sets
			for _, q := range batch {
				k, r := q.key, q.r
				b, err := tx.Get(k)
				if errors.Is(err, ErrNotFound) {
					continue // pruned meanwhile
				}
				if err != nil {
					return err
				}
				if !bytes.Equal(b, q.value) { // changed since the scan: decided anew
					var ok bool
					if r, ok = rereadRecord(k, b, reread); !ok {
						continue
					}
				}
				tx.Set(k, r.value)
				tx.Export(k, now)
				switch k[0] {
				case prefixLead:
					n.Leads++
				case prefixCallback:
					n.Callbacks++
				case prefixVisitor:
					n.Visitors++
					IndexContacts(tx, r.visitor)
				}
				for _, phone := range r.phones {
					if phone == "" || len(phone) > MaxIndexedPhone || r.left.Visitor == 0 {
						continue
					}
					pk := PhoneVisitorKey(r.site, phone)
					if p, ok := left[string(pk)]; ok && p.Time > r.left.Time {
						continue
					}
					if ok, err := laterPhone(tx, pk, r.left.Time); err != nil || ok {
						if err != nil {
							return err
						}
						continue
					}
					left[string(pk)] = r.left
					IndexPhone(tx, r.site, phone, r.left)
				}
			}
			return nil
		})
		batch = batch[:0]
		if err != nil {
			return err
		}
		st.Leads += n.Leads
		st.Callbacks += n.Callbacks
		st.Visitors += n.Visitors
		return nil
	}
	var werr error
	for _, f := range []byte{prefixLead, prefixCallback, prefixVisitor} {
		err := d.ScanPrefix(ctx, []byte{f}, false, 0, func(k, v []byte) bool {
			st.Read++
			if r, ok := rereadRecord(k, v, reread); ok {
				batch = append(batch, queued{slices.Clone(k), slices.Clone(v), r})
				if len(batch) >= rereadBatch {
					werr = flush()
				}
			}
			return werr == nil
		})
		if err == nil {
			err = werr
		}
		if err != nil {
			return st, fmt.Errorf("reread phones: %w", err)
		}
	}
	if err := flush(); err != nil {
		return st, fmt.Errorf("reread phones: %w", err)
	}
	if err := d.Set(ctx, MetaKey("phone-reread"), []byte{phoneRereadVersion}); err != nil {
		return st, fmt.Errorf("reread phones: %w", err)
	}
	return st, nil
}

// laterPhone reports whether the phone index entry under key names a
// visitor who left the number after at.
func laterPhone(tx *Tx, key []byte, at int64) (bool, error) {
	b, err := tx.Get(key)
	if errors.Is(err, ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	p, err := DecodePhoneVisitor(b)
	return err == nil && p.Time > at, nil
}

// rephoned is a record RereadPhones rewrites.
type rephoned struct {
	value   []byte       // the record's new encoding
	site    uint32       // its site
	phones  []string     // the numbers it now has that it did not
	left    PhoneVisitor // who left them, when
	visitor *Visitor     // the visitor rewritten; nil for a lead or a callback
}

// rereadRecord rereads the phone numbers of the lead, callback or visitor
// stored as b under k; ok is false when none changes or b does not decode.
func rereadRecord(k, b []byte, reread RereadPhone) (r rephoned, ok bool) {
	switch k[0] {
	case prefixLead, prefixCallback:
		ref, ok := ParseRecordKey(k)
		if !ok {
			return r, false
		}
		r.site = ref.Site
		if k[0] == prefixLead {
			l, err := DecodeLead(ref.ID, b)
			if err != nil || l.PhoneRaw == "" {
				return r, false
			}
			digits, ok := reread(ref.Site, l.Phone, l.PhoneRaw)
			if !ok || digits == l.Phone {
				return r, false
			}
			l.Phone, l.PhoneUnparsed = digits, false
			r.value, r.phones = l.Encode(), []string{digits}
			r.left = PhoneVisitor{Visitor: l.Visitor, Session: l.Session, Time: l.Time}
			return r, true
		}
		c, err := DecodeCallback(ref.ID, b)
		if err != nil || c.PhoneRaw == "" {
			return r, false
		}
		digits, ok := reread(ref.Site, c.Phone, c.PhoneRaw)
		if !ok || digits == c.Phone {
			return r, false
		}
		c.Phone = digits
		r.value, r.phones = c.Encode(), []string{digits}
		r.left = PhoneVisitor{Visitor: c.Visitor, Session: c.Session, Time: c.Time}
		return r, true
	case prefixVisitor:
		v, err := DecodeVisitor(b)
		if err != nil || len(v.Phones)+len(v.PhonesTyped) == 0 {
			return r, false
		}
		var phones, typed, added []string
		for _, p := range v.Phones {
			if d, ok := reread(v.Site, p, ""); ok && d != p {
				p = d
				added = append(added, d)
			}
			if !slices.Contains(phones, p) {
				phones = append(phones, p)
			}
		}
		for _, t := range v.PhonesTyped {
			d, ok := reread(v.Site, "", t)
			if !ok || d == "" {
				typed = append(typed, t)
				continue
			}
			added = append(added, d)
			if !slices.Contains(phones, d) {
				phones = append(phones, d)
			}
		}
		if len(added) == 0 {
			return r, false
		}
		v.Phones, v.PhonesTyped = phones, typed
		r.value, r.site, r.phones, r.visitor = v.Encode(), v.Site, added, &v
		// When a visitor left their contacts is not kept: their last
		// visit stands for it, as IndexVisitors has it.
		r.left = PhoneVisitor{Visitor: v.ID, Time: v.LastSeen}
		return r, true
	}
	return r, false
}
