package store

import (
	"os"
	"path/filepath"
	"sync"
)

// sumCache remembers the sums (SHA-256, CRC-32C) of the store's tables that a backup has
// summed, so that the next backup of the same DB does not read them again
// for its manifest: pebble never changes a table once written, and a
// checkpoint links the store's tables rather than copying them. A table
// is known by its name (pebble never reuses a file number), size,
// modification time and inode; any other file of a checkpoint (the
// manifest, options, log) is a fresh copy and is summed each time.
type sumCache struct {
	mu   sync.Mutex
	sums map[sumKey]fileSums
}

// fileSums are a file's sums as a manifest lists them (hex).
type fileSums struct{ sha256, crc32c string }

type sumKey struct {
	name         string
	size, mtime  int64
	inode, devno uint64
}

// fileSumKey stats the file name and says whether it is a table, whose sum
// may be cached.
func fileSumKey(name string) (sumKey, bool, error) {
	st, err := os.Stat(name)
	if err != nil {
		return sumKey{}, false, err
	}
	k := sumKey{name: filepath.Base(name), size: st.Size(), mtime: st.ModTime().UnixNano()}
	var ok bool
	if k.inode, k.devno, ok = fileID(st); !ok {
		return k, false, nil
	}
	return k, filepath.Ext(name) == ".sst", nil
}

func (c *sumCache) get(k sumKey) (fileSums, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	s, ok := c.sums[k]
	return s, ok
}

// keep replaces what the cache holds with sums, a backup's tables: those
// of tables that compactions have since removed go.
func (c *sumCache) keep(sums map[sumKey]fileSums) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sums = sums
}
