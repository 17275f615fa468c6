// Package tracking is the call tracking of the sites of one store: which
// number each visitor of a site is shown, and which visit an inbound call to
// a number came from.
//
// A site's set-up (store.NumbersConfig) names its own numbers, as written on
// its pages, the extra CSS selectors whose elements show a number, static
// tracking numbers, each shown to the visits its rule matches, and dynamic
// pools, each a numbers.Pool whose numbers are leased to the visitors its
// rule matches. For a page view, [Tracker.Assign] decides which number
// replaces each site number (the rule of highest priority, then the most
// specific one) and returns, beside that, the store writes that record it
// ([Assignment.Persist]), to be made in the page view's durable update.
//
// Every claim of a lease is written to the lease history, and every renew
// moves the lease's until there, so that [Tracker.Attribute] can tell who
// held a number at any moment, and [Open] rebuilds the live leases after a
// restart, a crash included: what the last acknowledged write said is what
// counts. A lease a visitor was never told of (its write was not
// acknowledged) may be lost with a crash, and nothing depends on it.
//
// The page-view path takes no lock: the set-up of all sites is an immutable
// snapshot behind an atomic pointer, replaced whole by each change (changes
// are serialised among themselves), and the pools are lock-free. A change of
// a pool's numbers builds a new numbers.Pool that shares the lease state of
// the numbers the two have in common (numbers.Pool.With), so no lease is
// lost or doubled across it.
//
// The package knows nothing of HTTP; times are arguments, never read from
// the clock.
package tracking

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode"
	"unicode/utf8"

	"appliance/internal/usererr"
	"appliance/numbers"
	"appliance/store"
)

// Errors of the package. Errors about input wrap ErrInvalid and say what is
// wrong in words meant for the site owner.
var (
	ErrInvalid   = usererr.New("tracking", 400, "invalid input").ReasonFirst()
	ErrNoPool    = usererr.New("tracking", 404, "no such pool").ReasonFirst()
	ErrNoStatic  = usererr.New("tracking", 404, "no such static number").ReasonFirst()
	ErrVisitor   = errors.New("tracking: no visitor")
	ErrNoSession = usererr.New("tracking", 404, "no such session").ReasonFirst()
	ErrNoCall    = usererr.New("tracking", 404, "no such call").ReasonFirst() // a page of calls from a call the site does not have
	ErrOtherSite = errors.New("tracking: the number belongs to another site")
)

// Limits of a site's set-up.
const (
	MaxSiteNumbers  = 20
	MaxSelectors    = 20
	MaxSelector     = 256
	MaxStatics      = 200
	MaxPools        = 20
	MaxPoolNumbers  = 5000
	MaxPoolName     = 64
	MaxPriority     = 1_000_000
	SessionLifetime = 30 * time.Minute // how long a static-only answer may be applied from cache
)

// Kind says what a number is to the site that has it.
type Kind string

// Kinds of numbers.
const (
	KindDynamic  Kind = "dynamic"  // a number of a pool, leased to visitors
	KindStatic   Kind = "static"   // a static tracking number
	KindFallback Kind = "fallback" // a pool's number for visitors who found it full
	KindSite     Kind = "site"     // one of the site's own numbers
	KindUnknown  Kind = "unknown"  // no site has it
)

// Tracker holds the call-tracking set-up and live leases of every site of
// a store. All methods are safe for concurrent use.
type Tracker struct {
	db      *store.DB
	region  string // numbers without a country code are read in it
	channel ChannelFunc
	mu      sync.Mutex // serialises changes of the set-up
	state   atomic.Pointer[state]
	sealed  bool // Open restored the leases from a sealed record
	// sealedLive is set while the store may hold sealed leases: the
	// tracker's first write of a lease or set-up deletes them.
	sealedLive sealedFlag
	// zone is the time zone of a site's days and hours (ZoneWith); nil:
	// UTC.
	zone atomic.Pointer[func(site uint32) *time.Location]
	// name is what the owner calls a site (NamesWith); nil: "#id".
	name atomic.Pointer[func(site uint32) string]
}

// NamesWith sets how a site is named to its owner in an error that says a
// number is another site's: its name, not its id, which no page shows.
func (t *Tracker) NamesWith(name func(site uint32) string) { t.name.Store(&name) }

// siteName is what the owner calls site: its name, else "#id".
func (t *Tracker) siteName(site uint32) string {
	if n := t.name.Load(); n != nil {
		if s := (*n)(site); s != "" {
			return s
		}
	}
	return fmt.Sprintf("#%d", site)
}

// ZoneWith sets the time zone a site's pool and call counters are kept in
// by day and hour: the site's own, so the numbers page's "today" is the
// owner's today. Set it before the tracker counts; without it days are UTC.
func (t *Tracker) ZoneWith(zone func(site uint32) *time.Location) { t.zone.Store(&zone) }

// location is the time zone of site's days.
func (t *Tracker) location(site uint32) *time.Location {
	if z := t.zone.Load(); z != nil {
		if loc := (*z)(site); loc != nil {
			return loc
		}
	}
	return time.UTC
}

// state is one immutable snapshot of every site's set-up.
type state struct {
	sites map[uint32]*siteState
	// owners has every static, site and fallback number of any set-up;
	// a pool's numbers are found in the pool (owner).
	owners map[string]owner
}

// owner returns who has number n, and as what: its pool when a pool has
// it, else owners' entry. A pool number is a tracking number, which wins
// over a site or fallback number and belongs to one site (checkShared):
// looking it up in each pool costs a lookup a pool where an entry in
// owners cost ~30 bytes a pool number (80,000 of them with 16 full pools)
// and start-up time. It is asked once a call, not once a hit.
func (st *state) owner(n string) (owner, bool) {
	o, ok := st.owners[n]
	if ok && o.role == roleStatic {
		return o, true
	}
	for id, ss := range st.sites {
		for i, p := range ss.pools {
			if p.live.Slot(n) >= 0 {
				return owner{site: id, role: roleDynamic, index: uint16(i)}, true
			}
		}
	}
	return o, ok
}

// owner is who has a number, and as what. Tracking numbers (static and pool
// numbers) belong to one site; a site or fallback number may be shared, and
// then the site with the lowest id is named.
type owner struct {
	site  uint32
	index uint16 // into the site's statics or pools (MaxStatics, MaxPools)
	role  role
}

// role is a Kind in one byte, for owner.
type role uint8

const (
	roleDynamic role = iota
	roleStatic
	roleFallback
	roleSite
)

