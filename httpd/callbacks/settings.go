package callbacks

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"appliance/captcha"
	"appliance/httpd/webhooks"
	"appliance/store"
)

// Limits of a site's widget settings.
const (
	MaxScenarioURL = 2048 // bytes
	MaxSecret      = 256  // bytes
	minSecret      = 16
	MaxGroups      = 50
	MaxGroupName   = 128 // bytes
	// MaxGroupID keeps a group id exact in JavaScript.
	MaxGroupID = 1<<53 - 1
)

// Languages of the built-in widgets; "" follows the visitor's browser.
var langs = []string{"", "ru", "en"}

// Change is an edit of a site's widget settings: nil fields stay as they
// are.
type Change struct {
	// ScenarioURL is the callback scenario's webhook; "" removes the
	// scenario (and its secret).
	ScenarioURL *string
	// Secret signs the scenario's requests; "" (or nil on a new scenario)
	// generates one.
	Secret  *string
	Captcha *bool
	// CaptchaDigits is the length of the site's captchas: 4 or 6.
	CaptchaDigits *int
	Lang          *string
	Groups        *[]store.WidgetGroup
	// Queue keeps callbacks as a to-do list while there is no scenario
	// (status 0 "queued"); false refuses them (status 2).
	Queue *bool
}

// Settings returns the widget settings of site; a site never configured
// has the zero value: no scenario, no captcha, the browser's language, no
// groups.
func (s *Service) Settings(site uint32) (store.WidgetSettings, error) {
	v, err := s.db.Get(store.WidgetKey(site))
	if errors.Is(err, store.ErrNotFound) {
		return store.WidgetSettings{}, nil
	}
	if err != nil {
		return store.WidgetSettings{}, fmt.Errorf("widget settings of site %d: %w", site, err)
	}
	return store.DecodeWidgetSettings(v)
}

// Configure applies c to the widget settings of site and returns them.
// Every failure about c wraps ErrSettings. A generated secret is in the
// result: show it once.
func (s *Service) Configure(ctx context.Context, site uint32, c Change) (store.WidgetSettings, error) {
	if c.ScenarioURL != nil && strings.TrimSpace(*c.ScenarioURL) != "" {
		// Before the write, as it may resolve a name; a URL that does not
		// parse is apply's to refuse.
		if err := s.hooks.CheckURL(ctx, strings.TrimSpace(*c.ScenarioURL)); errors.Is(err, webhooks.ErrRefused) {
			return store.WidgetSettings{}, fmt.Errorf("configure callbacks of site %d: %w", site, ErrSettings.Because(err))
		}
	}
	var out store.WidgetSettings
	err := s.db.Update(ctx, func(tx *store.Tx) error {
		w := store.WidgetSettings{}
		v, err := tx.Get(store.WidgetKey(site))
		switch {
		case err == nil:
			if w, err = store.DecodeWidgetSettings(v); err != nil {
				return err
			}
		case !errors.Is(err, store.ErrNotFound):
			return err
		}
		if err := apply(&w, c); err != nil {
			return err
		}
		w.Updated = s.o.Now().UnixMilli()
		tx.Set(store.WidgetKey(site), w.Encode())
		out = w
		return nil
	})
	if err != nil {
		return store.WidgetSettings{}, fmt.Errorf("configure callbacks of site %d: %w", site, err)
	}
	return out, nil
}

// apply checks c and applies it to w.
func apply(w *store.WidgetSettings, c Change) error {
	if c.Queue != nil {
		w.NoQueue = !*c.Queue
	}
	if c.ScenarioURL != nil {
		raw := strings.TrimSpace(*c.ScenarioURL)
		if raw == "" {
			w.ScenarioURL, w.ScenarioSecret = "", ""
		} else {
			// The limit holds for the URL as stored (and sent back by the
			// page's form): non-ASCII characters percent-encoded, three
			// bytes for each of theirs.
			u, err := url.Parse(raw)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || len(raw) > MaxScenarioURL || len(u.String()) > MaxScenarioURL {
				return ErrSettings.Errorf("the scenario URL must be http:// or https://host/..., at most %d bytes", MaxScenarioURL)
			}
			w.ScenarioURL = u.String()
		}
	}
	if c.Secret != nil || (w.ScenarioURL != "" && w.ScenarioSecret == "") {
		secret := ""
		if c.Secret != nil {
			secret = strings.TrimSpace(*c.Secret)
		}
		switch {
		case w.ScenarioURL == "" && secret != "":
			return ErrSettings.Errorf("a secret needs a scenario URL")
		case w.ScenarioURL == "":
		case secret == "":
			b := make([]byte, 32)
			rand.Read(b)
			secret = "cbsec_" + base64.RawURLEncoding.EncodeToString(b)
		case len(secret) < minSecret || len(secret) > MaxSecret:
			return ErrSettings.Errorf("a secret has %d to %d characters (leave it empty to generate one)", minSecret, MaxSecret)
		case strings.ContainsFunc(secret, func(r rune) bool { return r < 0x21 || r > 0x7e }):
			return ErrSettings.Errorf("a secret is printable ASCII without spaces")
		}
		w.ScenarioSecret = secret
	}
	if c.Captcha != nil {
		w.Captcha = *c.Captcha
	}
	if c.CaptchaDigits != nil {
		if n := *c.CaptchaDigits; n != 4 && n != 6 {
			return ErrSettings.Errorf("a captcha has 4 or 6 digits, not %d", n)
		}
		w.CaptchaDigits = *c.CaptchaDigits
	}
	if c.Lang != nil {
		lang, ok := ReadLang(*c.Lang)
		if !ok {
			return ErrSettings.Errorf("the language is ru, en or auto (the visitor's browser)")
		}
		w.Lang = lang
	}
	if c.Groups != nil {
		if err := checkGroups(*c.Groups); err != nil {
			return err
		}
		w.Groups = append([]store.WidgetGroup(nil), *c.Groups...)
	}
	return nil
}

