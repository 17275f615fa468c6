// Package store is the appliance's one embedded database: a pebble store in
// the data directory, the key layout of every record (keys.go), their
// versioned encodings (records.go), a durable group-commit writer
// (writer.go), daily roll-up counters combined by a merge operator
// (merge.go), and online backup and verified restore (backup.go).
//
// Durability contract: a write passed to Commit is on disk (its pebble batch
// synced to the write-ahead log) before Commit returns nil. Concurrent
// callers share one synced batch, so durability costs one fsync per group,
// not per write. The store imports no domain package: it knows records and
// keys, not traffic sources or number pools.
package store

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/bloom"
	"github.com/cockroachdb/pebble/v2/sstable/block"
	dto "github.com/prometheus/client_model/go"
)

// Errors of the store, in one block.
var (
	// ErrNotFound is returned by Get when the key is absent.
	ErrNotFound = errors.New("store: not found")
	// ErrClosed is returned by Commit after Close.
	ErrClosed = errors.New("store: closed")
	// ErrLocked is wrapped when another process holds the store.
	ErrLocked = errors.New("store: in use by another process")
	// ErrCorrupt is wrapped by every error about a stored value that does
	// not decode (records, counters, the id sequence).
	ErrCorrupt = errors.New("store: corrupt record")
	// ErrDiskFull is wrapped when the disk of the store is (nearly) full:
	// the write was refused and changed nothing (see space.go).
	ErrDiskFull = errors.New("store: disk full")
)

// DBDir is the pebble directory inside a data directory.
const DBDir = "db"

// DB is an open store. All methods are safe for concurrent use.
type DB struct {
	dir string // the data directory
	db  *pebble.DB
	w   *writer
	seq atomic.Uint64 // last id handed out; persisted by reservation (writer.applyLocked)
	// openSeq is seq as the store was opened: what the last write of the
	// sequence before persisted.
	openSeq uint64
	space   *space
	exp     exportLog // the export log's state (export.go)
	// direct counts the prepared writes committed on their own
	// (commitDirect) by the log sync that took them.
	direct *directGroups

	backupRate int64    // bytes a second; 0: no limit
	sums       sumCache // the tables' SHA-256 that backups took
	cacheSize  int64    // the block cache's capacity in bytes

	closeOnce sync.Once
	closeErr  error
}

// Options tune Open; the zero value is what serve uses.
type Options struct {
	// ReadOnly opens the store without a writer (restore verification).
	ReadOnly bool
	// Headroom is the free disk space below which writes are refused with
	// ErrDiskFull; 0: a twentieth of the file system, 16 to 256 MiB.
	Headroom uint64
	// Log receives the disk-full and space-back lines; slog.Default when nil.
	Log *slog.Logger
	// CacheSize is the block cache in bytes; 0: DefaultCacheSize.
	CacheSize int64
	// BackupRate bounds how fast Backup reads the store, in bytes per
	// second; 0: as fast as it can (no server to share the machine with).
	BackupRate int64
	// L0Compaction is the number of level-0 sublevels at which pebble
	// compacts level 0; 0: DefaultL0Compaction. Higher rewrites a hit's
	// entries less often for more memory (see DefaultL0Compaction).
	L0Compaction int
}

// DefaultL0Compaction is pebble's own threshold, 4 sublevels. At 8, with
// pebble's 64 MB base level, a hit cost 10-15% less CPU
// (BenchmarkHitEndpoint/hit at 64 connections on a quiet 2-core machine:
// 85-98 vs 103-116 µs, what flushes and compactions write a hit 348-401
// vs 641-704 B), for 8-15 MB more peak RSS at load (TestPoolLoad: 96-103
// vs 88 MB: more level-0 tables open, with their index and filter
// blocks), which is why it is not the default. With the base level
// bounded (lbaseMaxBytes, measured at 4 MB) it saves writes but no CPU:
// over a million hits a third less written, 120 vs 118 µs a hit.
const DefaultL0Compaction = 4

// MaxL0Compaction is the highest Options.L0Compaction: a read may look
// into every level-0 table, and writes stop at three times it.
const MaxL0Compaction = 32

