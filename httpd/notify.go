package httpd

import (
	"fmt"
	"net"
	"strings"

	"golang.org/x/sys/unix"
)

// sdNotify tells systemd about the service's state, as sd_notify(3) does
// for a unit of Type=notify: one datagram of newline-separated assignments
// ("READY=1", "STOPPING=1") on the unix socket $NOTIFY_SOCKET names, a
// path or, starting with "@", an abstract socket. An empty socket (not
// started by systemd) does nothing.
func sdNotify(socket string, state ...string) error {
	if socket == "" {
		return nil
	}
	if !strings.HasPrefix(socket, "/") && !strings.HasPrefix(socket, "@") {
		return fmt.Errorf("notify systemd: NOTIFY_SOCKET=%q is neither a path nor an abstract socket", socket)
	}
	// net turns a leading "@" into the abstract namespace's NUL.
	c, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: socket, Net: "unixgram"})
	if err != nil {
		return fmt.Errorf("notify systemd %q: %w", socket, err)
	}
	defer c.Close()
	if _, err := c.Write([]byte(strings.Join(state, "\n"))); err != nil {
		return fmt.Errorf("notify systemd %q: %w", socket, err)
	}
	return nil
}

// monotonicUsec is CLOCK_MONOTONIC in microseconds, which systemd wants
// beside RELOADING=1.
func monotonicUsec() int64 {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts); err != nil {
		return 0
	}
	return ts.Nano() / 1000
}

// notify is sdNotify on the server's socket; a failure is logged, as
// systemd then times the start out and says so itself.
func (s *Server) notify(state ...string) {
	if err := sdNotify(s.opts.NotifySocket, state...); err != nil {
		s.log.Warn("cannot tell systemd the server's state", "state", strings.Join(state, " "), "err", err)
	}
}
