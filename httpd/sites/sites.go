// Package sites holds the web sites an appliance serves: creating them with
// a public site key and a private secret, finding them by key on every
// tracker request (from memory), and the HMAC credential key that lets a
// site's own server act on a visitor's behalf (SPEC §3).
package sites

import (
	"bytes"
	"cmp"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"golang.org/x/net/idna"
	"golang.org/x/net/publicsuffix"

	"appliance/internal/usererr"
	"appliance/numbers"
	"appliance/store"
)

// Errors of the sites package.
var (
	ErrNotFound = usererr.New("sites", 404, "no such site")
	ErrInvalid  = usererr.New("sites", 400, "invalid site")
)

// KeyLen is the length of a public site key.
const KeyLen = 32

const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

// Registry finds sites by key and id from an in-memory copy kept in step
// with the store: lookups on the tracker path never touch disk.
type Registry struct {
	db    *store.DB
	now   func() time.Time
	mu    sync.RWMutex
	byKey map[string]*store.Site
	byID  map[uint32]*store.Site
	// locs are the loaded zones of the sites' TimeZone names (LoadLocation
	// reads the zone database: not once per hit).
	locs map[string]*time.Location
}

// Open loads every site of db. now is the clock new sites are stamped
// with; nil is time.Now.
func Open(ctx context.Context, db *store.DB, now func() time.Time) (*Registry, error) {
	if now == nil {
		now = time.Now
	}
	r := &Registry{db: db, now: now, byKey: map[string]*store.Site{}, byID: map[uint32]*store.Site{},
		locs: map[string]*time.Location{}}
	var derr error
	err := db.ScanPrefix(ctx, store.SitePrefix(), false, 0, func(_, v []byte) bool {
		s, err := store.DecodeSite(v)
		if err != nil {
			derr = err
			return false
		}
		r.put(&s)
		return true
	})
	if err == nil {
		err = derr
	}
	if err != nil {
		return nil, fmt.Errorf("load sites: %w", err)
	}
	return r, nil
}

func (r *Registry) put(s *store.Site) {
	var loc *time.Location
	if s.TimeZone != "" {
		loc, _ = time.LoadLocation(s.TimeZone) // nil (the server's zone) when the zone database lost it
	}
	r.mu.Lock()
	r.byKey[s.Key] = s
	r.byID[s.ID] = s
	if loc != nil {
		r.locs[s.TimeZone] = loc
	}
	r.mu.Unlock()
}

// Location is the zone of s's days and hours: its TimeZone, or the
// server's zone (time.Local) when it has none or the zone database does
// not know it. It reads the zone database only for a site the registry
// does not hold.
func (r *Registry) Location(s *store.Site) *time.Location {
	if s.TimeZone == "" {
		return time.Local
	}
	r.mu.RLock()
	loc := r.locs[s.TimeZone]
	r.mu.RUnlock()
	if loc != nil {
		return loc
	}
	if loc, err := time.LoadLocation(s.TimeZone); err == nil {
		return loc
	}
	return time.Local
}

// Location is the zone of s's days and hours without a registry's cache
// (it may read the zone database): s.TimeZone, or the server's zone
// (time.Local) when it has none or the zone is unknown.
func Location(s *store.Site) *time.Location {
	if s.TimeZone == "" {
		return time.Local
	}
	if loc, err := time.LoadLocation(s.TimeZone); err == nil {
		return loc
	}
	return time.Local
}

// ParsePhoneRegion checks code as a site's phone region: an ISO 3166
// two-letter code ParsePhone reads numbers in ("RU", "kz"), upper-cased,
// or "" for the server's region.
func ParsePhoneRegion(code string) (string, error) {
	code = strings.ToUpper(strings.TrimSpace(code))
	if code == "" {
		return "", nil
	}
	if len(code) != 2 || numbers.CheckRegion(code) != nil {
		return "", ErrInvalid.Errorf("phone region %q: give a two-letter country code such as RU or KZ", code)
	}
	return code, nil
}

// SetPhoneRegion sets the region the site's phones without a country code
// are read in (ParsePhoneRegion; "" for the server's) and returns the site
// as it now is. Numbers already stored keep their digits.
func (r *Registry) SetPhoneRegion(ctx context.Context, k, code string) (*store.Site, error) {
	code, err := ParsePhoneRegion(code)
	if err != nil {
		return nil, err
	}
	return r.edit(ctx, k, "set phone region of site", func(s *store.Site) error {
		s.PhoneRegion = code
		return nil
	})
}