// openOptions is pebbleOptions with what Open's options add to them.
func openOptions(o Options) *pebble.Options {
	po := pebbleOptions(o.ReadOnly, o.CacheSize)
	if !o.ReadOnly {
		lowerBackground(po)
	}
	if o.L0Compaction > 0 {
		// Writes stop at three times the threshold, as pebble's defaults
		// (4 and 12) have it.
		po.L0CompactionThreshold, po.L0StopWritesThreshold = o.L0Compaction, 3*o.L0Compaction
	}
	return po
}

// Open opens (creating when absent) the store in dataDir/db.
func Open(dataDir string, o Options) (*DB, error) {
	if o.L0Compaction < 0 || o.L0Compaction > MaxL0Compaction {
		return nil, fmt.Errorf("open store: level-0 compaction threshold %d: want 1 to %d tables (0: the default, %d)", o.L0Compaction, MaxL0Compaction, DefaultL0Compaction)
	}
	dbDir := filepath.Join(dataDir, DBDir)
	if !o.ReadOnly {
		if err := os.MkdirAll(dbDir, 0o700); err != nil {
			return nil, fmt.Errorf("open store %q: %w", dataDir, AccessHint(dataDir, err))
		}
		// What a command run by root left in another user's store, also
		// one killed before it could give its files back (see owner.go).
		if err := giveToOwner(dataDir, dbDir); err != nil {
			return nil, fmt.Errorf("open store %q: %w", dataDir, err)
		}
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	sp := &space{dir: dataDir, headroom: o.Headroom, log: o.Log}
	if !o.ReadOnly {
		if err := sp.checkOpen(); err != nil {
			return nil, fmt.Errorf("open store %q: %w", dataDir, err)
		}
	}
	if o.CacheSize <= 0 {
		o.CacheSize = DefaultCacheSize()
	}
	po := openOptions(o)
	direct := &directGroups{}
	pdb, err := pebble.Open(dbDir, po)
	if err != nil {
		if lerr := lockedError(dataDir, err); lerr != nil {
			return nil, fmt.Errorf("open store: %w", lerr)
		}
		return nil, fmt.Errorf("open store %q: %w", dataDir, AccessHint(dataDir, err))
	}
	if !o.ReadOnly {
		removeLeftBackups(dataDir, o.Log)
	}
	d := &DB{dir: dataDir, db: pdb, direct: direct, space: sp, backupRate: o.BackupRate, cacheSize: o.CacheSize}
	d.sums.path, d.sums.readOnly = filepath.Join(dbDir, sumsName), o.ReadOnly
	v, err := d.Get(MetaKey("seq"))
	switch {
	case errors.Is(err, ErrNotFound):
	case err != nil:
		pdb.Close()
		return nil, fmt.Errorf("open store %q: read sequence: %w", dataDir, err)
	case len(v) != 8:
		pdb.Close()
		return nil, fmt.Errorf("open store %q: sequence: %w", dataDir, ErrCorrupt)
	default:
		d.seq.Store(binary.BigEndian.Uint64(v))
	}
	d.openSeq = d.seq.Load()
	dataVersion, err := checkDataVersion(dataDir, d.Get)
	if err != nil {
		pdb.Close()
		return nil, fmt.Errorf("open store: %w", err)
	}
	if err := d.openExport(); err != nil {
		pdb.Close()
		return nil, fmt.Errorf("open store %q: %w", dataDir, err)
	}
	if !o.ReadOnly {
		if err := d.markDataVersion(dataVersion); err != nil {
			pdb.Close()
			return nil, fmt.Errorf("open store %q: %w", dataDir, AccessHint(dataDir, err))
		}
		d.w = startWriter(d)
		if err := d.moveRetiredDue(context.Background()); err != nil {
			d.Close()
			return nil, fmt.Errorf("open store %q: %w", dataDir, err)
		}
	}
	return d, nil
}

// isLockErr reports whether pebble.Open failed to take the directory lock:
// fcntl's EAGAIN when another process holds it, or pebble's own error when
// this process does. Matching "lock" in the message would also match paths
// and errors that merely contain it ("block", "clock").
func isLockErr(err error) bool {
	return errors.Is(err, syscall.EAGAIN) || strings.Contains(err.Error(), "lock held by current process")
}

// lbaseMaxBytes bounds the level that level 0 is compacted into (pebble's
// LBaseMaxBytes, 64 MB by default). A flush holds keys from all over the
// key space (a hit writes its page view, session, visitor and report
// rows), so compacting it rewrites every table of the level it lands in:
// with pebble's default that was the whole store until it passed 64 MB,
// and the hit path's cost grew with the store (BenchmarkHitEndpoint/hit
// at 64 connections over a million hits: 1.5 KB of compaction reads and
// writes a hit, compactions running 73-86% of the time, 187-204 µs of CPU
// a hit). Bounded, the store grows levels above the last one sooner, each
// ten times the one above, and a flush rewrites a few MB at most. Swept
// over the same million hits, compaction reads and writes a hit: 1 MB
// 530/575 B, 2 MB 457/502, 4 MB 507/550, 8 MB 595/639, 16 MB 892/938,
// 64 MB 1485/1529; CPU a hit 113-123 µs from 1 to 8 MB, 146 at 16. 8 MB
// rather than 4: at 4 the store of TestPoolLoad's second round (100,000
// hits) already has a level above the last, whose 32 KiB blocks its
// point reads keep in the block cache, 13 MB more of it, and its peak RSS
// went from 89-94 to 100-107 MB, over the 100 MB goal. The reads of a key
// in the levels added are answered by their bloom filters.
const lbaseMaxBytes = 8 << 20

// storeFormat is the pebble format a new store is made in: the newest
// whose tables are made of rows (sstable format Pebblev4), not pebble's
// newest (FormatNewest), whose columnar blocks cost more CPU to write for
// keys like ours, which have no MVCC suffix for the columns to split off.
// Measured (BenchmarkHitEndpoint/hit, one test binary with each format,
// 8 pairs alternated, load 2.1-2.5): the time pebble spent flushing and
// compacting 16-27% of the run vs 24-51% at 64 connections, the CPU a
// hit, client included, median 76 vs 104 µs, its wall time median 51 vs
// 66 µs; a million hits into visits.BenchmarkHitDiskBytes 14.6 vs 19.7 s.
// Its price: 80 vs 66 B on disk a hit, cold point reads 1.02-1.15× the
// CPU (BenchmarkPointRead), tables without the v6 footer's checksum, and
// a log without the synced offsets of FormatWALSyncChunks, by which a
// replay tells a corrupt chunk before the synced end from the end itself
// (without them a bad chunk ends the replay, as in every pebble before).
// A store keeps the format it was made in (pebble only moves a store's
// format up): stores made before this keep their columnar tables.
const storeFormat = pebble.FormatFlushableIngestExcises

func pebbleOptions(readOnly bool, cacheSize int64) *pebble.Options {
	opts := &pebble.Options{
		Merger:             counterMerger,
		ReadOnly:           readOnly,
		FormatMajorVersion: storeFormat,
		Logger:             quietLogger{},
		CacheSize:          cacheSize,
		LBaseMaxBytes:      lbaseMaxBytes,
	}
	// Deeper levels hold old hits and events: compress them with zstd, in
	// blocks of 32 KiB rather than 4: the page URLs and titles of a site
	// repeat across sessions, and a larger block lets zstd see the
	// repeats (BenchmarkHitDiskBytes in httpd/visits: 94 -> 70 bytes on
	// disk per hit).
	//
	// Measured (BenchmarkPointRead, BenchmarkHitDiskBytes): with the C zstd
	// (a cgo build) a cold point read costs about the CPU of one with MinLZ
	// on every level, and MinLZ takes 31% more disk. Without cgo, pebble's
	// zstd is the pure-Go one, whose reads cost a third more CPU than
	// MinLZ's: there MinLZ (pure Go) compresses every level.
	compression := pebble.DBCompressionGood
	if !cgoZstd {
		compression = pebble.UniformDBCompressionSettings(block.MinLZCompression)
	}
	opts.ApplyCompressionSettings(func() pebble.DBCompressionSettings { return compression })
	opts.EnsureDefaults()
	// The log is synced by the writer's sync gate (syncGate), not paced
	// by pebble's WALMinSyncInterval.
	for i := len(opts.Levels) - 2; i < len(opts.Levels); i++ {
		opts.Levels[i].BlockSize = 32 << 10
	}
	// The hit path's point reads (a returning visitor's session and
	// visitor, a lease) look for keys most levels do not hold: a bloom
	// filter per file (10 bits a key, 1% false positives) lets a read skip
	// those files without reading and decompressing one of their blocks
	// (BenchmarkPointRead).
	for i := range opts.Levels {
		opts.Levels[i].FilterPolicy = bloom.FilterPolicy(10)
	}
	return opts
}

// CheckDiskSpace returns an error wrapping ErrDiskFull, saying how much is
// free, while writes are refused for lack of disk space (see space.go).
func (d *DB) CheckDiskSpace() error { return d.space.check(0) }

// Dir is the data directory the store lives in.
func (d *DB) Dir() string { return d.dir }

// Close stops the writer (waiting for queued writes to be synced), writes
// the memtables to tables and closes pebble; run by root on another user's
// store, it then gives the files it made to that user (owner.go). Later
// calls return the first call's result (pebble panics on a second Close).
//
// Pebble's own Close leaves what the memtables hold in the write-ahead
// log, and the next Open reads the log back and writes it to a table
// before it returns: the server's next start would wait for the last
// writes before a stop (a serve's sealed pool leases: 1.4 MB of log for
// 16 pools of 5,000 numbers, 0.3-0.6 s of Open at a load of 15). Flushed
// here, they cost the stop instead, and Open finds an empty log. A flush
// that fails (a full disk) loses nothing: it leaves the log to the next
// Open.
func (d *DB) Close() error {
	d.closeOnce.Do(func() {
		if d.w != nil {
			d.w.stop()
			if err := d.db.Flush(); err != nil {
				d.space.log.Warn("the next start reads the store's log back", "err", err)
			}
		}
		if err := d.db.Close(); err != nil {
			d.closeErr = fmt.Errorf("close store: %w", err)
		}
		if d.w != nil {
			// The files made while open are root's when root opened
			// another user's store (see owner.go).
			if err := giveToOwner(d.dir, filepath.Join(d.dir, DBDir)); err != nil {
				d.closeErr = errors.Join(d.closeErr, fmt.Errorf("close store: %w", err))
			}
		}
	})
	return d.closeErr
}

// NextID returns a new id, unique in this store, below 2^53 (exact in
// JavaScript). Ids grow with time. An id whose record was never committed
// is simply skipped.
func (d *DB) NextID() uint64 { return d.seq.Add(1) }

// LastID returns the id sequence as the next commit leaves it in the
// store: the last id handed out, rounded up to the ids the store has
// reserved (writer.applyLocked), which is what OpenedID reads back when
// nothing is written after that commit. An older version persisted the
// last id handed out itself.
func (d *DB) LastID() uint64 {
	seq := d.seq.Load()
	if d.w != nil {
		if written := d.w.seqWritten.Load(); seq <= written {
			return written
		}
	}
	return seqReserve(seq)
}

// OpenedID returns LastID as the store was opened: what the last write of
// the sequence before persisted. A commit that carries an id handed out
// after the open persists a higher one, by any version of the server (an
// older version persisted every id it handed out), so state sealed with
// LastID at a clean shutdown (SealedKey) can tell whether ids were handed
// out and written since.
func (d *DB) OpenedID() uint64 { return d.openSeq }

// Get returns a copy of the value stored under key, or ErrNotFound.
func (d *DB) Get(key []byte) ([]byte, error) { return get(d.db, key) }

func get(r pebble.Reader, key []byte) ([]byte, error) {
	v, closer, err := r.Get(key)
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("get: %w", err)
	}
	out := bytes.Clone(v)
	if out == nil {
		out = []byte{}
	}
	return out, closer.Close()
}

