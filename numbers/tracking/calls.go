package tracking

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"appliance/internal/usererr"
	"appliance/store"
)

// Limits of a reported call.
const (
	MaxCallDuration = 24 * time.Hour
	MaxRecordingURL = 2048
	MaxPBXCallID    = 128
	// MaxCallSkew is how far in the future a call may say it started: the
	// telephony side's clock may run a little ahead.
	MaxCallSkew = 5 * time.Minute
)

// CallInput is an inbound call as the telephony side reports it.
type CallInput struct {
	Called       string        // the number dialled, any written form
	Caller       string        // the caller's number; "" when hidden, kept as typed when not a number
	StartedAt    time.Time     // zero: now
	Duration     time.Duration // whole seconds
	Answered     bool
	RecordingURL string // "" or an absolute http(s) URL
	// PBXCallID is the telephony side's own id of the call ("" when it
	// gives none), at most MaxPBXCallID bytes of printable text: reports
	// of one call with one id are one call, whatever their started_at.
	PBXCallID string
	// Sites, when not empty, are the only sites whose numbers may be
	// called: a call to another site's number, or to a number no site
	// has, is refused with ErrOtherSite and not stored (an API token
	// scoped to some sites reports it).
	Sites []uint32
	// Also, when set, runs inside the durable write that stores a new call
	// (not a report seen before), with the call as stored and its
	// attribution: what must be written with the call or not at all, such
	// as its webhook deliveries. Like every function given to
	// store.DB.Update, it does not block; its error fails the write.
	Also func(tx *store.Tx, c *store.Call, a *Attribution) error
	// Changed, when set, runs inside the durable write that updates a
	// call reported before when this report brings more of it (a PBX
	// that reports a call as it rings and again as it ends): prev is the
	// call as it was stored, c as it is now.
	Changed func(tx *store.Tx, prev, c *store.Call, a *Attribution) error
}

// updated is prev with what a later report of the same call, c, adds: the
// longer duration, answered once either says so, the recording once one
// is given (the first one given stays). Reports that arrive out of order
// or again leave a call as the fullest of them made it.
func updated(prev, c store.Call) store.Call {
	out := prev
	out.Duration = max(prev.Duration, c.Duration)
	out.Answered = prev.Answered || c.Answered
	if out.RecordingURL == "" {
		out.RecordingURL = c.RecordingURL
	}
	if out.CalledExt == "" {
		out.CalledExt = c.CalledExt
	}
	return out
}

// CallView is a call as webhooks show it: the "data" of a call event.
type CallView struct {
	ID           uint64       `json:"id"`
	StartedAt    time.Time    `json:"started_at"`
	Called       string       `json:"called"`       // E.164 digits
	CalledExt    string       `json:"called_ext"`   // the extension dialled after it ("12"); "" when none
	Caller       string       `json:"caller"`       // E.164 digits; "" when hidden or not a number
	CallerTyped  string       `json:"caller_typed"` // the caller as reported when not a number ("anonymous"); else ""
	Duration     uint32       `json:"duration"`
	Answered     bool         `json:"answered"`
	RecordingURL string       `json:"recording_url"`
	NumberKind   string       `json:"number_kind"` // dynamic, static, fallback, site, unknown
	Attributed   bool         `json:"attributed"`
	Match        string       `json:"match"` // how: lease, static, caller_id, static+caller_id; "" not tied
	Pool         string       `json:"pool"`  // the pool of the lease, or whose fallback was called
	VisitorID    uint64       `json:"visitor_id"`
	SessionID    uint64       `json:"session_id"`
	Source       store.Source `json:"source"`
	// UpdatedAt is when the report that made the call as it is here came:
	// the first report's time, then each later one that changed it. The
	// deliveries of one call are not ordered, so a receiver keeps the one
	// of the latest UpdatedAt rather than the last to arrive.
	UpdatedAt time.Time `json:"updated_at"`
}

