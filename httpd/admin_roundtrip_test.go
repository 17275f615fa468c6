package httpd

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"appliance/httpd/admin"
)

// recorder is an admin.Service that keeps what each call received and
// answers a fixed value, so a test sees both directions of the wire.
type recorder struct{ got map[string]any }

func (r *recorder) keep(name string, in any) { r.got[name] = in }

func strp(s string) *string { return &s }

// The answers the recorder gives, one per call; every field set.
var (
	rtTime  = time.Date(2026, 12, 1, 9, 30, 0, 0, time.UTC)
	rtSite  = admin.Site{ID: 7, Key: "k", Name: "Shop", Domains: []string{"a.example", "b.example"}, AnyOrigin: true, TimeZone: "Europe/Moscow", PhoneRegion: "KZ", RetentionDays: 90, Created: rtTime, InstallCode: "<script>"}
	rtUser  = admin.User{Email: "o@example.com", Role: "owner"}
	rtEp    = admin.Endpoint{ID: 3, URL: "https://crm.example/h", Events: []string{"lead", "call"}, Secret: "s", Created: rtTime}
	rtMatch = admin.Match{Rule: "utm_source=ya", Priority: 5, Replaces: []string{"74950000000"}}
	rtPool  = admin.Pool{Name: "ads", Numbers: []string{"1", "2"}, Fallback: "9", Reserve: "20m0s", Match: rtMatch, Live: 1, Misses: 2, Suggest: 3}
	rtNums  = admin.Numbers{Site: "k", Revision: 4, SiteNumbers: []admin.SiteNumber{{Number: "1", Written: "+1"}},
		Selectors: []string{".tel"}, Statics: []admin.Static{{Number: "5", Match: rtMatch}}, Pools: []admin.Pool{rtPool}}
)

func (r *recorder) Ping(context.Context) (admin.Ping, error) {
	r.keep("Ping", nil)
	return admin.Ping{PID: 42, Version: "v", PublicURL: "http://x"}, nil
}
func (r *recorder) Backup(context.Context) (admin.Archive, error) {
	r.keep("Backup", nil)
	return stringArchive("archive"), nil
}

// stringArchive is an archive of its bytes.
type stringArchive string

