package store

import (
	"runtime"

	"golang.org/x/sys/unix"
)

// lowPriority moves the calling goroutine onto a thread of its own at the
// lowest CPU priority (nice 19; Linux gives each thread its own) for the
// rest of its life: the goroutine must end without unlocking, which makes
// the runtime discard the thread rather than reuse it at that priority.
func lowPriority() {
	runtime.LockOSThread()
	_ = unix.Setpriority(unix.PRIO_PROCESS, unix.Gettid(), 19)
}
