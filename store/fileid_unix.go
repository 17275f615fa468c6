//go:build unix

package store

import (
	"os"
	"syscall"
)

// fileID is the inode and device of the file st describes.
func fileID(st os.FileInfo) (inode, dev uint64, ok bool) {
	sys, ok := st.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, 0, false
	}
	return uint64(sys.Ino), uint64(sys.Dev), true
}
