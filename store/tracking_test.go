package store

import (
	"bytes"
	"errors"
	"reflect"
	"testing"
)

// The call-tracking records join the generic codec tests of records_test.go
// (round trip, truncation, versions, UTF-8, fuzzing).
func init() {
	codecs = append(codecs,
		codec{"numbers", func(b []byte) (any, error) { return DecodeNumbersConfig(b) }, func(r any) []byte { c := r.(NumbersConfig); return c.Encode() }},
		codec{"numbers view", func(b []byte) (any, error) { return DecodeNumbersConfigView(b) }, func(r any) []byte { c := r.(NumbersConfig); return c.Encode() }},
		codec{"lease", func(b []byte) (any, error) { return DecodeLease(b) }, func(r any) []byte { l := r.(Lease); return l.Encode() }},
		codec{"call", func(b []byte) (any, error) { return DecodeCall(keyID, b) }, func(r any) []byte { c := r.(Call); return c.Encode() }},
	)
	samples["numbers"] = []any{
		NumbersConfig{},
		NumbersConfig{Revision: 7, Selectors: []string{".phone", "#top .tel"},
			SiteNumbers: []SiteNumber{{Number: "74872751404", Written: "8 (487) 275-14-04"}, {Number: "74950000000", Written: unicode}},
			Statics:     []StaticNumber{{Number: "74951825168", Rule: "utm_source=yandex", Priority: -3, Replaces: []string{"74872751404"}, Created: 1700000000000}},
			Pools: []PoolConfig{
				{ID: 1, Name: "ads", Numbers: []string{"74950000001", "74950000002"}, Fallback: "74950000009", Reserve: 1200000,
					Rule: "utm_medium=cpc", Priority: 1 << 40, Created: 1,
					Forms: []NumberForm{{CC: 1, Trunk: "8", Text: "+7 495 000-00-01"}, {CC: 1 << 31, Text: unicode}}, AddrCap: 10},
				{ID: 1<<32 - 1, Name: long, Rule: unicode, Reserve: -1, Replaces: []string{"", long}, AddrCap: 1 << 40},
			},
			NextPool: 1<<32 - 1},
		NumbersConfig{NextPool: 4, RemovedPools: []RemovedPool{{ID: 1, Name: "ads"}, {ID: 1<<32 - 1, Name: unicode}}},
	}
	samples["numbers view"] = samples["numbers"]
	samples["lease"] = []any{
		Lease{},
		Lease{Site: 3, Pool: 1, Visitor: 1<<53 - 1, Session: 42, Source: Source{Channel: "ad", UTMSource: "yandex", UTMMedium: "cpc",
			UTMCampaign: "весна", UTMTerm: "t", UTMContent: "c", Click: "yclid", Referrer: "https://ya.ru/", Landing: "https://shop.example/promo"}},
		Lease{Site: 1<<32 - 1, Pool: 1<<32 - 1, Visitor: 1<<64 - 1, Session: 1<<64 - 1, Source: Source{Landing: long, Referrer: unicode}},
	}
	samples["call"] = []any{
		Call{ID: keyID},
		Call{ID: keyID, Time: 1700000000000, Received: 1700000000123, Called: "74950000001", Caller: "79161234567", Duration: 65,
			Answered: true, RecordingURL: "https://pbx.example/r/1.mp3", Kind: "dynamic", Attributed: true, Pool: 2, Visitor: 9,
			Session: 10, LeaseSince: 1700000000000000000, Source: Source{Channel: "ad", UTMSource: "google", UTMMedium: "cpc", UTMCampaign: "x",
				UTMTerm: "y", UTMContent: "z", Click: "gclid", Referrer: "https://google.com/", Landing: "https://shop.example/"}},
		Call{ID: keyID, Time: -1 << 63, Received: 1<<63 - 1, Duration: 1<<32 - 1, Pool: 1<<32 - 1, Visitor: 1<<64 - 1, LeaseSince: -1,
			Kind: unicode, Source: Source{Landing: long}},
		Call{ID: keyID, Called: "74951234567", Caller: "79161234567", Kind: "site", Attributed: true, Visitor: 5, Session: 6,
			Match: MatchCallerID, Source: Source{Channel: "organic"}},
		Call{ID: keyID, Called: "74951234567", CallerTyped: "anonymous", Kind: "dynamic"},
		Call{ID: keyID, Called: "74950000001", CalledExt: "12", Kind: "dynamic", Pool: 3, PoolName: "реклама"},
	}
}

