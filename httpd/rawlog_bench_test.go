//go:build linux

package httpd_test

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"net"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
	"golang.org/x/sys/unix"
)

// rawRecord is the size of a rawLog record: run (8 bytes), sequence
// number (8), time (8), the request body's first 102 bytes (zero-padded)
// and a CRC-32 of all that (4), about what a hit's row in an
// append-only analytics log takes.
const rawRecord = 130

var errRawLogFull = errors.New("rawlog: file full")

// rawLog is an append-only log of fixed-size records in one preallocated
// file (written in full and synced first, as BenchmarkLogSync prepares
// its file and pebble recycles its logs, so that a sync flushes data and
// not the file's size), with a group commit of its own: appenders put
// their record in the pending group and wait for it; one goroutine
// writes a group and fdatasyncs it, and the records that arrive while a
// sync is in flight make the next group, taken as soon as it is done (no
// timer). It is the floor of a design that logs each hit durably outside
// pebble (BenchmarkHitEndpoint's rawlog-hello).
type rawLog struct {
	f      *os.File
	kick   chan struct{} // a record waits (capacity 1)
	synced atomic.Int64  // bytes of this run's records that are synced

	mu      sync.Mutex
	size    int64 // bytes preallocated
	run     uint64
	seq     uint64 // records appended in this run
	pending []byte // the next group's records
	next    *rawGroup
	written int64 // bytes of this run handed to the file
	acked   uint64
	groups  uint64
	syncs   []time.Duration // this run's fdatasyncs
}

// rawGroup is the records one write and fdatasync makes durable: done is
// closed after the sync, err is its error.
type rawGroup struct {
	done chan struct{}
	err  error
}

// openRawLog starts a rawLog in a new file of dir; cleanup stops it.
func openRawLog(tb testing.TB, dir string) *rawLog {
	f, err := os.OpenFile(filepath.Join(dir, "hits.log"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		tb.Fatal(err)
	}
	l := &rawLog{f: f, kick: make(chan struct{}, 1), next: &rawGroup{done: make(chan struct{})}}
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		l.write()
	}()
	tb.Cleanup(func() {
		close(l.kick)
		<-stopped
		if err := f.Close(); err != nil {
			tb.Error(err)
		}
	})
	return l
}

// reset starts a new run of n records at the file's start (its records
// are told from the last run's by their run number), growing the file
// (written and synced, untimed) to hold them.
func (l *rawLog) reset(tb testing.TB, n int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.pending) > 0 {
		tb.Fatal("rawlog: reset with records pending")
	}
	need := max(int64(n+1024)*rawRecord, 64<<20)
	if need > l.size {
		chunk := make([]byte, 1<<20)
		for l.size < need {
			if _, err := l.f.WriteAt(chunk, l.size); err != nil {
				tb.Fatal(err)
			}
			l.size += int64(len(chunk))
		}
		if err := unix.Fdatasync(int(l.f.Fd())); err != nil {
			tb.Fatal(err)
		}
	}
	l.run++
	l.seq, l.written, l.acked, l.groups, l.syncs = 0, 0, 0, 0, l.syncs[:0]
	l.synced.Store(0)
}

// append adds a record with body's first bytes to the pending group and
// returns the group and the offset its sync must reach to hold the record.
func (l *rawLog) append(body []byte) (*rawGroup, int64, error) {
	l.mu.Lock()
	end := int64(l.seq+1) * rawRecord
	if end > l.size {
		l.mu.Unlock()
		return nil, 0, errRawLogFull
	}
	l.pending = appendRawRecord(l.pending, l.run, l.seq, time.Now().UnixNano(), body)
	l.seq++
	g := l.next
	l.mu.Unlock()
	select {
	case l.kick <- struct{}{}:
	default:
	}
	return g, end, nil
}

// commit appends a record and returns once it is synced: after that,
// nothing can lose it.
func (l *rawLog) commit(body []byte) error {
	g, end, err := l.append(body)
	if err != nil {
		return err
	}
	<-g.done
	if g.err != nil {
		return g.err
	}
	if l.synced.Load() < end {
		return fmt.Errorf("rawlog: group done with the record at %d not synced (%d)", end, l.synced.Load())
	}
	l.mu.Lock()
	l.acked++
	l.mu.Unlock()
	return nil
}

// write writes and syncs the pending records, a group at a time, until
// kick is closed.
func (l *rawLog) write() {
	var buf []byte
	for range l.kick {
		for {
			l.mu.Lock()
			if len(l.pending) == 0 {
				l.mu.Unlock()
				break
			}
			buf, l.pending = l.pending, buf[:0]
			g, at := l.next, l.written
			l.next = &rawGroup{done: make(chan struct{})}
			l.written += int64(len(buf))
			l.mu.Unlock()
			_, err := l.f.WriteAt(buf, at)
			start := time.Now()
			if err == nil {
				err = unix.Fdatasync(int(l.f.Fd()))
			}
			took := time.Since(start)
			l.mu.Lock()
			l.groups++
			l.syncs = append(l.syncs, took)
			l.mu.Unlock()
			if err == nil {
				l.synced.Store(at + int64(len(buf)))
			}
			g.err = err
			close(g.done)
		}
	}
}

