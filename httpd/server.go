// Package httpd is the appliance's fasthttp server: it routes requests to
// the snippet, tracker, API, dashboard and admin endpoints, decodes input,
// calls the domain packages (sites, accounts, numbers, ...) and encodes
// their answers. Errors become one JSON shape ({"success":false,"error":...})
// or an HTML page, in one place; a panic in a handler is recovered and
// logged, and the server keeps serving.
//
// The admin API (package admin, routes and handlers in admin.go) is served
// on a unix socket in the data directory (mode 0600), which the CLI uses
// while the server runs, or in-process when none runs (OpenAdmin). Run is
// `appliance serve`.
package httpd

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"
	"golang.org/x/crypto/acme/autocert"

	"appliance/captcha"
	"appliance/export"
	"appliance/httpd/accounts"
	"appliance/httpd/callbacks"
	"appliance/httpd/chats"
	"appliance/httpd/i18n"
	"appliance/httpd/leads"
	"appliance/httpd/notice"
	"appliance/httpd/reports"
	"appliance/httpd/retention"
	"appliance/httpd/sites"
	"appliance/httpd/visits"
	"appliance/httpd/webhooks"
	"appliance/internal/usererr"
	"appliance/numbers"
	"appliance/numbers/tracking"
	"appliance/store"
)

// Options configure a Server.
type Options struct {
	Listen       string // TCP address, e.g. ":8080"
	PublicURL    string // how browsers reach the server; default from Listen
	TLSCert      string // PEM files; both or neither
	TLSKey       string
	TrustProxy   bool   // take the client IP from X-Forwarded-For
	MetricsToken string // bearer token for /metrics; empty disables it
	// Mail is the SMTP server that mailto: endpoints' notifications, and
	// the dashboard's password reset links and invites, go through (serve
	// --smtp, --smtp-from); none when its URL is "".
	Mail notice.Options
	// MailTick is the longest the worker of the accounts' emails (password
	// resets, invites) sleeps without looking at its queue
	// (outbox.Options.Tick): it wakes for each new email and each retry's
	// time anyway, so only a test that moves Now shortens it. Default 1 min.
	MailTick time.Duration
	// TelegramAPI is the Telegram Bot API's base URL that telegram:
	// endpoints' messages go to; notice.TelegramAPI when "" (tests give
	// their own).
	TelegramAPI string
	Pprof       bool // serve /debug/pprof to bearers of MetricsToken
	Version     string
	Log         *slog.Logger
	Stdout      io.Writer // where the setup URL is printed
	// Now is the clock of the tracker (sessions, roll-up days); time.Now
	// when nil. Tests move it instead of sleeping.
	Now func() time.Time
	// Webhooks tunes the delivery of webhooks (tests shorten its clock).
	Webhooks webhooks.Options
	// Captcha configures the captcha store; tests give it known digits. Its
	// Now defaults to Now.
	Captcha captcha.Options
	// Callbacks tunes callbacks (tests move its clock and limits); its Now
	// defaults to Now.
	Callbacks callbacks.Options
	// PhoneRegion is the region a phone number without a country code is
	// read in (visitors, leads, callbacks, tracking numbers, calls);
	// numbers.DefaultRegion when "".
	PhoneRegion string
	// Limits of the tracker endpoints (zero: the defaults).
	Limits TrackerLimits
	// ChatLimits bound the visitors' chat sockets and messages (zero: the
	// defaults).
	ChatLimits ChatLimits
	// Chats tunes the chat service (tests move its clock and timeouts);
	// its Now defaults to Now.
	Chats chats.Options
	// ACME, when it names domains, serves TLS with certificates from an
	// ACME CA instead of TLSCert/TLSKey (see ACMEOptions).
	ACME ACMEOptions
	// NotifySocket is systemd's notification socket ($NOTIFY_SOCKET): Run
	// sends READY=1 once it serves and STOPPING=1 when it begins to stop.
	// Empty: no notifications.
	NotifySocket string
	// Reload, when set, asks on each receive (serve: SIGHUP) to read the
	// TLS certificate files again.
	Reload <-chan os.Signal
	// MaxConns caps the simultaneous connections of the public listener
	// (zero: defaultMaxConns); serve derives it from the open file limit
	// so that connections cannot take every descriptor. One client IP may
	// hold a quarter of them (at most maxConnsPerIP), except behind a
	// trusted proxy, where every connection comes from the proxy.
	MaxConns int
	// CacheSize is the store's block cache in bytes (zero:
	// store.DefaultCacheSize).
	CacheSize int64
	// L0Compaction is the store's level-0 compaction threshold (zero:
	// store.DefaultL0Compaction).
	L0Compaction int
	// BackupRate bounds how fast a backup reads the store, in bytes a
	// second (zero: no limit; see store.Options.BackupRate).
	BackupRate int64
	// Export, when set, publishes hits, events, visitor changes, leads,
	// callbacks, calls and chats to NATS JetStream (package export); its
	// Log defaults to Log.
	Export *export.Options
	// ExportBacklog bounds the events waiting on disk for NATS (0:
	// store.DefaultExportMax); past it new events are not exported.
	ExportBacklog uint64

	// certs are TLSCert and TLSKey as Run loaded them, before it touched
	// the store; New loads them itself when nil.
	certs *certFiles
	// snippetDist is the built snippet (cs.min.js and one
	// cs-widget.<hash>.js) in place of assets.FS's snippet/dist when not
	// nil: tests start a server of another version on a store with it.
	snippetDist fs.FS
}

