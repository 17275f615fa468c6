package httpd_test

import (
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
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
		"en": {"Source: yandex | Medium: cpc | Campaign: &lt;b&gt;autumn&lt;/b&gt;", `<span class="tag">ad</span>`, "session #" + session},
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
			if !strings.Contains(li, want[1]) {
				t.Errorf("%s: the %s does not name its channel %s:\n%s", lang, name, want[1], li)
			}
			if !strings.Contains(strings.ReplaceAll(li, "\u00a0", " "), want[2]) {
				t.Errorf("%s: the %s does not name its visit %q:\n%s", lang, name, want[2], li)
			}
		}
	}
}
