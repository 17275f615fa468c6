package store

import (
	"runtime"

	"golang.org/x/sys/unix"
)

// ioprio_set(2)'s arguments: who is one thread, and the idle class, whose
// requests the block layer's scheduler (mq-deadline, bfq) serves only when
// no other class has any waiting.
const (
	ioprioWhoProcess = 1
	ioprioClassIdle  = 3 << 13
)

// lowPriority moves the calling goroutine onto a thread of its own at the
// lowest CPU priority (nice 19; Linux gives each thread its own) for the
// rest of its life: the goroutine must end without unlocking, which makes
// the runtime discard the thread rather than reuse it at that priority.
func lowPriority() {
	runtime.LockOSThread()
	_ = unix.Setpriority(unix.PRIO_PROCESS, unix.Gettid(), 19)
}

// idleReads puts the calling thread, one lowPriority made, in the idle I/O
// class: the store files it reads from the disk (those not in the page
// cache) wait while the store's own requests, its log's writes, are queued.
// Only for reads: a write of the idle class can hold up a journal commit
// of the file system (ext4's ordered mode waits for the data of files it
// commits), and with it every fsync of the store.
func idleReads() {
	_, _, _ = unix.Syscall(unix.SYS_IOPRIO_SET, ioprioWhoProcess, uintptr(unix.Gettid()), ioprioClassIdle)
}