// Limits of every request.
const (
	maxBodySize    = 1 << 20
	maxHeaderBytes = 8 << 10
	readTimeout    = 15 * time.Second
	writeTimeout   = 60 * time.Second
	idleTimeout    = 30 * time.Second // an idle keep-alive holds a descriptor
	// shutdownWait bounds a stop's wait for the requests being handled
	// (drain.go): a callback's send to the PBX (5 s) fits, and the stop
	// still ends inside `docker stop`'s 10 s grace.
	shutdownWait = 7 * time.Second

	pruneEvery      = time.Hour // the retention sweep
	defaultMaxConns = 10_000
	maxConnsPerIP   = 512
)

// Server is the appliance's HTTP server over one store.
type Server struct {
	opts      Options
	public    *url.URL
	db        *store.DB
	sites     *sites.Registry
	accounts  *accounts.Accounts
	cookies   dashCookies // the dashboard's cookies' names
	log       *slog.Logger
	routes    *router
	admin     *router
	pages     *pages
	snippet   *snippet
	hooks     *webhooks.Hooks
	mail      *accountMail // the accounts' emails; nil without --smtp
	mailQueue *accountMail // their queue's worker: mail, or without --smtp one that keeps what is queued till it expires
	digests   *digests     // report digests by email
	alerts    *hookAlerts  // emails to a site's owners that a webhook endpoint fails, or works again
	rebuilds  *rebuilds    // the reports' rebuilds
	captcha   *captcha.Store
	callbacks *callbacks.Service
	leads     *leads.Service
	chats     *chats.Service
	visits    *visits.Tracker
	reports   *reports.Service
	numbers   *tracking.Tracker
	started   time.Time
	exporter  *export.Exporter // nil: export off
	// exportRunning is set while Serve runs the exporter.
	exportRunning atomic.Bool

	chatSockets *chatSockets
	handling    handling          // the public requests being handled (drain.go)
	certs       *certFiles        // --tls-cert/--tls-key; nil without
	acme        *autocert.Manager // --acme-domain; nil without
	plainLn     net.Listener      // ACME's HTTP-01 and redirects (Run sets it); nil for none

	metrics      *metrics
	assetsDone   <-chan struct{} // assetCache.finish is done
	retention    *retention.Pruner
	limiters     []namedLimiter // the rate limiters bounded in keys, for the metrics (publicRoutes)
	acceptErrs   atomic.Uint64  // temporary accept errors, retried
	backlogErrs  atomic.Uint64  // scrapes that could not read the webhook queue
	acceptLogged atomic.Bool
}