// ViewOfCall returns the view of c, attributed as a says, as a report
// received at updated made it.
func ViewOfCall(c *store.Call, a *Attribution, updated time.Time) CallView {
	return CallView{ID: c.ID, StartedAt: time.UnixMilli(c.Time).UTC(), Called: c.Called, CalledExt: c.CalledExt, Caller: c.Caller,
		CallerTyped: c.CallerTyped, Duration: c.Duration, Answered: c.Answered, RecordingURL: c.RecordingURL, NumberKind: c.Kind,
		Attributed: c.Attributed, Match: c.Match, Pool: a.PoolName, VisitorID: c.Visitor, SessionID: c.Session, Source: c.Source,
		UpdatedAt: updated.UTC().Truncate(time.Millisecond)}
}

// check validates and normalises in at now. Errors wrap ErrInvalid and
// name the field.
func (in CallInput) check(now time.Time, region string) (store.Call, error) {
	var c store.Call
	if strings.TrimSpace(in.Called) == "" {
		return c, ErrInvalid.Errorf("called is required")
	}
	var err error
	if c.Called, c.CalledExt, err = callNumber(in.Called, region); err != nil {
		return c, usererr.Within("called", err)
	}
	// A caller that is no phone number ("anonymous", "101") does not lose
	// the call: it is kept as typed and matches no visitor.
	if strings.TrimSpace(in.Caller) != "" {
		if c.Caller, _, err = callNumber(in.Caller, region); err != nil {
			c.CallerTyped = typedCaller(in.Caller)
		}
	}
	start := in.StartedAt
	if start.IsZero() {
		start = now
	}
	if start.After(now.Add(MaxCallSkew)) {
		return c, ErrInvalid.Errorf("started_at %s is in the future", start.Format(time.RFC3339))
	}
	if start.Year() < 2000 {
		return c, ErrInvalid.Errorf("started_at %s is before 2000", start.Format(time.RFC3339))
	}
	if in.Duration < 0 || in.Duration > MaxCallDuration || in.Duration%time.Second != 0 {
		return c, ErrInvalid.Errorf("duration must be whole seconds from 0 to %d", int(MaxCallDuration/time.Second))
	}
	if id := in.PBXCallID; id != "" {
		if len(id) > MaxPBXCallID || !utf8.ValidString(id) || strings.IndexFunc(id, unicode.IsControl) >= 0 {
			return c, ErrInvalid.Errorf("pbx_call_id must be at most %d bytes of text without control characters", MaxPBXCallID)
		}
	}
	if u := in.RecordingURL; u != "" {
		if len(u) > MaxRecordingURL || !utf8.ValidString(u) || strings.IndexFunc(u, func(r rune) bool { return r <= ' ' || r == 0x7f }) >= 0 {
			return c, ErrInvalid.Errorf("recording_url must be a URL of at most %d bytes without spaces", MaxRecordingURL)
		}
		pu, err := url.Parse(u)
		if err != nil || (pu.Scheme != "http" && pu.Scheme != "https") || pu.Host == "" {
			return c, ErrInvalid.Errorf("recording_url must be an absolute http(s) URL")
		}
		c.RecordingURL = u
	}
	c.Time, c.Received = start.UnixMilli(), now.UnixMilli()
	c.Duration, c.Answered = uint32(in.Duration/time.Second), in.Answered
	return c, nil
}

