package httpd_test

import (
	"testing"
	"time"
)

// Many sites write their dialling links "tel://+7...", which phones dial as
// "tel:+7...": the browser reads what follows the slashes as the URL's
// host, not its path. The number is replaced there too, the slashes
// kept; left, a visitor who tapped the link called the site's own number
// and the call was no one's.
func TestSnippetPhonesDialLinkSlashes(t *testing.T) {
	f := newSnippetFixture(t)
	phNumbers(t, f, time.Now(), phPool, 0)
	f.page("/", phPage(f.install, "", `<a id="plus" href="tel://+74872751404">Позвонить</a>
<a id="eight" href="TEL://8-487-275-14-04">Позвонить</a>
<a id="callto" href="callto://+74872751404">Skype</a>
<a id="other" href="tel://+74951112233">Другой номер</a>`))
	me := f.me()
	me.open(t, "/?utm_source=yandex")
	got := eval[map[string]string](t, f, `(function () {
  var o = {};
  ["plus", "eight", "callto", "other"].forEach(function (id) { o[id] = document.getElementById(id).getAttribute("href"); });
  return o;
})()`)
	want := map[string]string{
		"plus":   "tel://+74950000001",
		"eight":  "tel://+74950000001",
		"callto": "callto://+74950000001",
		"other":  "tel://+74951112233",
	}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("%s: href %q, want %q", k, got[k], w)
		}
	}
	f.noExceptions(t)
}
