package store

import (
	"archive/tar"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"log/slog"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/cockroachdb/pebble/v2"
)

// A backup is a tar archive: first manifestName, a JSON manifest listing
// every file with its size and SHA-256, then the files of a pebble
// checkpoint under "db/". Restore checks every byte against the manifest and
// opens the result before it replaces anything.

// DefaultBackupRate is the rate serve reads the store at for a backup, in
// bytes a second: BenchmarkIngestDuringBackup's measure of a rate that
// costs the ingest of hits less than a tenth while it lasts.
const DefaultBackupRate = 32 << 20

const (
	manifestName   = "APPLIANCE-BACKUP.json"
	manifestFormat = 1
	maxManifest    = 1 << 20
)

// Errors of backup and restore.
var (
	// ErrNotEmpty is returned by Restore onto a data directory that already
	// holds a store, unless forced.
	ErrNotEmpty = errors.New("store: data directory already holds a store")
	// ErrBadArchive is wrapped by every verification failure of Restore.
	ErrBadArchive = errors.New("store: bad backup archive")
)

type manifest struct {
	Format  int            `json:"format"`
	Created time.Time      `json:"created"`
	Files   []manifestFile `json:"files"`
}

type manifestFile struct {
	Name   string `json:"name"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
	// CRC32C (Castagnoli, hex) is what SaveArchive checks the stream
	// against: as sure as SHA-256 to catch a stream cut or garbled on its
	// way, at a tenth of the CPU. Restore and VerifyArchive check SHA-256.
	// Absent from archives of older servers.
	CRC32C string `json:"crc32c,omitempty"`
}

// Backup writes a consistent archive of the live store to w (OpenBackup,
// then Archive.WriteTo).
func (d *DB) Backup(ctx context.Context, w io.Writer) error {
	a, err := d.OpenBackup(ctx)
	if err != nil {
		return err
	}
	_, err = a.WriteTo(w)
	return errors.Join(err, a.Close())
}

// An Archive is a backup ready to be streamed: a pebble checkpoint of the
// store (with the WAL flushed, so every acknowledged write is in it) taken
// in a temporary directory beside the store, and its manifest. Its size is
// known before it is written (an admin answer's Content-Length).
type Archive struct {
	ctx     context.Context
	tmp, cp string // the temporary directory; the checkpoint in it
	m       manifest
	mb      []byte // the manifest, encoded
	p       *pacer
	low     bool // read in the idle I/O class
}

// OpenBackup takes a checkpoint of the store and sums its files for the
// manifest; Close the Archive to remove the checkpoint. Reading the files
// is bounded by Options.BackupRate and, bounded, reads in the idle I/O
// class, so that a backup of a serving store leaves the disk and the CPU to
// the traffic (BenchmarkHitsDuringBackup). A table whose sum an
// earlier backup of this DB took is not read again: pebble never changes a
// table once written (sumCache).
func (d *DB) OpenBackup(ctx context.Context) (*Archive, error) {
	tmp, err := os.MkdirTemp(d.dir, backupPrefix)
	if err != nil {
		return nil, fmt.Errorf("backup: %w", err)
	}
	a := &Archive{ctx: ctx, tmp: tmp, cp: filepath.Join(tmp, "cp"), p: newPacer(d.backupRate), low: d.backupRate > 0}
	if err := d.db.Checkpoint(a.cp, pebble.WithFlushedWAL()); err != nil {
		a.Close()
		return nil, fmt.Errorf("backup: checkpoint: %w", err)
	}
	if err := a.run(func() error { return a.summarize(&d.sums) }); err != nil {
		a.Close()
		return nil, err
	}
	return a, nil
}

// backupPrefix begins the name of a backup's checkpoint directory in the
// data directory.
const backupPrefix = ".backup-"

// removeLeftBackups removes the checkpoints that backups of a process
// killed before it closed them left in dataDir (kill -9, a crash, a power
// cut during a backup), for a caller that has just taken the store's lock,
// so that no backup runs. A checkpoint's tables are hard links: left, they
// kept the disk space of every table the store has dropped since.
func removeLeftBackups(dataDir string, log *slog.Logger) {
	ents, err := os.ReadDir(dataDir)
	if err != nil {
		return
	}
	for _, e := range ents {
		if e.IsDir() && strings.HasPrefix(e.Name(), backupPrefix) {
			if err := os.RemoveAll(filepath.Join(dataDir, e.Name())); err != nil {
				log.Warn("a backup's checkpoint left by a process that did not end it stays", "dir", e.Name(), "err", err)
			}
		}
	}
}

// run runs fn, on a thread whose disk reads are in the idle I/O class when
// the archive is bounded (idleReads: at the server's CPU priority).
func (a *Archive) run(fn func() error) error {
	if !a.low {
		return fn()
	}
	done := make(chan error, 1)
	go func() {
		restore := idleReads()
		err := fn()
		restore()
		done <- err
	}()
	return <-done
}

func (a *Archive) summarize(sums *sumCache) error {
	entries, err := os.ReadDir(a.cp)
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	a.m = manifest{Format: manifestFormat, Created: time.Now().UTC()}
	seen := make(map[sumKey]fileSums, len(entries))
	for _, e := range entries {
		if !e.Type().IsRegular() {
			return fmt.Errorf("backup: unexpected %q in checkpoint", e.Name())
		}
		name := filepath.Join(a.cp, e.Name())
		k, cacheable, err := fileSumKey(name)
		if err != nil {
			return fmt.Errorf("backup: %w", err)
		}
		var sum fileSums
		ok := false
		if cacheable {
			sum, ok = sums.get(k)
		}
		size := k.size
		if !ok {
			if sum, size, err = hashFile(a.ctx, name, a.p); err != nil {
				return fmt.Errorf("backup: %w", err)
			}
		}
		if cacheable && size == k.size {
			seen[k] = sum
		}
		a.m.Files = append(a.m.Files, manifestFile{Name: e.Name(), Size: size, SHA256: sum.sha256, CRC32C: sum.crc32c})
	}
	sums.keep(seen)
	if a.mb, err = json.MarshalIndent(a.m, "", "  "); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	return nil
}

// Size is the archive's size in bytes, what WriteTo writes.
func (a *Archive) Size() int64 { return archiveSize(int64(len(a.mb)), a.m.Files) }

// WriteTo writes the archive to w in pieces of streamChunk bytes, at the
// priority and rate of OpenBackup.
func (a *Archive) WriteTo(w io.Writer) (int64, error) {
	cw := &countingWriter{w: w}
	err := a.run(func() error { return a.write(cw) })
	return cw.n, err
}

// Close removes the checkpoint.
func (a *Archive) Close() error { return os.RemoveAll(a.tmp) }

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// streamChunk is how much of a file the archive reads and writes at once:
// large, so that streaming to a socket is few system calls and few
// switches between threads, and small enough for the pacer to be smooth
// (8 ms at 32 MiB/s).
const streamChunk = 256 << 10

func (a *Archive) write(w io.Writer) error {
	tw := tar.NewWriter(w)
	hdr := &tar.Header{Name: manifestName, Mode: 0o600, Size: int64(len(a.mb)), ModTime: a.m.Created, Typeflag: tar.TypeReg}
	if err := tw.WriteHeader(hdr); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	if _, err := tw.Write(a.mb); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	buf := make([]byte, streamChunk)
	for _, f := range a.m.Files {
		if err := a.ctx.Err(); err != nil {
			return err
		}
		if err := addFile(a.ctx, tw, filepath.Join(a.cp, f.Name), "db/"+f.Name, f.Size, a.m.Created, a.p, buf); err != nil {
			return fmt.Errorf("backup: %w", err)
		}
	}
	if err := tw.Close(); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	return nil
}

// archiveSize is the size of an archive whose manifest is manifestSize
// bytes long and lists files: a 512-byte header per entry, each entry's
// bytes padded to 512, and two zero blocks at the end (archive/tar's
// format for names under 100 bytes and files under 8 GiB).
func archiveSize(manifestSize int64, files []manifestFile) int64 {
	pad := func(n int64) int64 { return (n + 511) &^ 511 }
	n := 512 + pad(manifestSize) + 1024
	for _, f := range files {
		n += 512 + pad(f.Size)
	}
	return n
}

// pacer holds reads to a rate in bytes per second (no limit when 0).
type pacer struct {
	rate  int64
	start time.Time
	done  int64
}

// maxLag is how far behind its rate a pacer may fall and then read at full
// speed to catch up: a backup held up (its disk reads wait while the
// store's own are queued, or the receiving side is slow) goes on
// at its rate afterwards, instead of reading what it missed in one burst.
const maxLag = 50 * time.Millisecond

func newPacer(rate int64) *pacer { return &pacer{rate: rate, start: time.Now()} }

// wait counts n bytes read and sleeps until reading them was due.
func (p *pacer) wait(ctx context.Context, n int) error {
	if p.rate <= 0 {
		return ctx.Err()
	}
	p.done += int64(n)
	due := p.start.Add(time.Duration(float64(p.done) / float64(p.rate) * float64(time.Second)))
	d := time.Until(due)
	if d < -maxLag {
		p.start = p.start.Add(-d - maxLag)
		d = -maxLag
	}
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// readPaced fills b from r (short only at the end of r) and then waits
// until p lets it go on.
func readPaced(ctx context.Context, r io.Reader, b []byte, p *pacer) (int, error) {
	n, err := io.ReadFull(r, b)
	if err == io.ErrUnexpectedEOF {
		err = io.EOF
	}
	if perr := p.wait(ctx, n); perr != nil {
		return n, perr
	}
	return n, err
}

func addFile(ctx context.Context, tw *tar.Writer, src, name string, size int64, mtime time.Time, p *pacer, buf []byte) error {
	f, err := os.Open(src)
	if err != nil {
		return err
	}
	defer f.Close()
	hdr := &tar.Header{Name: name, Mode: 0o600, Size: size, ModTime: mtime, Typeflag: tar.TypeReg}
	if err := tw.WriteHeader(hdr); err != nil {
		return err
	}
	// The checkpoint's files are immutable, so exactly size bytes follow.
	for left := size; left > 0; {
		n, err := readPaced(ctx, f, buf[:min(int64(len(buf)), left)], p)
		if n > 0 {
			if _, werr := tw.Write(buf[:n]); werr != nil {
				return werr
			}
			left -= int64(n)
		}
		if err == io.EOF && left > 0 {
			return fmt.Errorf("%s: %w", src, io.ErrUnexpectedEOF)
		}
		if err != nil && err != io.EOF {
			return err
		}
	}
	return nil
}

// castagnoli is CRC-32C's table (the CPU's crc32 instruction where it has
// one).
var castagnoli = crc32.MakeTable(crc32.Castagnoli)

func hashFile(ctx context.Context, name string, p *pacer) (fileSums, int64, error) {
	f, err := os.Open(name)
	if err != nil {
		return fileSums{}, 0, err
	}
	defer f.Close()
	h := sha256.New()
	var crc uint32
	buf := make([]byte, streamChunk)
	var size int64
	for {
		n, err := readPaced(ctx, f, buf, p)
		h.Write(buf[:n])
		crc = crc32.Update(crc, castagnoli, buf[:n])
		size += int64(n)
		if err == io.EOF {
			return fileSums{sha256: hex.EncodeToString(h.Sum(nil)), crc32c: crcHex(crc)}, size, nil
		}
		if err != nil {
			return fileSums{}, 0, err
		}
	}
}

func crcHex(c uint32) string { return fmt.Sprintf("%08x", c) }

// Restore replaces the store in dataDir with the archive read from r. It
// refuses a data directory that already holds a store (a db/ with anything
// in it) unless force is set; other files there (lost+found, the archive)
// are no store, and are left as they are.
// The archive is unpacked beside the store, every file checked against the
// manifest, and the result opened and read end to end; only then is it
// swapped in (rename, then fsync of the parent). On any failure the current
// store is untouched. Restore holds the store's lock throughout, so it fails
// with a *LockedError while a server (running or stopped) or any other
// process has the store open, and no server opens it until Restore is done.
func Restore(r io.Reader, dataDir string, force bool) error {
	dbDir := filepath.Join(dataDir, DBDir)
	if !force {
		if ents, err := os.ReadDir(dbDir); err == nil && len(ents) > 0 {
			// A store a server has open is refused for that first:
			// --force, the way out of this refusal, would meet it next.
			if l, err := lockStore(dataDir); err != nil {
				if errors.Is(err, ErrLocked) {
					return fmt.Errorf("restore: %w", err)
				}
			} else {
				l.Close()
			}
			return fmt.Errorf("restore into %q: %w (use --force to replace it)", dataDir, ErrNotEmpty)
		}
	}
	// What Restore and lockStore may create, to be removed again if
	// Restore fails: the data directory itself, else db/, else its lock.
	made := ""
	if _, err := os.Stat(dataDir); os.IsNotExist(err) {
		made = dataDir
	} else if _, err := os.Stat(dbDir); os.IsNotExist(err) {
		made = dbDir
	} else if _, err := os.Stat(filepath.Join(dbDir, lockName)); os.IsNotExist(err) {
		made = filepath.Join(dbDir, lockName)
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return fmt.Errorf("restore: %w", AccessHint(dataDir, err))
	}
	lock, err := lockStore(dataDir)
	if err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	defer lock.Close()
	tmp := dbDir + ".restore"
	if err := os.RemoveAll(tmp); err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	if err := os.Mkdir(tmp, 0o700); err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	ok := false
	defer func() {
		if !ok {
			os.RemoveAll(tmp)
			if made != "" {
				os.RemoveAll(made)
			}
		}
	}()
	if err := unpack(r, tmp); err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	if err := verifyOpen(tmp); err != nil {
		var newer *NewerDataError
		if errors.As(err, &newer) {
			newer.Dir = ""
			return fmt.Errorf("restore: %w", newer)
		}
		return fmt.Errorf("restore: %w: %v", ErrBadArchive, err)
	}
	if err := giveToOwner(dataDir, tmp); err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	if err := syncDir(tmp); err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	// db/ exists (lockStore made it). Swap the two directories in one step
	// where the file system can: with two renames there is a moment with no
	// db/, in which a starting server would make an empty store.
	old := tmp
	if err := exchangeDirs(tmp, dbDir); err != nil {
		old = fmt.Sprintf("%s.old-%d", dbDir, time.Now().UnixNano())
		if err := os.Rename(dbDir, old); err != nil {
			return fmt.Errorf("restore: move current store aside: %w", err)
		}
		if err := os.Rename(tmp, dbDir); err != nil {
			_ = os.Rename(old, dbDir)
			return fmt.Errorf("restore: %w", err)
		}
	}
	ok = true
	if err := syncDir(dataDir); err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	if err := os.RemoveAll(old); err != nil {
		return fmt.Errorf("restore: remove old store: %w", err)
	}
	return nil
}

// unpack extracts and verifies the archive into dir.
func unpack(r io.Reader, dir string) error {
	return readArchive(r, nil, func(f manifestFile, body io.Reader) error {
		return writeChecked(archiveReader{body}, filepath.Join(dir, f.Name), f)
	})
}

// archiveReader marks read errors of the archive (a body cut short) as
// ErrBadArchive, telling them from failures to write the unpacked file.
type archiveReader struct{ r io.Reader }

func (a archiveReader) Read(p []byte) (int, error) {
	n, err := a.r.Read(p)
	if err != nil && err != io.EOF {
		err = archiveReadError(err)
	}
	return n, err
}

func validName(n string) bool {
	return n != "" && n == path.Base(n) && n != "." && n != ".." && !strings.ContainsAny(n, `/\`)
}

func writeChecked(r io.Reader, dst string, f manifestFile) error {
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(out, h), io.LimitReader(r, f.Size))
	if err == nil && n != f.Size {
		err = fmt.Errorf("%w: %s truncated", ErrBadArchive, f.Name)
	}
	if err == nil && hex.EncodeToString(h.Sum(nil)) != f.SHA256 {
		err = fmt.Errorf("%w: %s checksum mismatch", ErrBadArchive, f.Name)
	}
	if err == nil {
		err = out.Sync()
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	return err
}

// verifyOpen opens the unpacked store read-only and reads every key, which
// checks every block's checksum.
func verifyOpen(dir string) error {
	opts := pebbleOptions(true, MinCacheSize)
	// A corrupt block is an error of the read here, not a reason to end the
	// process (pebble's default), which would skip removing the unpacked
	// files.
	opts.EventListener.DataCorruption = func(pebble.DataCorruptionInfo) {}
	pdb, err := pebble.Open(dir, opts)
	if err != nil {
		return err
	}
	if _, err := checkDataVersion(dir, func(k []byte) ([]byte, error) { return get(pdb, k) }); err != nil {
		pdb.Close()
		return err
	}
	it, err := pdb.NewIter(nil)
	if err != nil {
		pdb.Close()
		return err
	}
	for ok := it.First(); ok; ok = it.Next() {
		if _, err := it.ValueAndErr(); err != nil {
			it.Close()
			pdb.Close()
			return err
		}
	}
	err = it.Close()
	if cerr := pdb.Close(); err == nil {
		err = cerr
	}
	return err
}

func syncDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}
