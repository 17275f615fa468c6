package webhooks

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"appliance/store"
)

// FailingAfter is how long the deliveries to an endpoint must have failed,
// with no 2xx between, before the endpoint counts as failing: the
// dashboard warns of it and its site's owners are emailed once. An hour
// holds about ten attempts of the default backoff (10 s doubling), so a
// receiver's restart, a deploy or a minute's network trouble, which
// retries mend on their own, is never reported; while a broken URL, an
// expired token (401) or an expired certificate, which only a person
// mends, is reported the same working hour, not days later.
const FailingAfter = time.Hour

// Health is how the deliveries to one endpoint have gone since its last
// 2xx (store.WebhookHealth), read for the dashboard and the alerts.
type Health struct {
	Site     uint32
	Endpoint uint64
	store.WebhookHealth
}

// Failing reports whether the endpoint has failed every attempt for at
// least FailingAfter at now.
func (h Health) Failing(now time.Time) bool {
	return h.FailingSince != 0 && now.UnixMilli()-h.FailingSince >= FailingAfter.Milliseconds()
}

// Failing reports whether the endpoint is failing at now (Health.Failing).
func (h *Hooks) Failing(hl Health) bool { return hl.Failing(h.o.Now()) }

// noteHealth records within tx what an attempt to endpoint ep of site
// says of the endpoint: a 2xx (state delivered) ends a failing episode,
// any other outcome starts one or goes on with it. An episode the owners
// were emailed about keeps its record after a 2xx (Recovered), for the
// email that says it works again.
func noteHealth(tx *store.Tx, site uint32, ep uint64, a store.DeliveryAttempt, state byte) error {
	if state == store.DeliveryDropped {
		return nil // the endpoint is gone: its attempt says nothing of it
	}
	key := store.HookHealthKey(site, ep)
	hl, err := txHealth(tx, key)
	if err != nil {
		return err
	}
	if state == store.DeliveryDelivered {
		switch {
		case hl.FailingSince == 0:
			return nil
		case hl.Alerted == 0:
			tx.Delete(key)
			return nil
		}
		hl.FailingSince, hl.Failures, hl.Last, hl.Recovered = 0, 0, store.DeliveryAttempt{}, a.Time
		tx.Set(key, hl.Encode())
		return nil
	}
	if hl.FailingSince == 0 {
		// A new episode: one that was told and has recovered since, with
		// its recovery still untold, is over; this one is told anew.
		hl = store.WebhookHealth{FailingSince: a.Time}
	}
	hl.Failures++
	hl.Last = a
	tx.Set(key, hl.Encode())
	return nil
}

func txHealth(tx *store.Tx, key []byte) (store.WebhookHealth, error) {
	v, err := tx.Get(key)
	if errors.Is(err, store.ErrNotFound) {
		return store.WebhookHealth{}, nil
	}
	if err != nil {
		return store.WebhookHealth{}, err
	}
	return store.DecodeWebhookHealth(v)
}

// Health returns the health of the endpoints of site that have failed
// since their last 2xx, or recovered with the recovery untold, by
// endpoint id; an endpoint that takes what it is sent is not in it. It
// reads at most one record per endpoint: cheap enough for every page.
func (h *Hooks) Health(ctx context.Context, site uint32) (map[uint64]Health, error) {
	out := map[uint64]Health{}
	err := h.scanHealth(ctx, store.HookHealthPrefix(site), func(hl Health) { out[hl.Endpoint] = hl })
	if err != nil {
		return nil, fmt.Errorf("webhook health of site %d: %w", site, err)
	}
	return out, nil
}

// AllHealth returns the health of every endpoint of every site that has
// failed since its last 2xx, or recovered with the recovery untold.
func (h *Hooks) AllHealth(ctx context.Context) ([]Health, error) {
	var out []Health
	if err := h.scanHealth(ctx, store.HookHealthAll(), func(hl Health) { out = append(out, hl) }); err != nil {
		return nil, fmt.Errorf("webhook health: %w", err)
	}
	return out, nil
}

func (h *Hooks) scanHealth(ctx context.Context, prefix []byte, fn func(Health)) error {
	var derr error
	err := h.db.ScanPrefix(ctx, prefix, false, 0, func(k, v []byte) bool {
		site, ep, ok := store.ParseHookHealthKey(k)
		if !ok {
			return true
		}
		w, err := store.DecodeWebhookHealth(v)
		if err != nil {
			derr = fmt.Errorf("endpoint %d of site %d: %w", ep, site, err)
			return false
		}
		fn(Health{Site: site, Endpoint: ep, WebhookHealth: w})
		return true
	})
	if err == nil {
		err = derr
	}
	return err
}

// Waiting counts the deliveries of site waiting for an attempt, by
// endpoint id. It reads the whole outbox (outbox.Queue.Lanes): for a page
// of the webhooks or an alert, not for every request.
func (h *Hooks) Waiting(ctx context.Context, site uint32) (map[uint64]int, error) {
	n, err := h.due.Lanes(ctx, site)
	if err != nil {
		return nil, fmt.Errorf("deliveries waiting of site %d: %w", site, err)
	}
	return n, nil
}

// MarkAlerted records that the owners were told that endpoint ep of site
// fails since since (its Health.FailingSince). It changes nothing when
// the episode is no longer the one told of: a 2xx came meanwhile, and so
// the email that says it works again is due now (Recovered), unless a new
// episode began since.
func (h *Hooks) MarkAlerted(ctx context.Context, site uint32, ep uint64, since int64) error {
	key := store.HookHealthKey(site, ep)
	return h.db.Update(ctx, func(tx *store.Tx) error {
		v, err := tx.Get(key)
		if errors.Is(err, store.ErrNotFound) {
			// Recovered before the mark, and dropped as an untold
			// episode: kept again to tell the recovery, unless the
			// endpoint was removed.
			w, err := txWebhooks(tx, site)
			if err != nil || !slices.ContainsFunc(w.Endpoints, func(e store.WebhookEndpoint) bool { return e.ID == ep }) {
				return err
			}
			hl := store.WebhookHealth{Alerted: since, Recovered: h.o.Now().UnixMilli()}
			tx.Set(key, hl.Encode())
			return nil
		}
		if err != nil {
			return err
		}
		hl, err := store.DecodeWebhookHealth(v)
		if err != nil {
			return err
		}
		if hl.FailingSince != since {
			return nil // a newer episode, told on its own
		}
		hl.Alerted = since
		tx.Set(key, hl.Encode())
		return nil
	})
}

// MarkRecoveryTold records that the owners were told that endpoint ep of
// site works again since recovered (its Health.Recovered): the record
// goes, unless a new episode began since.
func (h *Hooks) MarkRecoveryTold(ctx context.Context, site uint32, ep uint64, recovered int64) error {
	key := store.HookHealthKey(site, ep)
	return h.db.Update(ctx, func(tx *store.Tx) error {
		hl, err := txHealth(tx, key)
		if err != nil {
			return err
		}
		if hl.Recovered == recovered && hl.FailingSince == 0 {
			tx.Delete(key)
		}
		return nil
	})
}
