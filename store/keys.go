package store

import "encoding/binary"

// The whole key schema of the store. Every key starts with one byte naming
// its record family; ids and timestamps inside keys are big-endian so that
// byte order is numeric order and a family (or a site's part of it) is one
// contiguous range. Values are the versioned encodings in records.go unless a
// line says otherwise.
//
// Key builders append into a fresh buffer; never append to a shared prefix
// slice (it would share the backing array between callers).
const (
	// prefixMeta + name -> raw value. Store-wide settings and counters:
	// "seq" (uint64 BE, the id sequence), "setup" (sha256 of the one-time
	// setup token), "secret" (server secret for cookies and metrics),
	// "public-url" (the URL browsers reached the last server at, for the
	// install code the commands print while no server runs),
	// "host-cookies" (Unix ms, uint64 BE: when a server over https first
	// named the session cookie __Host-apl_session; accounts),
	// "pruned/" + site id (uint32 BE) -> Unix ms (uint64 BE): the latest
	// cutoff of a prune that deleted sessions of the site (PrunedBefore).
	prefixMeta byte = 'm'

	// prefixUser + email (lower case) -> User.
	prefixUser byte = 'u'

	// prefixAuth + sha256(cookie token) -> LoginSession.
	prefixAuth byte = 'a'

	// prefixToken + sha256(api token) -> Token.
	prefixToken byte = 'k'

	// prefixInvite + sha256(invite token) -> Invite: a one-time link that
	// makes a user, deleted when taken up.
	prefixInvite byte = 'i'

	// prefixReset + sha256(reset token) -> PasswordReset: a one-time link
	// that sets a forgotten password (Forgot the password? on the sign-in
	// page), deleted when used, when a newer one is asked for, or with its
	// user.
	prefixReset byte = 'f'

	// prefixAccountMail + id (uint64 BE, from the id sequence) ->
	// AccountMail: an account's email waiting for the SMTP server (a
	// password reset asked for, an invite to be emailed), due in the queue
	// at its next attempt (prefixDue, kind DueAccountMail). A reset holds
	// only the address: the worker makes its link when it sends it. An
	// invite holds its token in the clear (the email's link) until the
	// SMTP server took it or gave up; what stays after that, its state for
	// the Team page and no token, is deleted when the invite expires.
	prefixAccountMail byte = 'B'

	// prefixSite + site id (uint32 BE) -> Site.
	prefixSite byte = 's'

	// prefixSiteKey + site key (32 bytes) -> site id (uint32 BE).
	prefixSiteKey byte = 'S'

	// prefixVisitor + visitor id (uint64 BE) -> Visitor. Visitor ids are
	// unique in the store, so the key needs no site; the record names it.
	prefixVisitor byte = 'v'

	// prefixProperty + visitor id (uint64 BE) + property name -> Property.
	// A visitor's properties are one range, in name order. The name is
	// case-folded (visits.PropertyKey); version 1 records hold it as written.
	prefixProperty byte = 'p'

	// prefixSession + site id (uint32 BE) + session id (uint64 BE) -> Session.
	// Ids grow with time, so a site's sessions are in the order they began:
	// a reverse scan of the site's range is its recent visits.
	prefixSession byte = 'e'

	// prefixHit + site id (uint32 BE) + session id (uint64 BE) + hit id
	// (uint64 BE) -> Hit. A session's page views are one range, in order;
	// the record holds only what the key and the session do not (it is the
	// most numerous record: bytes on disk count).
	prefixHit byte = 'h'

	// prefixEvent + site id (uint32 BE) + session id (uint64 BE) + event id
	// (uint64 BE) -> Event. A session's events are one range, in order.
	prefixEvent byte = 'x'

	// prefixRollup + site id (uint32 BE) + day (uint32 BE, days since
	// 1970-01-01 UTC) + metric name -> counters, combined by the merge
	// operator in merge.go (daily roll-ups kept as data arrives). Metrics
	// of httpd/visits: "t" traffic (lanes: hits, sessions, visitors, new
	// visitors, events, bot hits, bot sessions, bot events) and "c" sessions
	// per channel (lanes: organic, social, referral, direct, ad).
	prefixRollup byte = 'r'

	// prefixHigh + site id (uint32 BE) + day (uint32 BE, days since
	// 1970-01-01 UTC) + metric name -> lanes as in prefixRollup, but
	// merged by the larger (merge.go): the day's high-water marks, raised
	// without a read. Metrics of numbers/tracking: "n." + pool id (lane 0:
	// the most leases live at once).
	prefixHigh byte = 'H'

	// prefixLead + site id (uint32 BE) + lead id (uint64 BE) -> Lead.
	// Ids grow with time, so a site's leads are in arrival order.
	prefixLead byte = 'L'

	// prefixWebhooks + site id (uint32 BE) -> Webhooks: every webhook
	// endpoint of a site in one record, so that a write enqueueing
	// deliveries reads them with one Get, serialised with their changes.
	prefixWebhooks byte = 'w'

	// prefixDelivery + site id (uint32 BE) + delivery id (uint64 BE) ->
	// Delivery: one event to one endpoint, its body, state and recent
	// attempts (the delivery log). Kept after delivery.
	prefixDelivery byte = 'd'

	// prefixHookHealth + site id (uint32 BE) + endpoint id (uint64 BE) ->
	// WebhookHealth: how an endpoint's deliveries have gone since its last
	// 2xx, and whether its owners were emailed about it. Absent while the
	// endpoint takes what it is sent; deleted with the endpoint and with
	// the site.
	prefixHookHealth byte = 'z'

	// prefixNumbers + site id (uint32 BE) -> NumbersConfig: the site's own
	// numbers, selectors, static numbers and pools, in one record so that a
	// change is one read-modify-write.
	prefixNumbers byte = 'n'

	// prefixLease + len(number) (1 byte) + number (E.164 digits) + since
	// (uint64 BE, Unix ns) + part (1 byte) -> the lease history of tracking
	// numbers, one lease per claim:
	//   part 0 (leaseClaim) -> Lease: who claimed the number, from where;
	//   part 1 (leaseUntil) -> until (uint64 BE, Unix ns), merged by the
	//   later (merge.go) on every renew, so a renew writes 8 bytes, not
	//   the whole record, and reads nothing.
	// A claim of visitor 0 whose until is its own since is no lease: the
	// number left its pool then, and the lease before it ended there.
	// The length byte keeps one number's range from holding a longer number
	// it is a prefix of; within a number, leases are in claim order, so the
	// lease that held it at T is the last claim at or before T.
	prefixLease byte = 'l'

	// prefixCall + site id (uint32 BE) + call id (uint64 BE) -> Call. Ids
	// grow with time, so a site's calls are in arrival order. Calls to a
	// number no site knows are kept under site 0.
	prefixCall byte = 'c'

	// prefixCallStart + site id (uint32 BE) + started (uint64 BE, Unix ms)
	// + call id (uint64 BE) -> nothing: a site's calls in the order they
	// started, written in the same durable write as the call. A call's own
	// key is in the order it was reported, and a PBX may report a call long
	// after it started (a retried webhook), so a list by start scans this;
	// IndexCallStarts builds it for calls stored before it existed.
	prefixCallStart byte = 'K'

	// prefixCallOnce + len(called) (1 byte) + called + len(caller) (1 byte)
	// + caller + started_at (uint64 BE, Unix ms) -> site id (uint32 BE) +
	// call id (uint64 BE): the call a PBX already reported, so that its
	// retry of the same call is answered with the first one, not stored
	// twice.
	prefixCallOnce byte = 'C'

	// prefixCallPBX + len(called) (1 byte) + called + the PBX's own id of
	// the call (pbx_call_id, at most 255 bytes) -> site id (uint32 BE) +
	// call id (uint64 BE): the call a PBX already reported under its id, so
	// that a retry or a later report of it (its end, after its ring) finds
	// it, whatever started_at each report gave or left out.
	prefixCallPBX byte = 'D'

	// prefixWidget + site id (uint32 BE) -> WidgetSettings: the site's
	// callback scenario, captcha switch, widget language and groups.
	prefixWidget byte = 'W'

	// prefixCallback + site id (uint32 BE) + callback id (uint64 BE) ->
	// Callback. Ids grow with time, so a site's callbacks are in the order
	// they were ordered.
	prefixCallback byte = 'b'

	// prefixDue + kind (1 byte, a DueKind) + due (uint64 BE, Unix ms) + id
	// (uint64 BE) -> DueEntry (due.go). The one durable queue of work due
	// at a time (httpd/outbox): webhook deliveries not yet delivered, by the
	// time of their next attempt (kind DueDelivery, id of a Delivery);
	// callbacks still to be sent to their scenario (kind DueCallback, id of
	// a Callback); accounts' emails (kind DueAccountMail, id of an
	// AccountMail). A kind is one range in due order, so "what is due now"
	// is a scan from its start to DueKey(kind, now+1, 0). The record itself
	// lives in its own family; the entry says only where to find it.
	prefixDue byte = 'Q'

	// prefixMark + site id (uint32 BE) + kind (1 byte, a MarkKind) + id
	// (uint64 BE) -> Mark: what staff made of a lead (kind MarkLead, a lead
	// id) or a callback (kind MarkCallback, a callback id): its status
	// (new, in_progress, done, spam) and a short note. A record that was never marked
	// has no mark (status new); the lead or callback itself is unchanged.
	prefixMark byte = 'M'

	// prefixReport + site id (uint32 BE) + dimension (1 byte) + model (1
	// byte) + period (uint32 BE) + row key -> counters (merge.go): the
	// report roll-ups of httpd/reports, kept in the write of what they
	// count. The period is a day (civil days since 1970-01-01 of the
	// site's zone) or, for dimension 'h', an hour of the site's clock (day
	// * 24 + hour); model 0 holds traffic, 1-3 the outcomes credited by
	// each attribution model. A (dimension, model) pair is one range in
	// period order, so a date range is one bounded scan. Layout of the row
	// key and lanes: httpd/reports/rollup.go.
	prefixReport byte = 'R'

	// prefixTouch + visitor id (uint64 BE) -> Touch: the sessions of a
	// visitor the attribution models credit (first, last, last non-direct)
	// and when the last began, updated as each session starts.
	prefixTouch byte = 'A'

	// prefixCaller + site id (uint32 BE) + caller (E.164 digits) -> call
	// id (uint64 BE) of the caller's first call to the site: what makes a
	// call a first-time caller's.
	prefixCaller byte = 'F'

	// prefixCost + site id (uint32 BE) + day (uint32 BE, civil days since
	// 1970-01-01) + row key (httpd/reports: source, medium, campaign) ->
	// Cost: what the owner spent on ads that day, as imported.
	prefixCost byte = 'P'

	// prefixChat + site id (uint32 BE) + chat id (uint64 BE) -> Chat: a
	// conversation between a visitor and the site's operators. Ids grow
	// with time, so a site's chats are in the order they began.
	prefixChat byte = 'g'

	// prefixChatMessage + site id (uint32 BE) + chat id (uint64 BE) +
	// message id (uint64 BE) -> ChatMessage. Message ids are per chat, 1,
	// 2, 3, ... (the chat's Last is the latest), so a chat's transcript is
	// one range in order and "after N" is a seek.
	prefixChatMessage byte = 'G'

	// prefixChatOpen + site id (uint32 BE) + chat id (uint64 BE) -> empty:
	// the chats still open, written and deleted with the chat's status, so
	// that the console's list and the unanswered-chat sweep read only them.
	prefixChatOpen byte = 'O'

	// prefixChatVisitor + site id (uint32 BE) + visitor id (uint64 BE) ->
	// chat id (uint64 BE): the visitor's latest chat, which a window on
	// any page of the site continues.
	prefixChatVisitor byte = 'V'

	// prefixChatSettings + site id (uint32 BE) -> ChatSettings: the chat
	// button, the unanswered time and the canned replies of a site.
	prefixChatSettings byte = 'T'

	// prefixVisitorItem + visitor id (uint64 BE) + kind (1 byte, an
	// ItemKind) + id (uint64 BE) -> nothing: the index of what one visitor
	// did, for the visitor card (a session, lead, callback, call or chat of the
	// visitor's site, under its own family). Written in the same durable
	// write as the record it names; a kind is one range in id order, so in
	// time order. Visitor ids are unique in the store, so the key needs no
	// site: the visitor record names it.
	prefixVisitorItem byte = 'I'

	// prefixPhoneVisitor + site id (uint32 BE) + len(phone) (1 byte) +
	// phone (E.164 digits) -> PhoneVisitor: the visitor of the site who
	// last left that phone number (in a lead, a callback or
	// addVisitorInfo), written in the same durable write, so that a call
	// from the number is tied to them (caller-ID match).
	prefixPhoneVisitor byte = 'J'

	// prefixEmailVisitor + site id (uint32 BE) + len(email) (1 byte) +
	// email (lower case, at most 255 bytes) + visitor id (uint64 BE) ->
	// nothing: the visitors of the site who gave that email address as
	// their contact (addVisitorInfo, /vc/s/), written in the same durable
	// write as the visitor record, so that the site's search finds a
	// visitor by it. IndexVisitorEmails builds it for visitors stored
	// before it existed.
	prefixEmailVisitor byte = 'U'

	// prefixVisitorContact + site id (uint32 BE) + visitor id (uint64 BE)
	// -> Contacts: what a visitor of the site told of themselves
	// (addVisitorInfo, /vc/s/: name, phones, emails, as the visitor record
	// holds them), rewritten in the same durable write as the visitor
	// record whenever they change, so that the site's search reads the
	// contacts of its visitors who gave any as one range, without the
	// visitors who gave none (most of them). IndexVisitorContacts builds
	// it for visitors stored before it existed.
	prefixVisitorContact byte = 'j'

	// prefixExport + seq (uint64 BE) -> ExportEntry (export.go): the
	// export log, what is still to be published to the event stream
	// (export/), in commit order. Tx.Export queues an entry naming a
	// record the Tx wrote; the writer numbers it and writes it into the
	// same group, so the record and its entry are durable together. The
	// entries up to the exporter's cursor (MetaKey("exportcursor"), the
	// last seq the stream acknowledged) are deleted with each advance.
	prefixExport byte = 'E'

	// prefixTLS + name -> raw bytes: what the ACME client (serve
	// --acme-domain, golang.org/x/crypto/acme/autocert) caches under its own
	// names: the account key ("acme_account+key") and each domain's private
	// key and certificate chain (PEM), so that a restart, or a restore, serves
	// them without asking the CA again.
	prefixTLS byte = 't'

	// prefixCompressed + sha256(file)[:16] + brotli quality (1 byte) ->
	// the file's gzip and brotli forms (httpd's static files and the
	// snippet, asset_cache.go): compressed once per version of a file, not
	// at every start. A cache: what it holds is checked against the file
	// before it is served, and entries of files no longer built are
	// deleted.
	prefixCompressed byte = 'Z'

	// prefixKeptAsset + file name (as under /static/, e.g.
	// "cs-widget.3f9a0c1b.js") -> a content-hashed file of the snippet that
	// a binary served (httpd/widget_kept.go: a version byte, when it was
	// retired, the file), so that a page still running an earlier core
	// loads that core's widget chunk from the binary that replaced it. A
	// few are kept, for a while; older ones are deleted at a start.
	prefixKeptAsset byte = 'X'

	// prefixSealed + name -> raw value: state derived from other records,
	// written at a clean shutdown so that the next start can read it in
	// one Get instead of deriving it again. Its owner deletes it in the
	// same write as the first change of what it was derived from, so that
	// a crash never leaves it stale. Names: "pools" (numbers/tracking: the
	// pools' live leases).
	prefixSealed byte = 'N'

	// Retired families, kept so that their bytes are never reused: Open
	// moves what is left under them into prefixDue (due.go).
	//   prefixOutbox + due (uint64 BE, Unix ms) + delivery id (uint64 BE)
	//   -> site id (uint32 BE): webhook deliveries, now kind DueDelivery.
	//   prefixCallbackDue + due (uint64 BE, Unix ms) + callback id (uint64
	//   BE) -> site id (uint32 BE): the callback schedule, now kind
	//   DueCallback.
	prefixOutbox      byte = 'o'
	prefixCallbackDue byte = 'q'

	// prefixDigestSub + site id (uint32 BE) + email (lower case) -> one
	// byte of DigestDaily|DigestWeekly: the report digests a user gets by
	// email for a site. A site's subscribers are one range, deleted
	// with the site, as are its prefixDigestSent ranges (one a kind).
	prefixDigestSub byte = 'y'

	// prefixDigestSent + kind (DigestDaily or DigestWeekly) + site id
	// (uint32 BE) + email (lower case) -> the first day (uint32 BE, days
	// since 1970-01-01 in the site's zone) of the latest period whose
	// digest was sent to the user, or which was due when they subscribed.
	// Written after the SMTP server took the email.
	prefixDigestSent byte = 'Y'
)

