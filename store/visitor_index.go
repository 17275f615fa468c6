package store

import (
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

// Kinds of visitor items. Chats are to come (the chat issue adds its kind
// here, and the visitor card reads it like the others).
const (
	ItemSession  ItemKind = ItemKind(prefixSession)
	ItemLead     ItemKind = ItemKind(prefixLead)
	ItemCallback ItemKind = ItemKind(prefixCallback)
	ItemCall     ItemKind = ItemKind(prefixCall)
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
