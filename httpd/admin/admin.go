// Package admin is the admin API of a running appliance: the calls the
// command line makes to `appliance serve` over the unix socket in the data
// directory (SocketName), or to the same handlers in-process when no
// server runs.
//
// Each call has one request type and one answer type here, shared by the
// server, which decodes into them, and the Client, which encodes them: the
// two sides cannot drift apart. Service is what the server implements; its
// routes (the method and path of each call) are the Path* constants, and
// httpd registers all of them in one route group.
//
// The wire format is JSON: a POST carries the request as its body, a GET
// names the site in ?site=; every answer is {"success":true,"result":…} or
// {"success":false,"error":"…"}.
package admin

import (
	"context"
	"io"
	"time"
)

// SocketName is the admin socket inside the data directory.
const SocketName = "admin.sock"

// The route of each call. Ping is open; the others are checked against the
// permission httpd gives them, as a dashboard route would be.
const (
	PathPing           = "/admin/ping"                  // GET: Ping
	PathBackup         = "/admin/backup"                // GET: a tar archive of the store
	PathSites          = "/admin/sites"                 // GET: []Site; POST AddSite: Site
	PathSiteOrigin     = "/admin/sites/origin"          // POST SetOrigin: Site
	PathSiteTimeZone   = "/admin/sites/time-zone"       // POST SetTimeZone: Site
	PathUsers          = "/admin/users"                 // GET: []UserInfo; POST AddUser: User
	PathInvite         = "/admin/users/invite"          // POST Invite: Invited
	PathInvites        = "/admin/users/invites"         // GET: []Invited
	PathCancelInvite   = "/admin/users/invites/cancel"  // POST CancelInvite: nothing
	PathRole           = "/admin/users/role"            // POST SetRole: User
	PathRemoveUser     = "/admin/users/remove"          // POST RemoveUser: User
	PathSiteEdit       = "/admin/sites/edit"            // POST EditSite: Site
	PathRemoveSite     = "/admin/sites/remove"          // POST RemoveSite: Site
	PathRevokeToken    = "/admin/tokens/revoke"         // POST RevokeToken: TokenInfo
	PathChangeToken    = "/admin/tokens/change"         // POST ChangeToken: TokenInfo
	PathPassword       = "/admin/users/password"        // POST SetPassword: User
	PathLogout         = "/admin/users/logout"          // POST Logout: User
	PathTokens         = "/admin/tokens"                // GET: []TokenInfo; POST AddToken: Token
	PathWebhooks       = "/admin/webhooks"              // GET ?site=: []Endpoint; POST AddWebhook: Endpoint
	PathRemoveWebhook  = "/admin/webhooks/remove"       // POST RemoveWebhook: Removed
	PathChangeWebhook  = "/admin/webhooks/change"       // POST ChangeWebhook: Endpoint
	PathCallbacks      = "/admin/callbacks"             // POST SetCallbacks: CallbackSettings
	PathNumbers        = "/admin/numbers"               // GET ?site=: Numbers
	PathSiteNumbers    = "/admin/numbers/site"          // POST SetSiteNumbers: Numbers
	PathStatic         = "/admin/numbers/static"        // POST AddStatic: Static
	PathRemoveStatic   = "/admin/numbers/static/remove" // POST RemoveStatic: nothing
	PathPool           = "/admin/numbers/pool"          // POST PoolRequest: Pool
	PathEditPool       = "/admin/numbers/pool/edit"     // POST PoolRequest: Pool
	PathRemovePool     = "/admin/numbers/pool/remove"   // POST RemovePool: nothing
	PathImport         = "/admin/numbers/import"        // POST Import: ImportResult
	PathRebuild        = "/admin/reports/rebuild"       // POST Rebuild: Rebuilt
	PathCosts          = "/admin/costs"                 // POST ImportCosts: CostsImported
	PathPrune          = "/admin/prune"                 // POST Prune: Pruned
	PathExportBackfill = "/admin/export/backfill"       // POST ExportBackfill: ExportBackfilled
	SiteQuery          = "site"                         // the query parameter of a GET that names a site
	MaxRequestBodySize = 1 << 20                        // what the admin server accepts
)

