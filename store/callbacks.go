package store

// Records of callbacks (sitephone): a site's widget settings, with its
// callback scenario, and the callbacks visitors ordered. Encodings follow
// records.go: a version byte, then fields in a fixed order.

// WidgetSettings is how a site's built-in widgets and callbacks behave: the
// callback scenario (a webhook the PBX side acts on), the captcha switch,
// the widgets' language and the groups a visitor may choose from.
type WidgetSettings struct {
	ScenarioURL    string // "" when no callback scenario is configured
	ScenarioSecret string // HMAC-SHA256 key of the scenario's signature header
	Captcha        bool   // callbacks need a solved captcha
	CaptchaDigits  int    // digits of the captcha: 4 or 6; 0 (records before version 2) means 4
	Lang           string // "ru", "en", or "" for the visitor's browser language
	Groups         []WidgetGroup
	Updated        int64
	// NoQueue refuses callbacks while there is no scenario (status 2); by
	// default (false, and in records before version 3) they are kept as a
	// to-do list for staff to call back and the visitor is told so.
	NoQueue bool
}

// WidgetGroup is a group of employees a callback may be routed to.
type WidgetGroup struct {
	ID   uint64
	Name string
}

// widgetVersion 2 added CaptchaDigits, 3 NoQueue.
const widgetVersion = 3

// Encode returns the versioned encoding of w.
func (w *WidgetSettings) Encode() []byte {
	e := newEncoder(widgetVersion, 96+len(w.ScenarioURL)+32*len(w.Groups))
	e.str(w.ScenarioURL)
	e.str(w.ScenarioSecret)
	e.bool(w.Captcha)
	e.str(w.Lang)
	e.uint(uint64(len(w.Groups)))
	for _, g := range w.Groups {
		e.uint(g.ID)
		e.str(g.Name)
	}
	e.int(w.Updated)
	e.uint(uint64(w.CaptchaDigits))
	e.bool(w.NoQueue)
	return e.b
}

// DecodeWidgetSettings decodes a WidgetSettings of any version.
func DecodeWidgetSettings(b []byte) (WidgetSettings, error) {
	d, v := newDecoder(b, "widget settings", widgetVersion)
	var w WidgetSettings
	w.ScenarioURL = d.str()
	w.ScenarioSecret = d.str()
	w.Captcha = d.bool()
	w.Lang = d.str()
	n := d.uint()
	if n > uint64(len(d.b)) { // each group takes at least two bytes
		d.fail("bad group count")
	}
	for i := uint64(0); i < n && d.err == nil; i++ {
		w.Groups = append(w.Groups, WidgetGroup{ID: d.uint(), Name: d.str()})
	}
	w.Updated = d.int()
	if v >= 2 {
		if n := d.uint(); n <= 255 {
			w.CaptchaDigits = int(n)
		} else {
			d.fail("bad captcha digits")
		}
	}
	if v >= 3 {
		w.NoQueue = d.bool()
	}
	return w, d.done()
}

// Callback states.
const (
	// CallbackPending: stored, waiting for its call to be sent to the
	// scenario (now, or at its delayed time); it has a schedule entry.
	CallbackPending byte = 0
	// CallbackSent: the scenario answered 2xx.
	CallbackSent byte = 1
	// CallbackFailed: the scenario failed, or the call came due too late.
	CallbackFailed byte = 2
	// CallbackNoScenario: the site had no callback scenario; nothing sent.
	CallbackNoScenario byte = 3
)

// Callback is a call a visitor ordered (ComagicWidget.sitePhoneCall or the
// built-in panel), with the attempts to hand it to the telephony side. It
// keeps a copy of the session's traffic source, as Lead does.
type Callback struct {
	ID        uint64 // in the key
	Time      int64  // when it was ordered
	Phone     string // E.164 digits
	PhoneRaw  string // as typed
	GroupID   uint64 // 0: none
	Delayed   int64  // when to call (Unix ms); 0: at once
	State     byte
	Attempts  uint32
	LastTry   int64  // time of the last attempt
	LastCode  int    // HTTP status of the last attempt; 0 when there was no answer
	LastError string // why the last attempt failed; "" on success
	// LastReason is the kind of that failure, which the callbacks page
	// words for the site's owner (callbacks.ReasonText); 0 on success and
	// in records of version 1.
	LastReason byte
	Sent       int64 // when the scenario took it
	IP         string
	Attribution
}

const callbackVersion = 2

func (c *Callback) strings() []*string {
	return append([]*string{&c.Phone, &c.PhoneRaw, &c.LastError, &c.PageURL, &c.IP}, c.Source.fields()...)
}

// Encode returns the versioned encoding of c; the id is in the key.
func (c *Callback) Encode() []byte {
	e := newEncoder(callbackVersion, 160+len(c.PageURL)+len(c.Landing)+len(c.Referrer))
	e.int(c.Time)
	e.uint(c.Visitor)
	e.uint(c.Session)
	e.uint(c.Hit)
	e.uint(c.GroupID)
	e.int(c.Delayed)
	e.uint(uint64(c.State))
	e.uint(uint64(c.Attempts))
	e.int(c.LastTry)
	e.int(int64(c.LastCode))
	e.int(c.Sent)
	for _, f := range c.strings() {
		e.str(*f)
	}
	e.uint(uint64(c.LastReason))
	return e.b
}

// DecodeCallback decodes a Callback; id comes from the key (IDFromKey).
func DecodeCallback(id uint64, b []byte) (Callback, error) {
	d, v := newDecoder(b, "callback", callbackVersion)
	c := Callback{ID: id}
	c.Time = d.int()
	c.Visitor = d.uint()
	c.Session = d.uint()
	c.Hit = d.uint()
	c.GroupID = d.uint()
	c.Delayed = d.int()
	state := d.uint()
	if state > uint64(CallbackNoScenario) {
		d.fail("bad callback state")
	}
	c.State = byte(state)
	c.Attempts = d.uint32("attempts")
	c.LastTry = d.int()
	code := d.int()
	if code < 0 || code > 999 {
		d.fail("bad status")
	}
	c.LastCode = int(code)
	c.Sent = d.int()
	for _, f := range c.strings() {
		*f = d.str()
	}
	if v >= 2 {
		r := d.uint()
		if r > 255 {
			d.fail("bad callback reason")
		}
		c.LastReason = byte(r)
	}
	return c, d.done()
}

// WidgetKey is the key of a site's widget settings.
func WidgetKey(site uint32) []byte { return sitePrefix(prefixWidget, site) }

// CallbackKey is the key of a callback of a site.
func CallbackKey(site uint32, id uint64) []byte { return siteIDKey(prefixCallback, site, id) }

// CallbackPrefix is the key prefix of all callbacks of a site.
func CallbackPrefix(site uint32) []byte { return sitePrefix(prefixCallback, site) }
