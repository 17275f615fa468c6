package captcha

import (
	"bytes"
	"errors"
	"fmt"
	"image/png"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	dchest "github.com/dchest/captcha"
)

// clock is a fake time source that tests move by hand.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *clock { return &clock{now: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// answer reads the digits of a live captcha, as a visitor would read them off
// the picture. Tests only: the package has no such backdoor.
func answer(t testing.TB, s *Store, id string) string {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.byID[id]
	if e == nil {
		t.Fatalf("captcha %q is not in the store", id)
	}
	var b strings.Builder
	for _, d := range e.digits[:e.n] {
		b.WriteByte('0' + d)
	}
	return b.String()
}

// wrong returns a well-formed answer that is not right.
func wrong(right string) string {
	b := []byte(right)
	b[0] = '0' + (b[0]-'0'+1)%10
	return string(b)
}

func TestVerify(t *testing.T) {
	s := New(Options{})
	id := s.New("", DefaultDigits)
	right := answer(t, s, id)

	var buf bytes.Buffer
	if err := s.WritePNG(&buf, id); err != nil {
		t.Fatalf("WritePNG: %v", err)
	}
	if got, want := s.Verify("", id, right), true; got != want {
		t.Fatalf("first Verify with the right answer = %v, want %v", got, want)
	}
	if got, want := s.Verify("", id, right), false; got != want {
		t.Errorf("second Verify with the right answer = %v, want %v", got, want)
	}
	if err := s.WritePNG(io.Discard, id); !errors.Is(err, ErrNotFound) {
		t.Errorf("WritePNG after Verify: err = %v, want ErrNotFound", err)
	}
	if got, want := s.Len(), 0; got != want {
		t.Errorf("Len = %d, want %d", got, want)
	}
}

func TestVerifyWrongConsumes(t *testing.T) {
	for _, tc := range []struct {
		name   string
		answer func(right string) string
	}{
		{"wrong digits", wrong},
		{"empty", func(string) string { return "" }},
		{"too few", func(r string) string { return r[:3] }},
		{"too many", func(r string) string { return r + "0" }},
		{"letters", func(r string) string { return r[:3] + "x" }},
		{"full-width digits", func(string) string { return "１２３４" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := New(Options{})
			id := s.New("", DefaultDigits)
			right := answer(t, s, id)
			if got, want := s.Verify("", id, tc.answer(right)), false; got != want {
				t.Fatalf("Verify(%q) with %q = %v, want %v", right, tc.answer(right), got, want)
			}
			if got, want := s.Verify("", id, right), false; got != want {
				t.Errorf("Verify with the right answer after a wrong one = %v, want %v", got, want)
			}
		})
	}
}

func TestVerifyIgnoresSpace(t *testing.T) {
	for _, format := range []string{"%s", " %s ", "%c %c %c %c", "\t%c%c\n%c%c\r\n"} {
		t.Run(fmt.Sprintf("%q", format), func(t *testing.T) {
			s := New(Options{})
			id := s.New("", DefaultDigits)
			right := answer(t, s, id)
			var typed string
			if strings.Count(format, "%") == 1 {
				typed = fmt.Sprintf(format, right)
			} else {
				typed = fmt.Sprintf(format, right[0], right[1], right[2], right[3])
			}
			if got, want := s.Verify("", id, typed), true; got != want {
				t.Errorf("Verify(%q) for %q = %v, want %v", typed, right, got, want)
			}
		})
	}
}

func TestVerifyUnknown(t *testing.T) {
	s := New(Options{})
	id := s.New("", DefaultDigits)
	right := answer(t, s, id)
	for _, other := range []string{"", "x", strings.ToLower(id), id[:len(id)-1], id + "A"} {
		if s.Verify("", other, right) {
			t.Errorf("Verify(%q) verified, want only %q", other, id)
		}
	}
	if got, want := s.Verify("", id, right), true; got != want {
		t.Errorf("Verify(%q) after guesses at other ids = %v, want %v", id, got, want)
	}
}