// GetSorted calls fn with the value of each of keys, which must be in
// ascending order (repeats allowed), or nil when the key is absent. One
// iterator reads them all, each seek going on from the last: for many
// keys much cheaper than a Get each. The value is valid only during the
// call.
func (d *DB) GetSorted(ctx context.Context, keys [][]byte, fn func(i int, value []byte)) error {
	if len(keys) == 0 {
		return nil
	}
	last := keys[len(keys)-1]
	upper := append(append(make([]byte, 0, len(last)+1), last...), 0)
	it, err := d.db.NewIterWithContext(ctx, &pebble.IterOptions{LowerBound: keys[0], UpperBound: upper})
	if err != nil {
		return fmt.Errorf("get sorted: %w", err)
	}
	for i, k := range keys {
		if !it.SeekGE(k) || !bytes.Equal(it.Key(), k) {
			fn(i, nil)
			continue
		}
		v, err := it.ValueAndErr()
		if err != nil {
			it.Close()
			return fmt.Errorf("get sorted: %w", err)
		}
		fn(i, v)
	}
	if err := it.Close(); err != nil {
		return fmt.Errorf("get sorted: %w", err)
	}
	return nil
}

// Scan calls fn for each key in [lower, upper) in order (reverse order when
// reverse is set) until fn returns false or limit entries were seen (limit
// <= 0: no limit). Key and value are valid only during the call.
func (d *DB) Scan(ctx context.Context, lower, upper []byte, reverse bool, limit int, fn func(key, value []byte) bool) error {
	return scan(ctx, d.db, lower, upper, reverse, limit, fn)
}

