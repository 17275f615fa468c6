package sites

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/idna"

	"appliance/store"
	"appliance/store/storetest"
)

func TestCreateAndReload(t *testing.T) {
	db := storetest.Open(t)
	ctx := context.Background()
	r, err := Open(ctx, db, nil)
	if err != nil {
		t.Fatal(err)
	}
	a, err := r.Create(ctx, " Shop ", []string{"https://Shop.Example.com:8443/path", "www.shop.example.com"})
	if err != nil {
		t.Fatal(err)
	}
	b, err := r.Create(ctx, "Blog", []string{"blog.example.com"})
	if err != nil {
		t.Fatal(err)
	}
	if a.ID != 1 || b.ID != 2 || !ValidKey(a.Key) || a.Key == b.Key || len(a.Secret) != 32 {
		t.Fatalf("sites %+v %+v", a, b)
	}
	if got, want := strings.Join(a.Domains, ","), "shop.example.com,www.shop.example.com"; got != want || a.Name != "Shop" {
		t.Fatalf("domains %q name %q", got, a.Name)
	}
	r2, err := Open(ctx, db, nil)
	if err != nil {
		t.Fatal(err)
	}
	got, err := r2.ByKey(b.Key)
	if err != nil || got.ID != b.ID || string(got.Secret) != string(b.Secret) {
		t.Fatalf("reloaded %+v %v", got, err)
	}
	if list := r2.List(); len(list) != 2 || list[0].ID != 1 {
		t.Fatalf("list %+v", list)
	}
	if _, err := r2.ByKey("nope"); err != ErrNotFound {
		t.Fatalf("unknown key: %v", err)
	}
}

func TestCreateRefusesBadInput(t *testing.T) {
	r, _ := Open(context.Background(), storetest.Open(t), nil)
	for _, c := range []struct {
		name    string
		domains []string
	}{{"", []string{"a.com"}}, {"x", nil}, {"x", []string{"bad domain"}}, {strings.Repeat("n", 101), []string{"a.com"}}} {
		if _, err := r.Create(context.Background(), c.name, c.domains); err == nil {
			t.Errorf("%q %q accepted", c.name, c.domains)
		}
	}
	if len(r.List()) != 0 {
		t.Fatal("a refused site was stored")
	}
	// The limit counts characters, as its message says: a Russian name of
	// 100 letters (200 bytes) is taken; it was refused from 51 letters.
	name := strings.Repeat("Ж", 100)
	if s, err := r.Create(context.Background(), name, []string{"a.com"}); err != nil || s.Name != name {
		t.Fatalf("a 100-letter Russian name: %v", err)
	}
}

func TestCredentialKey(t *testing.T) {
	s := &store.Site{Key: "k", Secret: []byte("secret")}
	k := CredentialKey(s, 17, 255)
	if len(k) != 32 || !CheckCredentialKey(s, 17, 255, k) {
		t.Fatalf("key %q", k)
	}
	for _, bad := range []struct{ v, s uint64 }{{18, 255}, {17, 256}} {
		if CheckCredentialKey(s, bad.v, bad.s, k) {
			t.Errorf("key valid for %v", bad)
		}
	}
	other := &store.Site{Key: "k", Secret: []byte("other")}
	if CheckCredentialKey(other, 17, 255, k) {
		t.Error("key valid under another secret")
	}
}

// TestSign checks the stack HMAC against crypto/hmac for secrets shorter
// and longer than a block and messages on both sides of the stack bound.
func TestSign(t *testing.T) {
	for _, keyLen := range []int{0, 1, 32, 63, 64, 65, 200} {
		for _, msgLen := range []int{0, 1, 55, 56, 64, 119, 120, maxSignedOnStack, maxSignedOnStack + 1, 1000} {
			key, msg := make([]byte, keyLen), make([]byte, msgLen)
			for i := range key {
				key[i] = byte(i*7 + keyLen)
			}
			for i := range msg {
				msg[i] = byte(i*13 + msgLen)
			}
			m := hmac.New(sha256.New, key)
			m.Write(msg)
			want := m.Sum(nil)
			// Twice: the second signs with a reused (Reset) signer.
			for range 2 {
				if got := Sign(&store.Site{Secret: key}, msg); !bytes.Equal(got[:], want) {
					t.Errorf("key %d bytes, message %d bytes: %x, crypto/hmac %x", keyLen, msgLen, got, want)
				}
			}
			if got := signOnStack(key, msg); len(msg) <= maxSignedOnStack && !bytes.Equal(got[:], want) {
				t.Errorf("signOnStack: key %d bytes, message %d bytes: %x, crypto/hmac %x", keyLen, msgLen, got, want)
			}
		}
	}
}