// The report digests (prefixDigestSub's bits, prefixDigestSent's kinds).
const (
	DigestDaily  byte = 1
	DigestWeekly byte = 2
)

// DigestSubKey is the key of email's digest subscription to site.
func DigestSubKey(site uint32, email string) []byte {
	k := binary.BigEndian.AppendUint32(key1(prefixDigestSub, 4+len(email)), site)
	return append(k, email...)
}

// DigestSubPrefix is the range of every digest subscription.
func DigestSubPrefix() []byte { return []byte{prefixDigestSub} }

// DigestSubSitePrefix is the range of site's digest subscriptions.
func DigestSubSitePrefix(site uint32) []byte {
	return binary.BigEndian.AppendUint32(key1(prefixDigestSub, 4), site)
}

// DigestSentSitePrefix is the range of the latest periods of kind sent
// for site, to any user.
func DigestSentSitePrefix(kind byte, site uint32) []byte {
	return binary.BigEndian.AppendUint32(append(key1(prefixDigestSent, 5), kind), site)
}

// DigestSentPrefix is the range of every digest's latest period sent.
func DigestSentPrefix() []byte { return []byte{prefixDigestSent} }

// DigestSentKey is the key of the latest period of kind sent to email for site.
func DigestSentKey(kind byte, site uint32, email string) []byte {
	k := append(key1(prefixDigestSent, 5+len(email)), kind)
	k = binary.BigEndian.AppendUint32(k, site)
	return append(k, email...)
}

