// Package export publishes what the appliance records (hits, events,
// visitor changes, leads, callbacks, calls, chats and chat messages) to a
// NATS JetStream stream as versioned JSON (schema.go), for warehouses and
// integrations that outgrow one machine.
//
// The model: a write that stores such a record marks it in the store's
// export log in the same durable batch (store.Tx.Export), which costs the
// hit path a few bytes. Exporter.Run reads the log only once it is on disk,
// builds each message from the record, publishes a batch, and moves the
// log's cursor when JetStream has acknowledged every message of it
// (store.DB.ExportAck). Nothing waits for NATS on the way in: while NATS is
// down or slow the log grows on disk (bounded, see store.ExportOptions) and
// drains when it returns.
//
// Delivery is at least once and in commit order, so in order per site;
// each message carries a Nats-Msg-Id that is the same whenever the same
// record (or change) is published again, so that JetStream drops a replay
// within the stream's duplicate window: after a crash between publish and
// cursor, after a lost acknowledgement, and for Backfill. A batch is
// published on one connection; on any failure the connection is dropped
// and the next one starts again at the cursor, so a message can never
// overtake an earlier one that failed.
package export

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"appliance/store"
)

// Errors of the package.
var (
	// ErrSubject is wrapped when an export subject is not a plain NATS
	// subject.
	ErrSubject = errors.New("export: bad subject")
	// ErrStalled is the cause of a StopWhenStalled context ended because
	// NATS could not be reached.
	ErrStalled = errors.New("export: NATS cannot be reached")
)

// Options configure an Exporter; URL and Subject are required.
type Options struct {
	URL     string // nats://host:4222 (several, comma-separated, for a cluster)
	Subject string // messages go to SUBJECT.SITEKEY.KIND
	// Stream is the JetStream stream made for SUBJECT.> when no stream
	// has that name; default APPLIANCE_EVENTS. An existing stream is used
	// as it is.
	Stream     string
	MaxAge     time.Duration // the stream's retention by age; 0 keeps forever
	MaxBytes   int64         // the stream's retention by size; 0 no limit
	Duplicates time.Duration // the stream's duplicate window; default 10 min
	Batch      int           // messages in flight at once; default 1024
	// Interval is how often the exporter looks for durable entries: it is
	// background work, so it takes them in batches rather than waking
	// for every group commit of the hit path. Default 100 ms.
	Interval time.Duration
	// Retry is the first wait after a failed connection or batch; it
	// doubles up to RetryMax. Defaults 1 s and 30 s.
	Retry, RetryMax time.Duration
	Log             *slog.Logger // default slog.Default
}

func (o *Options) defaults() {
	if o.Stream == "" {
		o.Stream = "APPLIANCE_EVENTS"
	}
	if o.Duplicates <= 0 {
		o.Duplicates = 10 * time.Minute
	}
	if o.Batch <= 0 {
		o.Batch = 1024
	}
	if o.Interval <= 0 {
		o.Interval = 100 * time.Millisecond
	}
	if o.Retry <= 0 {
		o.Retry = time.Second
	}
	if o.RetryMax < o.Retry {
		o.RetryMax = max(o.Retry, 30*time.Second)
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
}

// CheckSubject accepts a plain NATS subject: dot-separated tokens of
// printable ASCII with no wildcard, space, or empty token.
func CheckSubject(s string) error {
	if s == "" {
		return fmt.Errorf("%w: it is empty", ErrSubject)
	}
	if len(s) > 200 {
		return fmt.Errorf("%w: longer than 200 characters", ErrSubject)
	}
	for _, tok := range strings.Split(s, ".") {
		if tok == "" {
			return fmt.Errorf("%w %q: an empty part between dots", ErrSubject, s)
		}
		for _, r := range tok {
			if r <= ' ' || r > '~' || r == '*' || r == '>' {
				return fmt.Errorf("%w %q: only letters, digits and punctuation other than * and >", ErrSubject, s)
			}
		}
	}
	return nil
}

// Exporter publishes a store's export log. Run it once.
type Exporter struct {
	db  *store.DB
	o   Options
	enc *encoder

	published atomic.Uint64
	skipped   atomic.Uint64
	connected atomic.Bool
	failures  atomic.Int32 // sessions in a row that published nothing
	mu        sync.Mutex
	lastErr   string
}

// New returns an exporter of db's export log. Call db.EnableExport before
// the store records anything that should be exported.
func New(db *store.DB, o Options) (*Exporter, error) {
	o.defaults()
	if err := CheckSubject(o.Subject); err != nil {
		return nil, err
	}
	if o.URL == "" {
		return nil, errors.New("export: no NATS URL")
	}
	return &Exporter{db: db, o: o, enc: newEncoder(db)}, nil
}

// Stats is what an exporter has done since it started.
type Stats struct {
	store.ExportStats
	Connected bool   // a connection to NATS is up
	Published uint64 // messages JetStream acknowledged
	Skipped   uint64 // entries whose record was gone or unreadable
	LastError string // the latest failure; "" none since the last success
}

// Stats returns the exporter's counters and the export log's state.
func (x *Exporter) Stats() Stats {
	x.mu.Lock()
	defer x.mu.Unlock()
	return Stats{ExportStats: x.db.ExportStats(), Connected: x.connected.Load(),
		Published: x.published.Load(), Skipped: x.skipped.Load(), LastError: x.lastErr}
}

func (x *Exporter) setErr(err error) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if err == nil {
		x.lastErr = ""
	} else {
		x.lastErr = err.Error()
	}
}