func (r role) kind() Kind {
	return [...]Kind{roleDynamic: KindDynamic, roleStatic: KindStatic, roleFallback: KindFallback, roleSite: KindSite}[r]
}

type siteState struct {
	id uint32
	// cfg is the set-up without its pools' Numbers and Forms, which the
	// pools keep in Lists (config gives it whole).
	cfg     store.NumbersConfig
	numbers []numbers.Phone // the site's own numbers, in cfg order
	statics []*static
	pools   []*pool
	// Per site number: the statics and pools that may replace it, and
	// their rules for numbers.Choose, in the same order.
	cands  [][]cand
	ranked [][]numbers.Ranked
}

type cand struct {
	static *static // one of static and pool is set
	pool   *pool
}

type static struct {
	cfg   store.StaticNumber
	rule  numbers.Rule
	phone numbers.Phone
}

type pool struct {
	cfg store.PoolConfig // without Numbers and Forms: live has the numbers, forms their forms
	// forms is how each number reads, by slot: its country code's length,
	// its trunk prefix's length, the prefix and its international format
	// (packForm). A server holds tens of thousands of pool numbers: a
	// store.NumberForm beside each took 56 bytes, a parsed Phone 96.
	forms    numbers.List
	rule     numbers.Rule
	live     *numbers.Pool  // its numbers are the pool's, in cfg order
	fallback *numbers.Phone // nil: keep the site's number
}

// phone is the number of slot i in its forms.
func (p *pool) phone(i int) numbers.Phone {
	n, f := p.live.Number(i), p.forms.At(i)
	cc, trunk := int(f[0]), 2+int(f[1])
	return numbers.Phone{Digits: n, CC: n[:cc], NSN: n[cc:], Trunk: f[2:trunk], Text: f[trunk:]}
}

// form is the store.NumberForm of slot i.
func (p *pool) form(i int) store.NumberForm {
	f := p.forms.At(i)
	trunk := 2 + int(f[1])
	return store.NumberForm{CC: int(f[0]), Trunk: f[2:trunk], Text: f[trunk:]}
}

// packForm appends f as pool.forms keeps it; ok is false when it does not
// fit (a form phoneOf accepts has a country code of 1 to 3 digits).
func packForm(b []byte, f store.NumberForm) ([]byte, bool) {
	if f.CC < 0 || f.CC > 255 || len(f.Trunk) > 255 {
		return b, false
	}
	b = append(b, byte(f.CC), byte(len(f.Trunk)))
	b = append(b, f.Trunk...)
	return append(b, f.Text...), true
}

// config returns the site's whole set-up, its pools' numbers and forms
// included, as a copy.
func (ss *siteState) config() store.NumbersConfig {
	c := cloneConfig(ss.cfg)
	for i, p := range ss.pools {
		pc := &c.Pools[i]
		pc.Numbers = p.live.Numbers()
		pc.Forms = make([]store.NumberForm, len(pc.Numbers))
		for j := range pc.Forms {
			pc.Forms[j] = p.form(j)
		}
	}
	return c
}

// ChannelFunc is the channel of a traffic source known only by its tags
// (utm_*, click id, referrer). Which tags make which channel is the visits
// domain's traffic-source table; the server hands it over, so numbers keep
// no second copy of it and import nothing above them.
type ChannelFunc func(Source) string

// Open loads every site's set-up from db and restores the leases live at
// now from the lease history. Numbers typed without a country code are
// read in region (numbers.DefaultRegion when ""). channel names the
// channel of a static or fallback number's rule from the tags it pins; nil
// leaves a rule without a channel= term without one.
//
// When the store has the leases a clean shutdown sealed (Seal), untouched
// since, Open restores them from that one record; otherwise it reads every
// pool number's last lease from the history.
func Open(ctx context.Context, db *store.DB, now time.Time, region string, channel ChannelFunc) (*Tracker, error) {
	return openTracker(ctx, db, now, region, channel, true)
}

// openTracker is Open; with sealed false it reads the history even when
// the store has sealed leases (tests compare the two).
func openTracker(ctx context.Context, db *store.DB, now time.Time, region string, channel ChannelFunc, sealed bool) (*Tracker, error) {
	if region == "" {
		region = numbers.DefaultRegion
	}
	t := &Tracker{db: db, region: region, channel: channel}
	st := &state{sites: map[uint32]*siteState{}}
	var derr error
	err := db.ScanPrefix(ctx, store.NumbersPrefix(), false, 0, func(k, v []byte) bool {
		if len(k) != 5 {
			derr = fmt.Errorf("numbers key %x: %w", k, store.ErrCorrupt)
			return false
		}
		site := uint32(k[1])<<24 | uint32(k[2])<<16 | uint32(k[3])<<8 | uint32(k[4])
		// The pools' numbers alias v: buildSite packs them in Lists.
		cfg, err := store.DecodeNumbersConfigView(v)
		if err != nil {
			derr = fmt.Errorf("numbers of site %d: %w", site, err)
			return false
		}
		ss, err := buildSite(site, cfg, nil)
		if err != nil {
			derr = fmt.Errorf("numbers of site %d: %w", site, err)
			return false
		}
		st.sites[site] = ss
		return true
	})
	if err == nil {
		err = derr
	}
	if err != nil {
		return nil, fmt.Errorf("open tracking: %w", err)
	}
	st.owners = ownersOf(st.sites)
	used, found, err := restoreSealed(db, st, now, sealed)
	if err != nil {
		return nil, fmt.Errorf("open tracking: %w", err)
	}
	t.sealedLive.Store(found)
	if used {
		t.sealed = true
		t.state.Store(st)
		return t, nil
	}
	size := 0
	for _, ss := range st.sites {
		for _, p := range ss.pools {
			size += p.live.Size()
		}
	}
	ns := make([]poolNumber, 0, size)
	for _, ss := range st.sites {
		for _, p := range ss.pools {
			for i := range p.live.Size() {
				ns = append(ns, poolNumber{p.live, i})
			}
		}
	}
	if err := restoreLatest(ctx, db, ns, now); err != nil {
		return nil, fmt.Errorf("open tracking: %w", err)
	}
	t.state.Store(st)
	return t, nil
}

// poolNumber is a number of a pool, by slot.
type poolNumber struct {
	pool *numbers.Pool
	slot int
}

func (n poolNumber) number() string { return n.pool.Number(n.slot) }

