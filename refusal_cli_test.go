package main

import (
	"bytes"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"appliance/httpd"
	"appliance/httpd/admin"
)

// runBinary runs the appliance binary (this test binary as main) with
// args and stdin, and returns its exit status and stderr.
func runBinary(t *testing.T, stdin string, args ...string) (int, string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), "APPLIANCE_TEST_MAIN=1")
	cmd.Stdin = strings.NewReader(stdin)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatalf("appliance %s: %v", strings.Join(args, " "), err)
	}
	return cmd.ProcessState.ExitCode(), stderr.String()
}

// A value of a flag or argument that only the server checks (the running
// server's over its socket, or the handlers served in-process when none
// runs) is a usage error as the command's own checks are: exit 2, the
// server's message and the command's --help. Missing things (404) and
// what a command read from a file or stdin (a costs file's lines, a
// password) stay failures, exit 1. Run as the binary.
func TestServerRefusedValueIsAUsageError(t *testing.T) {
	badCosts := filepath.Join(t.TempDir(), "costs.csv")
	if err := os.WriteFile(badCosts, []byte("2026-11-01,yandex,cpc,autumn,lots\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, mode := range []string{"server", "no server"} {
		t.Run(mode, func(t *testing.T) {
			var dir, key string
			if mode == "server" {
				dir = t.TempDir()
				startServe(t, dir)
				key = addSite(t, dir).Key
			} else {
				dir, key = offlineSite(t)
			}
			for _, tc := range []struct {
				stdin string
				args  []string
				code  int
				say   []string
			}{
				{"", []string{"numbers", "pool", "add", "--site", key, "--name", "ads", "--numbers", "74950000001", "--reserve", "1m"}, 2,
					[]string{"reserve 1m", "Run 'appliance numbers pool add --help' for usage."}},
				{"", []string{"numbers", "pool", "add", "--site", key, "--name", "ads", "--numbers", "74950000001", "--addr-cap", "-1"}, 2,
					[]string{"address cap -1", "Run 'appliance numbers pool add --help' for usage."}},
				{"", []string{"numbers", "static", "add", "--site", key, "--number", "12"}, 2,
					[]string{"wrong number of digits", "Run 'appliance numbers static add --help' for usage."}},
				{"", []string{"site", "add", "--name", "Mars", "--domain", "mars.example", "--time-zone", "Mars/Olympus"}, 2,
					[]string{"Mars/Olympus", "Run 'appliance site add --help' for usage."}},
				{"", []string{"site", "set", "--site", key, "--time-zone", "Mars/Olympus"}, 2,
					[]string{"Mars/Olympus", "Run 'appliance site set --help' for usage."}},
				// The domain refused, quoted whole as the dashboard's
				// forms now quote it too (sites.SplitDomains).
				{"", []string{"site", "add", "--name", "Mars", "--domain", "mars.example,my shop.ru"}, 2,
					[]string{`site add: "my shop.ru" is not a domain name`, "Run 'appliance site add --help' for usage."}},
				{"correct horse battery\n", []string{"user", "add", "not-an-email"}, 2,
					[]string{"not-an-email", "Run 'appliance user add --help' for usage."}},
				// Not usage errors: a site that is not there, a password
				// read from stdin, a costs file's bad line.
				{"", []string{"numbers", "list", "--site", strings.Repeat("A", 32)}, 1, []string{"no site has the key"}},
				{"short\n", []string{"user", "add", "anna@example.com"}, 1, []string{"the password must be at least"}},
				{"", []string{"costs", "import", "--site", key, badCosts}, 1, []string{"line 1"}},
				// The file's lines are answered as 422 (it exited 1 for
				// any refusal, a --site "" with KEY unset too).
				{"", []string{"costs", "import", "--site", "", badCosts}, 2,
					[]string{"costs import: site_key is required", "Run 'appliance costs import --help' for usage."}},
			} {
				code, stderr := runBinary(t, tc.stdin, append(tc.args, "--data", dir)...)
				ok := code == tc.code
				for _, s := range tc.say {
					ok = ok && strings.Contains(stderr, s)
				}
				if tc.code != 2 && strings.Contains(stderr, "--help") {
					ok = false
				}
				if !ok {
					t.Errorf("appliance %s: exit %d, stderr %q; want exit %d saying %q", strings.Join(tc.args, " "), code, stderr, tc.code, tc.say)
				}
			}
		})
	}
}

// The calls whose answers stream their progress (numbers import, reports
// rebuild, export backfill) tell a refused value of the request from a
// failure as the other calls do: a usage error exits 2 with the command's
// --help (they exited 1, the streamed answer's status being 200 before
// the work began), what a file held that was refused stays a failure (1).
// Over a running server's socket and in-process alike. Run as the binary.
func TestStreamedRefusalsAreUsageErrors(t *testing.T) {
	numbersFile := filepath.Join(t.TempDir(), "numbers.txt")
	if err := os.WriteFile(numbersFile, []byte("74950000001\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	badFile := filepath.Join(t.TempDir(), "bad.csv")
	if err := os.WriteFile(badFile, []byte("name,city\nAnna,Moscow\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, mode := range []string{"server", "no server"} {
		t.Run(mode, func(t *testing.T) {
			var dir, key string
			if mode == "server" {
				dir = t.TempDir()
				startServe(t, dir)
				key = addSite(t, dir).Key
			} else {
				dir, key = offlineSite(t)
			}
			if code, stderr := runBinary(t, "", "numbers", "pool", "add", "--site", key, "--name", "ads", "--numbers", "74950000009", "--data", dir); code != 0 {
				t.Fatalf("numbers pool add: exit %d, %s", code, stderr)
			}
			cases := []struct {
				args []string
				code int
				say  []string
			}{
				// --site "$KEY" with KEY unset.
				{[]string{"numbers", "import", "--site", "", "--pool", "ads", numbersFile}, 2,
					[]string{"appliance: numbers import: site_key is required\n", "Run 'appliance numbers import --help' for usage.\n"}},
				{[]string{"reports", "rebuild", "--site", ""}, 2,
					[]string{"appliance: reports rebuild: site_key is required\n", "Run 'appliance reports rebuild --help' for usage.\n"}},
				// Not usage errors: a file the server cannot read numbers
				// from, a site not there.
				{[]string{"numbers", "import", "--site", key, "--pool", "ads", badFile}, 1,
					[]string{"appliance: numbers import: read import: line 1: cannot tell which column holds the numbers"}},
				{[]string{"reports", "rebuild", "--site", strings.Repeat("A", 32)}, 1, []string{"no site has the key"}},
			}
			if mode == "server" {
				// With no server, backfill needs --export to get this far.
				cases = append(cases, struct {
					args []string
					code int
					say  []string
				}{[]string{"export", "backfill", "--site", "", "--from", "2026-01-01"}, 2,
					[]string{"appliance: export backfill: site_key is required\n", "Run 'appliance export backfill --help' for usage.\n"}})
			}
			for _, tc := range cases {
				code, stderr := runBinary(t, "", append(tc.args, "--data", dir)...)
				ok := code == tc.code
				for _, s := range tc.say {
					ok = ok && strings.Contains(stderr, s)
				}
				if tc.code != 2 && strings.Contains(stderr, "--help") {
					ok = false
				}
				if !ok {
					t.Errorf("appliance %s: exit %d, stderr %q; want exit %d saying %q", strings.Join(tc.args, " "), code, stderr, tc.code, tc.say)
				}
			}
		})
	}
}

// site set --time-zone the server would refuse is refused before --name
// given with it renames the site (the zone is set by a call after it).
func TestSiteSetTimeZoneRefusedBeforeTheRest(t *testing.T) {
	dir, site := offlineSite(t)
	name, zone := "Renamed", "Mars/Olympus"
	err := runSiteSet(t.Context(), SiteSetOptions{Data: dir, Site: site, Name: &name, TimeZone: &zone}, io.Discard)
	var sb strings.Builder
	if code := exitCode(err, &sb); code != 2 || !strings.Contains(sb.String(), `site set: unknown time zone "Mars/Olympus"`) {
		t.Errorf("site set --time-zone %s: exit %d, %q; want 2 and the unknown zone", zone, code, sb.String())
	}
	var out strings.Builder
	if err := runSiteList(t.Context(), AdminOptions{Data: dir}, &out); err != nil || strings.Contains(out.String(), "Renamed") {
		t.Errorf("a refused site set renamed the site: %v\n%s", err, out.String())
	}
}

// What a command names that is not there (a static number, a pool, a
// webhook) is refused as a user or token not there is: a failure (1) that
// names the command listing what there is. Run as the binary.
func TestNotThereNamesWhatListsThem(t *testing.T) {
	dir, key := offlineSite(t)
	file := filepath.Join(t.TempDir(), "numbers.txt")
	if err := os.WriteFile(file, []byte("74950000001\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	list := "(appliance numbers list --site " + key + " shows them)"
	for _, tc := range []struct {
		args []string
		say  string
	}{
		{[]string{"numbers", "static", "remove", "--site", key, "--number", "74951112233"},
			`appliance: numbers static remove: the site has no static number "74951112233" ` + list + "\n"},
		{[]string{"numbers", "pool", "remove", "--site", key, "--name", "ads"},
			`appliance: numbers pool remove: the site has no pool named "ads" ` + list + "\n"},
		// Edit and import need the pool: they say what makes one.
		{[]string{"numbers", "pool", "edit", "--site", key, "--name", "ads", "--reserve", "1h"},
			`appliance: numbers pool edit: the site has no pool named "ads" (appliance numbers list --site ` + key + " shows them; numbers pool add makes one)\n"},
		{[]string{"numbers", "import", "--site", key, "--pool", "ads", file},
			`appliance: numbers import: the site has no pool named "ads" (appliance numbers list --site ` + key + " shows them; numbers pool add makes one)\n"},
		{[]string{"webhook", "remove", "--site", key, "--id", "5"},
			"appliance: webhook remove: site " + key + " has no webhook 5 (appliance webhook list --site " + key + " shows them)\n"},
		{[]string{"reports", "rebuild", "--site", strings.Repeat("A", 32)},
			`appliance: reports rebuild: no site has the key "` + strings.Repeat("A", 32) + `" (appliance site list shows them)` + "\n"},
	} {
		code, stderr := runBinary(t, "", append(tc.args, "--data", dir)...)
		if code != 1 || stderr != tc.say {
			t.Errorf("appliance %s: exit %d, stderr %q; want exit 1 and %q", strings.Join(tc.args, " "), code, stderr, tc.say)
		}
	}
	// The server's edit of a pool not there (gone since the command read
	// the site's pools) says it in the same words.
	c, err := httpd.OpenAdmin(t.Context(), dir, httpd.Options{Version: "test"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_, err = c.EditPool(t.Context(), admin.PoolRequest{Site: key, Name: "ads", Numbers: []string{"74950000001"}})
	if want := admin.NoPool(key, "ads", true); err == nil || err.Error() != want {
		t.Errorf("EditPool of no pool: %v, want %q", err, want)
	}
}

// restore onto a data directory that holds a store, without --force, is
// refused before the archive is read: the command line is what to change
// (--force, or another --data), a usage error (2) that says both. Run as
// the binary.
func TestRestoreOntoAStoreIsAUsageError(t *testing.T) {
	dir, _ := offlineSite(t)
	archive := filepath.Join(t.TempDir(), "b.tar")
	if err := runBackup(t.Context(), BackupOptions{Data: dir, Output: archive}, io.Discard); err != nil {
		t.Fatal(err)
	}
	code, stderr := runBinary(t, "", "restore", archive, "--data", dir)
	want := "appliance: restore: --data " + dir + ": data directory already holds a store; add --force to replace it " +
		"(its sites, users, tokens, numbers, leads and visits), or give --data another directory\n" +
		"Run 'appliance restore --help' for usage.\n"
	if code != 2 || stderr != want {
		t.Errorf("restore onto a store: exit %d, stderr %q; want exit 2 and %q", code, stderr, want)
	}
}

// The refusals found walking the commands with bad input: each names the
// command and what to do, and exits as README's Commands says (a --data
// that is a file is a failure, 1, as a --data serve cannot open is; so is
// a site key not there, for token add as for every other command). Run as
// the binary.
func TestRefusalsNameTheCommand(t *testing.T) {
	dir, key := offlineSite(t)
	file := filepath.Join(t.TempDir(), "data")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	empty := t.TempDir()
	noStore := "no store in " + empty + " (start `appliance serve --data " + empty + "` once to create it)\n"
	for _, tc := range []struct {
		args []string
		code int
		say  string
	}{
		// A directory with no store is refused by the command, as the
		// rest are (it said "appliance: no store in ...").
		{[]string{"site", "list", "--data", empty}, 1, "appliance: site list: " + noStore},
		{[]string{"user", "add", "anna@example.com", "--data", empty}, 1, "appliance: user add: " + noStore},
		{[]string{"backup", "-o", filepath.Join(t.TempDir(), "b.tar"), "--data", empty}, 1, "appliance: backup: " + noStore},
		{[]string{"user", "uninvite", "0123", "--data", empty}, 1, "appliance: user uninvite: " + noStore},
		{[]string{"export", "backfill", "--site", key, "--from", "2026-01-01", "--data", empty}, 1, "appliance: export backfill: " + noStore},
		{[]string{"site", "list", "--data", file}, 1,
			"appliance: --data " + file + " is a file, not a directory: give --data the directory of the store (serve makes it where there is none)\n"},
		{[]string{"serve", "--listen", "127.0.0.1:0", "--data", file}, 1,
			"appliance: serve: --data " + file + " is a file, not a directory"},
		{[]string{"restore", "-", "--data", filepath.Join(file, "sub")}, 1,
			"appliance: --data " + filepath.Join(file, "sub") + ": " + file + " is a file, not a directory: give --data the directory of the store\n"},
		{[]string{"token", "change", "0123", "--data", dir}, 2,
			"appliance: token change: give what to change: --name, --site or --every-site, --scope or --every-scope\nRun 'appliance token change --help' for usage.\n"},
		{[]string{"token", "add", "--name", "crm", "--site", "nope", "--data", dir}, 1,
			"appliance: token add: no site has the key \"nope\" (appliance site list shows them)\n"},
		{[]string{"user", "add", "anna@example.com", "--data", dir}, 1,
			"appliance: user add: no password on stdin"},
		// Taken and ignored: exit 0, the invite made without a word.
		{[]string{"user", "invite", "anna@example.com", "--lang", "en", "--data", dir}, 2,
			"appliance: user invite: --lang applies only with --send, which is not given: add --send to email the link in that language, or leave out --lang\n"},
		// A first user who is no owner closed the setup link for good.
		{[]string{"user", "invite", "anna@example.com", "--role", "manager", "--data", dir}, 1,
			"appliance: user invite: the appliance has no owner yet: make the owner first (the setup link serve prints, or appliance user add EMAIL --role owner)\n"},
		// cobra printed the root's help and exited 0.
		{[]string{"help", "site", "lst"}, 2, "appliance: help: no command \"site lst\"; appliance --help lists them\n"},
		// The Numbers page's "Reserve "forever": write it like ...".
		{[]string{"numbers", "pool", "add", "--site", key, "--name", "ads", "--numbers", "74950000001", "--reserve", "forever", "--data", dir}, 2,
			"appliance: numbers pool add: --reserve \"forever\": write it like 20m, 2h or 7d\nRun 'appliance numbers pool add --help' for usage.\n"},
		// With no server it said "the server runs without --export".
		{[]string{"export", "backfill", "--site", key, "--from", "2026-01-01", "--data", dir}, 2,
			"appliance: export backfill: no server runs on --data " + dir + " to publish through: give --export nats://HOST:4222 to publish to it directly\n"},
	} {
		code, stderr := runBinary(t, "", tc.args...)
		if code != tc.code || !strings.HasPrefix(stderr, tc.say) {
			t.Errorf("appliance %s: exit %d, stderr %q; want exit %d and %q", strings.Join(tc.args, " "), code, stderr, tc.code, tc.say)
		}
	}
}

// APPLIANCE_DATA set to a file is named as it was given.
func TestDataVariableThatIsAFileNamed(t *testing.T) {
	file := filepath.Join(t.TempDir(), "data")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "site", "list")
	cmd.Env = append(os.Environ(), "APPLIANCE_TEST_MAIN=1", "APPLIANCE_DATA="+file)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	want := "appliance: APPLIANCE_DATA=" + file + " is a file, not a directory: give --data the directory of the store"
	if !errors.As(err, &ee) || ee.ExitCode() != 1 || !strings.HasPrefix(stderr.String(), want) {
		t.Errorf("site list with APPLIANCE_DATA a file: %v, stderr %q; want exit 1 and %q", err, stderr.String(), want)
	}
}