// appendRawRecord appends a record of run, seq, at and body's first
// bytes to dst.
func appendRawRecord(dst []byte, run, seq uint64, at int64, body []byte) []byte {
	start := len(dst)
	dst = binary.BigEndian.AppendUint64(dst, run)
	dst = binary.BigEndian.AppendUint64(dst, seq)
	dst = binary.BigEndian.AppendUint64(dst, uint64(at))
	n := min(len(body), rawRecord-28)
	dst = append(dst, body[:n]...)
	dst = append(dst, make([]byte, rawRecord-28-n)...)
	return binary.BigEndian.AppendUint32(dst, crc32.ChecksumIEEE(dst[start:]))
}

// check reads the file back and fails tb unless it holds, in order, every
// record of this run (so every acknowledged one) and every record was
// acknowledged; it returns the run's records and fdatasyncs (sorted).
func (l *rawLog) check(tb testing.TB) (records uint64, syncs []time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.acked != l.seq {
		tb.Errorf("rawlog: %d records appended, %d acknowledged", l.seq, l.acked)
	}
	if got, want := l.synced.Load(), int64(l.seq)*rawRecord; got != want {
		tb.Errorf("rawlog: %d bytes synced, want %d", got, want)
	}
	data := make([]byte, int64(l.seq)*rawRecord)
	if _, err := l.f.ReadAt(data, 0); err != nil {
		tb.Fatal(err)
	}
	for seq := range l.seq {
		r := data[seq*rawRecord : (seq+1)*rawRecord]
		if binary.BigEndian.Uint32(r[rawRecord-4:]) != crc32.ChecksumIEEE(r[:rawRecord-4]) ||
			binary.BigEndian.Uint64(r) != l.run || binary.BigEndian.Uint64(r[8:]) != seq {
			tb.Fatalf("rawlog: record %d of run %d is not in the file (%x)", seq, l.run, r[:16])
		}
	}
	syncs = slices.Clone(l.syncs)
	slices.Sort(syncs)
	return l.seq, syncs
}

// rawlogHelloServer is helloServer with one durable record a request in
// l: the handler answers once the record's group is synced.
func rawlogHelloServer(b *testing.B, l *rawLog, answer []byte) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	s := &fasthttp.Server{Handler: func(ctx *fasthttp.RequestCtx) {
		if err := l.commit(ctx.PostBody()); err != nil {
			ctx.Error(err.Error(), fasthttp.StatusInternalServerError)
			return
		}
		writeHello(ctx, answer)
	}, NoDefaultServerHeader: true}
	go s.Serve(ln)
	b.Cleanup(func() { s.Shutdown() })
	return "http://" + ln.Addr().String() + "/t/v1/hit"
}

// benchRawlog is benchMix of the rawlog-hello server (l's) with the
// log's writes per fdatasync and the fdatasync's mean and p99; the file
// must hold every acknowledged record at the end.
func benchRawlog(b *testing.B, url string, l *rawLog, m *mixServer, conns int) mixRun {
	l.reset(b, b.N)
	r := benchMix(b, url, m, conns)
	records, syncs := l.check(b)
	if len(syncs) > 0 {
		var sum time.Duration
		for _, s := range syncs {
			sum += s
		}
		b.ReportMetric(float64(records)/float64(len(syncs)), "writes/fsync")
		b.ReportMetric(float64(sum)/float64(len(syncs))/1e6, "fsync-ms")
		b.ReportMetric(float64(syncs[len(syncs)*99/100])/1e6, "fsync-p99-ms")
		b.ReportMetric(100*float64(sum)/(r.ns*float64(b.N)), "sync-busy-%")
	}
	return r
}

// TestRawLog checks BenchmarkHitEndpoint's raw log: records committed by
// concurrent writers, over two runs, are each in the file once acknowledged.
func TestRawLog(t *testing.T) {
	l := openRawLog(t, t.TempDir())
	for range 2 {
		l.reset(t, 32*50)
		var wg sync.WaitGroup
		for w := range 32 {
			wg.Go(func() {
				for i := range 50 {
					if err := l.commit(fmt.Appendf(nil, `{"k":"site","w":%d,"i":%d}`, w, i)); err != nil {
						t.Error(err)
						return
					}
				}
			})
		}
		wg.Wait()
		if records, _ := l.check(t); records != 32*50 {
			t.Fatalf("%d records, want %d", records, 32*50)
		}
	}
}
