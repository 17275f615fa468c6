// Package captcha issues and checks image captchas of four to six digits,
// with the same digits spoken in a WAV for visitors who cannot see them.
//
// A Store keeps the live captchas in memory. Each has an id, 26 characters from
// crypto/rand that say nothing about the answer, and its random digits (as
// many as it was issued with) that never leave the Store except drawn into a
// PNG or spoken into a WAV by github.com/dchest/captcha.
// The picture is derived from the id and the digits under a key secret to the
// process, so drawing an id again gives the same picture, not a fresh one to
// average noise over.
//
// A captcha is good for one answer: Verify removes the id whether the answer is
// right or wrong, so nobody gets a second guess at the same picture. An
// unanswered captcha expires after Options.TTL, ten minutes by default. Each
// captcha is issued for a scope (the appliance's: a site key) and verifies only
// in that scope, so a captcha a bot got solved on one site passes nowhere else.
//
// Memory is bounded by count, not only by expiry: the Store holds at most
// Options.Max captchas. Past that, each new captcha drops the oldest one, so a
// flood costs captchas that were most likely abandoned anyway, and Dropped
// counts those drops for /metrics.
//
// The package knows nothing of HTTP or storage; captchas die with the process,
// which costs a visitor a reload. It does not use dchest's global store: there
// is no package-level state here, and two Stores are independent.
package captcha

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"image/png"
	"io"
	"math"
	mrand "math/rand/v2"
	"sync"
	"sync/atomic"
	"time"
	"unicode"

	dchest "github.com/dchest/captcha"
)

// ErrNotFound is returned by WritePNG for an id that was never issued, has
// expired, has been answered or was dropped.
var ErrNotFound = errors.New("captcha: not found")

const (
	// DefaultMax is the number of live captchas a Store holds when Options.Max
	// is zero; at about 130 bytes each (measured) that is 13 MB.
	DefaultMax = 100_000
	// DefaultTTL is how long an unanswered captcha lives when Options.TTL is zero.
	DefaultTTL = 10 * time.Minute
	// DefaultWidth and DefaultHeight are the image size in pixels when
	// Options.Width or Options.Height is zero.
	DefaultWidth  = dchest.StdWidth
	DefaultHeight = dchest.StdHeight
	// MinSize and MaxSize bound Options.Width and Options.Height. dchest's
	// renderer panics on some sizes below 20 pixels; every size in between
	// renders six digits.
	MinSize = 20
	MaxSize = 1000

	// DefaultDigits is how many digits a captcha has unless New is told
	// otherwise; MinDigits and MaxDigits bound what New takes.
	DefaultDigits = 4
	MinDigits     = 4
	MaxDigits     = 6
)

// Options configures a Store. The zero value gives the defaults.
type Options struct {
	// Max is the most captchas held at once; when full, New drops the oldest.
	Max int
	// TTL is how long a captcha can be drawn and answered after New.
	TTL time.Duration
	// Width and Height are the size of the PNG in pixels, each within
	// [MinSize, MaxSize].
	Width, Height int
	// Now is the clock, for tests; nil means time.Now.
	Now func() time.Time
	// Digits draws the answer of each new captcha: n digits, each 0 to 9.
	// nil means dchest.RandomDigits, which reads crypto/rand. Tests that
	// must solve a captcha from outside, as a browser test does, give a
	// known sequence here; nothing else should.
	Digits func(n int) []byte
}

// Store holds live captchas. It is safe for concurrent use. A Store must be
// made with New.
type Store struct {
	max           int
	ttl           time.Duration
	width, height int
	now           func() time.Time
	digits        func(n int) []byte
	noiseKey      [32]byte // keys roughen's randomness: a picture cannot be redrawn outside

	mu   sync.Mutex
	byID map[string]*entry
	// oldest and newest are the ends of a list of all entries in creation
	// order, linked through entry.newer and entry.older. With one TTL and a
	// clock that does not go back it is also expiry order, so expired entries
	// are pruned from the oldest end.
	oldest, newest *entry

	dropped atomic.Uint64
}

type entry struct {
	id           string
	scope        string
	digits       [MaxDigits]byte
	n            uint8 // digits in use, from MinDigits to MaxDigits
	expires      time.Time
	older, newer *entry
}

