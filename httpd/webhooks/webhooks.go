// Package webhooks delivers a site's events (leads, callbacks and calls)
// to the HTTP endpoints its owner configured, as signed
// JSON, from an outbox kept in the store.
//
// The model: a site has a few endpoints (URL, secret, the event kinds they
// take). Whoever stores an event calls Enqueue in the same store.DB.Update,
// which adds one Delivery per matching endpoint and queues it in the
// outbox (package outbox, kind store.DueDelivery); so an event is never
// stored without its deliveries, and a crash loses neither. Run, started
// by the server, POSTs each delivery as it comes due; a 2xx answer marks
// it delivered, anything else
// schedules the next attempt with exponential backoff and jitter, for as
// long as it takes; but an email an SMTP server refused for good (a 5xx
// to the message, not to the appliance's own login) ends refused, since
// the same email would be refused again, and so does a POST answered 410
// Gone, a receiver's word that it wants no more. Every attempt is kept in the delivery's log, and Resend
// queues a delivered one again.
//
// Each attempt's outcome also updates its endpoint's health (Health): since
// when every attempt has failed, the last failure. An endpoint that fails
// for FailingAfter is failing, which the dashboard warns of and its
// site's owners are emailed about, once an episode (MarkAlerted); its
// deliveries are retried all the same.
//
// Delivery is at least once: a crash between a receiver's 2xx and the
// write that records it sends the delivery again. The X-Appliance-Delivery
// header is the delivery's id, the same on every attempt and resend, so a
// receiver that keeps the ids it has processed sees each event exactly once.
// The body is fixed when the event is enqueued and signed on every attempt
// with the endpoint's secret (see Sign and Verify).
package webhooks

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"appliance/httpd/notice"
	"appliance/httpd/outbox"
	"appliance/internal/usererr"
	"appliance/store"
)

// Errors of the webhooks package.
var (
	// ErrInvalid is the kind of every error about an endpoint's settings.
	ErrInvalid = usererr.New("webhooks", 400, "invalid endpoint")
	// ErrNotFound is returned for an endpoint or delivery that is not there.
	ErrNotFound = errors.New("webhooks: not found")
	// ErrSignature is wrapped by every error of Verify.
	ErrSignature = errors.New("webhooks: bad signature")
	// ErrRefused is the kind of every refusal of a target address by a
	// Policy: when a URL is added, and when a request would connect. Its
	// messages are the dashboard's catalog keys, so an owner reads why in
	// their language.
	ErrRefused = usererr.New("webhooks", 400, "outbound policy")
)

// Kind is the kind of an event; an endpoint takes the kinds it lists.
type Kind string

// The kinds of events, each sent by whoever stores its record: leads
// (httpd), callbacks (package callbacks), calls (POST /api/v1/calls),
// finished chats (package chats). A
// kind joins this list only once something sends it, so that nobody
// subscribes to events that never come.
const (
	KindLead     Kind = "lead"
	KindCallback Kind = "callback"
	KindCall     Kind = "call"
	KindChat     Kind = "chat"
)

// KindTest is the kind of the body Test sends; nobody subscribes to it.
const KindTest Kind = "test"

// Kinds returns every kind, in the order the dashboard shows them.
func Kinds() []Kind { return []Kind{KindLead, KindCallback, KindCall, KindChat} }

// The headers of a delivery.
const (
	HeaderSignature = "X-Appliance-Signature" // t=UNIX,v1=hex(HMAC-SHA256(secret, "UNIX." + body))
	HeaderEvent     = "X-Appliance-Event"     // the kind
	HeaderDelivery  = "X-Appliance-Delivery"  // idempotency key: the delivery id, stable across retries
	HeaderAttempt   = "X-Appliance-Attempt"   // 1 for the first attempt, then 2, 3, ...
)

// Limits of endpoints.
const (
	MaxEndpoints = 10   // per site
	MaxURL       = 2048 // bytes
	MaxSecret    = 256  // bytes
	minSecret    = 16
)