func TestLeaseKeys(t *testing.T) {
	// A number's range never holds a longer number it is a prefix of.
	short, longer := LeasePrefix("7495000000"), LeaseClaimKey("74950000001", 5)
	if bytes.HasPrefix(longer, short) {
		t.Fatalf("lease key of a longer number %x lies in the range of %x", longer, short)
	}
	// Claims of one number sort by time, the until right after its claim.
	keys := [][]byte{
		LeaseClaimKey("74950000001", 0), LeaseUntilKey("74950000001", 0),
		LeaseClaimKey("74950000001", 1), LeaseUntilKey("74950000001", 1),
		LeaseClaimKey("74950000001", 1<<40), LeaseUntilKey("74950000001", 1<<40),
		LeaseBefore("74950000001", 1<<40),
		LeaseClaimKey("74950000001", 1<<40+1),
		PrefixEnd(LeasePrefix("74950000001")),
	}
	for i := 1; i < len(keys); i++ {
		if bytes.Compare(keys[i-1], keys[i]) >= 0 {
			t.Errorf("key %d %x not below key %d %x", i-1, keys[i-1], i, keys[i])
		}
	}
	for _, tt := range []struct {
		number string
		since  int64
		until  bool
	}{{"74950000001", 0, false}, {"1", 1<<63 - 1, true}, {"", 17, true}} {
		k := AppendLeaseKey([]byte("junk"), tt.number, tt.since, tt.until)[4:]
		n, s, u, ok := ParseLeaseKey(k)
		if !ok || n != tt.number || s != tt.since || u != tt.until {
			t.Errorf("ParseLeaseKey(%x) = %q %d %v %v; want %q %d %v", k, n, s, u, ok, tt.number, tt.since, tt.until)
		}
	}
	for _, bad := range [][]byte{nil, {prefixLease}, {prefixLease, 3, '1'}, append(LeaseClaimKey("7", 1)[:11], 2),
		append([]byte{prefixLease, 1, '7', 0x80}, make([]byte, 8)...), CallKey(1, 1)} {
		if _, _, _, ok := ParseLeaseKey(bad); ok {
			t.Errorf("ParseLeaseKey(%x) accepted", bad)
		}
		if _, _, ok := LeaseKeyTime(bad); ok {
			t.Errorf("LeaseKeyTime(%x) accepted", bad)
		}
	}
	// The ranges of many numbers in one buffer are each LeasePrefix and
	// LeaseBefore, and appending to one does not change another.
	var buf []byte
	var got []Range
	nums := []string{"7", "74950000001", "1234567890123"}
	for _, n := range nums {
		var r Range
		buf, r = AppendLeaseRange(buf, n, 1<<40)
		got = append(got, r)
	}
	for i, n := range nums {
		if !bytes.Equal(got[i].Lower, LeasePrefix(n)) || !bytes.Equal(got[i].Upper, LeaseBefore(n, 1<<40)) {
			t.Errorf("AppendLeaseRange(%s) = %x..%x, want %x..%x", n, got[i].Lower, got[i].Upper, LeasePrefix(n), LeaseBefore(n, 1<<40))
		}
		_ = append(got[i].Lower, 0xff)
		_ = append(got[i].Upper, 0xff)
	}
	if !bytes.Equal(got[1].Lower, LeasePrefix(nums[1])) || !bytes.Equal(got[0].Upper, LeaseBefore(nums[0], 1<<40)) {
		t.Error("appending to a range changed the next one")
	}
}

func TestUntilEncoding(t *testing.T) {
	for _, u := range []int64{0, 1, 1700000000000000000, 1<<63 - 1} {
		got, err := DecodeUntil(EncodeUntil(u))
		if err != nil || got != u {
			t.Errorf("until %d: got %d, %v", u, got, err)
		}
	}
	for _, bad := range [][]byte{nil, {1}, EncodeUntil(-1), append(EncodeUntil(1), 0)} {
		if _, err := DecodeUntil(bad); !errors.Is(err, ErrCorrupt) {
			t.Errorf("DecodeUntil(%x) = %v, want ErrCorrupt", bad, err)
		}
	}
}

// DecodeNumbersConfigView's result keeps all but its pools' numbers and
// forms when b changes: those alias b, the rest is copied.
func TestDecodeNumbersConfigView(t *testing.T) {
	c := samples["numbers"][1].(NumbersConfig)
	b := c.Encode()
	got, err := DecodeNumbersConfigView(b)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, c) {
		t.Fatalf("decoded %+v, want %+v", got, c)
	}
	for i := range b {
		b[i] = 'X'
	}
	if got.Pools[0].Numbers[0] == c.Pools[0].Numbers[0] || got.Pools[0].Forms[0].Text == c.Pools[0].Forms[0].Text {
		t.Fatal("a pool's numbers and forms do not alias b")
	}
	for i := range got.Pools {
		got.Pools[i].Numbers, got.Pools[i].Forms = c.Pools[i].Numbers, c.Pools[i].Forms
	}
	if !reflect.DeepEqual(got, c) {
		t.Fatalf("decoded config changed with its input beyond its pools' numbers and forms: %+v", got)
	}
}

// A set-up stored before pools kept their address cap (version 3) reads
// the default cap, not "no cap".
func TestNumbersConfigV3AddrCap(t *testing.T) {
	c := NumbersConfig{Pools: []PoolConfig{{ID: 1, Name: "ads", Numbers: []string{"74950000001"}, Reserve: 1200000}}}
	b := c.Encode()
	// The pool's last field is its cap (0, one byte), before NextPool and
	// the count of removed pools (0 and 0).
	if n := len(b); b[0] != 4 || b[n-3] != 0 {
		t.Fatalf("unexpected encoding % x", b)
	}
	v3 := append([]byte{3}, b[1:len(b)-3]...)
	v3 = append(v3, b[len(b)-2:]...)
	got, err := DecodeNumbersConfig(v3)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Pools) != 1 || got.Pools[0].AddrCap != DefaultPoolAddrCap || got.Pools[0].Name != "ads" {
		t.Errorf("version 3 decodes as %+v, want the pool with cap %d", got.Pools, DefaultPoolAddrCap)
	}
	if got, err := DecodeNumbersConfig(b); err != nil || got.Pools[0].AddrCap != 0 {
		t.Errorf("version 4 with no cap decodes as %+v, %v", got.Pools, err)
	}
}