// Run publishes the export log until ctx ends: it connects, makes the
// stream when it is missing, and publishes the durable entries every
// Options.Interval. A failure drops the connection, waits (backing off)
// and starts again from the cursor. It returns nil when ctx ends.
func (x *Exporter) Run(ctx context.Context) error {
	wait := x.o.Retry
	for {
		progressed, err := x.session(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if progressed {
			wait = x.o.Retry
			x.failures.Store(0)
		} else {
			x.failures.Add(1)
		}
		x.setErr(err)
		x.o.Log.Warn("export: NATS unavailable, events wait on disk", "url", Redact(x.o.URL), "err", err,
			"backlog", x.db.ExportStats().Backlog, "retry_in", wait)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
		wait = min(2*wait, x.o.RetryMax)
	}
}

// stallAfter is how many failed sessions in a row make a stall.
const stallAfter = 3

// StopWhenStalled returns a context that ends, with the cause ErrStalled,
// once Run has failed stallAfter times in a row to publish anything; for
// work that waits on the exporter and should not wait forever for a NATS
// that is not there. cancel releases it.
//
// The watcher cancels from its own goroutine, and a cancel reads its
// parent's values; so the stall context hangs from a plain cancel context
// of ours, never straight from ctx, which may be a request's (fasthttp
// reuses a RequestCtx once its handler returns, and a read of it after
// that is a data race).
func (x *Exporter) StopWhenStalled(ctx context.Context) (context.Context, context.CancelFunc) {
	own, release := context.WithCancel(ctx)
	ctx, cancel := context.WithCancelCause(own)
	go func() {
		t := time.NewTicker(20 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				if x.failures.Load() >= stallAfter {
					cancel(ErrStalled)
					return
				}
			}
		}
	}()
	return ctx, func() { cancel(context.Canceled); release() }
}

// WaitDrained waits until the export log holds nothing unpublished (Run
// must be running), or ctx ends.
func (x *Exporter) WaitDrained(ctx context.Context) error {
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	for x.db.ExportStats().Backlog > 0 {
		select {
		case <-ctx.Done():
			return context.Cause(ctx)
		case <-t.C:
		}
	}
	return nil
}

// Connect dials NATS with the options every connection of the package
// uses: no reconnect (a new connection is a new session, see the package
// doc) and no buffering while disconnected.
func Connect(url string) (*nats.Conn, error) {
	nc, err := nats.Connect(url, nats.Name("appliance export"), nats.NoReconnect(),
		nats.ReconnectBufSize(-1), nats.Timeout(5*time.Second))
	if err != nil {
		return nil, fmt.Errorf("connect to NATS %q: %w", Redact(url), err)
	}
	return nc, nil
}

// Redact is a NATS URL, or a comma-separated list of them, with the
// credentials it may hold masked ("nats://user:xxxxx@host:4222",
// "nats://xxxxx@host" for a token), for logs and errors: the server's log
// often goes where the NATS account should not.
func Redact(urls string) string {
	parts := strings.Split(urls, ",")
	for i, u := range parts {
		start := 0
		if j := strings.Index(u, "://"); j >= 0 {
			start = j + 3
		}
		end := len(u)
		if j := strings.IndexAny(u[start:], "/?#"); j >= 0 {
			end = start + j
		}
		at := strings.LastIndex(u[start:end], "@")
		if at < 0 {
			continue
		}
		user, _, hasPass := strings.Cut(u[start:start+at], ":")
		masked := "xxxxx"
		if hasPass {
			masked = user + ":xxxxx"
		}
		parts[i] = u[:start] + masked + u[start+at:]
	}
	return strings.Join(parts, ",")
}

