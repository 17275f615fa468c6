package store

import (
	"encoding/json"
	"maps"
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
//
// The sums are also kept in a file beside the tables (sumsName in the
// store's directory, which pebble leaves alone as it does the lock file;
// a checkpoint does not take it, and a restore replaces it with the
// directory), so that the first backup after a restart does not read the
// whole store twice either. The file is only a cache: one that cannot be
// read or parsed is ignored, and it is written without a sync (a crash
// may leave it empty or old). A wrong sum in it would make a manifest
// that the backup command's check and restore refuse, never a backup that
// verifies with different bytes.
type sumCache struct {
	mu       sync.Mutex
	path     string // the file the sums are kept in; "" for none
	readOnly bool   // load the file, never write it
	loaded   bool
	sums     map[sumKey]fileSums
}

// sumsName is the sums file's name in the store's directory.
const sumsName = "APPLIANCE-BACKUP-SUMS.json"

// fileSums are a file's sums as a manifest lists them (hex).
type fileSums struct{ sha256, crc32c string }

type sumKey struct {
	name         string
	size, mtime  int64
	inode, devno uint64
}

// sumsFile is the sums file's format.
type sumsFile struct {
	Format int        `json:"format"`
	Tables []sumEntry `json:"tables"`
}

type sumEntry struct {
	Name   string `json:"name"`
	Size   int64  `json:"size"`
	Mtime  int64  `json:"mtime"`
	Inode  uint64 `json:"inode"`
	Dev    uint64 `json:"dev"`
	SHA256 string `json:"sha256"`
	CRC32C string `json:"crc32c"`
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
	c.load()
	s, ok := c.sums[k]
	return s, ok
}

// load reads the sums file once, into an empty cache.
func (c *sumCache) load() {
	if c.loaded {
		return
	}
	c.loaded = true
	if c.path == "" || c.sums != nil {
		return
	}
	b, err := os.ReadFile(c.path)
	if err != nil {
		return
	}
	var f sumsFile
	if json.Unmarshal(b, &f) != nil || f.Format != 1 {
		return
	}
	c.sums = make(map[sumKey]fileSums, len(f.Tables))
	for _, e := range f.Tables {
		if len(e.SHA256) != 64 || len(e.CRC32C) != 8 {
			continue
		}
		c.sums[sumKey{name: e.Name, size: e.Size, mtime: e.Mtime, inode: e.Inode, devno: e.Dev}] = fileSums{sha256: e.SHA256, crc32c: e.CRC32C}
	}
}

// keep replaces what the cache holds with sums, a backup's tables: those
// of tables that compactions have since removed go. The file is written
// when they changed.
func (c *sumCache) keep(sums map[sumKey]fileSums) {
	c.mu.Lock()
	defer c.mu.Unlock()
	same := maps.Equal(c.sums, sums)
	c.sums = sums
	if same || c.path == "" || c.readOnly {
		return
	}
	f := sumsFile{Format: 1, Tables: make([]sumEntry, 0, len(sums))}
	for k, s := range sums {
		f.Tables = append(f.Tables, sumEntry{Name: k.name, Size: k.size, Mtime: k.mtime, Inode: k.inode, Dev: k.devno, SHA256: s.sha256, CRC32C: s.crc32c})
	}
	b, err := json.Marshal(f)
	if err != nil {
		return
	}
	tmp := c.path + ".tmp"
	if os.WriteFile(tmp, b, 0o600) != nil || os.Rename(tmp, c.path) != nil {
		_ = os.Remove(tmp)
	}
}
