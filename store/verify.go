package store

import (
	"archive/tar"
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
	"os"
)

// VerifyArchive reads a backup archive from r and checks it against its
// manifest (every file present, sizes and SHA-256 sums right) without
// writing anything. Restore checks the same and more (it opens the store).
func VerifyArchive(r io.Reader) error { return verifyArchive(r, nil, false) }

// verifyArchive is VerifyArchive that calls sized, when not nil, with the
// archive's whole size once it has read the manifest. In transit, it
// checks each file's CRC-32C where the manifest has one (SaveArchive: the
// archive as it arrives from the server), its SHA-256 otherwise.
func verifyArchive(r io.Reader, sized func(int64), transit bool) error {
	buf := make([]byte, streamChunk)
	return readArchive(r, sized, func(f manifestFile, body io.Reader) error {
		var h hash.Hash = sha256.New()
		sum := f.SHA256
		if transit && f.CRC32C != "" {
			h, sum = crc32.New(castagnoli), f.CRC32C
		}
		if n, err := io.CopyBuffer(struct{ io.Writer }{h}, body, buf); err != nil || n != f.Size {
			return fmt.Errorf("%w: %s truncated", ErrBadArchive, f.Name)
		}
		if hex.EncodeToString(h.Sum(nil)) != sum {
			return fmt.Errorf("%w: %s checksum mismatch", ErrBadArchive, f.Name)
		}
		return nil
	})
}

// readArchive reads a backup archive's manifest from r, calls sized (when
// not nil) with the archive's whole size, then each with every file the
// manifest names and the file's body, as they come. An archive is bad
// (ErrBadArchive) when its manifest is not first or not understood, names
// no file or a file by a path, holds an entry the manifest does not name
// or of another size, or lacks one it names.
func readArchive(r io.Reader, sized func(int64), each func(f manifestFile, body io.Reader) error) error {
	head := &headReader{r: r}
	tr := tar.NewReader(head)
	hdr, err := tr.Next()
	if head.err != nil {
		// The reading failed, not the archive (the command interrupted
		// before its first bytes came): that is what to say.
		return archiveReadError(head.err)
	}
	if err != nil || hdr.Name != manifestName || hdr.Size > maxManifest {
		return notAnArchive(head.head, hdr, err)
	}
	var m manifest
	if err := json.NewDecoder(io.LimitReader(tr, maxManifest)).Decode(&m); errors.Is(err, io.ErrUnexpectedEOF) {
		return archiveReadError(err)
	} else if err != nil {
		return fmt.Errorf("%w: manifest: %v", ErrBadArchive, err)
	}
	if m.Format != manifestFormat || len(m.Files) == 0 {
		return fmt.Errorf("%w: unknown format %d or no files", ErrBadArchive, m.Format)
	}
	want := make(map[string]manifestFile, len(m.Files))
	for _, f := range m.Files {
		if !validName(f.Name) || f.Size < 0 {
			return fmt.Errorf("%w: bad file entry %q", ErrBadArchive, f.Name)
		}
		want["db/"+f.Name] = f
	}
	if sized != nil {
		sized(archiveSize(hdr.Size, m.Files))
	}
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return archiveReadError(err)
		}
		f, ok := want[hdr.Name]
		if !ok || hdr.Typeflag != tar.TypeReg || hdr.Size != f.Size {
			return fmt.Errorf("%w: unexpected entry %q", ErrBadArchive, hdr.Name)
		}
		delete(want, hdr.Name)
		if err := each(f, tr); err != nil {
			return err
		}
	}
	if len(want) > 0 {
		return fmt.Errorf("%w: it ends early, %d of its files missing (cut short?)", ErrBadArchive, len(want))
	}
	return nil
}

