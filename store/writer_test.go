package store

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// scale returns n, or small under -short.
func scale(n, small int) int {
	if testing.Short() {
		return small
	}
	return n
}

// Every write that returned nil survives Close and reopen; ids are unique
// and the sequence resumes above every id handed out before a commit.
func TestConcurrentWritesDurable(t *testing.T) {
	d := openTest(t)
	ctx := context.Background()
	workers, per := scale(64, 8), scale(200, 50)
	acked := make([][]uint64, workers)
	var wg sync.WaitGroup
	for g := range workers {
		wg.Go(func() {
			for i := range per {
				id := d.NextID()
				v := fmt.Appendf(nil, "worker %d write %d id %d", g, i, id)
				if err := d.Set(ctx, SessionKey(uint32(g), id), v); err != nil {
					t.Errorf("Set: %v", err)
					return
				}
				acked[g] = append(acked[g], id)
			}
		})
	}
	wg.Wait()
	st := d.Stats()
	t.Logf("%d writes in %d synced groups", st.Writes, st.Commits)
	if st.Writes != uint64(workers*per) {
		t.Errorf("Stats.Writes = %d, want %d", st.Writes, workers*per)
	}

	d = reopen(t, d)
	seen := map[uint64]bool{}
	maxID := uint64(0)
	for g, ids := range acked {
		if len(ids) != per {
			t.Fatalf("worker %d: %d of %d writes acknowledged", g, len(ids), per)
		}
		for i, id := range ids {
			if seen[id] {
				t.Fatalf("id %d handed out twice", id)
			}
			seen[id] = true
			maxID = max(maxID, id)
			v, err := d.Get(SessionKey(uint32(g), id))
			if err != nil {
				t.Fatalf("acknowledged write %d of worker %d lost after reopen: %v", i, g, err)
			}
			if want := fmt.Sprintf("worker %d write %d id %d", g, i, id); string(v) != want {
				t.Fatalf("reopened value %q, want %q", v, want)
			}
		}
	}
	if got := len(scanAll(t, d)); got != workers*per+2 { // +2: the sequence and the data version
		t.Errorf("store holds %d keys, want %d", got, workers*per+2)
	}
	if id := d.NextID(); id <= maxID {
		t.Fatalf("NextID after reopen = %d, not above %d handed out before", id, maxID)
	}
}

// Ids taken before a committed write (by any caller) stay taken after a
// reopen even when their own records were never written.
func TestNextIDSurvivesReopen(t *testing.T) {
	d := openTest(t)
	var last uint64
	for range 100 {
		last = d.NextID()
	}
	if err := d.Set(context.Background(), MetaKey("x"), nil); err != nil {
		t.Fatal(err)
	}
	d = reopen(t, d)
	if id := d.NextID(); id <= last {
		t.Fatalf("NextID after reopen = %d, want above %d", id, last)
	}
}

// The sequence is written as a reservation of the ids up to a multiple of
// seqBlock, once a block rather than on every commit that follows a
// NextID; a store an older version wrote (the last id handed out itself)
// goes on from it; LastID is what OpenedID reads back after a clean stop.
func TestSequenceReserved(t *testing.T) {
	ctx := context.Background()
	d := openTest(t)
	// As an older version left it: the last id handed out, 777.
	if err := d.Set(ctx, MetaKey("seq"), binary.BigEndian.AppendUint64(nil, 777)); err != nil {
		t.Fatal(err)
	}
	d = reopen(t, d)
	if got := d.OpenedID(); got != 777 {
		t.Fatalf("OpenedID = %d, want 777", got)
	}
	if got := d.LastID(); got != 777 {
		t.Fatalf("LastID before any NextID = %d, want 777", got)
	}
	before := d.Stats().Entries
	n := 3 * seqBlock
	var last uint64
	for i := range n {
		last = d.NextID()
		if err := d.Set(ctx, MetaKey(fmt.Sprint("k", i)), nil); err != nil {
			t.Fatal(err)
		}
	}
	// 778..3849 crosses the blocks ending at 1024, 2048, 3072 and 4096.
	if got, want := d.Stats().Entries-before, uint64(n+4); got != want {
		t.Errorf("%d commits of one id each wrote %d entries, want %d (4 of the sequence)", n, got, want)
	}
	if got := d.LastID(); got != seqReserve(last) || got%seqBlock != 0 || got < last {
		t.Errorf("LastID = %d after id %d, want %d", got, last, seqReserve(last))
	}
	sealed := d.LastID()
	d = reopen(t, d)
	if got := d.OpenedID(); got != sealed {
		t.Errorf("OpenedID = %d, want LastID before the stop, %d", got, sealed)
	}
	if id := d.NextID(); id <= last || id != sealed+1 {
		t.Errorf("NextID after reopen = %d, want %d", id, sealed+1)
	}
}

