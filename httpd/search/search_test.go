package search_test

import (
	"errors"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"appliance/httpd/leads"
	"appliance/httpd/search"
	"appliance/store"
	"appliance/store/storetest"
)

func TestParse(t *testing.T) {
	ru := [3]string{"79161234567", "89161234567", "9161234567"}
	for _, c := range []struct {
		in   string
		want search.Query
	}{
		{"", search.Query{}},
		{"   ", search.Query{}},
		{"+7 916 123-45-67", search.Query{Raw: "+7 916 123-45-67", Text: "+7 916 123-45-67", Phone: "79161234567", Digits: "79161234567", NSN: "9161234567", Written: ru}},
		{"8(916)1234567", search.Query{Raw: "8(916)1234567", Text: "8(916)1234567", Phone: "79161234567", Digits: "89161234567", NSN: "9161234567", Written: ru}},
		{"89161234567", search.Query{Raw: "89161234567", Text: "89161234567", Phone: "79161234567", Digits: "89161234567", ID: 89161234567, NSN: "9161234567", Written: ru}},
		{"#42", search.Query{Raw: "#42", Text: "#42", ID: 42}},
		{"42", search.Query{Raw: "42", Text: "42", ID: 42}},
		{"123-45", search.Query{Raw: "123-45", Text: "123-45", Digits: "12345"}},
		{"  Ivan@Example.COM ", search.Query{Raw: "Ivan@Example.COM", Text: "ivan@example.com", Email: "ivan@example.com"}},
		{"Иван   Петров", search.Query{Raw: "Иван Петров", Text: "иван петров"}},
	} {
		got, err := search.Parse(c.in, "RU")
		if err != nil || got != c.want {
			t.Errorf("Parse(%q) = %+v, %v; want %+v", c.in, got, err, c.want)
		}
	}
	// The written forms of a number are those the region reads as it:
	// another country's only with its country code.
	for _, c := range []struct {
		in, region string
		want       [3]string
	}{
		{"+44 20 7946 0958", "RU", [3]string{"442079460958", "", ""}},
		{"020 7946 0958", "GB", [3]string{"442079460958", "02079460958", "2079460958"}},
		// An international call prefix instead of "+", in any region.
		{"00 44 20 7946 0958", "RU", [3]string{"442079460958", "", ""}},
		{"8 10 44 20 7946 0958", "RU", [3]string{"442079460958", "", ""}},
		{"00442079460958", "GB", [3]string{"442079460958", "02079460958", "2079460958"}},
		{"8 10 44 20 7946 0958", "GB", [3]string{"442079460958", "02079460958", "2079460958"}},
	} {
		if got, err := search.Parse(c.in, c.region); err != nil || got.Written != c.want || got.NSN != "2079460958" {
			t.Errorf("Parse(%q, %s) = %+v, %v; want written %q", c.in, c.region, got, err, c.want)
		}
	}
	for _, in := range []string{strings.Repeat("я", 101), "a\x00", "\xff\xfe", "a\nb"} {
		if _, err := search.Parse(in, "RU"); !errors.Is(err, search.ErrQuery) {
			t.Errorf("Parse(%q): %v, want ErrQuery", in, err)
		}
	}
}

// FuzzParse: any input gives a query or ErrQuery, never a panic; a query
// is trimmed UTF-8 text within MaxQuery, its text the lower case of what
// was typed, its phone digits only.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"", "+7 916 123-45-67", "8(916)1234567", "#12", "ivan@EXAMPLE.com", "Тверь", "\xff", "a\x00b",
		"+", "(((", "0", "18446744073709551616", "9007199254740992", strings.Repeat("9", 300), "İ", "ß@"} {
		f.Add(s, "RU")
	}
	f.Add("020 7946 0958", "GB")
	f.Fuzz(func(t *testing.T, in, region string) {
		q, err := search.Parse(in, region)
		if err != nil {
			if !errors.Is(err, search.ErrQuery) {
				t.Fatalf("Parse(%q): %v is no ErrQuery", in, err)
			}
			return
		}
		if q.Empty() != (len(strings.Fields(in)) == 0) {
			t.Fatalf("Parse(%q): empty %v", in, q.Empty())
		}
		if len(q.Raw) > search.MaxQuery || !utf8.ValidString(q.Raw) || q.Text != strings.ToLower(q.Raw) {
			t.Fatalf("Parse(%q) = %+v", in, q)
		}
		if strings.Trim(q.Phone+q.Digits, "0123456789") != "" || q.ID >= 1<<53 {
			t.Fatalf("Parse(%q) = %+v", in, q)
		}
	})
}

