//go:build unix

// Package cputime is the process's CPU time, which the benchmarks report
// per op beside wall time (cpu-ns/op, cpu-µs/op): on a shared machine wall
// time also counts the waits for a core that other processes hold.
package cputime

import (
	"syscall"
	"time"
)

// Process is the CPU time the process has used, user and system (0 when
// it cannot be read).
func Process() time.Duration {
	user, sys := usage()
	return user + sys
}

// System is the part of Process spent in the kernel (0 when it cannot be
// read).
func System() time.Duration {
	_, sys := usage()
	return sys
}

// usage is the process's user and system CPU time from getrusage.
func usage() (user, sys time.Duration) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, 0
	}
	return time.Duration(ru.Utime.Nano()), time.Duration(ru.Stime.Nano())
}
