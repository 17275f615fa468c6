package httpd

import (
	"context"
	"encoding/binary"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"

	"appliance/httpd/i18n"
	"appliance/httpd/reports"
	"appliance/httpd/sites"
	"appliance/store"
)

// rebuilds runs the reports' rebuilds (reports.Service.Rebuild) of the
// sites, one at a time a site: from the dashboard's settings page in the
// background, from the admin API (`appliance reports rebuild`) while its
// caller waits. A rebuild's marker (rebuildKey) is in the store while it
// runs, so that one cut short by a crash or a stop starts again when the
// server does (Run): the roll-ups a rebuild leaves half-way are corrected
// by running it again.
type rebuilds struct {
	db      *store.DB
	sites   *sites.Registry
	reports *reports.Service
	forget  func() // the tracker's remembered touches, which a rebuild rewrites
	now     func() time.Time
	log     *slog.Logger

	mu   sync.Mutex
	jobs map[uint32]*rebuildJob // the latest of each site since the start
	ctx  context.Context        // Run's: background rebuilds end with it; nil before
	wg   sync.WaitGroup
	// step, when not nil, is told each step of every rebuild after the
	// settings page can see it; it may block, holding the rebuild there
	// (a test's way to look at one half-way).
	step func(done, total int64)
}

// rebuildJob is one rebuild of a site, as the settings page shows it.
type rebuildJob struct {
	zone        string // the zone it counts in
	by          string // who asked: a user's email, "appliance reports rebuild", or "restart"
	started     time.Time
	done, total atomic.Int64 // sessions replayed, of how many
	end         chan struct{}

	// Set before end is closed.
	ended time.Time
	res   reports.RebuildResult
	err   error
}

// errRebuildRunning is a second rebuild of a site asked while one runs.
var errRebuildRunning = errorf(fasthttp.StatusConflict, "The reports of this site are being recounted already.")

// rebuildKey is the marker of a site's rebuild in flight: a byte, 1 when
// it counts again even the days a prune left without their visits.
func rebuildKey(site uint32) []byte {
	return store.MetaKey("rebuild/" + string(binary.BigEndian.AppendUint32(nil, site)))
}

// prunedDay is the day (in the site's zone, 2006-01-02) before which a
// prune deleted the site's visits, or "" when none did: a rebuild would
// leave those days only their leads, callbacks and calls.
func (r *rebuilds) prunedDay(site *store.Site) (string, error) {
	pruned, err := r.db.PrunedBefore(site.ID)
	if err != nil || pruned == 0 {
		return "", err
	}
	return time.UnixMilli(pruned).In(r.sites.Location(site)).Format("2006-01-02"), nil
}

// begin records a rebuild of site, in its zone as it is now, as running,
// or returns errRebuildRunning.
func (r *rebuilds) begin(site *store.Site, by string) (*rebuildJob, error) {
	zone := reports.ZoneName(site, r.sites.Location(site))
	r.mu.Lock()
	defer r.mu.Unlock()
	if j := r.jobs[site.ID]; j != nil && !j.finished() {
		return nil, errRebuildRunning
	}
	j := &rebuildJob{zone: zone, by: by, started: r.now(), end: make(chan struct{})}
	if r.jobs == nil {
		r.jobs = map[uint32]*rebuildJob{}
	}
	r.jobs[site.ID] = j
	return j, nil
}

// run runs j, a rebuild of site, to its end: its marker is written
// durably first and deleted once the roll-ups are written, so a rebuild
// cut short starts again with the server. progress, when not nil, is told
// the sessions replayed too.
func (r *rebuilds) run(ctx context.Context, j *rebuildJob, site *store.Site, dropPruned bool, progress func(done, total int64)) {
	defer close(j.end)
	r.mu.Lock()
	step := r.step
	r.mu.Unlock()
	var flag byte
	if dropPruned {
		flag = 1
	}
	j.err = r.db.Set(ctx, rebuildKey(site.ID), []byte{flag})
	if j.err == nil {
		j.res, j.err = r.reports.Rebuild(ctx, site, func(done, total int64) {
			j.done.Store(done)
			j.total.Store(total)
			if step != nil {
				step(done, total)
			}
			if progress != nil {
				progress(done, total)
			}
		})
		// The rebuild may have rewritten touches the tracker remembers.
		r.forget()
	}
	if j.err == nil {
		j.err = r.db.Delete(ctx, rebuildKey(site.ID))
	}
	j.ended = r.now()
	switch {
	case j.err == nil:
		r.log.Info("reports rebuilt", "site", site.Key, "zone", j.zone, "by", j.by, "rollups", j.res.Rollups, "changed", j.res.Changed, "took", j.ended.Sub(j.started).Round(time.Millisecond))
	case errors.Is(j.err, context.Canceled):
		r.log.Info("reports rebuild stopped; it starts again with the server", "site", site.Key)
	default:
		r.log.Error("reports rebuild failed", "site", site.Key, "err", j.err)
	}
}

