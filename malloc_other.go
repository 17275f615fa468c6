//go:build !linux || !cgo

package main

// tuneCAllocator does nothing without cgo (the store's allocations are all
// Go's) or off Linux.
func tuneCAllocator() {}
