package httpd

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"
)

// A stop waits for the requests being answered, not for every connection
// open: fasthttp's own drain waits until each connection has closed, and
// some close only when a timeout ends them, whatever the server does:
//
//   - one that has sent nothing yet (a browser's preconnect, a proxy's
//     spare): counted idle 5 s after it opened;
//   - one whose client stalled halfway through its request: ReadTimeout,
//     15 s after its first byte;
//   - one whose client does not read the answer it asked for (a phone that
//     lost its network during a download): WriteTimeout, 60 s.
//
// No request of theirs is being handled, and none was answered: nothing is
// lost when the process ends them by exiting. Waiting for them, a stop took
// up to the whole drain time (15 s, longer than `docker stop`'s 10 s grace,
// which then ended it with SIGKILL) and, past it, failed without sealing the
// pools' leases.

// drainTick is how often a stop looks whether requests are still being
// handled (fasthttp's own drain looks every 100 ms).
const drainTick = 50 * time.Millisecond

// handling counts the public requests being handled, and is closed once a
// stop finds none: a request that comes after that (one read from a
// connection opened before the listener closed) is answered 503 without
// being handled, so that nothing touches the store as it closes.
type handling struct{ n atomic.Int64 }

// handlingClosed is added to the count when it is closed.
const handlingClosed = 1 << 62

// enter counts a request in; false when the count is closed (the request
// must not be handled).
func (h *handling) enter() bool {
	if h.n.Add(1) >= handlingClosed {
		h.n.Add(-1)
		return false
	}
	return true
}

// leave counts a request out.
func (h *handling) leave() { h.n.Add(-1) }

// closeIfIdle closes the count when no request is being handled, and
// reports whether it is closed.
func (h *handling) closeIfIdle() bool {
	return h.n.CompareAndSwap(0, handlingClosed) || h.n.Load() >= handlingClosed
}

// drain shuts srv down (it stops accepting, and closes idle keep-alive
// connections) and returns when every connection has closed, or as soon as
// no request of srv's is being handled (the connections left are those of
// the kinds above), or with ctx's error when ctx ends first.
func (s *Server) drain(ctx context.Context, srv *fasthttp.Server) error {
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- srv.ShutdownWithContext(sctx) }()
	tick := time.NewTicker(drainTick)
	defer tick.Stop()
	for {
		select {
		case err := <-done:
			return err
		case <-tick.C:
			// A request that slips in after (its connection accepted as
			// the listener closed) is refused, not lost: see handling.
			if s.handling.closeIfIdle() {
				cancel()
				<-done
				return nil
			}
		}
	}
}