// RecordCall attributes an inbound call (Attribute, at the call's start),
// stores it with its attribution under the site that has the called number
// (site 0 when none has) and counts it in the site's day, all in one
// durable write (with what in.Also adds). It returns the stored call. A call reported again with the
// same called number and PBXCallID, or, without a PBXCallID, the same
// called and caller numbers and the same explicit started_at (a PBX
// retrying a webhook it did not see answered, or reporting the call as it
// rings and again as it ends) is not stored twice: the call first stored
// is returned, updated with what the report adds (updated: its duration,
// whether it was answered, its recording) in the same durable write as
// in.Changed's.
func (t *Tracker) RecordCall(ctx context.Context, in CallInput, now time.Time) (store.Call, Attribution, error) {
	c, err := in.check(now, t.region)
	if err != nil {
		return store.Call{}, Attribution{}, fmt.Errorf("record call: %w", err)
	}
	a, err := t.Attribute(ctx, c.Called, time.UnixMilli(c.Time))
	if err != nil {
		return store.Call{}, Attribution{}, fmt.Errorf("record call: %w", err)
	}
	if len(in.Sites) > 0 && !slices.Contains(in.Sites, a.Site) {
		return store.Call{}, Attribution{}, fmt.Errorf("record call to %s: %w", c.Called, ErrOtherSite)
	}
	c.ID = t.db.NextID()
	c.Kind, c.Attributed = string(a.Kind), a.Attributed
	c.Pool, c.PoolName, c.Visitor, c.Session = a.Pool, a.PoolName, a.Visitor, a.Session
	if !a.Since.IsZero() {
		c.LeaseSince = a.Since.UnixNano()
	}
	c.Source = a.Source
	if err := t.matchCaller(ctx, &c, &a); err != nil {
		return store.Call{}, Attribution{}, fmt.Errorf("record call: %w", err)
	}
	c.Match = a.Match
	var once []byte
	caller := c.Caller
	if caller == "" {
		caller = c.CallerTyped
	}
	switch {
	case in.PBXCallID != "" && len(c.Called) < 256:
		once = store.CallPBXKey(c.Called, in.PBXCallID)
	case !in.StartedAt.IsZero() && len(c.Called) < 256 && len(caller) < 256:
		once = store.CallOnceKey(c.Called, caller, c.Time)
	}
	err = t.db.Update(ctx, func(tx *store.Tx) error {
		if once != nil {
			v, err := tx.Get(once)
			if err == nil && len(v) == 12 {
				return t.reportedAgain(tx, in, binary.BigEndian.Uint32(v), binary.BigEndian.Uint64(v[4:]), &c, &a)
			} else if err != nil && !errors.Is(err, store.ErrNotFound) {
				return err
			}
			tx.Set(once, binary.BigEndian.AppendUint64(binary.BigEndian.AppendUint32(nil, a.Site), c.ID))
		}
		tx.Set(store.CallKey(a.Site, c.ID), c.Encode())
		tx.Set(store.CallStartKey(a.Site, c.Time, c.ID), nil)
		tx.Export(store.CallKey(a.Site, c.ID), c.Time)
		store.IndexVisitorItem(tx, c.Visitor, store.ItemCall, c.ID)
		if in.Also != nil {
			if err := in.Also(tx, &c, &a); err != nil {
				return err
			}
		}
		k := store.RollupKey(a.Site, Day(time.UnixMilli(c.Time), t.location(a.Site)), MetricCalls)
		tx.Add(k, LaneCalls, 1)
		if c.Attributed {
			tx.Add(k, LaneCallsAttributed, 1)
		}
		if c.Answered {
			tx.Add(k, LaneCallsAnswered, 1)
		}
		return nil
	})
	if err != nil {
		return store.Call{}, Attribution{}, fmt.Errorf("record call: %w", err)
	}
	return c, a, nil
}

// reportedAgain updates the call id of site, stored from an earlier report
// of the call, with what this report, *c, adds; *c becomes the call as
// stored and *a its attribution as stored with it.
func (t *Tracker) reportedAgain(tx *store.Tx, in CallInput, site uint32, id uint64, c *store.Call, a *Attribution) error {
	b, err := tx.Get(store.CallKey(site, id))
	if err != nil {
		return fmt.Errorf("call reported before: %w", err)
	}
	prev, err := store.DecodeCall(id, b)
	if err != nil {
		return fmt.Errorf("call reported before: %w", err)
	}
	at := c.Received // this report's: the update's time
	now := updated(prev, *c)
	*c = now
	a.Site = site
	a.Attributed, a.Kind, a.Pool, a.Visitor, a.Session, a.Source = now.Attributed, Kind(now.Kind), now.Pool, now.Visitor, now.Session, now.Source
	a.Match = now.Match
	a.PoolName = now.PoolName
	if a.PoolName == "" && now.Pool != 0 { // a call stored before its pool's name was kept
		a.PoolName, _ = t.PoolName(site, now.Pool)
	}
	if now == prev {
		return nil
	}
	tx.Set(store.CallKey(site, id), now.Encode())
	tx.Export(store.CallKey(site, id), at) // a change: exported again (export.Message's MsgID)
	if now.Answered && !prev.Answered {
		tx.Add(store.RollupKey(site, Day(time.UnixMilli(now.Time), t.location(site)), MetricCalls), LaneCallsAnswered, 1)
	}
	if in.Changed != nil {
		return in.Changed(tx, &prev, c, a)
	}
	return nil
}

