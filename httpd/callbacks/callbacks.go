// Package callbacks is the model of a callback (CoMagic's "sitephone"): a
// visitor leaves a phone number and asks to be called, now or at a time
// they pick, and the site's telephony side makes the call.
//
// A site's callback scenario is a webhook the PBX side acts on: a URL and
// a secret that signs each request as package webhooks signs deliveries
// (webhooks.Sign). Order takes a request through the reference's checks
// in order: the input (bad input is an error, nothing is stored and the
// captcha is not spent), the captcha when the site requires one (status
// 1), then the limits per IP, per visitor and per site (status 4). A
// callback that passes is STORED FIRST, in one durable write with its
// schedule entry and the site's "callback" webhook deliveries; only then
// does the telephony side hear of it:
//
//   - no scenario configured: kept as such, status 2;
//   - an immediate call is sent to the scenario at once, synchronously,
//     with a short timeout: a 2xx is status 0, anything else status 3 and
//     the callback is kept as failed;
//   - a delayed call waits in the schedule (package outbox, kind
//     store.DueCallback) and Run sends it when it comes due, across
//     restarts; status 0 at once.
//
// An immediate call's schedule entry is due a little after it was
// ordered, so that if the process dies while sending it, Run sends it
// after the restart; while it is being sent, Run leaves it alone. A call
// that comes due more than Options.MaxLate late (the appliance was down)
// is not made: it is kept as failed, "too late".
//
// Sending is at least once: a crash between the scenario's 2xx and the
// write that records it sends the call again after the restart. The
// X-Appliance-Delivery header carries the callback id on every attempt,
// so a scenario that keeps the ids it has acted on calls once.
package callbacks

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync/atomic"
	"time"

	"appliance/captcha"
	"appliance/httpd/leads"
	"appliance/httpd/outbox"
	"appliance/httpd/ratelimit"
	"appliance/httpd/visits"
	"appliance/httpd/webhooks"
	"appliance/internal/usererr"
	"appliance/numbers"
	"appliance/store"
)

// Errors of the callbacks package.
var (
	// ErrInvalid is wrapped by every error about a callback request's input.
	ErrInvalid = usererr.New("callbacks", 400, "invalid request").WithCode(CodeInvalidRequest)
	// ErrSettings is wrapped by every error about a site's widget settings.
	ErrSettings = usererr.New("callbacks", 400, "invalid settings").WithCode(CodeInvalidRequest)
)

// invalid is an ErrInvalid with a result code and a formatted message.
func invalid(code, format string, a ...any) error {
	return ErrInvalid.Errorf(format, a...).WithCode(code)
}

// Statuses of ComagicWidget.sitePhoneCall, exactly as the reference
// numbers them.
const (
	StatusAccepted     = 0 // stored and sent to the telephony side (or scheduled)
	StatusWrongCaptcha = 1 // the captcha was required and not solved
	StatusNoScenario   = 2 // the site has no callback scenario
	StatusFailed       = 3 // the telephony side failed
	StatusLimit        = 4 // too many calls: site, visitor or IP
)

// Codes say more than a status: which limit, scheduled or called now.
const (
	CodeCalling         = "calling"          // 0: the scenario took the call
	CodeScheduled       = "scheduled"        // 0: a delayed call, in the schedule
	CodeWrongCaptcha    = "wrong_captcha"    // 1
	CodeCaptchaRequired = "captcha_required" // 1: no captcha given
	CodeNoScenario      = "no_scenario"      // 2
	CodeQueued          = "queued"           // 0: no scenario, kept for staff to call back
	CodeTelephonyFailed = "telephony_failed" // 3
	CodeSiteLimit       = "site_limit"       // 4: the reference's 10 a minute per site
	CodeVisitorLimit    = "visitor_limit"    // 4
	CodeIPLimit         = "ip_limit"         // 4
	// Codes of a request that was not taken (status 3, with an error):
	// what the page or the visitor has to change.
	CodeInvalidPhone   = "invalid_phone"   // no phone, or one over MaxPhone or not text
	CodeInvalidTime    = "invalid_time"    // delayed_call_time
	CodeInvalidGroup   = "invalid_group"   // group_id
	CodeInvalidRequest = "invalid_request" // anything else in the request
)

// Result is the outcome of Order, the "result" of sitePhoneCall's answer.
type Result struct {
	Status int    `json:"status"`
	Code   string `json:"code"`
	ID     uint64 `json:"-"` // the stored callback; 0 when none was stored
}

