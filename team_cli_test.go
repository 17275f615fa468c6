package main

import (
	"bytes"
	"context"
	"io"
	"mime/quotedprintable"
	netmail "net/mail"
	"regexp"
	"strings"
	"testing"
	"time"

	"appliance/httpd/accounts"
	"appliance/httpd/notice/mailtest"
	"appliance/store/storetest"
)

// cli runs `appliance args...` on the data directory dir and returns what
// it printed.
func cli(t *testing.T, dir string, args ...string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	root := newRoot(&out)
	root.SetArgs(append(args, "--data", dir))
	err := root.Execute()
	return out.String(), err
}

// The team from the shell, without a server: invite, list, role, remove;
// tokens listed and revoked; a site renamed, given new domains, removed.
func TestTeamCLI(t *testing.T) {
	dir, key := offlineSite(t)
	ownerIn(t, dir)
	must := func(args ...string) string {
		t.Helper()
		out, err := cli(t, dir, args...)
		if err != nil {
			t.Fatalf("appliance %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return out
	}
	out := must("user", "invite", "anna@example.com", "--role", "manager")
	link := regexp.MustCompile(`http://\S+/invite\?token=(\S+)`).FindStringSubmatch(out)
	if link == nil || !strings.Contains(out, "as manager") {
		t.Fatalf("user invite printed %q", out)
	}
	if out := must("user", "invites"); !strings.Contains(out, "anna@example.com") {
		t.Errorf("user invites printed %q", out)
	}
	if out, err := cli(t, dir, "user", "role", "nobody@example.com", "manager"); err == nil {
		t.Errorf("role of nobody: %q", out)
	}

	db := storetest.OpenAt(t, dir)
	a := accounts.New(db)
	if _, _, _, err := a.AcceptInvite(t.Context(), link[1], "a long enough secret"); err != nil {
		t.Fatal(err)
	}
	if _, err := a.CreateToken(t.Context(), "pbx", nil); err != nil {
		t.Fatal(err)
	}
	db.Close()

	if out := must("user", "list"); !strings.Contains(out, "anna@example.com") || !strings.Contains(out, "manager") {
		t.Errorf("user list printed %q", out)
	}
	if out := must("user", "role", "anna@example.com", "operator"); !strings.Contains(out, "anna@example.com is now operator") {
		t.Errorf("user role printed %q", out)
	}
	if out := must("user", "remove", "anna@example.com"); !strings.Contains(out, "removed") {
		t.Errorf("user remove printed %q", out)
	}
	if out, err := cli(t, dir, "user", "remove", "anna@example.com"); err == nil || !strings.Contains(err.Error(), `no user has the email "anna@example.com"`) {
		t.Errorf("remove twice: %v %q", err, out)
	}

	out = must("token", "list")
	id := regexp.MustCompile(`(?m)^([0-9a-f]{64})\s+pbx\s+every site\s+scopes: all\s+last used: never$`).FindStringSubmatch(out)
	if id == nil {
		t.Fatalf("token list printed %q", out)
	}
	// Changed in place: the same id, another name, one site, one scope;
	// then back to everything.
	if out := must("token", "change", id[1], "--name", "pbx-2", "--site", key, "--scope", "calls"); !strings.Contains(out, id[1]+"  pbx-2") ||
		!strings.Contains(out, key+"  scopes: calls") {
		t.Errorf("token change printed %q", out)
	}
	if out, err := cli(t, dir, "token", "change", id[1], "--scope", "admin"); err == nil || !strings.Contains(err.Error(), "no scope is named") {
		t.Errorf("an unknown scope: %v %q", err, out)
	}
	if out, err := cli(t, dir, "token", "change", id[1], "--scope", "calls", "--every-scope"); err == nil || !strings.Contains(err.Error(), "not both") {
		t.Errorf("--scope with --every-scope: %v %q", err, out)
	}
	if out, err := cli(t, dir, "token", "change", id[1]); err == nil || !strings.Contains(err.Error(), "give what to change") {
		t.Errorf("nothing to change: %v %q", err, out)
	}
	if out := must("token", "change", id[1], "--every-site", "--every-scope"); !strings.Contains(out, "pbx-2") || !strings.Contains(out, "every site  scopes: all") {
		t.Errorf("token change back printed %q", out)
	}
	if out := must("token", "revoke", id[1]); !strings.Contains(out, `"pbx-2" revoked`) {
		t.Errorf("token revoke printed %q", out)
	}
	if out := must("token", "list"); strings.Contains(out, "pbx") {
		t.Errorf("after revoke token list printed %q", out)
	}

	if out := must("site", "set", "--site", key, "--name", "Shop 2", "--domain", "shop2.example,www.shop2.example"); !strings.Contains(out, "shop2.example, www.shop2.example") {
		t.Errorf("site set printed %q", out)
	}
	if out, err := cli(t, dir, "site", "remove", "--site", key, "--confirm", "Shop"); err == nil || !strings.Contains(err.Error(), `type the site's name, "Shop 2"`) {
		t.Errorf("remove with the old name: %v %q", err, out)
	}
	must("numbers", "static", "add", "--site", key, "--number", "74951825168")
	out = must("site", "add", "--name", "Other", "--domain", "other.example")
	other := regexp.MustCompile(`site key: (\w+)`).FindStringSubmatch(out)[1]
	if out, err := cli(t, dir, "numbers", "static", "add", "--site", other, "--number", "74951825168"); err == nil {
		t.Fatalf("two sites took the same number: %q", out)
	}
	if out := must("site", "remove", "--site", key, "--confirm", "shop 2"); !strings.Contains(out, "stays in the store and in backups") {
		t.Errorf("site remove printed %q", out)
	}
	if out := must("site", "list"); strings.Contains(out, key) {
		t.Errorf("the removed site is listed: %q", out)
	}
	// Its numbers are free for another site.
	must("numbers", "static", "add", "--site", other, "--number", "74951825168")
}

// `user invite --send` has the running server queue the link's email and
// send it (its --smtp), in the language asked for, and still prints it;
// with no server with --smtp it refuses and makes no invite.
func TestUserInviteSend(t *testing.T) {
	dir, _ := offlineSite(t)
	ownerIn(t, dir)
	if out, err := cli(t, dir, "user", "invite", "anna@example.com", "--send"); err == nil || !strings.Contains(err.Error(), "--smtp") {
		t.Errorf("--send without a server: %v\n%s", err, out)
	}
	if out, _ := cli(t, dir, "user", "invites"); !strings.Contains(out, "no invites") {
		t.Errorf("a refused --send made an invite: %s", out)
	}

	relay := mailtest.Start(t)
	ctx, cancel := context.WithCancel(context.Background())
	ready, done := make(chan string, 1), make(chan error, 1)
	go func() {
		done <- runServe(ctx, ServeOptions{Data: dir, Listen: "127.0.0.1:0", Version: "test", SMTP: relay.URL(), SMTPFrom: "noreply@shop.example"},
			io.Discard, func(a string) { ready <- a })
	}()
	select {
	case <-ready:
	case err := <-done:
		cancel()
		t.Fatalf("serve: %v", err)
	}
	t.Cleanup(func() { cancel(); <-done })

	out, err := cli(t, dir, "user", "invite", "Anna@Example.com", "--role", "manager", "--send", "--lang", "en")
	link := regexp.MustCompile(`http://\S+/invite\?token=\S+`).FindString(out)
	if err != nil || link == "" || !strings.Contains(out, "queued to be emailed") {
		t.Fatalf("user invite --send: %v\n%s", err, out)
	}
	for deadline := time.Now().Add(15 * time.Second); len(relay.Messages()) == 0; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("timed out waiting for the queued invite email")
		}
	}
	m := relay.Messages()
	if len(m) != 1 || len(m[0].To) != 1 || m[0].To[0] != "anna@example.com" {
		t.Fatalf("messages: %+v", m)
	}
	msg, err := netmail.ReadMessage(bytes.NewReader(m[0].Data))
	if err != nil {
		t.Fatal(err)
	}
	text, _ := io.ReadAll(quotedprintable.NewReader(msg.Body))
	if s := strings.ReplaceAll(string(text), "\r\n", "\n"); !strings.Contains(s, "\n"+link+"\n") || !strings.Contains(s, "You are invited to the dashboard") || !strings.Contains(s, "as manager") {
		t.Errorf("the invite email:\n%s", s)
	}
	if out, err := cli(t, dir, "user", "invite", "ops@example.com", "--send", "--lang", "de"); err == nil {
		t.Errorf("--lang de: %s", out)
	}
}