func checkGroups(gs []store.WidgetGroup) error {
	if len(gs) > MaxGroups {
		return ErrSettings.Errorf("at most %d groups", MaxGroups)
	}
	seen := map[uint64]bool{}
	for _, g := range gs {
		switch {
		case g.ID == 0 || g.ID > MaxGroupID:
			return ErrSettings.Errorf("a group id is a number from 1 to 2^53-1")
		case seen[g.ID]:
			return ErrSettings.Errorf("group id %d is listed twice", g.ID)
		case g.Name == "" || len(g.Name) > MaxGroupName || !utf8.ValidString(g.Name) || strings.ContainsFunc(g.Name, unicode.IsControl):
			return ErrSettings.Errorf("group %d needs a name of 1 to %d bytes of text", g.ID, MaxGroupName)
		}
		seen[g.ID] = true
	}
	return nil
}

// ParseGroups reads groups as an owner types them: one per line (or
// separated by ";"), each an id and a name, "16587 Sales" or
// "16587=Sales". Blank entries are skipped.
func ParseGroups(s string) ([]store.WidgetGroup, error) {
	var out []store.WidgetGroup
	for _, entry := range strings.FieldsFunc(s, func(r rune) bool { return r == '\n' || r == ';' }) {
		entry = strings.TrimSpace(entry)
		if entry == "" {
			continue
		}
		i := strings.IndexFunc(entry, func(r rune) bool { return r < '0' || r > '9' })
		if i <= 0 {
			return nil, ErrSettings.Errorf("%q: write a group as its id and name, e.g. \"16587 Sales\"", entry)
		}
		id, err := strconv.ParseUint(entry[:i], 10, 64)
		if err != nil {
			return nil, ErrSettings.Errorf("%q: the group id is too large", entry)
		}
		name := strings.TrimSpace(strings.TrimLeft(entry[i:], " \t=:"))
		out = append(out, store.WidgetGroup{ID: id, Name: name})
	}
	if err := checkGroups(out); err != nil {
		return nil, err
	}
	return out, nil
}

// FormatGroups writes groups in the form ParseGroups reads, one per line.
func FormatGroups(gs []store.WidgetGroup) string {
	var b strings.Builder
	for _, g := range gs {
		fmt.Fprintf(&b, "%d %s\n", g.ID, g.Name)
	}
	return b.String()
}

// CaptchaDigits returns how many digits the captchas of a site with
// settings w have: 4 unless 6 were asked for.
func CaptchaDigits(w store.WidgetSettings) int {
	if w.CaptchaDigits == 6 {
		return 6
	}
	return captcha.DefaultDigits
}

// NewCaptcha issues a captcha for site, of the length its settings ask
// for, valid on that site only, and returns its id.
func (s *Service) NewCaptcha(site *store.Site) (string, error) {
	w, err := s.Settings(site.ID)
	if err != nil {
		return "", err
	}
	return s.captcha.New(site.Key, CaptchaDigits(w)), nil
}

// Public is what the snippet's widgets learn of a site's settings
// (GET /t/v1/widget): never the scenario itself.
type Public struct {
	Captcha       bool          `json:"captcha"`
	CaptchaDigits int           `json:"captcha_digits"` // 4 or 6
	Lang          string        `json:"lang"`
	Groups        []PublicGroup `json:"groups"`
	Callback      bool          `json:"callback"` // callbacks are taken: a scenario, or kept to call back
	// MaxDelayMS is MaxDelay in milliseconds: the widget's date picker
	// offers no time that Check would refuse.
	MaxDelayMS int64 `json:"max_delay_ms"`
}

// PublicGroup is a group as the widget's select shows it.
type PublicGroup struct {
	ID   uint64 `json:"id"`
	Name string `json:"name"`
}

// PublicOf returns the public part of w.
func PublicOf(w store.WidgetSettings) Public {
	p := Public{Captcha: w.Captcha, CaptchaDigits: CaptchaDigits(w), Lang: w.Lang, Groups: []PublicGroup{}, Callback: w.ScenarioURL != "" || !w.NoQueue,
		MaxDelayMS: MaxDelay.Milliseconds()}
	for _, g := range w.Groups {
		p.Groups = append(p.Groups, PublicGroup(g))
	}
	return p
}

// ReadLang reads the widgets' language as an owner writes it: ru, en, or
// auto (or empty) for the visitor's browser's, returned as "". ok is false
// for a language the widgets do not speak.
func ReadLang(s string) (lang string, ok bool) {
	lang = strings.ToLower(strings.TrimSpace(s))
	if lang == "auto" {
		lang = ""
	}
	return lang, slices.Contains(langs, lang)
}