func scan(ctx context.Context, r pebble.Reader, lower, upper []byte, reverse bool, limit int, fn func(key, value []byte) bool) error {
	it, err := r.NewIterWithContext(ctx, &pebble.IterOptions{LowerBound: lower, UpperBound: upper})
	if err != nil {
		return fmt.Errorf("scan: %w", err)
	}
	valid := it.First
	next := it.Next
	if reverse {
		valid, next = it.Last, it.Prev
	}
	n := 0
	for ok := valid(); ok; ok = next() {
		if err := ctx.Err(); err != nil {
			it.Close()
			return err
		}
		v, err := it.ValueAndErr()
		if err != nil {
			it.Close()
			return fmt.Errorf("scan: %w", err)
		}
		n++
		if !fn(it.Key(), v) || (limit > 0 && n >= limit) {
			break
		}
	}
	if err := it.Close(); err != nil {
		return fmt.Errorf("scan: %w", err)
	}
	return nil
}

// ScanPrefix is Scan over every key that starts with prefix.
func (d *DB) ScanPrefix(ctx context.Context, prefix []byte, reverse bool, limit int, fn func(key, value []byte) bool) error {
	return d.Scan(ctx, prefix, PrefixEnd(prefix), reverse, limit, fn)
}

// Reader reads the store: the DB as it is at each read, or a Snapshot.
type Reader interface {
	Get(key []byte) ([]byte, error)
	Scan(ctx context.Context, lower, upper []byte, reverse bool, limit int, fn func(key, value []byte) bool) error
	ScanPrefix(ctx context.Context, prefix []byte, reverse bool, limit int, fn func(key, value []byte) bool) error
}