// start runs a rebuild of site in the background (until Run's context
// ends), or returns errRebuildRunning.
func (r *rebuilds) start(site *store.Site, by string, dropPruned bool) error {
	r.mu.Lock()
	ctx := r.ctx
	r.mu.Unlock()
	if ctx == nil {
		return errorf(fasthttp.StatusServiceUnavailable, "The server is starting; try again in a moment.")
	}
	j, err := r.begin(site, by)
	if err != nil {
		return err
	}
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		r.run(ctx, j, site, dropPruned, nil)
	}()
	return nil
}

// job is the latest rebuild of the site since the start, or nil.
func (r *rebuilds) job(site uint32) *rebuildJob {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.jobs[site]
}

func (j *rebuildJob) finished() bool {
	select {
	case <-j.end:
		return true
	default:
		return false
	}
}

// Run starts again the rebuilds a crash or a stop cut short (their markers
// are in the store), lets start run others, and returns once ctx has
// ended and every rebuild it ran has stopped.
func (r *rebuilds) Run(ctx context.Context) {
	r.mu.Lock()
	r.ctx = ctx
	r.mu.Unlock()
	type marked struct {
		site uint32
		drop bool
	}
	var left []marked
	p := store.MetaKey("rebuild/")
	err := r.db.ScanPrefix(ctx, p, false, 0, func(k, v []byte) bool {
		if len(k) == len(p)+4 {
			left = append(left, marked{binary.BigEndian.Uint32(k[len(p):]), len(v) == 1 && v[0] == 1})
		}
		return true
	})
	if err != nil {
		r.log.Error("reports rebuilds cut short: cannot read them", "err", err)
	}
	for _, m := range left {
		site, err := r.sites.ByID(m.site)
		if err != nil {
			// The site was removed: its reports are no longer shown.
			_ = r.db.Delete(ctx, rebuildKey(m.site))
			continue
		}
		if err := r.start(site, "restart", m.drop); err != nil {
			r.log.Error("reports rebuild cut short: cannot start it again", "site", site.Key, "err", err)
		}
	}
	<-ctx.Done()
	r.wg.Wait()
}

// rebuildView is the settings page's account of the site's rebuild.
type rebuildView struct {
	Running     bool
	Done, Total int64
	Zone        string
	Ended       string // when it ended, in the site's zone
	Changed     int
	Failed      bool // it ended in an error (the server's log has it)
	Stopped     bool // the server stopped while it ran: it goes on at the next start
}

// say is what the settings page says of the rebuild, in tr's language,
// and whether it is an error.
func (v *rebuildView) say(tr i18n.Printer) (text string, isErr bool) {
	switch {
	case v.Running:
		return tr.T("Recounting in %s: %d of %d sessions so far.", v.Zone, v.Done, v.Total), false
	case v.Stopped:
		return tr.T("The recount stopped with the server; it goes on when the server starts again."), true
	case v.Failed:
		return tr.T("The recount failed; the server's log says why. Try again."), true
	}
	return tr.T("Recounted in %s on %s.", v.Zone, v.Ended), false
}

func (j *rebuildJob) view(loc *time.Location) *rebuildView {
	v := &rebuildView{Zone: j.zone, Done: j.done.Load(), Total: j.total.Load()}
	if !j.finished() {
		v.Running = true
		return v
	}
	v.Ended = j.ended.In(loc).Format("2006-01-02 15:04")
	v.Changed = j.res.Changed
	v.Stopped = errors.Is(j.err, context.Canceled)
	v.Failed = j.err != nil && !v.Stopped
	return v
}