// DueKind names what a due-queue entry (prefixDue) is due for; each kind is
// its own range of the family.
type DueKind byte

// The kinds of due-queue entries.
const (
	DueDelivery DueKind = 'd' // a webhook delivery's next attempt
	DueCallback DueKind = 'b' // a callback to send to its scenario
	// DueAccountMail is an account's email (AccountMail) to send, or,
	// once sent or given up, to delete.
	DueAccountMail DueKind = 'm'
)

// Parts of a lease in the lease history (prefixLease).
const (
	leaseClaim byte = 0
	leaseUntil byte = 1
)

func key1(prefix byte, n int) []byte {
	b := make([]byte, 1, 1+n)
	b[0] = prefix
	return b
}

// CompressedKey is the key of the compressed forms of a static file whose
// SHA-256 is sum, brotli at quality.
func CompressedKey(sum [32]byte, quality byte) []byte {
	return append(append(key1(prefixCompressed, 17), sum[:16]...), quality)
}

// CompressedPrefix is the key prefix of every CompressedKey.
func CompressedPrefix() []byte { return []byte{prefixCompressed} }

// KeptAssetKey is the key of the kept file of name (its name under
// /static/).
func KeptAssetKey(name string) []byte {
	return append(key1(prefixKeptAsset, len(name)), name...)
}