// New returns an empty Store configured by opts. It panics if Max or TTL is
// negative or Width or Height is set outside [MinSize, MaxSize]: those are
// configuration mistakes to catch at start-up, not at the first request.
func New(opts Options) *Store {
	s := &Store{
		max:    opts.Max,
		ttl:    opts.TTL,
		width:  opts.Width,
		height: opts.Height,
		now:    opts.Now,
		digits: opts.Digits,
		byID:   make(map[string]*entry),
	}
	if s.max == 0 {
		s.max = DefaultMax
	}
	if s.ttl == 0 {
		s.ttl = DefaultTTL
	}
	if s.width == 0 {
		s.width = DefaultWidth
	}
	if s.height == 0 {
		s.height = DefaultHeight
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.digits == nil {
		s.digits = dchest.RandomDigits
	}
	rand.Read(s.noiseKey[:])
	switch {
	case s.max < 0:
		panic(fmt.Sprintf("captcha: negative Max %d", s.max))
	case s.ttl < 0:
		panic(fmt.Sprintf("captcha: negative TTL %v", s.ttl))
	case s.width < MinSize || s.width > MaxSize || s.height < MinSize || s.height > MaxSize:
		panic(fmt.Sprintf("captcha: image size %dx%d outside [%d, %d]", s.width, s.height, MinSize, MaxSize))
	}
	return s
}

// New issues a captcha of n digits for scope and returns its id; an n
// outside [MinDigits, MaxDigits] (0 for one) gives DefaultDigits. If the
// Store is full, the oldest captcha is dropped to make room and counted in
// Dropped.
func (s *Store) New(scope string, n int) (id string) {
	if n < MinDigits || n > MaxDigits {
		n = DefaultDigits
	}
	e := &entry{id: rand.Text(), scope: scope, n: uint8(n)}
	copy(e.digits[:n], s.digits(n))
	for i := range e.digits {
		e.digits[i] %= 10 // a test's generator may be careless; the renderer needs 0-9
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	// 130 random bits do not collide in practice; the check keeps the map
	// and the list in step if they ever do.
	for s.byID[e.id] != nil {
		e.id = rand.Text()
	}
	now := s.now()
	e.expires = now.Add(s.ttl)
	s.pruneExpired(now)
	if len(s.byID) >= s.max {
		s.remove(s.oldest)
		s.dropped.Add(1)
	}
	s.byID[e.id] = e
	e.older = s.newest
	if s.newest != nil {
		s.newest.newer = e
	} else {
		s.oldest = e
	}
	s.newest = e
	return e.id
}

// liveDigits returns a copy of the digits of captcha id, or ErrNotFound if
// id is not live; it does not use the captcha up.
func (s *Store) liveDigits(id string) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.lookup(id, s.now())
	if e == nil {
		return nil, ErrNotFound
	}
	return bytes.Clone(e.digits[:e.n]), nil
}

// WritePNG writes the picture of captcha id to w as a PNG. It returns
// ErrNotFound if id is not live. Drawing does not use the captcha up, and
// drawing it again writes the same picture.
func (s *Store) WritePNG(w io.Writer, id string) error {
	digits, err := s.liveDigits(id)
	if err != nil {
		return err
	}
	// Render outside the lock: it takes about a millisecond.
	img := dchest.NewImage(id, digits, s.width, s.height)
	s.roughen(img.Paletted, id, digits)
	if err := png.Encode(w, img.Paletted); err != nil {
		return fmt.Errorf("write captcha %s: %w", id, err)
	}
	return nil
}

// roughen adds what dchest's fixed drawing lacks against template-matching
// OCR, while a person still reads the digits: a second wave that bends the
// digits along the other axis, a thin line in the digits' own colour
// through them, and a speckle of the palette's colours over 3% of the
// pixels. Its randomness is derived from the id and digits under the
// Store's key, so drawing a captcha again gives the same picture.
func (s *Store) roughen(m *image.Paletted, id string, digits []byte) {
	mac := hmac.New(sha256.New, s.noiseKey[:])
	mac.Write([]byte(id))
	mac.Write(digits)
	seed := mac.Sum(nil)
	rng := mrand.New(mrand.NewPCG(binary.LittleEndian.Uint64(seed), binary.LittleEndian.Uint64(seed[8:])))
	w, h := m.Bounds().Dx(), m.Bounds().Dy()
	span := func(lo, hi float64) float64 { return lo + rng.Float64()*(hi-lo) }

	// A column-wise wave (dchest's distorts along both axes with one period).
	amp, period, phase := span(1.5, float64(h)/20+1.5), span(50, 100), span(0, 2*math.Pi)
	bent := image.NewPaletted(m.Rect, m.Palette)
	for x := 0; x < w; x++ {
		dy := int(amp * math.Sin(float64(x)*2*math.Pi/period+phase))
		for y := 0; y < h; y++ {
			bent.SetColorIndex(x, y, m.ColorIndexAt(x, y+dy))
		}
	}
	copy(m.Pix, bent.Pix)

	// A thin line in the digits' colour (palette index 1), crossing them.
	{
		y0, a, p, ph := span(float64(h)/3, float64(h)*2/3), span(3, float64(h)/8), span(80, 200), span(0, 2*math.Pi)
		for x := 0; x < w; x++ {
			y := int(y0 + a*math.Sin(float64(x)*2*math.Pi/p+ph))
			m.SetColorIndex(x, y, 1)
			m.SetColorIndex(x, y+1, 1)
		}
	}

	// Speckle: background pixels become ink and ink becomes background.
	for range w * h * 3 / 100 {
		x, y := rng.IntN(w), rng.IntN(h)
		m.SetColorIndex(x, y, uint8(rng.IntN(len(m.Palette))))
	}
}

// WriteWAV writes captcha id to w as spoken digits in a WAV file (8 kHz,
// 8-bit mono, with background noise), for visitors who cannot see the
// picture. lang picks the voice: "ru", else English. It returns
// ErrNotFound if id is not live. Like WritePNG it does not use the
// captcha up, and the same id gives the same sound in this process (dchest
// seeds its noise from the id and digits), so listening again is no
// second sample to average.
func (s *Store) WriteWAV(w io.Writer, id, lang string) error {
	digits, err := s.liveDigits(id)
	if err != nil {
		return err
	}
	if lang != "ru" {
		lang = "en"
	}
	if _, err := dchest.NewAudio(id, digits, lang).WriteTo(w); err != nil {
		return fmt.Errorf("write captcha %s: %w", id, err)
	}
	return nil
}

// Verify reports whether answer solves captcha id issued for scope, and
// removes the captcha either way, so each id gets one answer (also one
// offered in another scope). The answer must be all the digits the captcha
// was issued with, no fewer and no more; white space anywhere in it is
// ignored. An id that is not live, or of another scope,
// never verifies.
func (s *Store) Verify(scope, id, answer string) bool {
	s.mu.Lock()
	e := s.lookup(id, s.now())
	if e != nil {
		s.remove(e)
	}
	s.mu.Unlock()
	if e == nil {
		return false
	}
	got, ok := parseAnswer(answer, int(e.n))
	// ok depends only on the answer's shape and the captcha's length, which
	// the caller already knows; the comparison with the secret digits is
	// constant-time.
	return subtle.ConstantTimeCompare(got[:], e.digits[:]) == 1 && ok && e.scope == scope
}

// Len returns the number of live captchas.
func (s *Store) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pruneExpired(s.now())
	return len(s.byID)
}