// restoreLatest puts the latest lease of each number back into its pool
// when it is still live at now. It reads the histories in key order with
// one iterator (store.ScanRanges), so the blocks that hold the last leases
// of neighbouring numbers are read once, not once per number; the numbers
// are split in a part per core, each read by its own iterator (a pool's
// Restore is safe for concurrent use).
func restoreLatest(ctx context.Context, db *store.DB, ns []poolNumber, now time.Time) error {
	slices.SortFunc(ns, func(a, b poolNumber) int {
		an, bn := a.number(), b.number()
		return cmp.Or(cmp.Compare(len(an), len(bn)), strings.Compare(an, bn))
	})
	ranges := make([]store.Range, len(ns))
	size := 0
	for _, n := range ns {
		size += 2*(2+len(n.number())) + 8
	}
	buf := make([]byte, 0, size)
	for i, n := range ns {
		buf, ranges[i] = store.AppendLeaseRange(buf, n.number(), now.UnixNano())
	}
	parts := 1
	if len(ns) >= 4096 {
		parts = min(runtime.GOMAXPROCS(0), 4)
	}
	errs := make([]error, parts)
	var wg sync.WaitGroup
	for p := range parts {
		lo, hi := p*len(ns)/parts, (p+1)*len(ns)/parts
		wg.Go(func() { errs[p] = restoreRanges(ctx, db, ns[lo:hi], ranges[lo:hi], now) })
	}
	wg.Wait()
	return errors.Join(errs...)
}

// restoreRanges is restoreLatest of the numbers ns, whose histories are
// ranges, with one iterator.
func restoreRanges(ctx context.Context, db *store.DB, ns []poolNumber, ranges []store.Range, now time.Time) error {
	// One number's history at a time: a number with none is never seen.
	var l lastLease
	cur := -1
	var rerr error
	done := func() {
		h := l.h
		if cur < 0 || rerr != nil {
			return
		}
		if l.err != nil {
			rerr = fmt.Errorf("read lease history of %s: %w", l.number, l.err)
			return
		}
		if !l.ok || h.until <= now.UnixNano() || h.rec.Visitor == 0 {
			return // none live, or released (endLease)
		}
		if err := ns[cur].pool.RestoreSlot(ns[cur].slot, h.rec.Visitor, time.Unix(0, h.since), time.Unix(0, h.until)); err != nil {
			rerr = fmt.Errorf("restore lease of %s: %w", l.number, err)
		}
	}
	err := db.ScanRanges(ctx, ranges, true, func(i int, k, v []byte) bool {
		if i != cur {
			done()
			cur, l = i, lastLease{number: ns[i].number(), strict: true, visitor: true}
		}
		return rerr == nil && l.see(k, v)
	})
	done()
	if err != nil {
		return fmt.Errorf("read lease history: %w", err)
	}
	return rerr
}

// Config returns a copy of the site's set-up (the zero config when it has
// none).
func (t *Tracker) Config(site uint32) store.NumbersConfig {
	ss := t.state.Load().sites[site]
	if ss == nil {
		return store.NumbersConfig{}
	}
	return ss.config()
}

// PoolName is what the site's pool id is called: its name now (current
// set), or the last it had when it was removed; "" when the site never
// had it.
func (t *Tracker) PoolName(site, id uint32) (name string, current bool) {
	ss := t.state.Load().sites[site]
	if ss == nil {
		return "", false
	}
	return ss.poolName(id)
}

func (ss *siteState) poolName(id uint32) (string, bool) {
	for _, p := range ss.pools {
		if p.cfg.ID == id {
			return p.cfg.Name, true
		}
	}
	for _, p := range ss.cfg.RemovedPools {
		if p.ID == id {
			return p.Name, false
		}
	}
	return "", false
}

// SiteOf returns the site that has number (E.164 digits) and what it is
// there; KindUnknown when no site has it.
func (t *Tracker) SiteOf(number string) (uint32, Kind) {
	o, ok := t.state.Load().owner(number)
	if !ok {
		return 0, KindUnknown
	}
	return o.site, o.role.kind()
}

// change applies fn to a copy of the site's set-up, checks the result
// against every site's, stores it durably and makes it live.
func (t *Tracker) change(ctx context.Context, site uint32, now time.Time, fn func(c *store.NumbersConfig) error) (store.NumbersConfig, error) {
	// Callers take now for the records they make; the pools need it to
	// restore leases of numbers new to them.
	t.mu.Lock()
	defer t.mu.Unlock()
	old := t.state.Load()
	prev := old.sites[site]
	var c store.NumbersConfig
	if prev != nil {
		c = prev.config()
	}
	if err := fn(&c); err != nil {
		return store.NumbersConfig{}, err
	}
	c.Revision++
	ss, err := buildSite(site, c, prev)
	if err != nil {
		return store.NumbersConfig{}, err
	}
	// buildSite filled c's forms: start-up need not parse the numbers.
	sites := make(map[uint32]*siteState, len(old.sites)+1)
	for id, s := range old.sites {
		sites[id] = s
	}
	sites[site] = ss
	if err := checkShared(site, sites, t.siteName); err != nil {
		return store.NumbersConfig{}, err
	}
	// A number new to a pool may have been leased in it before: a lease
	// of it that the history says is live holds on (one a pool it left
	// ended, endLease, is not).
	var added []poolNumber
	for _, p := range ss.pools {
		var old *numbers.Pool
		if prev != nil {
			if i := slices.IndexFunc(prev.pools, func(o *pool) bool { return o.cfg.ID == p.cfg.ID }); i >= 0 {
				old = prev.pools[i].live
			}
		}
		if p.live == old {
			continue
		}
		for i := range p.live.Size() {
			if old == nil || old.Slot(p.live.Number(i)) < 0 {
				added = append(added, poolNumber{p.live, i})
			}
		}
	}
	if err := restoreLatest(ctx, t.db, added, now); err != nil {
		return store.NumbersConfig{}, err
	}
	// A number that leaves its pool (for a static number, or for no
	// role) leaves its lease behind: a call to it from now on follows
	// what the number is now, not the visitor who held it, and no page
	// view still running on the old set-up is handed it again.
	gone := leavingNumbers(prev, ss)
	ended := make([]endedLease, 0, len(gone))
	for _, g := range gone {
		l, live := g.pool.Release(g.slot, now)
		ended = append(ended, endedLease{poolNumber: g, lease: l, live: live})
	}
	if err := t.db.Update(ctx, func(tx *store.Tx) error {
		tx.Set(store.NumbersKey(site), c.Encode())
		for _, e := range ended {
			if e.live {
				endLease(tx, site, e.pool.ID(), e.lease, now)
			}
		}
		unseal(tx, &t.sealedLive)
		return nil
	}); err != nil {
		// The set-up stays as it was: so do its numbers' leases (a lease
		// Release returned is one RestoreSlot takes).
		for _, e := range ended {
			e.pool.Revive(e.slot)
			if e.live {
				_ = e.pool.RestoreSlot(e.slot, e.lease.Visitor, e.lease.Since, e.lease.Until)
			}
		}
		return store.NumbersConfig{}, fmt.Errorf("store numbers of site %d: %w", site, err)
	}
	t.state.Store(&state{sites: sites, owners: ownersOf(sites)})
	return cloneConfig(c), nil
}