// KeptAssetPrefix is the key prefix of every KeptAssetKey.
func KeptAssetPrefix() []byte { return []byte{prefixKeptAsset} }

// TLSCacheKey is the key of an entry of the ACME client's cache.
func TLSCacheKey(name string) []byte { return append(key1(prefixTLS, len(name)), name...) }

// MetaKey is the key of a store-wide setting.
func MetaKey(name string) []byte { return append(key1(prefixMeta, len(name)), name...) }

// PrunedKey is the key of the latest cutoff of a prune that deleted
// sessions of site (DB.PrunedBefore).
func PrunedKey(site uint32) []byte { return binary.BigEndian.AppendUint32(MetaKey("pruned/"), site) }

// SealedKey is the key of the sealed state called name (prefixSealed).
func SealedKey(name string) []byte { return append(key1(prefixSealed, len(name)), name...) }

// UserKey is the key of the user with the given (lower-cased) email.
func UserKey(email string) []byte { return append(key1(prefixUser, len(email)), email...) }

// AuthKey is the key of a login session by the hash of its cookie token.
func AuthKey(tokenHash []byte) []byte {
	return append(key1(prefixAuth, len(tokenHash)), tokenHash...)
}

// TokenKey is the key of an API token by its hash.
func TokenKey(tokenHash []byte) []byte {
	return append(key1(prefixToken, len(tokenHash)), tokenHash...)
}

// InviteKey is the key of an invite by the hash of its token.
func InviteKey(tokenHash []byte) []byte {
	return append(key1(prefixInvite, len(tokenHash)), tokenHash...)
}

// ResetKey is the key of a password reset by the hash of its token.
func ResetKey(tokenHash []byte) []byte {
	return append(key1(prefixReset, len(tokenHash)), tokenHash...)
}

// ResetPrefix is the prefix of every password reset.
func ResetPrefix() []byte { return []byte{prefixReset} }

// InvitePrefix is the prefix of every invite.
func InvitePrefix() []byte { return []byte{prefixInvite} }

// AccountMailKey is the key of the account email id.
func AccountMailKey(id uint64) []byte {
	return binary.BigEndian.AppendUint64(key1(prefixAccountMail, 8), id)
}

// AccountMailPrefix is the prefix of every account email.
func AccountMailPrefix() []byte { return []byte{prefixAccountMail} }

// TokenPrefix is the prefix of every API token.
func TokenPrefix() []byte { return []byte{prefixToken} }

// AuthPrefix is the prefix of every login session.
func AuthPrefix() []byte { return []byte{prefixAuth} }

// SiteKey is the key of a site record.
func SiteKey(id uint32) []byte { return binary.BigEndian.AppendUint32(key1(prefixSite, 4), id) }

// SiteKeyIndexKey is the key of the index from a public site key to its id.
func SiteKeyIndexKey(siteKey string) []byte {
	return append(key1(prefixSiteKey, len(siteKey)), siteKey...)
}

