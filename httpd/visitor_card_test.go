package httpd_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"appliance/httpd/accounts"
	"appliance/httpd/callbacks"
	"appliance/httpd/httpdtest"
	"appliance/httpd/leads"
	"appliance/httpd/visitors"
	"appliance/store"
)

const (
	iPhoneUA  = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
	desktopUA = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
	// What a visitor may type into a name or a message, to be shown as text.
	xssName    = `<img src=x onerror="window.__xss=1">`
	xssMessage = `</textarea><script>window.__xss=2</script>`
	xssChat    = `<svg onload="window.__xss=3">hello`
)

// cardVisit is what visitorJourney made: one visitor's two sessions, what
// they left, and the calls reported after.
type cardVisit struct {
	first, second trHit
	leadID        uint64
	calls         map[string]uint64 // by what the call is: lease, site, static, fallback, stranger
	leased        string
}

// visitorJourney runs one visitor through the real tracker endpoints: a
// paid visit on an iPhone (a leased number, an event, a property, their
// phone by addVisitorInfo, a lead with another phone), a direct visit two
// hours later from a desktop (a callback with a third phone), then calls:
// to the leased number, and from each of their phones to the site's own
// number, the static number and the pool's fallback; and one from a
// stranger.
func visitorJourney(t *testing.T, f *trFixture) cardVisit {
	t.Helper()
	var j cardVisit
	j.calls = map[string]uint64{}
	var p *tkPhones
	j.first, p = f.hitPhones(t, iPhoneUA, "", "https://shop.example.com/promo?utm_source=google&utm_medium=cpc&utm_campaign=winter&gclid=abc")
	j.leased, _ = shownNumber(p)
	ok := func(a trAnswer, what string) {
		t.Helper()
		if a.Status != http.StatusOK || !a.Body.Success {
			t.Fatalf("%s: %d %s", what, a.Status, a.Raw)
		}
	}
	ok(f.post(t, "t/v1/event", f.creds(j.first, map[string]any{"hi": j.first.HitID, "c": "Offer", "a": "Download", "n": "<b>book</b>", "v": "1"})), "event")
	ok(f.post(t, "t/v1/property", f.creds(j.first, map[string]any{"op": "set", "name": "Plan", "value": "<i>gold</i>"})), "property")
	ok(f.post(t, "t/v1/visitor", f.creds(j.first, map[string]any{"hi": j.first.HitID, "name": xssName, "phone": "+7 916 111-11-11", "email": "a@example.com"})), "visitor info")
	// A phone and an email that do not parse are kept as typed, flagged.
	ok(f.post(t, "t/v1/visitor", f.creds(j.first, map[string]any{"hi": j.first.HitID, "phone": "<b>доб. 5</b>", "email": "a@<i>mail"})), "visitor info as typed")
	f.clock.Add(time.Minute)
	cart := f.hitUA(t, iPhoneUA, j.first.CI, "https://shop.example.com/cart", "", "Cart <script>")
	if cart.SessionID != j.first.SessionID {
		t.Fatalf("the cart started session %d", cart.SessionID)
	}
	a := f.post(t, "t/v1/lead", f.creds(cart, map[string]any{"hi": cart.HitID, "name": xssName, "phone": "8 916 222-22-22", "message": xssMessage}))
	ok(a, "lead")
	leads := siteLeads(t, f.srv, f.site.Key)
	if len(leads) != 1 {
		t.Fatalf("%d leads", len(leads))
	}
	j.leadID = leads[0].ID

	f.clock.Add(2 * time.Hour)
	j.second = f.hitUA(t, desktopUA, cart.CI, "https://shop.example.com/", "", "Home")
	if !j.second.NewSession {
		t.Fatal("two hours later is not a new session")
	}
	status, out, _ := postJSON(t, f.srv.URL+"t/v1/callback", f.creds(j.second, map[string]any{"hi": j.second.HitID, "phone": "8 916 333-33-33"}))
	if res, _ := out["result"].(map[string]any); status != http.StatusOK || res == nil || res["status"] != float64(0) {
		t.Fatalf("callback: %d %v", status, out)
	}

	// A chat, through the long-poll the widget falls back to.
	status, out, _ = postJSON(t, f.srv.URL+"t/v1/chat", f.creds(j.second, map[string]any{"u": "https://shop.example.com/", "wait": 0,
		"frames": []any{map[string]any{"type": "send", "ref": "r1", "text": xssChat}}}))
	if status != http.StatusOK || out["success"] != true {
		t.Fatalf("chat: %d %v", status, out)
	}

	token := apiToken(t, f)
	call := func(name, called, caller string, at time.Time) {
		t.Helper()
		body := `{"called":"` + called + `","caller":"` + caller + `","started_at":"` + at.UTC().Format(time.RFC3339) +
			`","duration":42,"answered":true,"recording_url":"https://pbx.example/rec/` + name + `.mp3"}`
		code, raw := api(t, f, "POST", "api/v1/calls", token, body)
		if code != http.StatusOK {
			t.Fatalf("call %s: %d %s", name, code, raw)
		}
		j.calls[name] = decodeResult(t, raw).CallID
	}
	now := f.clock.Now()
	call("lease", j.leased, "79160000000", now.Add(-2*time.Hour))
	call("site", "8 (487) 275-14-04", "+7 916 222-22-22", now)
	call("static", tkYandex, "79161111111", now)
	call("fallback", tkFallback, "89163333333", now)
	call("stranger", "8 (487) 275-14-04", "79169999999", now)
	return j
}

