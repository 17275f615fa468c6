package httpd

import (
	"appliance/internal/jsonstr"
	"strconv"
	"unicode/utf8"

	"github.com/valyala/fasthttp"
)

// The hit endpoint's own reading and writing of JSON. Every page view
// goes through them, and encoding/json's reflection, decoder and buffers
// were a fifth of the handler's allocations; each is tested against
// encoding/json (tracker_hit_test.go), so they read and write exactly what
// it does.

// parseHitRequest reads the body of POST /t/v1/hit: the snippet's bodies
// by scanHitRequest, anything else by decodeBody, the one reader of JSON
// bodies and of their errors.
func parseHitRequest(body []byte) (hitRequest, error) {
	if r, ok := scanHitRequest(body); ok {
		return r, nil
	}
	var r hitRequest
	err := decodeBody(body, maxTrackerBody, &r, refuseUnknown)
	return r, err
}

// scanHitRequest reads a hit's body as the snippet sends it: one JSON
// object of hitRequest's fields, named as written, each at most once, each
// a string without escapes; valid UTF-8 within maxTrackerBody. The fields
// are substrings of one copy of the body (fasthttp reuses the body after
// the request). ok is false for any other body, valid or not, which
// decodeBody then reads: what scanHitRequest accepts, decodeBody accepts
// too and reads the same (FuzzScanHitRequest).
func scanHitRequest(body []byte) (r hitRequest, ok bool) {
	if len(body) > maxTrackerBody || !utf8.Valid(body) {
		return r, false
	}
	s := string(body)
	i := skipJSONSpace(s, 0)
	if i == len(s) || s[i] != '{' {
		return r, false
	}
	i = skipJSONSpace(s, i+1)
	if i < len(s) && s[i] == '}' {
		return r, skipJSONSpace(s, i+1) == len(s)
	}
	var seen uint8
	for {
		name, j, ok := scanJSONString(s, i)
		if !ok {
			return r, false
		}
		i = skipJSONSpace(s, j)
		if i == len(s) || s[i] != ':' {
			return r, false
		}
		value, j, ok := scanJSONString(s, skipJSONSpace(s, i+1))
		if !ok {
			return r, false
		}
		var field *string
		var bit uint8
		switch name {
		case "k":
			field, bit = &r.K, 1
		case "ci":
			field, bit = &r.CI, 2
		case "key":
			field, bit = &r.Key, 4
		case "u":
			field, bit = &r.U, 8
		case "r":
			field, bit = &r.R, 16
		case "t":
			field, bit = &r.T, 32
		default:
			return r, false
		}
		if seen&bit != 0 {
			return r, false
		}
		seen |= bit
		*field = value
		i = skipJSONSpace(s, j)
		if i == len(s) {
			return r, false
		}
		switch s[i] {
		case '}':
			return r, skipJSONSpace(s, i+1) == len(s)
		case ',':
			i = skipJSONSpace(s, i+1)
		default:
			return r, false
		}
	}
}

// skipJSONSpace is the index of the first byte of s from i on that is not
// JSON white space.
func skipJSONSpace(s string, i int) int {
	for i < len(s) && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r') {
		i++
	}
	return i
}

// scanJSONString reads a JSON string without escapes or control
// characters at s[i:]: its contents and the index after its closing quote.
func scanJSONString(s string, i int) (string, int, bool) {
	if i == len(s) || s[i] != '"' {
		return "", i, false
	}
	for j := i + 1; j < len(s); j++ {
		switch c := s[j]; {
		case c == '"':
			return s[i+1 : j], j + 1, true
		case c == '\\' || c < 0x20:
			return "", j, false
		}
	}
	return "", len(s), false
}

// writeHitAnswer answers a hit as writeOK(ctx, r) would, without
// reflection: the same bytes (TestHitAnswerJSON).
func writeHitAnswer(ctx *fasthttp.RequestCtx, r *hitResult) {
	var buf [1024]byte
	b := append(buf[:0], `{"success":true,"result":{"ci":`...)
	b = appendJSONString(b, r.CI)
	b = append(b, `,"visitor_id":`...)
	b = strconv.AppendUint(b, r.VisitorID, 10)
	b = append(b, `,"session_id":`...)
	b = strconv.AppendUint(b, r.SessionID, 10)
	b = append(b, `,"hit_id":`...)
	b = strconv.AppendUint(b, r.HitID, 10)
	b = append(b, `,"key":`...)
	b = appendJSONString(b, r.Key)
	b = append(b, `,"server_url":`...)
	b = appendJSONString(b, r.ServerURL)
	b = append(b, `,"new_session":`...)
	b = strconv.AppendBool(b, r.NewSession)
	if r.CookieDomain != "" {
		b = append(b, `,"cookie_domain":`...)
		b = appendJSONString(b, r.CookieDomain)
	}
	b = append(b, `,"phones":`...)
	b = appendPhones(b, r.Phones)
	b = append(b, `,"chat":{"operators":`...)
	b = strconv.AppendBool(b, r.Chat.Operators)
	b = append(b, `,"button":`...)
	b = strconv.AppendBool(b, r.Chat.Button)
	b = append(b, "}}}"...)
	ctx.SetStatusCode(fasthttp.StatusOK)
	ctx.SetContentType("application/json; charset=utf-8")
	ctx.SetBody(b)
}

// appendJSONString appends s as json.Marshal writes it, HTML escaping on:
// an answer may be read inside a page.
func appendJSONString(b []byte, s string) []byte { return jsonstr.Append(b, s, true) }
