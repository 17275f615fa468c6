package store

import (
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// A store belongs to the owner of its data directory. Root (sudo) may run
// serve, backup, restore and the admin commands on another user's data
// directory (the service user's, a container's uid 10001 on a host
// directory) with no server running; they open the store themselves and
// make files in it: its log, manifest and tables, backup's sums, restore's
// whole store. Left root's, the server that runs as that user could read
// them but not reuse or rewrite them. So what root made there is given to
// the directory's owner: by Open (what a root command killed before its
// Close left) and Close for an open store, by Restore for the store it
// swaps in.

// giveToOwner gives dir, and everything under it, that belongs to root to
// the owner of the data directory dataDir (uid and gid), when this process
// runs as root and dataDir is another user's; else it does nothing.
// Files of other users are left as they are.
func giveToOwner(dataDir, dir string) error {
	if os.Geteuid() != 0 {
		return nil
	}
	fi, err := os.Stat(dataDir)
	if err != nil {
		return err
	}
	owner, ok := fi.Sys().(*syscall.Stat_t)
	if !ok || owner.Uid == 0 {
		return nil
	}
	return filepath.WalkDir(dir, func(p string, _ fs.DirEntry, err error) error {
		if err != nil {
			if p != dir && os.IsNotExist(err) {
				return nil // removed meanwhile (an obsolete table)
			}
			return err
		}
		fi, err := os.Lstat(p)
		if os.IsNotExist(err) {
			return nil
		}
		if err != nil {
			return err
		}
		if st, ok := fi.Sys().(*syscall.Stat_t); !ok || st.Uid != 0 {
			return nil
		}
		return os.Lchown(p, int(owner.Uid), int(owner.Gid))
	})
}