// A call from a number a visitor left, in a lead, a callback or their
// contact details, is tied to them, to whatever number it came; the API's
// answer, the Calls page and the CSV say how each call was matched.
func TestCallerIDMatchEndToEnd(t *testing.T) {
	f := newTrFixture(t, true)
	setUpNumbers(t, f)
	j := visitorJourney(t, f)
	v := j.first.VisitorID

	got := map[string]struct {
		visitor, session uint64
		match            string
	}{}
	for name, id := range j.calls {
		b, err := f.srv.DB.Get(store.CallKey(f.site.ID, id))
		if err != nil {
			t.Fatalf("call %s: %v", name, err)
		}
		c, err := store.DecodeCall(id, b)
		if err != nil {
			t.Fatalf("call %s: %v", name, err)
		}
		got[name] = struct {
			visitor, session uint64
			match            string
		}{c.Visitor, c.Session, c.Match}
	}
	for _, tt := range []struct {
		name             string
		visitor, session uint64
		match            string
	}{
		{"lease", v, j.first.SessionID, "lease"},
		{"site", v, j.second.SessionID, "caller_id"}, // from the lead's phone, in their latest session
		{"static", v, j.second.SessionID, "static+caller_id"},
		{"fallback", v, j.second.SessionID, "caller_id"}, // from the callback's phone
		{"stranger", 0, 0, ""},
	} {
		if g := got[tt.name]; g.visitor != tt.visitor || g.session != tt.session || g.match != tt.match {
			t.Errorf("%s call: visitor %d session %d match %q; want %d %d %q", tt.name, g.visitor, g.session, g.match, tt.visitor, tt.session, tt.match)
		}
	}

	c := f.srv.Client(t)
	page := okPage(t, c, f.srv.URL+"sites/"+f.site.Key+"/calls")
	for name, want := range map[string]string{"lease": "number lease", "site": "caller ID", "static": "static rule + caller ID", "fallback": "caller ID"} {
		row := "call-" + strconv.FormatUint(j.calls[name], 10)
		cell := rowCell(t, page, row, "attribution")
		if !strings.Contains(cell, "matched by "+want) || !strings.Contains(cell, "visitor #"+strconv.FormatUint(v, 10)) {
			t.Errorf("%s call's cell %q, want visitor #%d matched by %s", name, cell, v, want)
		}
	}
	if !strings.Contains(page, `href="visitors/`+strconv.FormatUint(v, 10)+`"`) {
		t.Error("the calls page does not link the visitor's card")
	}
	// In Russian the visitor is numbered as the visit under it is, with
	// "№": the cell read "посетитель #6" over "визит № 7".
	_, ru := getPageIn(t, c, f.srv.URL+"sites/"+f.site.Key+"/calls", "ru")
	if cell := rowCell(t, ru, "call-"+strconv.FormatUint(j.calls["lease"], 10), "attribution"); !strings.Contains(cell, "посетитель № "+strconv.FormatUint(v, 10)+" визит № ") {
		t.Errorf("in Russian the lease call's cell reads %q", cell)
	}
	if cell := rowCell(t, page, "call-"+strconv.FormatUint(j.calls["stranger"], 10), "attribution"); cell != "not attributed" {
		t.Errorf("stranger's call: %q", cell)
	}
	csv := rawPage(t, c, f.srv.URL+"sites/"+f.site.Key+"/calls.csv")
	if !strings.Contains(csv, ",attributed,match,visitor_id,") || !strings.Contains(csv, ",true,static+caller_id,"+strconv.FormatUint(v, 10)+",") {
		t.Errorf("calls CSV lacks the match:\n%s", csv)
	}
	// The leads and the site's page link the visitor too.
	if page := okPage(t, c, f.srv.URL+"sites/"+f.site.Key+"/leads"); !strings.Contains(page, `href="visitors/`+strconv.FormatUint(v, 10)+`"`) {
		t.Error("the leads page does not link the visitor's card")
	}
	if page := okPage(t, c, f.srv.URL+"sites/"+f.site.Key); !strings.Contains(page, `href="/sites/`+f.site.Key+`/visitors/`+strconv.FormatUint(v, 10)+`"`) {
		t.Error("the site page's visits do not link the visitor's card")
	}
}