// Options tune a Service; the zero value is what serve uses.
type Options struct {
	// Now is the clock; default time.Now.
	Now func() time.Time
	// Tick is the longest Run sleeps without looking at the schedule
	// (outbox.Options.Tick); it wakes for every new call and every due
	// time anyway. Default 1 min.
	Tick time.Duration
	// Timeout bounds one request to a scenario; default 5 s.
	Timeout time.Duration
	// MaxLate is how late a due call may still be made; default 1 h.
	MaxLate time.Duration
	// MaxAttempts is how often Run tries a due call before it is kept as
	// failed; default 3, RetryAfter apart (default 1 min).
	MaxAttempts int
	RetryAfter  time.Duration
	// Recover is how long after it was ordered an immediate call counts as
	// lost in a crash and is sent by Run; default 1 min.
	Recover time.Duration
	// SitePerMinute is the reference's limit of calls a minute per site;
	// default 10.
	SitePerMinute int
	// VisitorLimit and IPLimit calls per LimitWindow; defaults 3 and 10 per
	// 10 min. IPLimit is per client network (ratelimit.Network: an IPv6
	// client's /64).
	VisitorLimit, IPLimit int
	LimitWindow           time.Duration
	// Log receives failed sends and store errors; default slog.Default.
	Log *slog.Logger
	// PhoneRegion is where a phone without a country code is read;
	// default numbers.DefaultRegion.
	PhoneRegion string
	// Count, when set, runs in the write that stores a callback request,
	// after its own writes (the reports' roll-ups:
	// reports.Service.CountCallback); its error fails the write. It must
	// not block.
	Count func(tx *store.Tx, site *store.Site, cb *store.Callback) error
	// Spam, when set, runs in the write of a mark that makes a callback
	// request spam or takes that away (reports.Service.CountSpam).
	Spam leads.SpamFunc
}

// Service orders, sends and lists callbacks over one store.
type Service struct {
	db      *store.DB
	visits  *visits.Tracker
	hooks   *webhooks.Hooks
	captcha *captcha.Store
	o       Options

	siteRate, visitorRate, ipRate *ratelimit.Limiter

	due *outbox.Queue // the schedule: kind store.DueCallback

	// sent and failed count the scenario's attempts since start by
	// outcome: a 2xx answer, or anything else.
	sent, failed atomic.Uint64
}

// Attempts counts the requests to the sites' callback scenarios since
// start: answered with a 2xx (the PBX took the call), and not.
func (s *Service) Attempts() (sent, failed uint64) { return s.sent.Load(), s.failed.Load() }

// Limiters are the rate limiters of callback requests, per site, per
// visitor and per client network, for the server's metrics.
func (s *Service) Limiters() (site, visitor, ip *ratelimit.Limiter) {
	return s.siteRate, s.visitorRate, s.ipRate
}

// New returns a Service over db: callbacks are attributed through v,
// enqueue their webhook deliveries in hooks and check answers against
// captchas. Delayed calls are sent only while Run runs.
func New(db *store.DB, v *visits.Tracker, hooks *webhooks.Hooks, captchas *captcha.Store, o Options) *Service {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Timeout <= 0 {
		o.Timeout = 5 * time.Second
	}
	if o.MaxLate <= 0 {
		o.MaxLate = time.Hour
	}
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = 3
	}
	if o.RetryAfter <= 0 {
		o.RetryAfter = time.Minute
	}
	if o.Recover <= 0 {
		o.Recover = time.Minute
	}
	if o.SitePerMinute <= 0 {
		o.SitePerMinute = 10
	}
	if o.VisitorLimit <= 0 {
		o.VisitorLimit = 3
	}
	if o.IPLimit <= 0 {
		o.IPLimit = 10
	}
	if o.LimitWindow <= 0 {
		o.LimitWindow = 10 * time.Minute
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	if o.PhoneRegion == "" {
		o.PhoneRegion = numbers.DefaultRegion
	}
	return &Service{
		db: db, visits: v, hooks: hooks, captcha: captchas, o: o,
		siteRate:    ratelimit.New(o.SitePerMinute, time.Minute, 100_000),
		visitorRate: ratelimit.New(o.VisitorLimit, o.LimitWindow, 100_000),
		ipRate:      ratelimit.New(o.IPLimit, o.LimitWindow, 100_000),
		due:         outbox.New(db, store.DueCallback, outbox.Options{Now: o.Now, Tick: o.Tick, Log: o.Log}),
	}
}