// Snapshot reads the store as it was when it was taken: the writes
// committed after it are not seen. It must be closed; while it is open,
// the compactions keep what it may read.
type Snapshot struct{ s *pebble.Snapshot }

// NewSnapshot takes a Snapshot of the store. A write applied and not yet
// synced (a group in flight) may be in it: what a snapshot is taken for
// (a rebuild's differences) must not depend on it.
func (d *DB) NewSnapshot() *Snapshot { return &Snapshot{d.db.NewSnapshot()} }

// Get is DB.Get as of the snapshot.
func (s *Snapshot) Get(key []byte) ([]byte, error) { return get(s.s, key) }

// Scan is DB.Scan as of the snapshot.
func (s *Snapshot) Scan(ctx context.Context, lower, upper []byte, reverse bool, limit int, fn func(key, value []byte) bool) error {
	return scan(ctx, s.s, lower, upper, reverse, limit, fn)
}

// ScanPrefix is DB.ScanPrefix as of the snapshot.
func (s *Snapshot) ScanPrefix(ctx context.Context, prefix []byte, reverse bool, limit int, fn func(key, value []byte) bool) error {
	return s.Scan(ctx, prefix, PrefixEnd(prefix), reverse, limit, fn)
}

// Close releases the snapshot.
func (s *Snapshot) Close() error { return s.s.Close() }

