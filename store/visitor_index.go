package store

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
)

// The per-visitor indexes: what a visitor did (prefixVisitorItem) and
// which visitor left a phone number (prefixPhoneVisitor). Domain writes
// add to them in the durable write of the record they name, with
// IndexVisitorItem and IndexPhone.

// ItemKind names what a visitor-item index entry points at; the byte is
// the prefix of the family its record lives in.
type ItemKind byte

// Kinds of visitor items.
const (
	ItemSession  ItemKind = ItemKind(prefixSession)
	ItemLead     ItemKind = ItemKind(prefixLead)
	ItemCallback ItemKind = ItemKind(prefixCallback)
	ItemCall     ItemKind = ItemKind(prefixCall)
	ItemChat     ItemKind = ItemKind(prefixChat)
)

// VisitorItemKey is the key of the index entry of item id of kind of a
// visitor.
func VisitorItemKey(visitor uint64, kind ItemKind, id uint64) []byte {
	b := binary.BigEndian.AppendUint64(key1(prefixVisitorItem, 17), visitor)
	b = append(b, byte(kind))
	return binary.BigEndian.AppendUint64(b, id)
}

// VisitorItemPrefix is the key prefix of a visitor's index entries of
// kind.
func VisitorItemPrefix(visitor uint64, kind ItemKind) []byte {
	b := binary.BigEndian.AppendUint64(key1(prefixVisitorItem, 9), visitor)
	return append(b, byte(kind))
}

// IndexVisitorItem adds item id of kind to visitor's index within tx.
// Visitor 0 (nobody) is not indexed.
func IndexVisitorItem(tx *Tx, visitor uint64, kind ItemKind, id uint64) {
	if visitor != 0 {
		tx.Set(VisitorItemKey(visitor, kind, id), nil)
	}
}

// LatestVisitorItems is the ids of visitor's latest n items of kind,
// newest first, as tx's group sees the index (Tx.ScanPrefix): what a
// write reads to tell whether a record repeats one the visitor just left.
func LatestVisitorItems(tx *Tx, visitor uint64, kind ItemKind, n int) ([]uint64, error) {
	var ids []uint64
	err := tx.ScanPrefix(VisitorItemPrefix(visitor, kind), true, n, func(k, _ []byte) bool {
		if id, ok := IDFromKey(k); ok {
			ids = append(ids, id)
		}
		return true
	})
	return ids, err
}

// MaxIndexedPhone is the longest phone number the phone index keys.
const MaxIndexedPhone = 32

// PhoneVisitorKey is the key of the phone index entry of phone (E.164
// digits, at most MaxIndexedPhone) on site.
func PhoneVisitorKey(site uint32, phone string) []byte {
	b := binary.BigEndian.AppendUint32(key1(prefixPhoneVisitor, 5+len(phone)), site)
	b = append(b, byte(len(phone)))
	return append(b, phone...)
}

// PhoneVisitor is the visitor who last left a phone number on a site.
type PhoneVisitor struct {
	Visitor uint64
	Session uint64 // the session they left it in; 0 when not known
	Time    int64  // when they left it
}

const phoneVisitorVersion = 1

// Encode returns the versioned encoding of p.
func (p *PhoneVisitor) Encode() []byte {
	e := newEncoder(phoneVisitorVersion, 24)
	e.uint(p.Visitor)
	e.uint(p.Session)
	e.int(p.Time)
	return e.b
}

// DecodePhoneVisitor decodes a PhoneVisitor.
func DecodePhoneVisitor(b []byte) (PhoneVisitor, error) {
	d, _ := newDecoder(b, "phone visitor", phoneVisitorVersion)
	p := PhoneVisitor{Visitor: d.uint(), Session: d.uint(), Time: d.int()}
	return p, d.done()
}

// IndexPhone records within tx that p.Visitor left phone (E.164 digits)
// on site: a later call from it is theirs. The latest visitor to leave a
// number is the one it names. An empty, overlong or visitor-less phone is
// not indexed.
func IndexPhone(tx *Tx, site uint32, phone string, p PhoneVisitor) {
	if phone == "" || len(phone) > MaxIndexedPhone || p.Visitor == 0 {
		return
	}
	tx.Set(PhoneVisitorKey(site, phone), p.Encode())
}

