package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// `site list` prints each site's install code, as the README says.
func TestSiteListPrintsInstallCode(t *testing.T) {
	dir, key := offlineSite(t)
	var out bytes.Buffer
	if err := runSiteList(context.Background(), AdminOptions{Data: dir}, &out); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{key + "  Shop", "install code:", `__cs.push(["setCsAccount", "` + key + `"]);`, "static/cs.min.js"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("site list printed %q, want %q in it", out.String(), want)
		}
	}
}

// An error a user sees names no internal package ("store: ...").
func TestErrorsWithoutPackagePrefixes(t *testing.T) {
	dir, _ := offlineSite(t)
	archive := filepath.Join(t.TempDir(), "b.tar")
	if err := runBackup(context.Background(), BackupOptions{Data: dir, Output: archive}, io.Discard); err != nil {
		t.Fatal(err)
	}
	err := runRestore(context.Background(), RestoreOptions{Data: dir, File: archive}, io.Discard)
	if err == nil {
		t.Fatal("restore onto a store without --force succeeded")
	}
	var stderr bytes.Buffer
	exitCode(err, &stderr)
	// "restore: " is the command's name, not the package's.
	if got := stderr.String(); strings.Contains(strings.ReplaceAll(got, "restore: ", ""), "store: ") || !strings.Contains(got, "already holds a store") {
		t.Errorf("printed %q", got)
	}
	stderr.Reset()
	exitCode(fmt.Errorf("user add: %w", errors.New("accounts: invalid input: \"x\" is not an email address")), &stderr)
	if got, want := stderr.String(), "appliance: user add: \"x\" is not an email address\n"; got != want {
		t.Errorf("printed %q, want %q", got, want)
	}
	// The event stream's package too: serve --export-subject 'a..b' said
	// "--export-subject: export: bad subject ...".
	stderr.Reset()
	exitCode(fmt.Errorf("--export-subject: %w", fmt.Errorf("%w %q: an empty part between dots", errors.New("export: bad subject"), "a..b")), &stderr)
	if got, want := stderr.String(), "appliance: --export-subject: bad subject \"a..b\": an empty part between dots\n"; got != want {
		t.Errorf("printed %q, want %q", got, want)
	}
}

// With --listen 127.0.0.1:0 the setup link and the public URL printed
// show the port the server really listens on.
func TestServePortZeroPrintsRealPort(t *testing.T) {
	addr, output, _ := startServeOutput(t, t.TempDir())
	if !strings.Contains(output, "http://"+addr+"/setup?token=") {
		t.Errorf("serve on %s printed %q, want the setup link on that address", addr, output)
	}
	if strings.Contains(output, ":0/") {
		t.Errorf("serve printed port 0: %q", output)
	}
}

// A reservation time out of range is told in the units the help uses.
func TestReserveErrorInHelpUnits(t *testing.T) {
	dir, key := offlineSite(t)
	for _, reserve := range []string{"1m", "8d"} {
		err := runPoolAdd(context.Background(), PoolOptions{Data: dir, Site: key, Name: "x", Numbers: []string{"74952220001"}, Reserve: reserve}, io.Discard)
		if err == nil || !strings.Contains(err.Error(), "reserve "+reserve+": want 5m to 7d") {
			t.Errorf("reserve %s: %v, want \"reserve %s: want 5m to 7d\"", reserve, err, reserve)
		}
	}
}

// backup -o into a folder that does not exist says so.
func TestBackupIntoMissingFolder(t *testing.T) {
	dir, _ := offlineSite(t)
	missing := filepath.Join(t.TempDir(), "no-such-folder")
	err := runBackup(context.Background(), BackupOptions{Data: dir, Output: filepath.Join(missing, "b.tar")}, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "folder") || !strings.Contains(err.Error(), missing) || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("backup into a missing folder: %v", err)
	}
}

// restore --force onto a store says that it replaced it and what.
func TestRestoreForceSaysWhatItReplaces(t *testing.T) {
	dir, _ := offlineSite(t)
	archive := filepath.Join(t.TempDir(), "b.tar")
	if err := runBackup(context.Background(), BackupOptions{Data: dir, Output: archive}, io.Discard); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	fresh := t.TempDir()
	if err := runRestore(context.Background(), RestoreOptions{Data: fresh, File: archive, Force: true}, &out); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out.String(), "replacing") {
		t.Errorf("restore into an empty folder printed %q", out.String())
	}
	out.Reset()
	if err := runRestore(context.Background(), RestoreOptions{Data: dir, File: archive, Force: true}, &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "replacing the store that was there: its sites, users") {
		t.Errorf("restore --force onto a store printed %q", out.String())
	}
}