// PruneExpired removes the expired captchas and returns how many there
// were; with dry set it only counts them. (Expired captchas never verify;
// they are otherwise removed as new ones are made or looked up.)
func (s *Store) PruneExpired(dry bool) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	n := 0
	for e := s.oldest; e != nil && !now.Before(e.expires); e = e.newer {
		n++
	}
	if !dry {
		s.pruneExpired(now)
	}
	return n
}

// Dropped returns how many captchas were dropped, unexpired and unanswered, to
// make room for new ones since the Store was made.
func (s *Store) Dropped() uint64 {
	return s.dropped.Load()
}

// lookup returns the live entry for id, or nil, removing it if it has
// expired. s.mu must be held.
func (s *Store) lookup(id string, now time.Time) *entry {
	e := s.byID[id]
	if e == nil {
		return nil
	}
	if !now.Before(e.expires) {
		s.remove(e)
		return nil
	}
	return e
}

// pruneExpired removes expired entries from the oldest end. If the clock went
// back, some may stay until lookup finds them or they are dropped; they never
// verify. s.mu must be held.
func (s *Store) pruneExpired(now time.Time) {
	for s.oldest != nil && !now.Before(s.oldest.expires) {
		s.remove(s.oldest)
	}
}

// remove unlinks e from the list and the map. s.mu must be held.
func (s *Store) remove(e *entry) {
	delete(s.byID, e.id)
	if e.older != nil {
		e.older.newer = e.newer
	} else {
		s.oldest = e.newer
	}
	if e.newer != nil {
		e.newer.older = e.older
	} else {
		s.newest = e.older
	}
	e.older, e.newer = nil, nil
}

// parseAnswer returns the digits of answer, skipping white space. ok is false
// if answer holds anything else or not exactly want digits.
func parseAnswer(answer string, want int) (digits [MaxDigits]byte, ok bool) {
	n := 0
	for _, r := range answer {
		switch {
		case unicode.IsSpace(r):
		case '0' <= r && r <= '9':
			if n == want {
				return digits, false
			}
			digits[n] = byte(r - '0')
			n++
		default:
			return digits, false
		}
	}
	return digits, n == want
}
