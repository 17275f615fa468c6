package webhooks

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"time"

	"appliance/httpd/outbox"
	"appliance/store"
)

// Run sends due deliveries from the outbox until ctx ends, at most Workers
// at once (see outbox.Queue.Run). On return every attempt it started has
// finished or been cancelled; a cancelled one stays due and is sent again
// by the next Run.
func (h *Hooks) Run(ctx context.Context) { h.due.Run(ctx, h.o.Workers, h.attempt) }

// attempt sends one due delivery and records the outcome.
func (h *Hooks) attempt(ctx context.Context, d outbox.Item) error {
	dl, err := h.Delivery(d.Site, d.ID)
	if errors.Is(err, ErrNotFound) {
		return h.db.Update(ctx, func(tx *store.Tx) error { h.due.Remove(tx, d.At, d.ID); return nil }) // an orphan entry
	}
	if err != nil {
		return err
	}
	if dl.State != store.DeliveryPending || dl.Due != d.At.UnixMilli() {
		// Resend moved it, or it was recorded since the scan: drop the
		// stale entry unless it is the current one.
		return h.db.Update(ctx, func(tx *store.Tx) error {
			cur, err := txDelivery(tx, d.Site, d.ID)
			if err != nil && !errors.Is(err, ErrNotFound) {
				return err
			}
			if err != nil || cur.State != store.DeliveryPending || cur.Due != d.At.UnixMilli() {
				h.due.Remove(tx, d.At, d.ID)
			}
			return nil
		})
	}
	w, err := h.load(d.Site)
	if err != nil {
		return err
	}
	i := slices.IndexFunc(w.Endpoints, func(ep store.WebhookEndpoint) bool { return ep.ID == dl.Endpoint })
	if i < 0 {
		return h.record(context.WithoutCancel(ctx), d, store.DeliveryAttempt{Time: h.o.Now().UnixMilli(), Error: "endpoint removed; dropped"}, store.DeliveryDropped)
	}
	a, final := h.post(ctx, w.Endpoints[i], &dl)
	if ctx.Err() != nil && a.Status == 0 {
		return nil // cancelled by shutdown: still due, sent again by the next Run
	}
	state := store.DeliveryPending
	switch {
	case a.Status >= 200 && a.Status < 300 && !final:
		state = store.DeliveryDelivered
		h.delivered.Add(1)
	case final:
		state = store.DeliveryRefused
		h.failed.Add(1)
	default:
		h.failed.Add(1)
	}
	// Record even when shutdown began after the answer: forgetting a 2xx
	// would send the delivery again.
	return h.record(context.WithoutCancel(ctx), d, a, state)
}

// post sends dl to ep once and describes the attempt, with how long it
// took; final is true when the receiver refused it for good (an email's
// SMTP server, the Telegram Bot API, a 410 Gone), so that it is not tried
// again.
func (h *Hooks) post(ctx context.Context, ep store.WebhookEndpoint, dl *store.Delivery) (a store.DeliveryAttempt, final bool) {
	start := h.o.Now()
	a = store.DeliveryAttempt{Time: start.UnixMilli()}
	switch {
	case IsMail(ep.URL) && h.o.Mail == nil:
		a.Error = "no SMTP server to send email through: start serve with --smtp and --smtp-from; it waits until then"
		a.Reason = ReasonNoSMTP
	case IsMail(ep.URL):
		a.Status, a.Error, final = h.o.Mail(ctx, ep.URL, dl.ID, dl.Body)
	case IsTelegram(ep.URL) && h.o.Telegram == nil:
		a.Error = "no Telegram sender in this server; it waits until there is one"
	case IsTelegram(ep.URL):
		a.Status, a.Error = h.o.Telegram(ctx, ep.URL, ep.Secret, dl.ID, dl.Body)
		// The Bot API's 403 (the bot blocked, or no longer in the chat)
		// and 400 (no such chat) stand until someone mends the chat:
		// every try would be refused alike, as a mailbox's 550 is.
		final = a.Status == http.StatusForbidden || a.Status == http.StatusBadRequest
	default:
		a.Status, a.Error, a.Reason = Send(ctx, h.client, h.o.Timeout, Request{
			URL: ep.URL, Secret: ep.Secret, Event: dl.Event, ID: dl.ID, Attempt: dl.Attempts + 1,
			At: start, Body: dl.Body, UserAgent: "appliance-webhooks/1",
		})
		// 410 Gone is a receiver's way to say it wants no more of these
		// (a CRM's hook that was deleted): asking again every hour for
		// ever would only load both sides.
		final = a.Status == http.StatusGone
	}
	a.Duration = h.o.Now().Sub(start).Milliseconds()
	return a, final
}

// record appends an attempt to a delivery's log and moves it to state; a
// pending delivery is queued again after its backoff, one in any other
// state leaves the queue. The endpoint's health follows in the same
// write (noteHealth).
func (h *Hooks) record(ctx context.Context, d outbox.Item, a store.DeliveryAttempt, state byte) error {
	if len(a.Error) > 300 {
		a.Error = a.Error[:300]
	}
	a.Error = string(bytes.ToValidUTF8([]byte(a.Error), []byte("?")))
	err := h.db.Update(ctx, func(tx *store.Tx) error {
		dl, err := txDelivery(tx, d.Site, d.ID)
		if err != nil {
			return err
		}
		dl.Attempts++
		dl.Recent = append(dl.Recent, a)
		if n := len(dl.Recent) - store.MaxDeliveryAttempts; n > 0 {
			dl.Recent = slices.Delete(dl.Recent, 0, n)
		}
		if dl.State == store.DeliveryPending {
			h.due.Remove(tx, time.UnixMilli(dl.Due), d.ID)
			switch state {
			case store.DeliveryPending:
				dl.Due = h.o.Now().Add(h.o.Backoff(int(dl.Attempts))).UnixMilli()
				h.due.Put(tx, outbox.Item{At: time.UnixMilli(dl.Due), ID: d.ID, Site: d.Site, Lane: dl.Endpoint})
			case store.DeliveryDelivered:
				dl.Delivered = a.Time
			}
			dl.State = state
		}
		tx.Set(store.DeliveryKey(d.Site, d.ID), dl.Encode())
		return noteHealth(tx, d.Site, dl.Endpoint, a, state)
	})
	if err != nil {
		return fmt.Errorf("record attempt: %w", err)
	}
	return nil
}
