package httpd

import (
	"errors"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Back-off of Accept after a temporary error, as net/http's Server does.
const (
	acceptBackoffMin = 5 * time.Millisecond
	acceptBackoffMax = time.Second
)

// retryListener keeps accepting through temporary errors. fasthttp stops
// serving on any accept error but a timeout, and running out of file
// descriptors (EMFILE, ENFILE) is the common one under a flood of
// connections: the server would end while the flood lasts. Instead Accept
// waits (5 ms, doubling up to 1 s, reset by a success) and tries again,
// counts each error and logs the first one: a flood must not also flood
// the log.
type retryListener struct {
	net.Listener
	log    *slog.Logger
	errors *atomic.Uint64
	logged *atomic.Bool

	closeOnce sync.Once
	closed    chan struct{}
}

func newRetryListener(ln net.Listener, log *slog.Logger, errs *atomic.Uint64, logged *atomic.Bool) *retryListener {
	return &retryListener{Listener: ln, log: log, errors: errs, logged: logged, closed: make(chan struct{})}
}

func (l *retryListener) Accept() (net.Conn, error) {
	var wait time.Duration
	for {
		c, err := l.Listener.Accept()
		if err == nil || !temporaryAcceptError(err) {
			return c, err
		}
		l.errors.Add(1)
		if !l.logged.Swap(true) {
			msg := "accept failed; backing off and retrying (later errors are only counted in appliance_http_accept_errors_total)"
			if errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE) {
				msg = "accept: out of file descriptors, too many connections; backing off and retrying (later errors are only counted in appliance_http_accept_errors_total)"
			}
			l.log.Error(msg, "err", err)
		}
		wait = min(max(2*wait, acceptBackoffMin), acceptBackoffMax)
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-l.closed:
			t.Stop()
			return nil, net.ErrClosed
		}
	}
}

func (l *retryListener) Close() error {
	l.closeOnce.Do(func() { close(l.closed) })
	return l.Listener.Close()
}

// temporaryAcceptError reports whether an Accept error passes: out of file
// descriptors or kernel memory, or an error the net package marks
// temporary. A closed listener is not.
func temporaryAcceptError(err error) bool {
	if errors.Is(err, net.ErrClosed) {
		return false
	}
	for _, errno := range []syscall.Errno{syscall.EMFILE, syscall.ENFILE, syscall.ENOBUFS, syscall.ENOMEM, syscall.ECONNABORTED} {
		if errors.Is(err, errno) {
			return true
		}
	}
	var te interface{ Temporary() bool }
	return errors.As(err, &te) && te.Temporary()
}