// BenchmarkSign signs a credential key's message (about 50 bytes) as the
// hit path does, beside the baseline of the HMAC computed on the stack
// from the secret on every call (signOnStack, Sign before its signers
// kept the keyed state).
//
//	go test -run '^$' -bench Sign ./httpd/sites/
func BenchmarkSign(b *testing.B) {
	s := &store.Site{Key: "abcdefghijklmnop", Secret: make([]byte, 32)}
	msg := []byte("abcdefghijklmnop.4503599627370496.4503599627370497")
	b.Run("pooled", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			Sign(s, msg)
		}
	})
	b.Run("stack", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			signOnStack(s.Secret, msg)
		}
	})
}

// signOnStack is HMAC-SHA256 of msg (at most maxSignedOnStack bytes)
// under key computed on the stack, pads and all, on every call: Sign's
// baseline in BenchmarkSign.
func signOnStack(key, msg []byte) [sha256.Size]byte {
	var k [sha256.BlockSize]byte
	if len(key) > len(k) {
		h := sha256.Sum256(key)
		copy(k[:], h[:])
	} else {
		copy(k[:], key)
	}
	var in [sha256.BlockSize + maxSignedOnStack]byte
	for i, b := range k {
		in[i] = b ^ 0x36
	}
	n := copy(in[sha256.BlockSize:], msg)
	inner := sha256.Sum256(in[:sha256.BlockSize+n])
	var outer [sha256.BlockSize + sha256.Size]byte
	for i, b := range k {
		outer[i] = b ^ 0x5c
	}
	copy(outer[sha256.BlockSize:], inner[:])
	return sha256.Sum256(outer[:])
}

// TestCredentialKeyAllocs: the hit path checks and makes a credential key
// on every hit; only the string it answers is allocated.
func TestCredentialKeyAllocs(t *testing.T) {
	s := &store.Site{Key: "abcdefghijklmnop", Secret: make([]byte, 32)}
	key := CredentialKey(s, 1<<52, 1<<52+1)
	if raceEnabled {
		// The pool of signers drops them at random under the race
		// detector: the counts are checked by go test without -race.
		if !CheckCredentialKey(s, 1<<52, 1<<52+1, key) || CredentialKey(s, 1<<52, 1<<52+1) != key {
			t.Fatal("a credential key does not check against itself")
		}
		t.Skip("allocation counts are not kept under the race detector")
	}
	if n := testing.AllocsPerRun(100, func() { CheckCredentialKey(s, 1<<52, 1<<52+1, key) }); n != 0 {
		t.Errorf("CheckCredentialKey: %v allocations, want 0", n)
	}
	var answer string
	if n := testing.AllocsPerRun(100, func() { answer = CredentialKey(s, 1<<52, 1<<52+1) }); n != 1 || answer != key {
		t.Errorf("CredentialKey: %v allocations, want 1", n)
	}
}

func FuzzNormalizeDomain(f *testing.F) {
	for _, s := range []string{"example.com", "https://A.b/c?d", "x:80", "", "..", "пример.рф", "a..b", strings.Repeat("a", 300)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		d, err := NormalizeDomain(in)
		if err != nil {
			return
		}
		again, err := NormalizeDomain(d)
		if err != nil || again != d {
			t.Fatalf("%q → %q → %q, %v", in, d, again, err)
		}
		if d == "" || len(d) > 253 || strings.ContainsAny(d, "/:?# ") {
			t.Fatalf("%q normalised to %q", in, d)
		}
	})
}