// Compact compacts the whole key space (used by size measurements and
// after restore checks).
func (d *DB) Compact(ctx context.Context) error {
	if err := d.db.Flush(); err != nil {
		return fmt.Errorf("compact: flush: %w", err)
	}
	if err := d.db.Compact(ctx, []byte{0}, []byte{0xff, 0xff}, true); err != nil {
		return fmt.Errorf("compact: %w", err)
	}
	return nil
}

// DiskSize is the total size of the store's live files in bytes.
func (d *DB) DiskSize() uint64 {
	m := d.db.Metrics()
	return m.DiskSpaceUsage()
}

// Metrics is the subset of pebble's metrics /metrics exposes.
type Metrics struct {
	DiskBytes    uint64
	WALBytes     uint64
	Compactions  int64
	ReadAmp      int
	MemtableSize uint64
	// The store's memory beside the Go heap (pebble allocates the block
	// cache and memtables with C's malloc in a cgo build): the block
	// cache's capacity, the bytes and blocks it holds and its hits and
	// misses; the memtables' count and the bytes of their arenas (zombies:
	// flushed, still read by an iterator); the open table files (the file
	// cache: a file descriptor and the table's index and filter blocks'
	// handles each) and its hits and misses.
	BlockCacheCapacity int64
	BlockCache         pebble.CacheMetrics
	Memtables          int64
	ZombieMemtableSize uint64
	FileCache          pebble.FileCacheMetrics
	// Commits counts the synced groups: the writer's, and the log syncs
	// that acknowledged prepared writes committed on their own (a hit's:
	// they go to pebble without the writer, whose log writer merges their
	// syncs). Writes counts the writes in them.
	Commits uint64
	Writes  uint64
	// Entries and BatchBytes are what the applied groups and direct
	// writes wrote: the batches' entries (each set, merge and delete, the
	// sequence record too) and their bytes as the log has them.
	Entries    uint64
	BatchBytes uint64
	// FlushedBytes and CompactedBytes are what memtable flushes and
	// compactions wrote to tables, CompactionReadBytes what compactions
	// read: the LSM's rewriting of what the batches wrote.
	FlushedBytes        uint64
	CompactedBytes      uint64
	CompactionReadBytes uint64
	// GroupSizes counts those groups by their number of writes: element i
	// the groups of at most GroupSizeBound(i) writes and more than the
	// bound before; the last, the groups larger than every bound.
	GroupSizes [GroupSizeBuckets + 1]uint64
	// WALSyncs counts the log's fdatasyncs (pebble's: one may cover
	// several groups), WALSyncTime is their total duration.
	WALSyncs    uint64
	WALSyncTime time.Duration
	// WALSyncBuckets is their latency histogram (pebble's buckets:
	// 100 µs apart up to 5 ms, then exponential), cumulative: element i
	// counts the syncs that took at most Le.
	WALSyncBuckets []LatencyBucket
	// ApplyWaits counts the direct commits (a hit's) by how long their
	// apply took, their wait for their turn included: element i those of
	// at most ApplyWaitBound(i) and more than the bound before; the last,
	// the longer ones. ApplyWaitTime is their total.
	ApplyWaits    [ApplyWaitBuckets + 1]uint64
	ApplyWaitTime time.Duration
	// GateSyncs counts the log syncs the sync gate started, by why
	// (GateFull, GateIdle, GateTimer); GateSyncTime is their total wall
	// time: pebble's fdatasync (WALSyncTime) and the hand-offs to its log
	// writer's goroutine and back, which wait for a core when the cores
	// are busy.
	GateSyncs    [GateReasons]uint64
	GateSyncTime time.Duration
	// Flushes counts pebble's memtable flushes; FlushTime and
	// CompactionTime are the time its flushes and compactions ran (wall
	// time, while the hits go on on the same cores and disk).
	Flushes        int64
	FlushTime      time.Duration
	CompactionTime time.Duration
}

