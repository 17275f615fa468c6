package store

import (
	"bytes"
	"math/rand/v2"
	"slices"
	"testing"
)

func TestPrefixEnd(t *testing.T) {
	for _, tt := range []struct {
		prefix, want []byte
	}{
		{nil, nil},
		{[]byte{}, nil},
		{[]byte("a"), []byte("b")},
		{[]byte("a\x00"), []byte("a\x01")},
		{[]byte("a\xff"), []byte("b")},
		{[]byte("a\xff\xff"), []byte("b")},
		{[]byte("\xfe\xff"), []byte("\xff")},
		{[]byte("\xff"), nil},
		{[]byte("\xff\xff\xff"), nil},
		{SiteHitPrefix(1), []byte{prefixHit, 0, 0, 0, 2}},
		{SiteHitPrefix(1<<32 - 1), []byte{prefixHit + 1}},
		{HitPrefix(1, 1<<64-1), []byte{prefixHit, 0, 0, 0, 2}},
	} {
		in := bytes.Clone(tt.prefix)
		got := PrefixEnd(tt.prefix)
		if !bytes.Equal(got, tt.want) || (got == nil) != (tt.want == nil) {
			t.Errorf("PrefixEnd(%x) = %x, want %x", tt.prefix, got, tt.want)
		}
		if !bytes.Equal(in, tt.prefix) {
			t.Errorf("PrefixEnd(%x) changed its argument to %x", in, tt.prefix)
		}
	}
}

// Every key with the prefix sorts below PrefixEnd, and the keys just
// outside the family do not.
func TestPrefixEndBoundsFamily(t *testing.T) {
	p := SiteHitPrefix(7)
	end := PrefixEnd(p)
	for _, k := range [][]byte{HitKey(7, 0, 0), HitKey(7, 1<<64-1, 1<<64-1), PropertyKey(1, "x")} {
		in := bytes.HasPrefix(k, p)
		below := bytes.Compare(k, end) < 0 && bytes.Compare(k, p) >= 0
		if in != below {
			t.Errorf("key %x: has prefix %v, in [prefix, end) %v", k, in, below)
		}
	}
	for _, k := range [][]byte{HitKey(8, 0, 0), HitKey(6, 1<<64-1, 1<<64-1), EventKey(7, 1, 1)} {
		if bytes.Compare(k, p) >= 0 && bytes.Compare(k, end) < 0 {
			t.Errorf("key %x of another family or site falls in the scan of %x", k, p)
		}
	}
}

func TestIDFromKey(t *testing.T) {
	for _, tt := range []struct {
		key    []byte
		want   uint64
		wantOK bool
	}{
		{HitKey(3, 5, 42), 42, true},
		{SessionKey(1<<32-1, 1<<64-1), 1<<64 - 1, true},
		{EventKey(0, 0, 0), 0, true},
		{EventKey(9, 1, 1<<53-1), 1<<53 - 1, true},
		{SiteHitPrefix(3), 0, false},
		{SessionKey(3, 42)[:12], 0, false},
		{nil, 0, false},
	} {
		got, ok := IDFromKey(tt.key)
		if got != tt.want || ok != tt.wantOK {
			t.Errorf("IDFromKey(%x) = %d, %v; want %d, %v", tt.key, got, ok, tt.want, tt.wantOK)
		}
	}
}

// Keys of a family sort by site, then by id as a number (big-endian).
func TestHitKeyOrder(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	type ref struct {
		site uint32
		id   uint64
	}
	var refs []ref
	for _, id := range []uint64{0, 1, 255, 256, 65535, 65536, 1<<32 - 1, 1 << 32, 1<<53 - 1, 1<<64 - 1} {
		refs = append(refs, ref{1, id}, ref{2, id}, ref{1<<32 - 1, id})
	}
	for range 500 {
		refs = append(refs, ref{r.Uint32N(4), r.Uint64() >> r.UintN(64)})
	}
	keys := make([][]byte, len(refs))
	for i, x := range refs {
		keys[i] = SessionKey(x.site, x.id)
	}
	slices.SortFunc(keys, bytes.Compare)
	slices.SortFunc(refs, func(a, b ref) int {
		if a.site != b.site {
			return cmpU(uint64(a.site), uint64(b.site))
		}
		return cmpU(a.id, b.id)
	})
	for i, k := range keys {
		id, _ := IDFromKey(k)
		if id != refs[i].id || !bytes.HasPrefix(k, SessionPrefix(refs[i].site)) {
			t.Fatalf("key #%d in byte order is %x, want site %d id %d", i, k, refs[i].site, refs[i].id)
		}
	}
}

