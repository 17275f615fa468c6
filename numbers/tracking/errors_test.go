package tracking

import (
	"errors"
	"fmt"
	"testing"

	"appliance/internal/usererr"
	"appliance/numbers"
)

// The errors of the package keep their text (reason first, kind last) and
// tell a consumer their status and the message for a person, the context
// a caller added included, the server's operations and the sentinels' words
// left out.
func TestErrors(t *testing.T) {
	_, phoneErr := numbers.ParsePhone("call me", "RU")
	_, ruleErr := numbers.ParseRule("utm_source")
	for _, c := range []struct {
		err       error
		text, msg string
		status    int
	}{
		{ErrNoPool.Errorf("edit pool %q", "ads"), `edit pool "ads": tracking: no such pool`, `edit pool "ads": no such pool`, 404},
		{usererr.Within("static number", ErrInvalid.Errorf("%s is already a pool's", "7495")), "static number: 7495 is already a pool's: tracking: invalid input",
			"static number: 7495 is already a pool's", 400},
		{fmt.Errorf("record call: %w", usererr.Within("called", ErrInvalid.Because(phoneErr))), "", "called: " + phoneErr.Error(), 400},
		{usererr.Within("pool \"ads\"", ErrInvalid.Because(ruleErr)), "", `pool "ads": parse rule: term "utm_source": want key=value`, 400},
	} {
		e, ok := errors.AsType[*usererr.Error](c.err)
		if !ok {
			t.Fatalf("%v: no *usererr.Error", c.err)
		}
		if c.text != "" && c.err.Error() != c.text {
			t.Errorf("text %q, want %q", c.err.Error(), c.text)
		}
		if e.UserMessage() != c.msg || e.Status() != c.status {
			t.Errorf("%v: %d %q, want %d %q", c.err, e.Status(), e.UserMessage(), c.status, c.msg)
		}
	}
	if err := usererr.Within("called", ErrInvalid.Because(phoneErr)); !errors.Is(err, ErrInvalid) || !errors.Is(err, numbers.ErrPhone) {
		t.Errorf("%v does not wrap its kind and cause", err)
	}
	if err := usererr.Within("x", errors.New("disk")); errors.Is(err, ErrInvalid) {
		t.Error("a plain error became an invalid input")
	}
}

// The pool counters' metric names are what they were when fmt wrote
// them: stored keys are named by them.
func TestPoolMetricNames(t *testing.T) {
	for _, pool := range []uint32{0, 7, 42, 1 << 31} {
		if got, want := poolMetric(pool), fmt.Sprintf("%s%d", MetricPool, pool); got != want {
			t.Errorf("poolMetric(%d) = %q, want %q", pool, got, want)
		}
		for hour := range 24 {
			if got, want := poolHourMetric(pool, hour), fmt.Sprintf("%s%d.h%02d", MetricPool, pool, hour); got != want {
				t.Errorf("poolHourMetric(%d, %d) = %q, want %q", pool, hour, got, want)
			}
		}
	}
}
