package webhooks_test

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"appliance/httpd/webhooks"
	"appliance/store"
	"appliance/store/storetest"
)

// fast are options for tests: quick polls and retries, no sleeping, and
// receivers on 127.0.0.1 allowed (the default refuses them).
func fast(o webhooks.Options) webhooks.Options {
	o.Policy.AllowPrivate = true
	o.Tick = 5 * time.Millisecond
	o.Backoff = func(n int) time.Duration { return time.Duration(n) * 5 * time.Millisecond }
	o.Timeout = 2 * time.Second
	return o
}

// run starts h.Run until the test ends (or stop is called).
func run(t testing.TB, h *webhooks.Hooks) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { h.Run(ctx); close(done) }()
	var once sync.Once
	stop = func() { once.Do(func() { cancel(); <-done }) }
	t.Cleanup(stop)
	return stop
}

// receiver is a webhook receiver that verifies signatures and counts the
// 2xx answers it gave per idempotency key.
type receiver struct {
	t      testing.TB
	secret string

	mu        sync.Mutex
	down      bool // answer 503
	delivered map[string]int
	bodies    map[string][]byte
	attempts  int
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.attempts++
	if rc.down {
		http.Error(w, "maintenance", http.StatusServiceUnavailable)
		return
	}
	if err := webhooks.Verify(rc.secret, r.Header.Get(webhooks.HeaderSignature), body, time.Now(), 5*time.Minute); err != nil {
		rc.t.Errorf("receiver: %v", err)
		http.Error(w, err.Error(), http.StatusUnauthorized)
		return
	}
	key := r.Header.Get(webhooks.HeaderDelivery)
	rc.delivered[key]++
	rc.bodies[key] = body
	w.WriteHeader(http.StatusNoContent)
}

func (rc *receiver) setDown(v bool) { rc.mu.Lock(); rc.down = v; rc.mu.Unlock() }

func (rc *receiver) snapshot() (map[string]int, int) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	m := map[string]int{}
	for k, v := range rc.delivered {
		m[k] = v
	}
	return m, rc.attempts
}

func newReceiver(t testing.TB, secret string) *receiver {
	return &receiver{t: t, secret: secret, delivered: map[string]int{}, bodies: map[string][]byte{}}
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func enqueue(t testing.TB, db *store.DB, h *webhooks.Hooks, site uint32, kind webhooks.Kind, id uint64) int {
	t.Helper()
	var n int
	err := db.Update(context.Background(), func(tx *store.Tx) error {
		var err error
		n, err = h.Enqueue(tx, webhooks.Event{Kind: kind, ID: id, Site: site, SiteKey: "SITEKEY", Time: time.Unix(1700000000, 0),
			Data: map[string]any{"n": id}})
		return err
	})
	if err != nil {
		t.Fatalf("enqueue: %v", err)
	}
	return n
}

func TestSignVerify(t *testing.T) {
	body := []byte(`{"event":"lead","id":1}`)
	now := time.Unix(1700000000, 0)
	good := webhooks.Sign("s3cret-s3cret-s3cret", now, body)
	if !strings.HasPrefix(good, "t=1700000000,v1=") || len(good) != len("t=1700000000,v1=")+64 {
		t.Fatalf("Sign = %q", good)
	}
	other := webhooks.Sign("another-secret-value", now, body)
	for _, tt := range []struct {
		name    string
		secret  string
		header  string
		body    []byte
		now     time.Time
		wantErr bool
	}{
		{"good", "s3cret-s3cret-s3cret", good, body, now, false},
		{"good within tolerance", "s3cret-s3cret-s3cret", good, body, now.Add(4 * time.Minute), false},
		{"rotated: second v1 matches", "s3cret-s3cret-s3cret", other + ",v1=" + strings.Split(good, "v1=")[1], body, now, false},
		{"wrong secret", "wrong", good, body, now, true},
		{"body changed", "s3cret-s3cret-s3cret", good, []byte(`{"event":"lead","id":2}`), now, true},
		{"too old", "s3cret-s3cret-s3cret", good, body, now.Add(6 * time.Minute), true},
		{"from the future", "s3cret-s3cret-s3cret", good, body, now.Add(-6 * time.Minute), true},
		{"timestamp changed", "s3cret-s3cret-s3cret", strings.Replace(good, "t=1700000000", "t=1700000001", 1), body, now, true},
		{"empty", "s3cret-s3cret-s3cret", "", body, now, true},
		{"no v1", "s3cret-s3cret-s3cret", "t=1700000000", body, now, true},
		{"no t", "s3cret-s3cret-s3cret", strings.Split(good, ",")[1], body, now, true},
		{"garbage", "s3cret-s3cret-s3cret", "t=x,v1=zz,,", body, now, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := webhooks.Verify(tt.secret, tt.header, tt.body, tt.now, 5*time.Minute)
			if (err != nil) != tt.wantErr {
				t.Fatalf("Verify = %v, want error %v", err, tt.wantErr)
			}
			if err != nil && !errors.Is(err, webhooks.ErrSignature) {
				t.Fatalf("error %v does not wrap ErrSignature", err)
			}
		})
	}
}

