package visits

import (
	"strings"
	"sync"

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
// microseconds); the hit path asks through a botCache.
func IsBot(ua string) bool {
	if strings.TrimSpace(ua) == "" {
		return true
	}
	return crawlerdetect.IsCrawler(strings.ReplaceAll(ua, "HeadlessChrome/", "Chrome/"))
}

// maxBotCache bounds the user agents a botCache remembers; people's
// browsers send a few thousand distinct ones.
const maxBotCache = 8192

// botCache remembers IsBot's answer per user agent, so that a hit pays a
// map lookup, not the regular expression, for an agent seen before. When
// full it starts over (agents that matter come back at once).
type botCache struct {
	mu   sync.RWMutex
	seen map[string]bool
}

func (c *botCache) is(ua string) bool {
	c.mu.RLock()
	bot, ok := c.seen[ua]
	c.mu.RUnlock()
	if ok {
		return bot
	}
	bot = IsBot(ua)
	c.mu.Lock()
	if c.seen == nil || len(c.seen) >= maxBotCache {
		c.seen = make(map[string]bool, 256)
	}
	c.seen[strings.Clone(ua)] = bot
	c.mu.Unlock()
	return bot
}
