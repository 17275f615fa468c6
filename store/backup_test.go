package store

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
)

// fill writes records of several families and some counters.
func fill(t testing.TB, d *DB, n int) {
	t.Helper()
	ctx := context.Background()
	for i := range n {
		err := d.Update(ctx, func(tx *Tx) error {
			id := d.NextID()
			h := Hit{ID: id, Session: id / 3, Time: int64(i), URL: fmt.Sprintf("https://shop.example/p/%d", i), Title: "Продукт"}
			tx.Set(HitKey(uint32(i%3), h.Session, id), h.Encode())
			v := Visitor{ID: id, Site: uint32(i % 3), Name: "v", Phones: []string{"7999"}}
			tx.Set(VisitorKey(id), v.Encode())
			tx.Add(RollupKey(uint32(i%3), 20000, "hits"), i%4, 1)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}

func backup(t testing.TB, d *DB) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := d.Backup(context.Background(), &buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// tree is every file under dir with its SHA-256, to tell whether Restore
// touched a directory.
func tree(t testing.TB, dir string) map[string]string {
	t.Helper()
	m := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if e.IsDir() {
			m[rel] = "dir"
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		m[rel] = hex.EncodeToString(sum[:])
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// closedStore makes a store with data in a fresh data directory, closes it
// and returns the directory and the store's contents.
func closedStore(t testing.TB, n int) (string, []kv) {
	t.Helper()
	dir := t.TempDir()
	d, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	fill(t, d, n)
	want := scanAll(t, d)
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	return dir, want
}

func TestBackupRestore(t *testing.T) {
	d := openTest(t)
	fill(t, d, 300)
	want := scanAll(t, d)
	archive := backup(t, d)

	dir := filepath.Join(t.TempDir(), "new") // Restore creates it
	if err := Restore(bytes.NewReader(archive), dir, false); err != nil {
		t.Fatal(err)
	}
	r := openDir(t, dir)
	if got := scanAll(t, r); !reflect.DeepEqual(got, want) {
		t.Fatalf("restored store holds %d keys, differs from the %d backed up", len(got), len(want))
	}
	// The restored store goes on from the ids the original had reserved
	// (writer.applyLocked), as the original would after a restart.
	if id, last := r.NextID(), d.LastID(); id != last+1 || id <= d.NextID() {
		t.Errorf("restored NextID = %d, want %d: past every id of the original", id, last+1)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Errorf("restored data dir holds %v, want only %s", ents, DBDir)
	}
	// The restored store takes writes and the backup source is unchanged.
	if err := r.Set(context.Background(), MetaKey("after"), []byte("x")); err != nil {
		t.Fatal(err)
	}
	if got := scanAll(t, d); !reflect.DeepEqual(got, want) {
		t.Fatal("backup changed the source store")
	}
	if ents, _ := os.ReadDir(d.Dir()); len(ents) != 1 {
		t.Errorf("backup left %v in the data dir", ents)
	}
}

func TestRestoreNotEmpty(t *testing.T) {
	src := openTest(t)
	fill(t, src, 50)
	want := scanAll(t, src)
	archive := backup(t, src)

	dir, old := closedStore(t, 20)
	before := tree(t, dir)
	err := Restore(bytes.NewReader(archive), dir, false)
	if !errors.Is(err, ErrNotEmpty) {
		t.Fatalf("Restore onto a store without force: err = %v, want ErrNotEmpty", err)
	}
	if after := tree(t, dir); !reflect.DeepEqual(after, before) {
		t.Fatal("refused Restore changed the data dir")
	}

	if err := Restore(bytes.NewReader(archive), dir, true); err != nil {
		t.Fatalf("forced Restore: %v", err)
	}
	d := openDir(t, dir)
	got := scanAll(t, d)
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("forced Restore: store holds %d keys, want the %d of the archive (old store had %d)", len(got), len(want), len(old))
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Errorf("forced Restore left %v in the data dir", ents)
	}
}

// rewrite copies a tar archive entry by entry through f, which may change
// an entry's name and body or drop it (nil body).
func rewrite(t testing.TB, archive []byte, f func(name string, body []byte) (string, []byte)) []byte {
	t.Helper()
	tr := tar.NewReader(bytes.NewReader(archive))
	var out bytes.Buffer
	tw := tar.NewWriter(&out)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		name, body := f(hdr.Name, body)
		if body == nil {
			continue
		}
		hdr.Name, hdr.Size = name, int64(len(body))
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(body); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// editManifest rewrites the manifest through f.
func editManifest(t testing.TB, archive []byte, f func(*manifest)) []byte {
	return rewrite(t, archive, func(name string, body []byte) (string, []byte) {
		if name != manifestName {
			return name, body
		}
		var m manifest
		if err := json.Unmarshal(body, &m); err != nil {
			t.Fatal(err)
		}
		f(&m)
		b, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		return name, b
	})
}

// largestFile is the name of the biggest file in the archive's manifest.
func largestFile(t testing.TB, archive []byte) string {
	var big manifestFile
	editManifest(t, archive, func(m *manifest) {
		for _, f := range m.Files {
			if f.Size > big.Size {
				big = f
			}
		}
	})
	return big.Name
}

func TestRestoreRejectsBadArchive(t *testing.T) {
	src := openTest(t)
	fill(t, src, 200)
	archive := backup(t, src)
	big := "db/" + largestFile(t, archive)

	cases := map[string][]byte{
		"empty":          {},
		"not tar":        []byte("hello, this is not an archive"),
		"truncated half": archive[:len(archive)/2],
		"truncated 1k":   archive[:1024],
		"truncated body": archive[:len(archive)-2048],
		"flipped byte in body": rewrite(t, archive, func(name string, body []byte) (string, []byte) {
			if name == big {
				body[len(body)/2] ^= 0x01
			}
			return name, body
		}),
		"missing manifest": rewrite(t, archive, func(name string, body []byte) (string, []byte) {
			if name == manifestName {
				return name, nil
			}
			return name, body
		}),
		"missing file": rewrite(t, archive, func(name string, body []byte) (string, []byte) {
			if name == big {
				return name, nil
			}
			return name, body
		}),
		"extra file": rewrite(t, archive, func(name string, body []byte) (string, []byte) {
			if name == big {
				return "db/EXTRA", body
			}
			return name, body
		}),
		"unknown format": editManifest(t, archive, func(m *manifest) { m.Format = 99 }),
		"no files":       editManifest(t, archive, func(m *manifest) { m.Files = nil }),
		"wrong size": editManifest(t, archive, func(m *manifest) {
			m.Files[0].Size++
		}),
		"path traversal": rewrite(t, editManifest(t, archive, func(m *manifest) {
			for i := range m.Files {
				if "db/"+m.Files[i].Name == big {
					m.Files[i].Name = "../x"
				}
			}
		}), func(name string, body []byte) (string, []byte) {
			if name == big {
				return "db/../x", body
			}
			return name, body
		}),
		"absolute path": rewrite(t, editManifest(t, archive, func(m *manifest) {
			for i := range m.Files {
				if "db/"+m.Files[i].Name == big {
					m.Files[i].Name = "/tmp/x"
				}
			}
		}), func(name string, body []byte) (string, []byte) {
			if name == big {
				return "db//tmp/x", body
			}
			return name, body
		}),
	}
	for name, bad := range cases {
		t.Run(name, func(t *testing.T) {
			dir, want := closedStore(t, 10)
			before := tree(t, dir)
			err := Restore(bytes.NewReader(bad), dir, true)
			if !errors.Is(err, ErrBadArchive) {
				t.Fatalf("Restore: err = %v, want ErrBadArchive", err)
			}
			if after := tree(t, dir); !reflect.DeepEqual(after, before) {
				t.Fatalf("failed Restore changed the data dir:\nbefore %v\nafter  %v", before, after)
			}
			if _, err := os.Stat(filepath.Join(filepath.Dir(dir), "x")); err == nil {
				t.Fatal("Restore wrote outside the data dir")
			}
			d := openDir(t, dir)
			if got := scanAll(t, d); !reflect.DeepEqual(got, want) {
				t.Fatal("store after a failed Restore differs")
			}
		})
	}
}

// A backup taken while writers run holds every write acknowledged before
// it started, and restores to a store that opens.
func TestBackupWhileWriting(t *testing.T) {
	d := openTest(t)
	ctx, cancel := context.WithCancel(context.Background())
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		acked [][]byte
	)
	for g := range 16 {
		wg.Go(func() {
			for i := uint64(0); ctx.Err() == nil; i++ {
				k := HitKey(uint32(g), 1, i)
				if err := d.Set(context.Background(), k, bytes.Repeat(k, 8)); err != nil {
					t.Errorf("Set: %v", err)
					return
				}
				mu.Lock()
				acked = append(acked, k)
				mu.Unlock()
			}
		})
	}
	for {
		mu.Lock()
		n := len(acked)
		mu.Unlock()
		if n >= scale(2000, 300) {
			break
		}
	}
	mu.Lock()
	before := append([][]byte(nil), acked...)
	mu.Unlock()
	var buf bytes.Buffer
	err := d.Backup(ctx, &buf)
	mu.Lock()
	during := len(acked) - len(before)
	mu.Unlock()
	cancel()
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d writes acknowledged before the backup, %d while it ran", len(before), during)

	dir := t.TempDir()
	if err := Restore(&buf, dir, false); err != nil {
		t.Fatal(err)
	}
	r := openDir(t, dir)
	for _, k := range before {
		v, err := r.Get(k)
		if err != nil || !bytes.Equal(v, bytes.Repeat(k, 8)) {
			t.Fatalf("write %x acknowledged before the backup: %q, %v", k, v, err)
		}
	}
}

func TestBackupCancelled(t *testing.T) {
	d := openTest(t)
	fill(t, d, 10)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := d.Backup(ctx, io.Discard); !errors.Is(err, context.Canceled) {
		t.Fatalf("Backup with cancelled ctx: err = %v", err)
	}
	if ents, _ := os.ReadDir(d.Dir()); len(ents) != 1 {
		t.Errorf("cancelled backup left %v in the data dir", ents)
	}
}

// FuzzRestore feeds arbitrary bytes to Restore over a data directory that
// holds a store: it never panics, never leaves the unpack directory behind,
// and never touches the current store unless it succeeds.
func FuzzRestore(f *testing.F) {
	d, err := Open(f.TempDir(), Options{})
	if err != nil {
		f.Fatal(err)
	}
	fill(f, d, 5)
	var buf bytes.Buffer
	if err := d.Backup(context.Background(), &buf); err != nil {
		f.Fatal(err)
	}
	if err := d.Close(); err != nil {
		f.Fatal(err)
	}
	archive := buf.Bytes()
	f.Add(archive)
	f.Add(archive[:len(archive)/2])
	f.Add(archive[:1024])
	f.Add([]byte{})
	f.Add(editManifest(f, archive, func(m *manifest) { m.Files[0].Name = "../x" }))
	f.Add(rewrite(f, archive, func(name string, body []byte) (string, []byte) {
		if name != manifestName {
			return name, nil
		}
		return name, body
	}))

	f.Fuzz(func(t *testing.T, b []byte) {
		dataDir := filepath.Join(t.TempDir(), "data")
		dbDir := filepath.Join(dataDir, DBDir)
		if err := os.MkdirAll(dbDir, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dbDir, "CURRENT-STORE"), []byte("current"), 0o600); err != nil {
			t.Fatal(err)
		}
		before := tree(t, filepath.Dir(dataDir))
		err := Restore(bytes.NewReader(b), dataDir, true)
		if _, serr := os.Stat(dbDir + ".restore"); !errors.Is(serr, fs.ErrNotExist) {
			t.Fatalf("Restore (err %v) left %s.restore behind", err, DBDir)
		}
		if err == nil {
			ents, _ := os.ReadDir(dataDir)
			if len(ents) != 1 {
				t.Fatalf("successful Restore left %v", ents)
			}
			return
		}
		if !errors.Is(err, ErrBadArchive) {
			t.Fatalf("Restore of bad input: err = %v, does not wrap ErrBadArchive", err)
		}
		if after := tree(t, filepath.Dir(dataDir)); !reflect.DeepEqual(after, before) {
			t.Fatalf("failed Restore (%v) changed the directory:\nbefore %v\nafter  %v", err, before, after)
		}
	})
}

// An archive whose manifest matches a corrupt table (made so, or corrupt
// before the backup read it) passes the checksums and fails only when the
// unpacked store is read: Restore must still leave nothing behind, no
// db.restore nor any other temporary directory.
func TestRestoreCorruptTableLeavesNothing(t *testing.T) {
	src := openTest(t)
	fill(t, src, 500)
	if err := src.Compact(context.Background()); err != nil {
		t.Fatal(err)
	}
	archive := backup(t, src)
	var table string
	sums := map[string]string{}
	bad := rewrite(t, archive, func(name string, body []byte) (string, []byte) {
		if table == "" && filepath.Ext(name) == ".sst" {
			table = name
			body[len(body)/3] ^= 0x40
			sum := sha256.Sum256(body)
			sums[filepath.Base(name)] = hex.EncodeToString(sum[:])
		}
		return name, body
	})
	if table == "" {
		t.Fatal("no table in the archive")
	}
	bad = editManifest(t, bad, func(m *manifest) {
		for i, f := range m.Files {
			if s, ok := sums[f.Name]; ok {
				m.Files[i].SHA256 = s
			}
		}
	})

	for _, fresh := range []bool{false, true} {
		t.Run(fmt.Sprintf("existing store %v", !fresh), func(t *testing.T) {
			dir, want := closedStore(t, 10)
			if fresh {
				dir, want = t.TempDir(), nil
			}
			before := tree(t, dir)
			err := Restore(bytes.NewReader(bad), dir, true)
			if !errors.Is(err, ErrBadArchive) {
				t.Fatalf("Restore of a corrupt %s: err = %v, want ErrBadArchive", table, err)
			}
			if after := tree(t, dir); !reflect.DeepEqual(after, before) {
				t.Fatalf("failed Restore left files behind:\nbefore %v\nafter  %v", before, after)
			}
			if !fresh {
				if got := scanAll(t, openDir(t, dir)); !reflect.DeepEqual(got, want) {
					t.Fatal("store after a failed Restore differs")
				}
			}
		})
	}
}

// SaveArchive writes a whole archive under its name and nothing for one
// that ends short, in a file or on stdout.
func TestSaveArchive(t *testing.T) {
	d := openTest(t)
	fill(t, d, 50)
	archive := backup(t, d)
	dir := t.TempDir()
	path := filepath.Join(dir, "b.tar")
	if n, err := SaveArchive(bytes.NewReader(archive), path, io.Discard, nil); err != nil || n != int64(len(archive)) {
		t.Fatalf("SaveArchive = %d, %v; want %d bytes", n, err, len(archive))
	}
	if got, err := os.ReadFile(path); err != nil || !bytes.Equal(got, archive) {
		t.Fatalf("saved file differs from the archive (%v)", err)
	}
	var out bytes.Buffer
	if _, err := SaveArchive(bytes.NewReader(archive), "-", &out, nil); err != nil || !bytes.Equal(out.Bytes(), archive) {
		t.Fatalf("SaveArchive to stdout: %v", err)
	}

	short := filepath.Join(dir, "short.tar")
	_, err := SaveArchive(bytes.NewReader(archive[:len(archive)/2]), short, io.Discard, nil)
	if err == nil || !strings.Contains(err.Error(), "incomplete archive") {
		t.Fatalf("SaveArchive of half an archive: %v, want an incomplete archive error", err)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Errorf("a short archive left %v, want only b.tar", ents)
	}
}

// SaveArchive learns the archive's exact size from its manifest (what the
// CLI's progress bar counts to), and a backup read at a bounded rate is
// the same archive.
func TestArchiveSize(t *testing.T) {
	dataDir := t.TempDir()
	d, err := Open(dataDir, Options{BackupRate: 1 << 30})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	fill(t, d, 200)
	archive := backup(t, d)
	var sized []int64
	if _, err := SaveArchive(bytes.NewReader(archive), "-", io.Discard, func(n int64) { sized = append(sized, n) }); err != nil {
		t.Fatal(err)
	}
	if got, want := sized, []int64{int64(len(archive))}; !reflect.DeepEqual(got, want) {
		t.Fatalf("sized called with %v, want %v", got, want)
	}
	if err := VerifyArchive(bytes.NewReader(archive)); err != nil {
		t.Fatalf("archive read at a bounded rate: %v", err)
	}
}

// A pacer held up for long does not then read what it missed at full
// speed: it falls at most maxLag behind its rate, so that after a stall
// the chunk after next waits for its time again.
func TestPacerDoesNotCatchUp(t *testing.T) {
	const rate = 10 << 20 // 100 ms a MiB
	p := newPacer(rate)
	p.start = time.Now().Add(-10 * time.Second) // held up for 10 s
	start := time.Now()
	for range 2 {
		if err := p.wait(context.Background(), 1<<20); err != nil {
			t.Fatal(err)
		}
	}
	// Catching up, the pacer would not sleep at all: both MiB were due
	// seconds ago. Held to maxLag, the first goes at once (maxLag late)
	// and the second waits for its 100 ms less that lag.
	if got, least := time.Since(start), 100*time.Millisecond-maxLag; got < least {
		t.Errorf("read 2 MiB at %d B/s after a stall in %v, want at least %v", rate, got, least)
	}
}

// archiveManifest is the manifest of archive.
func archiveManifest(t testing.TB, archive []byte) manifest {
	t.Helper()
	var m manifest
	editManifest(t, archive, func(got *manifest) { m = *got })
	return m
}

// tableSums is the manifest's SHA-256 of each of its tables, by name.
func tableSums(m manifest) map[string]string {
	sums := map[string]string{}
	for _, f := range m.Files {
		if filepath.Ext(f.Name) == ".sst" {
			sums[f.Name] = f.SHA256
		}
	}
	return sums
}

// cachedSums is what d's sum cache holds, by table name.
func cachedSums(d *DB) map[string]string {
	d.sums.mu.Lock()
	defer d.sums.mu.Unlock()
	sums := map[string]string{}
	for k, s := range d.sums.sums {
		sums[k.name] = s.sha256
	}
	return sums
}

// A backup sums each table once: the next backup of the same DB takes its
// sum from the cache (a wrong sum there makes a wrong manifest, which
// VerifyArchive refuses), tables that compactions removed leave the
// cache, and the archives made from it verify and restore.
func TestBackupSumsTablesOnce(t *testing.T) {
	ctx := context.Background()
	d := openTest(t)
	fill(t, d, 300)
	if err := d.Compact(ctx); err != nil {
		t.Fatal(err)
	}
	first := archiveManifest(t, backup(t, d))
	tables := tableSums(first)
	if len(tables) == 0 {
		t.Fatalf("the backup holds no tables: %v", first.Files)
	}
	if got := cachedSums(d); !reflect.DeepEqual(got, tables) {
		t.Fatalf("after a backup the cache holds %v, want its tables %v", got, tables)
	}
	second := backup(t, d)
	if err := VerifyArchive(bytes.NewReader(second)); err != nil {
		t.Fatalf("second backup: %v", err)
	}
	if got := tableSums(archiveManifest(t, second)); !reflect.DeepEqual(got, tables) {
		t.Errorf("second backup's tables %v, want the first's %v", got, tables)
	}

	fill(t, d, 300)
	if err := d.Compact(ctx); err != nil {
		t.Fatal(err)
	}
	third := backup(t, d)
	if err := VerifyArchive(bytes.NewReader(third)); err != nil {
		t.Fatalf("backup after a compaction: %v", err)
	}
	now := tableSums(archiveManifest(t, third))
	if got := cachedSums(d); !reflect.DeepEqual(got, now) {
		t.Fatalf("after a compaction the cache holds %v, want the tables now %v", got, now)
	}
	want := scanAll(t, d)
	dir := t.TempDir()
	if err := Restore(bytes.NewReader(third), dir, false); err != nil {
		t.Fatal(err)
	}
	if got := scanAll(t, openDir(t, dir)); !reflect.DeepEqual(got, want) {
		t.Fatalf("restored %d keys, want %d", len(got), len(want))
	}

	d.sums.mu.Lock()
	for k, s := range d.sums.sums {
		d.sums.sums[k] = fileSums{sha256: strings.Repeat("0", 64), crc32c: s.crc32c}
	}
	d.sums.mu.Unlock()
	if err := VerifyArchive(bytes.NewReader(backup(t, d))); !errors.Is(err, ErrBadArchive) || !strings.Contains(err.Error(), "checksum mismatch") {
		t.Fatalf("backup with wrong cached sums verifies (%v): the cache is not what the manifest took", err)
	}
}

// SaveArchive checks the stream against each file's CRC-32C, which the
// server took with its SHA-256; Restore and VerifyArchive check SHA-256.
// An archive without CRC-32C (an older server's) is checked by SHA-256.
func TestSaveArchiveChecksCRC(t *testing.T) {
	d := openTest(t)
	fill(t, d, 50)
	archive := backup(t, d)
	big := largestFile(t, archive)
	for _, f := range archiveManifest(t, archive).Files {
		if len(f.CRC32C) != 8 {
			t.Fatalf("%s: CRC-32C %q, want 8 hex digits", f.Name, f.CRC32C)
		}
	}
	edit := func(f func(*manifestFile)) []byte {
		return editManifest(t, archive, func(m *manifest) {
			for i := range m.Files {
				if m.Files[i].Name == big {
					f(&m.Files[i])
				}
			}
		})
	}
	save := func(a []byte) error {
		_, err := SaveArchive(bytes.NewReader(a), "-", io.Discard, nil)
		return err
	}
	zero := func(n int) string { return strings.Repeat("0", n) }
	if err := save(edit(func(f *manifestFile) { f.CRC32C = zero(8) })); err == nil || !strings.Contains(err.Error(), "checksum mismatch") {
		t.Errorf("SaveArchive with a wrong CRC-32C: %v, want a checksum mismatch", err)
	}
	badSHA := edit(func(f *manifestFile) { f.SHA256 = zero(64) })
	if err := save(badSHA); err != nil {
		t.Errorf("SaveArchive checks SHA-256 where the manifest has a CRC-32C: %v", err)
	}
	if err := VerifyArchive(bytes.NewReader(badSHA)); !errors.Is(err, ErrBadArchive) {
		t.Errorf("VerifyArchive with a wrong SHA-256: %v, want ErrBadArchive", err)
	}
	if err := Restore(bytes.NewReader(badSHA), t.TempDir(), false); !errors.Is(err, ErrBadArchive) {
		t.Errorf("Restore with a wrong SHA-256: %v, want ErrBadArchive", err)
	}
	old := edit(func(f *manifestFile) { f.CRC32C, f.SHA256 = "", zero(64) })
	if err := save(old); err == nil || !strings.Contains(err.Error(), "checksum mismatch") {
		t.Errorf("SaveArchive without a CRC-32C and a wrong SHA-256: %v, want a checksum mismatch", err)
	}
	if err := save(edit(func(f *manifestFile) { f.CRC32C = "" })); err != nil {
		t.Errorf("SaveArchive of an older server's archive: %v", err)
	}
}

// FuzzSaveArchive feeds arbitrary bytes to SaveArchive (what `backup`
// receives): it never panics, what it accepts it copies byte for byte, and
// it accepts only an archive whose every file matches its manifest's
// CRC-32C (or SHA-256), which VerifyArchive's SHA-256 then confirms for an
// archive the server made.
func FuzzSaveArchive(f *testing.F) {
	d, err := Open(f.TempDir(), Options{})
	if err != nil {
		f.Fatal(err)
	}
	fill(f, d, 20)
	archive := backup(f, d)
	d.Close()
	f.Add(archive)
	f.Add(archive[:len(archive)/2])
	f.Add(editManifest(f, archive, func(m *manifest) { m.Files[0].CRC32C = "zz" }))
	f.Add(editManifest(f, archive, func(m *manifest) { m.Files[0].CRC32C = "" }))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		var out bytes.Buffer
		n, err := SaveArchive(bytes.NewReader(b), "-", &out, nil)
		if n != int64(out.Len()) || !bytes.Equal(out.Bytes(), b[:out.Len()]) {
			t.Fatalf("SaveArchive says it copied %d bytes, wrote %d that differ from its input", n, out.Len())
		}
		if err != nil {
			return
		}
		if out.Len() != len(b) {
			t.Fatalf("SaveArchive accepted %d bytes of %d", out.Len(), len(b))
		}
		if bytes.Equal(b, archive) {
			if err := VerifyArchive(bytes.NewReader(b)); err != nil {
				t.Fatalf("VerifyArchive of the server's archive: %v", err)
			}
		}
	})
}

// The tables' sums outlive the DB: a store opened again takes them from
// the file beside its tables (a poisoned file shows it: the backup's
// manifest carries its sums, which the check refuses), and a file that is
// not the cache's is ignored.
func TestBackupSumsSurviveRestart(t *testing.T) {
	dir := t.TempDir()
	d := openDir(t, dir)
	fill(t, d, 300)
	if err := d.Compact(context.Background()); err != nil {
		t.Fatal(err)
	}
	tables := tableSums(archiveManifest(t, backup(t, d)))
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}

	d = openDir(t, dir)
	if got := cachedSums(d); len(got) != 0 {
		t.Fatalf("a store just opened holds sums %v before its first backup", got)
	}
	second := backup(t, d)
	if err := VerifyArchive(bytes.NewReader(second)); err != nil {
		t.Fatal(err)
	}
	if got := cachedSums(d); !reflect.DeepEqual(got, tables) {
		t.Fatalf("after a restart the cache holds %v, want %v", got, tables)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}

	name := filepath.Join(dir, DBDir, sumsName)
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	for _, sum := range tables {
		b = bytes.ReplaceAll(b, []byte(sum), []byte(strings.Repeat("0", 64)))
	}
	if err := os.WriteFile(name, b, 0o600); err != nil {
		t.Fatal(err)
	}
	d = openDir(t, dir)
	if err := VerifyArchive(bytes.NewReader(backup(t, d))); !errors.Is(err, ErrBadArchive) || !strings.Contains(err.Error(), "checksum mismatch") {
		t.Fatalf("backup after a restart with poisoned sums verifies (%v): the sums were not taken from the file", err)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}

	if err := os.WriteFile(name, []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	d = openDir(t, dir)
	if err := VerifyArchive(bytes.NewReader(backup(t, d))); err != nil {
		t.Fatalf("backup with an unreadable sums file: %v", err)
	}
	if got := cachedSums(d); !reflect.DeepEqual(got, tables) {
		t.Fatalf("after an unreadable sums file the cache holds %v, want %v", got, tables)
	}
}

// failingReader fails every read with err.
type failingReader struct{ err error }

func (f failingReader) Read([]byte) (int, error) { return 0, f.err }

// An archive whose reading fails before its first byte (the command
// interrupted at once) is that failure, not "the file is empty": restore
// - interrupted that early said the archive was bad, with exit 1, not 130.
func TestArchiveReadFailsBeforeItsFirstByte(t *testing.T) {
	for _, err := range []error{context.Canceled, errors.New("read /dev/sdb: input/output error")} {
		got := VerifyArchive(failingReader{err})
		if !errors.Is(got, err) || strings.Contains(got.Error(), "empty") {
			t.Errorf("reading fails with %v: %v", err, got)
		}
		got = Restore(failingReader{err}, t.TempDir(), false)
		if !errors.Is(got, err) || strings.Contains(got.Error(), "empty") {
			t.Errorf("restore, reading fails with %v: %v", err, got)
		}
	}
	if got := VerifyArchive(strings.NewReader("")); got == nil || !strings.Contains(got.Error(), "the file is empty") {
		t.Errorf("an empty file: %v", got)
	}
}