// An Archive is a backup of the store ready to stream: its size is known
// before it is written.
type Archive interface {
	Size() int64
	io.WriterTo
	io.Closer
}

// Service is the admin API as the server implements it, one method per
// call. A returned error is answered as the server answers every error: a
// message the user can act on with its status, or a logged 500.
type Service interface {
	Ping(ctx context.Context) (Ping, error)
	// Backup takes a consistent archive of the store, to be streamed
	// (Archive.WriteTo) and then closed; ctx ends it, streaming or not.
	Backup(ctx context.Context) (Archive, error)
	Sites(ctx context.Context) ([]Site, error)
	AddSite(ctx context.Context, in AddSite) (Site, error)
	SetOrigin(ctx context.Context, in SetOrigin) (Site, error)
	SetTimeZone(ctx context.Context, in SetTimeZone) (Site, error)
	AddUser(ctx context.Context, in AddUser) (User, error)
	SetPassword(ctx context.Context, in SetPassword) (User, error)
	Logout(ctx context.Context, in Logout) (User, error)
	AddToken(ctx context.Context, in AddToken) (Token, error)
	Users(ctx context.Context) ([]UserInfo, error)
	Invite(ctx context.Context, in Invite) (Invited, error)
	Invites(ctx context.Context) ([]Invited, error)
	CancelInvite(ctx context.Context, in CancelInvite) error
	SetRole(ctx context.Context, in SetRole) (User, error)
	RemoveUser(ctx context.Context, in RemoveUser) (User, error)
	Tokens(ctx context.Context) ([]TokenInfo, error)
	RevokeToken(ctx context.Context, in RevokeToken) (TokenInfo, error)
	ChangeToken(ctx context.Context, in ChangeToken) (TokenInfo, error)
	EditSite(ctx context.Context, in EditSite) (Site, error)
	RemoveSite(ctx context.Context, in RemoveSite) (Site, error)
	Webhooks(ctx context.Context, site string) ([]Endpoint, error)
	AddWebhook(ctx context.Context, in AddWebhook) (Endpoint, error)
	RemoveWebhook(ctx context.Context, in RemoveWebhook) (Removed, error)
	ChangeWebhook(ctx context.Context, in ChangeWebhook) (Endpoint, error)
	SetCallbacks(ctx context.Context, in SetCallbacks) (CallbackSettings, error)
	Numbers(ctx context.Context, site string) (Numbers, error)
	SetSiteNumbers(ctx context.Context, in SetSiteNumbers) (Numbers, error)
	AddStatic(ctx context.Context, in AddStatic) (Static, error)
	RemoveStatic(ctx context.Context, in RemoveStatic) error
	AddPool(ctx context.Context, in PoolRequest) (Pool, error)
	EditPool(ctx context.Context, in PoolRequest) (Pool, error)
	RemovePool(ctx context.Context, in RemovePool) error
	// Import, Rebuild and ExportBackfill call progress (never nil) as they
	// go; their answers stream them (see Progress).
	Import(ctx context.Context, in Import, progress func(done, total int64)) (ImportResult, error)
	Rebuild(ctx context.Context, in Rebuild, progress func(done, total int64)) (Rebuilt, error)
	ImportCosts(ctx context.Context, in ImportCosts) (CostsImported, error)
	Prune(ctx context.Context, in Prune) (Pruned, error)
	ExportBackfill(ctx context.Context, in ExportBackfill, progress func(done, total int64)) (ExportBackfilled, error)
}

// Ping says which server answers the socket.
type Ping struct {
	PID       int    `json:"pid"`
	Version   string `json:"version"`
	PublicURL string `json:"public_url"`
}

// AddSite adds a site; AnyOrigin as in SetOrigin, TimeZone as in
// SetTimeZone.
type AddSite struct {
	Name      string   `json:"name"`
	Domains   []string `json:"domains"`
	AnyOrigin bool     `json:"any_origin"`
	TimeZone  string   `json:"time_zone,omitempty"`
	// PhoneRegion as in EditSite.
	PhoneRegion string `json:"phone_region,omitempty"`
}

