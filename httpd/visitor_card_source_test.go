package httpd_test

import (
	"encoding/json"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// A lead and a callback request on a visitor's card say which visit they
// came in and its source, as the leads and callbacks lists credit them
// (the source of their session, stored with them) and as the card writes
// a visit's and a call's: the channel, then the UTM tags through the
// utm-tags partial in the reader's language, every tag escaped.
func TestVisitorCardLeadAndCallbackShowTheirSource(t *testing.T) {
	f := newTrFixture(t, true)
	h := f.hit(t, "", "https://shop.example.com/promo?utm_source=yandex&utm_medium=cpc&utm_campaign=%3Cb%3Eautumn%3C%2Fb%3E", "", "Promo")
	a := f.post(t, "t/v1/lead", f.creds(h, map[string]any{"hi": h.HitID, "name": "Ann", "phone": "8 916 222-22-22", "message": "sofa"}))
	if a.Status != http.StatusOK || !a.Body.Success {
		t.Fatalf("lead: %d %s", a.Status, a.Raw)
	}
	lead := siteLeads(t, f.srv, f.site.Key)[0].ID
	status, out, _ := postJSON(t, f.srv.URL+"t/v1/callback", f.creds(h, map[string]any{"hi": h.HitID, "phone": "8 916 333-33-33"}))
	res, _ := out["result"].(map[string]any)
	if status != http.StatusOK || res == nil || res["status"] != float64(0) {
		t.Fatalf("callback: %d %v", status, out)
	}
	c := f.srv.Client(t)
	u := f.srv.URL + "sites/" + f.site.Key + "/visitors/" + strconv.FormatUint(h.VisitorID, 10)
	tags := regexp.MustCompile(`<div class="muted[^"]*">([^<>]*(?:yandex|cpc|autumn)[^<>]*)</div>`)
	session := strconv.FormatUint(h.SessionID, 10)
	for lang, want := range map[string][3]string{
		"en": {"Source: yandex | Medium: cpc | Campaign: &lt;b&gt;autumn&lt;/b&gt;", `<span class="tag">ad</span>`, "visit #" + session},
		"ru": {"Источник: yandex | Тип трафика: cpc | Кампания: &lt;b&gt;autumn&lt;/b&gt;", `<span class="tag">реклама</span>`, "визит № " + session},
	} {
		code, page := getPageIn(t, c, u, lang)
		if code != http.StatusOK {
			t.Fatalf("%s: card: %d", lang, code)
		}
		if strings.Contains(page, "<b>autumn") {
			t.Fatalf("%s: the card prints a campaign's markup", lang)
		}
		items := map[string]string{
			"lead":     cutAt(page, `id="lead-`+strconv.FormatUint(lead, 10)+`"`, "</li>"),
			"callback": cutAt(page, `<li class="card tl-item tl-callback`, "</li>"),
		}
		for name, li := range items {
			if li == "" {
				t.Fatalf("%s: the card has no %s:\n%s", lang, name, cutAt(page, `id="visitor-timeline"`, "</ol>"))
			}
			var got []string
			for _, m := range tags.FindAllStringSubmatch(li, -1) {
				got = append(got, m[1])
			}
			if g := strings.Join(got, " | "); g != want[0] {
				t.Errorf("%s: the %s writes its UTM tags %q, want %q", lang, name, g, want[0])
			}
			if strings.Contains(li, "credit") {
				t.Errorf("%s: the %s, credited to the visit it came in, names another:\n%s", lang, name, li)
			}
			if !strings.Contains(li, want[1]) {
				t.Errorf("%s: the %s does not name its channel %s:\n%s", lang, name, want[1], li)
			}
			if !strings.Contains(strings.ReplaceAll(li, "\u00a0", " "), want[2]) {
				t.Errorf("%s: the %s does not name its visit %q:\n%s", lang, name, want[2], li)
			}
		}
	}
}

// A lead, a callback, a chat and a call (tied by the lead's phone) of a direct
// return visit are counted by the
// reports (their default model, the last visit not direct) for the ad
// visit before it: the card says so, with that visit's source, beside the
// visit they came in; an outcome the reports credit to its own visit says
// nothing more.
func TestVisitorCardSaysWhereReportsCreditALead(t *testing.T) {
	f := newTrFixture(t, true)
	setUpNumbers(t, f)
	ad, phones := f.hitPhones(t, "", "", "https://shop.example.com/promo?utm_source=yandex&utm_medium=cpc&utm_campaign=autumn")
	number, _ := shownNumber(phones)
	f.clock.Add(26 * time.Hour)
	back := f.hit(t, ad.CI, "https://shop.example.com/", "", "Home")
	if !back.NewSession || back.SessionID == ad.SessionID {
		t.Fatal("a day later is not a new session")
	}
	a := f.post(t, "t/v1/lead", f.creds(back, map[string]any{"hi": back.HitID, "name": "Ann", "phone": "8 916 222-22-22"}))
	if a.Status != http.StatusOK || !a.Body.Success {
		t.Fatalf("lead: %d %s", a.Status, a.Raw)
	}
	status, out, _ := postJSON(t, f.srv.URL+"t/v1/callback", f.creds(back, map[string]any{"hi": back.HitID, "phone": "8 916 333-33-33"}))
	if res, _ := out["result"].(map[string]any); status != http.StatusOK || res == nil || res["status"] != float64(0) {
		t.Fatalf("callback: %d %v", status, out)
	}
	status, out, _ = postJSON(t, f.srv.URL+"t/v1/chat", f.creds(back, map[string]any{"u": "https://shop.example.com/", "wait": 0,
		"frames": []any{map[string]any{"type": "send", "ref": "r1", "text": "hello"}}}))
	if status != http.StatusOK || out["success"] != true {
		t.Fatalf("chat: %d %v", status, out)
	}
	code, raw := api(t, f, "POST", "api/v1/calls", apiToken(t, f), `{"called":"`+number+`","caller":"79162222222","answered":true,"duration":30}`)
	if r := decodeResult(t, raw); code != http.StatusOK || r.SessionID != back.SessionID {
		t.Fatalf("the call is not the return visit's: %d %s", code, raw)
	}
	c := f.srv.Client(t)
	u := f.srv.URL + "sites/" + f.site.Key + "/visitors/" + strconv.FormatUint(ad.VisitorID, 10)
	for lang, want := range map[string][2]string{
		"en": {"In reports: visit #" + strconv.FormatUint(ad.SessionID, 10) + " (the last non-direct one)", "Source: yandex"},
		"ru": {"В отчётах — визит № " + strconv.FormatUint(ad.SessionID, 10) + " (последний значимый)", "Источник: yandex"},
	} {
		_, page := getPageIn(t, c, u, lang)
		page = strings.ReplaceAll(page, "\u00a0", " ")
		for _, item := range []string{`<li class="card tl-item tl-lead"`, `<li class="card tl-item tl-callback"`, `<li class="card tl-item tl-call"`, `<li class="card tl-item tl-chat"`} {
			li := cutAt(page, item, "</li>\n")
			credit := cutAt(li, `<div class="source credit">`, "</div></div>")
			if !strings.Contains(credit, want[0]) || !strings.Contains(credit, want[1]) {
				t.Errorf("%s: %s does not say the reports credit the ad visit (%q, %q):\n%s", lang, item, want[0], want[1], li)
			}
			if own := cutAt(li, `<div class="source">`, "</div></div>"); !strings.Contains(own, "visit #"+strconv.FormatUint(back.SessionID, 10)) && !strings.Contains(own, "визит № "+strconv.FormatUint(back.SessionID, 10)) {
				t.Errorf("%s: %s does not name the visit it came in:\n%s", lang, item, li)
			}
		}
	}
	// Where the card says, the reports count it: the lead on the ad's row.
	code, raw = api(t, f, "GET", "api/v1/reports/sources?site="+f.site.Key+"&group=source&from="+f.clock.Now().AddDate(0, 0, -2).Format(time.DateOnly)+"&to="+f.clock.Now().Format(time.DateOnly), apiToken(t, f), "")
	if code != http.StatusOK {
		t.Fatalf("report: %d %s", code, raw)
	}
	var rep struct {
		Result struct {
			Rows []struct {
				Key       string `json:"key"`
				Leads     int    `json:"leads"`
				Callbacks int    `json:"callbacks"`
				Calls     int    `json:"calls"`
				Chats     int    `json:"chats"`
			} `json:"rows"`
		} `json:"result"`
	}
	if err := json.Unmarshal([]byte(raw), &rep); err != nil {
		t.Fatal(err)
	}
	for _, r := range rep.Result.Rows {
		if want := map[bool]int{true: 1, false: 0}[r.Key == "yandex"]; r.Leads != want || r.Callbacks != want || r.Calls != want || r.Chats != want {
			t.Errorf("the report's row %q has %d leads, %d callbacks, %d calls and %d chats, want %d each: %s", r.Key, r.Leads, r.Callbacks, r.Calls, r.Chats, want, raw)
		}
	}
}