// VisitorKey is the key of a visitor record.
func VisitorKey(id uint64) []byte {
	return binary.BigEndian.AppendUint64(key1(prefixVisitor, 8), id)
}

// PropertyKey is the key of one visitor property.
func PropertyKey(visitor uint64, name string) []byte {
	b := binary.BigEndian.AppendUint64(key1(prefixProperty, 8+len(name)), visitor)
	return append(b, name...)
}

// PropertyPrefix is the key prefix of all properties of a visitor.
func PropertyPrefix(visitor uint64) []byte {
	return binary.BigEndian.AppendUint64(key1(prefixProperty, 8), visitor)
}

func siteIDKey(prefix byte, site uint32, id uint64) []byte {
	b := binary.BigEndian.AppendUint32(key1(prefix, 12), site)
	return binary.BigEndian.AppendUint64(b, id)
}

func sitePrefix(prefix byte, site uint32) []byte {
	return binary.BigEndian.AppendUint32(key1(prefix, 4), site)
}

// SessionKey is the key of a session of a site.
func SessionKey(site uint32, id uint64) []byte { return siteIDKey(prefixSession, site, id) }

// SessionPrefix is the key prefix of all sessions of a site.
func SessionPrefix(site uint32) []byte { return sitePrefix(prefixSession, site) }

func sessionItemKey(prefix byte, site uint32, session, id uint64) []byte {
	b := binary.BigEndian.AppendUint32(key1(prefix, 20), site)
	b = binary.BigEndian.AppendUint64(b, session)
	return binary.BigEndian.AppendUint64(b, id)
}

// HitKey is the key of a hit (page view) of a session of a site.
func HitKey(site uint32, session, id uint64) []byte {
	return sessionItemKey(prefixHit, site, session, id)
}

// HitPrefix is the key prefix of all hits of a session.
func HitPrefix(site uint32, session uint64) []byte { return siteIDKey(prefixHit, site, session) }

// SiteHitPrefix is the key prefix of all hits of a site.
func SiteHitPrefix(site uint32) []byte { return sitePrefix(prefixHit, site) }

// EventKey is the key of a custom event of a session of a site.
func EventKey(site uint32, session, id uint64) []byte {
	return sessionItemKey(prefixEvent, site, session, id)
}

// EventPrefix is the key prefix of all events of a session.
func EventPrefix(site uint32, session uint64) []byte { return siteIDKey(prefixEvent, site, session) }

// SiteEventPrefix is the key prefix of all events of a site.
func SiteEventPrefix(site uint32) []byte { return sitePrefix(prefixEvent, site) }

// SessionItemIDs returns the session and item ids of a hit or event key; ok
// is false when the key has another length.
func SessionItemIDs(key []byte) (session, id uint64, ok bool) {
	if len(key) != 21 {
		return 0, 0, false
	}
	return binary.BigEndian.Uint64(key[5:13]), binary.BigEndian.Uint64(key[13:]), true
}

// RollupKey is the key of one daily counter of a site.
func RollupKey(site uint32, day uint32, metric string) []byte {
	b := binary.BigEndian.AppendUint32(key1(prefixRollup, 8+len(metric)), site)
	b = binary.BigEndian.AppendUint32(b, day)
	return append(b, metric...)
}

// HighKey is the key of one daily high-water mark of a site.
func HighKey(site uint32, day uint32, metric string) []byte {
	b := binary.BigEndian.AppendUint32(key1(prefixHigh, 8+len(metric)), site)
	b = binary.BigEndian.AppendUint32(b, day)
	return append(b, metric...)
}

// HighSitePrefix is the key prefix of every high-water mark of a site.
func HighSitePrefix(site uint32) []byte {
	return binary.BigEndian.AppendUint32(key1(prefixHigh, 4), site)
}

// RollupPrefix is the key prefix of a site's counters of one day.
func RollupPrefix(site uint32, day uint32) []byte {
	b := binary.BigEndian.AppendUint32(key1(prefixRollup, 8), site)
	return binary.BigEndian.AppendUint32(b, day)
}

// LeadKey is the key of a lead of a site.
func LeadKey(site uint32, id uint64) []byte { return siteIDKey(prefixLead, site, id) }

// LeadPrefix is the key prefix of all leads of a site.
func LeadPrefix(site uint32) []byte { return sitePrefix(prefixLead, site) }

// WebhooksKey is the key of a site's webhook endpoints.
func WebhooksKey(site uint32) []byte { return sitePrefix(prefixWebhooks, site) }

// DeliveryKey is the key of a webhook delivery of a site.
func DeliveryKey(site uint32, id uint64) []byte { return siteIDKey(prefixDelivery, site, id) }

// DeliveryPrefix is the key prefix of all webhook deliveries of a site.
func DeliveryPrefix(site uint32) []byte { return sitePrefix(prefixDelivery, site) }

// HookHealthKey is the key of the health of webhook endpoint id of site.
func HookHealthKey(site uint32, endpoint uint64) []byte {
	return siteIDKey(prefixHookHealth, site, endpoint)
}

// HookHealthPrefix is the key prefix of the health of every webhook
// endpoint of site.
func HookHealthPrefix(site uint32) []byte { return sitePrefix(prefixHookHealth, site) }

// HookHealthAll is the key prefix of the health of every webhook endpoint.
func HookHealthAll() []byte { return []byte{prefixHookHealth} }

// ParseHookHealthKey splits a HookHealthKey into its site and endpoint.
func ParseHookHealthKey(key []byte) (site uint32, endpoint uint64, ok bool) {
	if len(key) != 13 || key[0] != prefixHookHealth {
		return 0, 0, false
	}
	return binary.BigEndian.Uint32(key[1:5]), binary.BigEndian.Uint64(key[5:]), true
}

