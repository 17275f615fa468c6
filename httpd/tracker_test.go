package httpd_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"appliance/httpd"
	"appliance/httpd/admin"
	"appliance/httpd/httpdtest"
	"appliance/httpd/sites"
	"appliance/httpd/visits"
	"appliance/store"
)

// The tracker endpoints over the real server (httpd/tracker-protocol.md).

// trClock is a settable clock for the tracker: tests move time instead of
// sleeping.
type trClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *trClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *trClock) Set(t time.Time) {
	c.mu.Lock()
	c.now = t
	c.mu.Unlock()
}

func (c *trClock) Add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// trFixture is a server with one site (and a clock when asked for).
type trFixture struct {
	srv   *httpdtest.Server
	site  *store.Site
	clock *trClock
}

func newTrFixture(t *testing.T, withClock bool) *trFixture {
	t.Helper()
	var clock *trClock
	var opts []func(*httpd.Options)
	if withClock {
		clock = &trClock{now: time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)}
		// The chats' sweep (unanswered chats to leads) runs by hand under a
		// moved clock (Chats().Sweep), never on a real-time tick that may
		// or may not come while a test has moved the clock past its grace.
		opts = append(opts, func(o *httpd.Options) { o.Now = clock.Now; o.Chats.Sweep = time.Hour })
	}
	return shopFixture(t, clock, opts...)
}

// shopFixture is a server started with opts and its site "Shop"
// (shop.example.com) in f.site; clock (which may be nil) is the fixture's,
// the server's only if opts make it so.
func shopFixture(t *testing.T, clock *trClock, opts ...func(*httpd.Options)) *trFixture {
	t.Helper()
	f := &trFixture{clock: clock}
	f.srv = httpdtest.Start(t, opts...)
	key := f.srv.Site(t, "Shop", "shop.example.com")
	var err error
	if f.site, err = f.srv.HTTP.Sites().ByKey(key); err != nil {
		t.Fatal(err)
	}
	return f
}

// trAnswer is a decoded tracker answer.
type trAnswer struct {
	Status int
	Header http.Header
	Raw    string
	Body   struct {
		Success bool            `json:"success"`
		Result  json.RawMessage `json:"result"`
		Error   string          `json:"error"`
	}
}

// do sends a request and decodes the JSON answer; ua is the User-Agent
// ("" for a desktop Chrome).
func (f *trFixture) do(t *testing.T, method, path, ua string, body []byte) trAnswer {
	t.Helper()
	req, err := http.NewRequest(method, f.srv.URL+strings.TrimPrefix(path, "/"), bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "text/plain;charset=UTF-8")
	if ua == "" {
		ua = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36"
	}
	req.Header.Set("User-Agent", ua)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	a := trAnswer{Status: resp.StatusCode, Header: resp.Header, Raw: string(raw)}
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &a.Body); err != nil {
			t.Fatalf("%s %s: %d %q is not JSON", method, path, resp.StatusCode, raw)
		}
	}
	return a
}

func (f *trFixture) post(t *testing.T, path string, v any) trAnswer {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return f.do(t, "POST", path, "", b)
}