// SetTimeZone sets the zone of a site's days and hours: an IANA name
// ("Europe/Moscow"), or "" for the server's zone.
type SetTimeZone struct {
	Site     string `json:"site_key"`
	TimeZone string `json:"time_zone"`
}

// SetOrigin sets whether a site takes page views from pages on any domain
// (true) or only from its domains and their sub-domains (false); nil is
// refused.
type SetOrigin struct {
	Site      string `json:"site_key"`
	AnyOrigin *bool  `json:"any_origin"`
}

// Site is a site as the admin API shows it (no secret).
type Site struct {
	ID          uint32   `json:"id"`
	Key         string   `json:"site_key"`
	Name        string   `json:"name"`
	Domains     []string `json:"domains"`
	AnyOrigin   bool     `json:"any_origin"`   // takes hits from pages on any domain
	TimeZone    string   `json:"time_zone"`    // IANA name; "" is the server's zone
	PhoneRegion string   `json:"phone_region"` // two letters; "" is the server's --phone-region
	// RetentionDays: how long raw visits are kept; 0 for ever.
	RetentionDays int       `json:"retention_days"`
	Created       time.Time `json:"created"`
	InstallCode   string    `json:"install_code"`
	// LocalHost is the install code's host when it is this machine
	// (localhost, a loopback address): the code then works only in a
	// browser here, and `serve` wants --public-url for a real site.
	LocalHost string `json:"local_host,omitempty"`
}

// AddUser adds a dashboard user. An empty Role is owner for the first
// user, operator after.
type AddUser struct {
	Email    string `json:"email"`
	Password string `json:"password"`
	Role     string `json:"role"`
}

// SetPassword sets a user's password and signs them out everywhere.
type SetPassword struct {
	Email    string `json:"email"`
	Password string `json:"password"`
}

// Logout signs a user out of every browser.
type Logout struct {
	Email string `json:"email"`
}

// User is the user a call changed; Role only in the answer to AddUser.
type User struct {
	Email string `json:"email"`
	Role  string `json:"role,omitempty"`
}

// AddToken makes an API token for the sites with the given keys, none:
// every site, and the scopes named (README: API tokens), none: every
// scope.
type AddToken struct {
	Name   string   `json:"name"`
	Sites  []string `json:"sites,omitempty"`
	User   string   `json:"user,omitempty"` // the token acts as this user (email)
	Scopes []string `json:"scopes,omitempty"`
}

// Token is a new API token, shown once.
type Token struct {
	Name   string   `json:"name"`
	Token  string   `json:"token"`
	Sites  []string `json:"sites"`
	User   string   `json:"user,omitempty"`
	Scopes []string `json:"scopes"` // none: every scope
}

// AddWebhook adds a webhook endpoint to a site; an empty Secret is
// generated.
type AddWebhook struct {
	Site   string   `json:"site_key"`
	URL    string   `json:"url"`
	Secret string   `json:"secret"`
	Events []string `json:"events"`
}

// Endpoint is a webhook endpoint; Secret only in the answer to AddWebhook.
type Endpoint struct {
	ID      uint64    `json:"id"`
	URL     string    `json:"url"`
	Events  []string  `json:"events"`
	Secret  string    `json:"secret,omitempty"`
	Created time.Time `json:"created"`
	// NoSMTP: a mailto: endpoint added where no server runs with --smtp;
	// its emails wait until one does.
	NoSMTP bool `json:"no_smtp,omitempty"`
}

// RemoveWebhook removes a site's webhook endpoint.
type RemoveWebhook struct {
	Site string `json:"site_key"`
	ID   uint64 `json:"id"`
}

// ChangeWebhook changes a site's webhook endpoint; an empty URL or
// Secret, or no Events, keeps what it has. Its queued deliveries follow.
type ChangeWebhook struct {
	Site   string   `json:"site_key"`
	ID     uint64   `json:"id"`
	URL    string   `json:"url"`
	Secret string   `json:"secret"`
	Events []string `json:"events"`
}

// Removed names what a call removed.
type Removed struct {
	ID uint64 `json:"id"`
}