// GET /api/v1/visitors/ID?site=KEY answers the visitor card: sessions
// newest first with source, device, pages and events; properties; the
// contacts they left; leads, callbacks and calls (matched by lease or
// caller ID), no chats. A bad id, an unknown site, another site's visitor
// or a token of another site get a JSON error.
func TestVisitorCardAPI(t *testing.T) {
	f := newTrFixture(t, true)
	setUpNumbers(t, f)
	j := visitorJourney(t, f)
	v := j.first.VisitorID
	token := apiToken(t, f)
	path := "api/v1/visitors/" + strconv.FormatUint(v, 10) + "?site=" + f.site.Key
	code, raw := api(t, f, "GET", path, token, "")
	if code != http.StatusOK {
		t.Fatalf("card: %d %s", code, raw)
	}
	var env struct {
		Success bool          `json:"success"`
		Result  visitors.View `json:"result"`
	}
	if err := json.Unmarshal([]byte(raw), &env); err != nil || !env.Success {
		t.Fatalf("card %s: %v", raw, err)
	}
	card := env.Result
	if card.VisitorID != v || card.Contacts.Name != xssName || strings.Join(card.Contacts.Phones, ",") != "79161111111" ||
		strings.Join(card.Contacts.Emails, ",") != "a@example.com" ||
		strings.Join(card.Contacts.PhonesTyped, ",") != "<b>доб. 5</b>" || strings.Join(card.Contacts.EmailsTyped, ",") != "a@<i>mail" {
		t.Errorf("visitor %+v", card)
	}
	if len(card.Properties) != 1 || card.Properties[0].Name != "Plan" || card.Properties[0].Value != "<i>gold</i>" {
		t.Errorf("properties %+v", card.Properties)
	}
	if len(card.Sessions) != 2 {
		t.Fatalf("sessions %+v", card.Sessions)
	}
	newer, older := card.Sessions[0], card.Sessions[1]
	if newer.ID != j.second.SessionID || newer.Source.Channel != "direct" || newer.Device.Type != "desktop" || newer.Device.Browser != "Chrome" ||
		newer.Device.OS != "Windows" || len(newer.Pages) != 1 || newer.Pages[0].Title != "Home" {
		t.Errorf("newer session %+v", newer)
	}
	if older.ID != j.first.SessionID || older.Source.Channel != "ad" || older.Source.UTMCampaign != "winter" || older.Source.Click != "gclid" ||
		older.ClickID != "abc" || older.Device.Type != "mobile" || older.Device.OS != "iOS" || older.Hits != 2 || len(older.Pages) != 2 ||
		older.Pages[1].Title != "Cart <script>" || older.Pages[1].URL != "https://shop.example.com/cart" ||
		len(older.Events) != 1 || older.Events[0].Name != "<b>book</b>" || older.EventCount != 1 {
		t.Errorf("older session %+v", older)
	}
	if len(card.Leads) != 1 || card.Leads[0].ID != j.leadID || card.Leads[0].Message != xssMessage || card.Leads[0].Phone != "79162222222" ||
		card.Leads[0].Status != "new" || card.Leads[0].SessionID != j.first.SessionID {
		t.Errorf("leads %+v", card.Leads)
	}
	if len(card.Callbacks) != 1 || card.Callbacks[0].Phone != "79163333333" || card.Callbacks[0].SessionID != j.second.SessionID {
		t.Errorf("callbacks %+v", card.Callbacks)
	}
	matches := map[uint64]string{}
	for _, c := range card.Calls {
		matches[c.ID] = c.Match
		if c.RecordingURL == "" {
			t.Errorf("call %d without its recording", c.ID)
		}
	}
	want := map[uint64]string{j.calls["lease"]: "lease", j.calls["site"]: "caller_id", j.calls["static"]: "static+caller_id", j.calls["fallback"]: "caller_id"}
	if len(matches) != len(want) {
		t.Errorf("calls %+v, want %v", card.Calls, want)
	}
	for id, m := range want {
		if matches[id] != m {
			t.Errorf("call %d matched %q, want %q", id, matches[id], m)
		}
	}
	if len(card.Calls) == 4 && card.Calls[3].ID != j.calls["lease"] {
		t.Errorf("calls not newest first: %+v", card.Calls)
	}
	if len(card.Chats) != 1 || len(card.Chats[0].Messages) != 1 || card.Chats[0].Messages[0].Text != xssChat ||
		card.Chats[0].Messages[0].From != "visitor" || card.Chats[0].SessionID != j.second.SessionID || card.Chats[0].ClosedAt != nil {
		t.Errorf("chats %+v", card.Chats)
	}
	cardKeysInREADME(t, raw)

	// Refusals: JSON errors, nothing else.
	other := f.srv.Site(t, "Other", "other.example.com")
	otherSite, _ := f.srv.HTTP.Sites().ByKey(other)
	stranger := trackHit(t, f.srv, other, "", "https://other.example.com/", "")
	scoped, err := accounts.New(f.srv.DB).CreateToken(t.Context(), "other", []uint32{otherSite.ID})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name, path, token string
		status            int
	}{
		{"no token", path, "", http.StatusUnauthorized},
		{"not a number", "api/v1/visitors/abc?site=" + f.site.Key, token, http.StatusBadRequest},
		{"zero", "api/v1/visitors/0?site=" + f.site.Key, token, http.StatusBadRequest},
		{"too big", "api/v1/visitors/9007199254740992?site=" + f.site.Key, token, http.StatusBadRequest},
		{"no id", "api/v1/visitors/?site=" + f.site.Key, token, http.StatusBadRequest},
		{"no site", "api/v1/visitors/" + strconv.FormatUint(v, 10), token, http.StatusBadRequest},
		{"unknown site", "api/v1/visitors/" + strconv.FormatUint(v, 10) + "?site=nope", token, http.StatusNotFound},
		{"unknown visitor", "api/v1/visitors/9007199254740991?site=" + f.site.Key, token, http.StatusNotFound},
		{"another site's visitor", "api/v1/visitors/" + strconv.FormatUint(stranger.VisitorID, 10) + "?site=" + f.site.Key, token, http.StatusNotFound},
		{"token of another site", path, scoped, http.StatusNotFound},
	} {
		code, raw := api(t, f, "GET", tt.path, tt.token, "")
		var e struct {
			Success *bool  `json:"success"`
			Error   string `json:"error"`
		}
		if err := json.Unmarshal([]byte(raw), &e); code != tt.status || err != nil || e.Success == nil || *e.Success || e.Error == "" {
			t.Errorf("%s: %d %s, want %d and a JSON error", tt.name, code, raw, tt.status)
		}
	}
	// The scoped token reads its own site's visitors.
	if code, raw := api(t, f, "GET", "api/v1/visitors/"+strconv.FormatUint(stranger.VisitorID, 10)+"?site="+other, scoped, ""); code != http.StatusOK {
		t.Errorf("scoped token on its site: %d %s", code, raw)
	}
}

