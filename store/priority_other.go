//go:build !linux

package store

// lowPriority does nothing where threads have no priority of their own.
func lowPriority() {}

// idleReads does nothing where threads have no I/O class of their own.
func idleReads() {}