// matchCaller ties a call that no lease ties to a visitor to the visitor
// of its site who last left the caller's number (in a lead, a callback or
// addVisitorInfo: store.IndexPhone), caller-ID matching, and sets c and a
// to say so. The call is then the visitor's, in their latest session that
// began by the call's start (else the one they left the number in, if it
// began by then give or take callerClockSkew). A call
// to a static number keeps its rule's source and gains the visitor; any
// other (the site's own number, a pool's fallback, a lapsed lease) takes
// the session's source and counts as attributed, unless every session
// known began after the call: then it is the visitor's (their journey
// shows it) but no visit's, and not attributed. A hidden caller, a call
// to no site's number and a number nobody left match nothing.
func (t *Tracker) matchCaller(ctx context.Context, c *store.Call, a *Attribution) error {
	if a.Visitor != 0 || a.Site == 0 || c.Caller == "" {
		return nil
	}
	p, ok, err := t.db.LookupPhone(a.Site, c.Caller)
	if err != nil || !ok {
		return err
	}
	sess, err := t.latestSession(ctx, a.Site, p.Visitor, c.Time)
	if err != nil {
		return err
	}
	before := false // the call came before the visitor's visits: theirs, but no visit's
	if sess == nil && p.Session != 0 {
		if sess, err = t.session(a.Site, p.Session); err != nil {
			return err
		}
		// The session the number was left in, when it began by the
		// call's start give or take the telephony's clock; one that began
		// later cannot have brought a call made before it (a call the
		// PBX reports days late, a caller who visited only afterwards).
		if sess != nil && sess.Started > c.Time+callerClockSkew.Milliseconds() {
			sess, before = nil, true
		}
	}
	a.Visitor, a.Session = p.Visitor, 0
	if sess != nil && sess.Visitor == p.Visitor {
		a.Session = sess.ID
	}
	if a.Match == store.MatchStatic {
		a.Match = store.MatchStaticCallerID
	} else {
		a.Match, a.Attributed, a.Source = store.MatchCallerID, !before, Source{}
		if a.Session != 0 {
			a.Source = sess.TrafficSource()
		}
	}
	c.Attributed, c.Visitor, c.Session, c.Source = a.Attributed, a.Visitor, a.Session, a.Source
	return nil
}

// callerClockSkew is how much later than a call's start the session a
// caller left their number in may have begun and still be credited with
// the call (matchCaller): the telephony's clock and ours may differ.
const callerClockSkew = 5 * time.Minute

// maxSessionsBack bounds how many of a visitor's latest sessions
// latestSession reads looking for one that began by a call's start.
const maxSessionsBack = 20

// latestSession returns the visitor's latest session on site that began
// at or before at (Unix ms); nil when none of their latest sessions did.
func (t *Tracker) latestSession(ctx context.Context, site uint32, visitor uint64, at int64) (*store.Session, error) {
	var ids []uint64
	err := t.db.ScanPrefix(ctx, store.VisitorItemPrefix(visitor, store.ItemSession), true, maxSessionsBack, func(k, _ []byte) bool {
		if id, ok := store.IDFromKey(k); ok {
			ids = append(ids, id)
		}
		return true
	})
	if err != nil {
		return nil, fmt.Errorf("sessions of visitor %d: %w", visitor, err)
	}
	for _, id := range ids {
		s, err := t.session(site, id)
		if err != nil {
			return nil, err
		}
		if s != nil && s.Started <= at {
			return s, nil
		}
	}
	return nil, nil
}

