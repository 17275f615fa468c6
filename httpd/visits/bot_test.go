package visits

import (
	"strings"
	"testing"

	"appliance/internal/memo"
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

		// From CrawlerDetect's own test data: crawlers and link previews
		// the hand-written list missed or caught only by "bot" in the name.
		{"Mozilla/5.0 (compatible; Mail.RU_Bot/2.0; +http://go.mail.ru/help/robots)", true},
		{"Mozilla/5.0 (compatible; YandexImages/3.0; +http://yandex.com/bots)", true},
		{"Mozilla/5.0 (iPhone; CPU iPhone OS 8_1 like Mac OS X) AppleWebKit/600.1.4 (KHTML, like Gecko) Version/8.0 Mobile/12B411 Safari/600.1.4 (compatible; YandexMobileBot/3.0; +http://yandex.com/bots)", true},
		{"Mozilla/5.0 (Windows NT 6.1; WOW64) AppleWebKit/48.0 (KHTML, like Gecko) Chrome/48.0.2564.97 Safari/537.36 Yandex.Translate", true},
		{"Mozilla/5.0 (compatible; vkShare; +http://vk.com/dev/Share)", true},
		{"TelegramBot (like TwitterBot)", true},
		{"WhatsApp", true},
		{"Mozilla/5.0 (Windows NT 6.3; WOW64; Trident/7.0; rv:11.0; BingPreview/1.0b) like Gecko", true},
		{"DuckDuckBot/1.1; (+http://duckduckgo.com/duckduckbot.html)", true},
		{"Mozilla/5.0 (compatible; SeznamBot/3.2; +http://napoveda.seznam.cz/en/seznambot-intro/)", true},
		{"Headless Chrome 131.0.6778.87 on GNU/Linux", true},
		// ... and its people.
		{"Mozilla/5.0 (iPad; CPU OS 9_3_5 like Mac OS X) AppleWebKit/601.1.46 (KHTML, like Gecko) GSA/24.1.151204851 Mobile/13G36 Safari/601.1", false},
		{"Mozilla/5.0 (iPhone; CPU iPhone OS 11_1_2 like Mac OS X) AppleWebKit/604.3.5 (KHTML, like Gecko) Mobile/15B202 (5333112816)", false},
		{"Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36", false},
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
	f.Add("Java/17.0.2")
	f.Fuzz(func(t *testing.T, ua string) {
		got := IsBot(ua)
		// Blank is a bot; the cache answers as the list does. (Padding
		// with a browser's words may hide a bot the list knows only at
		// the start of an agent, "Java/1.6": such an agent is not one a
		// browser sends.)
		if strings.TrimSpace(ua) == "" && !got {
			t.Fatalf("IsBot(%q) = false for a blank agent", ua)
		}
		c := memo.Cache[bool]{Max: maxBotCache}
		// The first answer is worked out and kept, the second read back.
		if first, kept := c.Get(ua, IsBot), c.Get(ua, IsBot); first != got || kept != got {
			t.Fatalf("the cache disagrees with IsBot(%q) = %v", ua, got)
		}
	})
}

// BenchmarkIsBot is the cost a hit pays to tell a bot: the maintained
// list on an agent seen for the first time (list: IsBot, which decides
// most browsers' agents without the list's regular expressions;
// crawlerdetect: the list's regular expressions alone, as IsBot was), and
// the cache on one seen before.
func BenchmarkIsBot(b *testing.B) {
	uas := []string{
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
		"Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
		"Mozilla/5.0 (Linux; Android 13; SM-A325F) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.6723.107 Mobile Safari/537.36",
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/128.0.0.0 YaBrowser/24.10.0.0 Safari/537.36",
		"Mozilla/5.0 (Linux; Android 12; Redmi Note 11 Build/SKQ1.211103.001; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/129.0.6668.100 Mobile Safari/537.36 Instagram 352.0.0.38.100 Android",
		"Mozilla/5.0 (X11; Linux x86_64; rv:132.0) Gecko/20100101 Firefox/132.0",
		"Mozilla/5.0 (compatible; YandexBot/3.0; +http://yandex.com/bots)",
	}
	b.Run("list", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			IsBot(uas[i%len(uas)])
		}
	})
	b.Run("crawlerdetect", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			listIsBot(uas[i%len(uas)])
		}
	})
	b.Run("cached", func(b *testing.B) {
		b.ReportAllocs()
		c := memo.Cache[bool]{Max: maxBotCache}
		for i := 0; b.Loop(); i++ {
			c.Get(uas[i%len(uas)], IsBot)
		}
	})
}
