package store

import (
	"context"
	"encoding/binary"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cockroachdb/pebble/v2"
)

// maxGroupBytes caps one group's batch; the rest waits for the next sync.
const maxGroupBytes = 8 << 20

// Tx is one caller's part of a group commit. In Update's function (and
// Commit's then) it runs in the writer: reads see the store plus every
// write of the group so far (earlier callers included), so a
// read-modify-write is serialised with all other writes. A Tx of Prepare is
// built outside the writer, in the caller's goroutine: its reads see the
// store as committed, not the writes queued for the writer. Writes go to
// the caller's own batch, which joins the group only if the function
// returns nil: a failed update changes nothing.
type Tx struct {
	group *pebble.Batch // indexed: reads through it see the group's writes; nil: a prepared Tx
	db    *DB           // a prepared Tx's store
	own   *pebble.Batch
	req   *request
	exp   *exportLog // Export's
}

// Get returns a copy of the value under key as the group sees it (as the
// store has it, for a prepared Tx), or ErrNotFound. It does not see this
// Tx's own writes.
func (t *Tx) Get(key []byte) ([]byte, error) {
	if t.group == nil {
		return t.db.Get(key)
	}
	v, closer, err := t.group.Get(key)
	if err == pebble.ErrNotFound {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("get: %w", err)
	}
	out := append([]byte{}, v...)
	return out, closer.Close()
}

// ScanPrefix calls fn for each key that starts with prefix as the group
// sees it (as the store has it, for a prepared Tx), in order (reverse
// order when reverse is set), until fn returns false or limit entries were
// seen (limit <= 0: no limit), as DB.ScanPrefix does. Like Get, it does
// not see this Tx's own writes. Key and value are valid only during the
// call. In Update's function it is how a write reads a range serialised
// with every other write (a visitor's recent leads, to tell a retry).
func (t *Tx) ScanPrefix(prefix []byte, reverse bool, limit int, fn func(key, value []byte) bool) error {
	if t.group == nil {
		return t.db.ScanPrefix(context.Background(), prefix, reverse, limit, fn)
	}
	return scan(context.Background(), t.group, prefix, PrefixEnd(prefix), reverse, limit, fn)
}

// Set stores value under key. The slices may be reused after Set returns.
func (t *Tx) Set(key, value []byte) { _ = t.own.Set(key, value, nil) }

// Delete removes key.
func (t *Tx) Delete(key []byte) { _ = t.own.Delete(key, nil) }

// DeleteRange removes every key in [start, end).
func (t *Tx) DeleteRange(start, end []byte) { _ = t.own.DeleteRange(start, end, nil) }

// AfterCommit registers fn to run once this Tx's writes are durable: in
// the goroutine that called Update, just before Update returns nil. fn does
// not run when the update fails. It is how a write tells a waiting reader
// (a queue's worker) that there is something new to read.
func (t *Tx) AfterCommit(fn func()) { t.req.after = append(t.req.after, fn) }

// Add adds delta to the counter lane of a roll-up key (see merge.go).
func (t *Tx) Add(key []byte, lane int, delta int64) {
	if lane < 0 || lane >= MaxLanes {
		panic(fmt.Sprintf("store: counter lane %d out of range", lane))
	}
	var l [MaxLanes]int64
	l[lane] = delta
	t.AddLanes(key, l[:lane+1])
}

// AddLanes adds lanes[i] to lane i of a roll-up key, all in one merge
// operand (at most MaxLanes lanes; trailing zero lanes may be left off),
// a compact one (merge.go).
func (t *Tx) AddLanes(key []byte, lanes []int64) {
	if len(lanes) > MaxLanes {
		panic(fmt.Sprintf("store: %d counter lanes", len(lanes)))
	}
	var b [(binary.MaxVarintLen64 + 1) * MaxLanes]byte
	_ = t.own.Merge(key, appendCompactLanes(b[:0], lanes), nil)
}

// Merge adds a raw merge operand (an EncodeCounters value) to key.
func (t *Tx) Merge(key, operand []byte) { _ = t.own.Merge(key, operand, nil) }

type request struct {
	prepared *pebble.Batch // Commit's writes, made outside the writer; nil for Update
	fn       func(*Tx) error
	err      error
	after    []func() // Tx.AfterCommit
	done     chan struct{}
	// exports holds the encoded ExportEntry of each Tx.Export mark, one
	// after another, exportLens their lengths.
	exports    []byte
	exportLens []int
}

var requestPool = sync.Pool{New: func() any { return &request{done: make(chan struct{}, 1)} }}

