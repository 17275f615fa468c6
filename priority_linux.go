package main

import (
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// backgroundPriority moves the whole process to the lowest CPU priority
// (nice 19). Linux keeps a priority per thread, and a new thread takes its
// creator's, so every thread the process has is set, until a pass finds no
// thread it had not set (the runtime may start one meanwhile). Errors are
// ignored: the work is the same at any priority.
func backgroundPriority() {
	set := map[int]bool{}
	for {
		tasks, err := os.ReadDir("/proc/self/task")
		if err != nil {
			_ = unix.Setpriority(unix.PRIO_PROCESS, 0, 19)
			return
		}
		more := false
		for _, t := range tasks {
			tid, err := strconv.Atoi(t.Name())
			if err != nil || set[tid] {
				continue
			}
			_ = unix.Setpriority(unix.PRIO_PROCESS, tid, 19)
			set[tid], more = true, true
		}
		if !more {
			return
		}
	}
}
