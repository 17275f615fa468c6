package httpd

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/valyala/fasthttp"

	"appliance/httpd/visits"
)

// The tracker's request parsers get bodies and queries from anyone on the
// internet: they never panic, refuse with a 4xx *Error, and what they
// accept is what the body says.

// checkParseErr fails unless err is nil or answered as a 400/413 with a
// reason; it reports whether err is nil.
func checkParseErr(t *testing.T, err error) bool {
	t.Helper()
	if err == nil {
		return true
	}
	e := asUserError(err)
	if e == nil || (e.Status() != 400 && e.Status() != 413) || e.UserMessage() == "" {
		t.Fatalf("parse error %v is not a 400/413 with a reason", err)
	}
	return false
}

// roundTrip checks that v, encoded again and parsed, gives v back.
func roundTrip[T any](t *testing.T, v T, parse func([]byte) (T, error)) {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	again, err := parse(b)
	if err != nil || !reflect.DeepEqual(again, v) {
		t.Fatalf("round trip of %+v: %+v, %v", v, again, err)
	}
}

func fuzzBodies(f *testing.F, seeds ...string) {
	for _, s := range append(seeds, ``, `{}`, `null`, `[]`, `{"k":1}`, `{"x":"y"}`, `{"k":"a"} {}`, "{\"k\":\"\xff\"}", `{"k":"\ud800"}`,
		`{"k":"\udc00"}`, `{"k":"\ud83d\ude00"}`, `{"k":"\ud83d\u0041"}`, `{"k":"\\ud800"}`, `{"k":"\ud83d`, `{"k":"a\u0000b\u001b\u007f"}`) {
		f.Add([]byte(s))
	}
}

func FuzzHitRequest(f *testing.F) {
	fuzzBodies(f, `{"k":"AbCdEfGh0123456789AbCdEfGh012345","ci":"1.2.3","u":"https://shop.example/?utm_source=x","r":"https://google.com/","t":"Shop"}`)
	f.Fuzz(func(t *testing.T, body []byte) {
		r, err := parseHitRequest(body)
		if !checkParseErr(t, err) {
			return
		}
		for _, s := range []string{r.K, r.CI, r.U, r.R, r.T} {
			if !utf8.ValidString(s) {
				t.Fatalf("accepted invalid UTF-8 %q", s)
			}
			// A lone surrogate escape is refused, not made U+FFFD.
			if strings.ContainsRune(s, utf8.RuneError) && !strings.Contains(strings.ToLower(string(body)), `\ufffd`) && !bytes.ContainsRune(body, utf8.RuneError) {
				t.Fatalf("accepted %q: a lone surrogate became U+FFFD", body)
			}
		}
		roundTrip(t, r, parseHitRequest)
	})
}

func TestLoneSurrogate(t *testing.T) {
	for body, want := range map[string]bool{
		`{"t":"\ud83d\ude00"}`: false, `{"t":"\uD83D\uDE00"}`: false, `{"t":"\\ud800"}`: false, `{"t":"\u00e9\\"}`: false,
		`{"t":"\ud800"}`: true, `{"t":"\udc00"}`: true, `{"t":"\ud83d\u0041"}`: true, `{"t":"\ud83d\\ude00"}`: true, `{"t":"\ud83d`: true,
		`{"t":"\\\ud800"}`: true,
	} {
		if got := loneSurrogate([]byte(body)); got != want {
			t.Errorf("loneSurrogate(%s) = %v, want %v", body, got, want)
		}
		if err := decodeBody([]byte(body), maxTrackerBody, &hitRequest{}, refuseUnknown); want && (err == nil || !strings.Contains(err.Error(), "surrogate")) {
			t.Errorf("decodeBody(%s) = %v, want a 400 naming the surrogate", body, err)
		}
	}
}

func FuzzEventRequest(f *testing.F) {
	fuzzBodies(f, `{"k":"K","ci":"1.2.3","key":"0123456789abcdef0123456789abcdef","hi":5,"c":"Offer","a":"DownloadBook","n":"Book","v":"1"}`,
		`{"hi":-1}`, `{"hi":1.5}`, `{"hi":1e30}`, `{"hi":"5"}`)
	f.Fuzz(func(t *testing.T, body []byte) {
		r, err := parseEventRequest(body)
		if checkParseErr(t, err) {
			roundTrip(t, r, parseEventRequest)
		}
	})
}