func cmpU(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// Two keys built in a row never share memory: changing or appending to one
// leaves the other as built.
func TestKeysDoNotAlias(t *testing.T) {
	builders := map[string]func(i int) []byte{
		"meta":       func(i int) []byte { return MetaKey(string(rune('a' + i))) },
		"user":       func(i int) []byte { return UserKey(string(rune('a' + i))) },
		"auth":       func(i int) []byte { return AuthKey([]byte{byte(i)}) },
		"token":      func(i int) []byte { return TokenKey([]byte{byte(i)}) },
		"site":       func(i int) []byte { return SiteKey(uint32(i)) },
		"sitekey":    func(i int) []byte { return SiteKeyIndexKey(string(rune('a' + i))) },
		"visitor":    func(i int) []byte { return VisitorKey(uint64(i)) },
		"property":   func(i int) []byte { return PropertyKey(uint64(i), "p") },
		"propfix":    func(i int) []byte { return PropertyPrefix(uint64(i)) },
		"session":    func(i int) []byte { return SessionKey(1, uint64(i)) },
		"sessfix":    func(i int) []byte { return SessionPrefix(uint32(i)) },
		"hit":        func(i int) []byte { return HitKey(1, 2, uint64(i)) },
		"hitfix":     func(i int) []byte { return HitPrefix(1, uint64(i)) },
		"hitsite":    func(i int) []byte { return SiteHitPrefix(uint32(i)) },
		"event":      func(i int) []byte { return EventKey(1, 2, uint64(i)) },
		"evfix":      func(i int) []byte { return EventPrefix(1, uint64(i)) },
		"evsite":     func(i int) []byte { return SiteEventPrefix(uint32(i)) },
		"rollup":     func(i int) []byte { return RollupKey(1, uint32(i), "hits") },
		"rollfix":    func(i int) []byte { return RollupPrefix(1, uint32(i)) },
		"lead":       func(i int) []byte { return LeadKey(1, uint64(i)) },
		"leadfix":    func(i int) []byte { return LeadPrefix(uint32(i)) },
		"webhooks":   func(i int) []byte { return WebhooksKey(uint32(i)) },
		"due":        func(i int) []byte { return DueKey(DueDelivery, int64(i), 7) },
		"duefix":     func(i int) []byte { return DuePrefix(DueKind(i)) },
		"delivery":   func(i int) []byte { return DeliveryKey(1, uint64(i)) },
		"hookhealth": func(i int) []byte { return HookHealthKey(1, uint64(i)) },
		"dlvfix":     func(i int) []byte { return DeliveryPrefix(uint32(i)) },
		"mark":       func(i int) []byte { return MarkKey(1, MarkLead, uint64(i)) },
		"markcb":     func(i int) []byte { return MarkKey(1, MarkCallback, uint64(i)) },
		"markfix":    func(i int) []byte { return MarkPrefix(uint32(i), MarkLead) },
		"report":     func(i int) []byte { return ReportKey(1, 's', 0, uint32(i), nil) },
		"touch":      func(i int) []byte { return TouchKey(uint64(i)) },
		"caller":     func(i int) []byte { return CallerKey(uint32(i), "7") },
		"cost":       func(i int) []byte { return CostKey(1, uint32(i), nil) },
		"chat":       func(i int) []byte { return ChatKey(1, uint64(i)) },
		"chatfix":    func(i int) []byte { return ChatPrefix(uint32(i)) },
		"chatmsg":    func(i int) []byte { return ChatMessageKey(1, 2, uint64(i)) },
		"msgfix":     func(i int) []byte { return ChatMessagePrefix(1, uint64(i)) },
		"msgsite":    func(i int) []byte { return ChatMessageSitePrefix(uint32(i)) },
		"contact":    func(i int) []byte { return VisitorContactKey(1, uint64(i)) },
		"contactfix": func(i int) []byte { return VisitorContactPrefix(uint32(i)) },
		"chatopen":   func(i int) []byte { return ChatOpenKey(1, uint64(i)) },
		"openfix":    func(i int) []byte { return ChatOpenPrefix(uint32(i)) },
		"chatvis":    func(i int) []byte { return ChatVisitorKey(1, uint64(i)) },
		"chatset":    func(i int) []byte { return ChatSettingsKey(uint32(i)) },
		"digestsub":  func(i int) []byte { return DigestSubKey(uint32(i), "a@b") },
		"digestsent": func(i int) []byte { return DigestSentKey(DigestWeekly, uint32(i), "a@b") },
		"kept":       func(i int) []byte { return KeptAssetKey(string(rune('a' + i))) },
		"compressed": func(i int) []byte {
			return CompressedKey([32]byte{byte(i)}, 11)
		},
	}
	prefixes := map[byte]string{}
	for name, build := range builders {
		a, b := build(1), build(2)
		a0, b0 := bytes.Clone(a), bytes.Clone(b)
		if bytes.Equal(a, b) {
			t.Errorf("%s: two different keys are equal: %x", name, a)
		}
		for i := range b {
			b[i] ^= 0xff
		}
		ax, ay := append(a, 'x'), append(a, 'y')
		if !bytes.Equal(a, a0) || ax[len(ax)-1] != 'x' || ay[len(ay)-1] != 'y' {
			t.Errorf("%s: keys built in a row share memory", name)
		}
		if c := build(2); !bytes.Equal(c, b0) {
			t.Errorf("%s: key built again is %x, want %x", name, c, b0)
		}
		if other, ok := prefixes[a0[0]]; ok && !samePrefixFamily(name, other) {
			t.Errorf("families %s and %s share the prefix byte %q", name, other, a0[0])
		}
		prefixes[a0[0]] = name
	}
}

// samePrefixFamily reports whether two builder names are keys or prefixes
// of one family.
func samePrefixFamily(a, b string) bool {
	family := map[string]string{"propfix": "property", "sessfix": "session", "hitfix": "hit", "hitsite": "hit",
		"evfix": "event", "evsite": "event", "rollfix": "rollup", "leadfix": "lead", "dlvfix": "delivery",
		"duefix": "due", "markcb": "mark", "markfix": "mark", "chatfix": "chat", "msgfix": "chatmsg",
		"msgsite": "chatmsg", "openfix": "chatopen", "contactfix": "contact"}
	fa, fb := a, b
	if f, ok := family[a]; ok {
		fa = f
	}
	if f, ok := family[b]; ok {
		fb = f
	}
	return fa == fb
}

// Due-queue keys sort by kind, then due time, then id, and parse back;
// the bound of "due at or before t" takes exactly those of the kind.
func TestDueKeys(t *testing.T) {
	for _, tt := range []struct {
		kind    DueKind
		due     int64
		id      uint64
		wantDue int64
	}{{DueDelivery, 0, 0, 0}, {DueCallback, 1700000000000, 42, 1700000000000}, {DueDelivery, -5, 1, 0}, {255, 1 << 62, 1<<64 - 1, 1 << 62}} {
		kind, due, id, ok := ParseDueKey(DueKey(tt.kind, tt.due, tt.id))
		if !ok || kind != tt.kind || due != tt.wantDue || id != tt.id {
			t.Errorf("ParseDueKey(DueKey(%q, %d, %d)) = %q, %d, %d, %v", tt.kind, tt.due, tt.id, kind, due, id, ok)
		}
	}
	bad := DueKey(DueDelivery, 0, 1)
	bad[2] = 0x80 // a due time past int64
	for _, k := range [][]byte{LeadKey(1, 2), nil, {prefixDue}, DuePrefix(DueDelivery), bad} {
		if _, _, _, ok := ParseDueKey(k); ok {
			t.Errorf("ParseDueKey accepted %x", k)
		}
	}
	keys := [][]byte{DueKey(DueCallback, 1<<40, 1), DueKey(DueDelivery, 5, 9), DueKey(DueDelivery, 10, 1), DueKey(DueDelivery, 10, 2), DueKey(DueDelivery, 11, 0)}
	for i := 1; i < len(keys); i++ {
		if bytes.Compare(keys[i-1], keys[i]) >= 0 {
			t.Errorf("due key %d does not sort after %d", i, i-1)
		}
	}
	start, end := DuePrefix(DueDelivery), DueKey(DueDelivery, 11, 0)
	for i, want := range []bool{false, true, true, true, false} {
		if got := bytes.Compare(keys[i], start) >= 0 && bytes.Compare(keys[i], end) < 0; got != want {
			t.Errorf("key %d due-before-10 = %v, want %v", i, got, want)
		}
	}
}

// A session's hits (and events) are one range in id order, parse back to
// their ids, and no other session's or site's keys fall in that range.
func TestSessionItemKeys(t *testing.T) {
	for _, tt := range []struct {
		site          uint32
		session, item uint64
	}{{0, 0, 0}, {1, 2, 3}, {1<<32 - 1, 1<<64 - 1, 1<<64 - 1}, {7, 1<<53 - 1, 1}} {
		for _, k := range [][]byte{HitKey(tt.site, tt.session, tt.item), EventKey(tt.site, tt.session, tt.item)} {
			s, id, ok := SessionItemIDs(k)
			if !ok || s != tt.session || id != tt.item {
				t.Errorf("SessionItemIDs(%x) = %d, %d, %v", k, s, id, ok)
			}
		}
	}
	if _, _, ok := SessionItemIDs(SessionKey(1, 2)); ok {
		t.Error("SessionItemIDs accepted a session key")
	}
	p := HitPrefix(3, 10)
	end := PrefixEnd(p)
	in := [][]byte{HitKey(3, 10, 0), HitKey(3, 10, 5), HitKey(3, 10, 1<<64-1)}
	for i, k := range in {
		if bytes.Compare(k, p) < 0 || bytes.Compare(k, end) >= 0 {
			t.Errorf("hit %x of the session is outside its range", k)
		}
		if i > 0 && bytes.Compare(in[i-1], k) >= 0 {
			t.Errorf("hit keys out of id order: %x, %x", in[i-1], k)
		}
		if !bytes.HasPrefix(k, SiteHitPrefix(3)) {
			t.Errorf("hit %x outside its site's range", k)
		}
	}
	for _, k := range [][]byte{HitKey(3, 9, 1<<64-1), HitKey(3, 11, 0), HitKey(4, 10, 1), EventKey(3, 10, 1)} {
		if bytes.Compare(k, p) >= 0 && bytes.Compare(k, end) < 0 {
			t.Errorf("key %x of another session falls in the range of session 10", k)
		}
	}
}

// A webhook endpoint's health key splits back into its site and endpoint,
// inside its site's range; other keys do not split.
func TestHookHealthKey(t *testing.T) {
	k := HookHealthKey(3, 1<<63+9)
	if site, ep, ok := ParseHookHealthKey(k); !ok || site != 3 || ep != 1<<63+9 {
		t.Errorf("ParseHookHealthKey(%x) = %d, %d, %v", k, site, ep, ok)
	}
	if p := HookHealthPrefix(3); !bytes.HasPrefix(k, p) || bytes.HasPrefix(k, HookHealthPrefix(4)) || !bytes.HasPrefix(k, HookHealthAll()) {
		t.Errorf("key %x outside its site's range", k)
	}
	for _, other := range [][]byte{DeliveryKey(3, 9), k[:12], append(bytes.Clone(k), 0), nil} {
		if _, _, ok := ParseHookHealthKey(other); ok {
			t.Errorf("ParseHookHealthKey(%x) split a key of another family", other)
		}
	}
}
