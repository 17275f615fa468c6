//go:build !linux

package store

import "errors"

// exchangeDirs cannot swap atomically here; Restore renames twice.
func exchangeDirs(a, b string) error { return errors.New("store: no atomic exchange") }