// Every mistake in how a command is called, whoever finds it (cobra's
// argument, sub-command and required-flag checks, or ours), exits 2 and
// points at that command's help; a group command without a sub-command
// shows its help and exits 0. Run as the binary, exit code included.
func TestUsageMistakesExitTwo(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		args      []string
		code      int
		say, hint string
	}{
		{[]string{"backup"}, 2, "appliance: backup needs --output\n", "appliance backup --help"},
		{[]string{"backup", "extra", "-o", "x.tar"}, 2, `backup takes no arguments, only flags; "extra" is one`, "appliance backup --help"},
		{[]string{"bogus"}, 2, `unknown command "bogus" for "appliance"`, "appliance --help"},
		{[]string{"site", "lst"}, 2, `unknown command "lst" for "appliance site"; did you mean "list"?`, "appliance site --help"},
		{[]string{"numbers", "pool", "ad"}, 2, `did you mean "add"?`, "appliance numbers pool --help"},
		{[]string{"user", "add"}, 2, "user add needs EMAIL", "appliance user add --help"},
		{[]string{"user", "role", "a@example.com", "manager", "x"}, 2, `user role takes only EMAIL ROLE; "x" is one too many`, "appliance user role --help"},
		{[]string{"site", "add", "--name", "Shop"}, 2, "appliance: site add needs --domain\n", "appliance site add --help"},
		{[]string{"site", "add"}, 2, "appliance: site add needs --domain and --name\n", "appliance site add --help"},
		{[]string{"numbers", "list", "--site", "KEY", "d"}, 2, `numbers list takes no arguments, only flags; "d" is one (a flag's value follows its flag; quote a value with spaces)`, "appliance numbers list --help"},
		// --site took "--number" for the key, and the number was an argument.
		{[]string{"numbers", "static", "remove", "--site", "--number", "74951112233"}, 2, `--site is given no value: "--number", which follows it, is a flag; give --site its value first`, "appliance numbers static remove --help"},
		{[]string{"restore"}, 2, "restore needs exactly one FILE", "appliance restore --help"},
		{[]string{"site"}, 0, "", ""},
	} {
		cmd := exec.Command(os.Args[0], tc.args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "APPLIANCE_TEST_MAIN=1", "APPLIANCE_DATA="+dir)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		code := 0
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		name := strings.Join(tc.args, " ")
		if code != tc.code {
			t.Errorf("appliance %s: exit %d, want %d; stderr %q", name, code, tc.code, stderr.String())
		}
		if tc.code == 0 {
			if !strings.Contains(stdout.String(), "Available Commands:") || stderr.Len() > 0 {
				t.Errorf("appliance %s: printed %q, stderr %q; want its help", name, stdout.String(), stderr.String())
			}
			continue
		}
		if got := stderr.String(); !strings.Contains(got, tc.say) || !strings.Contains(got, "Run '"+tc.hint+"' for usage.") {
			t.Errorf("appliance %s: stderr %q, want %q and a hint at %q", name, got, tc.say, tc.hint)
		}
	}
}

// restore of a file that is not a whole backup archive says what is wrong
// with the file (empty, gzipped, not ours, cut short), not what the tar
// reader hit ("EOF").
func TestRestoreSaysWhatIsWrongWithTheFile(t *testing.T) {
	dir, _ := offlineSite(t)
	files := t.TempDir()
	archive := filepath.Join(files, "b.tar")
	if err := runBackup(context.Background(), BackupOptions{Data: dir, Output: archive}, io.Discard); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(archive)
	if err != nil {
		t.Fatal(err)
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(raw)
	zw.Close()
	var other bytes.Buffer
	tw := tar.NewWriter(&other)
	tw.WriteHeader(&tar.Header{Name: "notes.txt", Mode: 0o600, Size: 2})
	tw.Write([]byte("hi"))
	tw.Close()
	for _, tc := range []struct {
		name string
		body []byte
		say  string
	}{
		{"empty", nil, "the file is empty"},
		{"text", []byte("these are not the files you are looking for\n"), "not a tar archive that appliance backup wrote"},
		{"gzipped", gz.Bytes(), "compressed with gzip; restore it with gunzip -c FILE | appliance restore -"},
		{"another tar", other.Bytes(), `it starts with "notes.txt", not its manifest`},
		{"manifest cut short", raw[:700], "it ends early, cut short"},
		{"cut in half", raw[:len(raw)/2], "it ends early"},
	} {
		path := filepath.Join(files, strings.ReplaceAll(tc.name, " ", "-")+".tar")
		if err := os.WriteFile(path, tc.body, 0o600); err != nil {
			t.Fatal(err)
		}
		// Into a data directory restore makes, which a refusal leaves
		// as it found it: not there.
		data := filepath.Join(t.TempDir(), "data")
		err := runRestore(context.Background(), RestoreOptions{Data: data, File: path}, io.Discard)
		var stderr bytes.Buffer
		exitCode(err, &stderr)
		if got := stderr.String(); !strings.Contains(got, "bad backup archive: ") || !strings.Contains(got, tc.say) || strings.Contains(got, "EOF") {
			t.Errorf("restore of %s: %q, want %q", tc.name, got, tc.say)
		}
		if _, err := os.Stat(data); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("restore of %s left %s behind (%v)", tc.name, data, err)
		}
	}
}

