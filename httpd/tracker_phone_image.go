package httpd

import (
	"crypto/hmac"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/valyala/fasthttp"

	"appliance/httpd/sites"
	"appliance/store"
)

// Image numbers: an <img> target of the snippet shows its number as a
// picture drawn here. The URL is made by the server (phoneImagePath, in the
// "phones" answer) and signed with the site's secret over the text, so it
// cannot be used to draw other text; the snippet adds only the style,
// the image element's computed style as the browser writes it: css=
// "FONT-SIZE;COLOR;BACKGROUND-COLOR" ("20px;rgb(51, 102, 153);rgba(0, 0,
// 0, 0)"), read here so that the snippet, which every visitor downloads,
// need not convert it. Snippets before css= sent size=20&color=336699&bg=,
// still taken.

const phoneImageRoute = "/img/phone"

// phoneImageText is what a number's picture may show: the characters of a
// formatted phone number.
const phoneImageText = "0123456789+()- ."

// phoneImageSig is the signature of the picture of text for site.
func phoneImageSig(site *store.Site, text string) string {
	sig := phoneImageSum(site, text)
	return hex.EncodeToString(sig[:])
}

func phoneImageSum(site *store.Site, text string) [16]byte {
	var buf [64]byte
	sum := sites.Sign(site, append(append(buf[:0], "img/phone\x00"...), text...))
	return [16]byte(sum[:16])
}

// phoneImagePath is the path (under the public URL) of the picture of
// text, without style.
func phoneImagePath(site *store.Site, text string) string {
	var buf [160]byte
	return string(appendPhoneImagePath(buf[:0], site, text, "&"))
}

// appendPhoneImagePath appends phoneImagePath(site, text) to b, with amp
// between its query's parameters: "&", or "\u0026" in JSON as
// encoding/json writes it.
func appendPhoneImagePath(b []byte, site *store.Site, text, amp string) []byte {
	sig := phoneImageSum(site, text)
	b = append(b, "img/phone?site="...)
	b = strconv.AppendUint(b, uint64(site.ID), 10)
	b = append(b, amp...)
	b = append(b, "t="...)
	b = appendQueryEscape(b, text)
	b = append(b, amp...)
	b = append(b, "sig="...)
	return hex.AppendEncode(b, sig[:])
}

// phoneImg is the "img" of a number in the phones answer: the path of
// the picture of text on site (phoneImagePath), written as a JSON string
// where it is encoded rather than built beforehand: it is in every hit's
// answer of a site with numbers.
type phoneImg struct {
	site *store.Site
	text string
}

// appendJSON appends the path as encoding/json writes a string: the
// escaped query is ASCII letters, digits and "-_.~%+", which it copies,
// and "&" it writes as \u0026 (FuzzPhoneImgJSON).
func (m phoneImg) appendJSON(b []byte) []byte {
	if m.site == nil {
		return append(b, `""`...)
	}
	b = append(b, '"')
	b = appendPhoneImagePath(b, m.site, m.text, `\u0026`)
	return append(b, '"')
}

// MarshalJSON writes the path as a JSON string.
func (m phoneImg) MarshalJSON() ([]byte, error) { return m.appendJSON(nil), nil }

// appendQueryEscape appends url.QueryEscape(s) to b (FuzzQueryEscape).
func appendQueryEscape(b []byte, s string) []byte {
	const upperhex = "0123456789ABCDEF"
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '-', c == '_', c == '.', c == '~':
			b = append(b, c)
		case c == ' ':
			b = append(b, '+')
		default:
			b = append(b, '%', upperhex[c>>4], upperhex[c&15])
		}
	}
	return b
}

// phoneImageQuery is the query of GET /img/phone.
type phoneImageQuery struct {
	Site  uint32
	Text  string
	Sig   string
	Size  int    // font size in px, 8-96; 16 when absent
	Color string // text colour: 3 or 6 hex digits; 000 when absent
	Bg    string // background: 3 or 6 hex digits, or "" for none
}

func isHex(s string) bool {
	if len(s) != 3 && len(s) != 6 {
		return false
	}
	for _, c := range s {
		if !strings.ContainsRune("0123456789abcdefABCDEF", c) {
			return false
		}
	}
	return true
}