// DueKey is the key of the due-queue entry of kind for id, due at the Unix
// millisecond due (negative due sorts as 0).
func DueKey(kind DueKind, due int64, id uint64) []byte {
	b := append(key1(prefixDue, 17), byte(kind))
	b = binary.BigEndian.AppendUint64(b, uint64(max(due, 0)))
	return binary.BigEndian.AppendUint64(b, id)
}

// DuePrefix is the key prefix of every due-queue entry of kind.
func DuePrefix(kind DueKind) []byte { return append(key1(prefixDue, 1), byte(kind)) }

// ParseDueKey returns the kind, due time and id of a due-queue key.
func ParseDueKey(key []byte) (kind DueKind, due int64, id uint64, ok bool) {
	if len(key) != 18 || key[0] != prefixDue {
		return 0, 0, 0, false
	}
	d := binary.BigEndian.Uint64(key[2:10])
	if d > 1<<63-1 {
		return 0, 0, 0, false
	}
	return DueKind(key[1]), int64(d), binary.BigEndian.Uint64(key[10:]), true
}

// NumbersKey is the key of a site's number configuration.
func NumbersKey(site uint32) []byte { return sitePrefix(prefixNumbers, site) }

// NumbersPrefix is the key prefix of every site's number configuration.
func NumbersPrefix() []byte { return []byte{prefixNumbers} }

// MaxLeaseNumber is the longest number the lease history keys (E.164 allows
// 15 digits).
const MaxLeaseNumber = 32

// LeasesPrefix is the key prefix of the whole lease history, of every
// number (a rebuild of a site's pool counters reads it all).
func LeasesPrefix() []byte { return []byte{prefixLease} }

// LeasePrefix is the key prefix of the lease history of one number. It
// panics on a number longer than MaxLeaseNumber: numbers are validated long
// before they reach a key.
func LeasePrefix(number string) []byte {
	return appendLeasePrefix(make([]byte, 0, 2+len(number)+9), number)
}

func appendLeasePrefix(b []byte, number string) []byte {
	if len(number) > MaxLeaseNumber {
		panic("store: lease number too long")
	}
	b = append(b, prefixLease, byte(len(number)))
	return append(b, number...)
}

// LeaseClaimKey is the key of the record of the lease of number claimed at
// since (Unix ns).
func LeaseClaimKey(number string, since int64) []byte {
	return AppendLeaseKey(nil, number, since, false)
}

// LeaseUntilKey is the key of the until of the lease of number claimed at
// since (Unix ns).
func LeaseUntilKey(number string, since int64) []byte {
	return AppendLeaseKey(nil, number, since, true)
}

// AppendLeaseKey appends the key of the claim record (until false) or the
// until (until true) of a lease to dst, so that a renew can build it in a
// buffer it owns.
func AppendLeaseKey(dst []byte, number string, since int64, until bool) []byte {
	dst = appendLeasePrefix(dst, number)
	dst = binary.BigEndian.AppendUint64(dst, uint64(max(since, 0)))
	if until {
		return append(dst, leaseUntil)
	}
	return append(dst, leaseClaim)
}

// LeaseBefore is the exclusive upper bound of the leases of number claimed
// at or before at (Unix ns).
func LeaseBefore(number string, at int64) []byte {
	b := appendLeasePrefix(make([]byte, 0, 2+len(number)+8), number)
	return binary.BigEndian.AppendUint64(b, uint64(max(at, 0))+1)
}

// AppendLeaseRange appends the bounds of the leases of number claimed at
// or before at (Unix ns), LeasePrefix and LeaseBefore, to buf and returns
// them as a Range sharing buf's array: one buffer holds the ranges of many
// numbers (start-up reads every pool number's last lease).
func AppendLeaseRange(buf []byte, number string, at int64) ([]byte, Range) {
	start := len(buf)
	buf = appendLeasePrefix(buf, number)
	mid := len(buf)
	buf = appendLeasePrefix(buf, number)
	buf = binary.BigEndian.AppendUint64(buf, uint64(max(at, 0))+1)
	return buf, Range{Lower: buf[start:mid:mid], Upper: buf[mid:len(buf):len(buf)]}
}

// ParseLeaseKey splits a lease history key into its number, claim time and
// part (until true for the until, false for the claim record).
func ParseLeaseKey(key []byte) (number string, since int64, until, ok bool) {
	since, until, ok = LeaseKeyTime(key)
	if !ok {
		return "", 0, false, false
	}
	return string(key[2 : 2+int(key[1])]), since, until, true
}

// LeaseKeyTime is ParseLeaseKey without the number, which it does not
// allocate.
func LeaseKeyTime(key []byte) (since int64, until, ok bool) {
	if len(key) < 2 || key[0] != prefixLease {
		return 0, false, false
	}
	n := int(key[1])
	if len(key) != 2+n+9 || key[len(key)-1] > leaseUntil {
		return 0, false, false
	}
	s := binary.BigEndian.Uint64(key[2+n:])
	if s > 1<<63-1 {
		return 0, false, false
	}
	return int64(s), key[len(key)-1] == leaseUntil, true
}

// CallKey is the key of a call of a site (site 0: calls to unknown numbers).
func CallKey(site uint32, id uint64) []byte { return siteIDKey(prefixCall, site, id) }

// CallPrefix is the key prefix of all calls of a site.
func CallPrefix(site uint32) []byte { return sitePrefix(prefixCall, site) }

// CallStartKey is the entry of call id of site, started at startedMs
// (Unix ms, not negative), in the site's calls by start.
func CallStartKey(site uint32, startedMs int64, id uint64) []byte {
	b := binary.BigEndian.AppendUint32(key1(prefixCallStart, 20), site)
	return binary.BigEndian.AppendUint64(binary.BigEndian.AppendUint64(b, uint64(startedMs)), id)
}