// Order is a callback request of an authenticated visitor: who, where, the
// Input and the captcha the visitor typed.
type Order struct {
	Site *store.Site
	// Visitor, Session and Hit (0: unknown) name where it was ordered.
	Visitor, Session, Hit uint64
	IP                    string
	In                    Input
	CaptchaKey            string
	CaptchaValue          string
}

// Place takes a callback request through captcha, limits, storage and the
// scenario, as the package comment tells. A returned error is about the
// input (wrapping ErrInvalid: nothing stored, captcha not spent) or the
// store; every outcome the reference names is a Result.
func (s *Service) Place(ctx context.Context, o Order) (Result, error) {
	now := s.o.Now()
	cb, err := Check(o.In, now, o.Site.Region(s.o.PhoneRegion))
	if err != nil {
		return Result{}, err
	}
	settings, err := s.Settings(o.Site.ID)
	if err != nil {
		return Result{}, err
	}
	if settings.Captcha {
		if o.CaptchaKey == "" {
			return Result{Status: StatusWrongCaptcha, Code: CodeCaptchaRequired}, nil
		}
		if !s.captcha.Verify(o.Site.Key, o.CaptchaKey, o.CaptchaValue) {
			return Result{Status: StatusWrongCaptcha, Code: CodeWrongCaptcha}, nil
		}
	}
	if settings.ScenarioURL == "" || Unparsed(&cb) {
		// No scenario, or a number it could not dial: kept for staff.
		cb.State = store.CallbackNoScenario
	}
	// A repeat is told as its first before the limits, so that a visitor
	// whose answer was lost is not refused for asking again; the write
	// below looks again, serialised with the other writes (two at once).
	since := now.Add(-leads.RepeatWindow).UnixMilli()
	if o.Visitor != 0 {
		tx := s.db.Prepare()
		first, err := s.repeatOf(tx, o.Site.ID, o.Visitor, &cb, since)
		tx.Discard()
		if err != nil {
			return Result{}, err
		}
		if first.ID != 0 {
			return repeatResult(&first, settings), nil
		}
	}
	switch {
	case !s.ipRate.Allow(ratelimit.Network(o.IP), now):
		return Result{Status: StatusLimit, Code: CodeIPLimit}, nil
	case !s.visitorRate.Allow(strconv.FormatUint(o.Visitor, 10), now):
		return Result{Status: StatusLimit, Code: CodeVisitorLimit}, nil
	case !s.siteRate.Allow(strconv.FormatUint(uint64(o.Site.ID), 10), now):
		return Result{Status: StatusLimit, Code: CodeSiteLimit}, nil
	}
	if cb.Attribution, err = s.visits.Attribute(o.Site.ID, o.Visitor, o.Session, o.Hit, cb.PageURL); err != nil {
		return Result{}, fmt.Errorf("place callback: %w", err)
	}
	cb.IP = o.IP
	cb.ID = s.db.NextID()
	due := time.UnixMilli(cb.Delayed)
	if cb.Delayed == 0 {
		due = now.Add(s.o.Recover)
		release, _ := s.due.Claim(cb.ID) // before the write: Run must not pick it up (a new id: never taken)
		defer release()
	}
	ev := webhooks.Event{Kind: webhooks.KindCallback, ID: cb.ID, Site: o.Site.ID, SiteKey: o.Site.Key,
		Time: time.UnixMilli(cb.Time), Data: ViewOf(&cb, settings.Groups)}
	var first store.Callback
	err = s.db.Update(ctx, func(tx *store.Tx) error {
		if cb.Visitor != 0 {
			var err error
			if first, err = s.repeatOf(tx, o.Site.ID, cb.Visitor, &cb, since); err != nil || first.ID != 0 {
				return err
			}
		}
		tx.Set(store.CallbackKey(o.Site.ID, cb.ID), cb.Encode())
		tx.Export(store.CallbackKey(o.Site.ID, cb.ID), cb.Time)
		if s.o.Count != nil {
			if err := s.o.Count(tx, o.Site, &cb); err != nil {
				return err
			}
		}
		store.IndexVisitorItem(tx, cb.Visitor, store.ItemCallback, cb.ID)
		store.IndexPhone(tx, o.Site.ID, cb.Phone, store.PhoneVisitor{Visitor: cb.Visitor, Session: cb.Session, Time: cb.Time})
		if cb.State == store.CallbackPending {
			s.due.Put(tx, outbox.Item{At: due, ID: cb.ID, Site: o.Site.ID})
		}
		_, err := s.hooks.Enqueue(tx, ev)
		return err
	})
	if err != nil {
		return Result{}, fmt.Errorf("store callback: %w", err)
	}
	if first.ID != 0 {
		return repeatResult(&first, settings), nil
	}
	switch {
	case cb.State == store.CallbackNoScenario:
		if !settings.NoQueue {
			return Result{Status: StatusAccepted, Code: CodeQueued, ID: cb.ID}, nil
		}
		return Result{Status: StatusNoScenario, Code: CodeNoScenario, ID: cb.ID}, nil
	case cb.Delayed != 0:
		return Result{Status: StatusAccepted, Code: CodeScheduled, ID: cb.ID}, nil
	}
	sent, err := s.send(ctx, o.Site, due, cb.ID, false)
	if err != nil {
		return Result{}, err
	}
	if !sent {
		return Result{Status: StatusFailed, Code: CodeTelephonyFailed, ID: cb.ID}, nil
	}
	return Result{Status: StatusAccepted, Code: CodeCalling, ID: cb.ID}, nil
}