// session is one connection: it publishes until it fails or ctx ends.
// progressed reports whether any batch was acknowledged.
func (x *Exporter) session(ctx context.Context) (progressed bool, err error) {
	nc, err := Connect(x.o.URL)
	if err != nil {
		return false, err
	}
	closed := nc.StatusChanged(nats.CLOSED)
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return false, fmt.Errorf("jetstream: %w", err)
	}
	fast, err := EnsureStream(ctx, js, x.o)
	if err != nil {
		return false, err
	}
	p, err := newPublisher(nc, closed, x.o.Batch, fast)
	if err != nil {
		return false, err
	}
	x.connected.Store(true)
	defer x.connected.Store(false)
	x.o.Log.Info("export: publishing to NATS", "url", Redact(x.o.URL), "subject", x.o.Subject+".>", "stream", x.o.Stream,
		"backlog", x.db.ExportStats().Backlog)
	tick := time.NewTicker(x.o.Interval)
	defer tick.Stop()
	for {
		n, err := x.drain(ctx, p)
		progressed = progressed || n > 0
		if err != nil {
			return progressed, err
		}
		// A failure is over once something is published after it, or
		// nothing is left to publish; a connection alone is not enough
		// (the batch that failed may fail again).
		if n > 0 || x.db.ExportStats().Backlog == 0 {
			x.setErr(nil)
		}
		if nc.IsClosed() {
			return progressed, errors.New("connection closed")
		}
		select {
		case <-ctx.Done():
			return progressed, nil
		case <-tick.C:
		}
	}
}

// EnsureStream makes the stream o.Stream over o.Subject.> when there is
// none by that name, allowing fast batch publishing. A stream of that name
// is used as it is; when another stream already takes the subjects,
// creation fails and publishing goes to that stream. fast reports whether
// the stream publishing goes to takes fast batches (the one made here
// does, an existing one when its config says so).
func EnsureStream(ctx context.Context, js jetstream.JetStream, o Options) (fast bool, err error) {
	o.defaults()
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	st, err := js.Stream(ctx, o.Stream)
	if err == nil {
		return st.CachedInfo().Config.AllowBatchPublish, nil
	}
	if !errors.Is(err, jetstream.ErrStreamNotFound) {
		return false, fmt.Errorf("look up stream %q: %w", o.Stream, err)
	}
	cfg := jetstream.StreamConfig{
		Name:              o.Stream,
		Description:       "appliance events (hits, events, visitors, leads, callbacks, calls, chats)",
		Subjects:          []string{o.Subject + ".>"},
		Retention:         jetstream.LimitsPolicy,
		Storage:           jetstream.FileStorage,
		MaxAge:            o.MaxAge,
		MaxBytes:          -1,
		Duplicates:        o.Duplicates,
		AllowBatchPublish: true,
	}
	if o.MaxBytes > 0 {
		cfg.MaxBytes = o.MaxBytes
	}
	st, err = js.CreateStream(ctx, cfg)
	if err != nil && !errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
		// A server before 2.14 may refuse the option: without it.
		cfg.AllowBatchPublish = false
		st, err = js.CreateStream(ctx, cfg)
	}
	if err != nil {
		if errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
			if st, err := js.Stream(ctx, o.Stream); err == nil {
				return st.CachedInfo().Config.AllowBatchPublish, nil
			}
			return false, nil
		}
		o.Log.Warn("export: could not make the stream; publishing to whichever stream takes the subject",
			"stream", o.Stream, "subject", o.Subject+".>", "err", err)
		return false, nil
	}
	o.Log.Info("export: made the JetStream stream", "stream", o.Stream, "subject", o.Subject+".>",
		"fast_batches", st.CachedInfo().Config.AllowBatchPublish)
	return st.CachedInfo().Config.AllowBatchPublish, nil
}

// pending is one entry read from the log.
type pending struct {
	seq   uint64
	entry store.ExportEntry
}