// LookupPhone returns the visitor who last left phone on site; ok is false
// when nobody did.
func (d *DB) LookupPhone(site uint32, phone string) (p PhoneVisitor, ok bool, err error) {
	if phone == "" || len(phone) > MaxIndexedPhone {
		return p, false, nil
	}
	b, err := d.Get(PhoneVisitorKey(site, phone))
	if errors.Is(err, ErrNotFound) {
		return p, false, nil
	}
	if err != nil {
		return p, false, fmt.Errorf("look up phone: %w", err)
	}
	if p, err = DecodePhoneVisitor(b); err != nil {
		return p, false, fmt.Errorf("look up phone: %w", err)
	}
	return p, true, nil
}

// visitorIndexVersion names what IndexVisitors has built; MetaKey
// "visitor-index" holds it once built.
const visitorIndexVersion = 1

// indexBatch is how many index entries one write of IndexVisitors or
// IndexCallStarts holds.
const indexBatch = 10_000

// indexBuilt reports whether the one-time index build named name (its
// MetaKey) has run on this store.
func (d *DB) indexBuilt(name string) (bool, error) {
	_, err := d.Get(MetaKey(name))
	if errors.Is(err, ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

// indexWriter writes the entries (keys without a value) a one-time index
// build finds, indexBatch at a time; after a failed write it writes
// nothing more and err says why.
type indexWriter struct {
	d    *DB
	ctx  context.Context
	keys [][]byte
	err  error
}

// add queues key, writing the queue when it is full.
func (w *indexWriter) add(key []byte) {
	w.keys = append(w.keys, key)
	if len(w.keys) >= indexBatch {
		w.flush()
	}
}

// flush writes what is queued and returns w.err.
func (w *indexWriter) flush() error {
	if w.err != nil || len(w.keys) == 0 {
		return w.err
	}
	w.err = w.d.Update(w.ctx, func(tx *Tx) error {
		for _, k := range w.keys {
			tx.Set(k, nil)
		}
		return nil
	})
	w.keys = w.keys[:0]
	return w.err
}

// IndexVisitors builds the visitor-item and phone indexes of the records
// written before they existed, once per store: every session, lead,
// callback, call and chat with a visitor gets its entry, and each phone a lead,
// a callback or a visitor's contacts hold, and the index does not, names
// the visitor who left it last (a visitor's contacts count as left at
// their last visit). The server runs it as it starts, before it serves.
// It marks the store done (MetaKey "visitor-index"), a new store at its
// first start: every record written since carries its own entries, and
// the scan of a grown store is not repeated (it read every record: on a
// store of 400,000 hits the server's start took 0.96 s instead of 0.51
// and its RSS was 124 MB instead of 67, TestPoolLoad's second round at
// 400,000 hits a round, the block cache filled by the scan, its peak at
// load 144 MB instead of 101). The entries are written indexBatch at a
// time as the scan finds them. A record that does not decode is left out
// (its family's readers say so).
func (d *DB) IndexVisitors(ctx context.Context) error {
	if built, err := d.indexBuilt("visitor-index"); built || err != nil {
		if err != nil {
			return fmt.Errorf("index visitors: %w", err)
		}
		return nil
	}
	items := &indexWriter{d: d, ctx: ctx}
	type phoneKey struct {
		site  uint32
		phone string
	}
	phones := map[phoneKey]PhoneVisitor{}
	leftPhone := func(site uint32, phone string, p PhoneVisitor) {
		k := phoneKey{site, phone}
		if old, ok := phones[k]; !ok || p.Time >= old.Time {
			phones[k] = p
		}
	}
	item := func(visitor uint64, kind ItemKind, id uint64) {
		if visitor != 0 {
			items.add(VisitorItemKey(visitor, kind, id))
		}
	}
	for _, f := range []byte{prefixSession, prefixLead, prefixCallback, prefixCall, prefixChat, prefixVisitor} {
		err := d.ScanPrefix(ctx, []byte{f}, false, 0, func(k, v []byte) bool {
			if items.err != nil {
				return false
			}
			id, ok := IDFromKey(k)
			if !ok && f != prefixVisitor {
				return true
			}
			var site uint32
			if len(k) >= 5 {
				site = binary.BigEndian.Uint32(k[1:5])
			}
			switch f {
			case prefixSession:
				if s, err := DecodeSession(v); err == nil {
					item(s.Visitor, ItemSession, id)
				}
			case prefixLead:
				if l, err := DecodeLead(id, v); err == nil {
					item(l.Visitor, ItemLead, id)
					if l.Phone != "" && l.Visitor != 0 {
						leftPhone(site, l.Phone, PhoneVisitor{Visitor: l.Visitor, Session: l.Session, Time: l.Time})
					}
				}
			case prefixCallback:
				if c, err := DecodeCallback(id, v); err == nil {
					item(c.Visitor, ItemCallback, id)
					if c.Phone != "" && c.Visitor != 0 {
						leftPhone(site, c.Phone, PhoneVisitor{Visitor: c.Visitor, Session: c.Session, Time: c.Time})
					}
				}
			case prefixCall:
				if c, err := DecodeCall(id, v); err == nil {
					item(c.Visitor, ItemCall, id)
				}
			case prefixChat:
				if c, err := DecodeChat(site, id, v); err == nil {
					item(c.Visitor, ItemChat, id)
				}
			case prefixVisitor:
				// When a visitor left their contacts is not kept: their
				// last visit stands for it.
				if vr, err := DecodeVisitor(v); err == nil {
					for _, p := range vr.Phones {
						leftPhone(vr.Site, p, PhoneVisitor{Visitor: vr.ID, Time: vr.LastSeen})
					}
				}
			}
			return true
		})
		if err == nil {
			err = items.err
		}
		if err != nil {
			return fmt.Errorf("index visitors: %w", err)
		}
	}
	if err := items.flush(); err != nil {
		return fmt.Errorf("index visitors: %w", err)
	}
	// A phone the index has was indexed as it was left, by the latest
	// visitor to leave it: that stands.
	for k := range phones {
		if _, err := d.Get(PhoneVisitorKey(k.site, k.phone)); err == nil {
			delete(phones, k)
		} else if !errors.Is(err, ErrNotFound) {
			return fmt.Errorf("index visitors: %w", err)
		}
	}
	for len(phones) > 0 {
		err := d.Update(ctx, func(tx *Tx) error {
			n := 0
			for k, p := range phones {
				if n >= indexBatch {
					break
				}
				IndexPhone(tx, k.site, k.phone, p)
				delete(phones, k)
				n++
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("index visitors: %w", err)
		}
	}
	if err := d.Set(ctx, MetaKey("visitor-index"), []byte{visitorIndexVersion}); err != nil {
		return fmt.Errorf("index visitors: %w", err)
	}
	return nil
}

// MaxIndexedEmail is the longest email the email index keys.
const MaxIndexedEmail = 255

// EmailVisitorPrefix is the key prefix of the visitors of site who gave
// email (lower case, at most MaxIndexedEmail bytes).
func EmailVisitorPrefix(site uint32, email string) []byte {
	b := binary.BigEndian.AppendUint32(key1(prefixEmailVisitor, 5+len(email)+8), site)
	b = append(b, byte(len(email)))
	return append(b, email...)
}

// EmailVisitorKey is the key of the email index entry of visitor, who
// gave email on site.
func EmailVisitorKey(site uint32, email string, visitor uint64) []byte {
	return binary.BigEndian.AppendUint64(EmailVisitorPrefix(site, email), visitor)
}

// IndexEmail records within tx that visitor gave email (lower case) as
// their contact on site. An empty or overlong email, or visitor 0, is not
// indexed.
func IndexEmail(tx *Tx, site uint32, email string, visitor uint64) {
	if email == "" || len(email) > MaxIndexedEmail || visitor == 0 {
		return
	}
	tx.Set(EmailVisitorKey(site, email, visitor), nil)
}

// EmailVisitors calls fn with each visitor of site who gave email (lower
// case) as their contact, in id order, until fn returns false.
func (d *DB) EmailVisitors(ctx context.Context, site uint32, email string, fn func(visitor uint64) bool) error {
	if email == "" || len(email) > MaxIndexedEmail {
		return nil
	}
	prefix := EmailVisitorPrefix(site, email)
	err := d.ScanPrefix(ctx, prefix, false, 0, func(k, _ []byte) bool {
		if len(k) != len(prefix)+8 {
			return true
		}
		return fn(binary.BigEndian.Uint64(k[len(prefix):]))
	})
	if err != nil {
		return fmt.Errorf("visitors by email: %w", err)
	}
	return nil
}

// IndexVisitorEmails builds the email index of the visitors stored before
// it existed, once per store (MetaKey "email-index"; a new store is marked
// at its first start): each email of a visitor's contacts gets its entry.
// The server runs it as it starts, before it serves; it reads every
// visitor record once.
func (d *DB) IndexVisitorEmails(ctx context.Context) error {
	if built, err := d.indexBuilt("email-index"); built || err != nil {
		if err != nil {
			return fmt.Errorf("index visitor emails: %w", err)
		}
		return nil
	}
	w := &indexWriter{d: d, ctx: ctx}
	err := d.ScanPrefix(ctx, []byte{prefixVisitor}, false, 0, func(_, v []byte) bool {
		if vr, err := DecodeVisitor(v); err == nil {
			for _, e := range vr.Emails {
				if e != "" && len(e) <= MaxIndexedEmail {
					w.add(EmailVisitorKey(vr.Site, e, vr.ID))
				}
			}
		}
		return w.err == nil
	})
	if err == nil {
		err = w.flush()
	}
	if err == nil {
		err = d.Set(ctx, MetaKey("email-index"), []byte{1})
	}
	if err != nil {
		return fmt.Errorf("index visitor emails: %w", err)
	}
	return nil
}

// Contacts is what a visitor told of themselves through addVisitorInfo
// (or /vc/s/), as their visitor record holds it: the record of the
// contact index (prefixVisitorContact).
type Contacts struct {
	Name                     string
	Phones, Emails           []string // E.164 digits; lower case
	PhonesTyped, EmailsTyped []string // as typed, where they did not parse
}

// Contacts is what v told of themselves.
func (v *Visitor) Contacts() Contacts {
	return Contacts{Name: v.Name, Phones: v.Phones, Emails: v.Emails, PhonesTyped: v.PhonesTyped, EmailsTyped: v.EmailsTyped}
}

// Empty reports whether c tells nothing.
func (c *Contacts) Empty() bool {
	return c.Name == "" && len(c.Phones) == 0 && len(c.Emails) == 0 && len(c.PhonesTyped) == 0 && len(c.EmailsTyped) == 0
}

const contactsVersion = 1

// Encode returns the versioned encoding of c: its strings as their bytes
// (the site's search sieves the encodings for a query's bytes).
func (c *Contacts) Encode() []byte {
	e := newEncoder(contactsVersion, 64+len(c.Name))
	e.str(c.Name)
	e.strs(c.Phones)
	e.strs(c.Emails)
	e.strs(c.PhonesTyped)
	e.strs(c.EmailsTyped)
	return e.b
}

// DecodeContacts decodes Contacts.
func DecodeContacts(b []byte) (Contacts, error) {
	d, _ := newDecoder(b, "contacts", contactsVersion)
	c := Contacts{Name: d.str(), Phones: d.strs(), Emails: d.strs(), PhonesTyped: d.strs(), EmailsTyped: d.strs()}
	return c, d.done()
}

// VisitorContactKey is the key of the contacts of visitor on site.
func VisitorContactKey(site uint32, visitor uint64) []byte {
	return siteIDKey(prefixVisitorContact, site, visitor)
}

// VisitorContactPrefix is the key prefix of the contacts of site's
// visitors, in visitor id order (the order they first came).
func VisitorContactPrefix(site uint32) []byte { return sitePrefix(prefixVisitorContact, site) }

// IndexContacts writes within tx the contact index entry of v, whose
// record tx writes: its contacts, none when it has none.
func IndexContacts(tx *Tx, v *Visitor) {
	if c := v.Contacts(); !c.Empty() {
		tx.Set(VisitorContactKey(v.Site, v.ID), c.Encode())
	}
}

// IndexVisitorContacts builds the contact index of the visitors stored
// before it existed, once per store (MetaKey "contact-index"; a new store
// is marked at its first start): each visitor with contacts gets its
// entry. The server runs it as it starts, before it serves; it reads
// every visitor record once.
func (d *DB) IndexVisitorContacts(ctx context.Context) error {
	if built, err := d.indexBuilt("contact-index"); built || err != nil {
		if err != nil {
			return fmt.Errorf("index visitor contacts: %w", err)
		}
		return nil
	}
	type entry struct{ k, v []byte }
	var batch []entry
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		err := d.Update(ctx, func(tx *Tx) error {
			for _, e := range batch {
				tx.Set(e.k, e.v)
			}
			return nil
		})
		batch = batch[:0]
		return err
	}
	var werr error
	err := d.ScanPrefix(ctx, []byte{prefixVisitor}, false, 0, func(_, b []byte) bool {
		v, err := DecodeVisitor(b)
		if err != nil {
			return true // the visitor card's reader says so
		}
		if c := v.Contacts(); !c.Empty() {
			batch = append(batch, entry{VisitorContactKey(v.Site, v.ID), c.Encode()})
			if len(batch) >= indexBatch {
				werr = flush()
			}
		}
		return werr == nil
	})
	if err = errors.Join(err, werr); err == nil {
		err = flush()
	}
	if err == nil {
		err = d.Set(ctx, MetaKey("contact-index"), []byte{1})
	}
	if err != nil {
		return fmt.Errorf("index visitor contacts: %w", err)
	}
	return nil
}