// parsePhoneImageQuery parses and checks the query of GET /img/phone
// (not the signature). The result does not alias args.
func parsePhoneImageQuery(args *fasthttp.Args) (phoneImageQuery, error) {
	q := phoneImageQuery{Size: 16, Color: "000"}
	site, err := strconv.ParseUint(string(args.Peek("site")), 10, 32)
	if err != nil {
		return q, errorf(fasthttp.StatusBadRequest, "site must be a site id")
	}
	q.Site = uint32(site)
	q.Text = string(args.Peek("t"))
	if q.Text == "" || len(q.Text) > 32 || !utf8.ValidString(q.Text) || strings.Trim(q.Text, phoneImageText) != "" {
		return q, errorf(fasthttp.StatusBadRequest, "t must be a formatted phone number of at most 32 characters")
	}
	q.Sig = string(args.Peek("sig"))
	if len(q.Sig) != 32 {
		return q, errorf(fasthttp.StatusBadRequest, "sig must be 32 hex digits")
	}
	if v := args.Peek("size"); len(v) > 0 {
		n, err := strconv.Atoi(string(v))
		if err != nil || n < 8 || n > 96 {
			return q, errorf(fasthttp.StatusBadRequest, "size must be a font size in px from 8 to 96")
		}
		q.Size = n
	}
	if v := string(args.Peek("color")); v != "" {
		if !isHex(v) {
			return q, errorf(fasthttp.StatusBadRequest, "color must be 3 or 6 hex digits")
		}
		q.Color = v
	}
	if v := string(args.Peek("bg")); v != "" {
		if !isHex(v) {
			return q, errorf(fasthttp.StatusBadRequest, "bg must be 3 or 6 hex digits, or absent for none")
		}
		q.Bg = v
	}
	if v := string(args.Peek("css")); v != "" {
		// The browser's computed values: what cannot be read keeps the
		// default, a size out of range takes the nearest allowed.
		size, color, bg := cssStyle(v)
		if size > 0 {
			q.Size = min(max(size, 8), 96)
		}
		if color != "" {
			q.Color = color
		}
		q.Bg = bg
	}
	return q, nil
}

// cssStyle reads "FONT-SIZE;COLOR;BACKGROUND-COLOR" as getComputedStyle
// writes them: the font size in whole px (0 when unreadable) and the
// colours as 6 hex digits ("" when unreadable or fully transparent).
func cssStyle(v string) (size int, color, bg string) {
	parts := strings.SplitN(v, ";", 3)
	if f, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(parts[0]), "px"), 64); err == nil && f >= 1 && f <= 1000 {
		size = int(f + 0.5)
	}
	if len(parts) > 1 {
		color = cssColor(parts[1])
	}
	if len(parts) > 2 {
		bg = cssColor(parts[2])
	}
	return size, color, bg
}

// cssColor is a computed CSS colour, "rgb(R, G, B)" or "rgba(R, G, B, A)"
// (commas or spaces, a slash before the alpha), as 6 hex digits; "" for
// another form or an alpha of 0.
func cssColor(c string) string {
	c = strings.TrimSpace(c)
	inner, ok := strings.CutPrefix(c, "rgba(")
	if !ok {
		inner, ok = strings.CutPrefix(c, "rgb(")
	}
	inner, closed := strings.CutSuffix(inner, ")")
	if !ok || !closed {
		return ""
	}
	f := strings.FieldsFunc(inner, func(r rune) bool { return r == ',' || r == ' ' || r == '/' })
	if len(f) != 3 && len(f) != 4 {
		return ""
	}
	var rgb [3]byte
	for i, s := range f {
		n, err := strconv.ParseFloat(s, 64)
		if err != nil || n < 0 || (i < 3 && n > 255) {
			return ""
		}
		if i == 3 {
			if n == 0 {
				return "" // transparent
			}
			break
		}
		rgb[i] = byte(n + 0.5)
	}
	return hex.EncodeToString(rgb[:])
}

// phoneImage serves GET /img/phone: an SVG picture of a number the server
// signed. It never changes for one query, so it is cached for a day.
func (s *trackerHandlers) phoneImage(ctx *fasthttp.RequestCtx) error {
	q, err := parsePhoneImageQuery(ctx.QueryArgs())
	if err != nil {
		return err
	}
	site, err := s.sites.ByID(q.Site)
	if err != nil || !hmac.Equal([]byte(q.Sig), []byte(phoneImageSig(site, q.Text))) {
		return errorf(fasthttp.StatusForbidden, "sig does not match: the picture of a number is drawn only from a URL the appliance made")
	}
	w := (len(q.Text)*q.Size*6 + 9) / 10 // digits are about 0.6 em wide
	h := (q.Size*13 + 9) / 10
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d">`, w, h, w, h)
	if q.Bg != "" {
		fmt.Fprintf(&b, `<rect width="100%%" height="100%%" fill="#%s"/>`, q.Bg)
	}
	// Text holds only phoneImageText's characters: nothing to escape.
	fmt.Fprintf(&b, `<text x="0" y="%d" font-family="Arial,Helvetica,sans-serif" font-size="%d" fill="#%s" textLength="%d">%s</text></svg>`,
		q.Size, q.Size, q.Color, w, q.Text)
	hd := &ctx.Response.Header
	hd.Set("Access-Control-Allow-Origin", "*")
	hd.Set("Cache-Control", "public, max-age=86400")
	hd.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
	hd.Set("X-Content-Type-Options", "nosniff")
	ctx.SetContentType("image/svg+xml")
	ctx.SetBodyString(b.String())
	return nil
}
