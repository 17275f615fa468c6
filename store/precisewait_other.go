//go:build !linux

package store

import "time"

// preciseWait is Linux's timerfd; elsewhere there is none and callers
// wait their own way.
type preciseWait struct{}

func newPreciseWait() *preciseWait { return nil }

func (w *preciseWait) wait(time.Duration) bool { return false }

func (w *preciseWait) close() {}