func (a stringArchive) Size() int64 { return int64(len(a)) }
func (a stringArchive) WriteTo(w io.Writer) (int64, error) {
	n, err := io.WriteString(w, string(a))
	return int64(n), err
}
func (stringArchive) Close() error { return nil }
func (r *recorder) Sites(context.Context) ([]admin.Site, error) {
	r.keep("Sites", nil)
	return []admin.Site{rtSite}, nil
}
func (r *recorder) AddSite(_ context.Context, in admin.AddSite) (admin.Site, error) {
	r.keep("AddSite", in)
	return rtSite, nil
}
func (r *recorder) SetOrigin(_ context.Context, in admin.SetOrigin) (admin.Site, error) {
	r.keep("SetOrigin", in)
	return rtSite, nil
}
func (r *recorder) SetTimeZone(_ context.Context, in admin.SetTimeZone) (admin.Site, error) {
	r.keep("SetTimeZone", in)
	return rtSite, nil
}
func (r *recorder) Rebuild(_ context.Context, in admin.Rebuild, progress func(done, total int64)) (admin.Rebuilt, error) {
	r.keep("Rebuild", in)
	progress(1, 2)
	progress(2, 2)
	return admin.Rebuilt{Site: "k", Rollups: 3, Visitors: 2, Callers: 1, TimeZone: "Europe/Moscow"}, nil
}
func (r *recorder) ExportBackfill(_ context.Context, in admin.ExportBackfill, progress func(done, total int64)) (admin.ExportBackfilled, error) {
	r.keep("ExportBackfill", in)
	progress(0, 3)
	progress(3, 3)
	return admin.ExportBackfilled{Site: "k", From: "2026-01-01", Hits: 5, Events: 4, Visitors: 3, Leads: 2, Callbacks: 1, Calls: 6, Chats: 7, ChatMessages: 8, Waiting: 9}, nil
}
func (r *recorder) ImportCosts(_ context.Context, in admin.ImportCosts) (admin.CostsImported, error) {
	r.keep("ImportCosts", in)
	return admin.CostsImported{Lines: 2, Rows: 1, From: "2026-11-01", To: "2026-11-02", Total: "10.50"}, nil
}
func (r *recorder) Prune(_ context.Context, in admin.Prune) (admin.Pruned, error) {
	r.keep("Prune", in)
	return admin.Pruned{DryRun: true, Sessions: 1, PageViews: 2, Events: 3, Deliveries: 4, Leases: 5, Captchas: 6}, nil
}
func (r *recorder) AddUser(_ context.Context, in admin.AddUser) (admin.User, error) {
	r.keep("AddUser", in)
	return rtUser, nil
}
func (r *recorder) SetPassword(_ context.Context, in admin.SetPassword) (admin.User, error) {
	r.keep("SetPassword", in)
	return rtUser, nil
}
func (r *recorder) Logout(_ context.Context, in admin.Logout) (admin.User, error) {
	r.keep("Logout", in)
	return rtUser, nil
}
func (r *recorder) AddToken(_ context.Context, in admin.AddToken) (admin.Token, error) {
	r.keep("AddToken", in)
	return admin.Token{Name: "n", Token: "t", Sites: []string{"k"}}, nil
}
func (r *recorder) Webhooks(_ context.Context, site string) ([]admin.Endpoint, error) {
	r.keep("Webhooks", site)
	return []admin.Endpoint{rtEp}, nil
}
func (r *recorder) AddWebhook(_ context.Context, in admin.AddWebhook) (admin.Endpoint, error) {
	r.keep("AddWebhook", in)
	return rtEp, nil
}
func (r *recorder) RemoveWebhook(_ context.Context, in admin.RemoveWebhook) (admin.Removed, error) {
	r.keep("RemoveWebhook", in)
	return admin.Removed{ID: 3}, nil
}
func (r *recorder) ChangeWebhook(_ context.Context, in admin.ChangeWebhook) (admin.Endpoint, error) {
	r.keep("ChangeWebhook", in)
	return rtEp, nil
}
func (r *recorder) SetCallbacks(_ context.Context, in admin.SetCallbacks) (admin.CallbackSettings, error) {
	r.keep("SetCallbacks", in)
	return admin.CallbackSettings{Site: "k", Webhook: "https://pbx.example", Secret: "s", Captcha: true, CaptchaDigits: 6, Lang: "ru",
		Groups: []admin.Group{{ID: 16587, Name: "Sales"}}}, nil
}
func (r *recorder) Numbers(_ context.Context, site string) (admin.Numbers, error) {
	r.keep("Numbers", site)
	return rtNums, nil
}
func (r *recorder) SetSiteNumbers(_ context.Context, in admin.SetSiteNumbers) (admin.Numbers, error) {
	r.keep("SetSiteNumbers", in)
	return rtNums, nil
}
func (r *recorder) AddStatic(_ context.Context, in admin.AddStatic) (admin.Static, error) {
	r.keep("AddStatic", in)
	return admin.Static{Number: "5", Match: rtMatch}, nil
}
func (r *recorder) RemoveStatic(_ context.Context, in admin.RemoveStatic) error {
	r.keep("RemoveStatic", in)
	return nil
}
func (r *recorder) AddPool(_ context.Context, in admin.PoolRequest) (admin.Pool, error) {
	r.keep("AddPool", in)
	return rtPool, nil
}
func (r *recorder) EditPool(_ context.Context, in admin.PoolRequest) (admin.Pool, error) {
	r.keep("EditPool", in)
	return rtPool, nil
}
func (r *recorder) RemovePool(_ context.Context, in admin.RemovePool) error {
	r.keep("RemovePool", in)
	return nil
}
func (r *recorder) Import(_ context.Context, in admin.Import, progress func(done, total int64)) (admin.ImportResult, error) {
	progress(3, 5)
	r.keep("Import", in)
	return admin.ImportResult{Pool: "ads", Added: []string{"1"}, Skipped: []admin.Skipped{{Line: 2, Value: "x", Reason: "not a number"}}}, nil
}

