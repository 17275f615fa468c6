package httpd

import (
	"net/url"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"appliance/httpd/leads"
	"appliance/httpd/visits"
	"appliance/numbers"
	"appliance/store"
)

// checkParsed asserts what every accepted lead request guarantees, and
// runs it through the lead checks: nothing may panic, and a lead that
// passes is within limits, valid UTF-8, and keeps its encoding. Its visitor
// and session are both set, or both 0 with no hit (a lead of the site
// without a visit).
func checkParsed(t *testing.T, r leadRequest) {
	if (r.visitor == 0) != (r.session == 0) || r.visitor == 0 && r.hit != 0 || r.visitor >= 1<<53 || r.session >= 1<<53 || r.hit >= 1<<53 {
		t.Fatalf("ids out of range: %+v", r)
	}
	l, err := leads.Check(r.in, leads.ViaJS, time.Unix(1700000000, 0), numbers.DefaultRegion)
	if err != nil {
		if !strings.Contains(err.Error(), leads.ErrInvalid.Error()) {
			t.Fatalf("check error %v does not wrap ErrInvalid", err)
		}
		return
	}
	for _, f := range []struct {
		v   string
		max int
	}{{l.Name, leads.MaxName}, {l.EmailRaw, leads.MaxEmail}, {l.PhoneRaw, leads.MaxPhone}, {l.Message, leads.MaxMessage},
		{l.FormName, leads.MaxFormName}, {l.PageURL, leads.MaxURL}} {
		if len(f.v) > f.max || !utf8.ValidString(f.v) {
			t.Fatalf("accepted field %q (limit %d)", f.v, f.max)
		}
	}
	if l.Name == "" && l.EmailRaw == "" && l.PhoneRaw == "" && l.Message == "" && l.FormName == "" {
		t.Fatal("accepted an empty lead")
	}
	if l.PhoneUnparsed != (l.PhoneRaw != "" && l.Phone == "") || l.EmailUnparsed != (l.EmailRaw != "" && l.Email == "") {
		t.Fatalf("flags do not say what did not parse: %+v", l)
	}
	if u, err := url.Parse(l.PageURL); l.PageURL != "" && (err != nil || u.Scheme != "http" && u.Scheme != "https" || u.Host == "") {
		t.Fatalf("accepted page url %q", l.PageURL)
	}
	if visits.MendURL(l.PageURL) != l.PageURL || !strings.HasPrefix(strings.TrimSpace(r.in.PageURL), l.PageURL) {
		t.Fatalf("page url %q stored as %q: not mended", r.in.PageURL, l.PageURL)
	}
	for _, f := range []string{l.Name, l.EmailRaw, l.PhoneRaw, l.FormName, l.PageURL} {
		if strings.IndexFunc(f, unicode.IsControl) >= 0 {
			t.Fatalf("accepted control characters in %q", f)
		}
	}
	if l.SaleCost != 0 && !l.IsSale || l.SaleCost < 0 || l.SaleCost > leads.MaxSaleCost {
		t.Fatalf("accepted sale cost %d (is_sale %v)", l.SaleCost, l.IsSale)
	}
	l.ID = 1
	back, err := store.DecodeLead(1, l.Encode())
	if err != nil || back != l {
		t.Fatalf("lead does not round-trip: %+v, %v", back, err)
	}
}