// A zone under which other people's sites live is no site's domain: "ru"
// from "shop ru" typed with a space, "com.ru", "github.io" or a single
// word would let every site under it send hits. localhost stays, for
// trying the snippet out on one's own machine.
func TestNormalizeDomainRefusesZones(t *testing.T) {
	for d, why := range map[string]string{
		"ru": "not a domain name", "RU.": "not a domain name", "рф": "not a domain name", "shop": "not a domain name", "example": "not a domain name",
		"com.ru": "zone other sites live under", "msk.ru": "zone other sites live under", "co.uk": "zone other sites live under", "github.io": "zone other sites live under",
	} {
		if got, err := NormalizeDomain(d); err == nil {
			t.Errorf("NormalizeDomain(%q) = %q, want it refused", d, got)
		} else if !strings.Contains(err.Error(), why) {
			t.Errorf("NormalizeDomain(%q): %v, want %q", d, err, why)
		}
	}
	for _, d := range []string{"localhost", "shop.ru", "www.ru", "shop.com.ru", "магазин.рф", "me.github.io", "shop.example", "127.0.0.1"} {
		if _, err := NormalizeDomain(d); err != nil {
			t.Errorf("NormalizeDomain(%q): %v", d, err)
		}
	}
	r, err := Open(context.Background(), storetest.Open(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Create(context.Background(), "Shop", strings.Fields("shop ru")); err == nil || !errors.Is(err, ErrInvalid) {
		t.Errorf("a site made with the domains shop and ru: %v", err)
	}
}

func TestAllowsHost(t *testing.T) {
	s := &store.Site{Domains: []string{"shop.example.com", "магазин.рф"}}
	for host, want := range map[string]bool{
		"shop.example.com": true, "SHOP.example.com.": true, "www.shop.example.com": true, "a.b.shop.example.com": true,
		"магазин.рф": true, "xn--80aairftm.xn--p1ai": true, "www.xn--80aairftm.xn--p1ai": true, "WWW.МАГАЗИН.РФ": true,
		"example.com": false, "notshop.example.com": false, "shop.example.com.evil.example": false, "": false, "xn--p1ai": false,
		"127.0.0.1": false,
	} {
		if got := AllowsHost(s, host); got != want {
			t.Errorf("AllowsHost(%q) = %v, want %v", host, got, want)
		}
	}
	www := &store.Site{Domains: []string{"www.shop.example"}}
	if !AllowsHost(www, "shop.example") || !AllowsHost(www, "m.shop.example") || AllowsHost(www, "example") {
		t.Error("a www. domain does not stand for its parent and the parent's sub-domains alone")
	}
	// www.ru is a site; its parent "ru" is every .ru site.
	wwwZone := &store.Site{Domains: []string{"www.ru", "www.com.ru"}}
	for host, want := range map[string]bool{"www.ru": true, "m.www.ru": true, "www.com.ru": true, "ru": false, "shop.ru": false, "shop.com.ru": false} {
		if got := AllowsHost(wwwZone, host); got != want {
			t.Errorf("site www.ru, www.com.ru: AllowsHost(%q) = %v, want %v", host, got, want)
		}
	}
	s.AnyOrigin = true
	if !AllowsHost(s, "anything.example") {
		t.Error("a site that takes any origin refused a host")
	}
}

// A site's time zone is an IANA name, kept across a reload; without one
// its days are the server's.
func TestTimeZone(t *testing.T) {
	db := storetest.Open(t)
	ctx := context.Background()
	r, err := Open(ctx, db, nil)
	if err != nil {
		t.Fatal(err)
	}
	s, err := r.Create(ctx, "Shop", []string{"shop.example"})
	if err != nil {
		t.Fatal(err)
	}
	if got := r.Location(s); got != time.Local {
		t.Errorf("a new site's zone = %v, want the server's", got)
	}
	for _, bad := range []string{"Mars/Olympus", "Local", "../../etc/passwd", strings.Repeat("A/", 40)} {
		if _, err := r.SetTimeZone(ctx, s.Key, bad); !errors.Is(err, ErrInvalid) {
			t.Errorf("SetTimeZone(%q) = %v, want ErrInvalid", bad, err)
		}
	}
	if _, err := r.SetTimeZone(ctx, s.Key, " Europe/Moscow "); err != nil {
		t.Fatal(err)
	}
	r2, err := Open(ctx, db, nil)
	if err != nil {
		t.Fatal(err)
	}
	got, err := r2.ByKey(s.Key)
	if err != nil || got.TimeZone != "Europe/Moscow" || r2.Location(got).String() != "Europe/Moscow" || Location(got).String() != "Europe/Moscow" {
		t.Fatalf("reloaded %+v %v", got, err)
	}
	if _, off := time.Date(2026, 6, 1, 0, 0, 0, 0, r2.Location(got)).Zone(); off != 3*3600 {
		t.Errorf("Moscow offset %d", off)
	}
}

// A site's phone region is a two-letter code the phone parser knows,
// kept across a reload; without one the server's is used.
func TestPhoneRegion(t *testing.T) {
	db := storetest.Open(t)
	ctx := context.Background()
	r, err := Open(ctx, db, nil)
	if err != nil {
		t.Fatal(err)
	}
	s, err := r.Create(ctx, "Shop", []string{"shop.example"})
	if err != nil {
		t.Fatal(err)
	}
	if got := s.Region("RU"); got != "RU" {
		t.Errorf("a new site's region = %q, want the server's", got)
	}
	for _, bad := range []string{"XX", "R", "RUS", "7", "ZZ", "../"} {
		if _, err := r.SetPhoneRegion(ctx, s.Key, bad); !errors.Is(err, ErrInvalid) {
			t.Errorf("SetPhoneRegion(%q) = %v, want ErrInvalid", bad, err)
		}
	}
	if _, err := r.SetPhoneRegion(ctx, s.Key, " kz "); err != nil {
		t.Fatal(err)
	}
	r2, err := Open(ctx, db, nil)
	if err != nil {
		t.Fatal(err)
	}
	got, err := r2.ByKey(s.Key)
	if err != nil || got.PhoneRegion != "KZ" || got.Region("RU") != "KZ" {
		t.Fatalf("reloaded %+v %v", got, err)
	}
}

// FuzzASCIIHost: asciiHost reads an ASCII name as idna's Lookup profile
// would, whether idna takes it or refuses it.
func FuzzASCIIHost(f *testing.F) {
	for _, s := range []string{"shop.example.com", "Shop.Example.COM.", "xn--p1ai", "xn--zz", "a_b.example", "-a.example", "a..b", ".a", "", "1.2.3.4", "магазин.рф", "a\x00b", "A-.b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, host string) {
		h := strings.TrimSuffix(strings.ToLower(host), ".")
		if !isASCII(h) || strings.Contains(h, "xn--") {
			return
		}
		want := h
		if a, err := idna.Lookup.ToASCII(h); err == nil {
			want = a
		}
		if got := asciiHost(host); got != want {
			t.Fatalf("asciiHost(%q) = %q, idna %q", host, got, want)
		}
	})
}

// A form's domains field is split where a user separates domains (commas,
// line breaks, spaces between domains); an entry whose words are not all
// domains is kept whole, for its refusal to quote what was typed: "shop ru"
// was refused as "shop" alone.
func TestSplitDomains(t *testing.T) {
	for field, want := range map[string][]string{
		"shop.example":                        {"shop.example"},
		"a.example b.example":                 {"a.example", "b.example"},
		"a.example, b.example\nc.example\r\n": {"a.example", "b.example", "c.example"},
		" a.example\t b.example ":             {"a.example", "b.example"},
		"shop ru":                             {"shop ru"},
		"a.example, my shop.ru":               {"a.example", "my shop.ru"},
		"https://shop.example/about us":       {"https://shop.example/about us"},
		" , \n":                               nil,
	} {
		if got := SplitDomains(field); !slices.Equal(got, want) {
			t.Errorf("SplitDomains(%q) = %q, want %q", field, got, want)
		}
	}
	r, err := Open(context.Background(), storetest.Open(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Create(context.Background(), "Shop", SplitDomains("shop ru")); err == nil || !strings.Contains(err.Error(), `"shop ru" is not a domain name`) {
		t.Errorf(`Create with the field "shop ru": %v, want it quoted whole`, err)
	}
}

// FuzzSplitDomains: any field splits into trimmed, non-empty entries
// without a separator, each a domain or an entry kept whole because one
// of its words is not.
func FuzzSplitDomains(f *testing.F) {
	for _, s := range []string{"shop.example", "a.example b.example", "shop ru", "a.example,\nmy shop.ru", " , ", "https://x.example/a b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, field string) {
		for _, d := range SplitDomains(field) {
			if d == "" || d != strings.TrimSpace(d) || strings.ContainsAny(d, ",\n\r") {
				t.Fatalf("SplitDomains(%q) has the entry %q", field, d)
			}
			if words := strings.Fields(d); len(words) > 1 && !slices.ContainsFunc(words, func(w string) bool { _, err := NormalizeDomain(w); return err != nil }) {
				t.Fatalf("SplitDomains(%q) kept %q whole, whose words are all domains", field, d)
			}
		}
	})
}