// ParseTimeZone checks name as a site's time zone: an IANA name the zone
// database knows ("Europe/Moscow", "UTC"), or "" for the server's zone.
// "Local" is refused: it means whatever zone a server runs in.
func ParseTimeZone(name string) (string, error) {
	name = strings.TrimSpace(name)
	if name == "" {
		return "", nil
	}
	if name == "Local" || len(name) > 64 {
		return "", ErrInvalid.Errorf("time zone %q: give an IANA name such as Europe/Moscow", name)
	}
	if _, err := time.LoadLocation(name); err != nil {
		return "", ErrInvalid.Errorf("unknown time zone %q: give an IANA name such as Europe/Moscow", name)
	}
	return name, nil
}

// ByKey returns the site with the public key k. The result is shared: do
// not modify it.
func (r *Registry) ByKey(k string) (*store.Site, error) {
	r.mu.RLock()
	s := r.byKey[k]
	r.mu.RUnlock()
	if s == nil {
		return nil, ErrNotFound
	}
	return s, nil
}

// ByID returns the site with the given id. The result is shared.
func (r *Registry) ByID(id uint32) (*store.Site, error) {
	r.mu.RLock()
	s := r.byID[id]
	r.mu.RUnlock()
	if s == nil {
		return nil, ErrNotFound
	}
	return s, nil
}

// List returns all sites ordered by id.
func (r *Registry) List() []*store.Site {
	r.mu.RLock()
	out := make([]*store.Site, 0, len(r.byID))
	for _, s := range r.byID {
		out = append(out, s)
	}
	r.mu.RUnlock()
	slices.SortFunc(out, func(a, b *store.Site) int { return cmp.Compare(a.ID, b.ID) })
	return out
}