// Options tune Hooks; the zero value is what serve uses.
type Options struct {
	// Policy says which addresses endpoints may reach; the zero value,
	// public addresses only. It covers callback scenarios too, which are
	// sent with Client and checked with CheckURL.
	Policy Policy
	// Timeout bounds one attempt; default 10 s.
	Timeout time.Duration
	// Tick is the longest Run sleeps without looking at the outbox
	// (outbox.Options.Tick); it wakes for every new delivery and every due
	// time anyway. Default 1 min.
	Tick time.Duration
	// Backoff is the wait after the n-th failed attempt (n >= 1); default
	// Backoff.
	Backoff func(n int) time.Duration
	// Now is the clock; default time.Now.
	Now func() time.Time
	// Workers is how many deliveries are in flight at once; default 8.
	Workers int
	// PerEndpoint is how many of them may go to one endpoint at once, so
	// that a receiver that hangs (each attempt waits out Timeout) holds
	// only that many workers while the others deliver to the rest;
	// default 2.
	PerEndpoint int
	// Log receives failed attempts and store errors; default slog.Default.
	Log *slog.Logger
	// Mail sends the delivery id of body to a mailto: endpoint and says
	// how it went, as notice.Mailer.Send does: final when the SMTP server
	// refused it for good, when the delivery is not tried again (it ends
	// store.DeliveryRefused). nil while no SMTP server is configured, when
	// such deliveries wait and are tried again.
	Mail func(ctx context.Context, endpoint string, id uint64, body []byte) (status int, failure string, final bool)
	// Telegram posts the delivery id of body to a telegram: endpoint as
	// the bot whose token is secret, and says how it went (package
	// notice); nil: such deliveries wait.
	Telegram func(ctx context.Context, endpoint, secret string, id uint64, body []byte) (status int, failure string)
}

// Hooks manages the endpoints and the outbox of one store.
type Hooks struct {
	db     *store.DB
	o      Options
	client *http.Client  // o.Policy's: the one client of every outbound request
	due    *outbox.Queue // kind store.DueDelivery

	// delivered and failed count the attempts since start by outcome: a
	// 2xx answer, or anything else (another status, no answer).
	delivered, failed atomic.Uint64
}

// Attempts counts the deliveries' attempts since start: answered with a
// 2xx, and not (another status, a timeout, a refused connection).
func (h *Hooks) Attempts() (delivered, failed uint64) { return h.delivered.Load(), h.failed.Load() }

// Backlog counts the deliveries waiting for an attempt (a first one, or
// the next after a failure) and says when the oldest of them was made:
// the zero time when none waits.
func (h *Hooks) Backlog(ctx context.Context) (n int, oldest time.Time, err error) {
	n, it, err := h.due.Backlog(ctx)
	if err != nil || n == 0 {
		return n, time.Time{}, err
	}
	dl, err := h.Delivery(it.Site, it.ID)
	if err != nil {
		// Gone since the scan (delivered, pruned): its entry goes with it.
		return n, it.At, nil
	}
	return n, time.UnixMilli(dl.Created), nil
}