// writer owns the group commit loop: it takes the first waiting request,
// then every request that queued up behind it (no timer), applies them as
// one batch and hands the batch to the syncer, which waits for its WAL sync
// and wakes its callers. While one group syncs, the next gathers and
// applies: the disk is never idle waiting for the writer. Groups are synced
// and acknowledged in order, so an acknowledged group implies every earlier
// one is durable too. A later group may read an earlier one's writes before
// they are synced; if that sync failed the later group fails with it, since
// the WAL is written in order.
type writer struct {
	d    *DB
	reqs chan *request
	// mu is held for reading while sending, and by a direct commit until
	// it is synced; stop takes it to close reqs.
	mu sync.RWMutex
	// applyMu orders the applies of the loop's groups and of direct
	// commits: the id sequence each persists is then never lower than the
	// one before it in the log. The loop holds it from a group's first
	// request to its apply, so that no direct commit lands between a
	// function's reads and the group's writes.
	applyMu sync.Mutex
	// seqWritten is the id sequence as the last apply that wrote it
	// wrote it (stored under applyMu; LastID reads it without, as it may
	// be called where the writer holds applyMu): a reservation
	// (seqReserve), never below an id that a write applied since carries.
	seqWritten atomic.Uint64
	closed     bool
	exited     chan struct{}
	groups     atomic.Uint64
	writes     atomic.Uint64
	sizes      groupSizes
	// applyWaits is the direct commits' applies by duration.
	applyWaits applyWaits
	// entries and bytes count what the applies wrote: batch entries
	// (sets, merges, deletes) and the batches' bytes as logged.
	entries atomic.Uint64
	bytes   atomic.Uint64
	// exportBuf is addExports' scratch for an entry as written to disk;
	// the tail's blocks are cut from exportArena and exportEnds.
	exportBuf   []byte
	exportArena []byte
	exportEnds  []int
	// gate syncs the log for the applied groups and direct commits.
	gate *syncGate
}

// pendingGroup is a group applied to the memtable whose WAL sync is not yet
// known to be done.
type pendingGroup struct {
	batch   *pebble.Batch // indexed once a request reads through it
	reqs    []*request
	applied bool   // a sync is owed
	ticket  uint64 // the group's ticket for the sync gate
	err     error
	// exportLast is the last export log seq written into the group (0:
	// none), durable once the group is synced; exports its entries with
	// their values, for the log's tail.
	exportLast uint64
	exports    *exportBlock
}

// maxInFlight bounds the groups applied but not yet synced.
const maxInFlight = 4

func startWriter(d *DB) *writer {
	w := &writer{d: d, reqs: make(chan *request, 4096), exited: make(chan struct{})}
	// A sync covers the direct commits applied before it starts: one group
	// of them (directGroups).
	w.gate = newSyncGate(func() error {
		n := d.direct.applied.Load()
		if err := d.db.LogData(nil, pebble.Sync); err != nil {
			return err
		}
		d.direct.sync(n)
		return nil
	}, maxGateWait)
	w.seqWritten.Store(d.seq.Load())
	go w.loop()
	return w
}

func (w *writer) loop() {
	defer close(w.exited)
	syncs := make(chan *pendingGroup, maxInFlight)
	synced := make(chan struct{})
	go w.syncer(syncs, synced)
	for first := range w.reqs {
		// No direct commit is applied while a group gathers: what its
		// functions read stays what they write over until the group is
		// applied, as when every write went through the writer.
		w.applyMu.Lock()
		p := &pendingGroup{batch: w.d.db.NewBatch(), reqs: []*request{first}}
		w.apply(p, first)
	gather:
		for p.batch.Len() < maxGroupBytes {
			select {
			case r, ok := <-w.reqs:
				if !ok {
					break gather
				}
				p.reqs = append(p.reqs, r)
				w.apply(p, r)
			default:
				break gather
			}
		}
		if !p.batch.Empty() {
			p.ticket, p.err = w.applyLocked(p.batch, false)
			p.applied = p.err == nil
		}
		w.applyMu.Unlock()
		syncs <- p
	}
	close(syncs)
	<-synced
}

// applyUnsynced persists the id sequence in b when it must, checks the
// disk's space and applies b to the store without a log sync, in the order
// of every other group's and direct commit's apply, and returns its ticket
// for the sync gate (gate.wait returns once a sync covers it). The sequence
// is written only when the ids handed out passed the one the log holds, and
// then as a reservation (seqReserve) of the next ids up to a multiple of
// seqBlock: a write carries no id above what was handed out when it is
// applied, so none above what the log holds once it is (the last write of
// the sequence is earlier in the log or in b, so synced with b or before).
// Before, every apply that followed a NextID wrote it: about one entry a
// hit, each a new memtable entry of the same key. direct counts b in
// directGroups.
func (w *writer) applyUnsynced(b *pebble.Batch, direct bool) (uint64, error) {
	w.applyMu.Lock()
	defer w.applyMu.Unlock()
	return w.applyLocked(b, direct)
}