// repeatOf returns the latest callback of visitor on site, ordered
// at or after since, that cb repeats; none: a zero Callback. A repeat is
// the same request (the phone as typed, the time asked for, the group;
// not the page) sent again by the same visitor within leads.RepeatWindow:
// the widget gave up waiting for the answer (10 s) while the first was
// stored, and the visitor pressed the button again, or the page's code
// retried. It is answered as the first, not stored nor called again: the
// staff see one request and the visitor gets one call. A first one whose
// call failed, or that was kept for staff while this one can be called (a
// scenario set up since), is not repeated: asking again is a new try. Read
// in the callback's own write (serialised with every other write) and from
// the store, it holds for requests at once and across a restart.
func (s *Service) repeatOf(tx *store.Tx, site uint32, visitor uint64, cb *store.Callback, since int64) (store.Callback, error) {
	ids, err := store.LatestVisitorItems(tx, visitor, store.ItemCallback, 32)
	if err != nil {
		return store.Callback{}, fmt.Errorf("read the visitor's callbacks: %w", err)
	}
	for _, id := range ids { // newest first
		v, err := tx.Get(store.CallbackKey(site, id))
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return store.Callback{}, fmt.Errorf("read the visitor's callbacks: %w", err)
		}
		old, err := store.DecodeCallback(id, v)
		if err != nil {
			return store.Callback{}, err
		}
		if old.Time < since {
			break
		}
		if old.PhoneRaw == cb.PhoneRaw && old.Delayed == cb.Delayed && old.GroupID == cb.GroupID {
			if old.State == store.CallbackFailed || old.State == store.CallbackNoScenario && cb.State != store.CallbackNoScenario {
				// asked again after a failure, or once the site can call
				// it (a scenario set up since): a new try
				return store.Callback{}, nil
			}
			return old, nil
		}
	}
	return store.Callback{}, nil
}

// repeatResult is the answer to a repeat of the stored callback first
// (repeatOf), the one its own request had: kept for staff, scheduled, or
// calling (sent, or being sent).
func repeatResult(first *store.Callback, settings store.WidgetSettings) Result {
	switch {
	case first.State == store.CallbackNoScenario && settings.NoQueue:
		return Result{Status: StatusNoScenario, Code: CodeNoScenario, ID: first.ID}
	case first.State == store.CallbackNoScenario:
		return Result{Status: StatusAccepted, Code: CodeQueued, ID: first.ID}
	case first.Delayed != 0:
		return Result{Status: StatusAccepted, Code: CodeScheduled, ID: first.ID}
	}
	return Result{Status: StatusAccepted, Code: CodeCalling, ID: first.ID}
}

// send hands callback id of site, whose schedule entry is due at due, to
// the site's scenario once and records the attempt. retry says whether a
// failure is tried again later (Run) or final (an immediate call, whose
// visitor is told). It reports whether the scenario took the call. The
// request is not cancelled with ctx: a call the PBX may already have
// taken is recorded, so a shutdown does not send it twice.
func (s *Service) send(ctx context.Context, site *store.Site, due time.Time, id uint64, retry bool) (bool, error) {
	ctx = context.WithoutCancel(ctx)
	cb, err := s.get(site.ID, id)
	if errors.Is(err, store.ErrNotFound) {
		return false, s.db.Update(ctx, func(tx *store.Tx) error { s.due.Remove(tx, due, id); return nil }) // an orphan entry
	}
	if err != nil {
		return false, err
	}
	if cb.State != store.CallbackPending {
		return cb.State == store.CallbackSent, s.db.Update(ctx, func(tx *store.Tx) error { s.due.Remove(tx, due, id); return nil })
	}
	settings, err := s.Settings(site.ID)
	if err != nil {
		return false, err
	}
	now := s.o.Now()
	a := attempt{at: now}
	wanted := cb.Delayed
	if wanted == 0 {
		wanted = cb.Time
	}
	switch {
	case settings.ScenarioURL == "":
		a.err, a.reason = "no callback scenario any more", ReasonNoScenario
		retry = false
	case now.Sub(time.UnixMilli(wanted)) > s.o.MaxLate:
		a.err = fmt.Sprintf("too late: due %s, not called", time.UnixMilli(wanted).UTC().Format(time.DateTime))
		a.reason = ReasonTooLate
		retry = false
	default:
		a = s.post(ctx, site, settings, &cb)
		if a.code >= 200 && a.code < 300 {
			s.sent.Add(1)
		} else {
			s.failed.Add(1)
		}
	}
	ok := a.code >= 200 && a.code < 300
	return ok, s.record(ctx, site.ID, due, id, a, ok, retry)
}