// The --role help of user add and user invite says what an operator may do
// as the roles table (httpd/roles.go) and the README have it: callbacks and
// the chat console, not "callbacks only".
func TestRoleHelpNamesOperatorsChat(t *testing.T) {
	for _, path := range [][]string{{"user", "add"}, {"user", "invite"}} {
		c, _, err := newRoot(io.Discard).Find(path)
		if err != nil {
			t.Fatal(err)
		}
		usage := c.Flags().Lookup("role").Usage
		if !strings.Contains(usage, "operator (callbacks and the chat console)") {
			t.Errorf("appliance %s --role: %q does not say an operator has the callbacks and the chat console", strings.Join(path, " "), usage)
		}
	}
}

// A role that is none says so and which are, in the words of the other
// refusals ("unknown time zone %q: give ..."), not `role "admin" (owner,
// manager or operator)`; a value the command cannot take, a usage error.
func TestUnknownRoleSaysWhichAre(t *testing.T) {
	dir, _ := offlineSite(t)
	for _, args := range [][]string{{"user", "invite", "anna@example.com", "--role", "admin"}, {"user", "role", "anna@example.com", "admin"}} {
		_, err := cli(t, dir, args...)
		var stderr bytes.Buffer
		code := exitCode(err, &stderr)
		want := "appliance: " + strings.Join(args[:2], " ") + ": unknown role \"admin\": give owner, manager or operator\n"
		if line, _, _ := strings.Cut(stderr.String(), "\n"); code != 2 || line+"\n" != want {
			t.Errorf("appliance %s: exit %d, printed %q; want 2, %q", strings.Join(args, " "), code, stderr.String(), want)
		}
	}
}

