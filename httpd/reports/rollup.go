package reports

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"appliance/internal/weburl"
	"appliance/store"
)

// The roll-ups (store.ReportKey): per site, a dimension, a model and a
// period, a row key and its counters.
//
//	dimension  period         row key                                        models
//	dimSource  day            channel, source, medium, campaign               0 traffic, 1-3 outcomes
//	           (each a uvarint length and the bytes)
//	dimTerm    day            channel, source, medium, campaign, term (not "") 0, 1-3
//	dimLanding day            the landing page's path                         0, 1-3
//	dimRef     day            the referrer's domain ("" for none)             0, 1-3
//	dimHour    hour (day*24+h) ""                                             0: traffic and outcomes
//
// Every value has the lanes lane*. A session adds to its day rows (four
// with a term, three without) and its hour (a merge operand each, several
// lanes at once); an event to its session's day rows and its hour; an
// outcome to the day rows of the session each model credits and to its
// hour. The hour row is the site's total: the timeseries reads it, a day
// is 24 hours of it (its events since they were counted there: stores
// written before count them after a rebuild). Terms have their own rows because an ad account has hundreds of
// them: the reports by channel to campaign read a few rows a day, not one
// per term. Most sessions have no term: theirs is the source row less the
// term rows under it (sourcesOf), so that they write no term row. Stores
// written before that have term rows of "" too, which the term report
// leaves out (the source rows count those sessions); stores written
// before terms had rows have source rows with the term as a fifth field.

const (
	dimSource  byte = 's'
	dimTerm    byte = 't'
	dimLanding byte = 'l'
	dimRef     byte = 'r'
	dimHour    byte = 'h'
)

// modelTraffic is the model byte of traffic counters; an outcome model's
// byte is its index in Models() plus one.
const modelTraffic byte = 0

func modelByte(m Model) byte {
	switch m {
	case ModelFirst:
		return 2
	case ModelLast:
		return 3
	}
	return 1
}

// Lanes of a roll-up value.
const (
	laneSessions = iota
	laneVisitors
	laneNewVisitors
	laneEvents
	laneLeads
	laneCallbacks
	laneCalls
	laneAnswered
	laneFirstCallers
	laneChats
	laneSales
	laneRevenue
	laneAttributed // calls tied to a source (tracking's Attributed): last, so that older values read as none
	numLanes
)

// MaxField is the longest tag, path or domain a row key keeps; a longer
// one is cut (at a character boundary).
const MaxField = 200

// dims are the rows a session adds to.
type dims struct {
	source  []byte // row key of dimSource
	term    []byte // row key of dimTerm
	hasTerm bool   // the term is not "": the session adds to its dimTerm row
	landing string
	ref     string
	direct  bool
}

// dimsOf reads the rows of a traffic source.
func dimsOf(src *store.Source) dims {
	refDomain := domainOf(src.Referrer)
	source := src.UTMSource
	if source == "" {
		source = refDomain
	}
	if source == "" {
		source = clickSource(src.Click)
	}
	medium := src.UTMMedium
	if medium == "" {
		switch src.Channel {
		case "direct", "":
		case "ad":
			medium = "cpc"
		default:
			medium = src.Channel
		}
	}
	channel := src.Channel
	if channel == "" {
		channel = "direct"
	}
	fields := [...]string{channel, source, medium, src.UTMCampaign, src.UTMTerm}
	size := 0
	for i, f := range fields {
		fields[i] = cutField(f)
		size += binary.MaxVarintLen64 + len(fields[i])
	}
	b := make([]byte, 0, size) // one allocation for the rows of both
	for _, f := range fields {
		b = binary.AppendUvarint(b, uint64(len(f)))
		b = append(b, f...)
	}
	t := cutField(src.UTMTerm)
	s := b[:len(b)-len(t)-uvarintLen(len(t))]
	return dims{source: s[:len(s):len(s)], term: b, hasTerm: t != "", landing: cutField(pathOf(src.Landing)), ref: cutField(refDomain), direct: channel == "direct"}
}

func uvarintLen(n int) int { return len(binary.AppendUvarint(nil, uint64(n))) }

// clickSource names the ad network of a click id without utm tags.
func clickSource(click string) string {
	switch click {
	case "gclid":
		return "google"
	case "yclid":
		return "yandex"
	case "fbclid":
		return "facebook"
	}
	return ""
}