// The dashboard's card shows the same visitor, every visitor-typed text as
// text.
func TestVisitorCardPage(t *testing.T) {
	f := newTrFixture(t, true)
	setUpNumbers(t, f)
	j := visitorJourney(t, f)
	c := f.srv.Client(t)
	u := f.srv.URL + "sites/" + f.site.Key + "/visitors/" + strconv.FormatUint(j.first.VisitorID, 10)
	page := rawPage(t, c, u) // as sent, entities and all
	for _, want := range []string{
		"Visitor #" + strconv.FormatUint(j.first.VisitorID, 10),
		`id="session-` + strconv.FormatUint(j.first.SessionID, 10) + `"`,
		`id="session-` + strconv.FormatUint(j.second.SessionID, 10) + `"`,
		`id="lead-` + strconv.FormatUint(j.leadID, 10) + `"`,
		`id="call-` + strconv.FormatUint(j.calls["site"], 10) + `"`,
		"static rule &#43; caller ID", "number lease", "mobile · Safari · iOS", "desktop · Chrome · Windows", "Cart &lt;script&gt;",
		`href="https://pbx.example/rec/site.mp3"`,
		"&lt;img src=x onerror=&#34;window.__xss=1&#34;&gt;", "&lt;/textarea&gt;&lt;script&gt;window.__xss=2&lt;/script&gt;",
		"&lt;svg onload=&#34;window.__xss=3&#34;&gt;hello",
		"Source: google", "Medium: cpc", "Campaign: winter",
		`&lt;b&gt;доб. 5&lt;/b&gt; <span class="flag unparsed-phone">not a phone number</span>`,
		`a@&lt;i&gt;mail <span class="flag unparsed-email">not an email address</span>`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("card lacks %q", want)
		}
	}
	if strings.Contains(page, xssName) || strings.Contains(page, "<script>window.__xss") || strings.Contains(page, xssChat) {
		t.Error("visitor-typed markup is in the page as markup")
	}
	// Newest first: the second visit before the first.
	if strings.Index(page, `id="session-`+strconv.FormatUint(j.second.SessionID, 10)) > strings.Index(page, `id="session-`+strconv.FormatUint(j.first.SessionID, 10)) {
		t.Error("the card is not newest first")
	}
	// An operator opens the card too (the chat console's visitor panel
	// shows them the same): without links to pages their role cannot open.
	ops := signInAs(t, f.srv, accounts.RoleOperator)
	if code, opPage := getPage(t, ops, u); code != http.StatusOK || !strings.Contains(opPage, `id="lead-`+strconv.FormatUint(j.leadID, 10)+`"`) ||
		strings.Contains(opPage, `href="/sites/`+f.site.Key+`/leads`) || strings.Contains(opPage, `href="/sites/`+f.site.Key+`"`) {
		t.Errorf("the operator's card: %d, links to leads %v, to the site's reports %v", code,
			strings.Contains(opPage, `href="/sites/`+f.site.Key+`/leads`), strings.Contains(opPage, `href="/sites/`+f.site.Key+`"`))
	}
	if page := rawPage(t, c, u); !strings.Contains(page, `href="/sites/`+f.site.Key+`/leads?at=`) {
		t.Error("the owner's card lost its link to the lead")
	}
	// In Russian too.
	req, _ := http.NewRequest("GET", u, nil)
	req.Header.Set("Accept-Language", "ru")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	ru, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{"Посетитель №\u00a0" + strconv.FormatUint(j.first.VisitorID, 10), "Что он делал", "телефон · Safari · iOS", "номер звонящего",
		`<dd class="source"><span class="tag">реклама</span>`, "<dt>Имя посетителя</dt>", `<div class="muted">сайт (JS)</div>`, `<div class="muted">визит`,
		"Источник: google", "Тип трафика: cpc", "Кампания: winter"} {
		if !strings.Contains(string(ru), want) {
			t.Errorf("the Russian card lacks %q", want)
		}
	}
	// The callback's state as the callbacks page writes it, not its code.
	for _, code := range []string{"pending", "sent", "failed", "no_scenario"} {
		if strings.Contains(string(ru), `<span class="tag">`+code+`</span>`) {
			t.Errorf("the Russian card writes a callback's state as its code %q", code)
		}
	}
	if !regexp.MustCompile(`tl-kind">обратный звонок</span> <time[^>]*>[^<]*</time> <span class="tag">(ждёт отправки|отправлен|не доставлен|без сценария)</span>`).Match(ru) {
		t.Error("the Russian card does not write the callback's state in Russian")
	}
	if strings.Contains(string(ru), `<span class="tag">ad</span>`) {
		t.Error("the Russian card names a visit's channel in English")
	}
	if strings.Contains(string(ru), "source: ") || strings.Contains(string(ru), "Source: ") {
		t.Error("the Russian card labels the UTM tags in English")
	}
	if strings.Contains(string(ru), "Название") {
		t.Error("the Russian card calls the visitor's name a title (Название)")
	}
	for _, tt := range []struct{ path string }{
		{"sites/" + f.site.Key + "/visitors/abc"},
		{"sites/" + f.site.Key + "/visitors/0"},
		{"sites/" + f.site.Key + "/visitors/9007199254740991"},
	} {
		if code, _ := getPage(t, c, f.srv.URL+tt.path); code != http.StatusNotFound {
			t.Errorf("%s: %d, want 404", tt.path, code)
		}
	}
}