// CallStartPrefix is the key prefix of a site's calls by start.
func CallStartPrefix(site uint32) []byte { return sitePrefix(prefixCallStart, site) }

// ParseCallStartKey returns the start (Unix ms) and the call id of a
// CallStartKey; ok is false for any other key.
func ParseCallStartKey(key []byte) (startedMs int64, id uint64, ok bool) {
	if len(key) != 21 || key[0] != prefixCallStart || key[5]&0x80 != 0 {
		return 0, 0, false
	}
	return int64(binary.BigEndian.Uint64(key[5:13])), binary.BigEndian.Uint64(key[13:]), true
}

// CallOnceKey is the key that remembers a reported call by what identifies
// it on the PBX side. called and caller are normalised digits (at most 255
// bytes each, as calls keep them).
func CallOnceKey(called, caller string, startedMs int64) []byte {
	b := key1(prefixCallOnce, 2+len(called)+len(caller)+8)
	b = append(append(b, byte(len(called))), called...)
	b = append(append(b, byte(len(caller))), caller...)
	return binary.BigEndian.AppendUint64(b, uint64(startedMs))
}

// CallPBXKey is the key that remembers a reported call by the PBX's own id
// of it, among the calls to one number. called is normalised digits; both
// are at most 255 bytes.
func CallPBXKey(called, pbxID string) []byte {
	b := key1(prefixCallPBX, 1+len(called)+len(pbxID))
	b = append(append(b, byte(len(called))), called...)
	return append(b, pbxID...)
}

// PrefixEnd returns the smallest key greater than every key with the prefix,
// the exclusive upper bound of a prefix scan; nil when there is none.
func PrefixEnd(prefix []byte) []byte {
	end := append([]byte(nil), prefix...)
	for i := len(end) - 1; i >= 0; i-- {
		end[i]++
		if end[i] != 0 {
			return end[:i+1]
		}
	}
	return nil
}

// IDFromKey returns the trailing big-endian uint64 of a site-scoped key
// (session, hit, event, lead, ...); ok is false when the key is too short.
func IDFromKey(key []byte) (id uint64, ok bool) {
	if len(key) < 13 {
		return 0, false
	}
	return binary.BigEndian.Uint64(key[len(key)-8:]), true
}

// SitePrefix is the key prefix of all site records.
func SitePrefix() []byte { return []byte{prefixSite} }

// UserPrefix is the key prefix of all users.
func UserPrefix() []byte { return []byte{prefixUser} }

// MarkKind names what a mark (prefixMark) is of.
type MarkKind byte

// Kinds of marks.
const (
	MarkLead     MarkKind = 'L' // a lead
	MarkCallback MarkKind = 'b' // a callback request
)

// MarkKey is the key of the mark of a lead or callback of a site.
func MarkKey(site uint32, kind MarkKind, id uint64) []byte {
	b := binary.BigEndian.AppendUint32(key1(prefixMark, 13), site)
	b = append(b, byte(kind))
	return binary.BigEndian.AppendUint64(b, id)
}

// MarkPrefix is the key prefix of a site's marks of one kind.
func MarkPrefix(site uint32, kind MarkKind) []byte {
	b := binary.BigEndian.AppendUint32(key1(prefixMark, 5), site)
	return append(b, byte(kind))
}

// ReportKey is the key of one report roll-up of a site (prefixReport).
func ReportKey(site uint32, dim, model byte, period uint32, row []byte) []byte {
	return AppendReportKey(make([]byte, 0, 11+len(row)), site, dim, model, period, row)
}

// AppendReportKey appends ReportKey(site, dim, model, period, row) to dst:
// a hit that starts a session writes five, built on its stack.
func AppendReportKey(dst []byte, site uint32, dim, model byte, period uint32, row []byte) []byte {
	b := binary.BigEndian.AppendUint32(append(dst, prefixReport), site)
	b = append(b, dim, model)
	b = binary.BigEndian.AppendUint32(b, period)
	return append(b, row...)
}

// ReportPrefix is the key prefix of a site's report roll-ups of one
// dimension and model.
func ReportPrefix(site uint32, dim, model byte) []byte {
	b := binary.BigEndian.AppendUint32(key1(prefixReport, 6), site)
	return append(b, dim, model)
}

// ReportSitePrefix is the key prefix of all report roll-ups of a site.
func ReportSitePrefix(site uint32) []byte { return sitePrefix(prefixReport, site) }

// ParseReportKey splits a report roll-up key into its period and row key
// (which aliases key); ok is false when key is too short for one.
func ParseReportKey(key []byte) (period uint32, row []byte, ok bool) {
	if len(key) < 11 || key[0] != prefixReport {
		return 0, nil, false
	}
	return binary.BigEndian.Uint32(key[7:11]), key[11:], true
}

// TouchKey is the key of a visitor's Touch.
func TouchKey(visitor uint64) []byte {
	return binary.BigEndian.AppendUint64(key1(prefixTouch, 8), visitor)
}

// CallerKey is the key that remembers a caller's first call to a site.
func CallerKey(site uint32, caller string) []byte {
	b := binary.BigEndian.AppendUint32(key1(prefixCaller, 4+len(caller)), site)
	return append(b, caller...)
}

// CallerPrefix is the key prefix of every caller of a site.
func CallerPrefix(site uint32) []byte { return sitePrefix(prefixCaller, site) }

// CostKey is the key of a site's ad cost of one day and row.
func CostKey(site uint32, day uint32, row []byte) []byte {
	b := binary.BigEndian.AppendUint32(key1(prefixCost, 8+len(row)), site)
	b = binary.BigEndian.AppendUint32(b, day)
	return append(b, row...)
}

