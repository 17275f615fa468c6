package httpd_test

import (
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// The console's visitor panel (GET /chat/visitor) tells the operator the
// visitor's earlier sessions, calls and leads, in the reader's language,
// besides the session they are on now.
func TestChatVisitorPanelHistory(t *testing.T) {
	f := newTrFixture(t, true)
	setUpNumbers(t, f)
	j := visitorJourney(t, f)
	c := f.srv.Client(t)
	u := f.srv.URL + "chat/visitor?site=" + f.site.Key + "&visitor=" + strconv.FormatUint(j.second.VisitorID, 10) +
		"&session=" + strconv.FormatUint(j.second.SessionID, 10)
	type panel struct {
		Success bool `json:"success"`
		Result  struct {
			Source   struct{ Channel string } `json:"source"`
			Name     string                   `json:"name"`
			Phones   []string                 `json:"phones"`
			Sessions []struct {
				ID          uint64 `json:"id"`
				When        string `json:"when"`
				Channel     string `json:"channel"`
				UTMCampaign string `json:"utm_campaign"`
				Landing     string `json:"landing"`
			} `json:"sessions"`
			Calls []struct{ When, Caller, Status string }       `json:"calls"`
			Leads []struct{ When, Name, Phone, Message string } `json:"leads"`
		} `json:"result"`
	}
	read := func(lang string) panel {
		t.Helper()
		code, body := getPageIn(t, c, u, lang)
		var p panel
		if code != http.StatusOK || json.Unmarshal([]byte(body), &p) != nil || !p.Success {
			t.Fatalf("GET /chat/visitor (%s): %d %s", lang, code, body)
		}
		return p
	}
	p := read("en").Result
	if len(p.Sessions) != 1 || p.Sessions[0].ID != j.first.SessionID || p.Sessions[0].UTMCampaign != "winter" ||
		p.Sessions[0].When == "" || !strings.Contains(p.Sessions[0].Landing, "/promo") {
		t.Errorf("earlier sessions: %+v, want only the first (%d, winter, /promo)", p.Sessions, j.first.SessionID)
	}
	if len(p.Leads) != 1 || p.Leads[0].Message != xssMessage || p.Leads[0].Name != xssName || p.Leads[0].When == "" {
		t.Errorf("leads: %+v", p.Leads)
	}
	if len(p.Calls) < 3 {
		t.Fatalf("calls: %+v, want the visitor's calls", p.Calls)
	}
	for _, call := range p.Calls {
		if call.When == "" || call.Caller == "" || call.Status != "call answered" {
			t.Errorf("call %+v", call)
		}
	}
	if p.Name != xssName || len(p.Phones) == 0 {
		t.Errorf("contacts: %q %v", p.Name, p.Phones)
	}
	ru := read("ru").Result
	if len(ru.Calls) == 0 || ru.Calls[0].Status != "звонок принят" {
		t.Errorf("Russian calls: %+v", ru.Calls)
	}
	// The session now is told as the earlier ones and the calls are: its
	// channel in the reader's words, the phones as people write them (it
	// said "direct" and 79161111111 on a Russian console).
	if p.Source.Channel != "direct" || ru.Source.Channel != "прямые заходы" {
		t.Errorf("the session's channel: %q in English, %q in Russian", p.Source.Channel, ru.Source.Channel)
	}
	if want := "8 (916) 111-11-11"; !slices.Contains(ru.Phones, want) {
		t.Errorf("the contacts' phones %q lack %q", ru.Phones, want)
	}
}
