package tracking

import (
	"context"
	"fmt"
	"time"

	"appliance/store"
)

// Source is the traffic source a call is attributed to; its fields are ""
// when unknown.
type Source = store.Source

// Attribution is who a call to a number at some moment came from.
type Attribution struct {
	Number string // E.164 digits
	Site   uint32 // 0 when no site has the number
	Kind   Kind
	// Attributed is set when the call is tied to a visitor's lease or to
	// the rule of a static number. A call to a pool's fallback number is
	// not: any visitor who found the pool full may have dialled it; its
	// Source is what the pool's rule names.
	Attributed bool
	Pool       uint32 // the pool of the lease, or whose fallback it is
	PoolName   string // as the pool is called now, or was when it was removed
	Visitor    uint64 // the lease's holder; 0 unless Kind is KindDynamic and Attributed
	Session    uint64
	Since      time.Time // the lease: claimed at, and lapsed (or lapses) at
	Until      time.Time
	Source     Source
	// Match says how the call was tied to its source and visitor: a
	// lease (store.MatchLease), a static number's rule (MatchStatic), the
	// caller's number left by a visitor (MatchCallerID, only for a call
	// RecordCall stores), or both of the last two (MatchStaticCallerID);
	// "" when it was not.
	Match string
}

// held is one lease of the history.
type held struct {
	since, until int64 // Unix ns
	rec          store.Lease
}

// latestLease reads the lease of number claimed last at or before at
// (Unix ns); ok is false when there is none. When strict, a claim without its
// until (Persist never writes one) is an error; otherwise it is skipped.
func latestLease(ctx context.Context, db *store.DB, number string, at int64, strict bool) (held, bool, error) {
	l := lastLease{number: number, strict: strict}
	err := db.Scan(ctx, store.LeasePrefix(number), store.LeaseBefore(number, at), true, 0, l.see)
	if err == nil {
		err = l.err
	}
	if err != nil {
		return held{}, false, fmt.Errorf("read lease history of %s: %w", number, err)
	}
	return l.h, l.ok, nil
}

// lastLease finds the last whole lease (claim and until) of one number
// from its history read newest first, one key at a time (see).
type lastLease struct {
	number    string
	strict    bool // a claim without its until is an error, not skipped
	visitor   bool // decode only the claim's visitor (into h.rec.Visitor)
	h         held
	haveUntil bool
	ok        bool // h is the lease
	err       error
}

// see takes the next key of the history, newest first, and reports
// whether it needs more.
func (l *lastLease) see(k, v []byte) bool {
	since, isUntil, kok := store.LeaseKeyTime(k)
	if !kok {
		l.err = fmt.Errorf("lease key %x: %w", k, store.ErrCorrupt)
		return false
	}
	if l.haveUntil && since != l.h.since {
		l.haveUntil = false // an until without its claim: look further back
	}
	if isUntil {
		u, err := store.DecodeUntil(v)
		if err != nil {
			l.err = fmt.Errorf("lease of %s at %d: %w", l.number, since, err)
			return false
		}
		l.h = held{since: since, until: u}
		l.haveUntil = true
		return true
	}
	if !l.haveUntil {
		if l.strict {
			l.err = fmt.Errorf("lease of %s at %d has no until: %w", l.number, since, store.ErrCorrupt)
			return false
		}
		return true
	}
	var err error
	if l.visitor {
		l.h.rec.Visitor, err = store.DecodeLeaseVisitor(v)
	} else {
		l.h.rec, err = store.DecodeLease(v)
	}
	if err != nil {
		l.err = fmt.Errorf("lease of %s at %d: %w", l.number, since, err)
		return false
	}
	l.ok = true
	return false
}

