//go:build !linux

package store

// lowPriority does nothing where threads have no priority of their own.
func lowPriority() {}