func FuzzParseLeadJSON(f *testing.F) {
	for _, s := range []string{
		`{"k":"AbCdEfGh0123456789AbCdEfGh012345","ci":"17258569.255544855.1555675484","key":"u8N4wqLtywFKSaxGOUCreGKD0zglE2s0","hi":546833568748,"name":"Дмитрий","email":"dmitry@comagic.ru","phone":"79123456789","message":"Текст заявки...","group_id":1234}`,
		`{"k":"x","ci":"1.2.3","key":"k","name":"My Name Is"}`,
		`{"k":"x","ci":"1.2.3","key":"k","phone":79123456789,"is_sale":"true","sale_cost":"9 999,50","group_id":"12","form_name":"f","u":"https://a/"}`,
		`{"k":"x","ci":"1.2.3","key":"k","name":"a","is_sale":1,"sale_cost":10000.5}`,
		`{"k":"x","ci":"1.2.3","key":"k","name":"a","sale_cost":"1"}`,
		`{"ci":"9007199254740992.1.1"}`,
		`{"hi":null,"name":null,"is_sale":null}`,
		`{}`, `[]`, `null`, `{"name":"\ud800"}`,
		`{"k":"x","ci":"1.2.3","key":"k","name":"a","u":"javascript:alert(1)"}`, `{"k":"x","ci":"1.2.3","key":"k","name":"a","u":"//a/"}`,
		`{"k":"x","ci":"1.2.3","key":"k","name":"a","u":"https://a/%D0%9F%D0%9"}`, `{"k":"x","ci":"1.2.3","key":"k","name":"a","u":"https://a/#%D"}`,
		`{"k":"x","ci":"1.2.3","key":"k","name":"a","u":"https://a/%zz%D"}`,
		`{"k":"x","ci":"1.2.3","key":"k","name":"a\u0000b"}`, `{"k":"x","name":"no ci","hi":5}`, `{"k":"x","ci":"","key":"x","message":"m"}`, `{"k":"x","ci":"1.2.3","key":"k","name":"a","message":"x\n\u001b"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		r, err := parseLeadJSON(body)
		if err != nil {
			if ue := asUserError(err); ue == nil || ue.Status() != 400 && ue.Status() != 413 {
				t.Fatalf("error %v is not a user error", err)
			}
			return
		}
		checkParsed(t, r)
	})
}

func FuzzParseOfflineForm(f *testing.F) {
	const form = "application/x-www-form-urlencoded; charset=UTF-8"
	for _, s := range []string{
		"key=u8N4wqLtywFKSaxGOUCreGKD0zglE2s0&uri=https://server.comagic.ru/&visitor_id=17258569&hit_id=546833568748&session_id=255544855&name=John Smith&email=no@email.adr&phone=+79251234567&text=Hello, world!&is_sale=true&sale_cost=10000",
		"key=k&visitor_id=1&session_id=2&name=%D0%98%D0%B2%D0%B0%D0%BD&is_sale=1&sale_cost=1%2C5",
		"key=k&visitor_id=1&session_id=2&phone=8+(912)+345-67-89&hit_id=0&group_id=5&form_name=x",
		"visitor_id=1&session_id=2&name=%FF",
		"visitor_id=-1&session_id=2",
		"visitor_id=1&visitor_id=2&session_id=3&name=a&is_sale=on",
		// getCredentials() before the first answer: the site key, no ids.
		"key=AbCdEfGh0123456789AbCdEfGh012345&uri=https://host/&visitor_id=&hit_id=&session_id=&name=Ivan&text=early",
		"key=k&visitor_id=null&hit_id=null&session_id=null&name=a",
		"key=k&visitor_id=undefined&session_id=undefined&hit_id=7&name=a",
		"key=k&visitor_id=1&session_id=&name=a",
		"key=k&name=a",
		"",
	} {
		f.Add(form, []byte(s))
		f.Add("", []byte(s))
	}
	// What PHP's curl sends for an array in CURLOPT_POSTFIELDS.
	f.Add("multipart/form-data; boundary=b", []byte("--b\r\nContent-Disposition: form-data; name=\"key\"\r\n\r\nk\r\n"+
		"--b\r\nContent-Disposition: form-data; name=\"visitor_id\"\r\n\r\n1\r\n--b\r\nContent-Disposition: form-data; name=\"session_id\"\r\n\r\n2\r\n"+
		"--b\r\nContent-Disposition: form-data; name=\"text\"\r\n\r\n\xd0\x98\r\n--b\r\nContent-Disposition: form-data; name=\"f\"; filename=\"a.txt\"\r\n\r\nfile\r\n--b--\r\n"))
	f.Add("multipart/form-data", []byte("name=x"))
	f.Add("multipart/form-data; boundary=zz", []byte("--zz\r\nContent-Disposition: form-data; name=\"name\"\r\n\r\nx"))
	f.Add("application/json", []byte(`{"visitor_id":1}`))
	f.Add("text/plain; charset=\"", []byte("visitor_id=1&session_id=2&name=a"))
	f.Fuzz(func(t *testing.T, contentType string, body []byte) {
		args, err := offlineFormArgs([]byte(contentType), body)
		if err == nil {
			var r leadRequest
			if r, err = parseOfflineForm(args); err == nil {
				checkParsed(t, r)
				return
			}
		}
		if _, ok := err.(*Error); !ok {
			t.Fatalf("error %v is not a user error", err)
		}
	})
}
