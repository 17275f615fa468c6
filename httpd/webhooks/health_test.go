package webhooks_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"appliance/httpd/webhooks"
	"appliance/store"
	"appliance/store/storetest"
)

// clock is a settable clock: the outbox sends a retry only once the clock
// reaches its due time, so each move lets exactly the attempts due by then
// happen.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// statusReceiver answers every POST with the status it is set to, and
// counts them.
type statusReceiver struct {
	status atomic.Int32
	posts  atomic.Int32
}

func (r *statusReceiver) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	r.posts.Add(1)
	w.WriteHeader(int(r.status.Load()))
}

// An endpoint whose every attempt fails for FailingAfter is failing: its
// health says since when, how many attempts, the last error and how many
// deliveries wait. A 2xx ends the episode; one its owners were told of
// stays until the recovery is told too. Removing the endpoint forgets it.
func TestEndpointHealth(t *testing.T) {
	db := storetest.Open(t)
	c := &clock{now: time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)}
	h := webhooks.New(db, fast(webhooks.Options{Now: c.Now,
		Backoff: func(int) time.Duration { return 20 * time.Minute }}))
	ctx := context.Background()
	rc := &statusReceiver{}
	rc.status.Store(http.StatusInternalServerError)
	srv := httptest.NewServer(rc)
	defer srv.Close()
	ep, err := h.Add(ctx, 1, srv.URL+"/hook", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	run(t, h)
	health := func() (webhooks.Health, bool) {
		t.Helper()
		m, err := h.Health(ctx, 1)
		if err != nil {
			t.Fatal(err)
		}
		hl, ok := m[ep.ID]
		return hl, ok
	}
	attempt := func(posts int32, failures uint32) { // waits for the failure of the posts-th POST to be recorded
		t.Helper()
		waitFor(t, "the attempt's outcome", func() bool {
			hl, _ := health()
			return rc.posts.Load() == posts && hl.Failures == failures
		})
	}

	start := c.Now()
	enqueue(t, db, h, 1, webhooks.KindLead, 1)
	enqueue(t, db, h, 1, webhooks.KindLead, 2)
	attempt(2, 2)
	hl, _ := health()
	if hl.FailingSince != start.UnixMilli() || hl.Last.Status != 500 || hl.Last.Reason != webhooks.ReasonServer || h.Failing(hl) {
		t.Fatalf("after the first failures: %+v, failing %v", hl, h.Failing(hl))
	}
	if w, err := h.Waiting(ctx, 1); err != nil || w[ep.ID] != 2 {
		t.Fatalf("waiting %v, %v; want 2", w, err)
	}
	c.Add(40 * time.Minute) // both retried, failing again: 40 min is not yet an hour
	attempt(4, 4)
	if hl, _ = health(); h.Failing(hl) {
		t.Fatalf("failing after 40 minutes: %+v", hl)
	}
	c.Add(20 * time.Minute) // an hour since the first failure
	attempt(6, 6)
	if hl, _ = health(); !h.Failing(hl) || hl.FailingSince != start.UnixMilli() || hl.Failures != 6 || hl.Alerted != 0 {
		t.Fatalf("not failing after an hour: %+v", hl)
	}
	all, err := h.AllHealth(ctx)
	if err != nil || len(all) != 1 || all[0].Site != 1 || all[0].Endpoint != ep.ID {
		t.Fatalf("all health %+v, %v", all, err)
	}

	// Told: a 2xx keeps the record for the recovery's email.
	if err := h.MarkAlerted(ctx, 1, ep.ID, hl.FailingSince); err != nil {
		t.Fatal(err)
	}
	rc.status.Store(http.StatusOK)
	c.Add(20 * time.Minute)
	waitFor(t, "both delivered", func() bool {
		log, _ := h.Deliveries(ctx, 1, 0)
		return len(log) == 2 && log[0].State == store.DeliveryDelivered && log[1].State == store.DeliveryDelivered
	})
	hl, ok := health()
	if !ok || hl.FailingSince != 0 || hl.Recovered != c.Now().UnixMilli() || hl.Alerted != start.UnixMilli() || h.Failing(hl) {
		t.Fatalf("after recovery: %+v (kept %v)", hl, ok)
	}
	if w, _ := h.Waiting(ctx, 1); w[ep.ID] != 0 {
		t.Errorf("waiting after recovery: %v", w)
	}
	if err := h.MarkRecoveryTold(ctx, 1, ep.ID, hl.Recovered); err != nil {
		t.Fatal(err)
	}
	if hl, ok := health(); ok {
		t.Fatalf("after the recovery was told: %+v", hl)
	}

	// An episode nobody was told of ends with its 2xx and leaves nothing.
	rc.status.Store(http.StatusUnauthorized)
	enqueue(t, db, h, 1, webhooks.KindLead, 3)
	attempt(9, 1)
	hl, _ = health()
	if hl.Failures != 1 || hl.Last.Reason != webhooks.ReasonAuth {
		t.Fatalf("a new episode: %+v", hl)
	}
	rc.status.Store(http.StatusNoContent)
	c.Add(20 * time.Minute)
	waitFor(t, "the episode to end", func() bool { _, ok := health(); return rc.posts.Load() == 10 && !ok })
	// Told of just as it ended (the email went, then the 2xx came before
	// the mark): the recovery is told too.
	if err := h.MarkAlerted(ctx, 1, ep.ID, hl.FailingSince); err != nil {
		t.Fatal(err)
	}
	if hl2, ok := health(); !ok || hl2.Alerted != hl.FailingSince || hl2.Recovered == 0 || hl2.FailingSince != 0 {
		t.Fatalf("marked after its 2xx: %+v (kept %v)", hl2, ok)
	} else if err := h.MarkRecoveryTold(ctx, 1, ep.ID, hl2.Recovered); err != nil {
		t.Fatal(err)
	}

	// A 410 ends its delivery, and counts as a failure of the endpoint.
	rc.status.Store(http.StatusGone)
	enqueue(t, db, h, 1, webhooks.KindLead, 4)
	attempt(11, 1)
	if err := h.Remove(ctx, 1, ep.ID); err != nil {
		t.Fatal(err)
	}
	if hl, ok := health(); ok {
		t.Fatalf("a removed endpoint's health is kept: %+v", hl)
	}
	if err := h.MarkAlerted(ctx, 1, ep.ID, 1); err != nil {
		t.Fatal(err)
	}
	if hl, ok := health(); ok {
		t.Fatalf("a removed endpoint marked told: %+v", hl)
	}
}
