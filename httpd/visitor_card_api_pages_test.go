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

// cardAPI is a visitor with records in every list of the card, and their
// card through the real server's API.
type cardAPI struct {
	srv  *httpdtest.Server
	tok  string
	card string              // the card's path and ?site=
	want map[string][]uint64 // the visitor's ids of each list, oldest first
}

// newCardAPI tracks a visitor's hit on a new site and writes them counts
// records of each list (sessions: the tracked one among them), as the
// server writes them: the record and the visitor's index entry in one
// write.
func newCardAPI(t *testing.T, counts map[string]int) *cardAPI {
	t.Helper()
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
	want := map[string][]uint64{"sessions": {v.SessionID}}
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
	return &cardAPI{srv: srv, tok: tok, want: want,
		card: "api/v1/visitors/" + strconv.FormatUint(v.VisitorID, 10) + "?site=" + key}
}

// get is the card's API with query after ?site=, as a CRM asks for it.
func (a *cardAPI) get(t *testing.T, query string) (int, []byte) {
	t.Helper()
	req, _ := http.NewRequest("GET", a.srv.URL+a.card+query, nil)
	req.Header.Set("Authorization", "Bearer "+a.tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// page is the card or a page of it, which must be a 200.
func (a *cardAPI) page(t *testing.T, query string) visitors.View {
	t.Helper()
	code, raw := a.get(t, query)
	var env struct {
		Success bool          `json:"success"`
		Result  visitors.View `json:"result"`
	}
	if err := json.Unmarshal(raw, &env); code != http.StatusOK || err != nil || !env.Success {
		t.Fatalf("card%s: %d %s", query, code, raw)
	}
	return env.Result
}

// refuses checks that each query is a 400 with a JSON reason.
func (a *cardAPI) refuses(t *testing.T, queries ...string) {
	t.Helper()
	for _, q := range queries {
		code, raw := a.get(t, q)
		var e struct {
			Success *bool  `json:"success"`
			Error   string `json:"error"`
		}
		if err := json.Unmarshal(raw, &e); code != http.StatusBadRequest || err != nil || e.Success == nil || *e.Success || e.Error == "" {
			t.Errorf("%s: %d %.300s, want 400 and a JSON error", q, code, raw)
		}
	}
}

// cardList is one list of a card or a page: its ids as given, how many
// more and where it goes on.
type cardList struct {
	ids  []uint64
	more int
	next uint64
}

func cardListsOf(c *visitors.View) map[string]cardList {
	out := map[string]cardList{
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

// pageThrough follows list name from first, the card's, through the
// pages its cursors point to (?older=NAME&at=NEXT, and extra), each the
// list alone with at most limit records; every record of the visitor's
// list must come once, newest first.
func (a *cardAPI) pageThrough(t *testing.T, name string, first cardList, limit int, extra string) {
	t.Helper()
	ids := a.want[name]
	seen := map[uint64]int{}
	got := append([]uint64(nil), first.ids...)
	for next, pages := first.next, 0; next != 0; pages++ {
		if pages > len(ids)/limit+1 {
			t.Fatalf("the pages of %s do not end", name)
		}
		p := a.page(t, "&older="+name+"&at="+strconv.FormatUint(next, 10)+extra)
		if p.List != name {
			t.Errorf("a page of %s names the list %q", name, p.List)
		}
		pl := cardListsOf(&p)
		for other, o := range pl {
			if other != name && (len(o.ids) != 0 || o.more != 0 || o.next != 0) {
				t.Errorf("a page of %s has %s: %d records, more %d, next %d", name, other, len(o.ids), o.more, o.next)
			}
		}
		cur := pl[name]
		if len(cur.ids) == 0 || len(cur.ids) > limit {
			t.Fatalf("a page of %s from %d has %d records, want 1 to %d", name, next, len(cur.ids), limit)
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

// A visitor with more of every list than the card shows: the API's card
// says, per list, how many it leaves out and where the list goes on; the
// pages it points to (?older=LIST&at=NEXT) give that list alone, newest
// first, and together with the card every record of the visitor exactly
// once. Malformed paging arguments are 400s with a JSON reason.
func TestVisitorCardAPIPages(t *testing.T) {
	// Each list's length is not a multiple of its page, so the last page
	// is short.
	lim := visitors.DefaultLimits
	a := newCardAPI(t, map[string]int{"sessions": 2*lim.Sessions + 3, "leads": lim.Items + 7, "callbacks": lim.Items + 1,
		"calls": 2*lim.Items + 5, "chats": lim.Items + 11})

	whole := a.page(t, "")
	if whole.List != "" {
		t.Errorf("the whole card names the list %q", whole.List)
	}
	first := cardListsOf(&whole)
	for name, ids := range a.want {
		l := first[name]
		limit := lim.Items
		if name == "sessions" {
			limit = lim.Sessions
		}
		if len(l.ids) != limit || l.more != len(ids)-limit || l.next == 0 {
			t.Errorf("card's %s: %d shown, more %d, next %d; want %d shown, more %d and a cursor", name, len(l.ids), l.more, l.next, limit, len(ids)-limit)
		}
		a.pageThrough(t, name, l, limit, "")
	}

	// ?older=LIST alone is the list's first page; a page from a record
	// that is not the list's newest goes on from there.
	if p := a.page(t, "&older=leads"); len(p.Leads) != lim.Items || p.Leads[0].ID != first["leads"].ids[0] || len(p.Sessions) != 0 {
		t.Errorf("?older=leads is not the newest leads alone")
	}

	a.refuses(t, "&older=nope", "&older=", "&at=5", "&older=calls&at=", "&older=calls&at=x", "&older=calls&at=0",
		"&older=calls&at=-1", "&older=calls&at=9007199254740992", "&older=Calls&at=5")
}

// ?limit=N sets how many records of each list the card and its pages
// give: a visitor with more of each than that is paged through N at a
// time, every record once; without it the lists are as long as the
// dashboard's card. A limit that is not 1 to 500 is a 400 with a JSON
// reason.
func TestVisitorCardAPILimit(t *testing.T) {
	const limit = 3
	counts := map[string]int{"sessions": 2*limit + 1, "leads": 3*limit + 2, "callbacks": limit + 1, "calls": limit, "chats": 2 * limit}
	a := newCardAPI(t, counts)

	whole := a.page(t, "&limit="+strconv.Itoa(limit))
	first := cardListsOf(&whole)
	for name, ids := range a.want {
		l := first[name]
		if n := min(limit, len(ids)); len(l.ids) != n || l.more != len(ids)-n || (l.next != 0) != (len(ids) > n) {
			t.Errorf("?limit=%d: %s: %d shown, more %d, next %d; want %d of %d", limit, name, len(l.ids), l.more, l.next, n, len(ids))
		}
		a.pageThrough(t, name, l, limit, "&limit="+strconv.Itoa(limit))
	}
	// The limit goes with ?older too: the first page of a list alone.
	if p := a.page(t, "&older=leads&limit=2"); len(p.Leads) != 2 || p.More.Leads != counts["leads"]-2 || len(p.Calls) != 0 {
		t.Errorf("?older=leads&limit=2: %d leads, %d more, %d calls", len(p.Leads), p.More.Leads, len(p.Calls))
	}
	// Without it, every list whole: the card's page sizes are larger.
	for name, l := range cardListsOf(new(a.page(t, ""))) {
		if len(l.ids) != len(a.want[name]) || l.more != 0 || l.next != 0 {
			t.Errorf("no limit: %s: %d shown, more %d, next %d; want all %d", name, len(l.ids), l.more, l.next, len(a.want[name]))
		}
	}
	a.refuses(t, "&limit=0", "&limit=501", "&limit=", "&limit=x", "&limit=-1", "&limit=+3", "&limit=03", "&limit=3.0",
		"&limit=18446744073709551617", "&older=leads&limit=0", "&older=leads&at=1&limit=1000",
		"&olders=leads", "&limt=3") // a misspelt parameter, refused rather than ignored
}
