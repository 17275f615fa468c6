package store

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
)

// The export log (prefixExport) is what the event stream (package export)
// has still to publish: one entry per record a write marked with
// Tx.Export, numbered in commit order. The hit path pays for it with a few
// bytes in its batch; the exporter reads entries only once they are
// durable (ExportLog), publishes them, and moves its cursor (ExportAck) when
// the stream has acknowledged them, deleting them in the same write. A
// crash anywhere in between publishes an entry again, never skips one.
//
// An entry on disk holds the record's key and the time of the change. The
// values a write hands over with its mark (Tx.ExportValue: a hit or event
// and its session, as written) stay in memory, in the export log's tail:
// the entries of the latest synced groups, which the exporter reads
// instead of the disk while it keeps up. They are not written to the log:
// in the log they would double the hit path's bytes in the WAL and the
// memtable, and so its memtable flushes and the compactions of everything
// else (BenchmarkExportLog). Entries read from disk (after a restart, or
// when the exporter fell further behind than the tail holds) come without
// values, and the exporter reads the records from the store.
//
// The backlog (entries written but not acknowledged) is bounded: once it
// holds ExportOptions.Max entries, further marks are dropped and counted
// (ExportStats.Dropped) rather than slowing or failing the write that made
// them; the records themselves are stored as always and can be replayed.

// ExportEntry is an export log entry: the key of the record it names, the
// time of the change (Unix ms) and, when the write handed them over
// (Tx.ExportValue) and the entry comes from the log's tail in memory, the
// record's value and its session's as written, so that the exporter reads
// nothing else for the most numerous records (hits and events): a read of
// each from the store was most of its work.
type ExportEntry struct {
	Key     []byte // the record's key: a hit, event, visitor, lead, callback, call, chat or chat message
	At      int64  // when the record was written or changed (Unix ms)
	Record  []byte // the record's value as written; nil: read it from the store
	Session []byte // for a hit or event with Record, its session's value as written; nil: read it
}

// Export entries of version 1 hold the key and time; version 2 adds the
// record's and session's values (empty: not given). Entries on disk are
// written with empty values; an older store's may hold them.
const exportVersion = 2

// Encode returns the versioned encoding of e.
func (e *ExportEntry) Encode() []byte {
	return appendExportEntry(nil, e.Key, e.At, e.Record, e.Session)
}

func appendExportEntry(dst, key []byte, at int64, record, session []byte) []byte {
	dst = append(dst, exportVersion)
	dst = binary.AppendVarint(dst, at)
	dst = binary.AppendUvarint(dst, uint64(len(key)))
	dst = append(dst, key...)
	dst = binary.AppendUvarint(dst, uint64(len(record)))
	dst = append(dst, record...)
	dst = binary.AppendUvarint(dst, uint64(len(session)))
	return append(dst, session...)
}

// DecodeExportEntry decodes an ExportEntry; its Key, Record and Session
// alias b.
func DecodeExportEntry(b []byte) (ExportEntry, error) {
	d, v := newDecoder(b, "export entry", exportVersion)
	e := ExportEntry{At: d.int()}
	e.Key = d.raw()
	if v >= 2 {
		e.Record, e.Session = d.raw(), d.raw()
	}
	if len(e.Key) == 0 {
		e.Key = nil
	}
	if len(e.Record) == 0 {
		e.Record = nil
	}
	if len(e.Session) == 0 {
		e.Session = nil
	}
	return e, d.done()
}

// ExportOptions switch the export log on (DB.EnableExport).
type ExportOptions struct {
	// Max is the most entries the backlog holds; past it, marks are
	// dropped (and counted). 0: 1,000,000.
	Max uint64
}

// exportLog is the DB's export log state. seq is taken only by the
// writer goroutine; durable, acked and dropped are read by anyone.
type exportLog struct {
	on      atomic.Bool
	max     atomic.Uint64
	seq     atomic.Uint64 // the last seq written into a group
	durable atomic.Uint64 // the last seq of a synced group
	acked   atomic.Uint64 // the cursor: every entry up to it is published
	dropped atomic.Uint64

	// The tail: the entries of the latest synced groups with their
	// values, contiguous in seq, oldest first, at most maxTailBytes.
	mu        sync.Mutex
	tail      []*exportBlock
	tailBytes int
}