// sourceField returns field i (0 channel ... 3 campaign, 4 term) of a
// dimSource or dimTerm row key without copying it (it aliases row); ok is
// false when row does not have it.
func sourceField(row []byte, i int) ([]byte, bool) {
	for j := 0; j <= i; j++ {
		n, w := binary.Uvarint(row)
		if w <= 0 || uint64(len(row)-w) < n {
			return nil, false
		}
		if j == i {
			return row[w : w+int(n)], true
		}
		row = row[w+int(n):]
	}
	return nil, false
}

// fieldOf is the index (for sourceField) of the field a group reads.
func fieldOf(g Group) int {
	switch g {
	case GroupSource:
		return 1
	case GroupMedium:
		return 2
	case GroupCampaign:
		return 3
	case GroupTerm:
		return 4
	}
	return 0
}

// domainOf is a referrer URL's host, lower case, without "www." and port.
func domainOf(ref string) string {
	if ref == "" {
		return ""
	}
	if host, _, _, ok := weburl.Plain(ref); ok {
		return strings.TrimPrefix(strings.ToLower(host), "www.")
	}
	u, err := url.Parse(ref)
	if err != nil {
		return ""
	}
	return strings.TrimPrefix(strings.ToLower(u.Hostname()), "www.")
}

// pathOf is a landing URL's path ("/" when it has none), without query and
// fragment.
func pathOf(landing string) string {
	if landing == "" {
		return ""
	}
	if _, path, _, ok := weburl.Plain(landing); ok {
		if path == "" {
			return "/"
		}
		return path
	}
	u, err := url.Parse(landing)
	if err != nil {
		return ""
	}
	if u.Path == "" {
		return "/"
	}
	return u.Path
}

func cutField(s string) string {
	if len(s) <= MaxField {
		return s
	}
	i := MaxField
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i]
}

// hourOf is the period of the hour row of t in loc: the site's day times
// 24 plus the hour on its clock. The hour repeated when clocks go back is
// one period (two hours of counts); the hour skipped when they go forward
// has none.
func hourOf(t time.Time, loc *time.Location) uint32 {
	lt := t.In(loc)
	return uint32(DayOf(lt, loc))*24 + uint32(lt.Hour())
}

// ledger is where counting reads and writes: the store inside a write
// (live), or memory (Compute, Rebuild). One counting code serves both,
// so that what a rebuild computes is what the live writes add.
type ledger interface {
	add(key []byte, lanes *[numLanes]int64)
	touch(visitor uint64) (store.Touch, bool, error)
	setTouch(visitor uint64, t store.Touch)
	// sessionDims are the rows of a session of a person (ok false when
	// there is no such session, or it is a bot's).
	sessionDims(site uint32, id uint64) (dims, bool, error)
	// firstCall records that caller called site; first is true when it
	// never had before.
	firstCall(site uint32, caller string, id uint64) (first bool, err error)
}

// counter adds what one write stores to the roll-ups of one site.
type counter struct {
	l    ledger
	tx   *store.Tx    // l's write when l is the store (txLedger): its roll-ups go straight to it
	db   store.Reader // the store the sessions counted are in (touchAsOf)
	site uint32
	loc  *time.Location
}

// row adds lanes to the site's report roll-up (dim, model, period, row).
// Counting in a write builds the key on the stack and adds the lanes to
// the write itself: through the ledger interface both would escape, and
// a hit that starts a session adds five.
func (c *counter) row(dim, model byte, period uint32, row []byte, lanes *[numLanes]int64) {
	if c.tx != nil {
		var buf [96]byte
		addLanes(c.tx, store.AppendReportKey(buf[:0], c.site, dim, model, period, row), lanes)
		return
	}
	l := *lanes
	c.l.add(store.ReportKey(c.site, dim, model, period, row), &l)
}

