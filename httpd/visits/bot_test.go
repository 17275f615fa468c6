package visits

import (
	"strings"
	"testing"
)

func TestIsBot(t *testing.T) {
	for _, tt := range []struct {
		ua  string
		bot bool
	}{
		{"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36", false},
		{"Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1", false},
		{"Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0", false},
		{"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/118.0.0.0 YaBrowser/23.11.0.0 Safari/537.36", false},
		{"Mozilla/5.0 (Linux; Android 10; CUBOT X30) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Mobile Safari/537.36", false},
		// Our own browser tests run HeadlessChrome: it is a person here.
		{"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/131.0.0.0 Safari/537.36", false},

		{"", true},
		{"   ", true},
		{"Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", true},
		{"Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Mobile Safari/537.36 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", true},
		{"Mozilla/5.0 (compatible; YandexBot/3.0; +http://yandex.com/bots)", true},
		{"Mozilla/5.0 (compatible; YandexMetrika/2.0; +http://yandex.com/bots yabs01)", true},
		{"Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)", true},
		{"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/13.1.1 Safari/605.1.15 (Applebot/0.1; +http://www.apple.com/go/applebot)", true},
		{"facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)", true},
		{"Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)", true},
		{"Mozilla/5.0 (compatible; SemrushBot/7~bl; +http://www.semrush.com/bot.html)", true},
		{"Mozilla/5.0 (compatible; Yahoo! Slurp; http://help.yahoo.com/help/us/ysearch/slurp)", true},
		{"Baiduspider+(+http://www.baidu.com/search/spider.htm)", true},
		{"curl/8.5.0", true},
		{"Wget/1.21.4", true},
		{"python-requests/2.31.0", true},
		{"Python-urllib/3.12", true},
		{"Go-http-client/1.1", true},
		{"Java/17.0.2", true},
		{"okhttp/4.12.0", true},
		{"axios/1.6.2", true},
		{"node-fetch/1.0 (+https://github.com/bitinn/node-fetch)", true},
		{"Mozilla/5.0 (Unknown; Linux x86_64) AppleWebKit/538.1 (KHTML, like Gecko) PhantomJS/2.1.1 Safari/538.1", true},
		{"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessShell/120.0 Safari/537.36", true},
		{"Mozilla/5.0 (Linux; Android 11; moto g power (2022)) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/109.0.0.0 Mobile Safari/537.36 Chrome-Lighthouse", true},
		{"Pingdom.com_bot_version_1.4_(http://www.pingdom.com/)", true},
	} {
		if got := IsBot(tt.ua); got != tt.bot {
			t.Errorf("IsBot(%q) = %v, want %v", tt.ua, got, tt.bot)
		}
	}
}

func FuzzIsBot(f *testing.F) {
	f.Add("Mozilla/5.0 (compatible; Googlebot/2.1)")
	f.Add("cubot cubotbot")
	f.Add("HeadlessChrome/131")
	f.Fuzz(func(t *testing.T, ua string) {
		got := IsBot(ua)
		// Padding the agent with a browser's words never hides a bot
		// (except the empty agent's, which is a bot for being empty).
		if got && strings.TrimSpace(ua) != "" && !IsBot("Mozilla/5.0 "+ua+" Safari/537.36") {
			t.Fatalf("IsBot(%q) but not with a browser's padding", ua)
		}
	})
}
