package webhooks

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"appliance/store"
)

// batch is how many due deliveries one look at the outbox takes.
const batch = 256

// due is a queued delivery.
type due struct {
	site uint32
	id   uint64
	at   int64
}

// Run sends due deliveries until ctx ends: it looks at the outbox every
// Tick and whenever Notify or a finished attempt wakes it, and keeps at most
// Workers attempts in flight. On return every attempt it started has
// finished or been cancelled; a cancelled one stays due and is sent again
// by the next Run.
func (h *Hooks) Run(ctx context.Context) {
	tick := time.NewTicker(h.o.Tick)
	defer tick.Stop()
	var wg sync.WaitGroup
	defer wg.Wait()
	slots := make(chan struct{}, h.o.Workers)
	for {
		if err := h.dispatch(ctx, &wg, slots); err != nil && ctx.Err() == nil {
			h.o.Log.Error("webhooks: read outbox", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		case <-h.kick:
		}
	}
}

// dispatch starts an attempt for each due delivery not yet in flight, while
// a worker slot is free.
func (h *Hooks) dispatch(ctx context.Context, wg *sync.WaitGroup, slots chan struct{}) error {
	var list []due
	err := h.db.Scan(ctx, store.OutboxPrefix(), store.OutboxDueBefore(h.o.Now().UnixMilli()), false, batch,
		func(k, v []byte) bool {
			at, id, ok := store.ParseOutboxKey(k)
			if ok && len(v) == 4 {
				list = append(list, due{site: binary.BigEndian.Uint32(v), id: id, at: at})
			}
			return true
		})
	if err != nil {
		return err
	}
	for _, d := range list {
		h.mu.Lock()
		busy := h.inflight[d.id]
		h.mu.Unlock()
		if busy {
			continue
		}
		select {
		case slots <- struct{}{}:
		default:
			return nil // all workers busy: a finished one wakes us
		}
		h.mu.Lock()
		h.inflight[d.id] = true
		h.mu.Unlock()
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := h.attempt(ctx, d); err != nil && ctx.Err() == nil {
				h.o.Log.Error("webhooks: delivery", "delivery", d.id, "err", err)
			}
			h.mu.Lock()
			delete(h.inflight, d.id)
			h.mu.Unlock()
			<-slots
			h.Notify()
		}()
	}
	return nil
}

// attempt sends one due delivery and records the outcome.
func (h *Hooks) attempt(ctx context.Context, d due) error {
	dl, err := h.Delivery(d.site, d.id)
	if errors.Is(err, ErrNotFound) {
		return h.db.Delete(ctx, store.OutboxKey(d.at, d.id)) // an orphan entry
	}
	if err != nil {
		return err
	}
	if dl.State != store.DeliveryPending || dl.Due != d.at {
		// Resend moved it, or it was recorded since the scan: drop the
		// stale entry unless it is the current one.
		return h.db.Update(ctx, func(tx *store.Tx) error {
			cur, err := txDelivery(tx, d.site, d.id)
			if err != nil && !errors.Is(err, ErrNotFound) {
				return err
			}
			if err != nil || cur.State != store.DeliveryPending || cur.Due != d.at {
				tx.Delete(store.OutboxKey(d.at, d.id))
			}
			return nil
		})
	}
	w, err := h.load(d.site)
	if err != nil {
		return err
	}
	i := slices.IndexFunc(w.Endpoints, func(ep store.WebhookEndpoint) bool { return ep.ID == dl.Endpoint })
	if i < 0 {
		return h.record(context.WithoutCancel(ctx), d, store.DeliveryAttempt{Time: h.o.Now().UnixMilli(), Error: "endpoint removed; dropped"}, store.DeliveryDropped)
	}
	a := h.post(ctx, w.Endpoints[i], &dl)
	if ctx.Err() != nil && a.Status == 0 {
		return nil // cancelled by shutdown: still due, sent again by the next Run
	}
	state := store.DeliveryPending
	if a.Status >= 200 && a.Status < 300 {
		state = store.DeliveryDelivered
	}
	// Record even when shutdown began after the answer: forgetting a 2xx
	// would send the delivery again.
	return h.record(context.WithoutCancel(ctx), d, a, state)
}

// post sends dl to ep once and describes the attempt.
func (h *Hooks) post(ctx context.Context, ep store.WebhookEndpoint, dl *store.Delivery) store.DeliveryAttempt {
	start := h.o.Now()
	a := store.DeliveryAttempt{Time: start.UnixMilli()}
	defer func() { a.Duration = h.o.Now().Sub(start).Milliseconds() }()
	a.Status, a.Error = Send(ctx, h.client, h.o.Timeout, Request{
		URL: ep.URL, Secret: ep.Secret, Event: dl.Event, ID: dl.ID, Attempt: dl.Attempts + 1,
		At: start, Body: dl.Body, UserAgent: "appliance-webhooks/1",
	})
	return a
}

// record appends an attempt to a delivery's log and moves it to state; a
// pending delivery is queued again after its backoff.
func (h *Hooks) record(ctx context.Context, d due, a store.DeliveryAttempt, state byte) error {
	if len(a.Error) > 300 {
		a.Error = a.Error[:300]
	}
	a.Error = string(bytes.ToValidUTF8([]byte(a.Error), []byte("?")))
	err := h.db.Update(ctx, func(tx *store.Tx) error {
		dl, err := txDelivery(tx, d.site, d.id)
		if err != nil {
			return err
		}
		dl.Attempts++
		dl.Recent = append(dl.Recent, a)
		if n := len(dl.Recent) - store.MaxDeliveryAttempts; n > 0 {
			dl.Recent = slices.Delete(dl.Recent, 0, n)
		}
		if dl.State == store.DeliveryPending {
			tx.Delete(store.OutboxKey(dl.Due, d.id))
			switch state {
			case store.DeliveryPending:
				dl.Due = h.o.Now().Add(h.o.Backoff(int(dl.Attempts))).UnixMilli()
				tx.Set(store.OutboxKey(dl.Due, d.id), binary.BigEndian.AppendUint32(nil, d.site))
			case store.DeliveryDelivered:
				dl.Delivered = a.Time
			}
			dl.State = state
		}
		tx.Set(store.DeliveryKey(d.site, d.id), dl.Encode())
		return nil
	})
	if err != nil {
		return fmt.Errorf("record attempt: %w", err)
	}
	return nil
}
