package leads_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"appliance/httpd/leads"
	"appliance/numbers"
	"appliance/store"
	"appliance/store/storetest"
)

func TestCheck(t *testing.T) {
	now := time.Unix(1700000000, 0)
	for _, tt := range []struct {
		name    string
		in      leads.Input
		wantErr string // "" for success
		check   func(store.Lead) bool
	}{
		{"name only", leads.Input{Name: " Дмитрий "}, "", func(l store.Lead) bool { return l.Name == "Дмитрий" }},
		{"phone normalised, raw kept", leads.Input{Phone: "8 (912) 345-67-89"}, "",
			func(l store.Lead) bool { return l.Phone == "79123456789" && l.PhoneRaw == "8 (912) 345-67-89" }},
		{"phone with plus", leads.Input{Phone: "+7 925 123-45-67"}, "", func(l store.Lead) bool { return l.Phone == "79251234567" }},
		// A number dialled with 00 or 8 10 before the country code is the
		// number after it: it was stored as the RU number +7 00442079460958.
		{"phone after 00", leads.Input{Phone: "00 44 20 7946 0958"}, "", func(l store.Lead) bool {
			return l.Phone == "442079460958" && l.PhoneRaw == "00 44 20 7946 0958" && !l.PhoneUnparsed
		}},
		{"phone after 00, own country", leads.Input{Phone: "00 7 921 000-11-22"}, "", func(l store.Lead) bool {
			return l.Phone == "79210001122" && !l.PhoneUnparsed
		}},
		{"phone after 8 10", leads.Input{Phone: "8 10 375 29 123-45-67"}, "", func(l store.Lead) bool { return l.Phone == "375291234567" }},
		// And so with an extension after it: it was stored as +7 00442079460958.
		{"phone after 00 with an extension", leads.Input{Phone: "00 44 20 7946 0958 доб. 5"}, "", func(l store.Lead) bool {
			return l.Phone == "442079460958" && l.PhoneRaw == "00 44 20 7946 0958 доб. 5" && !l.PhoneUnparsed
		}},
		{"phone after 8 10 with an extension", leads.Input{Phone: "8 10 375 29 123-45-67 ext. 12"}, "", func(l store.Lead) bool { return l.Phone == "375291234567" }},
		{"email lower-cased", leads.Input{Email: "No@Email.ADR"}, "", func(l store.Lead) bool { return l.Email == "no@email.adr" }},
		{"sale with cost", leads.Input{Name: "a", IsSale: true, SaleCost: "9 999,5"}, "",
			func(l store.Lead) bool { return l.IsSale && l.SaleCost == 999950 }},
		{"sale without cost", leads.Input{Name: "a", IsSale: true}, "", func(l store.Lead) bool { return l.IsSale && l.SaleCost == 0 }},
		{"multi-line message", leads.Input{Name: "a", Message: "line 1\nline 2\ttab"}, "",
			func(l store.Lead) bool { return l.Message == "line 1\nline 2\ttab" }},
		{"group and form", leads.Input{Name: "a", GroupID: 1234, FormName: "Заказ"}, "",
			func(l store.Lead) bool { return l.GroupID == 1234 && l.FormName == "Заказ" && l.Via == "js" }},

		// Nothing a visitor typed is a reason to lose the lead: what does not
		// parse is kept as typed and flagged.
		{"message only", leads.Input{Message: "Перезвоните мне"}, "", func(l store.Lead) bool {
			return l.Message == "Перезвоните мне" && !l.PhoneUnparsed && !l.EmailUnparsed
		}},
		{"email without a domain", leads.Input{Email: "ivan@mail"}, "", func(l store.Lead) bool {
			return l.EmailRaw == "ivan@mail" && l.Email == "" && l.EmailUnparsed && !l.PhoneUnparsed
		}},
		{"phone with a name", leads.Input{Phone: "+7 (916) 123-45-67, Иван"}, "", func(l store.Lead) bool {
			return l.PhoneRaw == "+7 (916) 123-45-67, Иван" && l.Phone == "" && l.PhoneUnparsed && !l.EmailUnparsed
		}},
		{"phone too short", leads.Input{Phone: "12"}, "", func(l store.Lead) bool {
			return l.PhoneRaw == "12" && l.Phone == "" && l.PhoneUnparsed
		}},
		{"phone after 00, a digit short", leads.Input{Phone: "00 44 20 7946 095"}, "", func(l store.Lead) bool {
			return l.PhoneRaw == "00 44 20 7946 095" && l.Phone == "" && l.PhoneUnparsed
		}},
		{"email kept as typed", leads.Input{Email: " Ivan@Example.COM "}, "", func(l store.Lead) bool {
			return l.EmailRaw == "Ivan@Example.COM" && l.Email == "ivan@example.com" && !l.EmailUnparsed
		}},
		{"form name only", leads.Input{FormName: "Обратный звонок"}, "", func(l store.Lead) bool { return l.FormName == "Обратный звонок" }},

		{"nothing", leads.Input{}, "the lead is empty", nil},
		{"blank", leads.Input{Name: "   ", Message: " \n "}, "the lead is empty", nil},
		{"only a sale", leads.Input{IsSale: true, SaleCost: "100"}, "the lead is empty", nil},
		{"cost without sale", leads.Input{Name: "a", SaleCost: "100"}, "sale_cost needs is_sale: true", nil},
		{"cost not a number", leads.Input{Name: "a", IsSale: true, SaleCost: "lots"}, "sale_cost", nil},
		{"cost negative", leads.Input{Name: "a", IsSale: true, SaleCost: "-5"}, "sale_cost", nil},
		{"cost 3 decimals", leads.Input{Name: "a", IsSale: true, SaleCost: "1.005"}, "more than 2 decimals", nil},
		{"cost huge", leads.Input{Name: "a", IsSale: true, SaleCost: "99999999999999"}, "too large", nil},
		{"phone too long", leads.Input{Phone: strings.Repeat("1", leads.MaxPhone+1)}, "phone is longer than", nil},
		{"email too long", leads.Input{Email: strings.Repeat("a", leads.MaxEmail) + "@x.ru"}, "email is longer than", nil},
		{"name too long", leads.Input{Name: strings.Repeat("я", leads.MaxName)}, "name is longer than", nil},
		{"message too long", leads.Input{Name: "a", Message: strings.Repeat("x", leads.MaxMessage+1)}, "message is longer than", nil},
		{"invalid utf-8", leads.Input{Name: "a\xffb"}, "not valid UTF-8", nil},
		{"control char", leads.Input{Name: "a\x00b"}, "control characters", nil},
		{"newline in name", leads.Input{Name: "a\nb"}, "control characters", nil},
		{"group too big", leads.Input{Name: "a", GroupID: 1 << 53}, "group_id", nil},
		{"url too long", leads.Input{Name: "a", PageURL: "https://x/" + strings.Repeat("a", leads.MaxURL)}, "page url is longer", nil},
		{"javascript: page", leads.Input{Name: "a", PageURL: "javascript:alert(1)"}, "page url must be an absolute http(s) URL", nil},
		{"data: page", leads.Input{Name: "a", PageURL: "data:text/html,<b>x</b>"}, "page url must be", nil},
		{"relative page", leads.Input{Name: "a", PageURL: "/cart"}, "page url must be", nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			l, err := leads.Check(tt.in, leads.ViaJS, now, numbers.DefaultRegion)
			if tt.wantErr != "" {
				if !errors.Is(err, leads.ErrInvalid) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Check = %+v, %v; want error %q", l, err, tt.wantErr)
				}
				return
			}
			if err != nil || !tt.check(l) || l.Time != now.UnixMilli() {
				t.Fatalf("Check = %+v, %v", l, err)
			}
		})
	}
}