// SetCallbacks changes a site's callback settings; a nil field keeps its
// value, Captcha and Queue are "on", "off" or "" to keep, CaptchaDigits 4
// or 6.
type SetCallbacks struct {
	Site          string  `json:"site_key"`
	Webhook       *string `json:"webhook,omitempty"`
	Secret        *string `json:"secret,omitempty"`
	Captcha       string  `json:"captcha"`
	CaptchaDigits *int    `json:"captcha_digits,omitempty"`
	Lang          *string `json:"lang,omitempty"`
	Groups        *string `json:"groups,omitempty"`
	Queue         string  `json:"queue,omitempty"`
}

// CallbackSettings are a site's callback settings; Secret only when it was
// just made or changed.
type CallbackSettings struct {
	Site    string `json:"site_key"`
	Webhook string `json:"webhook"`
	Secret  string `json:"secret,omitempty"`
	Captcha bool   `json:"captcha"`
	// CaptchaDigits is the length of the site's captchas, 4 or 6.
	CaptchaDigits int     `json:"captcha_digits"`
	Lang          string  `json:"lang"`
	Groups        []Group `json:"groups"`
	// Queue keeps callbacks to call back while there is no scenario.
	Queue bool `json:"queue"`
}

// Group is a group the callback panel offers.
type Group struct {
	ID   uint64 `json:"id"`
	Name string `json:"name"`
}

// SetSiteNumbers replaces a site's own numbers, its extra selectors or
// both; a nil list keeps its value.
type SetSiteNumbers struct {
	Site      string    `json:"site_key"`
	Numbers   *[]string `json:"numbers,omitempty"`
	Selectors *[]string `json:"selectors,omitempty"`
}

// Numbers is a site's call-tracking set-up with today's usage.
type Numbers struct {
	Site        string       `json:"site_key"`
	Revision    uint64       `json:"revision"`
	SiteNumbers []SiteNumber `json:"site_numbers"`
	Selectors   []string     `json:"selectors"`
	Statics     []Static     `json:"statics"`
	Pools       []Pool       `json:"pools"`
}

// SiteNumber is one of a site's own numbers.
type SiteNumber struct {
	Number  string `json:"number"`
	Written string `json:"written"`
}

// Match says which visits a static number or a pool serves.
type Match struct {
	Rule     string   `json:"rule"`
	Priority int64    `json:"priority"`
	Replaces []string `json:"replaces"`
}

// AddStatic adds or changes a static number.
type AddStatic struct {
	Site   string `json:"site_key"`
	Number string `json:"number"`
	Match
}

// Static is a static number.
type Static struct {
	Number string `json:"number"`
	Match
}

// RemoveStatic removes a static number.
type RemoveStatic struct {
	Site   string `json:"site_key"`
	Number string `json:"number"`
}

// PoolRequest adds a pool, or edits the pool Name (then Rename, when set,
// is its new name).
type PoolRequest struct {
	Site     string   `json:"site_key"`
	Name     string   `json:"name"`
	Rename   string   `json:"rename,omitempty"`
	Numbers  []string `json:"numbers"`
	Fallback string   `json:"fallback"`
	Reserve  string   `json:"reserve"` // a Go duration ("20m", "2h") or days ("7d"); "" is the default
	// AddrCap is how many numbers visitors from one address may hold at
	// once; 0: no cap; absent: the pool's (10 for a new pool).
	AddrCap *int `json:"addr_cap,omitempty"`
	Match
}

// Pool is a dynamic pool; Live, Misses and Suggest only in Numbers.
type Pool struct {
	Name     string   `json:"name"`
	Numbers  []string `json:"numbers"`
	Fallback string   `json:"fallback"`
	Reserve  string   `json:"reserve"`  // a Go duration, e.g. "20m0s"
	AddrCap  int64    `json:"addr_cap"` // numbers visitors from one address may hold at once; 0: no cap
	Match
	Live    int   `json:"live"`
	Misses  int64 `json:"misses_today"`
	Limited int64 `json:"limited_today"` // page views refused a number by the address cap
	Suggest int   `json:"suggested_size"`
}

