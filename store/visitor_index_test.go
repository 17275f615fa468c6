package store

import (
	"bytes"
	"context"
	"testing"
)

func init() {
	codecs = append(codecs,
		codec{"phone visitor", func(b []byte) (any, error) { return DecodePhoneVisitor(b) }, func(r any) []byte { p := r.(PhoneVisitor); return p.Encode() }},
	)
	samples["phone visitor"] = []any{
		PhoneVisitor{},
		PhoneVisitor{Visitor: 1<<53 - 1, Session: 7, Time: 1700000000000},
		PhoneVisitor{Visitor: 1<<64 - 1, Session: 1<<64 - 1, Time: -1 << 63},
	}
}

func TestVisitorItemKeys(t *testing.T) {
	// A visitor's items of one kind are one range in id order, apart from
	// their other kinds and from the next visitor's.
	keys := [][]byte{
		VisitorItemKey(1, ItemLead, 1<<60),
		VisitorItemKey(1, ItemCallback, 0),
		VisitorItemKey(1, ItemCallback, 1<<63),
		VisitorItemKey(1, ItemSession, 3),
		VisitorItemKey(1, ItemSession, 4),
		VisitorItemKey(2, ItemLead, 0),
	}
	for i := 1; i < len(keys); i++ {
		if bytes.Compare(keys[i-1], keys[i]) >= 0 {
			t.Errorf("key %d %x not below key %d %x", i-1, keys[i-1], i, keys[i])
		}
	}
	p := VisitorItemPrefix(1, ItemSession)
	for i, k := range keys {
		if got, want := bytes.HasPrefix(k, p), i == 3 || i == 4; got != want {
			t.Errorf("key %d %x in the range of visitor 1's sessions: %v, want %v", i, k, got, want)
		}
	}
	// One phone's key is not the prefix of a longer phone's.
	if bytes.HasPrefix(PhoneVisitorKey(1, "791612345678"), PhoneVisitorKey(1, "79161234567")) {
		t.Error("phone keys share a prefix")
	}
}

// The phone index names the last visitor to leave a number on a site, and
// only on that site.
func TestIndexPhone(t *testing.T) {
	db := openTest(t)
	ctx := context.Background()
	put := func(site uint32, phone string, p PhoneVisitor) {
		t.Helper()
		if err := db.Update(ctx, func(tx *Tx) error { IndexPhone(tx, site, phone, p); return nil }); err != nil {
			t.Fatal(err)
		}
	}
	put(1, "79161234567", PhoneVisitor{Visitor: 10, Session: 11, Time: 1})
	put(1, "79161234567", PhoneVisitor{Visitor: 20, Session: 21, Time: 2})
	put(1, "", PhoneVisitor{Visitor: 30})
	put(1, "79990000000", PhoneVisitor{})
	for _, tt := range []struct {
		site  uint32
		phone string
		want  uint64
	}{{1, "79161234567", 20}, {2, "79161234567", 0}, {1, "7916123456", 0}, {1, "", 0}, {1, "79990000000", 0}} {
		p, ok, err := db.LookupPhone(tt.site, tt.phone)
		if err != nil || ok != (tt.want != 0) || p.Visitor != tt.want {
			t.Errorf("LookupPhone(%d, %q) = %+v, %v, %v; want visitor %d", tt.site, tt.phone, p, ok, err, tt.want)
		}
	}
}
