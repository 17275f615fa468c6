package httpd

import (
	"bytes"
	"cmp"
	"errors"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/valyala/fasthttp"

	"appliance/captcha"
	"appliance/httpd/callbacks"
	"appliance/httpd/ratelimit"
)

// The endpoints of the callback widgets (tracker-protocol.md §7, §8):
// captchas, callback requests and the widgets' site settings. Like every
// tracker endpoint they answer with CORS and no caching (s.tracker).

const (
	// captchaPath is where captcha images are served: captchaPath + KEY + ".png".
	captchaPath = "/t/v1/captcha/"
	// captchasPerMinute is how many captchas one IP may ask for a minute.
	captchasPerMinute = 30
)

// captchaRequest is the body of POST /t/v1/captcha. The snippet sends the
// visitor's credentials with every call; a captcha needs only the site.
type captchaRequest struct {
	K   string `json:"k"`
	CI  string `json:"ci"`
	Key string `json:"key"`
	HI  uint64 `json:"hi"`
}

// captchaResult is Comagic.Captcha.get_captcha's {key, url}.
type captchaResult struct {
	Key string `json:"key"`
	URL string `json:"url"`
}

func parseCaptchaRequest(body []byte) (captchaRequest, error) {
	var r captchaRequest
	err := decodeBody(body, maxTrackerBody, &r, refuseUnknown)
	return r, err
}

// trackCaptcha is POST /t/v1/captcha: a new captcha for a site's visitor.
func (s *trackerHandlers) trackCaptcha(ctx *fasthttp.RequestCtx) error {
	req, err := parseCaptchaRequest(ctx.Request.Body())
	if err != nil {
		return err
	}
	site, err := s.trackerSite(req.K)
	if err != nil {
		return err
	}
	if network, now := ratelimit.Network(s.clientIP(ctx)), s.now(); !s.captchaRate.Allow(network, now) {
		return tooMany(s.captchaRate.Wait(network, now), "more than %d captchas a minute from this address", captchasPerMinute)
	}
	id, err := s.callbacks.NewCaptcha(site) // it passes on this site only
	if err != nil {
		return err
	}
	writeOK(ctx, captchaResult{Key: id, URL: s.publicURL + strings.TrimPrefix(captchaPath, "/") + id + ".png"})
	return nil
}

// captchaImage is GET /t/v1/captcha/KEY.png: the picture, drawn on
// demand, never cached (a captcha is single use); and GET
// /t/v1/captcha/KEY.wav?lang=ru|en: the same digits spoken, for a visitor
// who cannot see the picture. A sound takes more to make and to send than
// a picture, so each counts against the address's captchas a minute.
func (s *trackerHandlers) captchaImage(ctx *fasthttp.RequestCtx) error {
	id, png, ok := parseCaptchaPath(string(ctx.Path()))
	if !ok {
		return errorf(fasthttp.StatusNotFound, "no such captcha")
	}
	var buf bytes.Buffer
	var err error
	if png {
		err = s.captcha.WritePNG(&buf, id)
	} else {
		if network, now := ratelimit.Network(s.clientIP(ctx)), s.now(); !s.captchaRate.Allow(network, now) {
			return tooMany(s.captchaRate.Wait(network, now), "more than %d captchas a minute from this address", captchasPerMinute)
		}
		err = s.captcha.WriteWAV(&buf, id, string(ctx.QueryArgs().Peek("lang")))
	}
	if err != nil {
		if errors.Is(err, captcha.ErrNotFound) {
			return errorf(fasthttp.StatusNotFound, "no such captcha: it expired or was answered; ask for a new one")
		}
		return err
	}
	if png {
		ctx.SetContentType("image/png")
	} else {
		ctx.SetContentType("audio/wav")
	}
	ctx.Response.Header.Set("X-Content-Type-Options", "nosniff")
	ctx.SetBody(buf.Bytes())
	return nil
}

// parseCaptchaPath reads captchaPath + ID + ".png" or ".wav": the id
// (1 to 64 bytes, no "/"), and whether the picture is asked for; ok is
// false for anything else.
func parseCaptchaPath(path string) (id string, png, ok bool) {
	name, ok := strings.CutPrefix(path, captchaPath)
	if !ok {
		return "", false, false
	}
	id, png = strings.CutSuffix(name, ".png")
	if !png {
		id, ok = strings.CutSuffix(name, ".wav")
	}
	if !ok || id == "" || len(id) > 64 || strings.Contains(id, "/") {
		return "", false, false
	}
	return id, png, true
}

// widgetSettings is GET /t/v1/widget?k=SITE_KEY: what the built-in
// widgets need of the site's settings (callbacks.Public).
func (s *trackerHandlers) widgetSettings(ctx *fasthttp.RequestCtx) error {
	k := ctx.QueryArgs().Peek("k")
	if !utf8.Valid(k) {
		return errorf(fasthttp.StatusBadRequest, "k is not valid UTF-8")
	}
	site, err := s.trackerSite(string(k))
	if err != nil {
		return err
	}
	w, err := s.callbacks.Settings(site.ID)
	if err != nil {
		return err
	}
	c, err := s.chats.Settings(site.ID)
	if err != nil {
		return err
	}
	writeOK(ctx, widgetAnswer{Public: callbacks.PublicOf(w),
		Chat: widgetChat{Button: c.Button, Position: cmp.Or(c.ButtonPosition, "right"), Color: c.ButtonColor, Greeting: c.Greeting}})
	return nil
}