// A store written before the visitor card's indexes (its records have no
// entries) shows each visitor's card once the server starts again.
func TestVisitorCardOfOlderRecords(t *testing.T) {
	srv := httpdtest.Start(t)
	key := srv.Site(t, "Shop", "shop.example")
	v := trackHit(t, srv, key, "", "https://shop.example/?utm_source=google&utm_medium=cpc", "")
	if status, out, _ := postJSON(t, srv.URL+"t/v1/lead", leadBody(key, v, map[string]any{"name": "Ivan", "phone": "8 916 444-44-44"})); status != http.StatusOK {
		t.Fatalf("lead: %d %v", status, out)
	}
	// Take the indexes away, as a store written by an older version
	// never had them.
	ctx := t.Context()
	var gone [][]byte
	for _, p := range [][]byte{store.VisitorItemPrefix(v.VisitorID, store.ItemSession), store.VisitorItemPrefix(v.VisitorID, store.ItemLead)} {
		srv.DB.ScanPrefix(ctx, p, false, 0, func(k, _ []byte) bool { gone = append(gone, bytes.Clone(k)); return true })
	}
	site, _ := srv.HTTP.Sites().ByKey(key)
	srv = restartWithout(t, srv, append(gone, store.PhoneVisitorKey(site.ID, "79164444444"), store.MetaKey("visitor-index")))
	tok, err := accounts.New(srv.DB).CreateToken(ctx, "pbx", nil)
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("GET", srv.URL+"api/v1/visitors/"+strconv.FormatUint(v.VisitorID, 10)+"?site="+key, nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var env struct {
		Result visitors.View `json:"result"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&env); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("card: %d %v", resp.StatusCode, err)
	}
	if c := env.Result; len(c.Sessions) != 1 || c.Sessions[0].ID != v.SessionID || len(c.Leads) != 1 || c.Leads[0].Name != "Ivan" {
		t.Fatalf("card of older records: %+v", c)
	}
	if p, ok, err := srv.DB.LookupPhone(site.ID, "79164444444"); err != nil || !ok || p.Visitor != v.VisitorID {
		t.Fatalf("phone index after start: %+v %v %v", p, ok, err)
	}
}

// A callback on the card carries staff's mark as a lead does: its status
// and note (escaped) on the page, in both languages, with a link to its
// row for those who may open the callbacks page, and in the visitors API.
// The card showed a callback's delivery state alone.
func TestVisitorCardCallbackMark(t *testing.T) {
	f := newTrFixture(t, true)
	setUpNumbers(t, f)
	j := visitorJourney(t, f)
	var cbID uint64
	if err := f.srv.HTTP.Callbacks().List(context.Background(), f.site.ID, callbacks.Filter{}, 0, func(cb store.Callback) bool {
		cbID = cb.ID
		return false
	}); err != nil || cbID == 0 {
		t.Fatalf("the journey's callback: %v", err)
	}
	const note = "<b>перезвонить после 18</b>"
	if _, err := f.srv.HTTP.Callbacks().Mark(context.Background(), f.site.ID, cbID, leads.StatusProgress, note, "owner@example.com"); err != nil {
		t.Fatal(err)
	}
	u := f.srv.URL + "sites/" + f.site.Key + "/visitors/" + strconv.FormatUint(j.first.VisitorID, 10)
	c := f.srv.Client(t)
	for _, tt := range []struct{ lang, status string }{{"en", "in progress"}, {"ru", "в работе"}} {
		_, page := getPageIn(t, c, u, tt.lang)
		item := cutAt(page, `id="callback-`+strconv.FormatUint(cbID, 10)+`"`, "</li>")
		if !strings.Contains(item, `<span class="tag mark-status">`+tt.status+`</span>`) ||
			!strings.Contains(item, `<div class="mark-note">&lt;b&gt;перезвонить после 18&lt;/b&gt;</div>`) ||
			!strings.Contains(item, `href="/sites/`+f.site.Key+`/callbacks?at=`+strconv.FormatUint(cbID, 10)+`#callback-`) {
			t.Errorf("%s: the card's callback lacks its mark or link:\n%s", tt.lang, item)
		}
	}
	code, raw := api(t, f, "GET", "api/v1/visitors/"+strconv.FormatUint(j.first.VisitorID, 10)+"?site="+f.site.Key, apiToken(t, f), "")
	var env struct {
		Result visitors.View `json:"result"`
	}
	if err := json.Unmarshal([]byte(raw), &env); code != http.StatusOK || err != nil {
		t.Fatalf("card: %d %s", code, raw)
	}
	if cbs := env.Result.Callbacks; len(cbs) != 1 || cbs[0].ID != cbID || cbs[0].Status != leads.StatusProgress || cbs[0].Note != note {
		t.Errorf("the API's callbacks %+v, want %d in progress with its note", cbs, cbID)
	}
}

