package httpd_test

import (
	"strings"
	"testing"
)

// The devices report: sessions by device type, browser and system, from
// the user agents, each table with its CSV.
func TestReportDevices(t *testing.T) {
	f, c := reportsFixture(t)
	f.hitUA(t, "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Mobile Safari/537.36",
		"", "https://shop.example.com/", "", "Home")
	base := f.srv.URL + "sites/" + f.site.Key + "/reports/"
	status, body, _ := reportGet(t, c, base+"devices?period=today")
	if status != 200 || !strings.Contains(body, `id="devices-type"`) || !strings.Contains(body, `id="devices-browser"`) || !strings.Contains(body, `id="devices-os"`) {
		t.Fatalf("devices page: %d %.500s", status, body)
	}
	for by, want := range map[string]string{
		"type":    "type,sessions,share,visitors\ndesktop,2,66.7,2\nmobile,1,33.3,1\n",
		"browser": "browser,sessions,share,visitors\nChrome,3,100.0,3\n",
		"os":      "os,sessions,share,visitors\nWindows,2,66.7,2\nAndroid,1,33.3,1\n",
	} {
		_, csvBody, _ := reportGet(t, c, base+"devices.csv?period=today&by="+by)
		readCSV(t, csvBody)
		if got := strings.ReplaceAll(strings.TrimPrefix(csvBody, "\ufeff"), "\r\n", "\n"); got != want {
			t.Errorf("devices by %s:\n%s\nwant:\n%s", by, got, want)
		}
	}
	if status, _, _ := reportGet(t, c, base+"devices.csv?period=today&by=colour"); status != 400 {
		t.Errorf("devices.csv by an unknown table: %d", status)
	}
}