func TestBackoff(t *testing.T) {
	for _, tt := range []struct {
		n        int
		min, max time.Duration
	}{
		{1, 5 * time.Second, 10 * time.Second},
		{2, 10 * time.Second, 20 * time.Second},
		{3, 20 * time.Second, 40 * time.Second},
		{9, 21 * time.Minute, 43 * time.Minute},
		{10, 30 * time.Minute, time.Hour},
		{1000, 30 * time.Minute, time.Hour},
	} {
		for range 50 {
			if d := webhooks.Backoff(tt.n); d < tt.min || d > tt.max {
				t.Fatalf("Backoff(%d) = %s, want in [%s, %s]", tt.n, d, tt.min, tt.max)
			}
		}
	}
}

func TestAddValidates(t *testing.T) {
	db := storetest.Open(t)
	h := webhooks.New(db, webhooks.Options{})
	ctx := context.Background()
	for _, tt := range []struct {
		name, url, secret string
		kinds             []webhooks.Kind
	}{
		{"no scheme", "crm.example/hook", "", nil},
		{"ftp", "ftp://crm.example/hook", "", nil},
		{"no host", "https:///hook", "", nil},
		{"too long", "https://crm.example/" + strings.Repeat("a", webhooks.MaxURL), "", nil},
		{"short secret", "https://crm.example/hook", "short", nil},
		{"secret with space", "https://crm.example/hook", "a secret with spaces", nil},
		{"unknown kind", "https://crm.example/hook", "", []webhooks.Kind{"lead", "sms"}},
	} {
		if _, err := h.Add(ctx, 1, tt.url, tt.secret, tt.kinds); !errors.Is(err, webhooks.ErrInvalid) {
			t.Errorf("%s: err = %v, want ErrInvalid", tt.name, err)
		}
	}
	ep, err := h.Add(ctx, 1, " https://crm.example/hook ", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(ep.Secret, "whsec_") || len(ep.Secret) < 40 || ep.URL != "https://crm.example/hook" ||
		len(ep.Events) != 1 || ep.Events[0] != "lead" || ep.ID == 0 {
		t.Fatalf("added %+v", ep)
	}
	ep2, err := h.Add(ctx, 1, "http://pbx.example/cb", "my-own-secret-123", webhooks.ParseKinds("callback, lead,callback"))
	if err != nil || ep2.Secret != "my-own-secret-123" || strings.Join(ep2.Events, ",") != "callback,lead" {
		t.Fatalf("added %+v, %v", ep2, err)
	}
	for i := 2; i < webhooks.MaxEndpoints; i++ {
		if _, err := h.Add(ctx, 1, "https://crm.example/"+strconv.Itoa(i), "", nil); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := h.Add(ctx, 1, "https://crm.example/one-too-many", "", nil); !errors.Is(err, webhooks.ErrInvalid) {
		t.Fatalf("endpoint %d: err = %v, want ErrInvalid", webhooks.MaxEndpoints+1, err)
	}
	if list, _ := h.Endpoints(2); len(list) != 0 {
		t.Fatalf("site 2 has endpoints %+v", list)
	}
	if err := h.Remove(ctx, 1, ep.ID); err != nil {
		t.Fatal(err)
	}
	if err := h.Remove(ctx, 1, ep.ID); !errors.Is(err, webhooks.ErrNotFound) {
		t.Fatalf("second remove: %v", err)
	}
	if list, _ := h.Endpoints(1); len(list) != webhooks.MaxEndpoints-1 || list[0].ID != ep2.ID {
		t.Fatalf("after remove: %d endpoints, first %+v", len(list), list[0])
	}
}

// Enqueue makes one delivery per endpoint that takes the event's kind, and
// none when the Update fails.
func TestEnqueueMatchesKinds(t *testing.T) {
	db := storetest.Open(t)
	h := webhooks.New(db, webhooks.Options{})
	ctx := context.Background()
	h.Add(ctx, 1, "https://a.example/", "", []webhooks.Kind{"lead"})
	h.Add(ctx, 1, "https://b.example/", "", []webhooks.Kind{"lead", "callback"})
	h.Add(ctx, 2, "https://c.example/", "", []webhooks.Kind{"lead"})
	if n := enqueue(t, db, h, 1, webhooks.KindLead, 10); n != 2 {
		t.Fatalf("lead: %d deliveries, want 2", n)
	}
	if n := enqueue(t, db, h, 1, webhooks.KindCallback, 11); n != 1 {
		t.Fatalf("callback: %d deliveries, want 1", n)
	}
	if n := enqueue(t, db, h, 1, webhooks.KindCall, 12); n != 0 {
		t.Fatalf("call: %d deliveries, want 0", n)
	}
	boom := errors.New("the event's own write failed")
	err := db.Update(ctx, func(tx *store.Tx) error {
		if _, err := h.Enqueue(tx, webhooks.Event{Kind: webhooks.KindLead, ID: 13, Site: 1}); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatal(err)
	}
	log, err := h.Deliveries(ctx, 1, 0)
	if err != nil || len(log) != 3 {
		t.Fatalf("site 1 log: %d deliveries, %v; want 3", len(log), err)
	}
	if log[0].Event != "callback" || log[0].EventID != 11 || log[0].State != store.DeliveryPending {
		t.Fatalf("newest delivery %+v", log[0])
	}
	var body struct {
		Event     string         `json:"event"`
		ID        uint64         `json:"id"`
		SiteKey   string         `json:"site_key"`
		CreatedAt time.Time      `json:"created_at"`
		Data      map[string]any `json:"data"`
	}
	if err := json.Unmarshal(log[0].Body, &body); err != nil || body.Event != "callback" || body.ID != 11 ||
		body.SiteKey != "SITEKEY" || !body.CreatedAt.Equal(time.Unix(1700000000, 0)) || body.Data["n"] != float64(11) {
		t.Fatalf("body %s: %+v, %v", log[0].Body, body, err)
	}
}

// freePort returns a 127.0.0.1 address nothing listens on.
func freePort(t testing.TB) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// serveAt starts an httptest server for h on addr.
func serveAt(t testing.TB, addr string, h http.Handler) *httptest.Server {
	t.Helper()
	var ln net.Listener
	var err error
	waitFor(t, "the port to be free", func() bool {
		ln, err = net.Listen("tcp", addr)
		return err == nil
	})
	ts := httptest.NewUnstartedServer(h)
	ts.Listener.Close()
	ts.Listener = ln
	ts.Start()
	t.Cleanup(ts.Close)
	return ts
}

// Two receivers are down for a while, one answering 503 and one not
// listening at all; once they are up, every event reaches each exactly
// once as judged by the idempotency key, with a valid signature.
func TestDeliveryThroughDowntime(t *testing.T) {
	db := storetest.Open(t)
	h := webhooks.New(db, fast(webhooks.Options{}))
	ctx := context.Background()

	flaky := newReceiver(t, "flaky-secret-0123456789")
	flaky.setDown(true)
	flakySrv := httptest.NewServer(flaky)
	defer flakySrv.Close()
	closedAddr := freePort(t)
	late := newReceiver(t, "late-secret-0123456789")

	if _, err := h.Add(ctx, 1, flakySrv.URL+"/hook", flaky.secret, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := h.Add(ctx, 1, "http://"+closedAddr+"/hook", late.secret, nil); err != nil {
		t.Fatal(err)
	}
	run(t, h)
	const events = 25
	for i := range events {
		if n := enqueue(t, db, h, 1, webhooks.KindLead, uint64(100+i)); n != 2 {
			t.Fatalf("event %d: %d deliveries", i, n)
		}
	}
	waitFor(t, "failed attempts at both receivers", func() bool {
		_, n := flaky.snapshot()
		log, _ := h.Deliveries(ctx, 1, 0)
		refused := 0
		for _, dl := range log {
			if dl.Attempts >= 2 && dl.State == store.DeliveryPending && dl.URL != flakySrv.URL+"/hook" {
				refused++
			}
		}
		return n >= 2*events && refused == events
	})
	flaky.setDown(false)
	serveAt(t, closedAddr, late)

	for name, rc := range map[string]*receiver{"flaky": flaky, "late": late} {
		waitFor(t, name+" to get every event", func() bool { got, _ := rc.snapshot(); return len(got) == events })
	}
	waitFor(t, "every delivery recorded as delivered", func() bool {
		log, _ := h.Deliveries(ctx, 1, 0)
		for _, dl := range log {
			if dl.State != store.DeliveryDelivered {
				return false
			}
		}
		return len(log) == 2*events
	})
	log, _ := h.Deliveries(ctx, 1, 0)
	for _, rc := range []*receiver{flaky, late} {
		got, _ := rc.snapshot()
		seen := map[float64]bool{}
		for key, n := range got {
			if n != 1 {
				t.Errorf("delivery %s accepted %d times", key, n)
			}
			var body struct {
				ID   float64 `json:"id"`
				Data map[string]float64
			}
			json.Unmarshal(rc.bodies[key], &body)
			if seen[body.ID] {
				t.Errorf("event %v delivered under two keys", body.ID)
			}
			seen[body.ID] = true
		}
		if len(seen) != events {
			t.Errorf("%d distinct events delivered, want %d", len(seen), events)
		}
	}
	for _, dl := range log {
		last := dl.Recent[len(dl.Recent)-1]
		if dl.Attempts < 2 || last.Status != http.StatusNoContent || last.Error != "" || dl.Delivered == 0 {
			t.Fatalf("delivery %d: %d attempts, last %+v", dl.ID, dl.Attempts, last)
		}
		first := dl.Recent[0]
		if first.Status == 0 && first.Error == "" || first.Status == http.StatusServiceUnavailable && !strings.Contains(first.Error, "503") {
			t.Fatalf("delivery %d: first failed attempt logged as %+v", dl.ID, first)
		}
	}
}

// Deliveries left in the outbox when the store closed are sent after it
// opens again, once: those Enqueue wrote and those a version before the one
// due-queue wrote under the retired outbox family ('o' + due + id -> site).
func TestDeliverySurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	rc := newReceiver(t, "restart-secret-0123456789")
	srv := httptest.NewServer(rc)
	defer srv.Close()

	db := storetest.OpenAt(t, dir)
	h := webhooks.New(db, fast(webhooks.Options{}))
	ep, err := h.Add(context.Background(), 1, srv.URL, rc.secret, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		enqueue(t, db, h, 1, webhooks.KindLead, uint64(i+1))
	}
	due := time.Now().Add(-time.Minute).UnixMilli()
	err = db.Update(context.Background(), func(tx *store.Tx) error {
		for id := uint64(1000); id < 1003; id++ {
			dl := store.Delivery{ID: id, Endpoint: ep.ID, URL: ep.URL, Event: "lead", EventID: id, Body: []byte(`{"event":"lead"}`),
				Created: due, State: store.DeliveryPending, Due: due}
			tx.Set(store.DeliveryKey(1, id), dl.Encode())
			old := binary.BigEndian.AppendUint64([]byte{'o'}, uint64(due))
			tx.Set(binary.BigEndian.AppendUint64(old, id), binary.BigEndian.AppendUint32(nil, 1))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil { // never ran: all eight are due
		t.Fatal(err)
	}
	if got, _ := rc.snapshot(); len(got) != 0 {
		t.Fatalf("delivered before Run: %v", got)
	}

	db = storetest.OpenAt(t, dir)
	h = webhooks.New(db, fast(webhooks.Options{}))
	run(t, h)
	waitFor(t, "eight deliveries after restart", func() bool { got, _ := rc.snapshot(); return len(got) == 8 })
	waitFor(t, "them to be recorded", func() bool {
		log, _ := h.Deliveries(context.Background(), 1, 0)
		for _, dl := range log {
			if dl.State != store.DeliveryDelivered {
				return false
			}
		}
		return len(log) == 8
	})
	if got, _ := rc.snapshot(); got["1000"] != 1 || got["1001"] != 1 || got["1002"] != 1 {
		t.Fatalf("delivered %v, want each old delivery once", got)
	}
}

// Resend sends a delivered delivery again under the same key; a delivery
// whose endpoint was removed is dropped; a hanging receiver does not hold
// up shutdown.
func TestResendDropShutdown(t *testing.T) {
	db := storetest.Open(t)
	h := webhooks.New(db, fast(webhooks.Options{}))
	ctx := context.Background()
	rc := newReceiver(t, "resend-secret-0123456789")
	srv := httptest.NewServer(rc)
	defer srv.Close()
	ep, _ := h.Add(ctx, 1, srv.URL, rc.secret, nil)
	stop := run(t, h)
	enqueue(t, db, h, 1, webhooks.KindLead, 1)
	waitFor(t, "the first delivery", func() bool { got, _ := rc.snapshot(); return len(got) == 1 })
	log, _ := h.Deliveries(ctx, 1, 0)
	waitFor(t, "it to be recorded", func() bool {
		dl, _ := h.Delivery(1, log[0].ID)
		return dl.State == store.DeliveryDelivered
	})
	if err := h.Resend(ctx, 1, log[0].ID); err != nil {
		t.Fatal(err)
	}
	key := strconv.FormatUint(log[0].ID, 10)
	waitFor(t, "the resend", func() bool { got, _ := rc.snapshot(); return got[key] == 2 })
	waitFor(t, "the resend to be recorded", func() bool {
		dl, _ := h.Delivery(1, log[0].ID)
		return dl.State == store.DeliveryDelivered && dl.Attempts == 2
	})
	if err := h.Resend(ctx, 1, 999999); !errors.Is(err, webhooks.ErrNotFound) {
		t.Fatalf("resend of nothing: %v", err)
	}

	// Removed endpoint: dropped, not sent.
	stop()
	enqueue(t, db, h, 1, webhooks.KindLead, 2)
	if err := h.Remove(ctx, 1, ep.ID); err != nil {
		t.Fatal(err)
	}
	run(t, h)
	waitFor(t, "the orphan to be dropped", func() bool {
		log, _ := h.Deliveries(ctx, 1, 1)
		return log[0].State == store.DeliveryDropped
	})
	if got, _ := rc.snapshot(); len(got) != 1 {
		t.Fatalf("a dropped delivery was sent: %v", got)
	}

	// A receiver that never answers: Run still stops at once.
	hang := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-hang }))
	defer slow.Close()
	defer close(hang)
	h2 := webhooks.New(db, fast(webhooks.Options{Timeout: time.Minute}))
	h2.Add(ctx, 3, slow.URL, "", nil)
	stop2 := run(t, h2)
	enqueue(t, db, h2, 3, webhooks.KindLead, 3)
	time.Sleep(50 * time.Millisecond) // let the attempt start
	start := time.Now()
	stop2()
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("Run took %s to stop", d)
	}
	if log, _ := h2.Deliveries(ctx, 3, 1); log[0].State != store.DeliveryPending || log[0].Attempts != 0 {
		t.Fatalf("cancelled attempt recorded: %+v", log[0])
	}
}

// A receiver that hangs (each attempt waits out the timeout) holds at most
// PerEndpoint of the workers: while a backlog of its deliveries hangs,
// another site's receiver gets its lead; once it answers again its
// backlog is delivered, never more than PerEndpoint of it at once.
func TestHangingReceiverHoldsOnlyItsShare(t *testing.T) {
	db := storetest.Open(t)
	o := fast(webhooks.Options{Workers: 4, PerEndpoint: 2})
	o.Timeout = time.Hour // each attempt hangs until the receiver answers
	h := webhooks.New(db, o)
	ctx := context.Background()

	release := make(chan struct{})
	var once sync.Once
	unhang := func() { once.Do(func() { close(release) }) }
	var mu sync.Mutex
	inFlight, most, got := 0, 0, 0
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		inFlight++
		most = max(most, inFlight)
		mu.Unlock()
		<-release
		mu.Lock()
		inFlight--
		got++
		mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	defer hang.Close()
	defer unhang() // before the server's Close, which waits for its handlers
	other := newReceiver(t, "other-secret-0123456789")
	otherSrv := httptest.NewServer(other)
	defer otherSrv.Close()
	if _, err := h.Add(ctx, 1, hang.URL+"/hook", "hang-secret-0123456789", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := h.Add(ctx, 2, otherSrv.URL+"/hook", other.secret, nil); err != nil {
		t.Fatal(err)
	}
	stop := run(t, h)
	t.Cleanup(unhang) // before run's stop: a failed wait must not leave deliveries hanging
	const backlog = 8
	for i := range backlog {
		enqueue(t, db, h, 1, webhooks.KindLead, uint64(100+i))
	}
	waitFor(t, "the hanging receiver's attempts", func() bool { mu.Lock(); defer mu.Unlock(); return inFlight > 0 })
	enqueue(t, db, h, 2, webhooks.KindLead, 500)
	// Without the bound its backlog, due first, takes every worker.
	waitFor(t, "the other site's lead delivered while the first receiver hangs", func() bool {
		d, _ := other.snapshot()
		return len(d) == 1
	})
	unhang()
	waitFor(t, "the hanging receiver's backlog delivered", func() bool { mu.Lock(); defer mu.Unlock(); return got == backlog })
	stop()
	if most > 2 {
		t.Errorf("%d attempts at one receiver at once, PerEndpoint 2", most)
	}
}