// New builds a server over db. It does not listen yet.
func New(ctx context.Context, db *store.DB, o Options) (*Server, error) {
	if o.Log == nil {
		o.Log = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	if o.Stdout == nil {
		o.Stdout = io.Discard
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if err := o.Check(); err != nil {
		return nil, err
	}
	if o.ACME.on() {
		var err error
		if o.ACME.Domains, err = checkDomains(o.ACME.Domains); err != nil {
			return nil, err
		}
	}
	certs := o.certs
	if certs == nil && o.TLSCert != "" {
		var err error
		if certs, err = loadCertFiles(o.TLSCert, o.TLSKey); err != nil {
			return nil, fmt.Errorf("serve: %w", err)
		}
	}
	if o.PhoneRegion == "" {
		o.PhoneRegion = numbers.DefaultRegion
	}
	if err := numbers.CheckRegion(o.PhoneRegion); err != nil {
		return nil, fmt.Errorf("serve: %w", err)
	}
	pub, err := publicURL(o)
	if err != nil {
		return nil, err
	}
	// The pools' numbers and live leases (most of a start with pools) are
	// read while the rest is set up, on the other core. New does not
	// return before they are: the store may be closed after it does.
	var (
		tracker    *tracking.Tracker
		trackerErr error
	)
	trackerDone := make(chan struct{})
	go func() {
		defer close(trackerDone)
		tracker, trackerErr = tracking.Open(ctx, db, o.Now(), o.PhoneRegion, visits.SourceChannel)
	}()
	defer func() { <-trackerDone }()
	reg, err := sites.Open(ctx, db, o.Now)
	if err != nil {
		return nil, err
	}
	ac, err := openAssetCache(ctx, db)
	if err != nil {
		return nil, err
	}
	pg, err := loadPages(o.PhoneRegion, ac)
	if err != nil {
		return nil, err
	}
	whOpts := o.Webhooks
	if whOpts.Log == nil {
		whOpts.Log = o.Log
	}
	if whOpts.Now == nil {
		whOpts.Now = o.Now
	}
	nw := noticeWriter(pub.String(), pg.catalog, reg)
	var mailer *notice.Mailer
	if o.Mail.URL != "" || o.Mail.From != "" {
		if mailer, whOpts.Mail, err = mailSender(o, nw); err != nil {
			return nil, err
		}
	}
	telegramAPI := o.TelegramAPI
	if telegramAPI == "" {
		telegramAPI = notice.TelegramAPI
	}
	tg := &notice.Telegram{API: telegramAPI, Timeout: whOpts.Timeout, W: nw} // its Client: the hooks' (below)
	whOpts.Telegram = func(ctx context.Context, endpoint, secret string, id uint64, body []byte) (int, string) {
		e, _, err := notice.ParseTelegram(endpoint)
		if err != nil {
			return 0, err.Error()
		}
		return tg.Send(ctx, e, secret, body)
	}
	sn, err := loadSnippet(ac, o.snippetDist)
	if err != nil {
		return nil, err
	}
	if sn.kept, err = keepWidgets(ctx, db, ac, sn, o.Now(), o.Log); err != nil {
		return nil, err
	}
	// The brotli forms the store's cache lacked are made while the rest
	// starts (a request for one waits for it).
	assetsDone := ac.finish(ctx, o.Log)
	s := &Server{
		opts:       o,
		certs:      certs,
		acme:       acmeManager(o.ACME, db),
		public:     pub,
		db:         db,
		sites:      reg,
		accounts:   accounts.NewWithClock(db, o.Now),
		log:        o.Log,
		pages:      pg,
		snippet:    sn,
		hooks:      webhooks.New(db, whOpts),
		started:    o.Now(),
		assetsDone: assetsDone,
	}
	tg.Client = s.hooks.Client() // the outbound policy's, as every webhook's
	s.cookies = plainCookies()
	if s.secure() {
		since, err := s.accounts.HostCookiesSince(ctx)
		if err != nil {
			return nil, fmt.Errorf("serve: %w", err)
		}
		s.cookies = hostCookies(since)
	}
	s.mailQueue = newAccountMail(db, mailer, pg.catalog, s.accounts, nw.PublicURL, o.Now, o.MailTick, o.Log)
	if mailer != nil {
		s.mail = s.mailQueue
	}
	s.visits = visits.NewTracker(db, o.Now, o.PhoneRegion)
	s.reports = reports.New(db, reg, reports.Options{Now: o.Now})
	s.visits.CountWith(s.reports)
	if s.digests, err = newDigests(ctx, &digests{db: db, sites: reg, accounts: s.accounts, reports: s.reports, catalog: pg.catalog,
		mailer: mailer, publicURL: nw.PublicURL, now: o.Now, log: o.Log}); err != nil {
		return nil, fmt.Errorf("serve: %w", err)
	}
	s.alerts = &hookAlerts{hooks: s.hooks, sites: reg, accounts: s.accounts, catalog: pg.catalog,
		mailer: mailer, publicURL: nw.PublicURL, now: o.Now, log: o.Log}
	s.visits.ZoneWith(reg.Location)
	s.rebuilds = &rebuilds{db: db, sites: reg, reports: s.reports, forget: s.visits.Forget, now: o.Now, log: o.Log}
	capOpts := o.Captcha
	if capOpts.Now == nil {
		capOpts.Now = o.Now
	}
	s.captcha = captcha.New(capOpts)
	cbOpts := o.Callbacks
	if cbOpts.Now == nil {
		cbOpts.Now = o.Now
	}
	if cbOpts.Log == nil {
		cbOpts.Log = o.Log
	}
	if cbOpts.PhoneRegion == "" {
		cbOpts.PhoneRegion = o.PhoneRegion
	}
	if cbOpts.Count == nil {
		cbOpts.Count = s.reports.CountCallback
	}
	if cbOpts.Spam == nil {
		cbOpts.Spam = s.reports.CountSpam
	}
	s.callbacks = callbacks.New(db, s.visits, s.hooks, s.captcha, cbOpts)
	s.leads = leads.New(db, s.visits, s.hooks, leads.Options{Now: o.Now, PhoneRegion: o.PhoneRegion, Count: s.reports.CountLead, Spam: s.reports.CountSpam})
	chOpts := o.Chats
	if chOpts.Now == nil {
		chOpts.Now = o.Now
	}
	if chOpts.Log == nil {
		chOpts.Log = o.Log
	}
	if chOpts.Count == nil {
		chOpts.Count = s.reports.CountChat
	}
	s.chats = chats.New(db, reg, s.visits, s.leads, s.hooks, chOpts)
	s.chatSockets = newChatSockets()
	// Records written before the visitor card's indexes get their entries
	// (once; a no-op since).
	if err := db.IndexVisitors(ctx); err != nil {
		return nil, err
	}
	// Visitors who gave an email before the email index get their
	// entries (once; a no-op since).
	if err := db.IndexVisitorEmails(ctx); err != nil {
		return nil, err
	}
	// Visitors who gave contacts before the contact index get their
	// entries (once; a no-op since).
	if err := db.IndexVisitorContacts(ctx); err != nil {
		return nil, err
	}
	// Calls stored before the calls-by-start index get their entries
	// (once; a no-op since).
	if err := db.IndexCallStarts(ctx); err != nil {
		return nil, err
	}
	<-trackerDone
	if trackerErr != nil {
		return nil, trackerErr
	}
	s.numbers = tracker
	s.numbers.ZoneWith(func(id uint32) *time.Location {
		site, err := reg.ByID(id)
		if err != nil {
			return time.UTC
		}
		return reg.Location(site)
	})
	s.numbers.NamesWith(func(id uint32) string {
		if site, err := reg.ByID(id); err == nil {
			return site.Name
		}
		return ""
	})
	s.retention = &retention.Pruner{DB: db, Sites: reg.List, Now: o.Now, Log: o.Log, Captchas: s.captcha.PruneExpired,
		SiteOf: func(number string) (uint32, bool) {
			site, kind := s.numbers.SiteOf(number)
			return site, kind == tracking.KindDynamic || kind == tracking.KindStatic
		}}
	s.routes = s.publicRoutes()
	s.admin = s.adminRoutes(adminAPI{s})
	s.metrics = newMetrics(s)
	s.metrics.instrument(s.routes, s.metrics.public)
	s.metrics.instrument(s.admin, s.metrics.admin)
	if o.Export != nil {
		eo := *o.Export
		if eo.Log == nil {
			eo.Log = o.Log
		}
		if s.exporter, err = export.New(db, eo); err != nil {
			return nil, fmt.Errorf("serve: %w", err)
		}
		db.EnableExport(store.ExportOptions{Max: o.ExportBacklog})
		s.pages.warning = s.exportWarning
		s.metrics.reg.MustRegister(exportCollector{s.exporter})
	}
	// Phone numbers stored before 00 and 8 10 were read as "+" are read
	// again (once; a no-op since), after the export is on so that the
	// changed records are exported again.
	if err := rereadPhones(ctx, db, reg, o.PhoneRegion, o.Now(), o.Log); err != nil {
		return nil, err
	}
	return s, nil
}

// exportWarning is the dashboard's warning about the event stream: when
// its backlog on disk is at 80% of the bound, or events were not exported
// because it was full.
func (s *Server) exportWarning(tr i18n.Printer) string {
	st := s.db.ExportStats()
	switch {
	case st.Dropped > 0:
		return tr.T("%s events were not exported to NATS because the backlog on disk was full; check that NATS is reachable, then replay them with appliance export backfill.", tr.Num(st.Dropped))
	case st.Max > 0 && st.Backlog >= st.Max/10*8:
		return tr.T("The event stream to NATS is behind: %[1]s of at most %[2]s events wait on disk. Past the limit new events are not exported; check that NATS is reachable.", tr.Num(st.Backlog), tr.Num(st.Max))
	}
	return ""
}

// Exporter is the server's event stream exporter; nil when export is off.
func (s *Server) Exporter() *export.Exporter { return s.exporter }

// Check says what is wrong with o's settings themselves, before anything
// is opened or bound: each error names the flag of serve given wrongly (a
// listen address that is no HOST:PORT, --tls-cert without --tls-key, a
// public URL that is not http(s)://host), so that serve refuses them as
// usage errors before it makes a store. New checks them too.
func (o Options) Check() error {
	if (o.TLSCert == "") != (o.TLSKey == "") {
		return errors.New("serve: --tls-cert and --tls-key go together")
	}
	if o.ACME.on() {
		if o.TLSCert != "" {
			return errors.New("serve: --acme-domain gets certificates itself: give it or --tls-cert/--tls-key, not both")
		}
		domains, err := checkDomains(o.ACME.Domains)
		if err != nil {
			return err
		}
		o.ACME.Domains = domains
		if err := checkACMEAccount(o.ACME); err != nil {
			return err
		}
		if o.ACME.HTTPListen != "" {
			if err := checkListen("--http-listen", o.ACME.HTTPListen); err != nil {
				return err
			}
		}
	}
	if o.Listen != "" {
		if err := checkListen("--listen", o.Listen); err != nil {
			return err
		}
	}
	if o.MaxConns < 0 {
		return fmt.Errorf("serve: --max-conns %d: want a number of connections, or 0 for one from the open file limit", o.MaxConns)
	}
	for flag, burst := range map[string]int{"--tracker-ip-burst": o.Limits.PerIPBurst, "--tracker-site-burst": o.Limits.PerSiteBurst} {
		if burst < 0 {
			return fmt.Errorf("serve: %s %d: want a number of requests, or 0 for 30 seconds of the rate", flag, burst)
		}
	}
	if o.L0Compaction < 0 || o.L0Compaction > store.MaxL0Compaction {
		return fmt.Errorf("serve: --l0-compaction %d: want 1 to %d level-0 tables (default %d)", o.L0Compaction, store.MaxL0Compaction, store.DefaultL0Compaction)
	}
	if o.Mail.URL != "" || o.Mail.From != "" {
		// --smtp and --smtp-from as New reads them (mailSender), before
		// a store is made in --data: a wrong one was refused after it.
		if _, err := notice.New(o.Mail, notice.Writer{}); err != nil {
			return fmt.Errorf("serve: %s", usererr.UserMessage(err))
		}
	}
	_, err := publicURL(o)
	return err
}

// checkListen says what is wrong with addr, the value of flag, as a TCP
// address to listen on.
func checkListen(flag, addr string) error {
	_, port, err := net.SplitHostPort(addr)
	if err == nil {
		_, err = net.LookupPort("tcp", port)
	}
	if err != nil {
		return fmt.Errorf("serve: %s %q: want HOST:PORT or :PORT, e.g. :8080 or 127.0.0.1:8080", flag, addr)
	}
	return nil
}

// publicURL is where browsers reach the server: the flag, or one derived
// from the listen address.
func publicURL(o Options) (*url.URL, error) {
	raw := o.PublicURL
	if raw == "" {
		host, port, err := net.SplitHostPort(o.Listen)
		if err != nil {
			return nil, fmt.Errorf("serve: listen address %q: %w", o.Listen, err)
		}
		if host == "" || host == "0.0.0.0" || host == "::" {
			host = "localhost"
		}
		scheme := "http"
		if o.TLSCert != "" {
			scheme = "https"
		}
		if o.ACME.on() {
			scheme, host = "https", o.ACME.Domains[0]
			if port == "443" {
				port = ""
			}
		}
		raw = scheme + "://" + host
		if port != "" {
			raw = scheme + "://" + net.JoinHostPort(host, port)
		}
	}
	u, err := url.Parse(strings.TrimRight(raw, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		if o.PublicURL != "" {
			return nil, fmt.Errorf("serve: --public-url %q: want http(s)://host[:port], e.g. https://track.example.com", raw)
		}
		return nil, fmt.Errorf("serve: public URL %q must be http(s)://host[:port]", raw)
	}
	if u.Path != "" || u.RawQuery != "" || u.Fragment != "" {
		// Every link, the install code's included, is at the root of the
		// host: behind a proxy's sub-path they would all miss it.
		return nil, fmt.Errorf("serve: --public-url %q: the appliance answers at the root of its host; give it a host of its own (https://track.example.com), not a path", raw)
	}
	u.Path = "/"
	return u, nil
}

// SendDigests sends the report digests due at the server's clock and not
// sent yet, as the worker does every minute; it returns how many it sent.
func (s *Server) SendDigests(ctx context.Context) (int, error) { return s.digests.sendDue(ctx) }

// SendWebhookAlerts emails the owners of the webhook endpoints that
// started failing, or work again, at the server's clock and were not told
// of yet, as the worker does every minute; it returns how many emails
// the SMTP server took.
func (s *Server) SendWebhookAlerts(ctx context.Context) (int, error) { return s.alerts.sendDue(ctx) }

// PublicURL is the base URL browsers use, ending in "/".
func (s *Server) PublicURL() string { return s.public.String() }

// secure reports whether cookies must be Secure.
func (s *Server) secure() bool { return s.public.Scheme == "https" }

func (s *Server) httpServer(h fasthttp.RequestHandler, name string) *fasthttp.Server {
	return &fasthttp.Server{
		Handler:               h,
		Name:                  name,
		ReadBufferSize:        maxHeaderBytes,
		MaxRequestBodySize:    maxBodySize,
		ReadTimeout:           readTimeout,
		WriteTimeout:          writeTimeout,
		IdleTimeout:           idleTimeout,
		NoDefaultServerHeader: true,
		CloseOnShutdown:       true,
		Logger:                fasthttpLogger{s.log},
		ErrorHandler:          s.requestError,
	}
}

// requestError answers a request fasthttp could not read, in the one JSON
// error shape.
func (s *Server) requestError(ctx *fasthttp.RequestCtx, err error) {
	if bytes.HasPrefix(ctx.Path(), []byte("/t/")) || bytes.HasPrefix(ctx.Path(), []byte("/vc/")) {
		// A tracker answer a page's script can read, whatever went wrong.
		ctx.Response.Header.Set("Access-Control-Allow-Origin", "*")
	}
	var small *fasthttp.ErrSmallBuffer
	switch {
	case errors.Is(err, fasthttp.ErrBodyTooLarge):
		s.writeJSONError(ctx, errorf(fasthttp.StatusRequestEntityTooLarge, "request body too large (limit %d bytes)", maxBodySize))
	case errors.As(err, &small):
		s.writeJSONError(ctx, errorf(fasthttp.StatusRequestHeaderFieldsTooLarge, "request headers too large (limit %d bytes)", maxHeaderBytes))
	default:
		var te interface{ Timeout() bool }
		if errors.As(err, &te) && te.Timeout() {
			s.writeJSONError(ctx, errorf(fasthttp.StatusRequestTimeout, "request timed out"))
			return
		}
		s.writeJSONError(ctx, errorf(fasthttp.StatusBadRequest, "cannot read request: %v", err))
	}
}

// Serve serves HTTP on ln and the admin API on adminLn (either may be nil),
// delivers webhooks and sends scheduled callbacks, until ctx ends, then
// shuts down: stop accepting, and while the webhook and callback workers
// stop, drain the requests being handled (up to shutdownWait; drain.go).
// A drain cut short is logged, not returned: the stop goes on. The caller
// closes the store afterwards.
func (s *Server) Serve(ctx context.Context, ln, adminLn net.Listener) error {
	// The workers outlive ctx until the shutdown begins, and stop before
	// Serve returns, so before the store closes.
	wctx, stopWorker := context.WithCancel(context.WithoutCancel(ctx))
	workerDone := make(chan struct{})
	callbacksDone := make(chan struct{})
	chatsDone := make(chan struct{})
	go func() { s.hooks.Run(wctx); close(workerDone) }()
	go func() { s.callbacks.Run(wctx); close(callbacksDone) }()
	go func() { s.chats.Run(wctx); close(chatsDone) }()
	pruneDone := make(chan struct{})
	go func() { s.retention.Run(wctx, pruneEvery); close(pruneDone) }()
	mailDone := make(chan struct{})
	go func() { s.mailQueue.Run(wctx); close(mailDone) }()
	digestsDone := make(chan struct{})
	go func() { s.digests.Run(wctx); close(digestsDone) }()
	alertsDone := make(chan struct{})
	go func() { s.alerts.Run(wctx); close(alertsDone) }()
	rebuildsDone := make(chan struct{})
	go func() { s.rebuilds.Run(wctx); close(rebuildsDone) }()
	exportDone := make(chan struct{})
	go func() {
		if s.exporter != nil {
			s.exportRunning.Store(true)
			_ = s.exporter.Run(wctx)
			s.exportRunning.Store(false)
		}
		close(exportDone)
	}()
	defer func() {
		stopWorker()
		<-workerDone
		<-callbacksDone
		<-chatsDone
		<-pruneDone
		<-mailDone
		<-digestsDone
		<-alertsDone
		<-rebuildsDone
		<-exportDone
		<-s.assetsDone
	}()

	srv := s.httpServer(s.Handler, "appliance")
	// ReduceMemoryUsage stays off: with it every keep-alive request is read
	// a first byte on its own (a second read system call and a park of its
	// goroutine; 11% of the hit path's server CPU). Chat sockets, which it
	// was for, read their raw connection instead of fasthttp's 8 KB request
	// reader (chatUpgrader). Chat sockets close their connections themselves, so that fasthttp's
	// goroutine (whose stack grew serving the upgrade) need not wait out
	// an idle socket's life.
	srv.KeepHijackedConns = true
	srv.Concurrency = s.opts.MaxConns
	if srv.Concurrency <= 0 {
		srv.Concurrency = defaultMaxConns
	}
	if !s.opts.TrustProxy {
		srv.MaxConnsPerIP = max(1, min(maxConnsPerIP, srv.Concurrency/4))
	}
	adm := s.httpServer(s.AdminHandler, "appliance-admin")
	adm.WriteTimeout = 0 // backups stream for as long as they take
	errc := make(chan error, 3)
	if ln != nil {
		ln = newRetryListener(ln, s.log, &s.acceptErrs, &s.acceptLogged)
		switch {
		case s.certs != nil:
			srv.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: s.certs.getCertificate}
			go func() { errc <- srv.ServeTLS(ln, "", "") }()
		case s.acme != nil:
			srv.TLSConfig = s.acmeTLSConfig()
			go func() { errc <- srv.ServeTLS(ln, "", "") }()
		default:
			go func() { errc <- srv.Serve(ln) }()
		}
	}
	if adminLn != nil {
		adminLn = newRetryListener(adminLn, s.log, &s.acceptErrs, &s.acceptLogged)
		go func() { errc <- adm.Serve(adminLn) }()
	}
	var plain *http.Server
	if s.acme != nil && s.plainLn != nil {
		plain = s.acmeHTTP()
		pln := newRetryListener(s.plainLn, s.log, &s.acceptErrs, &s.acceptLogged)
		go func() { errc <- plain.Serve(pln) }()
	}
	if s.opts.Reload != nil {
		go func() {
			for {
				select {
				case <-ctx.Done():
					return
				case <-s.opts.Reload:
					s.reloadCerts()
				}
			}
		}()
	}
	var serveErr error
	select {
	case <-ctx.Done():
	case serveErr = <-errc:
	}
	sctx, cancel := context.WithTimeout(context.Background(), shutdownWait)
	defer cancel()
	// The workers stop while HTTP drains, not after it: an attempt they
	// have in flight (a scheduled callback's send, which is not cut short)
	// then overlaps the drain instead of adding to it. What requests
	// queue meanwhile is on disk for the next start.
	stopWorker()
	// Chat sockets are hijacked connections the HTTP server no longer
	// tracks: they are told to go away (clients reconnect and resume).
	// Their long polls answer at once.
	s.chatSockets.shutdown(sctx)
	// The three servers drain at once: the stop waits for the longest,
	// not for their sum (net/http's waits up to 5 s for a connection that
	// sent nothing).
	errs := make([]error, 3)
	var drains sync.WaitGroup
	drains.Go(func() { errs[0] = s.drain(sctx, srv) })
	drains.Go(func() { errs[1] = adm.ShutdownWithContext(sctx) })
	if plain != nil {
		drains.Go(func() { errs[2] = plain.Shutdown(sctx) })
	}
	drains.Wait()
	err := errors.Join(errs...)
	if serveErr != nil {
		return fmt.Errorf("serve: %w", serveErr)
	}
	if err != nil {
		// A request still being handled at shutdownWait: the store
		// closes under it (its writes fail with store.ErrClosed), and the
		// stop is clean otherwise: the caller seals and closes the store
		// as always.
		s.log.Warn("stopped without waiting longer for requests still being answered", "waited", shutdownWait, "err", err)
	}
	return nil
}

// Handler is the public request handler.
func (s *Server) Handler(ctx *fasthttp.RequestCtx) {
	if !s.handling.enter() {
		// The server is stopping and no longer handles requests.
		ctx.SetConnectionClose()
		s.writeJSONError(ctx, store.ErrClosed)
		return
	}
	defer s.handling.leave()
	if s.secure() {
		// Browsers reach a server with an https public URL over https
		// only from their first visit on, for a year: a sign-in page
		// asked for over plain http (a typed host name, ACME's port 80)
		// is not one a network in between can answer in its place. Not
		// includeSubDomains: the site's other hosts are not ours to bind.
		ctx.Response.Header.Set("Strict-Transport-Security", hstsPolicy)
	}
	s.dispatch(ctx, s.routes, s.authorize)
}

// hstsPolicy is the Strict-Transport-Security of a server on https.
const hstsPolicy = "max-age=31536000"

// AdminHandler is the admin API handler (unix socket only).
func (s *Server) AdminHandler(ctx *fasthttp.RequestCtx) { s.dispatch(ctx, s.admin, asOwner) }

// dispatch routes a request, checks its caller against the route's
// permission and runs the handler.
func (s *Server) dispatch(ctx *fasthttp.RequestCtx, r *router, authorize func(*fasthttp.RequestCtx, *route) (signedIn, error)) {
	rt, known := r.lookup(ctx.Method(), ctx.Path())
	if rt != nil && rt.latency != nil {
		defer observeSince(rt.latency, time.Now())
	}
	defer func() {
		if p := recover(); p != nil {
			s.metrics.panics.Inc()
			s.log.Error("panic in handler", "path", string(ctx.Path()), "panic", p, "stack", string(debug.Stack()))
			ctx.ResetBody()
			s.fail(ctx, rt, errors.New("panic"))
		}
		if rt != nil {
			rt.served.inc("", ctx.Response.StatusCode())
		} else {
			r.unrouted.inc(string(ctx.Method()), ctx.Response.StatusCode())
		}
	}()
	if rt == nil {
		if known {
			// RFC 9110 15.5.6: a 405 names the methods the path takes.
			ctx.Response.Header.Set("Allow", strings.Join(r.allowed(string(ctx.Path())), ", "))
			s.fail(ctx, nil, errorf(fasthttp.StatusMethodNotAllowed, "method %s not allowed here", ctx.Method()))
			return
		}
		s.fail(ctx, nil, errorf(fasthttp.StatusNotFound, "no such page: %s", ctx.Path()))
		return
	}
	who, err := authorize(ctx, rt)
	if err != nil {
		s.fail(ctx, rt, err)
		return
	}
	if rt.need != open {
		ctx.SetUserValue(whoKey{}, who)
	}
	if err := rt.h(ctx); err != nil {
		s.fail(ctx, rt, err)
	}
}

// fail answers err in the route's style.
func (s *Server) fail(ctx *fasthttp.RequestCtx, rt *route, err error) {
	if rt != nil && rt.page {
		s.writePageError(ctx, err)
		return
	}
	s.writeJSONError(ctx, err)
}

// clientIP is the request's client address; behind a trusted proxy the last
// address the proxy appended to X-Forwarded-For.
func (s *Server) clientIP(ctx *fasthttp.RequestCtx) string {
	if s.opts.TrustProxy {
		if xff := forwardedClient(&ctx.Request.Header); len(xff) > 0 {
			if ip := net.ParseIP(string(xff)); ip != nil {
				return ip.String()
			}
		}
	}
	return ctx.RemoteIP().String()
}

// clientAddr is numbers.AddrKey of clientIP, which the pools' address caps
// count by, read without making the address a string and back (it is on
// the hit path).
func (s *Server) clientAddr(ctx *fasthttp.RequestCtx) uint64 {
	if s.opts.TrustProxy {
		if xff := forwardedClient(&ctx.Request.Header); len(xff) > 0 {
			if a, err := netip.ParseAddr(string(xff)); err == nil && a.Zone() == "" {
				b := a.As16()
				return numbers.AddrKey(net.IP(b[:]))
			}
		}
	}
	return numbers.AddrKey(ctx.RemoteIP())
}

// forwardedClient is the address a trusted proxy appended for the client:
// the last address of the last X-Forwarded-For line, spaces trimmed; nil
// without one. clientIP and clientAddr read it.
func forwardedClient(h *fasthttp.RequestHeader) []byte {
	xff := lastForwardedFor(h)
	if i := bytes.LastIndexByte(xff, ','); i >= 0 {
		xff = xff[i+1:]
	}
	return bytes.TrimSpace(xff)
}

// lastForwardedFor is the last X-Forwarded-For line of the header section:
// a proxy appends the client's address to the line the client sent, or
// adds a line of its own after it (HAProxy's option forwardfor), and
// either way the address it added is the last; the first line is the
// client's to write.
func lastForwardedFor(h *fasthttp.RequestHeader) []byte {
	var last []byte
	for k, v := range h.All() {
		if bytes.EqualFold(k, xForwardedFor) {
			last = v
		}
	}
	return last
}

var xForwardedFor = []byte("X-Forwarded-For")

type fasthttpLogger struct{ l *slog.Logger }

func (f fasthttpLogger) Printf(format string, args ...any) { f.l.Info(fmt.Sprintf(format, args...)) }

// Sites is the server's site registry.
func (s *Server) Sites() *sites.Registry { return s.sites }

// Leads is the server's leads.
func (s *Server) Leads() *leads.Service { return s.leads }

// Chats is the server's chats.
func (s *Server) Chats() *chats.Service { return s.chats }

// Callbacks is the server's callbacks.
func (s *Server) Callbacks() *callbacks.Service { return s.callbacks }

// noticeWriter writes the notifications of the sites of reg, with links
// under publicURL.
func noticeWriter(publicURL string, catalog *i18n.Catalog, reg *sites.Registry) notice.Writer {
	return notice.Writer{Catalog: catalog, PublicURL: strings.TrimSuffix(publicURL, "/") + "/",
		Site: func(key string) (string, *time.Location, bool) {
			site, err := reg.ByKey(key)
			if err != nil {
				return "", nil, false
			}
			return site.Name, reg.Location(site), true
		}}
}

// mailSender is webhooks.Options.Mail through the SMTP server of o.Mail:
// a mailto: endpoint's notification written by w in its language.
// It returns the Mailer too, which the accounts' emails go through.
func mailSender(o Options, w notice.Writer) (*notice.Mailer, func(context.Context, string, uint64, []byte) (int, string, bool), error) {
	mo := o.Mail
	if mo.Now == nil {
		mo.Now = o.Now
	}
	m, err := notice.New(mo, w)
	if err != nil {
		return nil, nil, fmt.Errorf("serve: %w", err)
	}
	return m, func(ctx context.Context, endpoint string, id uint64, body []byte) (int, string, bool) {
		e, _, err := notice.ParseEndpoint(endpoint)
		if err != nil {
			return 0, err.Error(), false
		}
		return m.Send(ctx, e, id, body)
	}, nil
}