// session counts a session of a person as it starts (s is stored in the
// same write): sessions, visitors (when it is the visitor's first session
// of the day) and new visitors, on its rows of its day and its hour. It
// updates the visitor's touch and returns it (written false for a bot's
// session, which writes none). newVisitor says that no session of the
// visitor was counted before (so it has no touch); known, when not nil, is
// the visitor's touch as the last session counted wrote it, which spares
// reading it.
func (c *counter) session(s *store.Session, newVisitor bool, known *store.Touch) (t store.Touch, written bool, err error) {
	if s.Bot {
		return t, false, nil
	}
	// A new visitor has no touch yet: a read would only miss.
	var ok bool
	switch {
	case newVisitor:
	case known != nil:
		t, ok = *known, true
	default:
		if t, ok, err = c.l.touch(s.Visitor); err != nil {
			return t, false, err
		}
	}
	at := time.UnixMilli(s.Started)
	day := DayOf(at, c.loc)
	var lanes [numLanes]int64
	lanes[laneSessions] = 1
	if !ok || DayOf(time.UnixMilli(t.LastStarted), c.loc) != day {
		lanes[laneVisitors] = 1
	}
	if newVisitor {
		lanes[laneNewVisitors] = 1
	}
	src := s.TrafficSource()
	d := dimsOf(&src)
	c.addDay(modelTraffic, uint32(day), &d, &lanes)
	c.row(dimHour, modelTraffic, hourOf(at, c.loc), nil, &lanes)
	if t.First == 0 {
		t.First = s.ID
	}
	t.Last, t.LastStarted = s.ID, s.Started
	if !d.direct {
		t.LastNonDirect = s.ID
	}
	c.l.setTouch(s.Visitor, t)
	return t, true, nil
}

// event counts an event at (Unix ms) of a session of a person: on its
// session's rows of its day, and on its hour (the timeseries).
func (c *counter) event(s *store.Session, at int64) {
	if s.Bot {
		return
	}
	var lanes [numLanes]int64
	lanes[laneEvents] = 1
	src := s.TrafficSource()
	d := dimsOf(&src)
	t := time.UnixMilli(at)
	c.addDay(modelTraffic, uint32(DayOf(t, c.loc)), &d, &lanes)
	c.row(dimHour, modelTraffic, hourOf(t, c.loc), nil, &lanes)
}

// outcome counts an outcome of the visit a (its visitor, 0: none known) at
// (Unix ms) with the given lanes: on its hour, and on the rows of the
// session each model credits; a's source, stored with the outcome, is
// credited when the visitor has no session to credit.
//
// An outcome is a person's: a crawler's session is never credited. One
// sent from a session counted as a crawler's (its user agent is on the
// bot list: a person's browser that looks like one, or a spam bot), by
// a visitor without a person's session before it, is credited as one
// without a known visit (no source: direct), not to the source the
// crawler came with, which no session of the reports has.
func (c *counter) outcome(a *store.Attribution, at int64, lanes *[numLanes]int64) error {
	return c.outcomeOf(a.Visitor, a.Session, 0, at, &a.Source, lanes)
}

// outcomeOf is outcome for the record of id (0: stored now, after every
// session of the visitor it may be credited to), of visitor and its
// session (0: none known). A record stored after the visitor began
// sessions later than at (a call the telephony side reports late) is
// credited to the sessions that began by at.
func (c *counter) outcomeOf(visitor, session, id uint64, at int64, own *store.Source, lanes *[numLanes]int64) error {
	t := time.UnixMilli(at)
	day := uint32(DayOf(t, c.loc))
	c.row(dimHour, modelTraffic, hourOf(t, c.loc), nil, lanes)
	var touch store.Touch
	if visitor != 0 {
		var err error
		if touch, _, err = c.l.touch(visitor); err != nil {
			return err
		}
		if id != 0 && touch.LastStarted > at {
			if touch, err = touchAsOf(c.db, c.site, visitor, id, at); err != nil {
				return err
			}
		}
	}
	// ownRows are the rows of own, read once when a model has no session
	// of the visitor's to credit: none when own is a crawler's session's.
	var ownDims *dims
	ownRows := func() (*dims, error) {
		if ownDims == nil {
			src := own
			counted, err := ownCounted(c.db, c.site, session)
			if err != nil {
				return nil, err
			}
			if !counted {
				src = &store.Source{}
			}
			d := dimsOf(src)
			ownDims = &d
		}
		return ownDims, nil
	}
	for _, m := range Models() {
		var id uint64
		switch m {
		case ModelFirst:
			id = touch.First
		case ModelLast:
			id = touch.Last
		default:
			id = touch.LastNonDirect
			if id == 0 {
				id = touch.Last
			}
		}
		var d dims
		ok := false
		if id != 0 {
			var err error
			if d, ok, err = c.l.sessionDims(c.site, id); err != nil {
				return err
			}
		}
		if !ok {
			o, err := ownRows()
			if err != nil {
				return err
			}
			d = *o
		}
		c.addDay(modelByte(m), day, &d, lanes)
	}
	return nil
}