// CostPrefix is the key prefix of every ad cost of a site.
func CostPrefix(site uint32) []byte { return sitePrefix(prefixCost, site) }

// CostDayKey is the key prefix of a site's ad costs of one day; the costs
// of days [a, b) are [CostDayKey(site, a), CostDayKey(site, b)).
func CostDayKey(site uint32, day uint32) []byte {
	return binary.BigEndian.AppendUint32(sitePrefix(prefixCost, site), day)
}

// ParseCostKey splits a cost key into its day and row key (which aliases
// key).
func ParseCostKey(key []byte) (day uint32, row []byte, ok bool) {
	if len(key) < 9 || key[0] != prefixCost {
		return 0, nil, false
	}
	return binary.BigEndian.Uint32(key[5:9]), key[9:], true
}

// ChatKey is the key of a chat of a site.
func ChatKey(site uint32, id uint64) []byte { return siteIDKey(prefixChat, site, id) }

// ChatPrefix is the key prefix of all chats of a site.
func ChatPrefix(site uint32) []byte { return sitePrefix(prefixChat, site) }

// ChatMessageKey is the key of message id of a chat of a site.
func ChatMessageKey(site uint32, chat, id uint64) []byte {
	return sessionItemKey(prefixChatMessage, site, chat, id)
}

// ChatMessagePrefix is the key prefix of every message of a chat.
func ChatMessagePrefix(site uint32, chat uint64) []byte {
	return siteIDKey(prefixChatMessage, site, chat)
}

// ChatMessageSitePrefix is the key prefix of every message of every chat
// of a site, chat by chat in id order.
func ChatMessageSitePrefix(site uint32) []byte { return sitePrefix(prefixChatMessage, site) }

// ParseChatMessageKey returns the chat and message id of a chat message
// key.
func ParseChatMessageKey(key []byte) (chat, id uint64, ok bool) {
	if len(key) != 21 || key[0] != prefixChatMessage {
		return 0, 0, false
	}
	return binary.BigEndian.Uint64(key[5:13]), binary.BigEndian.Uint64(key[13:]), true
}

// ChatOpenKey is the key marking a chat of a site as open.
func ChatOpenKey(site uint32, id uint64) []byte { return siteIDKey(prefixChatOpen, site, id) }

// ChatOpenPrefix is the key prefix of the open chats of a site.
func ChatOpenPrefix(site uint32) []byte { return sitePrefix(prefixChatOpen, site) }

// AllChatOpenPrefix is the key prefix of the open chats of every site.
func AllChatOpenPrefix() []byte { return []byte{prefixChatOpen} }

// ParseChatOpenKey returns the site and chat id of an open-chat key.
func ParseChatOpenKey(key []byte) (site uint32, chat uint64, ok bool) {
	if len(key) != 13 || key[0] != prefixChatOpen {
		return 0, 0, false
	}
	return binary.BigEndian.Uint32(key[1:5]), binary.BigEndian.Uint64(key[5:]), true
}

// ChatVisitorKey is the key of the latest chat of a visitor of a site.
func ChatVisitorKey(site uint32, visitor uint64) []byte {
	return siteIDKey(prefixChatVisitor, site, visitor)
}

// ChatSettingsKey is the key of a site's chat settings.
func ChatSettingsKey(site uint32) []byte { return sitePrefix(prefixChatSettings, site) }

// ExportKey is the key of the export log entry numbered seq.
func ExportKey(seq uint64) []byte {
	return binary.BigEndian.AppendUint64(key1(prefixExport, 8), seq)
}

// ParseExportKey returns the seq of an export log key.
func ParseExportKey(key []byte) (seq uint64, ok bool) {
	if len(key) != 9 || key[0] != prefixExport {
		return 0, false
	}
	return binary.BigEndian.Uint64(key[1:]), true
}

// RecordFamily is the family of a record an export mark can name (the
// first byte of its key).
type RecordFamily byte

// The families of records the event stream carries.
const (
	RecordHit         = RecordFamily(prefixHit)
	RecordEvent       = RecordFamily(prefixEvent)
	RecordVisitor     = RecordFamily(prefixVisitor)
	RecordLead        = RecordFamily(prefixLead)
	RecordCallback    = RecordFamily(prefixCallback)
	RecordCall        = RecordFamily(prefixCall)
	RecordChat        = RecordFamily(prefixChat)
	RecordChatMessage = RecordFamily(prefixChatMessage)
)

// RecordRef is what the key of a record of a RecordFamily says.
type RecordRef struct {
	Family  RecordFamily
	Site    uint32 // 0 for a visitor (its record names the site)
	Session uint64 // a hit's or event's session; a chat message's chat
	ID      uint64 // the record's id (a chat message's number in its chat)
}

// ParseRecordKey splits the key of a record of a RecordFamily; ok is
// false for any other key.
func ParseRecordKey(key []byte) (r RecordRef, ok bool) {
	if len(key) == 0 {
		return r, false
	}
	r.Family = RecordFamily(key[0])
	switch r.Family {
	case RecordHit, RecordEvent, RecordChatMessage:
		if len(key) != 21 {
			return r, false
		}
		r.Site = binary.BigEndian.Uint32(key[1:5])
		r.Session, r.ID = binary.BigEndian.Uint64(key[5:13]), binary.BigEndian.Uint64(key[13:])
	case RecordLead, RecordCallback, RecordCall, RecordChat:
		if len(key) != 13 {
			return r, false
		}
		r.Site, r.ID = binary.BigEndian.Uint32(key[1:5]), binary.BigEndian.Uint64(key[5:])
	case RecordVisitor:
		if len(key) != 9 {
			return r, false
		}
		r.ID = binary.BigEndian.Uint64(key[1:])
	default:
		return r, false
	}
	return r, true
}