// Direct commits apply side by side: the reservations their applies
// write land in the log in the order they were made, so the sequence the
// log holds last (what a restart after a crash reads back) covers every
// id a write carries, and each block is reserved once.
func TestSequenceReservedConcurrently(t *testing.T) {
	ctx := context.Background()
	d := openTest(t)
	const writers = 32
	n := scale(8*seqBlock, 2*seqBlock)
	var next atomic.Int64
	var wg sync.WaitGroup
	before := d.Stats().Entries
	for range writers {
		wg.Go(func() {
			for next.Add(1) <= int64(n) {
				id := d.NextID()
				tx := d.Prepare()
				tx.Set(HitKey(1, 1, id), []byte("v"))
				if err := d.Commit(ctx, tx, nil); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	v, err := d.Get(MetaKey("seq"))
	if err != nil {
		t.Fatal(err)
	}
	last := d.LastID()
	if got := binary.BigEndian.Uint64(v); got < last || got != seqReserve(last) {
		t.Errorf("the log's sequence %d after ids up to %d, want %d", got, last, seqReserve(last))
	}
	if got, blocks := d.Stats().Entries-before, uint64(seqReserve(last)/seqBlock); got > uint64(n)+blocks {
		t.Errorf("%d commits of one id each wrote %d entries, want at most %d (%d of the sequence)", n, got, uint64(n)+blocks, blocks)
	}
}

func TestUpdateErrorLeavesNoWrites(t *testing.T) {
	d := openTest(t)
	ctx := context.Background()
	errBoom := errors.New("boom")
	n := scale(400, 100)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			fail := i%2 == 1
			err := d.Update(ctx, func(tx *Tx) error {
				tx.Set(SessionKey(1, uint64(i)), []byte("a"))
				tx.Add(RollupKey(1, 1, "hits"), 0, 1)
				tx.Set(SessionKey(1, uint64(i)+1<<32), []byte("b"))
				if fail {
					return fmt.Errorf("update %d: %w", i, errBoom)
				}
				tx.DeleteRange(SessionKey(1, uint64(i)+1<<32), SessionKey(1, uint64(i)+1<<32+1))
				tx.Delete(SessionKey(1, uint64(i)+1<<32))
				return nil
			})
			if fail != errors.Is(err, errBoom) || (!fail && err != nil) {
				t.Errorf("update %d (fail %v): err = %v", i, fail, err)
			}
		})
	}
	wg.Wait()
	d = reopen(t, d)
	for i := range n {
		_, err := d.Get(SessionKey(1, uint64(i)))
		if i%2 == 1 && !errors.Is(err, ErrNotFound) {
			t.Fatalf("failed update %d left its write (err %v)", i, err)
		}
		if i%2 == 0 && err != nil {
			t.Fatalf("successful update %d lost its write: %v", i, err)
		}
		if _, err := d.Get(SessionKey(1, uint64(i)+1<<32)); !errors.Is(err, ErrNotFound) {
			t.Fatalf("update %d: key set then deleted is present (err %v)", i, err)
		}
	}
	v, err := d.Get(RollupKey(1, 1, "hits"))
	if err != nil {
		t.Fatal(err)
	}
	if lanes, err := DecodeCounters(v); err != nil || lanes[0] != int64((n+1)/2) {
		t.Fatalf("counter = %v, %v; want %d (successful updates only)", lanes, err, (n+1)/2)
	}
}

// A failed update among successful ones in the same group: only its own
// writes are dropped, and nothing it deleted is gone.
func TestUpdateErrorKeepsOthers(t *testing.T) {
	d := openTest(t)
	ctx := context.Background()
	if err := d.Set(ctx, MetaKey("keep"), []byte("k")); err != nil {
		t.Fatal(err)
	}
	errBoom := errors.New("boom")
	err := d.Update(ctx, func(tx *Tx) error {
		tx.Delete(MetaKey("keep"))
		tx.DeleteRange([]byte{0}, []byte{0xff})
		tx.Set(MetaKey("new"), []byte("n"))
		return errBoom
	})
	if err != errBoom {
		t.Fatalf("Update returned %v, want fn's error as is", err)
	}
	d = reopen(t, d)
	if v, err := d.Get(MetaKey("keep")); err != nil || string(v) != "k" {
		t.Fatalf("key deleted by a failed update: %q, %v", v, err)
	}
	if _, err := d.Get(MetaKey("new")); !errors.Is(err, ErrNotFound) {
		t.Fatalf("key set by a failed update: err = %v", err)
	}
}

// A read-modify-write in Update sees every earlier write, including those
// of its own group: 1000 concurrent increments end at 1000.
func TestUpdateReadModifyWrite(t *testing.T) {
	d := openTest(t)
	ctx := context.Background()
	key := MetaKey("counter")
	n := scale(1000, 200)
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			err := d.Update(ctx, func(tx *Tx) error {
				var c uint64
				v, err := tx.Get(key)
				switch {
				case errors.Is(err, ErrNotFound):
				case err != nil:
					return err
				default:
					c = binary.BigEndian.Uint64(v)
				}
				tx.Set(key, binary.BigEndian.AppendUint64(nil, c+1))
				return nil
			})
			if err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	st := d.Stats()
	t.Logf("%d updates in %d synced groups", st.Writes, st.Commits)
	d = reopen(t, d)
	v, err := d.Get(key)
	if err != nil {
		t.Fatal(err)
	}
	if got := binary.BigEndian.Uint64(v); got != uint64(n) {
		t.Fatalf("counter = %d after %d increments", got, n)
	}
}

func TestUpdateAfterClose(t *testing.T) {
	d := openTest(t)
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := d.Set(ctx, MetaKey("x"), nil); !errors.Is(err, ErrClosed) {
		t.Errorf("Set after Close: err = %v, want ErrClosed", err)
	}
	called := false
	err := d.Update(ctx, func(*Tx) error { called = true; return nil })
	if !errors.Is(err, ErrClosed) || called {
		t.Errorf("Update after Close: err = %v, fn called %v; want ErrClosed, not called", err, called)
	}
}

// Close while writers are busy: every write either returns nil and
// survives, or returns ErrClosed.
func TestCloseWhileWriting(t *testing.T) {
	d := openTest(t)
	ctx := context.Background()
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		acked [][]byte
	)
	start := make(chan struct{})
	for g := range 16 {
		wg.Go(func() {
			<-start
			for i := 0; ; i++ {
				k := SessionKey(uint32(g), uint64(i))
				err := d.Set(ctx, k, k)
				if errors.Is(err, ErrClosed) {
					return
				}
				if err != nil {
					t.Errorf("Set: %v", err)
					return
				}
				mu.Lock()
				acked = append(acked, k)
				mu.Unlock()
			}
		})
	}
	close(start)
	for {
		mu.Lock()
		n := len(acked)
		mu.Unlock()
		if n >= 200 {
			break
		}
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	d = openDir(t, d.Dir())
	for _, k := range acked {
		if _, err := d.Get(k); err != nil {
			t.Fatalf("acknowledged write %x lost: %v", k, err)
		}
	}
}

func TestUpdateCancelledBeforeQueue(t *testing.T) {
	d := openTest(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	// A cancelled ctx may still get the write queued (the queue has room),
	// but then it is committed: the result must match the store.
	err := d.Set(ctx, MetaKey("x"), []byte("1"))
	_, gerr := d.Get(MetaKey("x"))
	switch {
	case err == nil && gerr != nil:
		t.Fatalf("Set returned nil, Get: %v", gerr)
	case err != nil && !errors.Is(err, context.Canceled):
		t.Fatalf("Set with cancelled ctx: %v", err)
	case err != nil && gerr == nil:
		t.Fatalf("Set returned %v yet wrote", err)
	}
}

// Roll-up counters add up across concurrent writes, a reopen and a
// compaction, and Tx.Get sees the merged value.
func TestRollupCounters(t *testing.T) {
	d := openTest(t)
	ctx := context.Background()
	workers, per := scale(32, 8), scale(100, 25)
	const lanes = 5
	keys := [][]byte{RollupKey(1, 20000, "hits"), RollupKey(1, 20001, "hits"), RollupKey(2, 20000, "visitors")}
	want := make([][lanes]int64, len(keys))
	var mu sync.Mutex
	var wg sync.WaitGroup
	for g := range workers {
		wg.Go(func() {
			for i := range per {
				k := (g + i) % len(keys)
				lane := i % lanes
				delta := int64(g*1000 + i)
				if i%7 == 0 {
					delta = -delta
				}
				err := d.Update(ctx, func(tx *Tx) error {
					tx.Add(keys[k], lane, delta)
					tx.Add(keys[k], lanes-1, 1) // count of writes in the last lane
					return nil
				})
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				want[k][lane] += delta
				want[k][lanes-1]++
				mu.Unlock()
			}
		})
	}
	wg.Wait()

	check := func(when string) {
		t.Helper()
		for i, k := range keys {
			v, err := d.Get(k)
			if err != nil {
				t.Fatalf("%s: %v", when, err)
			}
			got, err := DecodeCounters(v)
			if err != nil {
				t.Fatalf("%s: %v", when, err)
			}
			if len(got) != lanes {
				t.Fatalf("%s: key %d has %d lanes, want %d", when, i, len(got), lanes)
			}
			for l := range lanes {
				if got[l] != want[i][l] {
					t.Errorf("%s: key %d lane %d = %d, want %d", when, i, l, got[l], want[i][l])
				}
			}
		}
	}
	check("live")
	var viaTx []byte
	if err := d.Update(ctx, func(tx *Tx) error {
		var err error
		viaTx, err = tx.Get(keys[0])
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if got, _ := DecodeCounters(viaTx); len(got) != lanes || got[lanes-1] != want[0][lanes-1] {
		t.Errorf("Tx.Get of a counter = %v, want %v", got, want[0])
	}
	d = reopen(t, d)
	check("reopened")
	if err := d.Compact(ctx); err != nil {
		t.Fatal(err)
	}
	check("compacted")
	// More adds on top of a compacted base.
	if err := d.Update(ctx, func(tx *Tx) error { tx.Add(keys[0], 0, 10); return nil }); err != nil {
		t.Fatal(err)
	}
	want[0][0] += 10
	check("added after compaction")
	d = reopen(t, d)
	check("reopened after compaction")
}

// Prepared writes mixed with Update's read-modify-writes in the same
// groups: a prepared Tx and its then are durable together or not at all,
// then's reads see the group (the counter ends exact), and a prepared
// Tx's Get sees what is committed.
func TestCommitPrepared(t *testing.T) {
	d := openTest(t)
	ctx := context.Background()
	if err := d.Set(ctx, MetaKey("seen"), []byte("s")); err != nil {
		t.Fatal(err)
	}
	errBoom := errors.New("boom")
	counter := MetaKey("counter")
	incr := func(tx *Tx) error {
		var c uint64
		v, err := tx.Get(counter)
		switch {
		case errors.Is(err, ErrNotFound):
		case err != nil:
			return err
		default:
			c = binary.BigEndian.Uint64(v)
		}
		tx.Set(counter, binary.BigEndian.AppendUint64(nil, c+1))
		return nil
	}
	n := scale(600, 150)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			switch i % 3 {
			case 0: // prepared only
				tx := d.Prepare()
				if v, err := tx.Get(MetaKey("seen")); err != nil || string(v) != "s" {
					t.Errorf("prepared Get = %q, %v; want the committed value", v, err)
				}
				tx.Set(SessionKey(1, uint64(i)), []byte("p"))
				tx.Add(RollupKey(1, 1, "hits"), 0, 1)
				if err := d.Commit(ctx, tx, nil); err != nil {
					t.Errorf("commit %d: %v", i, err)
				}
			case 1: // prepared, then a read-modify-write in the writer
				tx := d.Prepare()
				tx.Set(SessionKey(1, uint64(i)), []byte("p"))
				tx.Add(RollupKey(1, 1, "hits"), 0, 1)
				if err := d.Commit(ctx, tx, incr); err != nil {
					t.Errorf("commit %d: %v", i, err)
				}
			case 2: // then fails: nothing of it is written
				tx := d.Prepare()
				tx.Set(SessionKey(1, uint64(i)), []byte("p"))
				tx.Add(RollupKey(1, 1, "hits"), 0, 1)
				err := d.Commit(ctx, tx, func(tx *Tx) error {
					tx.Set(SessionKey(2, uint64(i)), []byte("t"))
					return errBoom
				})
				if err != errBoom {
					t.Errorf("commit %d: err = %v, want then's error as is", i, err)
				}
			}
		})
	}
	wg.Wait()
	d = reopen(t, d)
	for i := range n {
		_, err := d.Get(SessionKey(1, uint64(i)))
		if i%3 == 2 && !errors.Is(err, ErrNotFound) {
			t.Fatalf("commit %d whose then failed left its prepared write (err %v)", i, err)
		}
		if i%3 != 2 && err != nil {
			t.Fatalf("commit %d lost its write: %v", i, err)
		}
		if _, err := d.Get(SessionKey(2, uint64(i))); !errors.Is(err, ErrNotFound) {
			t.Fatalf("failed then %d left its write (err %v)", i, err)
		}
	}
	v, err := d.Get(RollupKey(1, 1, "hits"))
	if err != nil {
		t.Fatal(err)
	}
	if lanes, err := DecodeCounters(v); err != nil || lanes[0] != int64((n+2)/3+(n+1)/3) {
		t.Fatalf("counter = %v, %v; want %d (successful commits only)", lanes, err, (n+2)/3+(n+1)/3)
	}
	v, err = d.Get(counter)
	if err != nil {
		t.Fatal(err)
	}
	if got := binary.BigEndian.Uint64(v); got != uint64((n+1)/3) {
		t.Fatalf("read-modify-write counter = %d, want %d", got, (n+1)/3)
	}
	tx := d.Prepare()
	tx.Set(MetaKey("dropped"), []byte("d"))
	tx.Discard()
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	tx = d.Prepare()
	tx.Set(MetaKey("late"), []byte("l"))
	if err := d.Commit(ctx, tx, nil); !errors.Is(err, ErrClosed) {
		t.Errorf("Commit after Close: err = %v, want ErrClosed", err)
	}
}

// TestTxScanPrefixSeesTheGroup: a Tx's ScanPrefix in Update's function
// reads what the store has and what earlier writes of the group wrote, in
// order or reverse and up to a limit, so that a read-modify-write over a
// range (one lead per repeat) is serialised with every other write: of
// many functions that each write a key only if the range holds none, one
// does. A prepared Tx's reads what is committed.
func TestTxScanPrefixSeesTheGroup(t *testing.T) {
	d := openTest(t)
	ctx := context.Background()
	prefix := []byte("m\x00scan/")
	var wg sync.WaitGroup
	var wrote atomic.Int32
	for i := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := d.Update(ctx, func(tx *Tx) error {
				empty := true
				if err := tx.ScanPrefix(prefix, false, 0, func(k, v []byte) bool { empty = false; return false }); err != nil {
					return err
				}
				if empty {
					wrote.Add(1)
					tx.Set(append(append([]byte{}, prefix...), byte('a'+i)), nil)
				}
				return nil
			})
			if err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if n := wrote.Load(); n != 1 {
		t.Fatalf("%d writers found the range empty, want 1", n)
	}
	for _, k := range []string{"x", "y", "z"} {
		if err := d.Set(ctx, append(append([]byte{}, prefix...), "z"+k...), nil); err != nil {
			t.Fatal(err)
		}
	}
	var got []string
	err := d.Update(ctx, func(tx *Tx) error {
		return tx.ScanPrefix(prefix, true, 2, func(k, _ []byte) bool { got = append(got, string(k[len(prefix):])); return true })
	})
	if err != nil || strings.Join(got, ",") != "zz,zy" {
		t.Errorf("reverse, limit 2: %q %v, want zz,zy", got, err)
	}
	tx := d.Prepare()
	defer tx.Discard()
	got = got[:0]
	if err := tx.ScanPrefix(prefix, false, 0, func(k, _ []byte) bool { got = append(got, string(k[len(prefix):])); return true }); err != nil || len(got) != 4 {
		t.Errorf("a prepared Tx read %q %v, want 4 keys", got, err)
	}
}