// exportBlock is one synced group's export entries, encoded with their
// values, under the seqs first, first+1, ... It is not changed once the
// group is synced, so readers use it without a lock.
type exportBlock struct {
	first uint64
	data  []byte
	ends  []int // entry i is data[ends[i-1]:ends[i]]
}

func (b *exportBlock) last() uint64 { return b.first + uint64(len(b.ends)) - 1 }

// maxTailBytes bounds the export log's tail in memory: a second or so of
// a busy hit path, ten times what the exporter takes at each look.
const maxTailBytes = 4 << 20

// DefaultExportMax is the backlog bound when ExportOptions.Max is 0.
const DefaultExportMax = 1_000_000

// openExport reads the cursor and the last entry of the log.
func (d *DB) openExport() error {
	v, err := d.Get(MetaKey("exportcursor"))
	switch {
	case errors.Is(err, ErrNotFound):
	case err != nil:
		return fmt.Errorf("read export cursor: %w", err)
	case len(v) != 8:
		return fmt.Errorf("export cursor: %w", ErrCorrupt)
	default:
		d.exp.acked.Store(binary.BigEndian.Uint64(v))
	}
	last := d.exp.acked.Load()
	err = d.ScanPrefix(context.Background(), []byte{prefixExport}, true, 1, func(k, _ []byte) bool {
		if s, ok := ParseExportKey(k); ok && s > last {
			last = s
		}
		return false
	})
	if err != nil {
		return fmt.Errorf("read export log: %w", err)
	}
	d.exp.seq.Store(last)
	d.exp.durable.Store(last)
	return nil
}

// EnableExport makes Tx.Export write export log entries from now on;
// before, and while it is off, marks cost nothing and are not kept.
func (d *DB) EnableExport(o ExportOptions) {
	if o.Max == 0 {
		o.Max = DefaultExportMax
	}
	d.exp.max.Store(o.Max)
	d.exp.on.Store(true)
}

// Export marks key, a record this Tx wrote (or changed) at the Unix
// millisecond at, for the event stream. It is a no-op unless export is
// enabled. The key may be reused after Export returns. Like the Tx's
// writes, the mark is dropped when the update fails.
func (t *Tx) Export(key []byte, at int64) { t.ExportValue(key, at, nil, nil) }

// ExportValue is Export with the record's value as this Tx wrote it and,
// for a hit or event, its session's value as written (nil: none), kept
// with the entry in the log's tail in memory (not on disk) so that the
// exporter need not read them back while it keeps up: for records written
// often, whose values are small. Both may be reused after it returns.
func (t *Tx) ExportValue(key []byte, at int64, record, session []byte) {
	if t.exp == nil || !t.exp.on.Load() {
		return
	}
	n := len(t.req.exports)
	t.req.exports = appendExportEntry(t.req.exports, key, at, record, session)
	t.req.exportLens = append(t.req.exportLens, len(t.req.exports)-n)
}

// addExports writes r's export marks into p's batch under the next seqs,
// without their values, and keeps them with their values in p's block for
// the tail. It runs in the writer goroutine, in the order requests join
// the group, which is what makes seq order commit order.
func (w *writer) addExports(p *pendingGroup, r *request) {
	e := &w.d.exp
	b := r.exports
	var key [9]byte
	key[0] = prefixExport
	for _, n := range r.exportLens {
		entry := b[:n]
		b = b[n:]
		if e.seq.Load()-e.acked.Load() >= e.max.Load() {
			e.dropped.Add(1)
			continue
		}
		s := e.seq.Add(1)
		binary.BigEndian.PutUint64(key[1:], s)
		disk := entry
		if x, err := DecodeExportEntry(entry); err == nil && (x.Record != nil || x.Session != nil) {
			w.exportBuf = appendExportEntry(w.exportBuf[:0], x.Key, x.At, nil, nil)
			disk = w.exportBuf
		}
		_ = p.batch.Set(key[:], disk, nil)
		if p.exports == nil {
			p.exports = &exportBlock{first: s}
		}
		b := p.exports
		b.data = arenaAppend(&w.exportArena, 64<<10, b.data, entry...)
		b.ends = arenaAppend(&w.exportEnds, 4<<10, b.ends, len(b.data))
		p.exportLast = s
	}
	r.exports, r.exportLens = r.exports[:0], r.exportLens[:0]
}

