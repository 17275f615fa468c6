//go:build !linux

package store

// idleReads does nothing where threads have no I/O class of their own.
func idleReads() (restore func()) { return func() {} }
