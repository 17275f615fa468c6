package store

import (
	"runtime"

	"golang.org/x/sys/unix"
)

// ioprio_get(2) and ioprio_set(2)'s arguments: who is one thread, and the
// idle class, whose requests the block layer's scheduler (mq-deadline,
// bfq) serves only when no other class has any waiting.
const (
	ioprioWhoProcess = 1
	ioprioClassIdle  = 3 << 13
)

// idleReads locks the calling goroutine to its thread and puts the thread
// in the idle I/O class: the store files it reads from the disk (those not
// in the page cache) wait while the store's own requests, its log's
// writes, are queued. It returns what puts the thread back in its class
// and unlocks it. Only for reads: a write of the idle class can hold up a
// journal commit of the file system (ext4's ordered mode waits for the
// data of files it commits), and with it every fsync of the store.
//
// The thread keeps its CPU priority. A thread at nice 19 would be unsound
// in a Go process: the runtime hands it one of the GOMAXPROCS Ps each time
// its goroutine becomes runnable (a pacer's timer, the end of a system
// call), and while the kernel keeps it waiting behind the busier threads,
// that P runs nothing. Measured during BenchmarkHitsDuringBackup at load
// ~20: nice-19 backup threads ran 0.47 s and waited 24 s runnable, one of
// two Ps idle much of the time the backups ran. The rate (pacer) is what
// bounds a backup's share of the CPU instead.
func idleReads() (restore func()) {
	runtime.LockOSThread()
	tid := unix.Gettid()
	old, _, errno := unix.Syscall(unix.SYS_IOPRIO_GET, ioprioWhoProcess, uintptr(tid), 0)
	if errno != 0 {
		runtime.UnlockOSThread()
		return func() {}
	}
	if _, _, errno := unix.Syscall(unix.SYS_IOPRIO_SET, ioprioWhoProcess, uintptr(tid), ioprioClassIdle); errno != 0 {
		runtime.UnlockOSThread()
		return func() {}
	}
	return func() {
		if _, _, errno := unix.Syscall(unix.SYS_IOPRIO_SET, ioprioWhoProcess, uintptr(tid), old); errno != 0 {
			// The thread stays locked: its goroutine's end discards it
			// rather than let other goroutines read in the idle class.
			return
		}
		runtime.UnlockOSThread()
	}
}

// threadNice is true: a Linux thread has a nice value of its own.
const threadNice = true

// lowerThread sets the calling thread's nice value to nice (a higher one:
// a lower priority), reporting whether it could.
func lowerThread(nice int) bool {
	return unix.Setpriority(unix.PRIO_PROCESS, unix.Gettid(), nice) == nil
}
