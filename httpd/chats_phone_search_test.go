package httpd_test

import (
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"appliance/httpd/httpdtest"
	"appliance/store"
)

// The chats page's transcript search finds a phone number as the site
// search does: in any written form, read in the site's region, not inside
// a longer number ("89210001122" was found in the order number
// 1892100011223) but among other groups of digits ("заказ 15 8 921 000 11
// 22", "8 921 000 11 22 10 раз"), not after another country code, and
// not in the appliance's own notes; words find what
// they did, and the CSV of the search holds the same chats.
func TestChatsPageFindsPhoneAnyForm(t *testing.T) {
	srv := httpdtest.Start(t)
	key := srv.Site(t, "Shop", "shop.example")
	site, err := srv.HTTP.Sites().ByKey(key)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().Add(-time.Hour)
	chat := map[string]uint64{}
	for i, c := range []struct{ name, from, text string }{
		{"brackets", "visitor", "Мой номер 8(921)000-11-22, перезвоните"},
		{"count after", "visitor", "звонил 8 921 000-11-22 10 раз"},
		{"spaced, count after", "visitor", "звонил 8 921 000 11 22 10 раз"},
		{"order before", "operator", "заказ 15 8 921 000 11 22 оформлен"},
		{"longer order", "visitor", "заказ 789210001122 и 89210001122345"},
		{"operator, 00", "operator", "Записала: 00 7 921 000 11 22"},
		{"order number", "visitor", "заказ 1892100011223"},
		{"abroad", "visitor", "+1 921 000 11 22 или 00 1 921 000 11 22"},
		{"note", "system", "Лид: 8 921 000-11-22"},
		{"another number", "visitor", "8 921 000-11-23"},
	} {
		at := now.Add(time.Duration(i) * time.Minute).UnixMilli()
		if err := srv.DB.Update(t.Context(), func(tx *store.Tx) error {
			ch := store.Chat{ID: srv.DB.NextID(), Site: site.ID, Created: at, Closed: at + 1000, ClosedBy: "operator", Last: 1, LastAt: at}
			tx.Set(store.ChatKey(site.ID, ch.ID), ch.Encode())
			m := store.ChatMessage{From: c.from, Name: "Ольга", Text: c.text, At: at}
			tx.Set(store.ChatMessageKey(site.ID, ch.ID, 1), m.Encode())
			chat[c.name] = ch.ID
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	c := srv.Client(t)
	rows := regexp.MustCompile(`<tr id="chat-(\d+)">`)
	found := func(q string) []uint64 {
		t.Helper()
		var out []uint64
		for _, m := range rows.FindAllStringSubmatch(okPage(t, c, srv.URL+"sites/"+key+"/chat?q="+url.QueryEscape(q)), -1) {
			id, _ := strconv.ParseUint(m[1], 10, 64)
			out = append(out, id)
		}
		slices.Sort(out)
		return out
	}
	ids := func(names ...string) []uint64 {
		var out []uint64
		for _, n := range names {
			out = append(out, chat[n])
		}
		slices.Sort(out)
		return out
	}
	phone := ids("brackets", "count after", "spaced, count after", "order before", "operator, 00")
	for _, tt := range []struct {
		q    string
		want []uint64
	}{
		{"+7 921 000 11 22", phone},
		{"89210001122", phone},
		{"8 10 7 921 000-11-22", phone},
		{"8 921 000-11-22", phone},
		{"перезвоните", ids("brackets")},
		{"1892100011223", ids("order number")},
	} {
		if got := found(tt.q); !slices.Equal(got, tt.want) {
			t.Errorf("the chats page's search for %q lists %v, want %v (chats %v)", tt.q, got, tt.want, chat)
		}
	}

	status, csv := getPage(t, c, srv.URL+"sites/"+key+"/chats.csv?q="+url.QueryEscape("+7 921 000 11 22"))
	if status != 200 || strings.Count(csv, "\n") != 6 || !strings.Contains(csv, "8(921)000-11-22") || strings.Contains(csv, "1892100011223") {
		t.Errorf("the CSV of the search: %d\n%s", status, csv)
	}
}