// Attribute tells who a call to number (any written form, a SIP URI, with
// an extension: callNumber) at the instant
// at came from: the visitor whose lease held the number then (the last
// claim at or before at, if its until is not before at; an at of whole
// seconds takes in a claim within its second when no lease was live at
// at itself), else the rule of
// the static number or the pool whose fallback it is, else nobody (a site's
// own number, or one no site has). History outlives the set-up: a call to
// a number since removed from its pool, made while it was leased, is
// still attributed to the lease it had; one made after the number left
// the pool is not (the lease ended then), and follows what the number is
// now.
func (t *Tracker) Attribute(ctx context.Context, number string, at time.Time) (Attribution, error) {
	d, _, err := callNumber(number, t.region)
	if err != nil {
		return Attribution{}, fmt.Errorf("attribute call: %w", err)
	}
	st := t.state.Load()
	a := Attribution{Number: d, Kind: KindUnknown}
	if o, ok := st.owner(d); ok {
		a.Site, a.Kind = o.site, o.role.kind()
	}
	// Telephony systems report whole seconds: a claim within the second
	// the call started may be the one it came from.
	seek := at
	if at.Nanosecond() == 0 {
		seek = at.Add(time.Second - 1)
	}
	h, ok, err := latestLease(ctx, t.db, d, seek.UnixNano(), false)
	if err != nil {
		return Attribution{}, fmt.Errorf("attribute call: %w", err)
	}
	if ok && h.since > at.UnixNano() {
		// A claim later within the second, after a lease that was live at
		// the instant itself: the call is that lease's, whose holder had
		// the number in front of them, not the new holder's, shown it
		// less than a second before.
		prev, pok, err := latestLease(ctx, t.db, d, at.UnixNano(), false)
		if err != nil {
			return Attribution{}, fmt.Errorf("attribute call: %w", err)
		}
		if pok && prev.until >= at.UnixNano() {
			h = prev
		}
	}
	if ok && h.rec.Visitor == 0 {
		// The number left its pool then (endLease): a call now is to
		// what the number is now.
		ok = false
	}
	if ok && h.until >= at.UnixNano() {
		r := h.rec
		a.Site, a.Kind, a.Attributed, a.Match = r.Site, KindDynamic, true, store.MatchLease
		a.Pool, a.Visitor, a.Session = r.Pool, r.Visitor, r.Session
		a.Since, a.Until = time.Unix(0, h.since).UTC(), time.Unix(0, h.until).UTC()
		a.Source = r.Source
		if ss := st.sites[r.Site]; ss != nil {
			a.PoolName, _ = ss.poolName(r.Pool)
		}
		return a, nil
	}
	o, known := st.owner(d)
	if !known {
		return a, nil
	}
	ss := st.sites[o.site]
	switch o.role {
	case roleStatic:
		s := ss.statics[o.index]
		a.Attributed, a.Source, a.Match = true, t.ruleSource(s.rule.Value), store.MatchStatic
	case roleFallback, roleDynamic:
		p := ss.pools[o.index]
		a.Pool, a.PoolName = p.cfg.ID, p.cfg.Name
		if o.role == roleFallback {
			a.Source = t.ruleSource(p.rule.Value)
		}
	}
	return a, nil
}

// ruleSource is the source a rule names: each value it pins to one. The
// channel is the rule's channel= term, else the one the traffic-source
// table gives the tags the rule pins (utm_medium=cpc is ad), else "" (a
// rule of landing pages alone, or of none, names no channel).
func (t *Tracker) ruleSource(value func(string) (string, bool)) Source {
	v := func(k string) string { s, _ := value(k); return s }
	src := Source{Channel: v("channel"), UTMSource: v("utm_source"), UTMMedium: v("utm_medium"),
		UTMCampaign: v("utm_campaign"), UTMTerm: v("utm_term"), UTMContent: v("utm_content"),
		Click: v("click"), Referrer: v("referrer"), Landing: v("landing")}
	src.Channel = t.ChannelOf(src)
	return src
}

// ChannelOf is the channel of src: its own, else the one the Tracker's
// ChannelFunc gives the tags it has, else "" when it has none. It names the
// channel of a call to a static or fallback number stored before its rule's
// channel was derived.
func (t *Tracker) ChannelOf(src Source) string {
	if src.Channel != "" || t.channel == nil {
		return src.Channel
	}
	if src.UTMSource == "" && src.UTMMedium == "" && src.UTMCampaign == "" && src.UTMTerm == "" &&
		src.UTMContent == "" && src.Click == "" && src.Referrer == "" {
		return ""
	}
	return t.channel(src)
}
