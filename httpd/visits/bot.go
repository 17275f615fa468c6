package visits

import (
	"strings"

	"github.com/x-way/crawlerdetect"
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
	return crawlerdetect.IsCrawler(ua)
}

// maxBotCache bounds the user agents the tracker remembers IsBot of; people's
// browsers send a few thousand distinct ones.
const maxBotCache = 8192