// form posts a form-encoded body, as a site's server does.
func (f *trFixture) form(t *testing.T, path string, body []byte) trAnswer {
	t.Helper()
	resp, err := http.Post(f.srv.URL+path, "application/x-www-form-urlencoded", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	a := trAnswer{Status: resp.StatusCode, Header: resp.Header, Raw: string(raw)}
	if err := json.Unmarshal(raw, &a.Body); err != nil {
		t.Fatalf("POST %s: %d %q is not JSON", path, resp.StatusCode, raw)
	}
	return a
}

// hitResult is the result of a hit.
type trHit struct {
	CI         string `json:"ci"`
	VisitorID  uint64 `json:"visitor_id"`
	SessionID  uint64 `json:"session_id"`
	HitID      uint64 `json:"hit_id"`
	Key        string `json:"key"`
	ServerURL  string `json:"server_url"`
	NewSession bool   `json:"new_session"`
}

// hit posts a page view and returns its result.
func (f *trFixture) hit(t *testing.T, ci, u, r, title string) trHit {
	t.Helper()
	return f.hitUA(t, "", ci, u, r, title)
}

func (f *trFixture) hitUA(t *testing.T, ua, ci, u, r, title string) trHit {
	t.Helper()
	b, _ := json.Marshal(map[string]string{"k": f.site.Key, "ci": ci, "key": f.ciKey(ci), "u": u, "r": r, "t": title})
	a := f.do(t, "POST", "t/v1/hit", ua, b)
	if a.Status != http.StatusOK || !a.Body.Success {
		t.Fatalf("hit %s: %d %s", u, a.Status, a.Raw)
	}
	var h trHit
	if err := json.Unmarshal(a.Body.Result, &h); err != nil {
		t.Fatalf("hit result %s: %v", a.Body.Result, err)
	}
	return h
}

// ciKey is the credential key of ci's visitor and session, as the snippet
// of the visitor who holds ci sends it; "" for no ci.
func (f *trFixture) ciKey(ci string) string {
	c, err := visits.ParseCI(ci)
	if err != nil {
		return ""
	}
	return sites.CredentialKey(f.site, c.Visitor, c.Session)
}

// creds is the credentials part of a request body for h's session.
func (f *trFixture) creds(h trHit, fields map[string]any) map[string]any {
	b := map[string]any{"k": f.site.Key, "ci": h.CI, "key": h.Key}
	for k, v := range fields {
		b[k] = v
	}
	return b
}

func (f *trFixture) session(t *testing.T, id uint64) store.Session {
	t.Helper()
	b, err := f.srv.DB.Get(store.SessionKey(f.site.ID, id))
	if err != nil {
		t.Fatalf("session %d: %v", id, err)
	}
	s, err := store.DecodeSession(b)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func (f *trFixture) visitor(t *testing.T, id uint64) store.Visitor {
	t.Helper()
	return storedVisitor(t, f.srv, id)
}

func (f *trFixture) sessionHits(t *testing.T, session uint64) []store.Hit {
	t.Helper()
	var out []store.Hit
	err := f.srv.DB.ScanPrefix(context.Background(), store.HitPrefix(f.site.ID, session), false, 0, func(k, v []byte) bool {
		s, id, _ := store.SessionItemIDs(k)
		h, err := store.DecodeHit(s, id, v)
		if err != nil {
			t.Errorf("decode hit: %v", err)
			return false
		}
		out = append(out, h)
		return true
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func (f *trFixture) sessionEvents(t *testing.T, session uint64) []store.Event {
	t.Helper()
	var out []store.Event
	err := f.srv.DB.ScanPrefix(context.Background(), store.EventPrefix(f.site.ID, session), false, 0, func(k, v []byte) bool {
		s, id, _ := store.SessionItemIDs(k)
		e, err := store.DecodeEvent(s, id, v)
		if err != nil {
			t.Errorf("decode event: %v", err)
			return false
		}
		out = append(out, e)
		return true
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// totals reads the site's roll-ups of the day at.
func (f *trFixture) totals(t *testing.T, at time.Time) visits.Totals {
	t.Helper()
	tr := visits.NewTracker(f.srv.DB, nil, "")
	tr.ZoneWith(sites.Location)
	tot, err := tr.Day(f.site, at)
	if err != nil {
		t.Fatal(err)
	}
	return tot
}

// snapshot is every key and value of the store but the id sequence.
func trSnapshot(t *testing.T, db *store.DB) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := db.Scan(context.Background(), nil, nil, false, 0, func(k, v []byte) bool {
		// The compressed static files are stored in the background after
		// a start (assetCache.finish), whatever the requests do.
		if !bytes.Equal(k, store.MetaKey("seq")) && !bytes.HasPrefix(k, store.CompressedPrefix()) {
			out[string(k)] = string(v)
		}
		return true
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func sameSnapshot(t *testing.T, what string, before, after map[string]string) {
	t.Helper()
	for k, v := range after {
		if bv, ok := before[k]; !ok || bv != v {
			t.Errorf("%s stored or changed key %q", what, k)
		}
	}
	for k := range before {
		if _, ok := after[k]; !ok {
			t.Errorf("%s deleted key %q", what, k)
		}
	}
}

func TestTrackerHitNewVisitorThenSameSession(t *testing.T) {
	f := newTrFixture(t, false)
	h1 := f.hit(t, "", "https://shop.example.com/?utm_source=yandex&utm_medium=cpc&utm_campaign=spring", "https://yandex.ru/", "Shop")
	if !h1.NewSession || h1.VisitorID == 0 || h1.SessionID == 0 || h1.HitID == 0 {
		t.Fatalf("first hit %+v", h1)
	}
	if h1.ServerURL != f.srv.URL {
		t.Errorf("server_url %q, want %q", h1.ServerURL, f.srv.URL)
	}
	if want := sites.CredentialKey(f.site, h1.VisitorID, h1.SessionID); h1.Key != want || len(h1.Key) != 32 {
		t.Errorf("key %q, want %q", h1.Key, want)
	}
	ci, err := visits.ParseCI(h1.CI)
	if err != nil || ci.Visitor != h1.VisitorID || ci.Session != h1.SessionID || ci.First <= 0 {
		t.Fatalf("ci %q: %+v %v", h1.CI, ci, err)
	}
	for _, id := range []uint64{h1.VisitorID, h1.SessionID, h1.HitID} {
		if id >= 1<<53 {
			t.Errorf("id %d is not exact in JavaScript", id)
		}
	}

	h2 := f.hit(t, h1.CI, "https://shop.example.com/catalog", "https://shop.example.com/?utm_source=yandex", "Catalog")
	if h2.NewSession || h2.CI != h1.CI || h2.SessionID != h1.SessionID || h2.HitID == h1.HitID || h2.Key != h1.Key {
		t.Fatalf("second hit %+v after %+v: want the same session", h2, h1)
	}

	s := f.session(t, h1.SessionID)
	if s.Hits != 2 || s.Visitor != h1.VisitorID || s.Channel != "ad" || s.UTMSource != "yandex" || s.UTMMedium != "cpc" ||
		s.UTMCampaign != "spring" || s.Referrer != "https://yandex.ru/" || s.Landing != "https://shop.example.com/?utm_source=yandex&utm_medium=cpc&utm_campaign=spring" || s.Bot {
		t.Errorf("session %+v", s)
	}
	hits := f.sessionHits(t, h1.SessionID)
	if len(hits) != 2 || hits[0].ID != h1.HitID || hits[0].Title != "Shop" || hits[1].URL != "https://shop.example.com/catalog" || hits[1].Title != "Catalog" {
		t.Errorf("hits %+v", hits)
	}
	v := f.visitor(t, h1.VisitorID)
	if v.Site != f.site.ID || v.Bot || v.Created == 0 {
		t.Errorf("visitor %+v", v)
	}
	tot := f.totals(t, time.Now())
	if tot.Hits != 2 || tot.Sessions != 1 || tot.Visitors != 1 || tot.NewVisitors != 1 || tot.Channels[visits.Ad] != 1 || tot.BotHits != 0 {
		t.Errorf("roll-ups %+v", tot)
	}
}

// A session ends after 30 minutes without a hit, or on a hit that brings
// a different campaign; the visitor stays.
func TestTrackerSessionRollover(t *testing.T) {
	f := newTrFixture(t, true)
	const page = "https://shop.example.com/"
	h := f.hit(t, "", page+"?utm_source=google&utm_medium=cpc&utm_campaign=spring", "", "Shop")
	first := h

	step := func(name string, advance time.Duration, u string, wantNew bool) {
		t.Helper()
		f.clock.Add(advance)
		next := f.hit(t, h.CI, u, "", name)
		if next.NewSession != wantNew || (next.SessionID != h.SessionID) != wantNew {
			t.Fatalf("%s: new_session %v (session %d after %d), want new %v", name, next.NewSession, next.SessionID, h.SessionID, wantNew)
		}
		if next.VisitorID != first.VisitorID {
			t.Fatalf("%s: visitor %d, want %d", name, next.VisitorID, first.VisitorID)
		}
		if wantNew && next.Key == h.Key {
			t.Fatalf("%s: the new session kept the old credential key", name)
		}
		h = next
	}
	step("next page", time.Minute, page+"about", false)
	step("same campaign again", time.Minute, page+"?utm_source=google&utm_medium=cpc&utm_campaign=spring", false)
	step("29 minutes idle", 29*time.Minute, page+"about", false)
	step("new campaign", time.Minute, page+"?utm_source=google&utm_medium=cpc&utm_campaign=autumn", true)
	step("new click id", time.Minute, page+"?gclid=abc", true)
	step("30 minutes idle", 30*time.Minute, page+"about", true)
	step("within the new session", 10*time.Minute, page+"contacts", false)

	// A ci that names a session of this visitor that does not exist: a new
	// session, same visitor.
	ci, _ := visits.ParseCI(h.CI)
	ci.Session = 1<<53 - 1
	if g := f.hit(t, ci.String(), page, "", "x"); !g.NewSession || g.VisitorID != first.VisitorID {
		t.Errorf("unknown session: %+v", g)
	}
	// A ci of a visitor of another site: a new visitor here.
	other := f.srv.Site(t, "Other", "other.example.com")
	b, _ := json.Marshal(map[string]string{"k": other, "ci": "", "u": "https://other.example.com/", "r": "", "t": "x"})
	a := f.do(t, "POST", "t/v1/hit", "", b)
	var oh trHit
	json.Unmarshal(a.Body.Result, &oh)
	if g := f.hit(t, oh.CI, page, "", "x"); g.VisitorID == oh.VisitorID || g.VisitorID == first.VisitorID || !g.NewSession {
		t.Errorf("ci of another site's visitor: %+v (that visitor %d)", g, oh.VisitorID)
	}
	// A ci naming a visitor that does not exist: a new visitor.
	if g := f.hit(t, "999999999.999999999.1555675484", page, "", "x"); g.VisitorID == 999999999 || !g.NewSession {
		t.Errorf("ci of no visitor: %+v", g)
	}

	// With the session's key the ci is continued; with another key it is
	// someone else's ci: a new visitor.
	last := f.hit(t, h.CI, page, "", "x")
	b, _ = json.Marshal(map[string]string{"k": f.site.Key, "ci": last.CI, "key": last.Key, "u": page + "a", "r": "", "t": "x"})
	var keyed trHit
	json.Unmarshal(f.do(t, "POST", "t/v1/hit", "", b).Body.Result, &keyed)
	if keyed.SessionID != last.SessionID || keyed.NewSession {
		t.Errorf("hit with the session's key: %+v, want session %d", keyed, last.SessionID)
	}
	b, _ = json.Marshal(map[string]string{"k": f.site.Key, "ci": last.CI, "key": first.Key, "u": page + "b", "r": "", "t": "x"})
	var forged trHit
	json.Unmarshal(f.do(t, "POST", "t/v1/hit", "", b).Body.Result, &forged)
	if forged.VisitorID == last.VisitorID || !forged.NewSession || forged.VisitorID == 0 {
		t.Errorf("hit with a key of another session: %+v, want a new visitor", forged)
	}

	tot := f.totals(t, f.clock.Now())
	// Sessions: spring, autumn, gclid, idle, unknown session, three new visitors.
	if tot.Sessions != 8 || tot.NewVisitors != 4 || tot.Visitors != 4 || tot.Hits != 14 {
		t.Errorf("roll-ups %+v", tot)
	}
}

// A session that spans midnight (UTC) counts its visitor on both days.
func TestTrackerVisitorsPerDay(t *testing.T) {
	f := newTrFixture(t, true)
	f.clock.Set(time.Date(2026, 11, 26, 23, 50, 0, 0, time.UTC))
	h := f.hit(t, "", "https://shop.example.com/", "", "a")
	f.clock.Add(15 * time.Minute)
	h2 := f.hit(t, h.CI, "https://shop.example.com/b", "", "b")
	f.clock.Add(5 * time.Minute)
	f.hit(t, h.CI, "https://shop.example.com/c", "", "c")
	if h2.SessionID != h.SessionID {
		t.Fatal("the session did not continue over midnight")
	}
	day1 := f.totals(t, time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC))
	day2 := f.totals(t, time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC))
	if day1.Hits != 1 || day1.Visitors != 1 || day1.Sessions != 1 || day1.NewVisitors != 1 {
		t.Errorf("day 1: %+v", day1)
	}
	if day2.Hits != 2 || day2.Visitors != 1 || day2.Sessions != 0 || day2.NewVisitors != 0 {
		t.Errorf("day 2: %+v", day2)
	}
}

// The site page's "today" is the site's day: in Vladivostok (UTC+10) a
// hit at 20:30 UTC on 1 December counts on 2 December, and the page says
// which day and zone its totals are of.
func TestTrackerTodayInSiteZone(t *testing.T) {
	f := newTrFixture(t, true)
	if _, err := f.srv.HTTP.Sites().SetTimeZone(context.Background(), f.site.Key, "Asia/Vladivostok"); err != nil {
		t.Fatal(err)
	}
	site, err := f.srv.HTTP.Sites().ByKey(f.site.Key)
	if err != nil {
		t.Fatal(err)
	}
	f.site = site
	f.clock.Set(time.Date(2026, 12, 1, 20, 30, 0, 0, time.UTC))
	f.hit(t, "", "https://shop.example.com/", "", "a")
	if day := f.totals(t, time.Date(2026, 12, 1, 20, 30, 0, 0, time.UTC)); day.Hits != 1 || day.Sessions != 1 {
		t.Errorf("2 December in Vladivostok: %+v", day)
	}
	if day := f.totals(t, time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)); day.Hits != 0 || day.Sessions != 0 {
		t.Errorf("1 December in Vladivostok counts a hit of the 2nd: %+v", day)
	}
	_, body := getPage(t, f.srv.Client(t), f.srv.URL+"sites/"+f.site.Key)
	for _, want := range []string{`id="today-hits">1<`, "Asia/Vladivostok"} {
		if !strings.Contains(body, want) {
			t.Errorf("the site page lacks %q", want)
		}
	}
	if strings.Contains(body, "UTC)") {
		t.Errorf("the site page still names UTC days")
	}
}

// Bots are recorded and flagged, and counted apart from people.
func TestTrackerBots(t *testing.T) {
	f := newTrFixture(t, false)
	const page = "https://shop.example.com/"
	bot := f.hitUA(t, "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", "", page, "", "x")
	f.hitUA(t, "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", bot.CI, page+"a", "", "y")
	curl := f.hitUA(t, "curl/8.5.0", "", page, "", "x")
	headless := f.hitUA(t, "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/131.0.0.0 Safari/537.36", "", page, "", "x")
	for _, h := range []trHit{bot, curl} {
		if s, v := f.session(t, h.SessionID), f.visitor(t, h.VisitorID); !s.Bot || !v.Bot {
			t.Errorf("bot session %+v visitor %+v not flagged", s, v)
		}
	}
	if s := f.session(t, headless.SessionID); s.Bot || !strings.Contains(s.UserAgent, "HeadlessChrome") {
		t.Errorf("HeadlessChrome flagged as a bot: %+v", s)
	}
	ev := f.post(t, "t/v1/event", f.creds(bot, map[string]any{"hi": bot.HitID, "c": "c", "a": "a"}))
	if ev.Status != 200 {
		t.Fatalf("bot event: %d %s", ev.Status, ev.Raw)
	}
	tot := f.totals(t, time.Now())
	if tot.BotHits != 3 || tot.BotSessions != 2 || tot.BotEvents != 1 || tot.Hits != 1 || tot.Sessions != 1 || tot.Visitors != 1 || tot.Events != 0 {
		t.Errorf("roll-ups %+v", tot)
	}
}

func TestTrackerEvent(t *testing.T) {
	f := newTrFixture(t, false)
	h := f.hit(t, "", "https://shop.example.com/", "", "Shop")
	a := f.post(t, "t/v1/event", f.creds(h, map[string]any{"hi": h.HitID, "c": "Offer", "a": "DownloadBook", "n": "CallTrackingBook", "v": "value"}))
	if a.Status != 200 || a.Raw != `{"success":true,"result":null}` {
		t.Fatalf("event: %d %s", a.Status, a.Raw)
	}
	if a.Header.Get("Access-Control-Allow-Origin") != "*" {
		t.Error("event answer without CORS")
	}
	// Name and value are optional.
	if a := f.post(t, "t/v1/event", f.creds(h, map[string]any{"hi": h.HitID, "c": "Нажатие", "a": "Кнопка"})); a.Status != 200 {
		t.Fatalf("event without name: %d %s", a.Status, a.Raw)
	}
	evs := f.sessionEvents(t, h.SessionID)
	if len(evs) != 2 {
		t.Fatalf("events %+v", evs)
	}
	e := evs[0]
	if e.Hit != h.HitID || e.Session != h.SessionID || e.Category != "Offer" || e.Action != "DownloadBook" || e.Name != "CallTrackingBook" || e.Value != "value" || e.Time == 0 {
		t.Errorf("event %+v", e)
	}
	if evs[1].Category != "Нажатие" || evs[1].Name != "" {
		t.Errorf("event %+v", evs[1])
	}
	if s := f.session(t, h.SessionID); s.Events != 2 {
		t.Errorf("session events %d", s.Events)
	}
	if tot := f.totals(t, time.Now()); tot.Events != 2 {
		t.Errorf("events roll-up %d", tot.Events)
	}
}

func TestTrackerVisitorInfo(t *testing.T) {
	f := newTrFixture(t, false)
	h := f.hit(t, "", "https://shop.example.com/", "", "Shop")
	for _, body := range []map[string]any{
		{"hi": h.HitID, "name": "Test", "phone": "8 (912) 345-67-89", "email": "Dmitry@Comagic.RU"},
		{"hi": h.HitID, "phone": "+7 912 345 67 89"},                          // the same number: deduplicated
		{"hi": h.HitID, "phone": "74951825168", "email": "dmitry@comagic.ru"}, // a new phone, the same email
		{"hi": h.HitID, "name": "Дмитрий"},                                    // the name is replaced
	} {
		if a := f.post(t, "t/v1/visitor", f.creds(h, body)); a.Status != 200 || a.Raw != `{"success":true,"result":null}` {
			t.Fatalf("visitor %v: %d %s", body, a.Status, a.Raw)
		}
	}
	v := f.visitor(t, h.VisitorID)
	if v.Name != "Дмитрий" || strings.Join(v.Phones, ",") != "79123456789,74951825168" || strings.Join(v.Emails, ",") != "dmitry@comagic.ru" {
		t.Errorf("visitor %+v", v)
	}
}

func TestTrackerProperty(t *testing.T) {
	f := newTrFixture(t, false)
	h := f.hit(t, "", "https://shop.example.com/", "", "Shop")
	prop := func(op, name string, value any) trAnswer {
		t.Helper()
		b := f.creds(h, map[string]any{"op": op, "name": name})
		if value != nil {
			b["value"] = value
		}
		a := f.post(t, "t/v1/property", b)
		if a.Status != 200 || !a.Body.Success {
			t.Fatalf("property %s %s: %d %s", op, name, a.Status, a.Raw)
		}
		return a
	}
	if a := prop("get", "Тип посетителя", nil); string(a.Body.Result) != "false" {
		t.Errorf("get unset = %s, want false", a.Body.Result)
	}
	if a := prop("has", "Тип посетителя", nil); string(a.Body.Result) != "false" {
		t.Errorf("has unset = %s, want false", a.Body.Result)
	}
	if a := prop("set", "Тип посетителя", "Потенциальный"); string(a.Body.Result) != "null" {
		t.Errorf("set = %s, want null", a.Body.Result)
	}
	prop("set", "Действующий клиент", nil)
	if a := prop("get", "Тип посетителя", nil); string(a.Body.Result) != `"Потенциальный"` {
		t.Errorf("get = %s", a.Body.Result)
	}
	if a := prop("has", "Действующий клиент", nil); string(a.Body.Result) != "true" {
		t.Errorf("has = %s, want true", a.Body.Result)
	}
	if a := prop("get", "Действующий клиент", nil); string(a.Body.Result) != `""` {
		t.Errorf("get of a property without value = %s, want \"\"", a.Body.Result)
	}
	prop("set", "Тип посетителя", "Действующий")
	if a := prop("get", "Тип посетителя", nil); string(a.Body.Result) != `"Действующий"` {
		t.Errorf("get after overwrite = %s", a.Body.Result)
	}
	prop("delete", "Тип посетителя", nil)
	prop("delete", "never set", nil)
	if a := prop("has", "Тип посетителя", nil); string(a.Body.Result) != "false" {
		t.Errorf("has after delete = %s", a.Body.Result)
	}
	if v := f.visitor(t, h.VisitorID); v.Properties != 1 {
		t.Errorf("visitor counts %d properties, want 1", v.Properties)
	}
	// A new session of the same visitor sees the visitor's properties.
	f2 := f.hit(t, h.CI, "https://shop.example.com/?utm_source=x&utm_medium=cpc", "", "x")
	if f2.SessionID == h.SessionID {
		t.Fatal("want a new session")
	}
	h = f2
	if a := prop("has", "Действующий клиент", nil); string(a.Body.Result) != "true" {
		t.Errorf("has in the next session = %s", a.Body.Result)
	}
}

// The attack of issue 13: visitor ids are sequential, so a stranger writes
// a victim's ci ("N.1.0") into a hit without a key. That hit must start a
// new visitor: it neither continues the victim nor hands out a key that
// reads the victim's properties.
func TestTrackerHitWithoutKeyTakesNoVisitor(t *testing.T) {
	f := newTrFixture(t, false)
	victim := f.hit(t, "", "https://shop.example.com/", "", "Shop")
	if a := f.post(t, "t/v1/property", f.creds(victim, map[string]any{"op": "set", "name": "crm_token", "value": "s3cret"})); a.Status != 200 {
		t.Fatalf("victim's property: %d %s", a.Status, a.Raw)
	}
	for _, tc := range []struct {
		name string
		body map[string]any
	}{
		{"guessed ci, no key", map[string]any{"ci": fmt.Sprintf("%d.1.0", victim.VisitorID)}},
		{"victim's own ci, no key", map[string]any{"ci": victim.CI}},
		{"victim's ci, empty key", map[string]any{"ci": victim.CI, "key": ""}},
		{"victim's ci, made-up key", map[string]any{"ci": victim.CI, "key": strings.Repeat("0", 32)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body := map[string]any{"k": f.site.Key, "u": "https://shop.example.com/", "r": "", "t": "x"}
			for k, v := range tc.body {
				body[k] = v
			}
			a := f.post(t, "t/v1/hit", body)
			if a.Status != 200 {
				t.Fatalf("hit: %d %s", a.Status, a.Raw)
			}
			var got trHit
			if err := json.Unmarshal(a.Body.Result, &got); err != nil {
				t.Fatal(err)
			}
			if got.VisitorID == victim.VisitorID || !got.NewSession {
				t.Fatalf("the hit continued the victim %d: %+v", victim.VisitorID, got)
			}
			if got.Key == victim.Key || strings.Contains(a.Raw, victim.Key) {
				t.Fatalf("the answer carries the victim's key: %s", a.Raw)
			}
			if s := f.session(t, got.SessionID); s.Visitor != got.VisitorID {
				t.Fatalf("the new session is visitor %d's, want %d", s.Visitor, got.VisitorID)
			}
			// Whatever key it got reads no property of the victim.
			a = f.post(t, "t/v1/property", f.creds(got, map[string]any{"op": "get", "name": "crm_token"}))
			if a.Status != 200 || string(a.Body.Result) != "false" {
				t.Fatalf("property get with the stranger's key: %d %s, want false", a.Status, a.Raw)
			}
			stolen := map[string]any{"k": f.site.Key, "ci": victim.CI, "key": got.Key, "op": "get", "name": "crm_token"}
			if a := f.post(t, "t/v1/property", stolen); a.Status != 403 || strings.Contains(a.Raw, "s3cret") {
				t.Fatalf("property get of the victim's ci with the stranger's key: %d %s, want 403", a.Status, a.Raw)
			}
		})
	}
	// The victim, with its key, is still itself and still has its property.
	if again := f.hit(t, victim.CI, "https://shop.example.com/next", "", "x"); again.VisitorID != victim.VisitorID || again.SessionID != victim.SessionID {
		t.Errorf("the victim's own next hit: %+v, want session %d", again, victim.SessionID)
	}
	if a := f.post(t, "t/v1/property", f.creds(victim, map[string]any{"op": "get", "name": "crm_token"})); string(a.Body.Result) != `"s3cret"` {
		t.Errorf("victim's property: %s", a.Raw)
	}
}

// Every endpoint that acts for a visitor named by a ci wants that ci's key:
// without one, or with the key of another visitor, it answers 403 and
// stores nothing.
func TestTrackerEveryCIWantsItsKey(t *testing.T) {
	f := newTrFixture(t, false)
	victim := f.hit(t, "", "https://shop.example.com/", "", "Shop")
	stranger := f.hit(t, "", "https://shop.example.com/", "", "Shop")
	for _, key := range []string{"", stranger.Key} {
		with := func(fields map[string]any) []byte {
			b := map[string]any{"k": f.site.Key, "ci": victim.CI}
			if key != "" {
				b["key"] = key
			}
			for k, v := range fields {
				b[k] = v
			}
			raw, _ := json.Marshal(b)
			return raw
		}
		form := url.Values{"key": {key}, "visitor_id": {fmt.Sprint(victim.VisitorID)}, "session_id": {fmt.Sprint(victim.SessionID)},
			"hit_id": {fmt.Sprint(victim.HitID)}, "name": {"Ann"}, "uri": {"https://shop.example.com/"}}
		vc := url.Values{"k": {key}, "sk": {f.site.Key}, "ci": {victim.CI}, "vn": {"Evil"}, "s": {"1"}}
		for _, tc := range []struct {
			method, path string
			body         []byte
		}{
			{"POST", "t/v1/event", with(map[string]any{"hi": victim.HitID, "c": "c", "a": "a"})},
			{"POST", "t/v1/visitor", with(map[string]any{"name": "Evil"})},
			{"POST", "t/v1/property", with(map[string]any{"op": "set", "name": "p", "value": "v"})},
			{"POST", "t/v1/property", with(map[string]any{"op": "get", "name": "p"})},
			{"POST", "t/v1/lease", with(nil)},
			{"POST", "t/v1/lead", with(map[string]any{"hi": victim.HitID, "name": "Ann"})},
			{"POST", "t/v1/callback", with(map[string]any{"phone": "+7 912 345-67-89"})},
			{"POST", "api/add_offline_message/", []byte(form.Encode())},
			{"GET", "vc/s/?" + vc.Encode(), nil},
		} {
			before := trSnapshot(t, f.srv.DB)
			var a trAnswer
			if strings.HasPrefix(tc.path, "api/") {
				a = f.form(t, tc.path, tc.body)
			} else {
				a = f.do(t, tc.method, tc.path, "", tc.body)
			}
			if a.Status != 403 || a.Body.Success {
				t.Errorf("%s %s with key %q: %d %s, want 403", tc.method, tc.path, key, a.Status, a.Raw)
			}
			sameSnapshot(t, tc.path, before, trSnapshot(t, f.srv.DB))
		}
	}
}

// A hit is taken only from a page on one of the site's domains or their
// sub-domains, by its URL and, from a browser, its Origin; anything else is
// a 403 that says why, and stores nothing, until the site takes any origin.
func TestTrackerHitOnlyFromSiteDomains(t *testing.T) {
	f := newTrFixture(t, false)
	idn := f.srv.Site(t, "Магазин", "магазин.рф")
	hit := func(k, origin, u string) trAnswer {
		t.Helper()
		b, _ := json.Marshal(map[string]string{"k": k, "u": u, "r": "", "t": "x"})
		req, _ := http.NewRequest("POST", f.srv.URL+"t/v1/hit", bytes.NewReader(b))
		req.Header.Set("Content-Type", "text/plain")
		if origin != "" {
			req.Header.Set("Origin", origin)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		a := trAnswer{Status: resp.StatusCode, Header: resp.Header, Raw: string(raw)}
		json.Unmarshal(raw, &a.Body)
		return a
	}
	for _, tc := range []struct {
		name, k, origin, u string
		status             int
		reason             string
	}{
		{"the site's page, no Origin (a server)", f.site.Key, "", "https://shop.example.com/", 200, ""},
		{"the site's page from a browser", f.site.Key, "https://shop.example.com", "https://shop.example.com/cart", 200, ""},
		{"a sub-domain, another port, upper case", f.site.Key, "http://M.Shop.Example.com:8080", "http://M.Shop.Example.com:8080/", 200, ""},
		{"an international name as the browser writes it", idn, "https://xn--80aairftm.xn--p1ai", "https://www.xn--80aairftm.xn--p1ai/", 200, ""},
		{"another domain", f.site.Key, "https://evil.example", "https://evil.example/", 403, "only from its own domains (shop.example.com and their sub-domains), not from evil.example"},
		{"a look-alike suffix", f.site.Key, "", "https://notshop.example.com/", 403, "not from notshop.example.com"},
		{"the site's URL sent from another origin", f.site.Key, "https://evil.example", "https://shop.example.com/", 403, "not from evil.example"},
		{"a sandboxed frame or file: page", f.site.Key, "null", "https://shop.example.com/", 403, "not a web page's"},
		{"a javascript: page", f.site.Key, "", "javascript:alert(1)", 400, "u must be an absolute http(s) URL"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := trSnapshot(t, f.srv.DB)
			a := hit(tc.k, tc.origin, tc.u)
			if a.Status != tc.status || !strings.Contains(a.Body.Error, tc.reason) || a.Header.Get("Access-Control-Allow-Origin") != "*" {
				t.Fatalf("%d %s, want %d with %q (and CORS)", a.Status, a.Raw, tc.status, tc.reason)
			}
			if tc.status != 200 {
				sameSnapshot(t, tc.name, before, trSnapshot(t, f.srv.DB))
			}
		})
	}
	// The site's setting, as `appliance site set --any-origin=true` sets it.
	var info admin.Site
	adminCall(t, f.srv, "/admin/sites/origin", map[string]any{"site_key": f.site.Key, "any_origin": true}, &info)
	if !info.AnyOrigin {
		t.Fatalf("site after any_origin: %+v", info)
	}
	if a := hit(f.site.Key, "https://mirror.example", "https://mirror.example/"); a.Status != 200 {
		t.Errorf("a site that takes any origin: %d %s", a.Status, a.Raw)
	}
	adminCall(t, f.srv, "/admin/sites/origin", map[string]any{"site_key": f.site.Key, "any_origin": false}, &info)
	if a := hit(f.site.Key, "https://mirror.example", "https://mirror.example/"); a.Status != 403 {
		t.Errorf("the setting turned off again: %d %s", a.Status, a.Raw)
	}
}

// Control characters: a page's title loses them (the page view is kept);
// what a page sends as text of its own (events, visitor info, properties)
// is refused when it holds them (TestTrackerErrorsStoreNothing), but a
// multi-line value keeps its newlines and tabs.
func TestTrackerControlCharacters(t *testing.T) {
	f := newTrFixture(t, false)
	h := f.hit(t, "", "https://shop.example.com/", "", "Shop\x00 \x1b[2J\tSale\x7f\u009b")
	if got := f.sessionHits(t, h.SessionID)[0].Title; got != "Shop [2J Sale" {
		t.Errorf("stored title %q, want the control characters dropped", got)
	}
	if a := f.post(t, "t/v1/event", f.creds(h, map[string]any{"hi": h.HitID, "c": "Form", "a": "Sent", "v": "line 1\n\tline 2\r\n"})); a.Status != 200 {
		t.Fatalf("event with a multi-line value: %d %s", a.Status, a.Raw)
	}
	if got := f.sessionEvents(t, h.SessionID); len(got) != 1 || got[0].Value != "line 1\n\tline 2\r\n" {
		t.Errorf("events %+v", got)
	}
	if a := f.post(t, "t/v1/property", f.creds(h, map[string]any{"op": "set", "name": "note", "value": "a\nb\tc"})); a.Status != 200 {
		t.Fatalf("property with a multi-line value: %d %s", a.Status, a.Raw)
	}
}

// Every error: the status, the reason, CORS, and nothing stored.
func TestTrackerErrorsStoreNothing(t *testing.T) {
	f := newTrFixture(t, false)
	h := f.hit(t, "", "https://shop.example.com/", "", "Shop")
	for i := 0; i < visits.MaxProperties; i++ {
		b := f.creds(h, map[string]any{"op": "set", "name": fmt.Sprintf("p%d", i)})
		if a := f.post(t, "t/v1/property", b); a.Status != 200 {
			t.Fatalf("property %d: %d %s", i, a.Status, a.Raw)
		}
	}
	other := f.srv.Site(t, "Other", "other.example.com")
	otherSite, _ := f.srv.HTTP.Sites().ByKey(other)
	wrongKey := sites.CredentialKey(f.site, h.VisitorID, h.SessionID+1)
	otherKey := sites.CredentialKey(otherSite, h.VisitorID, h.SessionID)
	ci := h.CI
	long := func(n int) string { return strings.Repeat("я", n/2+1) }
	raw := func(s string) []byte { return []byte(s) }
	js := func(v any) []byte { b, _ := json.Marshal(v); return b }
	c := func(fields map[string]any) []byte { return js(f.creds(h, fields)) }
	hit := func(fields map[string]any) []byte {
		b := map[string]any{"k": f.site.Key, "ci": "", "u": "https://shop.example.com/", "r": "", "t": "x"}
		for k, v := range fields {
			b[k] = v
		}
		return js(b)
	}
	for _, tt := range []struct {
		name   string
		path   string
		body   []byte
		status int
		reason string
	}{
		{"empty body", "t/v1/hit", nil, 400, "empty"},
		{"not JSON", "t/v1/hit", raw("k=x"), 400, "not JSON"},
		{"JSON array", "t/v1/hit", raw(`["k"]`), 400, "JSON object"},
		{"two objects", "t/v1/hit", raw(`{"k":"a"}{"k":"b"}`), 400, "one JSON object"},
		{"invalid UTF-8", "t/v1/hit", raw("{\"k\":\"" + f.site.Key + "\",\"u\":\"https://shop.example.com/\",\"t\":\"\xff\"}"), 400, "UTF-8"},
		{"unknown field", "t/v1/hit", hit(map[string]any{"x": 1}), 400, `unknown field "x"`},
		{"wrong type", "t/v1/hit", hit(map[string]any{"u": 5}), 400, "u must be a string"},
		{"too large", "t/v1/hit", hit(map[string]any{"t": strings.Repeat("a", 9000)}), 413, "8192"},
		{"no site key", "t/v1/hit", hit(map[string]any{"k": ""}), 400, "k (the site key) is required"},
		{"unknown site", "t/v1/hit", hit(map[string]any{"k": "AbCdEfGh0123456789AbCdEfGh012345"}), 404, "no site"},
		{"no URL", "t/v1/hit", hit(map[string]any{"u": ""}), 400, "u must be an absolute http(s) URL"},
		{"relative URL", "t/v1/hit", hit(map[string]any{"u": "/cart"}), 400, "u must be"},
		{"javascript URL", "t/v1/hit", hit(map[string]any{"u": "javascript:alert(1)"}), 400, "u must be"},
		{"long URL", "t/v1/hit", hit(map[string]any{"u": "https://shop.example.com/" + strings.Repeat("a", 2048)}), 400, "u is longer than 2048"},
		{"bad referrer", "t/v1/hit", hit(map[string]any{"r": "not a url"}), 400, "r must be"},
		{"long title", "t/v1/hit", hit(map[string]any{"t": long(512)}), 400, "t is longer than 512"},
		{"bad ci", "t/v1/hit", hit(map[string]any{"ci": "abc"}), 400, "ci must be"},
		{"ci id too big", "t/v1/hit", hit(map[string]any{"ci": "9007199254740992.1.1"}), 400, "ci must be"},
		{"lone surrogate", "t/v1/hit", raw(`{"k":"` + f.site.Key + `","u":"https://shop.example.com/","t":"a\ud800b"}`), 400, "surrogate"},

		{"event without credentials", "t/v1/event", js(map[string]any{"k": f.site.Key, "ci": ci, "hi": h.HitID, "c": "c", "a": "a"}), 403, "key"},
		{"event wrong key", "t/v1/event", c(map[string]any{"key": wrongKey, "hi": h.HitID, "c": "c", "a": "a"}), 403, "key is not"},
		{"event key of another site", "t/v1/event", js(map[string]any{"k": other, "ci": ci, "key": otherKey, "hi": h.HitID, "c": "c", "a": "a"}), 400, "no session"},
		{"event unknown site", "t/v1/event", c(map[string]any{"k": "nope", "hi": h.HitID, "c": "c", "a": "a"}), 404, "no site"},
		{"event no ci", "t/v1/event", c(map[string]any{"ci": "", "hi": h.HitID, "c": "c", "a": "a"}), 400, "ci is required"},
		{"event no category", "t/v1/event", c(map[string]any{"hi": h.HitID, "a": "a"}), 400, "category (c) and action (a) are required"},
		{"event blank action", "t/v1/event", c(map[string]any{"hi": h.HitID, "c": "c", "a": "  "}), 400, "required"},
		{"event long category", "t/v1/event", c(map[string]any{"hi": h.HitID, "c": long(256), "a": "a"}), 400, "c is longer than 256"},
		{"event long value", "t/v1/event", c(map[string]any{"hi": h.HitID, "c": "c", "a": "a", "v": long(1024)}), 400, "v is longer than 1024"},
		{"event no hit", "t/v1/event", c(map[string]any{"c": "c", "a": "a"}), 400, "hi"},
		{"event negative hit", "t/v1/event", c(map[string]any{"hi": -1, "c": "c", "a": "a"}), 400, "hi must be a whole number"},
		{"event hit of no session", "t/v1/event", c(map[string]any{"hi": h.HitID + 1000, "c": "c", "a": "a"}), 400, "no hit of session"},
		{"event name not text", "t/v1/event", c(map[string]any{"hi": h.HitID, "c": "c", "a": "a", "n": map[string]any{}}), 400, "n must be a string"},
		{"event NUL in category", "t/v1/event", c(map[string]any{"hi": h.HitID, "c": "c\x00", "a": "a"}), 400, "c contains control characters"},
		{"event ESC in action", "t/v1/event", c(map[string]any{"hi": h.HitID, "c": "c", "a": "\x1b[31ma"}), 400, "a contains control characters"},
		{"event newline in name", "t/v1/event", c(map[string]any{"hi": h.HitID, "c": "c", "a": "a", "n": "x\ny"}), 400, "n contains control characters"},
		{"event DEL in value", "t/v1/event", c(map[string]any{"hi": h.HitID, "c": "c", "a": "a", "v": "x\x7f"}), 400, "v contains control characters"},
		{"event lone surrogate", "t/v1/event", raw(`{"k":"` + f.site.Key + `","ci":"` + ci + `","key":"` + h.Key + `","hi":1,"c":"\udc00","a":"a"}`), 400, "surrogate"},

		{"visitor nothing", "t/v1/visitor", c(map[string]any{"hi": h.HitID}), 400, "give at least one of name, phone, email"},
		{"visitor blanks", "t/v1/visitor", c(map[string]any{"name": " ", "phone": "", "email": ""}), 400, "give at least one"},
		// (A phone or an email that does not parse is kept as typed, not
		// refused: TestSnippetAddVisitorInfo; text that cannot be is.)
		{"visitor phone with a control character", "t/v1/visitor", c(map[string]any{"name": "Ann", "phone": "call\u0007 me"}), 400, "phone"},
		{"visitor email over its limit", "t/v1/visitor", c(map[string]any{"email": strings.Repeat("a", 300) + "@example.com"}), 400, "email is longer than"},
		{"visitor long name", "t/v1/visitor", c(map[string]any{"name": long(256)}), 400, "name is longer than 256"},
		{"visitor ESC in name", "t/v1/visitor", c(map[string]any{"name": "Ann\x1b"}), 400, "name contains control characters"},
		{"visitor C1 in name", "t/v1/visitor", c(map[string]any{"name": "An\u0085n"}), 400, "name contains control characters"},
		{"visitor wrong key", "t/v1/visitor", c(map[string]any{"key": wrongKey, "name": "Ann"}), 403, "key is not"},

		{"property bad op", "t/v1/property", c(map[string]any{"op": "list", "name": "x"}), 400, "op must be set, get, has or delete"},
		{"property no name", "t/v1/property", c(map[string]any{"op": "set", "name": ""}), 400, "the property name is required"},
		{"property long name", "t/v1/property", c(map[string]any{"op": "set", "name": long(128)}), 400, "name is longer than 128"},
		{"property long value", "t/v1/property", c(map[string]any{"op": "set", "name": "x", "value": long(1024)}), 400, "value is longer than 1024"},
		{"property NUL in name", "t/v1/property", c(map[string]any{"op": "set", "name": "x\x00"}), 400, "name contains control characters"},
		{"property BEL in value", "t/v1/property", c(map[string]any{"op": "set", "name": "x", "value": "a\x07"}), 400, "value contains control characters"},
		{"property value not text", "t/v1/property", c(map[string]any{"op": "set", "name": "x", "value": 5}), 400, "value must be a string"},
		{"property value with get", "t/v1/property", c(map[string]any{"op": "get", "name": "x", "value": "v"}), 400, "value goes only with op set"},
		{"property too many", "t/v1/property", c(map[string]any{"op": "set", "name": "one more"}), 400, "properties already"},
		{"property wrong key", "t/v1/property", c(map[string]any{"key": wrongKey, "op": "set", "name": "x"}), 403, "key is not"},
		{"property delete wrong key", "t/v1/property", c(map[string]any{"key": wrongKey, "op": "delete", "name": "p1"}), 403, "key is not"},
		{"property get wrong key", "t/v1/property", c(map[string]any{"key": wrongKey, "op": "get", "name": "p1"}), 403, "key is not"},

		{"unknown endpoint", "t/v1/nope", hit(nil), 404, "no such tracker endpoint"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			before := trSnapshot(t, f.srv.DB)
			a := f.do(t, "POST", tt.path, "", tt.body)
			if a.Status != tt.status || a.Body.Success || !strings.Contains(a.Body.Error, tt.reason) {
				t.Errorf("got %d %s; want %d with %q", a.Status, a.Raw, tt.status, tt.reason)
			}
			if a.Header.Get("Access-Control-Allow-Origin") != "*" {
				t.Errorf("error answer without Access-Control-Allow-Origin: %v", a.Header)
			}
			if ct := a.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
				t.Errorf("content type %q", ct)
			}
			sameSnapshot(t, tt.name, before, trSnapshot(t, f.srv.DB))
		})
	}
	// The snapshot sees what a request stores: the checks above can fail.
	before := trSnapshot(t, f.srv.DB)
	f.hit(t, h.CI, "https://shop.example.com/last", "", "x")
	if after := trSnapshot(t, f.srv.DB); len(after) <= len(before) {
		t.Errorf("a stored hit is not in the snapshot (%d keys before, %d after)", len(before), len(after))
	}
}

func TestTrackerCORS(t *testing.T) {
	f := newTrFixture(t, false)
	for _, path := range []string{"t/v1/hit", "t/v1/event", "t/v1/visitor", "t/v1/property", "vc/s/"} {
		req, _ := http.NewRequest("OPTIONS", f.srv.URL+path, nil)
		req.Header.Set("Origin", "https://shop.example.com")
		req.Header.Set("Access-Control-Request-Method", "POST")
		req.Header.Set("Access-Control-Request-Headers", "content-type")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		h := resp.Header
		if resp.StatusCode != 204 || h.Get("Access-Control-Allow-Origin") != "*" || !strings.Contains(h.Get("Access-Control-Allow-Methods"), "POST") ||
			!strings.Contains(h.Get("Access-Control-Allow-Methods"), "GET") || !strings.EqualFold(h.Get("Access-Control-Allow-Headers"), "Content-Type") {
			t.Errorf("preflight %s: %d %v", path, resp.StatusCode, h)
		}
	}
	a := f.do(t, "GET", "t/v1/hit", "", nil)
	if a.Status != 405 || a.Header.Get("Access-Control-Allow-Origin") != "*" || !strings.Contains(a.Body.Error, "use POST") {
		t.Errorf("GET /t/v1/hit: %d %v %s", a.Status, a.Header, a.Raw)
	}
	h := f.hit(t, "", "https://shop.example.com/", "", "x")
	_ = h
	b, _ := json.Marshal(map[string]string{"k": f.site.Key, "u": "https://shop.example.com/"})
	a = f.do(t, "POST", "t/v1/hit", "", b)
	if a.Header.Get("Access-Control-Allow-Origin") != "*" || a.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("hit answer headers %v", a.Header)
	}
}

func TestVCSet(t *testing.T) {
	f := newTrFixture(t, false)
	h := f.hit(t, "", "https://shop.example.com/", "", "Shop")
	q := func(kv ...string) string {
		v := url.Values{}
		for i := 0; i < len(kv); i += 2 {
			v.Set(kv[i], kv[i+1])
		}
		return "vc/s/?" + v.Encode()
	}
	base := []string{"k", h.Key, "ur", f.srv.URL, "ci", h.CI, "hi", fmt.Sprint(h.HitID)}

	// s=1: exactly {"success":true}.
	a := f.do(t, "GET", q(append(base, "sk", f.site.Key, "vn", "Иван", "s", "1")...), "", nil)
	if a.Status != 200 || a.Raw != `{"success":true}` {
		t.Fatalf("s=1: %d %s", a.Status, a.Raw)
	}
	// Without s: the ids. Without sk (CoMagic's parameter list has none):
	// the site is the visitor's.
	a = f.do(t, "GET", q(append(base, "vp", "8 (912) 345-67-89", "ve", "Ivan@Example.com")...), "", nil)
	want := fmt.Sprintf(`{"success":true,"result":{"visitor_id":%d,"session_id":%d,"hit_id":%d}}`, h.VisitorID, h.SessionID, h.HitID)
	if a.Status != 200 || a.Raw != want || a.Header.Get("Access-Control-Allow-Origin") != "*" {
		t.Fatalf("without s: %d %s, want %s", a.Status, a.Raw, want)
	}
	v := f.visitor(t, h.VisitorID)
	if v.Name != "Иван" || strings.Join(v.Phones, ",") != "79123456789" || strings.Join(v.Emails, ",") != "ivan@example.com" {
		t.Errorf("visitor %+v", v)
	}

	wrong := sites.CredentialKey(f.site, h.VisitorID+1, h.SessionID)
	for _, tt := range []struct {
		name   string
		path   string
		status int
		reason string
	}{
		{"wrong k", q("k", wrong, "sk", f.site.Key, "ci", h.CI, "vn", "Evil", "s", "1"), 403, "k is not"},
		{"wrong k without sk", q("k", wrong, "ci", h.CI, "vn", "Evil"), 403, "k is not"},
		{"no k", q("sk", f.site.Key, "ci", h.CI, "vn", "Evil", "s", "1"), 403, "k is required: the visitor's credential key, Comagic.getCredentials().key"},
		{"no k, no sk", q("ci", h.CI, "vn", "Evil"), 403, "k is required"},
		{"no k, unknown sk", q("sk", "AbCdEfGh0123456789AbCdEfGh012345", "ci", h.CI, "vn", "Evil"), 403, "k is required"},
		{"no k, visitor of no site", q("ci", "999999.999999.1", "vn", "Evil"), 403, "k is required"},
		{"visitor of no site, no sk", q("k", h.Key, "ci", "999999.999999.1", "vn", "Evil"), 403, "k is not"},
		{"unknown sk", q("k", h.Key, "sk", "AbCdEfGh0123456789AbCdEfGh012345", "ci", h.CI, "vn", "Evil"), 404, "no site"},
		{"no ci", q("k", h.Key, "sk", f.site.Key, "vn", "Evil"), 403, "k is neither the site key nor, without ci, a visitor's credential key"},
		{"bad ci", q("k", h.Key, "ci", "1.2", "vn", "Evil"), 400, "ci must be"},
		{"bad hi", q("k", h.Key, "ci", h.CI, "hi", "x", "vn", "Evil"), 400, "hi must be"},
		{"bad s", q("k", h.Key, "ci", h.CI, "s", "yes", "vn", "Evil"), 400, "s must be"},
		{"nothing to add", q("k", h.Key, "ci", h.CI, "s", "1"), 400, "give at least one of name, phone, email"},
		{"phone with a control character", q("k", h.Key, "ci", h.CI, "vp", "call\x07 me"), 400, "phone"},
		{"long name", q("k", h.Key, "ci", h.CI, "vn", strings.Repeat("a", 257)), 400, "vn is longer than 256"},
		{"invalid UTF-8", "vc/s/?k=" + h.Key + "&ci=" + h.CI + "&vn=%ff", 400, "vn is not valid UTF-8"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			before := trSnapshot(t, f.srv.DB)
			a := f.do(t, "GET", tt.path, "", nil)
			if a.Status != tt.status || a.Body.Success || !strings.Contains(a.Body.Error, tt.reason) {
				t.Errorf("got %d %s; want %d with %q", a.Status, a.Raw, tt.status, tt.reason)
			}
			if a.Header.Get("Access-Control-Allow-Origin") != "*" {
				t.Error("error answer without CORS")
			}
			sameSnapshot(t, tt.name, before, trSnapshot(t, f.srv.DB))
		})
	}
	if v := f.visitor(t, h.VisitorID); v.Name != "Иван" {
		t.Errorf("a refused request changed the name to %q", v.Name)
	}
}

// The hit's answer names the domain of the snippet's cookies: the page
// host's registrable domain (TestCookieDomain has the rules).
func TestTrackerHitCookieDomain(t *testing.T) {
	f := newTrFixture(t, false)
	a := f.do(t, "POST", "t/v1/hit", "", []byte(`{"k":"`+f.site.Key+`","u":"https://www.shop.example.com/"}`))
	var r struct {
		CookieDomain string `json:"cookie_domain"`
	}
	if err := json.Unmarshal(a.Body.Result, &r); err != nil || r.CookieDomain != "example.com" {
		t.Errorf("hit answer %s: cookie_domain %q, want example.com", a.Raw, r.CookieDomain)
	}
}