var (
	rtInfo    = admin.UserInfo{Email: "m@example.com", Role: "manager", Created: rtTime, LastLogin: &rtTime}
	rtInvited = admin.Invited{ID: "ab12", Email: "m@example.com", Role: "manager", By: "o@example.com", Link: "http://x/invite?token=t", Expires: rtTime}
	rtToken   = admin.TokenInfo{ID: "cd34", Name: "pbx", Sites: []string{"k"}, Created: rtTime, LastUsed: &rtTime}
)

func (r *recorder) Users(context.Context) ([]admin.UserInfo, error) {
	r.keep("Users", nil)
	return []admin.UserInfo{rtInfo, {Email: "o@example.com", Role: "owner", Created: rtTime}}, nil
}
func (r *recorder) Invite(_ context.Context, in admin.Invite) (admin.Invited, error) {
	r.keep("Invite", in)
	return rtInvited, nil
}
func (r *recorder) Invites(context.Context) ([]admin.Invited, error) {
	r.keep("Invites", nil)
	return []admin.Invited{rtInvited}, nil
}
func (r *recorder) CancelInvite(_ context.Context, in admin.CancelInvite) error {
	r.keep("CancelInvite", in)
	return nil
}
func (r *recorder) SetRole(_ context.Context, in admin.SetRole) (admin.User, error) {
	r.keep("SetRole", in)
	return rtUser, nil
}
func (r *recorder) RemoveUser(_ context.Context, in admin.RemoveUser) (admin.User, error) {
	r.keep("RemoveUser", in)
	return rtUser, nil
}
func (r *recorder) Tokens(context.Context) ([]admin.TokenInfo, error) {
	r.keep("Tokens", nil)
	return []admin.TokenInfo{rtToken, {ID: "ef", Name: "all", Sites: []string{}, Created: rtTime}}, nil
}
func (r *recorder) RevokeToken(_ context.Context, in admin.RevokeToken) (admin.TokenInfo, error) {
	r.keep("RevokeToken", in)
	return rtToken, nil
}
func (r *recorder) ChangeToken(_ context.Context, in admin.ChangeToken) (admin.TokenInfo, error) {
	r.keep("ChangeToken", in)
	return rtToken, nil
}
func (r *recorder) EditSite(_ context.Context, in admin.EditSite) (admin.Site, error) {
	r.keep("EditSite", in)
	return rtSite, nil
}
func (r *recorder) RemoveSite(_ context.Context, in admin.RemoveSite) (admin.Site, error) {
	r.keep("RemoveSite", in)
	return rtSite, nil
}