// session reads a session of site; nil when it is not there.
func (t *Tracker) session(site uint32, id uint64) (*store.Session, error) {
	b, err := t.db.Get(store.SessionKey(site, id))
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("session %d: %w", id, err)
	}
	s, err := store.DecodeSession(b)
	if err != nil {
		return nil, fmt.Errorf("session %d: %w", id, err)
	}
	return &s, nil
}

// ListCalls calls fn with each call of site, latest start first (a call
// the PBX reported late takes its place by when it started), until fn
// returns false or limit calls were given (limit <= 0: all). Calls that
// started before from are not read.
func (t *Tracker) ListCalls(ctx context.Context, site uint32, from time.Time, limit int, fn func(store.Call) bool) error {
	prefix := store.CallStartPrefix(site)
	return t.listCalls(ctx, site, from, prefix, store.PrefixEnd(prefix), limit, fn)
}

// ListCallsAt is ListCalls from the call at (id) on: it and the calls
// that started before it (or with it, reported earlier), latest first. A
// call the site does not have is ErrNoCall.
func (t *Tracker) ListCallsAt(ctx context.Context, site uint32, at uint64, limit int, fn func(store.Call) bool) error {
	v, err := t.db.Get(store.CallKey(site, at))
	if errors.Is(err, store.ErrNotFound) {
		return ErrNoCall.Errorf("call %d", at)
	}
	var c store.Call
	if err == nil {
		c, err = store.DecodeCall(at, v)
	}
	if err != nil {
		return fmt.Errorf("list calls: call %d: %w", at, err)
	}
	upper := append(store.CallStartKey(site, c.Time, at), 0)
	return t.listCalls(ctx, site, time.Time{}, store.CallStartPrefix(site), upper, limit, fn)
}

func (t *Tracker) listCalls(ctx context.Context, site uint32, from time.Time, lower, upper []byte, limit int, fn func(store.Call) bool) error {
	n := 0
	var derr error
	err := t.db.Scan(ctx, lower, upper, true, 0, func(k, _ []byte) bool {
		started, id, ok := store.ParseCallStartKey(k)
		if !ok {
			return true
		}
		if !from.IsZero() && started < from.UnixMilli() {
			return false
		}
		v, err := t.db.Get(store.CallKey(site, id))
		if errors.Is(err, store.ErrNotFound) {
			return true
		}
		var c store.Call
		if err == nil {
			c, err = store.DecodeCall(id, v)
		}
		if err != nil {
			derr = fmt.Errorf("call %d: %w", id, err)
			return false
		}
		n++
		return fn(c) && (limit <= 0 || n < limit)
	})
	if err == nil {
		err = derr
	}
	if err != nil {
		return fmt.Errorf("list calls: %w", err)
	}
	return nil
}

// CallDay is one day's calls of a site.
type CallDay struct {
	Day        time.Time
	Calls      int64
	Attributed int64
	Answered   int64
}

// CallDays reads the site's daily call counters for the days from..to
// (inclusive, in the site's time zone), one entry per day.
func (t *Tracker) CallDays(site uint32, from, to time.Time) ([]CallDay, error) {
	var out []CallDay
	loc := t.location(site)
	for d := Day(from, loc); d <= Day(to, loc) && len(out) < 3660; d++ {
		cd := CallDay{Day: time.Unix(int64(d)*86400, 0).UTC()}
		lanes, err := counters(t.db, store.RollupKey(site, d, MetricCalls))
		if err != nil {
			return nil, fmt.Errorf("read call counts: %w", err)
		}
		cd.Calls, cd.Attributed, cd.Answered = lane(lanes, LaneCalls), lane(lanes, LaneCallsAttributed), lane(lanes, LaneCallsAnswered)
		out = append(out, cd)
	}
	return out, nil
}