func TestCost(t *testing.T) {
	for in, want := range map[string]int64{"0": 0, "10000": 1000000, "9999.5": 999950, "0,01": 1, "1 000 000.99": 100000099, "1000000000000": 100000000000000} {
		got, err := leads.ParseCost(in)
		if err != nil || got != want {
			t.Errorf("ParseCost(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", ".", "1.", ".5", "1e3", "0x10", "1.2.3", "+1", "1000000000000.01"} {
		if got, err := leads.ParseCost(in); err == nil {
			t.Errorf("ParseCost(%q) = %d, want an error", in, got)
		}
	}
	for in, want := range map[int64]string{0: "0", 1: "0.01", 999950: "9999.50", 1000000: "10000"} {
		if got := leads.FormatCost(in); got != want {
			t.Errorf("FormatCost(%d) = %q, want %q", in, got, want)
		}
	}
}

func TestView(t *testing.T) {
	l := store.Lead{ID: 9, Time: 1700000000000, Name: "a", IsSale: true, SaleCost: 150,
		Attribution: store.Attribution{Visitor: 1, Session: 2, Hit: 3, PageURL: "https://shop/cart",
			Source: store.Source{Channel: "ad", UTMSource: "google", UTMMedium: "cpc", Landing: "https://shop/?utm_source=google"}}}
	v := leads.ViewOf(&l)
	if v.VisitorID != 1 || v.SessionID != 2 || v.HitID != 3 || v.PageURL != "https://shop/cart" || v.Source.Channel != "ad" ||
		v.Source.UTMSource != "google" || v.Source.Landing != l.Landing || v.SaleCost == nil || *v.SaleCost != "1.50" || v.GroupID != nil {
		t.Fatalf("view %+v", v)
	}
	// A whole amount keeps its two decimals, as the webhooks' and the
	// API's sale_cost is documented: "9999.00", not "9999".
	l.SaleCost = 999900
	if v := leads.ViewOf(&l); v.SaleCost == nil || *v.SaleCost != "9999.00" {
		t.Errorf("sale_cost of 9999 is %v, want 9999.00", v.SaleCost)
	}
}

func TestListFilters(t *testing.T) {
	db := storetest.Open(t)
	ctx := context.Background()
	day := time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
	put := func(site uint32, l store.Lead) {
		l.ID = db.NextID()
		if err := db.Update(ctx, func(tx *store.Tx) error { leads.Put(tx, site, &l); return nil }); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 10 {
		l := store.Lead{Time: day.Add(time.Duration(i) * 24 * time.Hour).UnixMilli(), Name: string(rune('a' + i))}
		if i%2 == 0 {
			l.PhoneRaw, l.Phone = "+79123456789", "79123456789"
		}
		if i%3 == 0 {
			l.FormName = "order"
			l.IsSale = true
		}
		put(1, l)
	}
	put(2, store.Lead{Time: day.UnixMilli(), Name: "other site"})
	names := func(f leads.Filter, limit int) string {
		var b strings.Builder
		if err := leads.New(db, nil, nil, leads.Options{}).List(ctx, 1, f, limit, func(l store.Lead) bool { b.WriteString(l.Name); return true }); err != nil {
			t.Fatal(err)
		}
		return b.String()
	}
	for _, tt := range []struct {
		name  string
		f     leads.Filter
		limit int
		want  string
	}{
		{"all newest first", leads.Filter{}, 0, "jihgfedcba"},
		{"limit", leads.Filter{}, 3, "jih"},
		{"range", leads.Filter{From: day.Add(48 * time.Hour), To: day.Add(5 * 24 * time.Hour)}, 0, "edc"},
		{"form", leads.Filter{FormName: "order"}, 0, "jgda"},
		{"phone", leads.Filter{HasPhone: true}, 0, "igeca"},
		{"sale", leads.Filter{Sale: "yes"}, 0, "jgda"},
		{"not sale", leads.Filter{Sale: "no"}, 0, "ihfecb"},
		{"combined", leads.Filter{Sale: "yes", HasPhone: true, From: day.Add(24 * time.Hour)}, 0, "g"},
	} {
		if got := names(tt.f, tt.limit); got != tt.want {
			t.Errorf("%s: %q, want %q", tt.name, got, tt.want)
		}
	}
}
