package webhooks

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// FuzzVerify: Verify reads any header without panicking, every refusal
// wraps ErrSignature, a header it accepts for a body is refused for that
// body changed, and what Sign writes is accepted (also beside a rotated
// secret's signature).
func FuzzVerify(f *testing.F) {
	now := time.Unix(1_780_000_000, 0)
	f.Add("s3cret", Sign("s3cret", now, []byte(`{"a":1}`)), []byte(`{"a":1}`), int64(0))
	f.Add("s3cret", "t=1780000000,v1=00", []byte("x"), int64(5))
	f.Add("k", "t=,v1=", []byte{}, int64(-1))
	f.Add("k", "v1=zz,t=+17,,", []byte("y"), int64(9))
	f.Add("k", " t = 1 , v1=abc", []byte("z"), int64(0))
	f.Fuzz(func(t *testing.T, secret, header string, body []byte, skew int64) {
		at := now.Add(time.Duration(skew%3600) * time.Second)
		err := Verify(secret, header, body, at, time.Hour)
		if err != nil && !errors.Is(err, ErrSignature) {
			t.Fatalf("Verify(%q) = %v, not an ErrSignature", header, err)
		}
		if err == nil {
			changed := append(append([]byte{}, body...), '!')
			if Verify(secret, header, changed, at, time.Hour) == nil {
				t.Fatalf("header %q accepted for %q and for %q", header, body, changed)
			}
		}
		signed := Sign(secret, at, body)
		if err := Verify(secret, signed, body, now, time.Hour); err != nil {
			t.Fatalf("Verify of Sign's %q: %v", signed, err)
		}
		_, old, _ := strings.Cut(Sign(secret+"old", at, body), ",v1=")
		if err := Verify(secret, "v1="+old+","+signed, body, now, time.Hour); err != nil {
			t.Fatalf("Verify with a rotated secret's signature beside: %v", err)
		}
	})
}