func TestExpiry(t *testing.T) {
	c := newClock()
	s := New(Options{TTL: 10 * time.Minute, Now: c.Now})
	early := s.New("", DefaultDigits)
	c.Add(5 * time.Minute)
	late := s.New("", DefaultDigits)
	rightLate := answer(t, s, late)

	c.Add(5*time.Minute - time.Nanosecond)
	if err := s.WritePNG(io.Discard, early); err != nil {
		t.Fatalf("WritePNG 1ns before expiry: %v", err)
	}
	c.Add(time.Nanosecond)
	if err := s.WritePNG(io.Discard, early); !errors.Is(err, ErrNotFound) {
		t.Errorf("WritePNG at expiry: err = %v, want ErrNotFound", err)
	}
	if got, want := s.Len(), 1; got != want {
		t.Errorf("Len after the first expired = %d, want %d", got, want)
	}

	c.Add(5 * time.Minute)
	if got, want := s.Verify("", late, rightLate), false; got != want {
		t.Errorf("Verify with the right answer after expiry = %v, want %v", got, want)
	}
	if got, want := s.Len(), 0; got != want {
		t.Errorf("Len after both expired = %d, want %d", got, want)
	}
	if got, want := s.Dropped(), uint64(0); got != want {
		t.Errorf("Dropped = %d, want %d: expiry is not a drop", got, want)
	}
}

// TestExpiryPrunes checks that expired captchas free their memory without
// anyone asking for them again.
func TestExpiryPrunes(t *testing.T) {
	c := newClock()
	s := New(Options{TTL: time.Minute, Now: c.Now})
	for range 100 {
		s.New("", DefaultDigits)
	}
	c.Add(time.Minute)
	id := s.New("", DefaultDigits)
	s.mu.Lock()
	n := len(s.byID)
	s.mu.Unlock()
	if got, want := n, 1; got != want {
		t.Fatalf("map holds %d captchas after the first 100 expired, want %d", got, want)
	}
	if s.oldest.id != id || s.newest.id != id {
		t.Errorf("list ends are %q and %q, want both %q", s.oldest.id, s.newest.id, id)
	}
}

func TestFlood(t *testing.T) {
	const max, n = 1000, 2500
	c := newClock()
	s := New(Options{Max: max, Now: c.Now})
	ids := make([]string, n)
	for i := range ids {
		ids[i] = s.New("", DefaultDigits)
		c.Add(time.Millisecond)
		if s.Len() > max {
			t.Fatalf("Len = %d after %d captchas, want <= %d", s.Len(), i+1, max)
		}
	}
	if got, want := s.Len(), max; got != want {
		t.Errorf("Len = %d, want %d", got, want)
	}
	if got, want := s.Dropped(), uint64(n-max); got != want {
		t.Errorf("Dropped = %d, want %d", got, want)
	}
	// Look in the map rather than draw 2500 pictures, which is slow under -race.
	s.mu.Lock()
	for i, id := range ids {
		if dropped, gone := i < n-max, s.byID[id] == nil; dropped != gone {
			t.Errorf("captcha %d of %d: gone = %v; want only the oldest %d gone", i, n, gone, n-max)
		}
	}
	s.mu.Unlock()
	if err := s.WritePNG(io.Discard, ids[n-max-1]); !errors.Is(err, ErrNotFound) {
		t.Errorf("WritePNG of the newest dropped: err = %v, want ErrNotFound", err)
	}
	if err := s.WritePNG(io.Discard, ids[n-max]); err != nil {
		t.Errorf("WritePNG of the oldest kept: %v", err)
	}

	// Answered captchas make room: no drops until the Store is full again.
	for _, id := range ids[n-10:] {
		s.Verify("", id, "")
	}
	for range 10 {
		s.New("", DefaultDigits)
	}
	if got, want := s.Dropped(), uint64(n-max); got != want {
		t.Errorf("Dropped = %d after refilling 10 answered slots, want %d", got, want)
	}
}

func TestConcurrent(t *testing.T) {
	const max = 50
	s := New(Options{Max: max})
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for i := range 200 {
				id := s.New("", DefaultDigits)
				// Drawing is slow under -race; a few overlap enough.
				if i%20 == 0 {
					if err := s.WritePNG(io.Discard, id); err != nil && !errors.Is(err, ErrNotFound) {
						t.Errorf("WritePNG: %v", err)
					}
				}
				s.Verify("", id, "1234")
				_ = s.Len()
			}
		})
	}
	wg.Wait()
	if got := s.Len(); got > max {
		t.Errorf("Len = %d, want <= %d", got, max)
	}
}

func TestPNG(t *testing.T) {
	for _, n := range []int{MinDigits, MaxDigits} {
		t.Run(fmt.Sprintf("%d digits", n), func(t *testing.T) { testPNG(t, n) })
	}
}