// Create validates name and domains, stores a new site with a fresh key and
// secret, and returns it.
func (r *Registry) Create(ctx context.Context, name string, domains []string) (*store.Site, error) {
	name, err := checkName(name)
	if err != nil {
		return nil, err
	}
	clean, err := checkDomains(domains)
	if err != nil {
		return nil, err
	}
	s := &store.Site{Key: newKey(), Name: name, Domains: clean, Secret: make([]byte, 32), Created: r.now().UnixMilli()}
	rand.Read(s.Secret)
	err = r.db.Update(ctx, func(tx *store.Tx) error {
		var n uint32
		if v, err := tx.Get(store.MetaKey("siteseq")); err == nil && len(v) == 4 {
			n = binary.BigEndian.Uint32(v)
		} else if err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		n++
		s.ID = n
		tx.Set(store.MetaKey("siteseq"), binary.BigEndian.AppendUint32(nil, n))
		tx.Set(store.SiteKey(s.ID), s.Encode())
		tx.Set(store.SiteKeyIndexKey(s.Key), binary.BigEndian.AppendUint32(nil, s.ID))
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("create site: %w", err)
	}
	r.put(s)
	return s, nil
}

// checkName is a site's name trimmed, 1 to 100 characters (not bytes: a
// Russian name of 51 letters is 102 bytes).
func checkName(name string) (string, error) {
	name = strings.TrimSpace(name)
	if name == "" || utf8.RuneCountInString(name) > 100 {
		return "", ErrInvalid.Errorf("name must be 1 to 100 characters")
	}
	return name, nil
}

// checkDomains is a site's domains normalised, 1 to 20, without repeats.
func checkDomains(domains []string) ([]string, error) {
	clean := make([]string, 0, len(domains))
	for _, d := range domains {
		d, err := NormalizeDomain(d)
		if err != nil {
			return nil, err
		}
		if !slices.Contains(clean, d) {
			clean = append(clean, d)
		}
	}
	if len(clean) == 0 || len(clean) > 20 {
		return nil, ErrInvalid.Errorf("give 1 to 20 domains")
	}
	return clean, nil
}

// Rename sets the name of the site with key k, its domains or both (a nil
// one keeps its value), checked as Create checks them, and returns the
// site as it now is.
func (r *Registry) Rename(ctx context.Context, k string, name *string, domains []string) (*store.Site, error) {
	return r.edit(ctx, k, "change site", func(s *store.Site) error {
		var err error
		if name != nil {
			if s.Name, err = checkName(*name); err != nil {
				return err
			}
		}
		if domains != nil {
			if s.Domains, err = checkDomains(domains); err != nil {
				return err
			}
		}
		return nil
	})
}

// edit changes a copy of the site with key k with change, stores it and
// returns it; op names the change in an error. The registry's records are
// shared, so the copy replaces the old record rather than changing it.
func (r *Registry) edit(ctx context.Context, k, op string, change func(*store.Site) error) (*store.Site, error) {
	old, err := r.ByKey(k)
	if err != nil {
		return nil, err
	}
	s := *old
	s.Domains = slices.Clone(old.Domains)
	if err := change(&s); err != nil {
		return nil, err
	}
	if err := r.db.Update(ctx, func(tx *store.Tx) error {
		tx.Set(store.SiteKey(s.ID), s.Encode())
		return nil
	}); err != nil {
		return nil, fmt.Errorf("%s %q: %w", op, k, err)
	}
	r.put(&s)
	return &s, nil
}

// Remove deletes the site with key k: its key no longer takes page views,
// leads or callbacks, and it leaves the dashboard. What it gathered stays
// in the store (and in backups) under its id, which is never reused; the
// caller releases what other parts hold for the site (its numbers). Its
// report digest subscriptions and sent markers, and its webhook
// endpoints' health, go in the same write: no one is mailed about a site
// that is gone.
func (r *Registry) Remove(ctx context.Context, k string) (*store.Site, error) {
	s, err := r.ByKey(k)
	if err != nil {
		return nil, err
	}
	if err := r.db.Update(ctx, func(tx *store.Tx) error {
		tx.Delete(store.SiteKey(s.ID))
		tx.Delete(store.SiteKeyIndexKey(s.Key))
		for _, p := range [][]byte{
			store.DigestSubSitePrefix(s.ID),
			store.DigestSentSitePrefix(store.DigestDaily, s.ID),
			store.DigestSentSitePrefix(store.DigestWeekly, s.ID),
			store.HookHealthPrefix(s.ID),
		} {
			tx.DeleteRange(p, store.PrefixEnd(p))
		}
		return nil
	}); err != nil {
		return nil, fmt.Errorf("remove site %q: %w", k, err)
	}
	r.mu.Lock()
	delete(r.byKey, s.Key)
	delete(r.byID, s.ID)
	r.mu.Unlock()
	return s, nil
}

// SetAnyOrigin sets whether the site with key k takes hits from pages on
// any domain (true) or only on its domains and their sub-domains (false),
// and returns the site as it now is.
func (r *Registry) SetAnyOrigin(ctx context.Context, k string, anyOrigin bool) (*store.Site, error) {
	return r.edit(ctx, k, "set any origin of site", func(s *store.Site) error {
		s.AnyOrigin = anyOrigin
		return nil
	})
}

// SetTimeZone sets the time zone of the site with key k (ParseTimeZone:
// an IANA name, "" for the server's zone) and returns the site as it now
// is. Reports already rolled up keep the days of the old zone until they
// are rebuilt (appliance reports rebuild).
func (r *Registry) SetTimeZone(ctx context.Context, k, zone string) (*store.Site, error) {
	zone, err := ParseTimeZone(zone)
	if err != nil {
		return nil, err
	}
	return r.edit(ctx, k, "set time zone of site", func(s *store.Site) error {
		s.TimeZone = zone
		return nil
	})
}

// AllowsHost reports whether a page on host may send hits for s: any host
// when s.AnyOrigin, else one of s's domains or a sub-domain of one (a
// "www." domain stands for its parent too; case and the form of an
// international name do not matter: "магазин.рф" is
// "xn--80aairftm.xn--p1ai"). host has no port.
func AllowsHost(s *store.Site, host string) bool {
	if s.AnyOrigin {
		return true
	}
	h := asciiHost(host)
	if h == "" {
		return false
	}
	for _, d := range s.Domains {
		if d = asciiHost(d); d == "" {
			continue
		}
		if h == d || strings.HasSuffix(h, "."+d) {
			return true
		}
		// "www.shop.example" given as the domain: shop.example is the same
		// site, but "www.ru" does not stand for every .ru site.
		if p, ok := strings.CutPrefix(d, "www."); ok && (h == p || strings.HasSuffix(h, "."+p)) && !publicSuffix(p) {
			return true
		}
	}
	return false
}

// asciiHost is host lower-cased, without a trailing dot, in its ASCII
// (punycode) form; "" when it is no host name.
func asciiHost(host string) string {
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	if isASCII(host) && !strings.Contains(host, "xn--") {
		// idna maps an ASCII name without punycode labels to itself or
		// refuses it, and a name it refuses is compared as it is
		// (FuzzASCIIHost): every hit checks its page's host against each
		// of the site's domains.
		return host
	}
	if a, err := idna.Lookup.ToASCII(host); err == nil {
		return a
	}
	if strings.IndexFunc(host, func(r rune) bool { return r > 127 }) >= 0 {
		return ""
	}
	return host // an ASCII name idna's rules refuse (an underscore): compare it as it is
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// SplitDomains is a form field of domains as a list: one an entry between
// commas or line breaks, or several, the words of an entry, when each of
// them is a domain ("a.example b.example"). An entry whose words are not
// all domains stays whole, so that its refusal quotes it as typed
// ("shop ru" is not a domain name, not "shop" alone).
func SplitDomains(field string) []string {
	var out []string
	for _, entry := range strings.FieldsFunc(field, func(r rune) bool { return r == ',' || r == '\n' || r == '\r' }) {
		words := strings.Fields(entry)
		if len(words) == 0 {
			continue
		}
		whole := false
		for _, w := range words {
			if _, err := NormalizeDomain(w); err != nil {
				whole = true
				break
			}
		}
		if whole {
			words = []string{strings.TrimSpace(entry)}
		}
		out = append(out, words...)
	}
	return out
}

// NormalizeDomain lower-cases a host name, strips a scheme, path and port
// a user may paste, and checks what is left.
func NormalizeDomain(d string) (string, error) {
	d = strings.ToLower(strings.TrimSpace(d))
	d = strings.TrimPrefix(strings.TrimPrefix(d, "https://"), "http://")
	if i := strings.IndexAny(d, "/?#"); i >= 0 {
		d = d[:i]
	}
	if i := strings.LastIndexByte(d, ':'); i >= 0 {
		if _, err := strconv.Atoi(d[i+1:]); err == nil {
			d = d[:i]
		}
	}
	d = strings.TrimSuffix(d, ".")
	if d == "" || len(d) > 253 {
		return "", ErrInvalid.Errorf("%q is not a domain name; give one such as shop.example.com", d)
	}
	for _, label := range strings.Split(d, ".") {
		if label == "" || len(label) > 63 {
			return "", ErrInvalid.Errorf("%q is not a domain name; give one such as shop.example.com", d)
		}
		for _, c := range label {
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c > 127) {
				return "", ErrInvalid.Errorf("%q is not a domain name; give one such as shop.example.com", d)
			}
		}
	}
	if d == "localhost" || net.ParseIP(d) != nil {
		return d, nil
	}
	// A single word is more likely half of "shop ru" than a host name, and
	// "ru", "com.ru" or "github.io" would take every site under it
	// (AllowsHost takes sub-domains).
	if !strings.Contains(d, ".") {
		return "", ErrInvalid.Errorf("%q is not a domain name; give one such as shop.example.com", d)
	}
	if a := asciiHost(d); a == "" || publicSuffix(a) {
		return "", ErrInvalid.Errorf("%q is a zone other sites live under, not a site's domain; give one such as shop.example.com", d)
	}
	return d, nil
}

// publicSuffix reports whether the ASCII host name a is itself a public
// suffix (a top-level domain, "com.ru", "github.io"), or a single label,
// which the list's default rule takes for one.
func publicSuffix(a string) bool {
	ps, _ := publicsuffix.PublicSuffix(a)
	return ps == a
}

// ValidKey reports whether k has the shape of a site key.
func ValidKey(k string) bool {
	if len(k) != KeyLen {
		return false
	}
	for i := 0; i < len(k); i++ {
		if strings.IndexByte(alphabet, k[i]) < 0 {
			return false
		}
	}
	return true
}

func newKey() string {
	b := make([]byte, KeyLen)
	rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)] // 256 = 4*62+8: a negligible bias for an identifier
	}
	return string(b)
}