// LatencyBucket is one bucket of a cumulative latency histogram.
type LatencyBucket struct {
	Le    time.Duration
	Count uint64
}

// SyncQuantile is the q quantile (0 < q ≤ 1) of the log syncs counted in
// after but not in before (two Metrics of the same store, before taken
// first), as the upper bound of its bucket; 0 without syncs between them.
func SyncQuantile(before, after Metrics, q float64) time.Duration {
	n := after.WALSyncs - before.WALSyncs
	if n == 0 || len(after.WALSyncBuckets) == 0 {
		return 0
	}
	want := uint64(q*float64(n) + 0.5)
	for i, b := range after.WALSyncBuckets {
		c := b.Count
		if i < len(before.WALSyncBuckets) {
			c -= before.WALSyncBuckets[i].Count
		}
		if c >= want {
			return b.Le
		}
	}
	return after.WALSyncBuckets[len(after.WALSyncBuckets)-1].Le
}

// Stats returns current metrics.
func (d *DB) Stats() Metrics {
	m := d.db.Metrics()
	s := Metrics{
		DiskBytes:    m.DiskSpaceUsage(),
		WALBytes:     m.WAL.Size,
		Compactions:  m.Compact.Count,
		ReadAmp:      m.ReadAmp(),
		MemtableSize: m.MemTable.Size,

		BlockCacheCapacity: d.cacheSize,
		BlockCache:         m.BlockCache,
		Memtables:          m.MemTable.Count,
		ZombieMemtableSize: m.MemTable.ZombieSize,
		FileCache:          m.FileCache,

		Flushes:        m.Flush.Count,
		FlushTime:      m.Flush.WriteThroughput.WorkDuration,
		CompactionTime: m.Compact.Duration,
	}
	for _, l := range m.Levels {
		s.FlushedBytes += l.TableBytesFlushed
		s.CompactedBytes += l.TableBytesCompacted
		s.CompactionReadBytes += l.TableBytesRead
	}
	if h := m.LogWriter.FsyncLatency; h != nil {
		var pm dto.Metric
		if h.Write(&pm) == nil && pm.Histogram != nil {
			s.WALSyncs = pm.Histogram.GetSampleCount()
			s.WALSyncTime = time.Duration(pm.Histogram.GetSampleSum()) // pebble observes nanoseconds
			for _, b := range pm.Histogram.GetBucket() {
				s.WALSyncBuckets = append(s.WALSyncBuckets, LatencyBucket{time.Duration(b.GetUpperBound()), b.GetCumulativeCount()})
			}
		}
	}
	if d.w != nil {
		s.Commits = d.w.groups.Load() + d.direct.groups.Load()
		s.Writes = d.w.writes.Load()
		s.Entries = d.w.entries.Load()
		s.BatchBytes = d.w.bytes.Load()
		for i := range s.ApplyWaits {
			s.ApplyWaits[i] = d.w.applyWaits.counts[i].Load()
		}
		s.ApplyWaitTime = time.Duration(d.w.applyWaits.total.Load())
		s.GateSyncs, s.GateSyncTime = d.w.gate.stats()
		for i := range s.GroupSizes {
			s.GroupSizes[i] = d.w.sizes.counts[i].Load() + d.direct.sizes.counts[i].Load()
		}
	}
	return s
}

// quietLogger drops pebble's informational chatter; errors still reach
// callers through returned errors.
type quietLogger struct{}

func (quietLogger) Infof(string, ...any)  {}
func (quietLogger) Errorf(string, ...any) {}
func (quietLogger) Fatalf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "pebble: fatal: "+format+"\n", args...)
	os.Exit(70)
}