// Every command given a site key that no site has says so, naming the key
// and where the keys are listed, as numbers list always did (site set,
// site remove, reports rebuild, costs import and export backfill said "no
// such site").
func TestUnknownSiteKeyNamed(t *testing.T) {
	dir, _ := offlineSite(t)
	empty := filepath.Join(t.TempDir(), "costs.csv")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"site", "set", "--site", "nope", "--name", "x"},
		{"site", "remove", "--site", "nope", "--confirm", "x"},
		{"reports", "rebuild", "--site", "nope"},
		{"costs", "import", "--site", "nope", empty},
		// With no server, the stream's own: refused without it.
		{"export", "backfill", "--site", "nope", "--from", "2026-01-01", "--export", "nats://127.0.0.1:4222"},
		{"numbers", "list", "--site", "nope"},
	} {
		root := newRoot(io.Discard)
		root.SetArgs(append(args, "--data", dir))
		err := root.ExecuteContext(context.Background())
		if err == nil || !strings.Contains(err.Error(), `no site has the key "nope" (appliance site list shows them)`) {
			t.Errorf("%s: %v", strings.Join(args, " "), err)
		}
	}
}

// Every command's --help shows an example (SPEC §2), the commands that
// only group others included: theirs are their sub-commands' first ones.
func TestEveryCommandHasAnExample(t *testing.T) {
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		var out bytes.Buffer
		c.SetOut(&out)
		if err := c.Help(); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(out.String(), "Examples:\n  appliance ") {
			t.Errorf("%s --help has no example:\n%s", c.CommandPath(), out.String())
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	root := newRoot(io.Discard)
	// What Execute adds: cobra's help and completion commands.
	root.InitDefaultHelpCmd()
	root.InitDefaultCompletionCmd()
	walk(root)
}

// numbers import of a file or a pipe without a number (an export that
// failed, a pipe whose writer did) fails and says so, rather than report
// "imported 0 numbers" and exit 0.
func TestNumbersImportOfNothingFails(t *testing.T) {
	dir, key := offlineSite(t)
	if err := runPoolAdd(context.Background(), PoolOptions{Data: dir, Site: key, Name: "ads", Numbers: []string{"74950000001"}, Reserve: "20m"}, io.Discard); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(t.TempDir(), "numbers.csv")
	if err := os.WriteFile(empty, []byte("number\n\n# none yet\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for file, want := range map[string]string{empty: empty + " holds no numbers", "-": "stdin holds no numbers"} {
		err := runNumbersImport(context.Background(), ImportOptions{Data: dir, Site: key, Pool: "ads", File: file}, strings.NewReader(""), io.Discard)
		if err == nil || !strings.Contains(err.Error(), "numbers import: "+want+": want one a line, or a CSV with a number column") {
			t.Errorf("numbers import of nothing from %s: %v, want %q", file, err, want)
		}
	}
	// A file whose numbers were all imported before is still fine.
	again := filepath.Join(t.TempDir(), "again.csv")
	if err := os.WriteFile(again, []byte("74950000001\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := runNumbersImport(context.Background(), ImportOptions{Data: dir, Site: key, Pool: "ads", File: again}, nil, io.Discard); err != nil {
		t.Errorf("numbers import of a number already in the pool: %v", err)
	}
}

// Every flag has its APPLIANCE_* variable, as the README says: a required
// one (--site) is satisfied by it, and one a command applies only when
// given (site set --name) is applied; a flag on the command line wins.
func TestEnvironmentGivesFlags(t *testing.T) {
	dir, key := offlineSite(t)
	t.Setenv("APPLIANCE_DATA", dir)
	t.Setenv("APPLIANCE_SITE", key)
	t.Setenv("APPLIANCE_NAME", "Shop from the environment")
	var out bytes.Buffer
	root := newRoot(&out)
	root.SetArgs([]string{"site", "set"})
	if err := root.ExecuteContext(context.Background()); err != nil {
		t.Fatalf("site set with --site and --name from the environment: %v", err)
	}
	out.Reset()
	root = newRoot(&out)
	root.SetArgs([]string{"site", "list"})
	if err := root.ExecuteContext(context.Background()); err != nil || !strings.Contains(out.String(), "Shop from the environment") {
		t.Fatalf("site list: %v\n%s", err, out.String())
	}
	root = newRoot(io.Discard)
	root.SetArgs([]string{"site", "set", "--site", "nope"})
	if err := root.ExecuteContext(context.Background()); err == nil || !strings.Contains(err.Error(), `"nope"`) {
		t.Errorf("--site on the command line did not win over APPLIANCE_SITE: %v", err)
	}
}

// Every flag a command requires says so in its --help, "(required)", as
// --site and --name do: export backfill's --from did not, and a newcomer
// learnt it from the refusal.
func TestRequiredFlagsSaySoInHelp(t *testing.T) {
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		for _, sub := range c.Commands() {
			walk(sub)
		}
		c.LocalFlags().VisitAll(func(f *pflag.Flag) {
			if req := f.Annotations[cobra.BashCompOneRequiredFlag]; len(req) > 0 && req[0] == "true" && !strings.Contains(f.Usage, "(required") {
				t.Errorf("%s --%s is required, but its help %q does not say so", c.CommandPath(), f.Name, f.Usage)
			}
		})
	}
	walk(newRoot(io.Discard))
}