// endedLease is a lease Release ended on a number leaving its pool: live
// is set when it was live then.
type endedLease struct {
	poolNumber
	lease numbers.Lease
	live  bool
}

// leavingNumbers are the numbers of prev's pools that ss's pool of the
// same id does not have (all of a pool ss does not have).
func leavingNumbers(prev, ss *siteState) []poolNumber {
	if prev == nil {
		return nil
	}
	var out []poolNumber
	for _, op := range prev.pools {
		var np *numbers.Pool
		if i := slices.IndexFunc(ss.pools, func(p *pool) bool { return p.cfg.ID == op.cfg.ID }); i >= 0 {
			np = ss.pools[i].live
		}
		if np == op.live {
			continue
		}
		for j := range op.live.Size() {
			if np == nil || np.Slot(op.live.Number(j)) < 0 {
				out = append(out, poolNumber{op.live, j})
			}
		}
	}
	return out
}

// endLease writes to the lease history of l's number that its lease (of
// pool on site) ended at now, when the number left the pool: a release, a
// claim of visitor 0 at now (after l's claim) whose until is its claim.
// Attribute takes no visitor from it and a call after it to what the
// number is now; Open restores nothing from it. l's own until stays as it
// was, so a call before now is still l's holder's.
func endLease(tx *store.Tx, site, pool uint32, l numbers.Lease, now time.Time) {
	at := max(now.UnixNano(), l.Since.UnixNano()+1)
	rec := store.Lease{Site: site, Pool: pool}
	tx.Set(store.LeaseClaimKey(l.Number, at), rec.Encode())
	tx.Set(store.LeaseUntilKey(l.Number, at), store.EncodeUntil(at))
}

// buildSite checks a site's set-up and builds its live state. Pools whose
// numbers and reserve are unchanged from prev keep their numbers.Pool;
// changed ones share the lease state of their common numbers with it.
// A pool number is not parsed again when prev has it or the config keeps
// a form of it that reads as it (phoneOf): a config read from the store,
// which change wrote with forms it parsed, or one a change added numbers to
// with their forms (ImportNumbers). It sets the Forms of c's pools, so that
// c can be stored with them.
func buildSite(id uint32, c store.NumbersConfig, prev *siteState) (*siteState, error) {
	ss := &siteState{id: id, cfg: c}
	ss.cfg.Pools = slices.Clone(c.Pools) // without their numbers, below
	size := len(c.SiteNumbers) + len(c.Statics)
	for i := range c.Pools {
		size += len(c.Pools[i].Numbers)
	}
	used := make(map[string]usererr.Phrase, size) // number -> what uses it, within the site
	use := func(n string, what usererr.Phrase) error {
		if u, dup := used[n]; dup {
			return ErrInvalid.Errorf("%s: %s is already %s", what, n, u)
		}
		used[n] = what
		return nil
	}
	if len(c.SiteNumbers) > MaxSiteNumbers {
		return nil, ErrInvalid.Errorf("at most %d site numbers", MaxSiteNumbers)
	}
	siteIndex := map[string]bool{}
	for _, sn := range c.SiteNumbers {
		p, err := canonical(sn.Number)
		if err != nil {
			return nil, err
		}
		if err := use(p.Digits, usererr.P("a site number")); err != nil {
			return nil, err
		}
		siteIndex[p.Digits] = true
		ss.numbers = append(ss.numbers, p)
	}
	if len(c.Selectors) > MaxSelectors {
		return nil, ErrInvalid.Errorf("at most %d selectors", MaxSelectors)
	}
	for _, sel := range c.Selectors {
		if err := checkSelector(sel); err != nil {
			return nil, err
		}
	}
	if len(c.Statics) > MaxStatics {
		return nil, ErrInvalid.Errorf("at most %d static numbers", MaxStatics)
	}
	for _, sc := range c.Statics {
		p, err := canonical(sc.Number)
		if err != nil {
			return nil, err
		}
		if err := use(p.Digits, usererr.P("a static number")); err != nil {
			return nil, err
		}
		r, err := checkRule(usererr.P("static number %s", p.Digits), sc.Rule, sc.Priority, sc.Replaces, siteIndex)
		if err != nil {
			return nil, err
		}
		ss.statics = append(ss.statics, &static{cfg: sc, rule: r, phone: p})
	}
	if len(c.Pools) > MaxPools {
		return nil, ErrInvalid.Errorf("at most %d pools", MaxPools)
	}
	names := map[string]bool{}
	known := map[string]store.NumberForm{} // the pool numbers of prev, parsed
	if prev != nil {
		for _, p := range prev.pools {
			for j := range p.live.Size() {
				known[p.live.Number(j)] = p.form(j)
			}
		}
	}
	var packed []byte
	var lists []numbers.List // the numbers of ss.pools
	for i := range c.Pools {
		pc := &c.Pools[i]
		if err := checkPoolName(pc.Name); err != nil {
			return nil, err
		}
		if names[strings.ToLower(pc.Name)] {
			return nil, ErrInvalid.Errorf("pool %q: the site has a pool of that name", pc.Name)
		}
		names[strings.ToLower(pc.Name)] = true
		what := usererr.P("pool %q", pc.Name)
		if len(pc.Numbers) == 0 || len(pc.Numbers) > MaxPoolNumbers {
			return nil, ErrInvalid.Errorf("%s: give 1 to %d numbers", what, MaxPoolNumbers)
		}
		if err := numbers.CheckReserve(time.Duration(pc.Reserve) * time.Millisecond); err != nil {
			return nil, ErrInvalid.Errorf("%s: reserve %s: want %s to %s", what, numbers.FormatReserve(time.Duration(pc.Reserve)*time.Millisecond),
				numbers.FormatReserve(numbers.MinReserve), numbers.FormatReserve(numbers.MaxReserve))
		}
		r, err := checkRule(what, pc.Rule, pc.Priority, pc.Replaces, siteIndex)
		if err != nil {
			return nil, err
		}
		forms := pc.Forms
		if len(forms) != len(pc.Numbers) {
			forms = make([]store.NumberForm, len(pc.Numbers)) // a zero form reads as no number
		}
		in := usererr.P("in pool %q", pc.Name)
		for j, n := range pc.Numbers {
			if _, ok := phoneOf(n, forms[j]); !ok {
				f, ok := known[n]
				if !ok {
					ph, err := canonical(n)
					if err != nil {
						return nil, err
					}
					f = formOf(ph)
				}
				forms[j] = f
			}
			if err := use(n, in); err != nil {
				return nil, err
			}
		}
		pc.Forms = forms
		// The numbers and forms packed, each List in one allocation of its size.
		var nb, fb numbers.ListBuilder
		nsize, fsize := 0, 0
		for j, n := range pc.Numbers {
			nsize += len(n)
			fsize += 2 + len(forms[j].Trunk) + len(forms[j].Text)
		}
		nb.Grow(len(pc.Numbers), nsize)
		fb.Grow(len(pc.Numbers), fsize)
		for j, n := range pc.Numbers {
			var ok bool
			if packed, ok = packForm(packed[:0], forms[j]); !ok {
				return nil, ErrInvalid.Errorf("%s: the form of %s does not fit", what, n)
			}
			nb.Add(n)
			fb.AddBytes(packed)
		}
		p := &pool{cfg: *pc, rule: r, forms: fb.List()}
		p.cfg.Numbers, p.cfg.Forms = nil, nil
		ss.cfg.Pools[i] = p.cfg
		ss.pools = append(ss.pools, p)
		lists = append(lists, nb.List())
	}
	// Fallbacks may be a site number or a static number; never a pool's.
	for _, p := range ss.pools {
		if p.cfg.Fallback == "" {
			continue
		}
		ph, err := canonical(p.cfg.Fallback)
		if err != nil {
			return nil, err
		}
		if u := used[ph.Digits]; u.Format == "in pool %q" {
			return nil, ErrInvalid.Errorf("pool %q: the fallback %s is %s: a fallback must not be leased", p.cfg.Name, ph.Digits, u)
		}
		p.fallback = &ph
	}
	for i, p := range ss.pools {
		reserve := time.Duration(p.cfg.Reserve) * time.Millisecond
		var old *pool
		if prev != nil {
			if i := slices.IndexFunc(prev.pools, func(o *pool) bool { return o.cfg.ID == p.cfg.ID }); i >= 0 {
				old = prev.pools[i]
			}
		}
		switch {
		case old == nil:
			p.live = numbers.NewPoolOf(p.cfg.ID, lists[i], reserve)
		case old.live.List().Equal(lists[i]) && old.cfg.Reserve == p.cfg.Reserve && old.cfg.AddrCap == p.cfg.AddrCap:
			p.live = old.live
			continue
		default:
			// A new pool, sharing the leases and the address counts, so
			// that a change that is not made (a later check or the write
			// fails) leaves the serving pool as it was.
			p.live = old.live.WithList(lists[i], reserve)
		}
		p.live.SetAddrCap(int(p.cfg.AddrCap))
	}
	ss.cands = make([][]cand, len(ss.numbers))
	ss.ranked = make([][]numbers.Ranked, len(ss.numbers))
	for i, sn := range ss.numbers {
		for _, s := range ss.statics {
			if replaces(s.cfg.Replaces, sn.Digits) {
				ss.cands[i] = append(ss.cands[i], cand{static: s})
				ss.ranked[i] = append(ss.ranked[i], numbers.Ranked{Rule: s.rule, Priority: int(s.cfg.Priority)})
			}
		}
		for _, p := range ss.pools {
			if replaces(p.cfg.Replaces, sn.Digits) {
				ss.cands[i] = append(ss.cands[i], cand{pool: p})
				ss.ranked[i] = append(ss.ranked[i], numbers.Ranked{Rule: p.rule, Priority: int(p.cfg.Priority)})
			}
		}
	}
	return ss, nil
}

