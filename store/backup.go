package store

import (
	"archive/tar"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
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
}

// Backup writes a consistent archive of the live store to w: a pebble
// checkpoint (with the WAL flushed, so every acknowledged write is in it)
// taken in a temporary directory beside the store, then streamed. It reads
// the checkpoint's files (twice: to sum them for the manifest, then into
// the archive) at Options.BackupRate at most, and then at the lowest CPU
// and I/O priority, so that a backup of a serving store leaves the disk and
// the CPU to the traffic (BenchmarkIngestDuringBackup).
func (d *DB) Backup(ctx context.Context, w io.Writer) error {
	tmp, err := os.MkdirTemp(d.dir, ".backup-")
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	defer os.RemoveAll(tmp)
	cp := filepath.Join(tmp, "cp")
	if err := d.db.Checkpoint(cp, pebble.WithFlushedWAL()); err != nil {
		return fmt.Errorf("backup: checkpoint: %w", err)
	}
	if d.backupRate <= 0 {
		return writeArchive(ctx, w, cp, newPacer(0))
	}
	// Bounded, the backup also yields the CPU and the disk: its reading,
	// summing and streaming run at the lowest priority.
	done := make(chan error, 1)
	go func() {
		lowPriority()
		idleReads()
		done <- writeArchive(ctx, w, cp, newPacer(d.backupRate))
	}()
	return <-done
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
// speed to catch up: a backup held up (its thread at the lowest priority
// waits while the machine is busy, or the receiving side is slow) goes on
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

// pacedReader reads r in chunks of at most 64 KiB, each when p lets it.
type pacedReader struct {
	ctx context.Context
	r   io.Reader
	p   *pacer
}

func (r pacedReader) Read(b []byte) (int, error) {
	if len(b) > 64<<10 {
		b = b[:64<<10]
	}
	n, err := r.r.Read(b)
	if perr := r.p.wait(r.ctx, n); perr != nil && err == nil {
		err = perr
	}
	return n, err
}

func writeArchive(ctx context.Context, w io.Writer, dir string, p *pacer) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	m := manifest{Format: manifestFormat, Created: time.Now().UTC()}
	for _, e := range entries {
		if !e.Type().IsRegular() {
			return fmt.Errorf("backup: unexpected %q in checkpoint", e.Name())
		}
		sum, size, err := hashFile(ctx, filepath.Join(dir, e.Name()), p)
		if err != nil {
			return fmt.Errorf("backup: %w", err)
		}
		m.Files = append(m.Files, manifestFile{Name: e.Name(), Size: size, SHA256: sum})
	}
	mb, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	tw := tar.NewWriter(w)
	hdr := &tar.Header{Name: manifestName, Mode: 0o600, Size: int64(len(mb)), ModTime: m.Created, Typeflag: tar.TypeReg}
	if err := tw.WriteHeader(hdr); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	if _, err := tw.Write(mb); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	for _, f := range m.Files {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := addFile(ctx, tw, filepath.Join(dir, f.Name), "db/"+f.Name, f.Size, m.Created, p); err != nil {
			return fmt.Errorf("backup: %w", err)
		}
	}
	if err := tw.Close(); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	return nil
}

func addFile(ctx context.Context, tw *tar.Writer, src, name string, size int64, mtime time.Time, p *pacer) error {
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
	_, err = io.CopyN(tw, pacedReader{ctx, f, p}, size)
	return err
}

func hashFile(ctx context.Context, name string, p *pacer) (string, int64, error) {
	f, err := os.Open(name)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, pacedReader{ctx, f, p})
	if err != nil {
		return "", 0, err
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}

// Restore replaces the store in dataDir with the archive read from r. It
// refuses a data directory that already holds a store unless force is set.
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
			return fmt.Errorf("restore into %q: %w (use --force to replace it)", dataDir, ErrNotEmpty)
		}
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	// What lockStore may create, to be removed again if Restore fails.
	made := ""
	if _, err := os.Stat(dbDir); os.IsNotExist(err) {
		made = dbDir
	} else if _, err := os.Stat(filepath.Join(dbDir, lockName)); os.IsNotExist(err) {
		made = filepath.Join(dbDir, lockName)
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
		return fmt.Errorf("restore: %w: %v", ErrBadArchive, err)
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
	tr := tar.NewReader(r)
	hdr, err := tr.Next()
	if err != nil || hdr.Name != manifestName || hdr.Size > maxManifest {
		return fmt.Errorf("%w: no manifest first (%v)", ErrBadArchive, err)
	}
	var m manifest
	if err := json.NewDecoder(io.LimitReader(tr, maxManifest)).Decode(&m); err != nil {
		return fmt.Errorf("%w: manifest: %v", ErrBadArchive, err)
	}
	if m.Format != manifestFormat {
		return fmt.Errorf("%w: unknown format %d", ErrBadArchive, m.Format)
	}
	want := make(map[string]manifestFile, len(m.Files))
	for _, f := range m.Files {
		if !validName(f.Name) || f.Size < 0 {
			return fmt.Errorf("%w: bad file entry %q", ErrBadArchive, f.Name)
		}
		want["db/"+f.Name] = f
	}
	seen := 0
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("%w: %v", ErrBadArchive, err)
		}
		f, ok := want[hdr.Name]
		if !ok || hdr.Typeflag != tar.TypeReg || hdr.Size != f.Size {
			return fmt.Errorf("%w: unexpected entry %q", ErrBadArchive, hdr.Name)
		}
		delete(want, hdr.Name)
		if err := writeChecked(archiveReader{tr}, filepath.Join(dir, f.Name), f); err != nil {
			return err
		}
		seen++
	}
	if len(want) > 0 || seen == 0 {
		return fmt.Errorf("%w: %d files missing", ErrBadArchive, len(want))
	}
	return nil
}

// archiveReader marks read errors of the archive (a body cut short) as
// ErrBadArchive, telling them from failures to write the unpacked file.
type archiveReader struct{ r io.Reader }

func (a archiveReader) Read(p []byte) (int, error) {
	n, err := a.r.Read(p)
	if err != nil && err != io.EOF {
		err = fmt.Errorf("%w: %v", ErrBadArchive, err)
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
