package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"appliance/internal/cputime"
)

// ExportEntry joins the generic codec tests of records_test.go.
func init() {
	codecs = append(codecs,
		codec{"export", func(b []byte) (any, error) { return DecodeExportEntry(b) }, func(r any) []byte { e := r.(ExportEntry); return e.Encode() }})
	samples["export"] = []any{ExportEntry{}, ExportEntry{Key: HitKey(1, 2, 3), At: 1700000000000},
		ExportEntry{Key: []byte(long), At: -1 << 63}, ExportEntry{Key: VisitorKey(1<<53 - 1), At: 1<<63 - 1},
		ExportEntry{Key: HitKey(1, 2, 3), At: 5, Record: []byte("hit"), Session: []byte("session")},
		ExportEntry{Key: LeadKey(1, 2), At: 5, Record: []byte("lead")}}
}

// The view decoders the exporter uses on export entries' values join them
// too: the same records from the same bytes, only not copied.
func init() {
	codecs = append(codecs,
		codec{"session view", func(b []byte) (any, error) { return DecodeSessionView(b) }, func(r any) []byte { s := r.(Session); return s.Encode() }},
		codec{"hit view", func(b []byte) (any, error) { return DecodeHitView(keySession, keyID, b) }, func(r any) []byte { h := r.(Hit); return h.Encode() }},
		codec{"event view", func(b []byte) (any, error) { return DecodeEventView(keySession, keyID, b) }, func(r any) []byte { e := r.(Event); return e.Encode() }})
	samples["session view"], samples["hit view"], samples["event view"] = samples["session"], samples["hit"], samples["event"]
}

// An entry of version 1 (key and time, before entries could carry values)
// still decodes.
func TestExportEntryVersion1(t *testing.T) {
	k := HitKey(1, 2, 3)
	v1 := append(append([]byte{1, 10}, byte(len(k))), k...) // at 5, zig-zag
	e, err := DecodeExportEntry(v1)
	if err != nil || !bytes.Equal(e.Key, k) || e.At != 5 || e.Record != nil || e.Session != nil {
		t.Fatalf("version 1 entry = %+v, %v", e, err)
	}
}