// On a visitor's card a visit and the call it brought write their UTM
// tags the same way, labelled in the reader's language ("Источник:
// yandex"), through one partial: the visit said "Источник: yandex" and
// the call beside it "utm_source yandex".
func TestVisitorCardUTMTagsMatch(t *testing.T) {
	f := newTrFixture(t, true)
	setUpNumbers(t, f)
	h, phones := f.hitPhones(t, "", "", "https://shop.example.com/promo?utm_source=yandex&utm_medium=cpc&utm_campaign=autumn&utm_term=sofa&utm_content=banner")
	number, _ := shownNumber(phones)
	if number == "" {
		t.Fatal("the ad's visitor got no pool number")
	}
	code, raw := api(t, f, "POST", "api/v1/calls", apiToken(t, f), `{"called":"`+number+`","caller":"79161234567","answered":true,"duration":30}`)
	if code != http.StatusOK {
		t.Fatalf("call: %d %s", code, raw)
	}
	call := decodeResult(t, raw).CallID
	c := f.srv.Client(t)
	u := f.srv.URL + "sites/" + f.site.Key + "/visitors/" + strconv.FormatUint(h.VisitorID, 10)
	tags := regexp.MustCompile(`<div class="muted[^"]*">([^<>]*(?:yandex|cpc|autumn|sofa|banner))</div>`)
	for lang, want := range map[string]string{
		"en": "Source: yandex | Medium: cpc | Campaign: autumn | Term: sofa | Content: banner",
		"ru": "Источник: yandex | Тип трафика: cpc | Кампания: autumn | Ключевое слово: sofa | Содержание: banner",
	} {
		_, page := getPageIn(t, c, u, lang)
		for _, item := range []string{`id="session-` + strconv.FormatUint(h.SessionID, 10) + `"`, `id="call-` + strconv.FormatUint(call, 10) + `"`} {
			li := cutAt(page, item, "</li>")
			if li == "" {
				t.Fatalf("%s: the card has no %s", lang, item)
			}
			var got []string
			for _, m := range tags.FindAllStringSubmatch(li, -1) {
				got = append(got, m[1])
			}
			if g := strings.Join(got, " | "); g != want {
				t.Errorf("%s: %s writes its UTM tags %q, want %q", lang, item, g, want)
			}
		}
	}
}

// cardKeysInREADME checks that every key of a card the API gave is in the
// README's example of the card (the leads' and callbacks' data aside: the
// README gives them as the webhooks' data, which their own test checks),
// so a reader who wires a CRM from the example meets no field it lacks.
func cardKeysInREADME(t *testing.T, raw string) {
	t.Helper()
	b, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, sec, ok := strings.Cut(string(b), "\n## Visitor card\n")
	if !ok {
		t.Fatal("README has no Visitor card section")
	}
	sec, _, _ = strings.Cut(sec, "\n## ")
	var card map[string]any
	if err := json.Unmarshal([]byte(raw), &card); err != nil {
		t.Fatal(err)
	}
	var walk func(path string, v any)
	walk = func(path string, v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, sub := range v {
				if !strings.Contains(sec, `"`+k+`"`) {
					t.Errorf("the card has %s%s, which the README's example of it does not show", path, k)
				}
				if path == "result." && (k == "leads" || k == "callbacks") {
					continue
				}
				walk(path+k+".", sub)
			}
		case []any:
			for _, sub := range v {
				walk(path, sub)
			}
		}
	}
	walk("", card)
}