// attempt is one request to a scenario.
type attempt struct {
	at     time.Time
	code   int    // HTTP status; 0 when there was no answer
	err    string // why it failed
	reason byte   // the kind of failure (ReasonText)
}

// ScenarioBody is the JSON a scenario receives: the callback to make.
type ScenarioBody struct {
	Event     string    `json:"event"` // "callback"
	ID        uint64    `json:"id"`
	SiteKey   string    `json:"site_key"`
	CreatedAt time.Time `json:"created_at"`
	Data      View      `json:"data"`
}

// post sends cb to the site's scenario, signed with its secret.
func (s *Service) post(ctx context.Context, site *store.Site, w store.WidgetSettings, cb *store.Callback) attempt {
	a := attempt{at: s.o.Now()}
	body, err := json.Marshal(ScenarioBody{Event: string(webhooks.KindCallback), ID: cb.ID, SiteKey: site.Key,
		CreatedAt: time.UnixMilli(cb.Time).UTC(), Data: ViewOf(cb, w.Groups)})
	if err != nil {
		a.err = err.Error()
		return a
	}
	a.code, a.err, a.reason = webhooks.Send(ctx, s.hooks.Client(), s.o.Timeout, webhooks.Request{
		URL: w.ScenarioURL, Secret: w.ScenarioSecret, Event: string(webhooks.KindCallback), ID: cb.ID,
		Attempt: cb.Attempts + 1, At: a.at, Body: body, UserAgent: "appliance-callbacks/1",
	})
	return a
}

// record writes an attempt's outcome: sent, tried again after RetryAfter
// (retry, while attempts remain), or failed.
func (s *Service) record(ctx context.Context, site uint32, due time.Time, id uint64, a attempt, ok, retry bool) error {
	if len(a.err) > 300 {
		a.err = a.err[:300]
	}
	a.err = string(bytes.ToValidUTF8([]byte(a.err), []byte("?")))
	err := s.db.Update(ctx, func(tx *store.Tx) error {
		v, err := tx.Get(store.CallbackKey(site, id))
		if err != nil {
			return err
		}
		cb, err := store.DecodeCallback(id, v)
		if err != nil {
			return err
		}
		s.due.Remove(tx, due, id)
		if cb.State != store.CallbackPending {
			return nil
		}
		cb.Attempts++
		cb.LastTry, cb.LastCode, cb.LastError, cb.LastReason = a.at.UnixMilli(), a.code, a.err, a.reason
		switch {
		case ok:
			cb.State, cb.Sent = store.CallbackSent, a.at.UnixMilli()
		case retry && int(cb.Attempts) < s.o.MaxAttempts:
			s.due.Put(tx, outbox.Item{At: a.at.Add(s.o.RetryAfter), ID: id, Site: site})
		default:
			cb.State = store.CallbackFailed
		}
		tx.Set(store.CallbackKey(site, id), cb.Encode())
		tx.Export(store.CallbackKey(site, id), cb.LastTry)
		return nil
	})
	if err != nil {
		return fmt.Errorf("record callback %d: %w", id, err)
	}
	return nil
}

// Get returns callback id of site, or an error wrapping store.ErrNotFound.
func (s *Service) Get(site uint32, id uint64) (store.Callback, error) { return s.get(site, id) }

func (s *Service) get(site uint32, id uint64) (store.Callback, error) {
	v, err := s.db.Get(store.CallbackKey(site, id))
	if err != nil {
		return store.Callback{}, fmt.Errorf("callback %d: %w", id, err)
	}
	return store.DecodeCallback(id, v)
}
