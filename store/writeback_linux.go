package store

import (
	"os"

	"golang.org/x/sys/unix"
)

// startWriteback asks the kernel to start writing n bytes of f at off to
// the disk, without waiting for it (sync_file_range WRITE): a long file
// written at a stream's pace goes out as it comes rather than in one burst
// at its fsync, which would hold up the store's WAL syncs on the same disk
// (pebble's BytesPerSync does the same for its tables). Errors are ignored:
// the final fsync is what makes the file durable.
func startWriteback(f *os.File, off, n int64) {
	_ = unix.SyncFileRange(int(f.Fd()), off, n, unix.SYNC_FILE_RANGE_WRITE)
}

// dropWritten waits until the n bytes of f at off, whose writeback
// startWriteback started, are on the disk, and drops them from the page
// cache (posix_fadvise DONTNEED): a backup written beside a serving store
// keeps at most two pieces of itself in flight, and does not push the
// store's own pages out of the cache with pages nobody reads again. n 0 is
// to the end of f. Errors are ignored, as startWriteback's.
func dropWritten(f *os.File, off, n int64) {
	_ = unix.SyncFileRange(int(f.Fd()), off, n, unix.SYNC_FILE_RANGE_WAIT_BEFORE|unix.SYNC_FILE_RANGE_WRITE|unix.SYNC_FILE_RANGE_WAIT_AFTER)
	_ = unix.Fadvise(int(f.Fd()), off, n, unix.FADV_DONTNEED)
}