// New returns Hooks over db. Deliveries are sent only while Run runs.
func New(db *store.DB, o Options) *Hooks {
	if o.Timeout <= 0 {
		o.Timeout = 10 * time.Second
	}
	if o.Backoff == nil {
		o.Backoff = Backoff
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Workers <= 0 {
		o.Workers = 8
	}
	if o.PerEndpoint <= 0 {
		o.PerEndpoint = 2
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	// net/http rather than fasthttp.Client: deliveries are outbound and
	// few, so allocation does not matter, while a request bound to ctx
	// (fasthttp's client has no context) lets shutdown cancel a slow
	// receiver at once, and the standard transport brings HTTP/2 and
	// certificate checks for any receiver.
	return &Hooks{db: db, o: o, client: o.Policy.Client(),
		due: outbox.New(db, store.DueDelivery, outbox.Options{Now: o.Now, Tick: o.Tick, Log: o.Log, PerLane: o.PerEndpoint})}
}

// Client is the client of every outbound request (deliveries and callback
// scenarios): its dialer enforces Options.Policy on each connection.
func (h *Hooks) Client() *http.Client { return h.client }

// CheckURL checks a receiver's URL against Options.Policy as it is
// added: a refusal wraps ErrRefused. See Policy.CheckURL.
func (h *Hooks) CheckURL(ctx context.Context, rawURL string) error {
	return h.o.Policy.CheckURL(ctx, rawURL)
}

// Backoff is the default wait after the n-th failed attempt: 10 s doubling
// up to an hour, each wait drawn from its upper half so that deliveries
// failing together do not retry together.
func Backoff(n int) time.Duration { return outbox.Backoff(n, 10*time.Second, time.Hour) }

// Endpoints returns the endpoints of site, oldest first.
func (h *Hooks) Endpoints(site uint32) ([]store.WebhookEndpoint, error) {
	w, err := h.load(site)
	return w.Endpoints, err
}

func (h *Hooks) load(site uint32) (store.Webhooks, error) {
	v, err := h.db.Get(store.WebhooksKey(site))
	if errors.Is(err, store.ErrNotFound) {
		return store.Webhooks{}, nil
	}
	if err != nil {
		return store.Webhooks{}, fmt.Errorf("webhooks of site %d: %w", site, err)
	}
	return store.DecodeWebhooks(v)
}

func txWebhooks(tx *store.Tx, site uint32) (store.Webhooks, error) {
	v, err := tx.Get(store.WebhooksKey(site))
	if errors.Is(err, store.ErrNotFound) {
		return store.Webhooks{}, nil
	}
	if err != nil {
		return store.Webhooks{}, err
	}
	return store.DecodeWebhooks(v)
}

// Add validates and stores a new endpoint of site. An empty secret is
// generated; no kinds means leads only. The result holds the secret: show
// it once, it is not shown again.
func (h *Hooks) Add(ctx context.Context, site uint32, rawURL, secret string, kinds []Kind) (store.WebhookEndpoint, error) {
	ep, err := newEndpoint(rawURL, secret, kinds)
	if err != nil {
		return ep, err
	}
	if err := h.checkReach(ctx, ep); err != nil {
		return store.WebhookEndpoint{}, err
	}
	if IsTelegram(ep.URL) {
		if err := notice.CheckBotToken(ep.Secret); err != nil {
			return store.WebhookEndpoint{}, ErrInvalid.Because(err)
		}
	}
	if ep.Secret == "" {
		b := make([]byte, 32)
		rand.Read(b)
		ep.Secret = "whsec_" + base64.RawURLEncoding.EncodeToString(b)
	}
	ep.ID = h.db.NextID()
	ep.Created = h.o.Now().UnixMilli()
	err = h.db.Update(ctx, func(tx *store.Tx) error {
		w, err := txWebhooks(tx, site)
		if err != nil {
			return err
		}
		if len(w.Endpoints) >= MaxEndpoints {
			return ErrInvalid.Errorf("a site has at most %d endpoints", MaxEndpoints)
		}
		w.Endpoints = append(w.Endpoints, ep)
		tx.Set(store.WebhooksKey(site), w.Encode())
		return nil
	})
	if err != nil {
		return store.WebhookEndpoint{}, fmt.Errorf("add webhook: %w", err)
	}
	return ep, nil
}

// checkReach checks that ep's deliveries may go where its URL says: an
// http(s) URL against Options.Policy; an email goes to the operator's own
// SMTP server and a Telegram message to the Bot API's fixed URL.
func (h *Hooks) checkReach(ctx context.Context, ep store.WebhookEndpoint) error {
	if IsMail(ep.URL) || IsTelegram(ep.URL) {
		return nil
	}
	if err := h.CheckURL(ctx, ep.URL); err != nil {
		return ErrInvalid.Because(err)
	}
	return nil
}

// IsMail reports whether an endpoint's URL is a mailto: one: its
// deliveries are emails (Options.Mail), not POSTs.
func IsMail(rawURL string) bool { return strings.HasPrefix(rawURL, "mailto:") }

// IsTelegram reports whether an endpoint's URL is a telegram: one: its
// deliveries are messages of the bot whose token is its secret
// (Options.Telegram).
func IsTelegram(rawURL string) bool { return strings.HasPrefix(rawURL, "telegram:") }

// newEndpoint checks the settings of an endpoint; an empty secret is left
// empty.
func newEndpoint(rawURL, secret string, kinds []Kind) (store.WebhookEndpoint, error) {
	rawURL = strings.TrimSpace(rawURL)
	u, err := url.Parse(rawURL)
	switch {
	case err == nil && strings.EqualFold(u.Scheme, "mailto") && len(rawURL) <= MaxURL:
		_, canonical, err := notice.ParseEndpoint("mailto:" + rawURL[len("mailto:"):])
		if err != nil {
			return store.WebhookEndpoint{}, ErrInvalid.Because(err)
		}
		u = &url.URL{Scheme: "mailto", Opaque: strings.TrimPrefix(canonical, "mailto:")}
	case err == nil && strings.EqualFold(u.Scheme, "telegram") && len(rawURL) <= MaxURL:
		_, canonical, err := notice.ParseTelegram(rawURL)
		if err != nil {
			return store.WebhookEndpoint{}, ErrInvalid.Because(err)
		}
		if secret := strings.TrimSpace(secret); secret != "" { // "": Add refuses it, Change keeps the token (checkOwn)
			if err := notice.CheckBotToken(secret); err != nil {
				return store.WebhookEndpoint{}, ErrInvalid.Because(err)
			}
		}
		u = &url.URL{Scheme: "telegram", Opaque: strings.TrimPrefix(canonical, "telegram:")}
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || len(rawURL) > MaxURL:
		return store.WebhookEndpoint{}, ErrInvalid.Errorf("the URL must be http:// or https://host/..., mailto:ADDRESS or telegram:CHAT_ID, at most %d bytes", MaxURL)
	}
	secret = strings.TrimSpace(secret)
	switch {
	case secret == "":
		// Add makes one; Change keeps the one the endpoint has.
	case len(secret) < minSecret || len(secret) > MaxSecret:
		return store.WebhookEndpoint{}, ErrInvalid.Errorf("a secret has %d to %d characters (leave it empty to generate one)", minSecret, MaxSecret)
	case strings.ContainsFunc(secret, func(r rune) bool { return r < 0x21 || r > 0x7e }):
		return store.WebhookEndpoint{}, ErrInvalid.Errorf("a secret is printable ASCII without spaces")
	}
	ep := store.WebhookEndpoint{URL: u.String(), Secret: secret}
	if len(ep.URL) > MaxURL {
		// As stored and sent back by Change: non-ASCII characters
		// percent-encoded, three bytes for each of theirs.
		return store.WebhookEndpoint{}, ErrInvalid.Errorf("the URL must be http:// or https://host/..., mailto:ADDRESS or telegram:CHAT_ID, at most %d bytes", MaxURL)
	}
	for _, k := range kinds {
		if !slices.Contains(Kinds(), k) {
			return store.WebhookEndpoint{}, ErrInvalid.Errorf("unknown event kind %q (lead, callback, call, chat)", k)
		}
		if !slices.Contains(ep.Events, string(k)) {
			ep.Events = append(ep.Events, string(k))
		}
	}
	if len(ep.Events) == 0 {
		ep.Events = []string{string(KindLead)}
	}
	return ep, nil
}

// Change sets the URL, the secret and the kinds of endpoint id of site;
// an empty secret keeps the one it has. Its queued deliveries, retries
// included, go to the new URL signed with the new secret from their next
// attempt, under the same delivery ids: changing where a CRM listens
// loses nothing (removing the endpoint drops them). It returns the
// endpoint as changed.
func (h *Hooks) Change(ctx context.Context, site uint32, id uint64, rawURL, secret string, kinds []Kind) (store.WebhookEndpoint, error) {
	ep, err := newEndpoint(rawURL, secret, kinds)
	if err != nil {
		return ep, err
	}
	if err := h.checkReach(ctx, ep); err != nil {
		return store.WebhookEndpoint{}, err
	}
	err = h.db.Update(ctx, func(tx *store.Tx) error {
		w, err := txWebhooks(tx, site)
		if err != nil {
			return err
		}
		i := slices.IndexFunc(w.Endpoints, func(e store.WebhookEndpoint) bool { return e.ID == id })
		if i < 0 {
			return ErrNotFound
		}
		old := w.Endpoints[i]
		ep.ID, ep.Created = old.ID, old.Created
		if ep.Secret == "" {
			ep.Secret = old.Secret
		}
		if IsTelegram(ep.URL) { // a signing secret kept from a URL before is no bot's token
			if err := notice.CheckBotToken(ep.Secret); err != nil {
				return ErrInvalid.Because(err)
			}
		}
		w.Endpoints[i] = ep
		tx.Set(store.WebhooksKey(site), w.Encode())
		return nil
	})
	if err != nil {
		return store.WebhookEndpoint{}, fmt.Errorf("change webhook %d: %w", id, err)
	}
	return ep, nil
}

// Test posts a test event to endpoint id of site once, now, and describes
// the attempt: a body of kind "test" with an empty data, signed with the
// endpoint's secret, for a developer to check the receiver before real
// events come. It is neither queued nor retried nor logged.
func (h *Hooks) Test(ctx context.Context, site uint32, siteKey string, id uint64) (store.DeliveryAttempt, error) {
	w, err := h.load(site)
	if err != nil {
		return store.DeliveryAttempt{}, err
	}
	i := slices.IndexFunc(w.Endpoints, func(e store.WebhookEndpoint) bool { return e.ID == id })
	if i < 0 {
		return store.DeliveryAttempt{}, ErrNotFound
	}
	body, err := json.Marshal(payload{Event: KindTest, SiteKey: siteKey, CreatedAt: h.o.Now().UTC().Truncate(time.Millisecond), Data: struct{}{}})
	if err != nil {
		return store.DeliveryAttempt{}, err
	}
	a, _ := h.post(ctx, w.Endpoints[i], &store.Delivery{ID: h.db.NextID(), Event: string(KindTest), Body: body})
	return a, nil
}

// ParseKinds splits a comma-separated list of kinds ("lead,callback").
func ParseKinds(s string) []Kind {
	var out []Kind
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' }) {
		out = append(out, Kind(strings.ToLower(f)))
	}
	return out
}

// Remove deletes an endpoint of site, and its health with it: a removed
// endpoint is neither warned of nor emailed about. Its undelivered
// deliveries are dropped when they come due.
func (h *Hooks) Remove(ctx context.Context, site uint32, id uint64) error {
	err := h.db.Update(ctx, func(tx *store.Tx) error {
		w, err := txWebhooks(tx, site)
		if err != nil {
			return err
		}
		i := slices.IndexFunc(w.Endpoints, func(ep store.WebhookEndpoint) bool { return ep.ID == id })
		if i < 0 {
			return ErrNotFound
		}
		w.Endpoints = slices.Delete(w.Endpoints, i, i+1)
		tx.Set(store.WebhooksKey(site), w.Encode())
		tx.Delete(store.HookHealthKey(site, id))
		return nil
	})
	if err != nil {
		return fmt.Errorf("remove webhook %d: %w", id, err)
	}
	return nil
}

// Event is something that happened on a site, for its webhooks.
type Event struct {
	Kind    Kind
	ID      uint64 // the id of the event's own record (a lead's id)
	Site    uint32
	SiteKey string
	Time    time.Time
	Data    any // the "data" of the body, marshalled with encoding/json
}

// payload is the body of every delivery.
type payload struct {
	Event     Kind      `json:"event"`
	ID        uint64    `json:"id"`
	SiteKey   string    `json:"site_key"`
	CreatedAt time.Time `json:"created_at"`
	Data      any       `json:"data"`
}

// Enqueue adds within tx one delivery of ev to every endpoint of its site
// that takes its kind, due now, and returns how many. Call it in the same
// Update that stores the event, so that both are written or neither; Run
// sends them as soon as the Update commits. Like every function given to
// Update, it does not block.
func (h *Hooks) Enqueue(tx *store.Tx, ev Event) (int, error) {
	w, err := txWebhooks(tx, ev.Site)
	if err != nil {
		return 0, fmt.Errorf("enqueue %s %d: %w", ev.Kind, ev.ID, err)
	}
	var body []byte
	n := 0
	now := h.o.Now().UnixMilli()
	for _, ep := range w.Endpoints {
		if !slices.Contains(ep.Events, string(ev.Kind)) {
			continue
		}
		if body == nil {
			body, err = json.Marshal(payload{Event: ev.Kind, ID: ev.ID, SiteKey: ev.SiteKey, CreatedAt: ev.Time.UTC(), Data: ev.Data})
			if err != nil {
				return 0, fmt.Errorf("enqueue %s %d: %w", ev.Kind, ev.ID, err)
			}
		}
		dl := store.Delivery{ID: h.db.NextID(), Endpoint: ep.ID, URL: ep.URL, Event: string(ev.Kind), EventID: ev.ID,
			Body: body, Created: now, State: store.DeliveryPending, Due: now}
		tx.Set(store.DeliveryKey(ev.Site, dl.ID), dl.Encode())
		h.due.Put(tx, outbox.Item{At: time.UnixMilli(dl.Due), ID: dl.ID, Site: ev.Site, Lane: dl.Endpoint})
		n++
	}
	return n, nil
}

// Deliveries returns up to limit deliveries of site, newest first: the
// delivery log.
func (h *Hooks) Deliveries(ctx context.Context, site uint32, limit int) ([]store.Delivery, error) {
	var out []store.Delivery
	var derr error
	err := h.db.ScanPrefix(ctx, store.DeliveryPrefix(site), true, limit, func(k, v []byte) bool {
		id, _ := store.IDFromKey(k)
		dl, err := store.DecodeDelivery(id, v)
		if err != nil {
			derr = fmt.Errorf("delivery %d: %w", id, err)
			return false
		}
		out = append(out, dl)
		return true
	})
	if err == nil {
		err = derr
	}
	if err != nil {
		return nil, fmt.Errorf("delivery log: %w", err)
	}
	return out, nil
}

// Delivery returns one delivery of site.
func (h *Hooks) Delivery(site uint32, id uint64) (store.Delivery, error) {
	v, err := h.db.Get(store.DeliveryKey(site, id))
	if errors.Is(err, store.ErrNotFound) {
		return store.Delivery{}, ErrNotFound
	}
	if err != nil {
		return store.Delivery{}, fmt.Errorf("delivery %d: %w", id, err)
	}
	return store.DecodeDelivery(id, v)
}

// Resend queues a delivery of site again, due now, with the same body and
// delivery id: "send again" in the dashboard. A pending delivery is moved
// up to now.
func (h *Hooks) Resend(ctx context.Context, site uint32, id uint64) error {
	now := h.o.Now().UnixMilli()
	err := h.db.Update(ctx, func(tx *store.Tx) error {
		dl, err := txDelivery(tx, site, id)
		if err != nil {
			return err
		}
		if dl.State == store.DeliveryPending {
			h.due.Remove(tx, time.UnixMilli(dl.Due), id)
		}
		dl.State, dl.Due = store.DeliveryPending, now
		h.due.Put(tx, outbox.Item{At: time.UnixMilli(dl.Due), ID: id, Site: site, Lane: dl.Endpoint})
		tx.Set(store.DeliveryKey(site, id), dl.Encode())
		return nil
	})
	if err != nil {
		return fmt.Errorf("resend delivery %d: %w", id, err)
	}
	return nil
}

func txDelivery(tx *store.Tx, site uint32, id uint64) (store.Delivery, error) {
	v, err := tx.Get(store.DeliveryKey(site, id))
	if errors.Is(err, store.ErrNotFound) {
		return store.Delivery{}, ErrNotFound
	}
	if err != nil {
		return store.Delivery{}, err
	}
	return store.DecodeDelivery(id, v)
}