func (c *counter) addDay(model byte, day uint32, d *dims, lanes *[numLanes]int64) {
	c.row(dimSource, model, day, d.source, lanes)
	if d.hasTerm {
		c.row(dimTerm, model, day, d.term, lanes)
	}
	c.row(dimLanding, model, day, []byte(d.landing), lanes)
	c.row(dimRef, model, day, []byte(d.ref), lanes)
}

// lead counts a stored lead: a lead, and a sale with its revenue when it
// is one.
func (c *counter) lead(l *store.Lead) error {
	var lanes [numLanes]int64
	lanes[laneLeads] = 1
	if l.IsSale {
		lanes[laneSales] = 1
		lanes[laneRevenue] = l.SaleCost
	}
	return c.outcome(&l.Attribution, l.Time, &lanes)
}

// callback counts a stored callback request.
func (c *counter) callback(cb *store.Callback) error {
	var lanes [numLanes]int64
	lanes[laneCallbacks] = 1
	return c.outcome(&cb.Attribution, cb.Time, &lanes)
}

// call counts a stored call: a call, answered or not, attributed or not,
// a first-time caller's when its caller (not hidden) never called the site
// before.
func (c *counter) call(call *store.Call) error {
	var lanes [numLanes]int64
	lanes[laneCalls] = 1
	if call.Answered {
		lanes[laneAnswered] = 1
	}
	if call.Attributed {
		lanes[laneAttributed] = 1
	}
	if call.Caller != "" {
		first, err := c.l.firstCall(c.site, call.Caller, call.ID)
		if err != nil {
			return err
		}
		if first {
			lanes[laneFirstCallers] = 1
		}
	}
	v, sess := callVisitor(call)
	return c.outcomeOf(v, sess, call.ID, call.Time, &call.Source, &lanes)
}

// answered counts as answered a call counted before as not: on the rows
// call counted it on.
func (c *counter) answered(call *store.Call) error {
	var lanes [numLanes]int64
	lanes[laneAnswered] = 1
	v, sess := callVisitor(call)
	return c.outcomeOf(v, sess, call.ID, call.Time, &call.Source, &lanes)
}

// callVisitor is the visitor whose sessions the models credit a call to:
// none for a call to a static number, which is credited to its rule's
// source (the one stored with it) even when caller ID tells whose it is
// (store.MatchStaticCallerID): the number, an ad of its own, brought it.
func callVisitor(call *store.Call) (visitor, session uint64) {
	if call.Match == store.MatchStatic || call.Match == store.MatchStaticCallerID {
		return 0, 0
	}
	return call.Visitor, call.Session
}

// chat counts a chat that began at (Unix ms) in the visit a.
func (c *counter) chat(a *store.Attribution, at int64) error {
	var lanes [numLanes]int64
	lanes[laneChats] = 1
	return c.outcome(a, at, &lanes)
}

// ownCounted reports whether the reports count an outcome of session (0:
// none known), read from db, with the source stored with it when they
// credit no session of its visitor's: not when session is a crawler's,
// whose source no session of the reports has (the outcome is counted
// without a known visit: direct).
func ownCounted(db store.Reader, site uint32, session uint64) (bool, error) {
	if session == 0 {
		return true, nil
	}
	bot, err := botSession(db, site, session)
	return !bot, err
}

// botSession reports whether session id of site, read from db, is a
// crawler's (false when it is gone: the source stored with what it left
// stands).
func botSession(db store.Reader, site uint32, id uint64) (bool, error) {
	b, err := db.Get(store.SessionKey(site, id))
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("session %d: %w", id, err)
	}
	s, err := store.DecodeSession(b)
	if err != nil {
		return false, fmt.Errorf("session %d: %w", id, err)
	}
	return s.Bot, nil
}