// user list on a store with no users says how the first is made, as
// site list, token list and user invites say what to do when empty; it
// printed nothing.
func TestUserListOfNoUsersSaysHowToAddOne(t *testing.T) {
	dir, _ := offlineSite(t)
	out, err := cli(t, dir, "user", "list")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(out, "no users yet: open the one-time setup link appliance serve printed, or appliance user add EMAIL") {
		t.Errorf("user list with no users printed %q", out)
	}
}

// A command given an address no user has, or an id no API token has, names
// it and where they are listed; it said "no such user" or "no such API
// token", which left a mistyped address and a person never added alike.
// Each is what the command names that is not there, exit 1, as the README
// says and site set --site of no site does: token add --user of no user
// too, as its --site of no site (it exited 2 with usage text).
func TestTeamCLINamesWhatIsNotThere(t *testing.T) {
	dir, _ := offlineSite(t)
	const id = "30a5e6dbdabb145b2f6009fd0b60d409aa324c54905f3f254612cde656dd46c6"
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"user", "role", "nobody@example.com", "manager"}, 1, `no user has the email "nobody@example.com" (appliance user list shows them)`},
		{[]string{"user", "remove", "nobody@example.com"}, 1, `no user has the email "nobody@example.com" (appliance user list shows them)`},
		{[]string{"user", "logout", "nobody@example.com"}, 1, `no user has the email "nobody@example.com" (appliance user list shows them)`},
		{[]string{"token", "add", "--name", "bot", "--user", "nobody@example.com"}, 1, `no user has the email "nobody@example.com" (appliance user list shows them)`},
		{[]string{"token", "add", "--name", "bot", "--site", "nosuchsite"}, 1, `no site has the key "nosuchsite" (appliance site list shows them)`},
		{[]string{"token", "revoke", id}, 1, `no API token has the id "` + id + `" (appliance token list shows them)`},
		{[]string{"token", "change", id, "--name", "x"}, 1, `no API token has the id "` + id + `" (appliance token list shows them)`},
	} {
		_, err := cli(t, dir, c.args...)
		var stderr bytes.Buffer
		code := exitCode(err, &stderr)
		want := "appliance: " + strings.Join(c.args[:2], " ") + ": " + c.want + "\n"
		if line, _, _ := strings.Cut(stderr.String(), "\n"); code != c.code || line+"\n" != want {
			t.Errorf("appliance %s: exit %d, printed %q; want %d, %q", strings.Join(c.args, " "), code, stderr.String(), c.code, want)
		}
	}
}

