package httpd

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"appliance/httpd/accounts"
	"appliance/httpd/callbacks"
	"appliance/httpd/leads"
	"appliance/httpd/sites"
	"appliance/httpd/visits"
	"appliance/store"
	"appliance/store/storetest"
)

// TestUserErrors: the errors of the domain packages, however deep in a
// chain of wrapping, answer with their own status and their own message,
// without the operation or package of the server's side; any other error
// is not a user's (a 500 whose cause is logged).
func TestUserErrors(t *testing.T) {
	_, ciErr := visits.ParseCI("1.2")
	_, leadErr := leads.Check(leads.Input{Message: " "}, leads.ViaJS, time.Now(), "RU")
	_, cbErr := callbacks.Check(callbacks.Input{}, time.Now(), "RU")
	reg, err := sites.Open(context.Background(), storetest.Open(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	_, siteErr := reg.Create(context.Background(), "", []string{"shop.example"})
	_, noSite := reg.ByKey("nope")
	for _, c := range []struct {
		name   string
		err    error
		status int
		msg    string
	}{
		{"visits", fmt.Errorf("record hit: %w", ciErr), 400, "ci must be visitor_id.session_id.first_visit_unix"},
		{"leads", fmt.Errorf("add lead: %w", leadErr), 400, "the lead is empty: give a name, email, phone or message"},
		{"callbacks", cbErr, 400, "phone is required"},
		{"sites invalid", siteErr, 400, "name must be 1 to 100 characters"},
		{"sites not found", fmt.Errorf("site x: %w", noSite), 404, "no such site"},
		{"accounts", fmt.Errorf("sign in: %w", accounts.ErrBadLogin), 401, "wrong email or password"},
		{"accounts exists", accounts.ErrExists, 409, "user already exists"},
		{"http", errorf(413, "the body is larger than %d bytes", 10), 413, "the body is larger than 10 bytes"},
		{"disk full", fmt.Errorf("store lead: %w", store.ErrDiskFull), 507, "the server's disk is full: nothing was saved; try again later"},
	} {
		t.Run(c.name, func(t *testing.T) {
			ue := asUserError(c.err)
			if ue == nil {
				t.Fatalf("%v is not a user error", c.err)
			}
			if got, want := ue.Status(), c.status; got != want {
				t.Errorf("status %d, want %d", got, want)
			}
			if got, want := ue.UserMessage(), c.msg; got != want {
				t.Errorf("message %q, want %q", got, want)
			}
		})
	}
	if !errors.Is(ciErr, visits.ErrInvalid) || !errors.Is(leadErr, leads.ErrInvalid) || !errors.Is(siteErr, sites.ErrInvalid) {
		t.Error("a domain error does not wrap its kind")
	}
	if ue := asUserError(fmt.Errorf("scan: %w", errors.New("pebble: corrupt"))); ue != nil {
		t.Errorf("an internal error answers as a user's: %d %q", ue.Status(), ue.UserMessage())
	}
}
