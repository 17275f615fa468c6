//go:build !linux

package store

import "os"

// startWriteback does nothing where there is no sync_file_range: the final
// fsync writes the whole file.
func startWriteback(*os.File, int64, int64) {}

// dropWritten does nothing there either.
func dropWritten(*os.File, int64, int64) {}
