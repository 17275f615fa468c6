package visits

import "strings"

// botMarks are lower-case pieces of user agents of crawlers, monitors,
// link previews, HTTP libraries and headless browsers driven by crawlers
// (read only). "bot" alone is checked apart (see IsBot).
var botMarks = [...]string{
	"crawl", "spider", "slurp", "scrap", "archiver", "fetcher",
	"facebookexternalhit", "facebookcatalog", "meta-externalagent", "embedly",
	"yandex.com/bots", "mediapartners-google", "adsbot-google", "google-inspectiontool",
	"google-read-aloud", "googleother", "feedfetcher", "chrome-lighthouse", "lighthouse",
	"pagespeed", "gtmetrix", "pingdom", "uptimerobot", "statuscake", "site24x7",
	"curl/", "wget/", "python", "go-http-client", "java/", "okhttp", "libwww",
	"httpclient", "http_request", "axios/", "node-fetch", "undici", "postmanruntime",
	"httpie", "guzzle", "aiohttp", "phantomjs", "headlessshell", "puppeteer",
	"playwright", "selenium", "webdriver", "prerender", "rendertron",
}

// IsBot reports whether a user agent is a crawler or a script rather than
// a person's browser. An empty user agent is a bot (every browser sends
// one). Names containing "bot" are bots (Googlebot, YandexBot, bingbot,
// Applebot, ...), except the Cubot phone brand. HeadlessChrome is not a
// bot: it is what browser tests and page-rendering tools use, and crawlers
// running it say so elsewhere in the agent.
func IsBot(ua string) bool {
	if strings.TrimSpace(ua) == "" {
		return true
	}
	l := strings.ToLower(ua)
	for _, m := range botMarks {
		if strings.Contains(l, m) {
			return true
		}
	}
	for i := 0; ; {
		j := strings.Index(l[i:], "bot")
		if j < 0 {
			return false
		}
		i += j
		if !strings.HasSuffix(l[:i], "cu") {
			return true
		}
		i += 3
	}
}