// TestAdminRoundTrip sends every admin call through the client and the
// server's socket handler (the route group, the decoder, the dispatcher)
// and checks that the server received the request the client was given,
// and the client the answer the server gave: the two sides cannot drift.
func TestAdminRoundTrip(t *testing.T) {
	s, _ := startInternal(t, Options{})
	rec := &recorder{got: map[string]any{}}
	s.admin = s.adminRoutes(rec)
	sock := filepath.Join(t.TempDir(), admin.SocketName)
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, nil, ln) }()
	t.Cleanup(func() { cancel(); <-done })

	c, ping, err := admin.Dial(ctx, sock)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if want := (admin.Ping{PID: 42, Version: "v", PublicURL: "http://x"}); ping != want {
		t.Errorf("ping answered %+v, want %+v", ping, want)
	}

	match := admin.Match{Rule: "referrer=google.com", Priority: -2, Replaces: []string{"74951112233", "74954445566"}}
	pool := admin.PoolRequest{Site: "k", Name: "ads", Rename: "ads2", Numbers: []string{"74950000001"}, Fallback: "74950000009", Reserve: "7d", Match: match}
	calls := []struct {
		name     string
		in, want any // what the server must receive, what the client must get
		call     func() (any, error)
	}{
		{"Ping", nil, admin.Ping{PID: 42, Version: "v", PublicURL: "http://x"}, func() (any, error) { return c.Ping(ctx) }},
		{"Backup", nil, "archive", func() (any, error) {
			body, err := c.Backup(ctx)
			if err != nil {
				return nil, err
			}
			defer body.Close()
			b, err := io.ReadAll(body)
			return string(b), err
		}},
		{"Sites", nil, []admin.Site{rtSite}, func() (any, error) { return c.Sites(ctx) }},
		{"AddSite", admin.AddSite{Name: "Shop", Domains: []string{"shop.example", "www.shop.example"}, AnyOrigin: true, TimeZone: "Europe/Moscow", PhoneRegion: "KZ"}, rtSite, nil},
		{"SetOrigin", admin.SetOrigin{Site: "k", AnyOrigin: new(bool)}, rtSite, nil},
		{"SetTimeZone", admin.SetTimeZone{Site: "k", TimeZone: "America/New_York"}, rtSite, nil},
		{"ExportBackfill", admin.ExportBackfill{Site: "k", From: "2026-01-01"}, admin.ExportBackfilled{Site: "k", From: "2026-01-01", Hits: 5, Events: 4, Visitors: 3, Leads: 2, Callbacks: 1, Calls: 6, Chats: 7, ChatMessages: 8, Waiting: 9}, nil},
		{"Rebuild", admin.Rebuild{Site: "k"}, admin.Rebuilt{Site: "k", Rollups: 3, Visitors: 2, Callers: 1, TimeZone: "Europe/Moscow"}, nil},
		{"ImportCosts", admin.ImportCosts{Site: "k", CSV: "2026-11-01,a,b,c,10.50\n"}, admin.CostsImported{Lines: 2, Rows: 1, From: "2026-11-01", To: "2026-11-02", Total: "10.50"}, nil},
		{"Prune", admin.Prune{DryRun: true}, admin.Pruned{DryRun: true, Sessions: 1, PageViews: 2, Events: 3, Deliveries: 4, Leases: 5, Captchas: 6}, nil},
		{"AddUser", admin.AddUser{Email: "ops@example.com", Password: "a long passphrase", Role: "operator"}, rtUser, nil},
		{"SetPassword", admin.SetPassword{Email: "ops@example.com", Password: "another passphrase"}, rtUser, nil},
		{"Logout", admin.Logout{Email: "ops@example.com"}, rtUser, nil},
		{"AddToken", admin.AddToken{Name: "crm", Sites: []string{"k1", "k2"}}, admin.Token{Name: "n", Token: "t", Sites: []string{"k"}}, nil},
		{"Users", nil, []admin.UserInfo{rtInfo, {Email: "o@example.com", Role: "owner", Created: rtTime}}, func() (any, error) { return c.Users(ctx) }},
		{"Invite", admin.Invite{Email: "m@example.com", Role: "manager"}, rtInvited, nil},
		{"Invites", nil, []admin.Invited{rtInvited}, func() (any, error) { return c.Invites(ctx) }},
		{"CancelInvite", admin.CancelInvite{ID: "ab12"}, nil, nil},
		{"SetRole", admin.SetRole{Email: "m@example.com", Role: "operator"}, rtUser, nil},
		{"RemoveUser", admin.RemoveUser{Email: "m@example.com"}, rtUser, nil},
		{"Tokens", nil, []admin.TokenInfo{rtToken, {ID: "ef", Name: "all", Sites: []string{}, Created: rtTime}}, func() (any, error) { return c.Tokens(ctx) }},
		{"RevokeToken", admin.RevokeToken{ID: "cd34"}, rtToken, nil},
		{"ChangeToken", admin.ChangeToken{ID: "cd34", Scopes: &[]string{"calls"}, Sites: &[]string{}}, rtToken, nil},
		{"EditSite", admin.EditSite{Site: "k", Name: strp("Shop 2"), Domains: &[]string{"shop2.example"}, PhoneRegion: strp("BY"), RetentionDays: new(int)}, rtSite, nil},
		{"RemoveSite", admin.RemoveSite{Site: "k", Confirm: "Shop"}, rtSite, nil},
		{"Webhooks", "a key&with=query", []admin.Endpoint{rtEp}, func() (any, error) { return c.Webhooks(ctx, "a key&with=query") }},
		{"AddWebhook", admin.AddWebhook{Site: "k", URL: "https://crm.example/h", Secret: "sec", Events: []string{"lead", "callback"}}, rtEp, nil},
		{"RemoveWebhook", admin.RemoveWebhook{Site: "k", ID: 1<<53 + 1}, admin.Removed{ID: 3}, nil},
		{"ChangeWebhook", admin.ChangeWebhook{Site: "k", ID: 7, URL: "https://crm2.example/h", Secret: "sec2", Events: []string{"chat"}}, rtEp, nil},
		{"SetCallbacks", admin.SetCallbacks{Site: "k", Webhook: strp(""), Secret: strp("s"), Captcha: "on", CaptchaDigits: new(int), Lang: strp("en"), Groups: strp("1 Sales; 2 Support")},
			admin.CallbackSettings{Site: "k", Webhook: "https://pbx.example", Secret: "s", Captcha: true, CaptchaDigits: 6, Lang: "ru", Groups: []admin.Group{{ID: 16587, Name: "Sales"}}}, nil},
		{"Numbers", "k", rtNums, func() (any, error) { return c.Numbers(ctx, "k") }},
		{"SetSiteNumbers", admin.SetSiteNumbers{Site: "k", Numbers: &[]string{"8 (487) 275-14-04"}, Selectors: &[]string{}}, rtNums, nil},
		{"AddStatic", admin.AddStatic{Site: "k", Number: "+7 495 182-51-69", Match: match}, admin.Static{Number: "5", Match: rtMatch}, nil},
		{"RemoveStatic", admin.RemoveStatic{Site: "k", Number: "74951825169"}, nil, nil},
		{"AddPool", pool, rtPool, nil},
		{"EditPool", pool, rtPool, nil},
		{"RemovePool", admin.RemovePool{Site: "k", Name: "ads"}, nil, nil},
		{"Import", admin.Import{Site: "k", Pool: "ads", CSV: "number\n74950000003\n"},
			admin.ImportResult{Pool: "ads", Added: []string{"1"}, Skipped: []admin.Skipped{{Line: 2, Value: "x", Reason: "not a number"}}}, nil},
	}
	// The calls with a request body, by the type of their request.
	post := func(in any) (any, error) {
		switch in := in.(type) {
		case admin.AddSite:
			return c.AddSite(ctx, in)
		case admin.SetOrigin:
			return c.SetOrigin(ctx, in)
		case admin.SetTimeZone:
			return c.SetTimeZone(ctx, in)
		case admin.Rebuild:
			// The progress the server reported reaches the client, in order.
			var got [][2]int64
			out, err := c.Rebuild(ctx, in, func(done, total int64) { got = append(got, [2]int64{done, total}) })
			if want := [][2]int64{{1, 2}, {2, 2}}; err == nil && !reflect.DeepEqual(got, want) {
				return out, fmt.Errorf("rebuild progress %v, want %v", got, want)
			}
			return out, err
		case admin.ExportBackfill:
			var got [][2]int64
			out, err := c.ExportBackfill(ctx, in, func(done, total int64) { got = append(got, [2]int64{done, total}) })
			if want := [][2]int64{{0, 3}, {3, 3}}; err == nil && !reflect.DeepEqual(got, want) {
				return out, fmt.Errorf("export backfill progress %v, want %v", got, want)
			}
			return out, err
		case admin.ImportCosts:
			return c.ImportCosts(ctx, in)
		case admin.Prune:
			return c.Prune(ctx, in)
		case admin.AddUser:
			return c.AddUser(ctx, in)
		case admin.SetPassword:
			return c.SetPassword(ctx, in)
		case admin.Logout:
			return c.Logout(ctx, in)
		case admin.AddToken:
			return c.AddToken(ctx, in)
		case admin.Invite:
			return c.Invite(ctx, in)
		case admin.CancelInvite:
			return nil, c.CancelInvite(ctx, in)
		case admin.SetRole:
			return c.SetRole(ctx, in)
		case admin.RemoveUser:
			return c.RemoveUser(ctx, in)
		case admin.RevokeToken:
			return c.RevokeToken(ctx, in)
		case admin.ChangeToken:
			return c.ChangeToken(ctx, in)
		case admin.EditSite:
			return c.EditSite(ctx, in)
		case admin.RemoveSite:
			return c.RemoveSite(ctx, in)
		case admin.AddWebhook:
			return c.AddWebhook(ctx, in)
		case admin.RemoveWebhook:
			return c.RemoveWebhook(ctx, in)
		case admin.ChangeWebhook:
			return c.ChangeWebhook(ctx, in)
		case admin.SetCallbacks:
			return c.SetCallbacks(ctx, in)
		case admin.SetSiteNumbers:
			return c.SetSiteNumbers(ctx, in)
		case admin.AddStatic:
			return c.AddStatic(ctx, in)
		case admin.RemoveStatic:
			return nil, c.RemoveStatic(ctx, in)
		case admin.RemovePool:
			return nil, c.RemovePool(ctx, in)
		case admin.Import:
			var got [][2]int64
			out, err := c.Import(ctx, in, func(done, total int64) { got = append(got, [2]int64{done, total}) })
			if want := [][2]int64{{3, 5}}; err == nil && !reflect.DeepEqual(got, want) {
				return out, fmt.Errorf("import progress %v, want %v", got, want)
			}
			return out, err
		}
		t.Fatalf("no client call for %T", in)
		return nil, nil
	}
	for _, tc := range calls {
		t.Run(tc.name, func(t *testing.T) {
			clear(rec.got)
			call := tc.call
			switch {
			case tc.name == "AddPool":
				call = func() (any, error) { return c.AddPool(ctx, pool) }
			case tc.name == "EditPool":
				call = func() (any, error) { return c.EditPool(ctx, pool) }
			case call == nil:
				call = func() (any, error) { return post(tc.in) }
			}
			got, err := call()
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("client got %#v,\nwant %#v", got, tc.want)
			}
			in, ok := rec.got[tc.name]
			if !ok || len(rec.got) != 1 {
				t.Fatalf("server called %v, want only %s", rec.got, tc.name)
			}
			if !reflect.DeepEqual(in, tc.in) {
				t.Errorf("server received %#v,\nwant %#v", in, tc.in)
			}
		})
	}
	if got, want := len(calls), len(s.admin.all); got != want {
		t.Errorf("%d calls tested, the admin route group has %d routes: test every route", got, want)
	}
}

// The admin socket is the owner's: it exists only as 0600 (or tighter),
// whatever the process's umask, with no moment between bind and chmod in
// which another user could connect.
func TestAdminSocketPrivateFromBind(t *testing.T) {
	old := unix.Umask(0)
	defer unix.Umask(old)
	sock := filepath.Join(t.TempDir(), admin.SocketName)
	ln, err := listenPrivate(sock)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	fi, err := os.Stat(sock)
	if err != nil {
		t.Fatal(err)
	}
	if perm := fi.Mode().Perm(); perm != 0o600 {
		t.Errorf("admin socket made with mode %v under umask 0, want -rw------- (README: DATA/admin.sock, mode 0600)", perm)
	}
	if now := unix.Umask(0); now != 0 {
		t.Errorf("umask left at %#o", now)
	}
}
