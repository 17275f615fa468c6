// Package memo remembers the answers of a pure function of a string (is
// this user agent a bot, what is this host's cookie domain), so that a hot
// path pays a map lookup rather than the function for a key it has seen.
package memo

import (
	"strings"
	"sync"
)

// Cache holds at most Max answers; when full it starts over (the keys that
// matter come back at once). The zero value with Max set is ready; it is
// safe for concurrent use.
type Cache[V any] struct {
	Max  int
	mu   sync.RWMutex
	seen map[string]V
}

// Get is f(key), from the cache when key was seen before. f must answer the
// same for the same key; key is copied when kept, so it may alias a buffer.
func (c *Cache[V]) Get(key string, f func(string) V) V {
	c.mu.RLock()
	v, ok := c.seen[key]
	c.mu.RUnlock()
	if ok {
		return v
	}
	v = f(key)
	c.mu.Lock()
	if c.seen == nil || len(c.seen) >= c.Max {
		c.seen = make(map[string]V, min(c.Max, 256))
	}
	c.seen[strings.Clone(key)] = v
	c.mu.Unlock()
	return v
}
