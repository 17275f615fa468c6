package httpd_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"testing"
	"time"

	"appliance/httpd/accounts"
	"appliance/httpd/httpdtest"
	"appliance/httpd/visitors"
	"appliance/store"
)

// A visitor with more of every list than the card shows: the API's card
// says, per list, how many it leaves out and where the list goes on; the
// pages it points to (?older=LIST&at=NEXT) give that list alone, newest
// first, and together with the card every record of the visitor exactly
// once. Malformed paging arguments are 400s with a JSON reason.
func TestVisitorCardAPIPages(t *testing.T) {
	srv := httpdtest.Start(t)
	key := srv.Site(t, "Shop", "shop.example")
	site, err := srv.HTTP.Sites().ByKey(key)
	if err != nil {
		t.Fatal(err)
	}
	v := trackHit(t, srv, key, "", "https://shop.example/", "")
	tok, err := accounts.New(srv.DB).CreateToken(t.Context(), "crm", nil)
	if err != nil {
		t.Fatal(err)
	}

	// Records beyond the limits, written as the server writes them: the
	// record and the visitor's index entry in one write. Each list's
	// length is not a multiple of its page, so the last page is short.
	lim := visitors.DefaultLimits
	want := map[string][]uint64{"sessions": {v.SessionID}}
	counts := map[string]int{"sessions": 2*lim.Sessions + 3, "leads": lim.Items + 7, "callbacks": lim.Items + 1,
		"calls": 2*lim.Items + 5, "chats": lim.Items + 11}
	now := time.Now().Add(-time.Hour)
	if err := srv.DB.Update(t.Context(), func(tx *store.Tx) error {
		at := func(i int) int64 { return now.Add(time.Duration(i) * time.Second).UnixMilli() }
		attr := store.Attribution{Visitor: v.VisitorID, Session: v.SessionID}
		for list, n := range counts {
			for i := range n {
				if list == "sessions" && i == 0 {
					continue // the tracked one
				}
				id := srv.DB.NextID()
				switch list {
				case "sessions":
					s := store.Session{ID: id, Visitor: v.VisitorID, Started: at(i), LastHit: at(i), Hits: 1, Channel: "direct"}
					tx.Set(store.SessionKey(site.ID, id), s.Encode())
					store.IndexVisitorItem(tx, v.VisitorID, store.ItemSession, id)
				case "leads":
					l := store.Lead{ID: id, Time: at(i), Via: "js", Name: "Lead " + strconv.Itoa(i), Attribution: attr}
					tx.Set(store.LeadKey(site.ID, id), l.Encode())
					store.IndexVisitorItem(tx, v.VisitorID, store.ItemLead, id)
				case "callbacks":
					c := store.Callback{ID: id, Time: at(i), Phone: "7916000" + strconv.Itoa(1000+i), Attribution: attr}
					tx.Set(store.CallbackKey(site.ID, id), c.Encode())
					store.IndexVisitorItem(tx, v.VisitorID, store.ItemCallback, id)
				case "calls":
					c := store.Call{ID: id, Time: at(i), Received: at(i), Called: "74950000001", Caller: "79161111111",
						Kind: "site", Attributed: true, Visitor: v.VisitorID, Session: v.SessionID, Match: store.MatchCallerID}
					tx.Set(store.CallKey(site.ID, id), c.Encode())
					store.IndexVisitorItem(tx, v.VisitorID, store.ItemCall, id)
				case "chats":
					ch := store.Chat{ID: id, Site: site.ID, Created: at(i), Last: 1, LastAt: at(i), Attribution: attr}
					tx.Set(store.ChatKey(site.ID, id), ch.Encode())
					m := store.ChatMessage{From: "visitor", Text: "hello " + strconv.Itoa(i), At: at(i)}
					tx.Set(store.ChatMessageKey(site.ID, id, 1), m.Encode())
					store.IndexVisitorItem(tx, v.VisitorID, store.ItemChat, id)
				}
				want[list] = append(want[list], id)
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}

	card := "api/v1/visitors/" + strconv.FormatUint(v.VisitorID, 10) + "?site=" + key
	get := func(query string) (int, []byte) {
		t.Helper()
		req, _ := http.NewRequest("GET", srv.URL+card+query, nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b
	}
	page := func(query string) visitors.View {
		t.Helper()
		code, raw := get(query)
		var env struct {
			Success bool          `json:"success"`
			Result  visitors.View `json:"result"`
		}
		if err := json.Unmarshal(raw, &env); code != http.StatusOK || err != nil || !env.Success {
			t.Fatalf("card%s: %d %s", query, code, raw)
		}
		return env.Result
	}
	type list struct {
		ids  []uint64
		more int
		next uint64
	}
	lists := func(c *visitors.View) map[string]list {
		out := map[string]list{
			"sessions":  {more: c.More.Sessions, next: c.Next.Sessions},
			"leads":     {more: c.More.Leads, next: c.Next.Leads},
			"callbacks": {more: c.More.Callbacks, next: c.Next.Callbacks},
			"calls":     {more: c.More.Calls, next: c.Next.Calls},
			"chats":     {more: c.More.Chats, next: c.Next.Chats},
		}
		add := func(name string, id uint64) {
			l := out[name]
			l.ids = append(l.ids, id)
			out[name] = l
		}
		for _, s := range c.Sessions {
			add("sessions", s.ID)
		}
		for _, l := range c.Leads {
			add("leads", l.ID)
		}
		for _, cb := range c.Callbacks {
			add("callbacks", cb.ID)
		}
		for _, call := range c.Calls {
			add("calls", call.ID)
		}
		for _, ch := range c.Chats {
			add("chats", ch.ID)
		}
		return out
	}

	whole := page("")
	if whole.List != "" {
		t.Errorf("the whole card names the list %q", whole.List)
	}
	first := lists(&whole)
	for name, ids := range want {
		l := first[name]
		limit := lim.Items
		if name == "sessions" {
			limit = lim.Sessions
		}
		if len(l.ids) != limit || l.more != len(ids)-limit || l.next == 0 {
			t.Errorf("card's %s: %d shown, more %d, next %d; want %d shown, more %d and a cursor", name, len(l.ids), l.more, l.next, limit, len(ids)-limit)
		}
		// Every record once across the card and the pages of its list,
		// newest first, each page the list alone.
		seen := map[uint64]int{}
		got := append([]uint64(nil), l.ids...)
		for next, pages := l.next, 0; next != 0; pages++ {
			if pages > len(ids)/limit+1 {
				t.Fatalf("the pages of %s do not end", name)
			}
			p := page("&older=" + name + "&at=" + strconv.FormatUint(next, 10))
			if p.List != name {
				t.Errorf("a page of %s names the list %q", name, p.List)
			}
			pl := lists(&p)
			for other, o := range pl {
				if other != name && (len(o.ids) != 0 || o.more != 0 || o.next != 0) {
					t.Errorf("a page of %s has %s: %d records, more %d, next %d", name, other, len(o.ids), o.more, o.next)
				}
			}
			cur := pl[name]
			if len(cur.ids) == 0 || len(cur.ids) > limit {
				t.Fatalf("a page of %s from %d has %d records", name, next, len(cur.ids))
			}
			if cur.ids[0] != next {
				t.Errorf("the page of %s from %d starts at %d", name, next, cur.ids[0])
			}
			got = append(got, cur.ids...)
			if cur.more != len(ids)-len(got) {
				t.Errorf("a page of %s says %d more, want %d", name, cur.more, len(ids)-len(got))
			}
			next = cur.next
		}
		for _, id := range got {
			seen[id]++
		}
		for _, id := range ids {
			if seen[id] != 1 {
				t.Errorf("%s %d given %d times", name, id, seen[id])
			}
			delete(seen, id)
		}
		if len(seen) != 0 || len(got) != len(ids) {
			t.Errorf("%s: %d given, want %d; not the visitor's: %v", name, len(got), len(ids), seen)
		}
		for i := 1; i < len(got); i++ {
			if got[i] >= got[i-1] {
				t.Errorf("%s not newest first: %d after %d", name, got[i], got[i-1])
				break
			}
		}
	}

	// ?older=LIST alone is the list's first page; a page from a record
	// that is not the list's newest goes on from there.
	if p := page("&older=leads"); len(p.Leads) != lim.Items || p.Leads[0].ID != first["leads"].ids[0] || len(p.Sessions) != 0 {
		t.Errorf("?older=leads is not the newest leads alone")
	}

	for _, q := range []string{"&older=nope", "&older=", "&at=5", "&older=calls&at=", "&older=calls&at=x", "&older=calls&at=0",
		"&older=calls&at=-1", "&older=calls&at=9007199254740992", "&older=Calls&at=5"} {
		code, raw := get(q)
		var e struct {
			Success *bool  `json:"success"`
			Error   string `json:"error"`
		}
		if err := json.Unmarshal(raw, &e); code != http.StatusBadRequest || err != nil || e.Success == nil || *e.Success || e.Error == "" {
			t.Errorf("%s: %d %s, want 400 and a JSON error", q, code, raw)
		}
	}
}