func testPNG(t *testing.T, n int) {
	for _, size := range [][2]int{
		{0, 0},
		{MinSize, MinSize},
		{MinSize, MaxSize},
		{MaxSize, MinSize},
		{MaxSize, MaxSize},
		{300, 100},
	} {
		t.Run(fmt.Sprintf("%dx%d", size[0], size[1]), func(t *testing.T) {
			s := New(Options{Width: size[0], Height: size[1]})
			id := s.New("", n)
			var first, second bytes.Buffer
			if err := s.WritePNG(&first, id); err != nil {
				t.Fatalf("WritePNG: %v", err)
			}
			img, err := png.Decode(bytes.NewReader(first.Bytes()))
			if err != nil {
				t.Fatalf("decode PNG: %v", err)
			}
			wantW, wantH := size[0], size[1]
			if wantW == 0 {
				wantW, wantH = DefaultWidth, DefaultHeight
			}
			if got, want := img.Bounds().Dx(), wantW; got != want {
				t.Errorf("width = %d, want %d", got, want)
			}
			if got, want := img.Bounds().Dy(), wantH; got != want {
				t.Errorf("height = %d, want %d", got, want)
			}

			if err := s.WritePNG(&second, id); err != nil {
				t.Fatalf("second WritePNG: %v", err)
			}
			if !bytes.Equal(first.Bytes(), second.Bytes()) {
				t.Errorf("drawing the same id twice gave different pictures")
			}
			if got, want := s.Verify("", id, answer(t, s, id)), true; got != want {
				t.Errorf("Verify after drawing twice = %v, want %v", got, want)
			}
		})
	}
}

func TestWritePNGUnknown(t *testing.T) {
	s := New(Options{})
	var buf bytes.Buffer
	if err := s.WritePNG(&buf, "nope"); !errors.Is(err, ErrNotFound) {
		t.Errorf("err = %v, want ErrNotFound", err)
	}
	if buf.Len() != 0 {
		t.Errorf("wrote %d bytes for an unknown id, want 0", buf.Len())
	}
}

type failWriter struct{}

var errDiskFull = errors.New("disk full")

func (failWriter) Write([]byte) (int, error) { return 0, errDiskFull }

func TestWritePNGWriterError(t *testing.T) {
	s := New(Options{})
	id := s.New("", DefaultDigits)
	if err := s.WritePNG(failWriter{}, id); !errors.Is(err, errDiskFull) {
		t.Errorf("err = %v, want it to wrap %v", err, errDiskFull)
	}
}

func TestIDs(t *testing.T) {
	s := New(Options{})
	seen := make(map[string]bool)
	for range 1000 {
		id := s.New("", DefaultDigits)
		if len(id) < 20 {
			t.Fatalf("id %q is %d characters, want at least 20", id, len(id))
		}
		for _, r := range id {
			if !('A' <= r && r <= 'Z' || 'a' <= r && r <= 'z' || '0' <= r && r <= '9') {
				t.Fatalf("id %q has %q, want only [A-Za-z0-9]", id, r)
			}
		}
		if seen[id] {
			t.Fatalf("id %q issued twice", id)
		}
		seen[id] = true
	}
}

func TestNewPanicsOnBadOptions(t *testing.T) {
	for _, opts := range []Options{
		{Max: -1},
		{TTL: -time.Second},
		{Width: MinSize - 1},
		{Height: MaxSize + 1},
	} {
		t.Run(fmt.Sprintf("%+v", opts), func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Errorf("New(%+v) did not panic", opts)
				}
			}()
			New(opts)
		})
	}
}

func FuzzVerify(f *testing.F) {
	f.Add("", "")
	f.Add("AAAAAAAAAAAAAAAAAAAAAAAAAA", "1234")
	f.Add("x", " 1 2 3 4 ")
	f.Add("\x00", "１２３４")
	f.Add(strings.Repeat("Z", 1000), strings.Repeat("9", 1000))
	f.Add("", "123456")
	s := New(Options{Max: 10})
	f.Fuzz(func(t *testing.T, id, typed string) {
		live := s.New("", MinDigits+len(typed)%(MaxDigits-MinDigits+1))
		right := answer(t, s, live)
		if id != live && s.Verify("", id, typed) {
			t.Fatalf("Verify(%q, %q) verified an id never issued", id, typed)
		}
		// The answer must verify exactly when it is the right digits with
		// white space around or between them.
		want := strings.Join(strings.Fields(typed), "") == right
		if got := s.Verify("", live, typed); got != want {
			t.Fatalf("Verify(live, %q) for %q = %v, want %v", typed, right, got, want)
		}
		if s.Verify("", live, right) {
			t.Fatalf("Verify of a used id verified")
		}
	})
}