// seqBlock is how many ids a write of the sequence reserves at most: a
// restart, clean or not, skips what was reserved and not handed out (at
// most seqBlock-1 ids; ids stay far below 2^53).
const seqBlock = 1024

// seqReserve is what the sequence is written as once ids up to seq are
// handed out: seq rounded up to a multiple of seqBlock.
func seqReserve(seq uint64) uint64 { return (seq + seqBlock - 1) &^ (seqBlock - 1) }

// applyLocked is applyUnsynced with applyMu held.
func (w *writer) applyLocked(b *pebble.Batch, direct bool) (uint64, error) {
	seq, written := w.d.seq.Load(), w.seqWritten.Load()
	if seq > written {
		written = seqReserve(seq)
		var v [8]byte
		binary.BigEndian.PutUint64(v[:], written)
		_ = b.Set(MetaKey("seq"), v[:], nil)
	}
	if err := w.d.space.check(len(b.Repr())); err != nil {
		// Pebble cannot survive a full disk: refuse the group before it
		// gets there.
		return 0, fmt.Errorf("commit: %w", err)
	}
	if direct {
		w.d.direct.applied.Add(1)
	}
	if err := w.d.db.Apply(b, pebble.NoSync); err != nil {
		return 0, fmt.Errorf("commit: %w", err)
	}
	t := w.gate.ticket()
	w.seqWritten.Store(written)
	w.entries.Add(uint64(b.Count()))
	w.bytes.Add(uint64(b.Len()))
	return t, nil
}

// syncer waits for each group's sync, in order, and wakes its callers.
func (w *writer) syncer(syncs <-chan *pendingGroup, synced chan<- struct{}) {
	defer close(synced)
	for p := range syncs {
		if p.applied {
			if err := w.gate.wait(p.ticket); err != nil {
				p.err = fmt.Errorf("commit: sync: %w", err)
			}
		}
		_ = p.batch.Close()
		if p.err == nil {
			w.d.exp.synced(p.exportLast, p.exports)
		} else if p.exportLast != 0 {
			w.d.exp.failed()
		}
		w.groups.Add(1)
		w.writes.Add(uint64(len(p.reqs)))
		w.sizes.observe(len(p.reqs))
		for _, r := range p.reqs {
			if r.err == nil {
				r.err = p.err
			}
			r.done <- struct{}{}
		}
	}
}

// apply joins one request's writes to the group: a prepared batch as it
// is, a function's writes (after the prepared ones, in the same batch)
// only when it succeeds. A function reads through the group, which is
// indexed from the first function on: a group of prepared writes only is
// never indexed. A panicking function fails its own request, not the
// writer.
func (w *writer) apply(p *pendingGroup, r *request) {
	own := r.prepared
	if own == nil {
		own = w.d.db.NewBatch()
	}
	r.prepared = nil
	defer own.Close()
	if r.fn != nil {
		if !p.batch.Indexed() {
			ib := w.d.db.NewIndexedBatch()
			if err := ib.Apply(p.batch, nil); err != nil {
				// Only a corrupt batch fails to apply; it cannot be one
				// the writer made.
				panic(fmt.Sprintf("store: index group: %v", err))
			}
			_ = p.batch.Close()
			p.batch = ib
		}
		err := func() (err error) {
			defer func() {
				if p := recover(); p != nil {
					err = fmt.Errorf("update: panic: %v", p)
				}
			}()
			return r.fn(&Tx{group: p.batch, own: own, req: r, exp: &w.d.exp})
		}()
		if err != nil {
			r.err = err
			r.after = r.after[:0]
			r.exports, r.exportLens = r.exports[:0], r.exportLens[:0]
			return
		}
	}
	if err := p.batch.Apply(own, nil); err != nil {
		r.err = fmt.Errorf("apply: %w", err)
		r.exports, r.exportLens = r.exports[:0], r.exportLens[:0]
		return
	}
	if len(r.exportLens) > 0 {
		w.addExports(p, r)
	}
}

func (w *writer) stop() {
	w.mu.Lock()
	if !w.closed {
		w.closed = true
		close(w.reqs)
	}
	w.mu.Unlock()
	<-w.exited
	w.gate.stop()
}

// Update runs fn in the writer and returns once its writes are synced to
// disk, together with every other write of the same group. fn must be quick
// and must not block: it runs serially with all other writes. fn's error is
// returned as is, and its writes are dropped.
func (d *DB) Update(ctx context.Context, fn func(tx *Tx) error) error {
	if d.w == nil {
		return fmt.Errorf("update: %w", ErrClosed)
	}
	r := requestPool.Get().(*request)
	r.fn, r.err = fn, nil
	return d.send(ctx, r)
}

