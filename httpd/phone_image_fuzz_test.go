package httpd

import (
	"strings"
	"testing"

	"github.com/valyala/fasthttp"
)

// FuzzPhoneImageQuery: GET /img/phone's query comes from anyone. An
// accepted query draws only a phone number's characters, in a size and
// colours within bounds: nothing in it can break out of the SVG.
func FuzzPhoneImageQuery(f *testing.F) {
	for _, s := range []string{
		"site=1&t=%2B7+495+000-00-01&sig=4c832d8fd3b4661cddb04e8f955eb2c4&size=20&color=336699",
		"site=1&t=8+(495)+000-00-01&sig=4c832d8fd3b4661cddb04e8f955eb2c4&bg=fff",
		"site=1&t=%3Cscript%3E&sig=4c832d8fd3b4661cddb04e8f955eb2c4", "site=-1&t=1", "site=1&t=1&sig=x&size=7",
		"site=1&t=1&sig=4c832d8fd3b4661cddb04e8f955eb2c4&color=%22%3E", "",
		"site=1&t=1&sig=4c832d8fd3b4661cddb04e8f955eb2c4&css=20px%3Brgb(51%2C%20102%2C%20153)%3Brgba(0%2C%200%2C%200%2C%200)",
		"site=1&t=1&sig=4c832d8fd3b4661cddb04e8f955eb2c4&css=13.33px%3Brgba(255%2C0%2C0%2C0.5)%3Brgb(1 2 3 %2F 0.4)",
		"site=1&t=1&sig=4c832d8fd3b4661cddb04e8f955eb2c4&css=500px%3Boklch(0.5 0.1 20)%3B",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, q string) {
		var args fasthttp.Args
		args.Parse(q)
		r, err := parsePhoneImageQuery(&args)
		if !checkParseErr(t, err) {
			return
		}
		if r.Text == "" || strings.Trim(r.Text, phoneImageText) != "" || len(r.Text) > 32 {
			t.Fatalf("accepted text %q", r.Text)
		}
		if r.Size < 8 || r.Size > 96 || !isHex(r.Color) || (r.Bg != "" && !isHex(r.Bg)) || len(r.Sig) != 32 {
			t.Fatalf("accepted %+v", r)
		}
	})
}