// BenchmarkNewWritePNG measures issuing and drawing one captcha, the work of a
// page that shows one.
func BenchmarkNewWritePNG(b *testing.B) {
	s := New(Options{})
	b.ReportAllocs()
	for b.Loop() {
		if err := s.WritePNG(io.Discard, s.New("", DefaultDigits)); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDchestImage is the baseline for BenchmarkNewWritePNG: drawing alone,
// without the Store.
func BenchmarkDchestImage(b *testing.B) {
	digits := dchest.RandomDigits(DefaultDigits)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := dchest.NewImage("AAAAAAAAAAAAAAAAAAAAAAAAAA", digits, DefaultWidth, DefaultHeight).WriteTo(io.Discard); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkNewFull measures New on a full Store, the path a flood takes.
func BenchmarkNewFull(b *testing.B) {
	const max = 10_000
	s := New(Options{Max: max})
	for range max {
		s.New("", DefaultDigits)
	}
	b.ReportAllocs()
	for b.Loop() {
		s.New("", DefaultDigits)
	}
}

func BenchmarkVerify(b *testing.B) {
	s := New(Options{})
	b.ReportAllocs()
	for b.Loop() {
		s.Verify("", s.New("", DefaultDigits), "1234")
	}
}

// Options.Digits decides the answers, so a test outside the package can
// solve captchas without a backdoor into the Store.
func TestDigitsOption(t *testing.T) {
	s := New(Options{Digits: func(n int) []byte { return []byte{4, 2, 1, 19}[:n] }})
	id := s.New("", DefaultDigits)
	if got, want := answer(t, s, id), "4219"; got != want {
		t.Fatalf("answer = %q, want %q", got, want)
	}
	if err := s.WritePNG(io.Discard, id); err != nil {
		t.Fatalf("WritePNG: %v", err)
	}
	if !s.Verify("", id, "4219") {
		t.Errorf("Verify with the digits of the generator failed")
	}
}

// A captcha is issued with the number of digits asked for and verifies
// only with all of them: a six-digit captcha is not solved by its first
// four digits, nor a four-digit one by six. A length out of bounds gives
// the default.
func TestDigitCount(t *testing.T) {
	s := New(Options{Digits: func(n int) []byte { return []byte{1, 2, 3, 4, 5, 6}[:n] }})
	for _, tc := range []struct {
		n      int
		typed  string
		verify bool
	}{
		{6, "123456", true},
		{6, " 12 34 56 ", true},
		{6, "1234", false},
		{6, "12345", false},
		{6, "1234567", false},
		{4, "1234", true},
		{4, "123456", false},
		{0, "1234", true},
		{7, "1234", true},
		{7, "1234567", false},
		{-1, "1234", true},
	} {
		id := s.New("site", tc.n)
		if got := s.Verify("site", id, tc.typed); got != tc.verify {
			t.Errorf("New(n=%d), Verify(%q) = %v, want %v", tc.n, tc.typed, got, tc.verify)
		}
	}
	id := s.New("site", 6)
	if got, want := answer(t, s, id), "123456"; got != want {
		t.Errorf("a six-digit captcha's answer is %q, want %q", got, want)
	}
}

// A captcha verifies only in the scope it was issued for, and an answer in
// another scope spends it.
func TestVerifyScope(t *testing.T) {
	s := New(Options{Digits: func(n int) []byte { return []byte{1, 2, 3, 4}[:n] }})
	id := s.New("siteA", DefaultDigits)
	if s.Verify("siteB", id, "1234") {
		t.Fatal("a captcha of siteA verified on siteB")
	}
	if s.Verify("siteA", id, "1234") {
		t.Fatal("a captcha answered on another site verified again")
	}
	if id := s.New("siteA", DefaultDigits); !s.Verify("siteA", id, "1234") {
		t.Fatal("a captcha did not verify on its own site")
	}
}

// The picture is dchest's drawing roughened under the Store's own key: not
// the plain drawing a solver could reproduce from the id and a guess, the
// same on every draw, and another picture in another process.
func TestRoughenedPicture(t *testing.T) {
	four := func(n int) []byte { return []byte{1, 2, 3, 4}[:n] }
	a, b := New(Options{Digits: four}), New(Options{Digits: four})
	id := a.New("site", DefaultDigits)
	b.mu.Lock()
	e := &entry{id: id, scope: "site", digits: [MaxDigits]byte{1, 2, 3, 4}, n: 4, expires: b.now().Add(time.Minute)}
	b.byID[id], b.oldest, b.newest = e, e, e
	b.mu.Unlock()
	draw := func(s *Store) []byte {
		var buf bytes.Buffer
		if err := s.WritePNG(&buf, id); err != nil {
			t.Fatal(err)
		}
		return buf.Bytes()
	}
	var plain bytes.Buffer
	dchest.NewImage(id, []byte{1, 2, 3, 4}, DefaultWidth, DefaultHeight).WriteTo(&plain)
	pa := draw(a)
	if bytes.Equal(pa, plain.Bytes()) {
		t.Error("the picture is dchest's plain drawing")
	}
	if !bytes.Equal(pa, draw(a)) {
		t.Error("drawing the captcha again gave another picture")
	}
	if bytes.Equal(pa, draw(b)) {
		t.Error("two stores drew the same picture: the noise is not keyed")
	}
}

// PruneExpired counts the expired captchas and, unless dry, removes them;
// live ones stay and still verify.
func TestPruneExpired(t *testing.T) {
	c := newClock()
	s := New(Options{TTL: time.Minute, Now: c.Now})
	for range 3 {
		s.New("", DefaultDigits)
	}
	c.Add(30 * time.Second)
	live := s.New("", DefaultDigits)
	c.Add(30 * time.Second)
	if got := s.PruneExpired(true); got != 3 {
		t.Fatalf("dry run counts %d expired, want 3", got)
	}
	s.mu.Lock()
	n := len(s.byID)
	s.mu.Unlock()
	if n != 4 {
		t.Fatalf("a dry run left %d captchas, want all 4", n)
	}
	if got := s.PruneExpired(false); got != 3 {
		t.Fatalf("prune counts %d, want 3", got)
	}
	s.mu.Lock()
	n = len(s.byID)
	s.mu.Unlock()
	if n != 1 || s.byID[live] == nil {
		t.Fatalf("after the prune %d captchas, the live one kept: %v", n, s.byID[live] != nil)
	}
	if got := s.PruneExpired(false); got != 0 {
		t.Errorf("a second prune finds %d", got)
	}
}

// The spoken captcha is a WAV of the captcha's own digits in the asked
// voice (English unless Russian), the same each time, and listening does
// not use the captcha up.
func TestWAV(t *testing.T) {
	for _, n := range []int{MinDigits, MaxDigits} {
		s := New(Options{})
		id := s.New("", n)
		digits := make([]byte, n)
		for i, c := range answer(t, s, id) {
			digits[i] = byte(c - '0')
		}
		for _, c := range []struct{ lang, voice string }{{"ru", "ru"}, {"en", "en"}, {"", "en"}, {"zz", "en"}} {
			var first, second, want bytes.Buffer
			if err := s.WriteWAV(&first, id, c.lang); err != nil {
				t.Fatalf("WriteWAV(%q): %v", c.lang, err)
			}
			if b := first.Bytes(); len(b) < 44 || string(b[:4]) != "RIFF" || string(b[8:12]) != "WAVE" {
				t.Fatalf("WriteWAV(%q) wrote no WAV: % x", c.lang, b[:min(len(b), 16)])
			}
			if _, err := dchest.NewAudio(id, digits, c.voice).WriteTo(&want); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(first.Bytes(), want.Bytes()) {
				t.Errorf("WriteWAV(%q) of %d digits is not the captcha's digits in %s", c.lang, n, c.voice)
			}
			if err := s.WriteWAV(&second, id, c.lang); err != nil || !bytes.Equal(first.Bytes(), second.Bytes()) {
				t.Errorf("WriteWAV(%q) twice gave different sounds (%v)", c.lang, err)
			}
		}
		if !s.Verify("", id, answer(t, s, id)) {
			t.Errorf("the captcha does not verify after listening")
		}
		if err := s.WriteWAV(io.Discard, id, "en"); !errors.Is(err, ErrNotFound) {
			t.Errorf("WriteWAV of an answered captcha: %v, want ErrNotFound", err)
		}
	}
}
