package visits

import (
	"reflect"
	"strings"
	"testing"
	"unsafe"

	"appliance/store"
)

// TestPackVisitor packs visitors and unpacks them as they were: every
// field, strings long and empty, contacts or none, and reuses the packed
// strings of the visitor before when they are the same.
func TestPackVisitor(t *testing.T) {
	long := "https://shop.example.com/" + strings.Repeat("каталог/", 100)
	cases := []activeVisitor{
		{},
		{site: 7, hasVisitor: true, latest: true, hasTouch: true,
			visitor: store.Visitor{ID: 1<<53 - 1, Site: 7, Created: -5, LastSeen: 1 << 62, Name: "Ann",
				Phones: []string{"79161234567"}, Emails: []string{"a@example.com", "b@example.com"}, Properties: 3, Bot: true},
			session: store.Session{ID: 99, Visitor: 1<<53 - 1, Started: 1, LastHit: 2, Hits: 3, Events: 4,
				Channel: "ad", UTMSource: "yandex", UTMMedium: "cpc", UTMCampaign: "c1", UTMTerm: "shoes",
				UTMContent: "banner", Click: "yclid", ClickID: "123", Referrer: "https://ya.ru/",
				Landing: long, UserAgent: "Mozilla/5.0", Bot: true},
			touch: store.Touch{First: 1, Last: 2, LastNonDirect: 3, LastStarted: 4}},
		{site: 1, session: store.Session{ID: 2, Landing: strings.Repeat("x", 200), UserAgent: strings.Repeat("y", 127),
			Referrer: strings.Repeat("z", 128)}},
	}
	for i, v := range cases {
		p := pack(&v, "")
		got := p.unpack()
		if !equalActive(got, v) {
			t.Errorf("case %d: unpacked %+v, want %+v", i, got, v)
		}
		again := pack(&got, p.strs)
		if len(p.strs) > 0 && unsafe.StringData(again.strs) != unsafe.StringData(p.strs) {
			t.Errorf("case %d: the same strings packed again, not reused", i)
		}
		got.session.Hits++
		got.session.Landing = "https://other.example.com/"
		changed := pack(&got, p.strs)
		if u := changed.unpack(); !equalActive(u, got) {
			t.Errorf("case %d: changed, unpacked %+v, want %+v", i, u, got)
		}
	}
}

func equalActive(a, b activeVisitor) bool {
	eq := func(x, y []string) bool {
		return strings.Join(x, "\x00") == strings.Join(y, "\x00") && len(x) == len(y)
	}
	if !eq(a.visitor.Phones, b.visitor.Phones) || !eq(a.visitor.Emails, b.visitor.Emails) {
		return false
	}
	return reflect.DeepEqual(
		[]any{a.site, a.hasVisitor, a.latest, a.hasTouch, a.touch, a.session, a.visitor.ID, a.visitor.Site, a.visitor.Created,
			a.visitor.LastSeen, a.visitor.Name, a.visitor.Properties, a.visitor.Bot},
		[]any{b.site, b.hasVisitor, b.latest, b.hasTouch, b.touch, b.session, b.visitor.ID, b.visitor.Site, b.visitor.Created,
			b.visitor.LastSeen, b.visitor.Name, b.visitor.Properties, b.visitor.Bot})
}

// TestPackVisitorEveryField fills every field of a visitor and its session
// through reflection and unpacks them as they were: a field added to
// store.Session or store.Visitor that pack leaves out fails here.
func TestPackVisitorEveryField(t *testing.T) {
	if n := reflect.TypeOf(activeVisitor{}).NumField(); n != 7 {
		t.Fatalf("activeVisitor has %d fields: pack and unpack know 7", n)
	}
	fill := func(v reflect.Value) {
		for i := range v.NumField() {
			f := v.Field(i)
			switch f.Kind() {
			case reflect.String:
				f.SetString("s" + strings.Repeat("x", i*20))
			case reflect.Bool:
				f.SetBool(true)
			case reflect.Int64, reflect.Int32:
				f.SetInt(int64(-1000 - i))
			case reflect.Uint64, reflect.Uint32:
				f.SetUint(uint64(1000 + i))
			case reflect.Slice:
				f.Set(reflect.ValueOf([]string{"a", "b"}))
			default:
				t.Fatalf("field %s of %s: a kind pack does not know", v.Type().Field(i).Name, v.Type())
			}
		}
	}
	v := activeVisitor{site: 3, hasVisitor: true, latest: true, hasTouch: true}
	fill(reflect.ValueOf(&v.visitor).Elem())
	fill(reflect.ValueOf(&v.session).Elem())
	fill(reflect.ValueOf(&v.touch).Elem())
	p := pack(&v, "")
	if got := p.unpack(); !reflect.DeepEqual(got, v) {
		t.Errorf("unpacked %+v, want %+v", got, v)
	}
}