func replaces(list []string, n string) bool { return len(list) == 0 || slices.Contains(list, n) }

// phoneOf is the stored number n read through its stored form, without
// parsing; ok is false when the form cannot be n's: its text, the
// international format, must have n's digits and no others.
func phoneOf(n string, f store.NumberForm) (numbers.Phone, bool) {
	if f.CC < 1 || f.CC > 3 || f.CC >= len(n) || len(n) > 15 || !isDigits(n) || !sameDigits(f.Text, n) {
		return numbers.Phone{}, false
	}
	return numbers.Phone{Digits: n, CC: n[:f.CC], NSN: n[f.CC:], Trunk: f.Trunk, Text: f.Text}, true
}

// sameDigits reports whether text ("+7 495 000-00-01") has the digits of
// n ("74950000001") in order and no others.
func sameDigits(text, n string) bool {
	j := 0
	for i := 0; i < len(text); i++ {
		if c := text[i]; c >= '0' && c <= '9' {
			if j == len(n) || n[j] != c {
				return false
			}
			j++
		}
	}
	return j == len(n) && j > 0
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// formOf is what a config keeps of a parsed number (phoneOf reads it back).
func formOf(p numbers.Phone) store.NumberForm {
	return store.NumberForm{CC: len(p.CC), Trunk: p.Trunk, Text: p.Text}
}

// canonical parses a stored number and checks it is in canonical form.
func canonical(n string) (numbers.Phone, error) {
	p, err := parsePhone("+"+n, numbers.DefaultRegion) // with "+", the region does not matter
	if err != nil {
		return numbers.Phone{}, err
	}
	if p.Digits != n {
		return numbers.Phone{}, ErrInvalid.Errorf("number %q is not in E.164 digits (%s)", n, p.Digits)
	}
	return p, nil
}

// checkRule checks a stored rule, its priority and the site numbers it
// replaces.
func checkRule(what usererr.Phrase, text string, priority int64, repl []string, siteNumbers map[string]bool) (numbers.Rule, error) {
	r, err := numbers.ParseRule(text)
	if err != nil {
		return numbers.Rule{}, usererr.Within(what, ErrInvalid.Because(err))
	}
	if r.String() != text {
		return numbers.Rule{}, ErrInvalid.Errorf("%s: rule %q is not canonical", what, text)
	}
	if priority < -MaxPriority || priority > MaxPriority {
		return numbers.Rule{}, ErrInvalid.Errorf("%s: priority %d: want %d to %d", what, priority, -MaxPriority, MaxPriority)
	}
	for _, n := range repl {
		if !siteNumbers[n] {
			return numbers.Rule{}, ErrInvalid.Errorf("%s replaces %s, which is not one of the site's numbers", what, n)
		}
	}
	return r, nil
}

func checkPoolName(name string) error {
	if name == "" || !utf8.ValidString(name) || utf8.RuneCountInString(name) > MaxPoolName || strings.TrimSpace(name) != name {
		return ErrInvalid.Errorf("pool name %q: 1 to %d characters, no leading or trailing space", name, MaxPoolName)
	}
	for _, r := range name {
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) && !strings.ContainsRune(" -_.", r) {
			return ErrInvalid.Errorf("pool name %q: letters, digits, space, - _ and . only", name)
		}
	}
	return nil
}

