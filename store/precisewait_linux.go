package store

import (
	"os"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// preciseWait waits a short time to the tens of microseconds: on a
// timerfd read through Go's netpoller, so the waiting goroutine is parked
// (its P runs other goroutines) and woken by the kernel's high-resolution
// timer. A runtime timer (time.Sleep, time.AfterFunc) shorter than a
// millisecond fires after about 1.1 ms when the process is otherwise idle:
// the netpoller sleeps in whole milliseconds.
type preciseWait struct {
	mu sync.Mutex
	fd int
	f  *os.File // fd, non-blocking, in the netpoller
}

// newPreciseWait returns nil when the kernel gives no timerfd.
func newPreciseWait() *preciseWait {
	fd, err := unix.TimerfdCreate(unix.CLOCK_MONOTONIC, unix.TFD_NONBLOCK|unix.TFD_CLOEXEC)
	if err != nil {
		return nil
	}
	return &preciseWait{fd: fd, f: os.NewFile(uintptr(fd), "timerfd")}
}

// wait waits d and reports true, or reports false at once when it cannot
// (another wait in progress, a closed or failed timer): the caller then
// waits its own way.
func (w *preciseWait) wait(d time.Duration) bool {
	if w == nil || !w.mu.TryLock() {
		return false
	}
	defer w.mu.Unlock()
	spec := unix.ItimerSpec{Value: unix.NsecToTimespec(d.Nanoseconds())}
	if err := unix.TimerfdSettime(w.fd, 0, &spec, nil); err != nil {
		return false
	}
	var b [8]byte // the count of expirations
	_, err := w.f.Read(b[:])
	return err == nil
}

func (w *preciseWait) close() {
	if w != nil {
		_ = w.f.Close()
	}
}