// Search finds each kind by what the query reads as, shows the first
// limit of each newest first and counts them all.
func TestSearch(t *testing.T) {
	db := storetest.Open(t)
	const site, other = 1, 2
	put := func(site uint32, l store.Lead) uint64 {
		l.ID = db.NextID()
		if err := db.Update(t.Context(), func(tx *store.Tx) error { leads.Put(tx, site, &l); return nil }); err != nil {
			t.Fatal(err)
		}
		return l.ID
	}
	var ivan []uint64
	for i := range 5 {
		ivan = append([]uint64{put(site, store.Lead{Time: int64(1000 + i), Name: "Иван", Phone: "79161234567", PhoneRaw: "8 916 123 45 67"})}, ivan...)
	}
	// Anna is a visitor of the site with a chat; the search finds her
	// through her lead, and her chat through her.
	annaV := store.Visitor{ID: db.NextID(), Site: site, Name: "Anna", Emails: []string{"anna@example.com"}}
	chat := store.Chat{ID: db.NextID(), Site: site, Created: 1500, Attribution: store.Attribution{Visitor: annaV.ID}}
	if err := db.Update(t.Context(), func(tx *store.Tx) error {
		tx.Set(store.VisitorKey(annaV.ID), annaV.Encode())
		tx.Set(store.ChatKey(site, chat.ID), chat.Encode())
		store.IndexVisitorItem(tx, annaV.ID, store.ItemChat, chat.ID)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	anna := put(site, store.Lead{Time: 2000, Name: "Anna", Email: "anna@example.com", EmailRaw: "Anna@Example.com", Message: "Доставка В ТВЕРЬ",
		Attribution: store.Attribution{Visitor: annaV.ID}})
	put(other, store.Lead{Time: 3000, Name: "Иван", Phone: "79161234567"}) // another site's

	s := search.New(db)
	find := func(q string, limit int) search.Result {
		t.Helper()
		pq, err := search.Parse(q, "RU")
		if err != nil {
			t.Fatal(err)
		}
		r, err := s.Search(t.Context(), site, pq, limit)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	ids := func(r search.Result) []uint64 {
		var out []uint64
		for _, l := range r.Leads.Shown {
			out = append(out, l.ID)
		}
		return out
	}
	r := find("+7 (916) 123-45-67", 3)
	if got := ids(r); !slices.Equal(got, ivan[:3]) || r.Leads.Total != 5 || !r.Leads.Cut() {
		t.Errorf("phone, limit 3: %v of %d (cut %v), want %v of 5", got, r.Leads.Total, r.Leads.Cut(), ivan[:3])
	}
	r = find("тверь", 0)
	if len(r.Visitors.Shown) != 1 || r.Visitors.Shown[0].ID != annaV.ID ||
		len(r.Chats.Shown) != 1 || r.Chats.Shown[0].ID != chat.ID {
		t.Errorf("тверь: visitors %+v, chats %+v; want Anna and her chat", r.Visitors.Shown, r.Chats.Shown)
	}
	if r := find("#"+strconv.FormatUint(chat.ID, 10), 0); r.Chats.Total != 1 {
		t.Errorf("a chat's number does not find it: %+v", r.Chats)
	}
	for q, want := range map[string][]uint64{
		"ANNA@example.COM": {anna}, "тверь": {anna}, "иВАН": ivan, "1234567": ivan, "": nil, "Пётр": nil,
	} {
		if got := ids(find(q, 0)); !slices.Equal(got, want) {
			t.Errorf("%q: %v, want %v", q, got, want)
		}
	}
}

// Mark sets apart the first match in any case, whole runes, and cuts a
// long text to the match's surroundings.
func TestMark(t *testing.T) {
	long := strings.Repeat("я", 100)
	for _, c := range []struct {
		text, q string
		want    search.Marked
		ok      bool
	}{
		{"Когда ДОСТАВКА в Тверь?", "доставка", search.Marked{Before: "Когда ", Match: "ДОСТАВКА", After: " в Тверь?"}, true},
		{"<b>İstanbul</b>", "IST", search.Marked{Before: "<b>", Match: "İst", After: "anbul</b>"}, true},
		{long + "Тверь" + long, "тверь", search.Marked{Before: long[:160], Match: "Тверь", After: long[:160], CutBefore: true, CutAfter: true}, true},
		{"Москва", "тверь", search.Marked{}, false},
		// A phone number, however the message writes it, as a whole run
		// of digits: not inside a longer number.
		{"Звоните: 8 921 000-11-22, Ольга", "+7 921 000 11 22", search.Marked{Before: "Звоните: ", Match: "8 921 000-11-22", After: ", Ольга"}, true},
		{"тел.89210001122.", "+7 921 000 11 22", search.Marked{Before: "тел.", Match: "89210001122", After: "."}, true},
		{"мой (921) 000-11-22 (Ольга)", "89210001122", search.Marked{Before: "мой ", Match: "(921) 000-11-22", After: " (Ольга)"}, true},
		{"+7(921)000 11–22", "8 921 000-11-22", search.Marked{Match: "+7(921)000 11–22"}, true},
		{"7 921 000 11 22", "8 921 000-11-22", search.Marked{Match: "7 921 000 11 22"}, true},
		{"заказ 1892100011223 и 89210001122", "+7 921 000 11 22", search.Marked{Before: "заказ 1892100011223 и ", Match: "89210001122"}, true},
		{"заказ 1892100011223", "+7 921 000 11 22", search.Marked{}, false},
		{"заказ 89210001122", "1892100011223", search.Marked{}, false},
		{"+1 921 000 11 22", "+7 921 000 11 22", search.Marked{}, false},
		{"+89210001122", "+7 921 000 11 22", search.Marked{}, false},
		{"8 921 000 11 22...... 3", "+7 921 000 11 22", search.Marked{Match: "8 921 000 11 22", After: "...... 3"}, true},
		// After an international call prefix instead of "+", typed or
		// written: 00, or 8 10 (from Russia).
		{"звоните 00 7 921 000-11-22", "+7 921 000 11 22", search.Marked{Before: "звоните ", Match: "00 7 921 000-11-22"}, true},
		{"8 10 7 921 000 11 22", "89210001122", search.Marked{Match: "8 10 7 921 000 11 22"}, true},
		{"8-10-44-20-7946-0958", "+44 20 7946 0958", search.Marked{Match: "8-10-44-20-7946-0958"}, true},
		{"+7 921 000-11-22", "00 7 921 000 11 22", search.Marked{Match: "+7 921 000-11-22"}, true},
		{"8 921 000-11-22", "8 10 7 921 000 11 22", search.Marked{Match: "8 921 000-11-22"}, true},
		{"1 00 7 921 000 11 22", "+7 921 000 11 22", search.Marked{Before: "1 ", Match: "00 7 921 000 11 22"}, true},
		// A number with other groups of digits before or after it, parted
		// by any separators: its own groups whole, none of them cut.
		{"8 921 000-11-22 10 раз", "+7 921 000 11 22", search.Marked{Match: "8 921 000-11-22", After: " 10 раз"}, true},
		{"8 921 000 11 22 10 раз", "+7 921 000 11 22", search.Marked{Match: "8 921 000 11 22", After: " 10 раз"}, true},
		{"8 921 000 11 22 3", "+7 921 000 11 22", search.Marked{Match: "8 921 000 11 22", After: " 3"}, true},
		{"звонил 89210001122 10 раз", "+7 921 000 11 22", search.Marked{Before: "звонил ", Match: "89210001122", After: " 10 раз"}, true},
		{"+7 (921) 000-11-22 2 раза", "8 921 000 11 22", search.Marked{Match: "+7 (921) 000-11-22", After: " 2 раза"}, true},
		{"8 10 7 921 000-11-22 5", "+7 921 000 11 22", search.Marked{Match: "8 10 7 921 000-11-22", After: " 5"}, true},
		{"8-921-000-11-22-10", "+7 921 000 11 22", search.Marked{Match: "8-921-000-11-22", After: "-10"}, true},
		{"8921000-11-2 2 10", "+7 921 000 11 22", search.Marked{Match: "8921000-11-2 2", After: " 10"}, true},
		{"заказ 15 8 921 000 11 22", "+7 921 000 11 22", search.Marked{Before: "заказ 15 ", Match: "8 921 000 11 22"}, true},
		{"тел 2 89210001122", "+7 921 000 11 22", search.Marked{Before: "тел 2 ", Match: "89210001122"}, true},
		{"заказ 15 (921) 000-11-22 3 шт", "89210001122", search.Marked{Before: "заказ 15 ", Match: "(921) 000-11-22", After: " 3 шт"}, true},
		{"04.12.2026 7 921 000 11 22", "8 921 000-11-22", search.Marked{Before: "04.12.2026 ", Match: "7 921 000 11 22"}, true},
		{"1. 8 921 000 11 22 2. 8 921 000 11 23", "+7 921 000 11 23", search.Marked{Before: "1. 8 921 000 11 22 2. ", Match: "8 921 000 11 23"}, true},
		{"5 44 20 7946 0958", "+44 20 7946 0958", search.Marked{Before: "5 ", Match: "44 20 7946 0958"}, true},
		{strings.Repeat("5 ", 100) + "8 921 000 11 22", "+7 921 000 11 22", search.Marked{Before: strings.Repeat("5 ", 40), Match: "8 921 000 11 22", CutBefore: true}, true},
		{strings.Repeat("00 ", 100) + "7 921 000 11 22", "+7 921 000 11 22", search.Marked{Before: strings.Repeat("00 ", 27)[1:], Match: "00 7 921 000 11 22", CutBefore: true}, true},
		// Never a group cut, nor a form read after a country code.
		{"789210001122", "+7 921 000 11 22", search.Marked{}, false},
		{"89210001122345", "+7 921 000 11 22", search.Marked{}, false},
		{"заказ 15 789210001122 3", "+7 921 000 11 22", search.Marked{}, false},
		{"тел 2 89210001122345", "+7 921 000 11 22", search.Marked{}, false},
		{"8 921 000-11-223 10", "+7 921 000 11 22", search.Marked{}, false},
		// After 00 a country code and a number of its lengths; else the
		// digits before were something else (there is no +8; +1 has ten).
		{"008 921 000 11 22", "+7 921 000 11 22", search.Marked{Before: "008 ", Match: "921 000 11 22"}, true},
		{"заказ 001 8 921 000 11 22", "+7 921 000 11 22", search.Marked{Before: "заказ 001 ", Match: "8 921 000 11 22"}, true},
		{"заказ 0044 8 921 000 11 22", "+7 921 000 11 22", search.Marked{Before: "заказ 0044 ", Match: "8 921 000 11 22"}, true},
		{"001 921 000 11 22", "+7 921 000 11 22", search.Marked{}, false},
		{"8 10 1 921 000 11 22", "+7 921 000 11 22", search.Marked{}, false},
		{"00 1 921 000 11 22", "+7 921 000 11 22", search.Marked{}, false},
		{"+1 921 000 11 22 5", "+7 921 000 11 22", search.Marked{}, false},
		{"+1 (921) 000-11-22", "+7 921 000 11 22", search.Marked{}, false},
		{"5 020 7946 0958", "+44 20 7946 0958", search.Marked{}, false}, // in RU: another number
		{"020 7946 0958", "+44 20 7946 0958", search.Marked{}, false},   // in RU: another number
		{"+44 (20) 7946-0958", "+44 20 7946 0958", search.Marked{Match: "+44 (20) 7946-0958"}, true},
	} {
		q, err := search.Parse(c.q, "RU")
		if err != nil {
			t.Fatal(err)
		}
		if got, ok := q.Mark(c.text); got != c.want || ok != c.ok {
			t.Errorf("Mark(%q) for %q = %+v, %v; want %+v, %v", c.text, c.q, got, ok, c.want, c.ok)
		}
	}
}

// BenchmarkSaysPhone is a phone query's reading of the chat messages its
// sieve lets by (those that hold the national number's digits), and of
// some it does not, beside the baseline of a text query's reading of the
// same messages.
func BenchmarkSaysPhone(b *testing.B) {
	msgs := []string{
		"Мой телефон 8 916 555-12-34, перезвоните",
		"Заказ 4815 передан в доставку, курьер позвонит заранее. Мой телефон 8 916 555 12 34 10 раз звонил",
		"заказ 15 8 916 555 12 34 и 04.12.2026 в 10:00 ещё 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20",
		"Здравствуйте! Подскажите, есть ли в наличии размер 42? Доставка по области 350 рублей, 2-3 дня.",
	}
	for _, bc := range []struct{ name, q string }{{"phone", "+7 916 555-12-34"}, {"baseline-text", "перезвоните"}} {
		q, err := search.Parse(bc.q, "RU")
		if err != nil {
			b.Fatal(err)
		}
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				for _, m := range msgs {
					if q.NSN != "" {
						q.SaysPhone(m)
					} else {
						q.Mark(m)
					}
				}
			}
		})
	}
}