// CredentialKey is the key Comagic.getCredentials gives a visitor: 32 hex
// chars of HMAC-SHA256 under the site's secret over site, visitor and session.
func CredentialKey(s *store.Site, visitor, session uint64) string {
	k := credentialKey(s, visitor, session)
	return string(k[:])
}

// credentialKey is CredentialKey without the string: every hit computes
// it, once or twice, so it allocates nothing.
func credentialKey(s *store.Site, visitor, session uint64) [32]byte {
	var msg [maxSignedOnStack]byte
	m := append(msg[:0], s.Key...)
	m = append(m, '.')
	m = strconv.AppendUint(m, visitor, 10)
	m = append(m, '.')
	m = strconv.AppendUint(m, session, 10)
	sum := Sign(s, m)
	var out [32]byte
	hex.Encode(out[:], sum[:16])
	return out
}

// CheckCredentialKey reports in constant time whether key is the credential
// key of visitor and session on s.
func CheckCredentialKey(s *store.Site, visitor, session uint64, key string) bool {
	want := credentialKey(s, visitor, session)
	return len(key) == len(want) && subtle.ConstantTimeCompare(want[:], []byte(key)) == 1
}

// maxSignedOnStack is the longest message Sign hashes without allocating
// (a credential key's is about 50 bytes).
const maxSignedOnStack = 192

