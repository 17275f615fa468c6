package visits

import (
	"regexp"
	"strings"
	"sync"
)

// IsBot reports whether a user agent is a crawler, a monitor, a link
// preview, an HTTP library or a headless browser driven by a crawler,
// rather than a person's browser: an empty agent (every browser sends
// one), or one that CrawlerDetect's maintained list of some 1,500 patterns
// names. HeadlessChrome alone is not a bot: it is what browser tests and
// page-rendering tools use, and crawlers running it say so elsewhere in
// the agent.
//
// CrawlerDetect runs two large regular expressions (0.5–1.5 ms for a
// browser's agent); most browsers' agents are answered without them
// (botList, the same answers), and the hit path asks through a memo.Cache.
func IsBot(ua string) bool {
	if strings.TrimSpace(ua) == "" {
		return true
	}
	ua = strings.ReplaceAll(ua, "HeadlessChrome/", "Chrome/")
	if theBotList().surelyPerson(strings.TrimSpace(ua)) {
		return false
	}
	return theCrawlerDetect().isCrawler(ua)
}

// crawlerDetect is CrawlerDetect's IsCrawler over its lists as
// botlist_data.go copies them (TestBotListData), the same regular
// expressions applied the same way (TestBotListAgrees, FuzzBotList). The
// package itself is not linked: it compiles them in its init, some 30-80
// ms of every start (a quarter of an empty server's), for an answer most
// agents never need (botList).
type crawlerDetect struct {
	crawlers, exclusions *regexp.Regexp
}

// theCrawlerDetect is made when an agent first needs it.
var theCrawlerDetect = sync.OnceValue(func() *crawlerDetect {
	return &crawlerDetect{
		crawlers:   regexp.MustCompile("(?i)(" + strings.Join(crawlerPatterns, "|") + ")"),
		exclusions: regexp.MustCompile("(?i)(" + strings.Join(exclusionPatterns, "|") + ")"),
	}
})

// isCrawler deletes the exclusions' matches from the agent and matches
// what is left against the crawlers, as CrawlerDetect.IsCrawler does.
func (c *crawlerDetect) isCrawler(ua string) bool {
	return c.crawlers.MatchString(c.exclusions.ReplaceAllString(strings.TrimSpace(ua), ""))
}

// PrepareBotCheck makes what IsBot needs for an agent it has not seen
// (some 30-100 ms of CPU), so that no hit waits for it: serve calls it
// once it is ready.
func PrepareBotCheck() {
	theBotList()
	theCrawlerDetect()
}

// maxBotCache bounds the user agents the tracker remembers IsBot of; people's
// browsers send a few thousand distinct ones.
const maxBotCache = 8192
