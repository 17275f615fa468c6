// Package detach makes a standard context for work done on behalf of a
// context that is not one, such as fasthttp's RequestCtx: a
// context.WithCancel or WithTimeout of such a parent starts a watcher that,
// once the parent is done, reads it (Value, for the cause), which races
// with fasthttp resetting the request for the next one after its handler
// returned. The watcher here only waits on the parent's Done channel.
package detach

import (
	"context"
	"time"
)

// Until is a context that ends when cancel is called, once done is closed
// (nil: never), or after timeout (0: none). It holds no values.
func Until(done <-chan struct{}, timeout time.Duration) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(context.Background())
	if timeout > 0 {
		ctx, cancel = context.WithTimeout(context.Background(), timeout)
	}
	if done != nil {
		go func() {
			select {
			case <-done:
				cancel()
			case <-ctx.Done():
			}
		}()
	}
	return ctx, cancel
}
