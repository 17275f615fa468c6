package export_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"appliance/export"
	"appliance/export/exporttest"
	"appliance/store"
	"appliance/store/storetest"
)

// hitStore is a store with export on, one site and one session, whose
// hits from to to-1 mark writes and marks as the tracker does; hit long
// (when not 0) has a 2 KB URL.
func hitStore(t *testing.T, long int) (*store.DB, func(from, to int)) {
	t.Helper()
	db := storetest.Open(t)
	db.EnableExport(store.ExportOptions{})
	ctx := context.Background()
	site := store.Site{ID: 1, Key: "AbCdEfGh0123456789AbCdEfGh012345", Name: "Shop"}
	sess := store.Session{ID: 2, Visitor: 3, Started: 1, LastHit: 1, Channel: "ad", UTMSource: "yandex"}
	sv := sess.Encode()
	if err := db.Update(ctx, func(tx *store.Tx) error {
		tx.Set(store.SiteKey(1), site.Encode())
		tx.Set(store.SessionKey(1, 2), sv)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return db, func(from, to int) {
		t.Helper()
		if err := db.Update(ctx, func(tx *store.Tx) error {
			for j := from; j < to; j++ {
				h := store.Hit{ID: uint64(100 + j), Session: 2, Time: int64(1700000000000 + j), URL: fmt.Sprintf("https://shop.example/%d", j)}
				if j == long && long != 0 {
					h.URL += "?" + strings.Repeat("x", 2000)
				}
				k, v := store.HitKey(1, 2, h.ID), h.Encode()
				tx.Set(k, v)
				tx.ExportValue(k, h.Time, v, sv)
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
}

// runExporter runs an exporter of db to n, batches of batch, until the
// test ends, and waits until db's log is drained.
func runExporter(t *testing.T, db *store.DB, n *exporttest.NATS, batch int, log io.Writer) *export.Exporter {
	t.Helper()
	x, err := export.New(db, export.Options{URL: n.URL, Subject: "t.events", Stream: "T", Batch: batch,
		Interval: 10 * time.Millisecond, Retry: 20 * time.Millisecond,
		Log: slog.New(slog.NewTextHandler(log, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { x.Run(ctx); close(done) }()
	t.Cleanup(func() { stop(); <-done })
	return x
}

func waitDrained(t *testing.T, x *export.Exporter) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := x.WaitDrained(ctx); err != nil {
		t.Fatalf("not drained: %v; %+v", err, x.Stats())
	}
}

// wantHits checks that the stream holds hits 0 to n-1, each once, in order.
func wantHits(t *testing.T, ns *exporttest.NATS, n int) {
	t.Helper()
	msgs := ns.Messages(t, "T")
	var ids []string
	for _, m := range msgs {
		ids = append(ids, m.MsgID)
	}
	var want []string
	for j := range n {
		want = append(want, fmt.Sprintf("AbCdEfGh0123456789AbCdEfGh012345.hit.%d", 100+j))
	}
	if strings.Join(ids, " ") != strings.Join(want, " ") {
		t.Fatalf("stream holds %d messages %q, want %d %q", len(ids), ids, len(want), want)
	}
}

// A replay (the entries of a batch published again, as after a crash
// between publish and cursor) goes as fast batches too: JetStream drops
// the duplicates, and the stream holds each message once, in order.
func TestExportFastBatchReplay(t *testing.T) {
	n := exporttest.Start(t)
	db, mark := hitStore(t, 0)
	mark(0, 30)
	x := runExporter(t, db, n, 8, io.Discard)
	waitDrained(t, x)
	wantHits(t, n, 30)
	mark(0, 30) // the same records marked again: replays
	mark(30, 40)
	waitDrained(t, x)
	wantHits(t, n, 40)
	if s := x.Stats(); s.Published != 70 || s.Skipped != 0 {
		t.Errorf("stats %+v, want 70 published (30 of them replays JetStream dropped), none skipped", s)
	}
}

// A fast batch that JetStream ends early (here at a message too large for
// the stream, in gap-fail mode) moves the cursor past what it stored: the
// messages before the refused one are in the stream, the cursor stops
// before it, and nothing after it overtakes it.
func TestExportFastBatchEndsEarly(t *testing.T) {
	n := exporttest.Start(t)
	js := jsOf(t, n)
	if _, err := js.CreateStream(context.Background(), jetstream.StreamConfig{Name: "T", Subjects: []string{"t.events.>"},
		Storage: jetstream.FileStorage, MaxMsgSize: 1000, AllowBatchPublish: true}); err != nil {
		t.Fatal(err)
	}
	db, mark := hitStore(t, 13) // hit 13's URL is too long for the stream
	mark(0, 20)
	var log syncLog
	x := runExporter(t, db, n, 8, &log)
	deadline := time.Now().Add(time.Minute)
	for x.Stats().Cursor < 13 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond) // retries that must not get further
	wantHits(t, n, 13)
	if s := x.Stats(); s.Cursor != 13 || s.LastError == "" {
		t.Errorf("stats %+v, want the cursor at 13 and an error", s)
	}
	if !strings.Contains(log.String(), "message size exceeds maximum") {
		t.Errorf("the refusal is not logged; log:\n%s", log.String())
	}
}

// syncLog is a log the exporter writes while the test reads it.
type syncLog struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *syncLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *syncLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func jsOf(t *testing.T, n *exporttest.NATS) jetstream.JetStream {
	t.Helper()
	nc, err := nats.Connect(n.URL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	return js
}

// A stream that does not take fast batches (made before, without the
// option) is published one message at a time, in order, each once.
func TestExportStreamWithoutFastBatches(t *testing.T) {
	n := exporttest.Start(t)
	js := jsOf(t, n)
	if _, err := js.CreateStream(context.Background(), jetstream.StreamConfig{Name: "T", Subjects: []string{"t.events.>"},
		Storage: jetstream.FileStorage}); err != nil {
		t.Fatal(err)
	}
	db, mark := hitStore(t, 0)
	mark(0, 20)
	var log syncLog
	x := runExporter(t, db, n, 8, &log)
	waitDrained(t, x)
	mark(0, 5)
	mark(20, 25)
	waitDrained(t, x)
	wantHits(t, n, 25)
	if s := x.Stats(); s.Published != 30 {
		t.Errorf("stats %+v, want 30 published", s)
	}
}

// The exporter's own stream takes fast batches.
func TestExportStreamMadeWithFastBatches(t *testing.T) {
	n := exporttest.Start(t)
	db, mark := hitStore(t, 0)
	mark(0, 3)
	x := runExporter(t, db, n, 8, io.Discard)
	waitDrained(t, x)
	st, err := jsOf(t, n).Stream(context.Background(), "T")
	if err != nil {
		t.Fatal(err)
	}
	if !st.CachedInfo().Config.AllowBatchPublish {
		t.Errorf("the stream made does not allow fast batches")
	}
	wantHits(t, n, 3)
}