func FuzzVisitorRequest(f *testing.F) {
	fuzzBodies(f, `{"k":"K","ci":"1.2.3","key":"k","hi":1,"name":"Иван","phone":"8 (912) 345-67-89","email":"a@b.c"}`)
	f.Fuzz(func(t *testing.T, body []byte) {
		r, err := parseVisitorRequest(body)
		if checkParseErr(t, err) {
			roundTrip(t, r, parseVisitorRequest)
		}
	})
}

func FuzzPropertyRequest(f *testing.F) {
	fuzzBodies(f, `{"k":"K","ci":"1.2.3","key":"k","op":"set","name":"Тип","value":"Потенциальный"}`,
		`{"op":"get","name":"x"}`, `{"op":"has","name":"x","value":"v"}`, `{"op":"list"}`, `{"op":"set","value":5}`)
	f.Fuzz(func(t *testing.T, body []byte) {
		r, err := parsePropertyRequest(body)
		if !checkParseErr(t, err) {
			return
		}
		switch r.Op {
		case "set", "get", "has", "delete":
		default:
			t.Fatalf("accepted op %q", r.Op)
		}
		if r.Op != "set" && r.Value != "" {
			t.Fatalf("accepted a value with op %q", r.Op)
		}
		roundTrip(t, r, parsePropertyRequest)
	})
}

// FuzzVCQuery: /vc/s/'s query, as CoMagic's server-side integrations send
// it. An accepted query has a valid ci or none (absent, "", "null" or
// "undefined": getCredentials() before the first page view's answer), a
// valid hit id or none, and fields within their limits; the result does
// not alias the parsed arguments.
func FuzzVCQuery(f *testing.F) {
	for _, s := range []string{
		"k=0123456789abcdef0123456789abcdef&sk=AbCdEfGh0123456789AbCdEfGh012345&ur=https%3A%2F%2Fx%2F&ci=2032047566.3117192853.1555675484&hi=9228054013&vn=new_user&s=1",
		"sk=nS5lMAgURPyUQXVyBgguFy0AvIRdbfdy&ci=2032047566.3117192853.1555675484&hi=9228054013&vn=new_user",
		"ci=1.2.3&vp=%2B7+912+345-67-89&ve=A%40B.C", "ci=1.2.3&s=2", "ci=1.2&vn=x", "ci=1.2.3&hi=-1", "vn=%ff&ci=1.2.3", "ci=1.2.3&ci=4.5.6", "",
		"k=AbCdEfGh0123456789AbCdEfGh012345&ci=null&hi=null&vn=x&s=1", "k=AbCdEfGh0123456789AbCdEfGh012345&ci=&hi=undefined&vp=1",
		"ci=NULL&vn=x", "ci=0&vn=x",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, q string) {
		var args fasthttp.Args
		args.Parse(q)
		r, err := parseVCQuery(&args)
		if !checkParseErr(t, err) {
			return
		}
		if ci := string(args.Peek("ci")); r.CI == (visits.CI{}) {
			if ci != "" && ci != "null" && ci != "undefined" {
				t.Fatalf("accepted ci %q as none", ci)
			}
		} else if again, err := visits.ParseCI(r.CI.String()); err != nil || again != r.CI {
			t.Fatalf("accepted ci %+v that does not round-trip", r.CI)
		}
		if r.Hit >= 1<<53 {
			t.Fatalf("accepted hit id %d", r.Hit)
		}
		for _, s := range []struct {
			v   string
			max int
		}{{r.Info.Name, visits.MaxName}, {r.Info.Phone, visits.MaxPhone}, {r.Info.Email, visits.MaxEmail}, {r.Key, 64}, {r.SiteKey, 64}} {
			if len(s.v) > s.max || !utf8.ValidString(s.v) {
				t.Fatalf("accepted %q (limit %d)", s.v, s.max)
			}
		}
		before := r
		args.Reset()
		args.Parse("k=XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX&vn=YYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYY")
		if !reflect.DeepEqual(before, r) {
			t.Fatal("the parsed query aliases the request's buffers")
		}
	})
}
