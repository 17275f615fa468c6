package store

import (
	"fmt"
	"log/slog"
	"sync"
	"syscall"
	"time"
)

// Disk space. Pebble cannot survive running out of space: a failed write to
// its log panics in the committing goroutine, a failed log sync is sticky,
// and a failed flush is retried at once, forever. So the store never lets
// it get there: the writer checks the free space of the file system before
// every group and refuses the group (ErrDiskFull, nothing applied, nothing
// lost) while less than the headroom is free, which leaves room for
// pebble's own flushes, compactions and manifest. Writes resume by
// themselves once space is back (with a margin, so that a disk on the edge
// does not flap); Open refuses a disk that lacks even half the headroom
// rather than start pebble on it.

// Bounds of the default headroom: a twentieth of the file system, within
// these.
const (
	minHeadroom = 16 << 20
	maxHeadroom = 256 << 20
)

// space watches the free space of the file system holding the store.
type space struct {
	dir      string
	headroom uint64 // 0: from the file system's size
	log      *slog.Logger

	mu   sync.Mutex
	full bool
	// The last statfs while not full: when, what it found free and the
	// headroom, and the bytes the store was asked to write since.
	statAt    time.Time
	statFree  uint64
	statRoom  uint64
	sinceStat uint64
}

// statEvery is how long check may go on the last statfs while the disk is
// far from full: in 2 ms even a fast disk written by someone else takes a
// few MiB, a fraction of the 16 MiB or more of headroom. A group or
// commit costs one statfs otherwise, several thousand a second (a tenth
// of a durable write's own CPU on a VM).
const statEvery = 2 * time.Millisecond

// stat returns the bytes free for the store and the headroom it must keep.
func (s *space) stat() (free, headroom uint64, err error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(s.dir, &st); err != nil {
		return 0, 0, fmt.Errorf("disk space of %q: %w", s.dir, err)
	}
	free = st.Bavail * uint64(st.Bsize)
	headroom = s.headroom
	if headroom == 0 {
		size := st.Blocks * uint64(st.Bsize)
		headroom = min(max(size/20, minHeadroom), maxHeadroom, size/2)
	}
	return free, headroom, nil
}

// check returns ErrDiskFull while the disk is full: less than the headroom
// free, and once full until a quarter more than that is free again. It
// logs each change, not each refusal. A file system it cannot ask about is
// taken as not full: the writes themselves will tell.
//
// n is the bytes about to be written. Between statfs calls it counts what
// the store was asked to write; it goes on the last figure while that and
// the time since keep well within the free space above the headroom.
func (s *space) check(n int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sinceStat += uint64(n)
	if !s.full && time.Since(s.statAt) < statEvery && s.statFree > s.statRoom+s.statRoom/2 &&
		s.sinceStat < (s.statFree-s.statRoom)/4 {
		return nil
	}
	free, headroom, err := s.stat()
	if err != nil {
		return nil
	}
	s.statAt, s.statFree, s.statRoom, s.sinceStat = time.Now(), free, headroom, 0
	switch {
	case !s.full && free < headroom:
		s.full = true
		s.log.Error("disk full: writes are refused until space is freed on the disk of the data directory",
			"dir", s.dir, "free_bytes", free, "needed_bytes", headroom+headroom/4)
	case s.full && free >= headroom+headroom/4:
		s.full = false
		s.log.Info("disk space is back: writes resume", "dir", s.dir, "free_bytes", free)
	}
	if s.full {
		return fmt.Errorf("%w: %d bytes free on the disk of %s, writes need %d", ErrDiskFull, free, s.dir, headroom)
	}
	return nil
}

// checkOpen refuses to open pebble on a disk without half the headroom
// free: replaying its log and flushing need space, and pebble retries a
// failed flush without end.
func (s *space) checkOpen() error {
	free, headroom, err := s.stat()
	if err != nil {
		return err
	}
	if free < headroom/2 {
		return fmt.Errorf("%w: %d bytes free on the disk of %s, the store needs at least %d to start; free some space and start again",
			ErrDiskFull, free, s.dir, headroom/2)
	}
	return nil
}
