package httpd_test

import (
	"bytes"
	"context"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"appliance/httpd/httpdtest"
	"appliance/store"
)

// A store written before ParsePhone read 00 and 8 10 before a country code
// holds '00 44 20 7946 0958' typed on a RU site as the invalid
// +7 00442079460958, and '00 7 921 000-11-22 доб. 5' unparsed: at the
// first start of this version such leads, callbacks and visitors get the
// number ParsePhone reads now, on the leads page, in the API, the CSV, the
// search and the phone index, and a later start changes nothing.
func TestPhonesStoredBeforeIntlPrefixReread(t *testing.T) {
	srv := httpdtest.StartAt(t, t.TempDir())
	key := srv.Site(t, "Shop", "shop.example")
	site, err := srv.HTTP.Sites().ByKey(key)
	if err != nil {
		t.Fatal(err)
	}
	v := trackHit(t, srv, key, "", "https://shop.example/", "")
	ctx := context.Background()

	// The records as the version before wrote them (their encoding has
	// not changed: only the digits the old reading gave).
	at := time.Now().Add(-time.Hour).UnixMilli()
	leads := []store.Lead{
		{Name: "Ann", Phone: "700442079460958", PhoneRaw: "00 44 20 7946 0958"},
		{Name: "Bob", PhoneRaw: "00 7 921 000-11-22 доб. 5", PhoneUnparsed: true},
		{Name: "Cid", Phone: "79210001122", PhoneRaw: "8 921 000-11-22"},
		{Name: "Dan", PhoneRaw: "00 44 20 7946 095", PhoneUnparsed: true}, // a digit short: still no number
	}
	for i := range leads {
		leads[i].ID, leads[i].Time, leads[i].Via = srv.DB.NextID(), at+int64(i), "js"
		leads[i].Visitor, leads[i].Session = v.VisitorID, v.SessionID
	}
	cb := store.Callback{ID: srv.DB.NextID(), Time: at, Phone: "700442079460958", PhoneRaw: "0044 20 7946 0958 #5",
		State: store.CallbackNoScenario, Attribution: store.Attribution{Visitor: v.VisitorID, Session: v.SessionID}}
	b, err := srv.DB.Get(store.VisitorKey(v.VisitorID))
	if err != nil {
		t.Fatal(err)
	}
	vr, err := store.DecodeVisitor(b)
	if err != nil {
		t.Fatal(err)
	}
	vr.Phones, vr.PhonesTyped = []string{"79161234567", "700375291234567"}, []string{"00 49 30 123456"}
	err = srv.DB.Update(ctx, func(tx *store.Tx) error {
		for _, l := range leads {
			tx.Set(store.LeadKey(site.ID, l.ID), l.Encode())
			store.IndexVisitorItem(tx, l.Visitor, store.ItemLead, l.ID)
			store.IndexPhone(tx, site.ID, l.Phone, store.PhoneVisitor{Visitor: l.Visitor, Session: l.Session, Time: l.Time})
		}
		tx.Set(store.CallbackKey(site.ID, cb.ID), cb.Encode())
		tx.Set(store.VisitorKey(vr.ID), vr.Encode())
		store.IndexContacts(tx, &vr)
		tx.Delete(store.MetaKey("phone-reread")) // a store of the version before
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	srv = srv.Restart(t)
	got := map[string]store.Lead{}
	for _, l := range siteLeads(t, srv, key) {
		got[l.Name] = l
	}
	for _, want := range []store.Lead{
		{Name: "Ann", Phone: "442079460958", PhoneRaw: "00 44 20 7946 0958"},
		{Name: "Bob", Phone: "79210001122", PhoneRaw: "00 7 921 000-11-22 доб. 5"},
		{Name: "Cid", Phone: "79210001122", PhoneRaw: "8 921 000-11-22"},
		{Name: "Dan", PhoneRaw: "00 44 20 7946 095", PhoneUnparsed: true},
	} {
		if l := got[want.Name]; l.Phone != want.Phone || l.PhoneRaw != want.PhoneRaw || l.PhoneUnparsed != want.PhoneUnparsed {
			t.Errorf("lead %s: phone %q typed %q unparsed %v; want %q, %q, %v", want.Name, l.Phone, l.PhoneRaw, l.PhoneUnparsed, want.Phone, want.PhoneRaw, want.PhoneUnparsed)
		}
	}

	// The API gives the number read now.
	tok := chatToken(t, srv, "crm", site.ID)
	phones := map[string]any{}
	for _, l := range apiList(t, srv.URL+"api/v1/leads?site="+key, tok) {
		phones[fmt.Sprint(l["name"])] = l["phone"]
	}
	if phones["Ann"] != "442079460958" || phones["Bob"] != "79210001122" {
		t.Errorf("API leads' phones: %v", phones)
	}
	// So do the CSV and the leads page, and the search finds the lead by
	// the number dialled with 8 10, which the old digits do not hold.
	c := srv.Client(t)
	if csv := rawPage(t, c, srv.URL+"sites/"+key+"/leads.csv"); !strings.Contains(csv, `"=""442079460958"""`) || strings.Contains(csv, "700442079460958") {
		t.Errorf("leads CSV:\n%s", csv)
	}
	if page := rawPage(t, c, srv.URL+"sites/"+key+"/leads"); !strings.Contains(page, `href="tel:+442079460958"`) {
		t.Errorf("the leads page does not show +442079460958")
	}
	found := rawPage(t, c, srv.URL+"sites/"+key+"/search?q="+url.QueryEscape("8 10 44 20 7946 0958"))
	if !strings.Contains(found, "Ann") {
		t.Errorf("the search for 8 10 44 20 7946 0958 does not find Ann's lead")
	}
	// The callback keeps its state, with the number read now.
	if b, err := srv.DB.Get(store.CallbackKey(site.ID, cb.ID)); err != nil {
		t.Fatal(err)
	} else if c, err := store.DecodeCallback(cb.ID, b); err != nil || c.Phone != "442079460958" || c.PhoneRaw != cb.PhoneRaw || c.State != cb.State {
		t.Errorf("callback: %+v, %v", c, err)
	}
	// The visitor's numbers, as their record and their contact index
	// entry hold them.
	b, err = srv.DB.Get(store.VisitorKey(v.VisitorID))
	if err != nil {
		t.Fatal(err)
	}
	if vr, err := store.DecodeVisitor(b); err != nil || !slices.Equal(vr.Phones, []string{"79161234567", "375291234567", "4930123456"}) || len(vr.PhonesTyped) != 0 {
		t.Errorf("visitor: %+v, %v", vr, err)
	}
	if b, err := srv.DB.Get(store.VisitorContactKey(site.ID, v.VisitorID)); err != nil {
		t.Fatal(err)
	} else if ct, err := store.DecodeContacts(b); err != nil || !slices.Equal(ct.Phones, []string{"79161234567", "375291234567", "4930123456"}) || len(ct.PhonesTyped) != 0 {
		t.Errorf("contacts: %+v, %v", ct, err)
	}
	// A call from the number finds the visitor who left it.
	for _, phone := range []string{"442079460958", "79210001122", "375291234567", "4930123456"} {
		if p, ok, err := srv.DB.LookupPhone(site.ID, phone); err != nil || !ok || p.Visitor != v.VisitorID {
			t.Errorf("phone index %s: %+v, %v, %v", phone, p, ok, err)
		}
	}

	// A second run, even with the mark gone, changes nothing.
	before := phoneRecords(t, srv, site.ID)
	if err := srv.DB.Delete(ctx, store.MetaKey("phone-reread")); err != nil {
		t.Fatal(err)
	}
	srv = srv.Restart(t)
	if after := phoneRecords(t, srv, site.ID); !slices.EqualFunc(before, after, bytes.Equal) {
		t.Errorf("the second run changed the records:\n%q\n%q", before, after)
	}
	if _, err := srv.DB.Get(store.MetaKey("phone-reread")); err != nil {
		t.Errorf("the run is not marked done: %v", err)
	}
}

// phoneRecords is every key and value of site's leads, callbacks, visitors,
// contacts and phone index entries.
func phoneRecords(t *testing.T, srv *httpdtest.Server, site uint32) [][]byte {
	t.Helper()
	var out [][]byte
	for _, p := range [][]byte{store.LeadPrefix(site), store.CallbackPrefix(site), store.VisitorContactPrefix(site), {'v'}, store.PhoneVisitorKey(site, "")[:5]} {
		if err := srv.DB.ScanPrefix(context.Background(), p, false, 0, func(k, v []byte) bool {
			out = append(out, slices.Clone(k), slices.Clone(v))
			return true
		}); err != nil {
			t.Fatal(err)
		}
	}
	return out
}