// ExportValue's values come back with the entry while the log's tail in
// memory holds it; Export's entry has none. On disk an entry has no
// values: after a reopen they come back without.
func TestExportValue(t *testing.T) {
	dir := t.TempDir()
	d := openDir(t, dir)
	d.EnableExport(ExportOptions{})
	rec, sess := []byte("hit value"), []byte("session value")
	err := d.Update(context.Background(), func(tx *Tx) error {
		tx.ExportValue(HitKey(1, 2, 3), 7, rec, sess)
		rec[0], sess[0] = 'X', 'X' // the Tx copied them
		tx.Export(LeadKey(1, 4), 8)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	_, got := exported(t, d)
	want := []ExportEntry{{Key: HitKey(1, 2, 3), At: 7, Record: []byte("hit value"), Session: []byte("session value")},
		{Key: LeadKey(1, 4), At: 8}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("entries = %v, want %v", got, want)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	d = openDir(t, dir)
	_, got = exported(t, d)
	want[0].Record, want[0].Session = nil, nil
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("after reopen: entries = %v, want %v", got, want)
	}
}

// When the exporter falls further behind than the tail holds, the oldest
// entries are read from disk (without values) and the rest from the tail
// (with them): every entry once, in seq order, however the reads are cut.
func TestExportTailBound(t *testing.T) {
	d := openTest(t)
	d.EnableExport(ExportOptions{})
	ctx := context.Background()
	value := bytes.Repeat([]byte("v"), 1000)
	const n = 2 * maxTailBytes / 1000 / 100 * 100
	for i := 0; i < n; i += 100 {
		err := d.Update(ctx, func(tx *Tx) error {
			for j := i; j < i+100; j++ {
				tx.ExportValue(HitKey(1, 2, uint64(j+1)), int64(j), value, value)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	var seqs []uint64
	fromDisk, fromTail := 0, 0
	for len(seqs) < n+1 {
		var last uint64
		err := d.ExportLog(ctx, 777, func(seq uint64, e ExportEntry) bool {
			if want := HitKey(1, 2, seq); !bytes.Equal(e.Key, want) || e.At != int64(seq-1) {
				t.Fatalf("entry %d = %x at %d", seq, e.Key, e.At)
			}
			switch {
			case e.Record == nil && e.Session == nil:
				fromDisk++
				if fromTail > 0 {
					t.Fatalf("entry %d from disk after %d from the tail", seq, fromTail)
				}
			case bytes.Equal(e.Record, value) && bytes.Equal(e.Session, value):
				fromTail++
			default:
				t.Fatalf("entry %d: values %d, %d bytes", seq, len(e.Record), len(e.Session))
			}
			seqs, last = append(seqs, seq), seq
			return true
		})
		if err != nil {
			t.Fatal(err)
		}
		if last == 0 {
			break
		}
		if err := d.ExportAck(ctx, last); err != nil {
			t.Fatal(err)
		}
	}
	if len(seqs) != n || seqs[0] != 1 || seqs[n-1] != n {
		t.Fatalf("read %d entries (%v...), want 1..%d", len(seqs), seqs[:min(len(seqs), 3)], n)
	}
	if fromDisk == 0 || fromTail == 0 || fromTail*2000 > 2*maxTailBytes {
		t.Errorf("%d entries from disk, %d from the tail: the tail is not bounded by %d bytes", fromDisk, fromTail, maxTailBytes)
	}
	if d.exp.tailBytes != 0 {
		t.Errorf("tail holds %d bytes once everything is acknowledged", d.exp.tailBytes)
	}
}

// exported reads every durable export log entry after the cursor.
func exported(t *testing.T, d *DB) (seqs []uint64, entries []ExportEntry) {
	t.Helper()
	err := d.ExportLog(context.Background(), 0, func(seq uint64, e ExportEntry) bool {
		seqs = append(seqs, seq)
		entries = append(entries, ExportEntry{Key: bytes.Clone(e.Key), At: e.At, Record: bytes.Clone(e.Record),
			Session: bytes.Clone(e.Session)})
		return true
	})
	if err != nil {
		t.Fatal(err)
	}
	return seqs, entries
}

// Before EnableExport a mark costs nothing and leaves nothing behind.
func TestExportOffWritesNothing(t *testing.T) {
	d := openTest(t)
	err := d.Update(context.Background(), func(tx *Tx) error {
		tx.Set(LeadKey(1, 1), []byte("lead"))
		tx.Export(LeadKey(1, 1), 5)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if s := d.ExportStats(); s.On || s.Durable != 0 || s.Backlog != 0 {
		t.Errorf("stats = %+v, want nothing", s)
	}
	n := 0
	if err := d.ScanPrefix(context.Background(), []byte{prefixExport}, false, 0, func(k, v []byte) bool { n++; return true }); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Errorf("%d export log keys written while export is off", n)
	}
}

// Marks of concurrent writers are numbered in the order their writes
// committed, each record's mark beside it; a failed update's marks are
// gone with its writes.
func TestExportLogCommitOrder(t *testing.T) {
	d := openTest(t)
	d.EnableExport(ExportOptions{})
	ctx := context.Background()
	const writers, each = 8, 50
	var wg sync.WaitGroup
	var mu sync.Mutex
	var order [][]byte // keys in the order their Update returned, per writer
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				key := LeadKey(uint32(w+1), uint64(i+1))
				err := d.Update(ctx, func(tx *Tx) error {
					tx.Set(key, []byte("x"))
					tx.Export(key, int64(i))
					tx.Export(VisitorKey(uint64(w+1)), int64(i))
					return nil
				})
				if err != nil {
					t.Error(err)
				}
				mu.Lock()
				order = append(order, key)
				mu.Unlock()
			}
		}()
	}
	failed := errors.New("no")
	if err := d.Update(ctx, func(tx *Tx) error { tx.Export(LeadKey(99, 1), 1); return failed }); err != failed {
		t.Fatalf("err = %v", err)
	}
	wg.Wait()
	seqs, entries := exported(t, d)
	if got, want := len(entries), 2*writers*each; got != want {
		t.Fatalf("%d entries, want %d", got, want)
	}
	next := map[uint32]uint64{} // per writer (site), the next lead id expected
	for i, e := range entries {
		if i > 0 && seqs[i] <= seqs[i-1] {
			t.Fatalf("seq %d after %d", seqs[i], seqs[i-1])
		}
		if e.Key[0] == prefixVisitor {
			continue
		}
		site, id := uint32(e.Key[4])|uint32(e.Key[3])<<8, uint64(e.Key[12])|uint64(e.Key[11])<<8
		if e.Key[0] != prefixLead || site == 99 {
			t.Fatalf("entry %d: %x", i, e.Key)
		}
		if id != next[site]+1 || e.At != int64(id-1) {
			t.Fatalf("site %d: lead %d (at %d) after %d", site, id, e.At, next[site])
		}
		next[site] = id
		if !bytes.Equal(entries[i+1].Key, VisitorKey(uint64(site))) {
			t.Fatalf("entry %d: lead's visitor mark is %x", i+1, entries[i+1].Key)
		}
	}
	if s := d.ExportStats(); s.Backlog != uint64(len(entries)) || s.Cursor != 0 {
		t.Errorf("stats = %+v", s)
	}
}

// The cursor survives a reopen, the acknowledged entries are gone, and
// numbering goes on after the last entry, acknowledged or not.
func TestExportAckAndReopen(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	d := openDir(t, dir)
	d.EnableExport(ExportOptions{})
	mark := func(d *DB, n int) {
		for i := range n {
			if err := d.Update(ctx, func(tx *Tx) error { tx.Export(CallKey(1, uint64(i+1)), 0); return nil }); err != nil {
				t.Fatal(err)
			}
		}
	}
	mark(d, 10)
	seqs, _ := exported(t, d)
	if err := d.ExportAck(ctx, seqs[3]); err != nil {
		t.Fatal(err)
	}
	if after, _ := exported(t, d); len(after) != 6 || after[0] != seqs[4] {
		t.Fatalf("after ack: %v, want %v", after, seqs[4:])
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	d = openDir(t, dir)
	d.EnableExport(ExportOptions{})
	if s := d.ExportStats(); s.Cursor != seqs[3] || s.Backlog != 6 {
		t.Fatalf("reopened: %+v", s)
	}
	n := 0
	if err := d.ScanPrefix(ctx, []byte{prefixExport}, false, 0, func(k, v []byte) bool { n++; return true }); err != nil {
		t.Fatal(err)
	}
	if n != 6 {
		t.Errorf("%d entries on disk, want the 6 not acknowledged", n)
	}
	mark(d, 1)
	if after, _ := exported(t, d); len(after) != 7 || after[6] != seqs[9]+1 {
		t.Fatalf("after reopen: %v", after)
	}
	// All acknowledged, then reopened: the numbering still goes on.
	if err := d.ExportAck(ctx, seqs[9]+1); err != nil {
		t.Fatal(err)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	d = openDir(t, dir)
	d.EnableExport(ExportOptions{})
	mark(d, 1)
	if after, _ := exported(t, d); len(after) != 1 || after[0] != seqs[9]+2 {
		t.Fatalf("after full ack and reopen: %v", after)
	}
}

// Past the bound, marks are dropped and counted; the writes that made
// them succeed. Acknowledging makes room again.
func TestExportBacklogBound(t *testing.T) {
	d := openTest(t)
	d.EnableExport(ExportOptions{Max: 5})
	ctx := context.Background()
	for i := range 8 {
		key := LeadKey(1, uint64(i+1))
		err := d.Update(ctx, func(tx *Tx) error { tx.Set(key, []byte("x")); tx.Export(key, 0); return nil })
		if err != nil {
			t.Fatalf("write %d: %v", i, err)
		}
		if _, err := d.Get(key); err != nil {
			t.Fatalf("lead %d not stored: %v", i, err)
		}
	}
	s := d.ExportStats()
	if s.Backlog != 5 || s.Dropped != 3 || s.Max != 5 {
		t.Fatalf("stats = %+v, want backlog 5, dropped 3", s)
	}
	if err := d.ExportAck(ctx, s.Durable); err != nil {
		t.Fatal(err)
	}
	if err := d.Update(ctx, func(tx *Tx) error { tx.Export(LeadKey(1, 9), 0); return nil }); err != nil {
		t.Fatal(err)
	}
	if s := d.ExportStats(); s.Backlog != 1 || s.Dropped != 3 {
		t.Fatalf("after ack: %+v", s)
	}
}

// BenchmarkExportMark is what the export log adds to a hit-sized durable
// write (a hit, its session, a visitor and a roll-up merge, as the hit path
// writes them) from 64 concurrent writers: "off" without marks, "on" with
// the hit's mark, alternated in rounds so that machine noise hits both.
// The exporter does not run: this is the write path's share alone.
//
//	go test -run '^$' -bench BenchmarkExportMark -benchtime 20000x ./store/
func BenchmarkExportMark(b *testing.B) {
	ctx := context.Background()
	value := bytes.Repeat([]byte("v"), 90)
	session := bytes.Repeat([]byte("s"), 180)
	offOnRounds(b, func(b *testing.B, d *DB, _ bool) {
		b.ResetTimer()
		writeAll(b, 64, func(n uint64) error {
			return d.Update(ctx, func(tx *Tx) error {
				hk := HitKey(1, n%512, n)
				tx.Set(hk, value)
				tx.Export(hk, int64(n))
				tx.Set(SessionKey(1, n%512), session)
				tx.Add(RollupKey(1, 20000, "t"), 0, 1)
				return nil
			})
		})
	})
}

// offOnRounds runs bench in three rounds of "off" and "on", alternated so
// that machine noise hits both, each on a fresh store, with export
// enabled for the "on" runs.
func offOnRounds(b *testing.B, bench func(b *testing.B, d *DB, on bool)) {
	for round := range 3 {
		for _, on := range []bool{false, true} {
			name := "off"
			if on {
				name = "on"
			}
			b.Run(fmt.Sprintf("%s/round=%d", name, round), func(b *testing.B) {
				d := openTest(b)
				if on {
					d.EnableExport(ExportOptions{Max: uint64(b.N) + 1})
				}
				b.ReportAllocs()
				bench(b, d, on)
			})
		}
	}
}

// writeAll calls write with 1..b.N from writers goroutines, and returns
// when every call has returned; a failed write ends its goroutine.
func writeAll(b *testing.B, writers int, write func(n uint64) error) {
	var next atomic.Uint64
	var wg sync.WaitGroup
	for range writers {
		wg.Go(func() {
			for {
				n := next.Add(1)
				if n > uint64(b.N) {
					return
				}
				if err := write(n); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
}

// BenchmarkExportLog is the store's whole share of the export log beside
// the hit path, without NATS: hit-sized durable writes (a hit, its
// session, a roll-up merge) from 16 writers, "on" marking each hit as the
// tracker does (the hit and its session in the entry) while a reader
// takes the durable entries every 10 ms and acknowledges them as the
// exporter does; "off" the same writes unmarked. Rounds alternate so that
// machine noise hits both. cpu-µs/op is the process's CPU per write,
// flushes and compactions included; the store is fresh each round.
//
//	go test -run '^$' -bench BenchmarkExportLog -benchtime 50000x ./store/
func BenchmarkExportLog(b *testing.B) {
	ctx := context.Background()
	hit := bytes.Repeat([]byte("h"), 160)
	session := bytes.Repeat([]byte("s"), 240)
	offOnRounds(b, func(b *testing.B, d *DB, on bool) {
		stop := make(chan struct{})
		var readerDone sync.WaitGroup
		if on {
			readerDone.Go(func() {
				t := time.NewTicker(10 * time.Millisecond)
				defer t.Stop()
				for {
					var last uint64
					for {
						n := 0
						err := d.ExportLog(ctx, 1024, func(seq uint64, e ExportEntry) bool { last, n = seq, n+1; return true })
						if err != nil {
							b.Error(err)
							return
						}
						if n == 0 {
							break
						}
						if err := d.ExportAck(ctx, last); err != nil {
							b.Error(err)
							return
						}
					}
					select {
					case <-stop:
						if d.ExportStats().Backlog == 0 {
							return
						}
					case <-t.C:
					}
				}
			})
		}
		b.ResetTimer()
		cpu := cputime.Process()
		writeAll(b, 16, func(n uint64) error {
			return d.Update(ctx, func(tx *Tx) error {
				hk := HitKey(1, n%4096, n)
				tx.Set(hk, hit)
				tx.Set(SessionKey(1, n%4096), session)
				tx.ExportValue(hk, int64(n), hit, session)
				tx.Add(RollupKey(1, 20000, "t"), 0, 1)
				return nil
			})
		})
		close(stop)
		readerDone.Wait()
		b.StopTimer()
		b.ReportMetric(float64(cputime.Process()-cpu)/float64(b.N)/1000, "cpu-µs/op")
		m := d.db.Metrics()
		b.ReportMetric(float64(m.Compact.Count), "compactions")
		b.ReportMetric(float64(m.Flush.Count), "flushes")
		var compacted uint64
		for _, l := range m.Levels {
			compacted += l.TableBytesCompacted + l.TableBytesFlushed
		}
		b.ReportMetric(float64(compacted)/float64(b.N), "written-B/op")
	})
}
