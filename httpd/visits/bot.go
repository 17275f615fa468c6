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
// A check runs a large regular expression (tens to hundreds of
// microseconds); the hit path asks through a memo.Cache.
func IsBot(ua string) bool {
	if strings.TrimSpace(ua) == "" {
		return true
	}
	return crawlerdetect.IsCrawler(strings.ReplaceAll(ua, "HeadlessChrome/", "Chrome/"))
}

// maxBotCache bounds the user agents the tracker remembers IsBot of; people's
// browsers send a few thousand distinct ones.
const maxBotCache = 8192