// arenaAppend appends vs to s, which is the last len(s) elements of
// *arena (or empty), and returns s with them, still the last elements of
// *arena. When *arena is full, s moves to a fresh one of (at least) size
// elements; what was cut from the full one stays as it is for those who
// hold it. The tail's blocks are cut from the writer's arenas rather than
// each grown on its own, an allocation or more per group.
func arenaAppend[T any](arena *[]T, size int, s []T, vs ...T) []T {
	n := len(s) + len(vs)
	if cap(*arena)-len(*arena) < len(vs) {
		*arena = append(make([]T, 0, max(size, 2*n)), s...)
	}
	*arena = append(*arena, vs...)
	a := *arena
	return a[len(a)-n : len(a) : len(a)]
}

// synced is told by the syncer that every entry up to last, the last of
// block's, is durable (last 0: the group had none). Nothing is woken: the
// exporter looks for durable entries on its own schedule, so that a busy
// hit path hands it large batches rather than a wake-up per group commit.
func (e *exportLog) synced(last uint64, block *exportBlock) {
	if last == 0 {
		return
	}
	e.mu.Lock()
	if n := len(e.tail); n > 0 && e.tail[n-1].last()+1 != block.first {
		e.tail, e.tailBytes = nil, 0 // not contiguous (a group failed): start again
	}
	e.tail = append(e.tail, block)
	e.tailBytes += len(block.data)
	for e.tailBytes > maxTailBytes && len(e.tail) > 1 {
		e.tailBytes -= len(e.tail[0].data)
		e.tail = e.tail[1:]
	}
	e.mu.Unlock()
	e.durable.Store(last)
}

// failed is told by the syncer that a group holding export entries was
// not written: the tail would have a gap, so it is dropped, and entries
// are read from disk until it holds the cursor's next again.
func (e *exportLog) failed() {
	e.mu.Lock()
	e.tail, e.tailBytes = nil, 0
	e.mu.Unlock()
}

// acknowledged drops the tail's blocks at or before the cursor through.
func (e *exportLog) acknowledged(through uint64) {
	e.mu.Lock()
	for len(e.tail) > 0 && e.tail[0].last() <= through {
		e.tailBytes -= len(e.tail[0].data)
		e.tail = e.tail[1:]
	}
	e.mu.Unlock()
}

// tailFrom returns the tail's blocks from the one holding seq from on, or
// nil when the tail does not hold it.
func (e *exportLog) tailFrom(from uint64) []*exportBlock {
	e.mu.Lock()
	defer e.mu.Unlock()
	if len(e.tail) == 0 || from < e.tail[0].first || from > e.tail[len(e.tail)-1].last() {
		return nil
	}
	i := 0
	for e.tail[i].last() < from {
		i++
	}
	return slices.Clone(e.tail[i:])
}

// ExportStats is the state of the export log.
type ExportStats struct {
	On      bool
	Cursor  uint64 // the last seq the stream acknowledged
	Durable uint64 // the last seq on disk
	Backlog uint64 // entries on disk not yet acknowledged
	Max     uint64 // the backlog's bound
	Dropped uint64 // marks dropped since start because the backlog was full
}

// ExportStats returns the state of the export log.
func (d *DB) ExportStats() ExportStats {
	s := ExportStats{On: d.exp.on.Load(), Cursor: d.exp.acked.Load(), Durable: d.exp.durable.Load(),
		Max: d.exp.max.Load(), Dropped: d.exp.dropped.Load()}
	if s.Durable > s.Cursor {
		s.Backlog = s.Durable - s.Cursor
	}
	return s
}