// widgetAnswer is GET /t/v1/widget's result: the callback widgets'
// settings and the chat window's (tracker-protocol.md §8).
type widgetAnswer struct {
	callbacks.Public
	Chat widgetChat `json:"chat"`
}

// widgetChat is what the chat window draws: the floating button (shown or
// not, its corner and colour, "" the default) and the greeting.
type widgetChat struct {
	Button   bool   `json:"button"`
	Position string `json:"position"`
	Color    string `json:"color"`
	Greeting string `json:"greeting"`
}

// callbackRequest is a decoded POST /t/v1/callback.
type callbackRequest struct {
	creds        credFields
	hit          uint64
	captchaKey   string
	captchaValue string
	in           callbacks.Input
}

// parseCallbackJSON decodes the body of POST /t/v1/callback:
// ComagicWidget.sitePhoneCall's params, which the reference types as text
// but its example passes as numbers, plus the credentials and the page.
// Unknown fields are ignored, so that a newer snippet can send more.
func parseCallbackJSON(body []byte) (callbackRequest, error) {
	var in struct {
		K            string     `json:"k"`
		CI           string     `json:"ci"`
		Key          string     `json:"key"`
		HI           flexString `json:"hi"`
		CaptchaKey   flexString `json:"captcha_key"`
		CaptchaValue flexString `json:"captcha_value"`
		Phone        flexString `json:"phone"`
		Delayed      flexString `json:"delayed_call_time"`
		GroupID      flexString `json:"group_id"`
		U            string     `json:"u"`
	}
	if err := decodeBody(body, maxTrackerBody, &in, ignoreUnknown); err != nil {
		return callbackRequest{}, err
	}
	r := callbackRequest{creds: credFields{K: in.K, CI: in.CI, Key: in.Key},
		captchaKey: strings.TrimSpace(string(in.CaptchaKey)), captchaValue: string(in.CaptchaValue)}
	if len(r.captchaKey) > 64 || len(r.captchaValue) > 64 {
		return callbackRequest{}, errorf(fasthttp.StatusBadRequest, "captcha_key and captcha_value are at most 64 bytes")
	}
	var err error
	if r.hit, err = parseID("hi", string(in.HI), false); err != nil {
		return callbackRequest{}, err
	}
	group, err := parseID("group_id", string(in.GroupID), false)
	if err != nil {
		return callbackRequest{}, err
	}
	delayed := int64(0)
	if d := strings.TrimSpace(string(in.Delayed)); d != "" {
		if delayed, err = strconv.ParseInt(d, 10, 64); err != nil || delayed < 0 {
			return callbackRequest{}, errorf(fasthttp.StatusBadRequest, "delayed_call_time must be a time in milliseconds since 1970 UTC")
		}
	}
	r.in = callbacks.Input{Phone: string(in.Phone), GroupID: group, Delayed: delayed, PageURL: in.U}
	return r, nil
}

// callbackAnswer is sitePhoneCall's answer: {success, result:{status, code}}.
type callbackAnswer struct {
	Success bool             `json:"success"`
	Result  callbacks.Result `json:"result"`
}

// trackCallback is POST /t/v1/callback: ComagicWidget.sitePhoneCall. Every
// outcome the reference numbers (0 to 4) is a 200 answer in its shape;
// input the request cannot be taken with is a 4xx error.
//
// A request that is not taken answers its error with a result too, status
// 3 (4 for a rate limit) and a code that says what to change
// (callbacks.CodeInvalidPhone...), so that a page reading
// resp.result.status never throws.
func (s *trackerHandlers) trackCallback(ctx *fasthttp.RequestCtx) error {
	err := s.placeCallback(ctx)
	if err != nil {
		r := callbacks.Result{Status: callbacks.StatusFailed, Code: failureCode(err)}
		if r.Code == "rate_limit" {
			r.Status = callbacks.StatusLimit
		}
		return &failure{err: err, result: r}
	}
	return nil
}

// placeCallback is trackCallback but for the result of its errors.
func (s *trackerHandlers) placeCallback(ctx *fasthttp.RequestCtx) error {
	req, err := parseCallbackJSON(ctx.Request.Body())
	if err != nil {
		return err
	}
	site, ci, err := s.checkCreds(req.creds)
	if err != nil {
		return err
	}
	res, err := s.callbacks.Place(ctx, callbacks.Order{Site: site, Visitor: ci.Visitor, Session: ci.Session,
		Hit: req.hit, IP: s.clientIP(ctx), In: req.in,
		CaptchaKey: req.captchaKey, CaptchaValue: req.captchaValue})
	if err != nil {
		return err
	}
	writeJSON(ctx, fasthttp.StatusOK, callbackAnswer{Success: res.Status == callbacks.StatusAccepted, Result: res})
	return nil
}
