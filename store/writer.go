package store

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/cockroachdb/pebble/v2"
)

// maxGroupBytes caps one group's batch; the rest waits for the next sync.
const maxGroupBytes = 8 << 20

// Tx is one caller's part of a group commit. Reads see the store plus every
// write of the group so far (earlier callers included), so a
// read-modify-write in Update is serialised with all other writes. Writes go
// to the caller's own batch, which joins the group only if Update's function
// returns nil: a failed update changes nothing.
type Tx struct {
	group *pebble.Batch // indexed: reads through it see the group's writes
	own   *pebble.Batch
}

// Get returns a copy of the value under key as the group sees it, or
// ErrNotFound. It does not see this Tx's own writes.
func (t *Tx) Get(key []byte) ([]byte, error) {
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

// Set stores value under key. The slices may be reused after Set returns.
func (t *Tx) Set(key, value []byte) { _ = t.own.Set(key, value, nil) }

// Delete removes key.
func (t *Tx) Delete(key []byte) { _ = t.own.Delete(key, nil) }

// DeleteRange removes every key in [start, end).
func (t *Tx) DeleteRange(start, end []byte) { _ = t.own.DeleteRange(start, end, nil) }

// Add adds delta to the counter lane of a roll-up key (see merge.go).
func (t *Tx) Add(key []byte, lane int, delta int64) {
	_ = t.own.Merge(key, counterOperand(lane, delta), nil)
}

type request struct {
	fn   func(*Tx) error
	err  error
	done chan struct{}
}

var requestPool = sync.Pool{New: func() any { return &request{done: make(chan struct{}, 1)} }}

// writer owns the group commit loop: it takes the first waiting request,
// then every request that queued up behind it (no timer: while one group
// syncs, the next one gathers), commits them as one synced batch and wakes
// every caller.
type writer struct {
	d      *DB
	reqs   chan *request
	mu     sync.RWMutex // held for reading while sending; stop takes it to close reqs
	closed bool
	exited chan struct{}
	groups atomic.Uint64
	writes atomic.Uint64
}

func startWriter(d *DB) *writer {
	w := &writer{d: d, reqs: make(chan *request, 4096), exited: make(chan struct{})}
	go w.loop()
	return w
}

func (w *writer) loop() {
	defer close(w.exited)
	var group []*request
	for first := range w.reqs {
		batch := w.d.db.NewIndexedBatch()
		group = append(group[:0], first)
		w.apply(batch, first)
	gather:
		for batch.Len() < maxGroupBytes {
			select {
			case r, ok := <-w.reqs:
				if !ok {
					break gather
				}
				group = append(group, r)
				w.apply(batch, r)
			default:
				break gather
			}
		}
		var err error
		if !batch.Empty() {
			var seq [8]byte
			putBEUint64(seq[:], w.d.seq.Load())
			_ = batch.Set(MetaKey("seq"), seq[:], nil)
			err = batch.Commit(pebble.Sync)
			if err != nil {
				err = fmt.Errorf("commit: %w", err)
			}
		}
		_ = batch.Close()
		w.groups.Add(1)
		w.writes.Add(uint64(len(group)))
		for _, r := range group {
			if r.err == nil {
				r.err = err
			}
			r.done <- struct{}{}
		}
		clear(group)
	}
}

func (w *writer) apply(group *pebble.Batch, r *request) {
	own := w.d.db.NewBatch()
	defer own.Close()
	if err := r.fn(&Tx{group: group, own: own}); err != nil {
		r.err = err
		return
	}
	if err := group.Apply(own, nil); err != nil {
		r.err = fmt.Errorf("apply: %w", err)
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
	d.w.mu.RLock()
	if d.w.closed {
		d.w.mu.RUnlock()
		requestPool.Put(r)
		return ErrClosed
	}
	select {
	case d.w.reqs <- r:
	case <-ctx.Done():
		d.w.mu.RUnlock()
		requestPool.Put(r)
		return ctx.Err()
	}
	d.w.mu.RUnlock()
	// Once queued the request is always answered (stop drains the queue), so
	// wait for it even if ctx ends: the caller must not see success for a
	// write that may still fail, nor reuse r too early.
	<-r.done
	err := r.err
	r.fn, r.err = nil, nil
	requestPool.Put(r)
	return err
}

// Set durably stores one key.
func (d *DB) Set(ctx context.Context, key, value []byte) error {
	return d.Update(ctx, func(tx *Tx) error { tx.Set(key, value); return nil })
}

// Delete durably removes one key.
func (d *DB) Delete(ctx context.Context, key []byte) error {
	return d.Update(ctx, func(tx *Tx) error { tx.Delete(key); return nil })
}

func putBEUint64(b []byte, v uint64) {
	for i := 7; i >= 0; i-- {
		b[i] = byte(v)
		v >>= 8
	}
}