// ExportLog calls fn for each durable export log entry after the cursor,
// in seq order, until fn returns false or limit entries were seen (limit
// <= 0: no limit): from the tail in memory, with the values the writes
// handed over, when it holds the cursor's next entry, else from disk. The
// entry's slices are valid only during the call.
func (d *DB) ExportLog(ctx context.Context, limit int, fn func(seq uint64, e ExportEntry) bool) error {
	from, to := d.exp.acked.Load()+1, d.exp.durable.Load()
	if to < from {
		return nil
	}
	if blocks := d.exp.tailFrom(from); blocks != nil {
		return exportTail(blocks, from, to, limit, fn)
	}
	var ferr error
	err := d.Scan(ctx, ExportKey(from), ExportKey(to+1), false, limit, func(k, v []byte) bool {
		seq, ok := ParseExportKey(k)
		if !ok {
			ferr = fmt.Errorf("export log key %x: %w", k, ErrCorrupt)
			return false
		}
		e, err := DecodeExportEntry(v)
		if err != nil {
			ferr = fmt.Errorf("export log entry %d: %w", seq, err)
			return false
		}
		return fn(seq, e)
	})
	if err == nil {
		err = ferr
	}
	if err != nil {
		return fmt.Errorf("read export log: %w", err)
	}
	return nil
}

// exportTail is ExportLog over the tail's blocks.
func exportTail(blocks []*exportBlock, from, to uint64, limit int, fn func(seq uint64, e ExportEntry) bool) error {
	n := 0
	for _, b := range blocks {
		start := 0
		for i, end := range b.ends {
			seq, v := b.first+uint64(i), b.data[start:end]
			start = end
			switch {
			case seq < from:
				continue
			case seq > to:
				return nil
			}
			e, err := DecodeExportEntry(v)
			if err != nil {
				return fmt.Errorf("read export log: entry %d: %w", seq, err)
			}
			if !fn(seq, e) {
				return nil
			}
			if n++; limit > 0 && n >= limit {
				return nil
			}
		}
	}
	return nil
}

// exportPointDeletes is the most entries ExportAck deletes one by one; a
// longer run (the exporter acknowledges a batch at a time, so only after
// the cursor was moved by hand) is deleted as a range.
const exportPointDeletes = 4096

// ExportAck durably moves the cursor to through: every entry up to it has
// been published and acknowledged. Those entries are deleted in the same
// write. A through at or before the cursor changes nothing.
func (d *DB) ExportAck(ctx context.Context, through uint64) error {
	from := d.exp.acked.Load()
	if through <= from {
		return nil
	}
	var v [8]byte
	binary.BigEndian.PutUint64(v[:], through)
	// Prepared, not a function run in the writer: a group holding a
	// function is indexed for its reads, and the cursor reads nothing.
	tx := d.Prepare()
	tx.Set(MetaKey("exportcursor"), v[:])
	if through-from <= exportPointDeletes {
		// A range tombstone would cost every read of the store (the hit
		// path's too) a range-deletion iterator until compacted away;
		// point tombstones in the log's own prefix cost other reads
		// nothing. Single deletes: an entry's key is set once (seqs are
		// never reused), so a single delete and the set it deletes drop
		// out together at the flush or compaction that meets both,
		// where a delete's tombstone would be carried down to the last
		// level.
		var k [9]byte
		k[0] = prefixExport
		for s := from + 1; s <= through; s++ {
			binary.BigEndian.PutUint64(k[1:], s)
			_ = tx.own.SingleDelete(k[:], nil)
		}
	} else {
		tx.DeleteRange(ExportKey(from), ExportKey(through+1))
	}
	if err := d.Commit(ctx, tx, nil); err != nil {
		return fmt.Errorf("export ack %d: %w", through, err)
	}
	d.exp.acked.Store(through)
	d.exp.acknowledged(through)
	return nil
}