// Sign is HMAC-SHA256 (RFC 2104) of msg under the site's secret, by
// crypto/hmac. The hit path signs once or twice a hit, so a signer is
// kept per secret and reused: crypto/hmac's Reset restores the keyed
// state (the hash of the key's inner and outer pads) it saved, so a
// signature hashes the message and the inner digest (two SHA-256 blocks
// for a credential key's) rather than the pads too (four), and allocates
// nothing.
func Sign(s *store.Site, msg []byte) [sha256.Size]byte {
	var out [sha256.Size]byte
	if len(msg) > maxSignedOnStack {
		m := hmac.New(sha256.New, s.Secret)
		m.Write(bytes.Clone(msg)) // msg itself stays on its caller's stack
		copy(out[:], m.Sum(nil))
		return out
	}
	pool := signersOf(s.Secret)
	sg, _ := pool.Get().(*signer)
	if sg == nil {
		sg = &signer{mac: hmac.New(sha256.New, s.Secret)}
	} else {
		sg.mac.Reset()
	}
	n := copy(sg.msg[:], msg)
	sg.mac.Write(sg.msg[:n])
	sg.mac.Sum(sg.sum[:0])
	out = sg.sum
	pool.Put(sg)
	return out
}

// signer is one HMAC-SHA256 under a secret, with its buffers: the
// message and the sum go through the hash.Hash interface, so they live
// with it rather than on the caller's stack (which they would leave for
// the heap on every call).
type signer struct {
	mac hash.Hash
	msg [maxSignedOnStack]byte
	sum [sha256.Size]byte
}

// signers holds a pool of signers per site secret (its bytes as a
// string): a few, one per site and per secret a site has had.
var signers struct {
	sync.RWMutex
	m map[string]*sync.Pool
}

// signersOf is the pool of signers under secret.
func signersOf(secret []byte) *sync.Pool {
	signers.RLock()
	p := signers.m[string(secret)]
	signers.RUnlock()
	if p != nil {
		return p
	}
	signers.Lock()
	defer signers.Unlock()
	if p = signers.m[string(secret)]; p == nil {
		if signers.m == nil {
			signers.m = make(map[string]*sync.Pool)
		}
		p = new(sync.Pool)
		signers.m[string(secret)] = p
	}
	return p
}

// MaxRetentionDays bounds a site's retention: ten years.
const MaxRetentionDays = 3660

// ParseRetention reads a retention in days as typed in a form: a whole
// number from 0 (keep for ever; also "") to MaxRetentionDays.
func ParseRetention(s string) (int, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, nil
	}
	days, err := strconv.Atoi(s)
	if err != nil || days < 0 || days > MaxRetentionDays {
		return 0, ErrInvalid.Errorf("retention %q: give a whole number of days from 0 (keep for ever) to %d", s, MaxRetentionDays)
	}
	return days, nil
}

// SetRetention sets how many days the site's raw visits are kept (0: for
// ever; at most MaxRetentionDays) and returns the site as it now is. The
// retention sweep deletes what is older; reports keep their roll-ups.
func (r *Registry) SetRetention(ctx context.Context, k string, days int) (*store.Site, error) {
	if days < 0 || days > MaxRetentionDays {
		return nil, ErrInvalid.Errorf("retention %q: give a whole number of days from 0 (keep for ever) to %d", strconv.Itoa(days), MaxRetentionDays)
	}
	return r.edit(ctx, k, "set retention of site", func(s *store.Site) error {
		s.RetentionDays = uint32(days)
		return nil
	})
}
