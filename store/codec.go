package store

import (
	"encoding/binary"
	"fmt"
	"unicode/utf8"
	"unsafe"
)

// Record encodings are explicit: a leading version byte, then fields in a
// fixed order as uvarints, zig-zag varints, bools and length-prefixed
// strings. A decoder rejects unknown versions, truncation and trailing bytes,
// so a corrupt value is an error, never a half-filled record.

type encoder struct{ b []byte }

func newEncoder(version byte, sizeHint int) *encoder {
	e := &encoder{b: make([]byte, 1, 1+sizeHint)}
	e.b[0] = version
	return e
}

func (e *encoder) uint(v uint64) { e.b = binary.AppendUvarint(e.b, v) }
func (e *encoder) int(v int64)   { e.b = binary.AppendVarint(e.b, v) }
func (e *encoder) bool(v bool) {
	if v {
		e.b = append(e.b, 1)
	} else {
		e.b = append(e.b, 0)
	}
}
func (e *encoder) str(s string) {
	e.b = binary.AppendUvarint(e.b, uint64(len(s)))
	e.b = append(e.b, s...)
}
func (e *encoder) bytes(s []byte) {
	e.b = binary.AppendUvarint(e.b, uint64(len(s)))
	e.b = append(e.b, s...)
}
func (e *encoder) strs(ss []string) {
	e.uint(uint64(len(ss)))
	for _, s := range ss {
		e.str(s)
	}
}

// appendStr and appendBool are encoder's str and bool on a slice.
func appendStr(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func appendBool(b []byte, v bool) []byte {
	if v {
		return append(b, 1)
	}
	return append(b, 0)
}

type decoder struct {
	b   []byte
	err error
	// view makes str return strings that alias b rather than copies:
	// for the *View decoders, whose caller is done with the record
	// before b changes.
	view bool
}

// newDecoder checks the version byte against the versions the caller knows.
// It returns the decoder by value, so that it lives on the caller's stack
// (returned by pointer, every decode allocated one).
func newDecoder(b []byte, kind string, maxVersion byte) (decoder, byte) {
	d := decoder{b: b}
	if len(b) == 0 {
		d.fail(kind + ": empty")
		return d, 0
	}
	v := b[0]
	if v == 0 || v > maxVersion {
		d.fail(fmt.Sprintf("%s: unknown version %d", kind, v))
		return d, v
	}
	d.b = b[1:]
	return d, v
}

func (d *decoder) fail(msg string) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: %s", ErrCorrupt, msg)
	}
	d.b = nil
}

func (d *decoder) uint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 || (n > 1 && d.b[n-1] == 0) {
		// A final zero byte pads the value: Encode never writes it, and
		// accepting it would give one record two encodings.
		d.fail("bad uvarint")
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) int() int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.b)
	if n <= 0 || (n > 1 && d.b[n-1] == 0) {
		d.fail("bad varint")
		return 0
	}
	d.b = d.b[n:]
	return v
}

// uint32 reads a uvarint that must fit in 32 bits.
func (d *decoder) uint32(field string) uint32 {
	v := d.uint()
	if v > 1<<32-1 {
		d.fail(field + " out of range")
		return 0
	}
	return uint32(v)
}

func (d *decoder) bool() bool {
	if d.err != nil {
		return false
	}
	if len(d.b) < 1 || d.b[0] > 1 {
		d.fail("bad bool")
		return false
	}
	v := d.b[0] == 1
	d.b = d.b[1:]
	return v
}

func (d *decoder) raw() []byte {
	n := d.uint()
	if d.err != nil {
		return nil
	}
	if n > uint64(len(d.b)) {
		d.fail("short string")
		return nil
	}
	v := d.b[:n]
	d.b = d.b[n:]
	return v
}

func (d *decoder) str() string {
	v := d.raw()
	if d.err == nil && !utf8.Valid(v) {
		d.fail("invalid utf-8")
		return ""
	}
	if d.view && len(v) > 0 {
		return unsafe.String(&v[0], len(v))
	}
	return string(v)
}

func (d *decoder) bytes() []byte {
	v := d.raw()
	if d.err != nil {
		return nil
	}
	return append([]byte(nil), v...)
}

func (d *decoder) strs() []string {
	n := d.uint()
	if d.err != nil {
		return nil
	}
	if n > uint64(len(d.b)) { // each string takes at least one byte
		d.fail("bad count")
		return nil
	}
	ss := make([]string, 0, min(n, 1<<13))
	for i := uint64(0); i < n && d.err == nil; i++ {
		ss = append(ss, d.str())
	}
	if n == 0 {
		return nil
	}
	return ss
}

// done reports the first error, or one for trailing bytes.
func (d *decoder) done() error {
	if d.err == nil && len(d.b) != 0 {
		d.fail("trailing bytes")
	}
	return d.err
}
