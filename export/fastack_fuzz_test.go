package export

import (
	"testing"
)

// fastAck reads what the NATS server answers to a fast batch's messages:
// any answer is read without a panic, and a batch's acknowledgement, flow
// message or refusal is told apart as the server writes them.
func FuzzFastAck(f *testing.F) {
	f.Add("7.500.fail.3.1.$FI", []byte(`{"type":"ack","seq":500,"msgs":500}`))
	f.Add("7.500.fail.9.3.$FI", []byte(`{"stream":"S","seq":1234,"batch":"x7","count":8}`))
	f.Add("7.500.fail.2.1.$FI", []byte(`{"error":{"code":400,"err_code":10054,"description":"message size exceeds maximum allowed"},"stream":"S","seq":0}`))
	f.Add("7.500.fail.2.1.$FI", []byte(`{"type":"gap","last_seq":2,"seq":3}`))
	f.Add("x.1.2.3.4.$FI", []byte(`{}`))
	f.Fuzz(func(t *testing.T, tail string, data []byte) {
		a, ok := fastAck(tail, data)
		if !ok {
			return
		}
		if !a.batch || (a.flow && (a.end || a.err != nil)) || (a.err != nil && a.count != 0) {
			t.Fatalf("fastAck(%q, %q) = %+v", tail, data, a)
		}
	})
}

func TestFastAck(t *testing.T) {
	for _, c := range []struct {
		tail, data string
		want       ack
		ok         bool
	}{
		{"7.500.fail.3.1.$FI", `{"type":"ack","seq":500,"msgs":500}`, ack{n: 7, batch: true, flow: true, count: 500}, true},
		{"7.500.fail.9.3.$FI", `{"stream":"S","seq":1234,"batch":"x7","count":8}`, ack{n: 7, batch: true, end: true, count: 8}, true},
		{"7.500.fail.4.1.$FI", `{"stream":"S","seq":1234,"batch":"x7","count":3}`, ack{n: 7, batch: true, end: true, count: 3}, true},
		{"7.500.fail.2.1.$FI", `{"type":"gap","last_seq":2,"seq":3}`, ack{}, false},
		{"7.500.fail.2.1.$FI", `{"type":"err","seq":2,"error":{"code":400}}`, ack{}, false},
		{"x.500.fail.2.1.$FI", `{"stream":"S"}`, ack{}, false},
		{"7.500.fail.2.$FI", `{"stream":"S"}`, ack{}, false},
	} {
		got, ok := fastAck(c.tail, []byte(c.data))
		if ok != c.ok || got != c.want {
			t.Errorf("fastAck(%q, %s) = %+v, %v; want %+v, %v", c.tail, c.data, got, ok, c.want, c.ok)
		}
	}
	for _, c := range []struct{ tail, data string }{
		{"7.500.fail.2.1.$FI", `{"error":{"code":400,"err_code":10054,"description":"too big"},"stream":"S","seq":0}`},
		{"7.500.fail.9.3.$FI", `{"error":{"code":400,"err_code":10208,"description":"batch publish ID unknown"},"stream":"S","seq":0}`},
	} {
		got, ok := fastAck(c.tail, []byte(c.data))
		end := c.tail[len(c.tail)-len(".3.$FI"):] == ".3.$FI"
		if !ok || got.err == nil || got.end != end || got.n != 7 {
			t.Errorf("fastAck(%q, %s) = %+v, %v; want a refusal, end %v", c.tail, c.data, got, ok, end)
		}
	}
}