// Prepare returns a Tx to fill outside the writer, in the caller's
// goroutine, and hand to Commit: its writes are then only applied (by
// Commit itself, or appended to a writer's group), so that what decides
// them runs in parallel on every core. Its Get reads the store as committed: a write queued or in
// flight is not seen, so the caller must hold whatever makes the keys it
// reads its own until Commit returns (the tracker locks the visitor). A
// prepared Tx must be committed or dropped with Discard.
func (d *DB) Prepare() *Tx {
	r := requestPool.Get().(*request)
	r.err = nil
	return &Tx{db: d, own: d.db.NewBatch(), req: r, exp: &d.exp}
}

// Discard drops a prepared Tx that will not be committed.
func (t *Tx) Discard() {
	if t.req == nil || t.group != nil {
		return
	}
	_ = t.own.Close()
	t.db.release(t.req)
	t.req, t.own = nil, nil
}

// Commit hands tx, from Prepare, to the writer and returns once its writes
// are synced to disk, as Update does. A tx with writes, no then and no
// export marks (a hit's, unless the event stream is on) skips the writer:
// it is applied to the store in the caller's goroutine, in order with the
// writer's groups, and the sync gate syncs it together with the other
// writes waiting with it (commitDirect). then, when not nil,
// runs in the writer (as Update's function does, its reads see the group)
// and its writes join tx's in one batch: a read-modify-write that must be
// serialised with every other write. then's error is returned as is and
// drops tx's writes with its own: the prepared writes and then's are
// durable together or not at all. tx must not be used after Commit.
func (d *DB) Commit(ctx context.Context, tx *Tx, then func(*Tx) error) error {
	if tx.req == nil || tx.group != nil {
		return fmt.Errorf("commit: %w", ErrClosed)
	}
	if d.w == nil {
		tx.Discard()
		return fmt.Errorf("commit: %w", ErrClosed)
	}
	r := tx.req
	r.prepared, r.fn = tx.own, then
	tx.req, tx.own = nil, nil
	if then == nil && len(r.exportLens) == 0 && !r.prepared.Empty() {
		return d.commitDirect(r)
	}
	return d.send(ctx, r)
}

// commitDirect commits r, prepared writes with nothing to run in the
// writer nor to export, in the caller's goroutine: its batch goes to
// pebble's commit pipeline on its own, in order with the writer's groups
// (applyMu), and the sync gate syncs it with whatever else waits, as one
// fdatasync. It saves the hand-offs to the writer and
// its syncer goroutines, and the copy into a group's batch.
func (d *DB) commitDirect(r *request) error {
	w := d.w
	w.mu.RLock()
	if w.closed {
		w.mu.RUnlock()
		d.release(r)
		return ErrClosed
	}
	b := r.prepared
	start := time.Now()
	t, err := w.applyUnsynced(b, true)
	w.applyWaits.observe(time.Since(start))
	if err == nil {
		if serr := w.gate.wait(t); serr != nil {
			err = fmt.Errorf("commit: sync: %w", serr)
		}
	}
	w.mu.RUnlock()
	w.writes.Add(1)
	if err == nil {
		for _, fn := range r.after {
			fn()
		}
	}
	d.release(r)
	return err
}

// send queues r for the writer and waits for its answer.
func (d *DB) send(ctx context.Context, r *request) error {
	d.w.mu.RLock()
	if d.w.closed {
		d.w.mu.RUnlock()
		d.release(r)
		return ErrClosed
	}
	select {
	case d.w.reqs <- r:
	case <-ctx.Done():
		d.w.mu.RUnlock()
		d.release(r)
		return ctx.Err()
	}
	d.w.mu.RUnlock()
	// Once queued the request is always answered (stop drains the queue), so
	// wait for it even if ctx ends: the caller must not see success for a
	// write that may still fail, nor reuse r too early.
	<-r.done
	err := r.err
	if err == nil {
		for _, fn := range r.after {
			fn()
		}
	}
	d.release(r)
	return err
}

// release returns a request that is answered, or was never queued, to the
// pool.
func (d *DB) release(r *request) {
	if r.prepared != nil {
		_ = r.prepared.Close()
	}
	clear(r.after)
	r.prepared, r.fn, r.err, r.after = nil, nil, nil, r.after[:0]
	r.exports, r.exportLens = r.exports[:0], r.exportLens[:0]
	requestPool.Put(r)
}

// Set durably stores one key.
func (d *DB) Set(ctx context.Context, key, value []byte) error {
	return d.Update(ctx, func(tx *Tx) error { tx.Set(key, value); return nil })
}

// Delete durably removes one key.
func (d *DB) Delete(ctx context.Context, key []byte) error {
	return d.Update(ctx, func(tx *Tx) error { tx.Delete(key); return nil })
}