// drain publishes batches until the durable log is empty and returns how
// many messages were acknowledged.
func (x *Exporter) drain(ctx context.Context, p *publisher) (int, error) {
	total := 0
	var batch []pending
	var buf []byte
	var lens []int // each entry's key, record and session lengths, in buf in that order
	for {
		batch, buf, lens = batch[:0], buf[:0], lens[:0]
		err := x.db.ExportLog(ctx, x.o.Batch, func(seq uint64, e store.ExportEntry) bool {
			buf = append(append(append(buf, e.Key...), e.Record...), e.Session...)
			lens = append(lens, len(e.Key), len(e.Record), len(e.Session))
			batch = append(batch, pending{seq, store.ExportEntry{At: e.At}})
			return true
		})
		if err != nil {
			return total, err
		}
		if len(batch) == 0 {
			return total, nil
		}
		// The entries were copied into one buffer that may have moved
		// while it grew: cut them from where it is now.
		off := 0
		cut := func(n int) []byte {
			if n == 0 {
				return nil
			}
			off += n
			return buf[off-n : off : off]
		}
		for i := range batch {
			e := &batch[i].entry
			e.Key, e.Record, e.Session = cut(lens[3*i]), cut(lens[3*i+1]), cut(lens[3*i+2])
		}
		n, err := x.publish(ctx, p, batch)
		total += n
		if err != nil {
			return total, err
		}
	}
}

// publish sends a batch and waits for every acknowledgement; it moves the
// cursor past the longest acknowledged run from the start. A fast batch
// that ended early without an error (its first message was a duplicate:
// a replay) is followed by the rest of the batch one at a time; a stream
// that refuses fast batches gets every batch one at a time from then on.
func (x *Exporter) publish(ctx context.Context, p *publisher, batch []pending) (int, error) {
	if err := x.enc.prefetch(ctx, batch); err != nil {
		return 0, err
	}
	total, from := 0, 0
	for {
		fast := p.fast
		acked, run, err := x.publishFrom(ctx, p, batch, from, fast)
		total += acked
		from += run
		var apiErr *jetstream.APIError
		switch {
		case err != nil && fast && ctx.Err() == nil && errors.As(err, &apiErr) && fastRefused(apiErr.ErrorCode):
			x.o.Log.Warn("export: the stream takes no fast batches; publishing one message at a time", "err", err)
			p.fast = false
		case err != nil:
			return total, err
		case from == len(batch):
			return total, nil
		case !fast:
			return total, errors.New("publish: a message was neither acknowledged nor refused")
		default:
			x.o.Log.Debug("export: a fast batch ended early (a replay); the rest of it one message at a time",
				"acknowledged", from, "of", len(batch))
			p.fast = false
			acked, run, err = x.publishFrom(ctx, p, batch, from, false)
			p.fast = true
			total += acked
			from += run
			if err != nil || from == len(batch) {
				return total, err
			}
		}
	}
}

// fastRefused reports whether a JetStream error code says the stream or
// server does not take fast batches.
func fastRefused(code jetstream.ErrorCode) bool {
	switch code {
	case 10205, 10206, 10207: // batch publish disabled, invalid pattern, invalid id
		return true
	}
	return false
}

// publishFrom publishes batch[from:], prefetched, as one fast batch or
// one message at a time, waits for the acknowledgements and moves the
// cursor past the longest acknowledged run from its start, whose length
// it returns with how many messages of it were acknowledged.
func (x *Exporter) publishFrom(ctx context.Context, p *publisher, batch []pending, from int, fast bool) (int, int, error) {
	p.start(len(batch)-from, fast)
	var pubErr error
	for i := from; i < len(batch); i++ {
		b := &batch[i]
		m, err := x.enc.encode(ctx, i, b.entry)
		if err != nil {
			if !errors.Is(err, errGone) {
				x.o.Log.Error("export: entry skipped", "seq", b.seq, "err", err)
			}
			p.skip(i - from)
			continue
		}
		if err := p.publish(i-from, x.enc.subject(x.o.Subject, &m), m.MsgID, m.Body); err != nil {
			pubErr = fmt.Errorf("publish: %w", err)
			break
		}
	}
	if pubErr == nil {
		if err := p.end(); err != nil {
			pubErr = fmt.Errorf("publish: %w", err)
		}
	}
	acked, run, ackErr := p.wait(ctx)
	if err := ctx.Err(); err != nil {
		return acked, run, err
	}
	if run > 0 {
		if err := x.db.ExportAck(ctx, batch[from+run-1].seq); err != nil {
			return acked, run, err
		}
		x.published.Add(uint64(acked))
		x.skipped.Add(uint64(run - acked))
	}
	if ackErr != nil {
		return acked, run, ackErr
	}
	return acked, run, pubErr
}
