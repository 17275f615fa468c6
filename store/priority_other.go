//go:build !linux

package store

// idleReads does nothing where threads have no I/O class of their own.
func idleReads() (restore func()) { return func() {} }

// threadNice is false: the process's threads share its priority.
const threadNice = false

func lowerThread(int) bool { return false }
