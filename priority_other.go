//go:build !linux

package main

import "golang.org/x/sys/unix"

// backgroundPriority moves the process to the lowest CPU priority (nice
// 19); errors are ignored: the work is the same at any priority.
func backgroundPriority() { _ = unix.Setpriority(unix.PRIO_PROCESS, 0, 19) }