// token list names the user a token acts as (token add --user), as the
// API tokens page does: from the shell an owner could not tell the bot
// answering chats under anna's name from one under its own.
func TestTokenListNamesWhomItActsAs(t *testing.T) {
	dir, _ := offlineSite(t)
	ownerIn(t, dir)
	db := storetest.OpenAt(t, dir)
	if _, err := accounts.New(db).CreateUser(t.Context(), "anna@example.com", "a long enough secret", accounts.RoleOperator); err != nil {
		t.Fatal(err)
	}
	db.Close()
	for _, args := range [][]string{{"token", "add", "--name", "bot", "--scope", "chats", "--user", "anna@example.com"}, {"token", "add", "--name", "pbx"}} {
		if out, err := cli(t, dir, args...); err != nil {
			t.Fatalf("appliance %s: %v %q", strings.Join(args, " "), err, out)
		}
	}
	out, err := cli(t, dir, "token", "list")
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`(?m)\s+bot\s+every site  scopes: chats  acts as anna@example.com  last used: never$`).MatchString(out) ||
		!regexp.MustCompile(`(?m)\s+pbx\s+every site  scopes: all  last used: never$`).MatchString(out) {
		t.Errorf("token list printed %q", out)
	}
}

// user add of an address that has an account says so by the address and
// what to run instead ("user already exists" did neither); user uninvite
// of an id no invite has says that to the owner, not the invitee's "this
// invite link is invalid ...; ask the owner for a new one".
func TestTeamCLISaysWhatToDoInstead(t *testing.T) {
	dir, _ := offlineSite(t)
	ctx := t.Context()
	if err := runUserAdd(ctx, UserOptions{Data: dir, Email: "owner@example.com"}, strings.NewReader("a long enough secret\n"), io.Discard); err != nil {
		t.Fatal(err)
	}
	err := runUserAdd(ctx, UserOptions{Data: dir, Email: "owner@example.com"}, strings.NewReader("another long secret\n"), io.Discard)
	var stderr bytes.Buffer
	if code, want := exitCode(err, &stderr), "appliance: user add: owner@example.com already has an account (appliance user passwd owner@example.com sets a new password)\n"; code != 1 || stderr.String() != want {
		t.Errorf("user add twice: exit %d, printed %q; want 1, %q", code, stderr.String(), want)
	}
	_, err = cli(t, dir, "user", "uninvite", "3f2a")
	stderr.Reset()
	if code, want := exitCode(err, &stderr), "appliance: user uninvite: no invite waiting has the id \"3f2a\" (appliance user invites shows them)\n"; code != 1 || stderr.String() != want {
		t.Errorf("user uninvite of no invite: exit %d, printed %q; want 1, %q", code, stderr.String(), want)
	}
}

// ownerIn makes the owner (owner@example.com) in the store at dir, the
// first user every other is made after (accounts.ErrNoOwner).
func ownerIn(t *testing.T, dir string) {
	t.Helper()
	db := storetest.OpenAt(t, dir)
	defer db.Close()
	if _, err := accounts.New(db).CreateUser(t.Context(), "owner@example.com", "the owner's long secret", accounts.RoleOwner); err != nil {
		t.Fatal(err)
	}
}
