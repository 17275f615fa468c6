package store

import (
	"bytes"
	"crypto/rand"
	"os"
	"path/filepath"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

// writingBack writes every byte it is given, in pieces of any size, and
// leaves what it wrote out of the page cache once synced and dropped, as
// SaveArchive does: a backup saved beside a serving store does not push the
// store's pages out of the cache.
func TestWritingBackDropsWhatItWrote(t *testing.T) {
	path := filepath.Join(t.TempDir(), "archive")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	data := make([]byte, 5*writebackEvery+12345)
	rand.Read(data)
	w := &writingBack{f: f}
	sizes := []int{1, 4095, 300 << 10, 7, writebackEvery + 3, 64 << 10}
	for rest, i := data, 0; len(rest) > 0; i++ {
		k := min(sizes[i%len(sizes)], len(rest))
		if m, err := w.Write(rest[:k]); err != nil || m != k {
			t.Fatalf("Write = %d, %v", m, err)
		}
		rest = rest[k:]
	}
	if w.done < 2*writebackEvery {
		t.Errorf("%d bytes dropped while writing %d, want at least %d", w.done, len(data), 2*writebackEvery)
	}
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
	dropWritten(f, 0, 0)
	if got, err := os.ReadFile(path); err != nil || !bytes.Equal(got, data) {
		t.Fatalf("the file differs from what was written (%v)", err)
	}

	// Whether the page cache holds the file's pages, on a file system
	// that drops them when told (not tmpfs, whose pages are the file).
	var fs unix.Statfs_t
	if err := unix.Statfs(path, &fs); err != nil || fs.Type == unix.TMPFS_MAGIC || fs.Type == unix.OVERLAYFS_SUPER_MAGIC {
		t.Skipf("page cache not checked on this file system (%x, %v)", fs.Type, err)
	}
	g, err := os.Create(filepath.Join(t.TempDir(), "again"))
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	w = &writingBack{f: g}
	if _, err := w.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := g.Sync(); err != nil {
		t.Fatal(err)
	}
	dropWritten(g, 0, 0)
	m, err := unix.Mmap(int(g.Fd()), 0, len(data), unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Munmap(m)
	pages := make([]byte, (len(data)+os.Getpagesize()-1)/os.Getpagesize())
	if _, _, errno := unix.Syscall(unix.SYS_MINCORE, uintptr(unsafe.Pointer(&m[0])), uintptr(len(m)), uintptr(unsafe.Pointer(&pages[0]))); errno != 0 {
		t.Fatal(errno)
	}
	resident := 0
	for _, p := range pages {
		resident += int(p & 1)
	}
	if resident > len(pages)/10 {
		t.Errorf("%d of %d pages of the saved file still in the page cache", resident, len(pages))
	}
}