// checkSelector accepts what can be a CSS selector list; the browser has
// the last word (the snippet skips one it cannot parse).
func checkSelector(sel string) error {
	if sel == "" || len(sel) > MaxSelector || !utf8.ValidString(sel) || strings.TrimSpace(sel) != sel {
		return ErrInvalid.Errorf("selector %q: 1 to %d characters, no leading or trailing space", sel, MaxSelector)
	}
	if strings.IndexFunc(sel, func(r rune) bool { return r < 0x20 || r == 0x7f || r == '{' || r == '}' || r == ';' }) >= 0 {
		return ErrInvalid.Errorf("selector %q: control characters, braces and semicolons are not part of a selector", sel)
	}
	return nil
}

// checkShared checks that site's tracking numbers belong to no other site
// in any role, and that its site and fallback numbers are no other site's
// tracking numbers.
func checkShared(site uint32, sites map[uint32]*siteState, name func(uint32) string) error {
	ss := sites[site]
	tracking := map[string]bool{}
	for _, s := range ss.statics {
		tracking[s.phone.Digits] = true
	}
	for _, p := range ss.pools {
		for i := range p.live.Size() {
			tracking[p.live.Number(i)] = true
		}
	}
	for id, other := range sites {
		if id == site {
			continue
		}
		shared := func(n string, isTracking bool) error {
			if tracking[n] || (isTracking && ownsPlain(ss, n)) {
				return ErrInvalid.Errorf("%s is a number of another site, %q: a tracking number belongs to one site", n, name(id))
			}
			return nil
		}
		for n, o := range ownersOf(map[uint32]*siteState{id: other}) {
			if err := shared(n, o.role == roleStatic); err != nil {
				return err
			}
		}
		for _, p := range other.pools {
			for i := range p.live.Size() {
				if err := shared(p.live.Number(i), true); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// ownsPlain reports whether n is a site or fallback number of ss.
func ownsPlain(ss *siteState, n string) bool {
	for _, p := range ss.numbers {
		if p.Digits == n {
			return true
		}
	}
	for _, p := range ss.pools {
		if p.fallback != nil && p.fallback.Digits == n {
			return true
		}
	}
	return false
}

// ownersOf indexes the static, site and fallback numbers of the sites (not
// their pools' numbers: see state.owner). A static number wins over a
// site's plain (site, fallback) numbers, and a lower site id over a higher.
func ownersOf(sites map[uint32]*siteState) map[string]owner {
	ids := make([]uint32, 0, len(sites))
	for id := range sites {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	size := 0
	for _, ss := range sites {
		size += len(ss.numbers) + len(ss.statics) + len(ss.pools)
	}
	out := make(map[string]owner, size)
	rank := func(r role) int {
		switch r {
		case roleStatic, roleDynamic:
			return 0
		case roleFallback:
			return 1
		}
		return 2
	}
	put := func(n string, o owner) {
		if cur, ok := out[n]; ok && rank(cur.role) <= rank(o.role) {
			return
		}
		out[n] = o
	}
	for _, id := range ids {
		ss := sites[id]
		for i, s := range ss.statics {
			put(s.phone.Digits, owner{site: id, role: roleStatic, index: uint16(i)})
		}
		for i, p := range ss.pools {
			if p.fallback != nil {
				put(p.fallback.Digits, owner{site: id, role: roleFallback, index: uint16(i)})
			}
		}
		for _, p := range ss.numbers {
			put(p.Digits, owner{site: id, role: roleSite})
		}
	}
	return out
}

func cloneConfig(c store.NumbersConfig) store.NumbersConfig {
	c.SiteNumbers = slices.Clone(c.SiteNumbers)
	c.Selectors = slices.Clone(c.Selectors)
	c.Statics = slices.Clone(c.Statics)
	for i := range c.Statics {
		c.Statics[i].Replaces = slices.Clone(c.Statics[i].Replaces)
	}
	c.RemovedPools = slices.Clone(c.RemovedPools)
	c.Pools = slices.Clone(c.Pools)
	for i := range c.Pools {
		c.Pools[i].Numbers = slices.Clone(c.Pools[i].Numbers)
		c.Pools[i].Replaces = slices.Clone(c.Pools[i].Replaces)
		c.Pools[i].Forms = slices.Clone(c.Pools[i].Forms)
	}
	return c
}

// SetSiteNumbers replaces the site's own numbers, as written on its pages
// (any common written form; kept as written beside the normalised number).
// A number a static or pool replaces cannot go.
func (t *Tracker) SetSiteNumbers(ctx context.Context, site uint32, written []string, now time.Time) (store.NumbersConfig, error) {
	var list []store.SiteNumber
	seen := map[string]bool{}
	for _, w := range written {
		d, err := digitsOf(w, t.region)
		if err != nil {
			return store.NumbersConfig{}, usererr.Within("site number", err)
		}
		if seen[d] {
			continue
		}
		seen[d] = true
		list = append(list, store.SiteNumber{Number: d, Written: strings.TrimSpace(w)})
	}
	return t.change(ctx, site, now, func(c *store.NumbersConfig) error {
		c.SiteNumbers = list
		return nil
	})
}

// SetSelectors replaces the site's extra CSS selectors.
func (t *Tracker) SetSelectors(ctx context.Context, site uint32, selectors []string, now time.Time) (store.NumbersConfig, error) {
	var list []string
	for _, s := range selectors {
		if s = strings.TrimSpace(s); s != "" && !slices.Contains(list, s) {
			list = append(list, s)
		}
	}
	return t.change(ctx, site, now, func(c *store.NumbersConfig) error {
		c.Selectors = list
		return nil
	})
}

// RuleInput is how a static number or pool is matched to visits, as typed.
type RuleInput struct {
	Rule     string   // rule text (numbers.ParseRule); "" matches all traffic
	Priority int64    // higher wins
	Replaces []string // site numbers it stands in for, any written form; none: all
}

func (r RuleInput) check(what usererr.Phrase, c *store.NumbersConfig, region string) (rule string, repl []string, err error) {
	parsed, err := numbers.ParseRule(strings.TrimSpace(r.Rule))
	if err != nil {
		return "", nil, usererr.Within(what, ErrInvalid.Because(err))
	}
	for _, w := range r.Replaces {
		d, err := digitsOf(w, region)
		if err != nil {
			return "", nil, usererr.Within(usererr.P("%s: replaces", what), err)
		}
		if !slices.ContainsFunc(c.SiteNumbers, func(s store.SiteNumber) bool { return s.Number == d }) {
			return "", nil, ErrInvalid.Errorf("%s: replaces %s, which is not one of the site's numbers (set them first)", what, d)
		}
		if !slices.Contains(repl, d) {
			repl = append(repl, d)
		}
	}
	return parsed.String(), repl, nil
}

// StaticInput is a static number as typed.
type StaticInput struct {
	Number string
	RuleInput
}

// AddStatic adds a static tracking number, or replaces the static number
// with the same number.
func (t *Tracker) AddStatic(ctx context.Context, site uint32, in StaticInput, now time.Time) (store.StaticNumber, error) {
	n, err := digitsOf(in.Number, t.region)
	if err != nil {
		return store.StaticNumber{}, usererr.Within("static number", err)
	}
	var out store.StaticNumber
	_, err = t.change(ctx, site, now, func(c *store.NumbersConfig) error {
		rule, repl, err := in.check(usererr.P("static number %s", n), c, t.region)
		if err != nil {
			return err
		}
		if r := roleOf(c, n, ""); r.Format != "" && r.Format != "a static number" {
			return ErrInvalid.Errorf("static number %s: it is already %s", n, r)
		}
		out = store.StaticNumber{Number: n, Rule: rule, Priority: in.Priority, Replaces: repl, Created: now.UnixMilli()}
		if i := slices.IndexFunc(c.Statics, func(s store.StaticNumber) bool { return s.Number == n }); i >= 0 {
			out.Created = c.Statics[i].Created
			c.Statics[i] = out
			return nil
		}
		c.Statics = append(c.Statics, out)
		return nil
	})
	return out, err
}

// RemoveStatic removes a static number; calls to it are no longer
// attributed to its rule.
func (t *Tracker) RemoveStatic(ctx context.Context, site uint32, number string, now time.Time) error {
	n, err := digitsOf(number, t.region)
	if err != nil {
		return usererr.Within("static number", err)
	}
	_, err = t.change(ctx, site, now, func(c *store.NumbersConfig) error {
		i := slices.IndexFunc(c.Statics, func(s store.StaticNumber) bool { return s.Number == n })
		if i < 0 {
			return ErrNoStatic.Errorf("remove static number %s", n)
		}
		c.Statics = slices.Delete(c.Statics, i, i+1)
		return nil
	})
	return err
}

// PoolInput is a dynamic pool as typed.
type PoolInput struct {
	Name     string
	Numbers  []string // any written form
	Fallback string   // "" keeps the site's number when the pool is full
	Reserve  time.Duration
	// AddrCap is how many of the pool's numbers visitors from one address
	// (an IPv6 /64) may hold at once; 0: no cap. nil keeps the pool's (a
	// new pool's is numbers.DefaultAddrCap).
	AddrCap *int
	RuleInput
}

// MaxAddrCap bounds PoolInput.AddrCap.
const MaxAddrCap = 1_000_000

// AddPool adds a dynamic pool. A zero reserve is numbers.DefaultReserve.
func (t *Tracker) AddPool(ctx context.Context, site uint32, in PoolInput, now time.Time) (store.PoolConfig, error) {
	var out store.PoolConfig
	_, err := t.change(ctx, site, now, func(c *store.NumbersConfig) error {
		if poolIndex(c, in.Name) >= 0 {
			return ErrInvalid.Errorf("pool %q: the site has a pool of that name (edit it instead)", in.Name)
		}
		c.NextPool = max(c.NextPool, 1)
		p := store.PoolConfig{ID: c.NextPool, Created: now.UnixMilli(), AddrCap: numbers.DefaultAddrCap}
		if err := in.apply(&p, c, t.region); err != nil {
			return err
		}
		c.NextPool++
		c.Pools = append(c.Pools, p)
		out = p
		return nil
	})
	return out, err
}

// UpdatePool replaces the settings of the pool called name (in.Name may
// rename it). Leases of numbers it keeps live on; those of numbers it
// drops end (see RemovePool).
func (t *Tracker) UpdatePool(ctx context.Context, site uint32, name string, in PoolInput, now time.Time) (store.PoolConfig, error) {
	var out store.PoolConfig
	_, err := t.change(ctx, site, now, func(c *store.NumbersConfig) error {
		i := poolIndex(c, name)
		if i < 0 {
			return ErrNoPool.Errorf("edit pool %q", name)
		}
		if j := poolIndex(c, in.Name); j >= 0 && j != i {
			return ErrInvalid.Errorf("pool %q: the site has a pool of that name", in.Name)
		}
		p := c.Pools[i]
		if err := in.apply(&p, c, t.region); err != nil {
			return err
		}
		c.Pools[i] = p
		out = p
		return nil
	})
	return out, err
}

func (in PoolInput) apply(p *store.PoolConfig, c *store.NumbersConfig, region string) error {
	name := strings.TrimSpace(in.Name)
	if err := checkPoolName(name); err != nil {
		return err
	}
	what := usererr.P("pool %q", name)
	var list []string
	for _, w := range in.Numbers {
		d, err := digitsOf(w, region)
		if err != nil {
			return usererr.Within(what, err)
		}
		if slices.Contains(list, d) {
			return ErrInvalid.Errorf("%s: %s is listed twice", what, d)
		}
		if r := roleOf(c, d, p.Name); r.Format != "" {
			return ErrInvalid.Errorf("%s: %s is already %s", what, d, r)
		}
		list = append(list, d)
	}
	var fallback string
	if strings.TrimSpace(in.Fallback) != "" {
		d, err := digitsOf(in.Fallback, region)
		if err != nil {
			return usererr.Within(usererr.P("%s: fallback", what), err)
		}
		fallback = d
	}
	reserve := in.Reserve
	if reserve == 0 {
		reserve = numbers.DefaultReserve
	}
	if err := numbers.CheckReserve(reserve); err != nil {
		return ErrInvalid.Errorf("%s: reserve %s: want %s to %s", what, numbers.FormatReserve(reserve),
			numbers.FormatReserve(numbers.MinReserve), numbers.FormatReserve(numbers.MaxReserve))
	}
	if in.AddrCap != nil {
		if n := *in.AddrCap; n < 0 || n > MaxAddrCap {
			return ErrInvalid.Errorf("%s: address cap %d: want 0 (no cap) to %d", what, n, MaxAddrCap)
		}
	}
	rule, repl, err := in.check(what, c, region)
	if err != nil {
		return err
	}
	if in.AddrCap != nil {
		p.AddrCap = int64(*in.AddrCap)
	}
	p.Name, p.Numbers, p.Fallback, p.Reserve = name, list, fallback, reserve.Milliseconds()
	p.Rule, p.Priority, p.Replaces = rule, in.Priority, repl
	return nil
}

// RemovePool removes the pool called name. Its leases end: a call to one
// of its numbers from now on is not the visitor's who held it. Its lease
// history stays, so calls before are still attributed to them.
func (t *Tracker) RemovePool(ctx context.Context, site uint32, name string, now time.Time) error {
	_, err := t.change(ctx, site, now, func(c *store.NumbersConfig) error {
		i := poolIndex(c, name)
		if i < 0 {
			return ErrNoPool.Errorf("remove pool %q", name)
		}
		c.RemovedPools = append(c.RemovedPools, store.RemovedPool{ID: c.Pools[i].ID, Name: c.Pools[i].Name})
		c.Pools = slices.Delete(c.Pools, i, i+1)
		return nil
	})
	return err
}

// ReleaseSite empties the site's set-up (a site being removed): its site
// numbers, static numbers and pools. Its pools' leases end; their history
// stays, so calls to its numbers at times they were leased are still
// attributed.
func (t *Tracker) ReleaseSite(ctx context.Context, site uint32, now time.Time) error {
	_, err := t.change(ctx, site, now, func(c *store.NumbersConfig) error {
		removed := c.RemovedPools
		for _, p := range c.Pools {
			removed = append(removed, store.RemovedPool{ID: p.ID, Name: p.Name})
		}
		*c = store.NumbersConfig{Revision: c.Revision, NextPool: c.NextPool, RemovedPools: removed}
		return nil
	})
	return err
}

// roleOf says what n already is in c (no Format when nothing), leaving out the
// pool called skip.
func roleOf(c *store.NumbersConfig, n, skip string) usererr.Phrase {
	for _, sn := range c.SiteNumbers {
		if sn.Number == n {
			return usererr.P("a site number")
		}
	}
	for _, s := range c.Statics {
		if s.Number == n {
			return usererr.P("a static number")
		}
	}
	for _, p := range c.Pools {
		if skip != "" && strings.EqualFold(p.Name, skip) {
			continue
		}
		if slices.Contains(p.Numbers, n) {
			return usererr.P("in pool %q", p.Name)
		}
		if p.Fallback == n {
			return usererr.P("the fallback of pool %q", p.Name)
		}
	}
	return usererr.Phrase{}
}

func poolIndex(c *store.NumbersConfig, name string) int {
	return slices.IndexFunc(c.Pools, func(p store.PoolConfig) bool { return strings.EqualFold(p.Name, strings.TrimSpace(name)) })
}

// Skipped is a number an import left out, and why.
type Skipped struct {
	Line   int    `json:"line"`
	Value  string `json:"value"`
	Reason string `json:"reason"`
	// Why is Reason before formatting, for a reader's language: the
	// line's error, or a usererr.Phrase.
	Why any `json:"-"`
}

// skipped is the line l skipped for why (an error or a usererr.Phrase).
func skipped(l ImportLine, why any) Skipped {
	return Skipped{Line: l.Line, Value: l.Value, Reason: usererr.MessageOf(why), Why: why}
}

// ImportResult is what ImportNumbers did.
type ImportResult struct {
	Pool    string    `json:"pool"`
	Added   []string  `json:"added"`
	Skipped []Skipped `json:"skipped"`
}

// ImportNumbers adds the parsed lines of an import file (ParseImport) to
// the pool called name. Lines that do not parse, repeat a number, or name
// a number the pool or another role already has are skipped, each with its
// reason; the rest are added in one change.
func (t *Tracker) ImportNumbers(ctx context.Context, site uint32, name string, lines []ImportLine, now time.Time) (ImportResult, error) {
	var res ImportResult
	_, err := t.change(ctx, site, now, func(c *store.NumbersConfig) error {
		res = ImportResult{}
		i := poolIndex(c, name)
		if i < 0 {
			return ErrNoPool.Errorf("import into pool %q", name).WithHint(" (add it with `numbers pool add` first)")
		}
		res.Pool = c.Pools[i].Name
		st := t.state.Load()
		taken := func(n string) usererr.Phrase {
			if ow, ok := st.owner(n); ok && ow.site != site {
				return usererr.P("a number of another site, %q", t.siteName(ow.site))
			}
			return roleOf(c, n, "")
		}
		earlier := map[string]bool{}
		p := &c.Pools[i]
		for _, l := range lines {
			switch {
			case l.Err != nil:
				res.Skipped = append(res.Skipped, skipped(l, l.Err))
			case earlier[l.Number]:
				res.Skipped = append(res.Skipped, skipped(l, usererr.P("%s is listed earlier in the file", l.Number)))
			case taken(l.Number).Format != "":
				res.Skipped = append(res.Skipped, skipped(l, usererr.P("%s is already %s", l.Number, taken(l.Number))))
			case len(p.Numbers) >= MaxPoolNumbers:
				res.Skipped = append(res.Skipped, skipped(l, usererr.P("the pool is full (%d numbers)", MaxPoolNumbers)))
			default:
				if len(p.Forms) == len(p.Numbers) {
					p.Forms = append(p.Forms, l.form)
				}
				p.Numbers = append(p.Numbers, l.Number)
				res.Added = append(res.Added, l.Number)
				earlier[l.Number] = true
			}
		}
		return nil
	})
	return res, err
}

// sortedPools returns the site's pools by name (for reports).
func sortedPools(ss *siteState) []*pool {
	ps := slices.Clone(ss.pools)
	slices.SortFunc(ps, func(a, b *pool) int { return cmp.Compare(a.cfg.Name, b.cfg.Name) })
	return ps
}
