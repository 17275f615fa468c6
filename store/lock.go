package store

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
)

// One lock guards a data directory: pebble's fcntl lock on db/LOCK, held by
// whoever has the store open (serve, an admin command without a server)
// and by Restore for its whole run. The kernel drops it when the holder
// exits, and keeps it while the holder is stopped (SIGSTOP) or hung, which
// a ping of the admin socket cannot tell from a dead server.

// lockName is pebble's lock file in the store directory.
const lockName = "LOCK"

// LockedError is the error when another process holds the store; it wraps
// ErrLocked.
type LockedError struct {
	Dir string // the data directory
	PID int    // the holder; 0 when it cannot be told
}

func (e *LockedError) Error() string {
	if e.PID == 0 {
		return fmt.Sprintf("store %q: in use by another process", e.Dir)
	}
	return fmt.Sprintf("store %q: in use by process %d", e.Dir, e.PID)
}

func (e *LockedError) Unwrap() error { return ErrLocked }

// lockedError makes the LockedError of dataDir when err, from taking
// pebble's lock, says another holder has it; nil otherwise. The held-by-
// this-process case is told from pebble's own message: asking the kernel
// would mean opening and closing the lock file, and closing any descriptor
// of a file drops the process's fcntl locks on it.
func lockedError(dataDir string, err error) error {
	var pe *fs.PathError
	switch {
	case errors.As(err, &pe):
		// The lock file could not be opened (permission denied, a
		// read-only file system): nobody holds the lock, whatever the
		// errno; fcntl's own EAGAIN or EACCES comes without a path.
		return nil
	case errors.Is(err, syscall.EAGAIN), errors.Is(err, syscall.EACCES):
		return &LockedError{Dir: dataDir, PID: lockHolder(filepath.Join(dataDir, DBDir, lockName))}
	case err != nil && isLockErr(err):
		return &LockedError{Dir: dataDir, PID: os.Getpid()}
	}
	return nil
}

// lockHolder asks the kernel which process holds the lock on path; 0 when
// none does or it cannot be told. Only for a path this process holds no
// lock on (see lockedError).
func lockHolder(path string) int {
	f, err := os.Open(path)
	if err != nil {
		return 0
	}
	defer f.Close()
	lk := syscall.Flock_t{Type: syscall.F_WRLCK, Whence: io.SeekStart}
	if err := syscall.FcntlFlock(f.Fd(), syscall.F_GETLK, &lk); err != nil || lk.Type == syscall.F_UNLCK {
		return 0
	}
	return int(lk.Pid)
}

// lockStore takes the store's lock in dataDir (creating db/ when absent)
// for a caller that must exclude every other user of the store without
// opening it: a *LockedError when another holds it. Close releases it.
func lockStore(dataDir string) (io.Closer, error) {
	dbDir := filepath.Join(dataDir, DBDir)
	if err := os.MkdirAll(dbDir, 0o700); err != nil {
		return nil, AccessHint(dataDir, err)
	}
	l, err := pebble.LockDirectory(dbDir, vfs.Default)
	if lerr := lockedError(dataDir, err); lerr != nil {
		return nil, lerr
	}
	if err != nil {
		return nil, AccessHint(dataDir, err)
	}
	return l, nil
}

// AccessHint is err, met in the data directory dataDir, with what to do
// about it when this process may not use the directory: its files belong to
// another user (a store made by root and served by a service user, or the
// other way round), or its file system is read-only here (systemd's
// ProtectSystem=strict without the directory in ReadWritePaths=). A bare
// "permission denied" tells a user neither. Other errors are returned as
// they are.
func AccessHint(dataDir string, err error) error {
	switch {
	case errors.Is(err, syscall.EROFS):
		return fmt.Errorf("%w: the data directory %s is read-only for appliance (under systemd's ProtectSystem=strict, list it in ReadWritePaths=)", err, dataDir)
	case !errors.Is(err, fs.ErrPermission):
		return err
	}
	me := os.Geteuid()
	if dir, owner, ok := ownerOf(dataDir); ok && owner != me {
		return fmt.Errorf("%w: appliance runs as %s, and %s belongs to %s: run it as that user (sudo -u %s appliance ...), or give the data directory to this one (chown -R %s %s)",
			err, who(me), dir, who(owner), userArg(owner, "'#", "'"), userArg(me, "", ""), dataDir)
	}
	return fmt.Errorf("%w: appliance runs as %s, which may not use every file in the data directory %s (made by another user?): give them to this one (chown -R %s %s), or run it as their owner",
		err, who(me), dataDir, userArg(me, "", ""), dataDir)
}

// ownerOf finds the nearest of path and its parents that this process can
// see (a data directory not made yet is made in its parent) and says which
// uid owns it.
func ownerOf(path string) (dir string, uid int, ok bool) {
	for p := filepath.Clean(path); ; p = filepath.Dir(p) {
		if fi, err := os.Stat(p); err == nil {
			if st, ok := fi.Sys().(*syscall.Stat_t); ok {
				return p, int(st.Uid), true
			}
			return "", 0, false
		}
		if p == filepath.Dir(p) {
			return "", 0, false
		}
	}
}

// who says who uid is: "name (uid N)", or "uid N" when it has no name here.
func who(uid int) string {
	if u, err := user.LookupId(strconv.Itoa(uid)); err == nil && u.Username != "" {
		return fmt.Sprintf("%s (uid %d)", u.Username, uid)
	}
	return fmt.Sprintf("uid %d", uid)
}

// userArg is uid as a shell command takes it: its name, else the number
// between prefix and suffix (sudo's quoted "'#N'", chown's bare "N").
func userArg(uid int, prefix, suffix string) string {
	if u, err := user.LookupId(strconv.Itoa(uid)); err == nil && u.Username != "" {
		return u.Username
	}
	return prefix + strconv.Itoa(uid) + suffix
}

// InUse says who holds the store in dir, from the *LockedError in err: a
// process that has it open (a server, even a stopped one, or an admin
// command) or a restore. It wraps ErrLocked, whose text it leaves out: the
// sentence says it.
func InUse(dir string, err error) error {
	return inUseError(fmt.Sprintf("the store in %s is in use by %s (a server, running or paused, an admin command or a restore); stop it first", dir, holder(err)))
}

// Unanswered is InUse for an admin command, which asks a running server
// over its socket: the store in dir is held (err) by a process that did not
// answer there, a paused server or one that holds the store without
// serving (a restore, another command). It wraps ErrLocked.
func Unanswered(dir string, err error) error {
	return inUseError(fmt.Sprintf("the store in %s is held by %s, which does not answer on its admin socket: a paused server (kill -CONT resumes it), or a restore or another command that has it open (wait for it to end)", dir, holder(err)))
}

// holder names the process that holds the store, from the *LockedError
// in err.
func holder(err error) string {
	var le *LockedError
	if errors.As(err, &le) && le.PID != 0 {
		return fmt.Sprintf("process %d", le.PID)
	}
	return "another process"
}

// inUseError is InUse's sentence; it is ErrLocked.
type inUseError string

func (e inUseError) Error() string { return string(e) }

func (e inUseError) Unwrap() error { return ErrLocked }