// RemovePool removes a pool; its lease history stays.
type RemovePool struct {
	Site string `json:"site_key"`
	Name string `json:"name"`
}

// Import adds the numbers of an import file (its text in CSV: one number a
// line, or a CSV with a number column) to a pool.
type Import struct {
	Site string `json:"site_key"`
	Pool string `json:"pool"`
	CSV  string `json:"csv"`
}

// ImportResult is what an Import added and skipped.
type ImportResult struct {
	Pool    string    `json:"pool"`
	Added   []string  `json:"added"`
	Skipped []Skipped `json:"skipped"`
}

// Skipped is a line of an import file that was not added, and why.
type Skipped struct {
	Line   int    `json:"line"`
	Value  string `json:"value"`
	Reason string `json:"reason"`
}

// ExportBackfill replays a site's records from a day on into the event
// stream (serve --export).
type ExportBackfill struct {
	Site string `json:"site_key"`
	From string `json:"from"` // YYYY-MM-DD, a day of the site's time zone
}

// ExportBackfilled is what an ExportBackfill queued, by kind, and how many
// of the events still wait for NATS.
type ExportBackfilled struct {
	Site         string `json:"site_key"`
	From         string `json:"from"`
	Hits         int    `json:"hits"`
	Events       int    `json:"events"`
	Visitors     int    `json:"visitors"`
	Leads        int    `json:"leads"`
	Callbacks    int    `json:"callbacks"`
	Calls        int    `json:"calls"`
	Chats        int    `json:"chats"`
	ChatMessages int    `json:"chat_messages"`
	Waiting      uint64 `json:"waiting"` // events on disk not yet in the stream
}

// Rebuild recomputes a site's report roll-ups from its raw records (after
// a change of time zone, or to recover them).
type Rebuild struct {
	Site string `json:"site_key"`
	// DropPruned rebuilds even though a prune deleted old visits of the
	// site, whose days then keep only what is still stored of them.
	DropPruned bool `json:"drop_pruned,omitempty"`
}

// Rebuilt is what a Rebuild wrote.
type Rebuilt struct {
	Site     string `json:"site_key"`
	Rollups  int    `json:"rollups"`
	Visitors int    `json:"visitors"`
	Callers  int    `json:"callers"`
	TimeZone string `json:"time_zone"`
}

// ImportCosts stores the ad costs of a cost file (its text in CSV:
// date,source,medium,campaign,cost) for a site; a bad file is refused
// whole, with the numbers of its bad lines.
type ImportCosts struct {
	Site string `json:"site_key"`
	CSV  string `json:"csv"`
}

// CostsImported is what an ImportCosts stored.
type CostsImported struct {
	Lines int    `json:"lines"`
	Rows  int    `json:"rows"`
	From  string `json:"from"`
	To    string `json:"to"`
	Total string `json:"total"` // in currency units
}

// Progress is a line of the answer of a long call (Import, Rebuild,
// ExportBackfill), many of which come before the line of its result: how
// much of the work is done, of how much.
type Progress struct {
	Progress struct {
		Done  int64 `json:"done"`
		Total int64 `json:"total"`
	} `json:"progress"`
}

// StreamedStatus is what the last line of a long call's answer (see
// Progress) adds to the JSON envelope when the call failed: the HTTP
// status the refusal would have been answered with, as the answer's own
// status was sent (200) before the work began. The client reads it into
// the Refusal, so that a streamed refusal is told apart as any other is.
type StreamedStatus struct {
	Status int `json:"status,omitempty"`
}

// Prune deletes what is past each site's retention (site set
// --retention-days) and the expired captchas, as the hourly sweep does;
// DryRun only counts.
type Prune struct {
	DryRun bool `json:"dry_run"`
}

// Pruned is how many records of each kind a Prune deleted, or would have.
type Pruned struct {
	DryRun     bool  `json:"dry_run"`
	Sessions   int64 `json:"sessions"`
	PageViews  int64 `json:"page_views"`
	Events     int64 `json:"events"`
	Deliveries int64 `json:"webhook_deliveries"`
	Leases     int64 `json:"lease_history"`
	Captchas   int64 `json:"expired_captchas"`
}