// SaveArchive copies a backup archive from r to the file path, or to
// stdout when path is "-", checking it on the way as VerifyArchive does,
// but each file against its CRC-32C where the manifest has one: the
// server took it with the SHA-256 that Restore checks, and it catches a
// stream cut or garbled on its way for a tenth of the CPU. A file
// appears only complete: written to path.partial, synced, then renamed. It
// returns how many bytes it copied; an archive that ends short or does not
// match its manifest is an "incomplete archive" error. sized, when not nil,
// is called with the archive's whole size as soon as its manifest has
// arrived (for a progress bar; the archive is not complete before).
func SaveArchive(r io.Reader, path string, stdout io.Writer, sized func(int64)) (int64, error) {
	out := stdout
	var f *os.File
	tmp := path + ".partial"
	if path != "-" {
		var err error
		f, err = os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
		if err != nil {
			return 0, err
		}
		defer os.Remove(tmp)
		defer f.Close()
		out = f
	}
	if f != nil {
		out = &writingBack{f: f}
	}
	// One goroutine: the check reads the archive through a tee that writes
	// all it reads to out, then the rest of r (the end of the tar) too.
	bw := bufio.NewWriterSize(out, 1<<16)
	cw := &countingWriter{w: bw}
	tee := io.TeeReader(bufio.NewReaderSize(r, streamChunk), cw)
	err := verifyArchive(tee, sized, true)
	if err == nil {
		_, err = io.CopyBuffer(io.Discard, tee, make([]byte, 32<<10))
	}
	n := cw.n
	if err := errors.Join(err, bw.Flush()); err != nil {
		return n, fmt.Errorf("incomplete archive: %w", err)
	}
	if f == nil {
		return n, nil
	}
	if err := f.Sync(); err != nil {
		return n, err
	}
	// Synced: what writingBack left in the page cache goes too.
	dropWritten(f, 0, 0)
	if err := f.Close(); err != nil {
		return n, err
	}
	return n, os.Rename(tmp, path)
}

// writebackEvery is how much of an archive SaveArchive writes before it
// starts the kernel writing it out (startWriteback).
const writebackEvery = 1 << 20

// writingBack writes to f and starts the writeback of each writebackEvery
// bytes written, then waits for the piece before it to be on the disk and
// drops it from the page cache (dropWritten), so that saving a backup
// beside a serving store leaves at most two pieces dirty or being written
// at a time: the disk sees a steady stream, not bursts that hold up the
// store's log syncs, and the final fsync has little left to do.
type writingBack struct {
	f                   *os.File
	written, sent, done int64 // bytes written; whose writeback was started; on the disk and dropped
}

func (w *writingBack) Write(p []byte) (int, error) {
	n, err := w.f.Write(p)
	w.written += int64(n)
	if w.written-w.sent >= writebackEvery {
		startWriteback(w.f, w.sent, w.written-w.sent)
		if w.sent > w.done {
			dropWritten(w.f, w.done, w.sent-w.done)
			w.done = w.sent
		}
		w.sent = w.written
	}
	return n, err
}

// notAnArchive says why a file whose first entry is no manifest is not a
// backup archive, in the terms of whoever holds the file (head: its first
// bytes; hdr, err: what the tar reader made of them).
func notAnArchive(head []byte, hdr *tar.Header, err error) error {
	switch {
	case len(head) == 0:
		return fmt.Errorf("%w: the file is empty", ErrBadArchive)
	case len(head) >= 2 && head[0] == 0x1f && head[1] == 0x8b:
		return fmt.Errorf("%w: the file is compressed with gzip; restore it with gunzip -c FILE | appliance restore -", ErrBadArchive)
	case err != nil:
		return fmt.Errorf("%w: not a tar archive that appliance backup wrote", ErrBadArchive)
	case hdr.Name != manifestName:
		return fmt.Errorf("%w: not one that appliance backup wrote: it starts with %q, not its manifest", ErrBadArchive, hdr.Name)
	}
	return fmt.Errorf("%w: its manifest is larger than any appliance backup writes", ErrBadArchive)
}

// archiveReadError is ErrBadArchive for err, a failure to read the archive
// (a file cut short, as a copy interrupted leaves it, says so). err stays
// in the chain: a read that ended because the command was interrupted
// (context.Canceled) is that, not a bad archive, to the caller.
func archiveReadError(err error) error {
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("%w: it ends early, cut short (an interrupted copy or download?)", ErrBadArchive)
	}
	return fmt.Errorf("%w: %w", ErrBadArchive, err)
}

// headReader is r keeping the first bytes read from it, to tell what a
// file that is no archive is, and the error of a read that failed other
// than at the end of r.
type headReader struct {
	r    io.Reader
	head []byte
	err  error
}

func (h *headReader) Read(p []byte) (int, error) {
	n, err := h.r.Read(p)
	if len(h.head) < 2 {
		h.head = append(h.head, p[:min(n, 2-len(h.head))]...)
	}
	if err != nil && err != io.EOF && h.err == nil {
		h.err = err
	}
	return n, err
}
