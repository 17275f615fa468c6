package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"

	"appliance/export/exporttest"
	"appliance/httpd"
	"appliance/store"
	"appliance/store/storetest"
)

// appliance runs the real binary (this test binary as main) with args.
func appliance(args ...string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), "APPLIANCE_TEST_MAIN=1")
	return cmd
}

// barDrawn matches what a progress bar draws: a redrawn line and a percent.
var barDrawn = regexp.MustCompile(`\r.*\d+%`)

// progressDrawn matches the progress of what on a redrawn line: the bar
// and its percent, or the spinner shown while the total is not known (a
// command done within the bar's first redraws shows only the spinner).
func progressDrawn(what string) *regexp.Regexp {
	return regexp.MustCompile(`\r(\S+ ` + what + ` \(|` + what + ` +\d+% )`)
}

// runOnTerminal runs cmd with its stdout and stderr on a pseudo-terminal
// and returns what it wrote there, read until it exited (so that a redraw
// after its last line is seen too), and how it exited. It skips the test
// where there is no pseudo-terminal.
func runOnTerminal(t *testing.T, cmd *exec.Cmd) (string, error) {
	t.Helper()
	ptmx, tty, err := pty.Open()
	if err != nil {
		t.Skipf("no pseudo-terminal here: %v", err)
	}
	defer ptmx.Close()
	cmd.Stdout, cmd.Stderr = tty, tty
	err = cmd.Start()
	tty.Close()
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	// Reading the terminal ends with EIO once the command has exited.
	if _, err := io.Copy(&out, ptmx); err != nil && !errors.Is(err, syscall.EIO) {
		t.Fatal(err)
	}
	return out.String(), cmd.Wait()
}

// backup and restore write no progress when their output is not a
// terminal: stdout and stderr hold their one-line summaries only.
func TestProgressQuietOffTerminal(t *testing.T) {
	src, _ := offlineSite(t)
	archive := filepath.Join(t.TempDir(), "b.tar")
	for _, args := range [][]string{
		{"backup", "--data", src, "-o", archive},
		{"restore", archive, "--data", t.TempDir()},
	} {
		var stdout, stderr bytes.Buffer
		cmd := appliance(args...)
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Run(); err != nil {
			t.Fatalf("%s: %v\n%s%s", args[0], err, stdout.String(), stderr.String())
		}
		all := stdout.String() + stderr.String()
		if strings.Contains(all, "\r") || strings.Count(all, "\n") != 1 {
			t.Errorf("%s off a terminal printed %q, want its summary line only", args[0], all)
		}
	}
}

// On a terminal, backup and restore draw their progress on stderr, then
// clear it for their summary, and draw nothing after it. (Whether a stale
// redraw lands before the command exits depends on timing: see
// TestProgressDoneStopsDrawing for the deterministic check.)
func TestProgressOnTerminal(t *testing.T) {
	src, _ := offlineSite(t)
	archive := filepath.Join(t.TempDir(), "b.tar")
	for _, c := range []struct {
		args    []string
		drawn   *regexp.Regexp
		summary string
	}{
		// The archive's size comes with its manifest: a small one is
		// received before the spinner turns into a bar.
		{[]string{"backup", "--data", src, "-o", archive}, progressDrawn("backup"), "backup: wrote " + archive},
		{[]string{"restore", archive, "--data", t.TempDir()}, barDrawn, "restored " + archive},
	} {
		got, err := runOnTerminal(t, appliance(c.args...))
		if err != nil {
			t.Fatalf("%s: %v\n%q", c.args[0], err, got)
		}
		before, after, ok := strings.Cut(got, c.summary)
		if !c.drawn.MatchString(before) {
			t.Errorf("%s on a terminal printed %q, want its progress", c.args[0], got)
		}
		if !ok {
			t.Errorf("%s on a terminal printed %q, want its summary %q", c.args[0], got, c.summary)
		} else if barDrawn.MatchString(after) || progressDrawn(c.args[0]).MatchString(after) {
			t.Errorf("%s on a terminal drew %q after its summary", c.args[0], after)
		}
	}
}

// Done leaves nothing to draw: whatever came before, the spinner's ticker
// (a bar started with total -1 redraws every 100 ms) writes nothing after
// the summary line that follows Done.
func TestProgressDoneStopsDrawing(t *testing.T) {
	for _, c := range []struct {
		name, unit string
		work       func(p *progress)
		took       time.Duration // the ticker draws meanwhile
	}{
		{"total known later", "bytes", func(p *progress) { p.SetTotal(1000); p.Add(500) }, 250 * time.Millisecond},
		{"total never known", "records", func(p *progress) { p.Add(3) }, 250 * time.Millisecond},
		{"nothing to do", "records", func(p *progress) { p.Report(0, 0) }, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			ptmx, tty, err := pty.Open()
			if err != nil {
				t.Skipf("no pseudo-terminal here: %v", err)
			}
			defer ptmx.Close()
			read := make(chan string)
			go func() {
				var out bytes.Buffer
				_, _ = io.Copy(&out, ptmx) // ends with EIO once tty is closed
				read <- out.String()
			}()
			p := drawProgress(tty, "backup", -1, c.unit)
			c.work(p)
			time.Sleep(c.took)
			p.Done()
			fmt.Fprintln(tty, "backup: wrote b.tar")
			time.Sleep(350 * time.Millisecond) // three more ticks
			tty.Close()
			got := <-read
			before, after, ok := strings.Cut(got, "backup: wrote b.tar")
			if !ok || !progressDrawn("backup").MatchString(before) {
				t.Fatalf("printed %q, want the progress, then the summary", got)
			}
			if after = strings.TrimPrefix(after, "\r\n"); after != "" {
				t.Errorf("after the summary the progress drew %q", after)
			}
		})
	}
}

// numbers import draws its progress (the server's parse of the file) on a
// terminal, and none when its output is not one or the file is stdin.
func TestImportProgress(t *testing.T) {
	dir, key := offlineSite(t)
	if err := runPoolAdd(context.Background(), PoolOptions{Data: dir, Site: key, Name: "ads", Numbers: []string{"74950000001"}, Reserve: "20m"}, io.Discard); err != nil {
		t.Fatal(err)
	}
	var list strings.Builder
	list.WriteString("number\n")
	for i := range 1000 {
		fmt.Fprintf(&list, "+7 495 100-%02d-%02d\n", i/100, i%100)
	}
	file := filepath.Join(t.TempDir(), "numbers.csv")
	if err := os.WriteFile(file, []byte(list.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	run := func(file, stdin string, terminal bool) string {
		t.Helper()
		cmd := appliance("numbers", "import", "--data", dir, "--site", key, "--pool", "ads", file)
		cmd.Stdin = strings.NewReader(stdin)
		var out bytes.Buffer
		if !terminal {
			cmd.Stdout, cmd.Stderr = &out, &out
			if err := cmd.Run(); err != nil {
				t.Fatalf("import %s: %v\n%s", file, err, out.String())
			}
			return out.String()
		}
		got, err := runOnTerminal(t, cmd)
		if err != nil {
			t.Fatalf("import %s: %v\n%q", file, err, got)
		}
		return got
	}

	got := run(file, "", true)
	if !barDrawn.MatchString(got) || !strings.Contains(got, "import") {
		t.Errorf("import on a terminal printed %.300q, want a progress bar", got)
	}
	if !strings.Contains(got, `imported 1000 numbers into pool "ads"`) {
		t.Errorf("import on a terminal printed %.300q, want its summary", got)
	}
	for _, c := range []struct {
		name, file, stdin string
		terminal          bool
		want              string
	}{
		{"to a pipe", file, "", false, `imported 0 numbers into pool "ads", skipped 1000`},
		{"from stdin", "-", "74952000001\n74952000002\n", true, `imported 2 numbers into pool "ads"`},
	} {
		got := run(c.file, c.stdin, c.terminal)
		if barDrawn.MatchString(got) || !strings.Contains(got, c.want) {
			t.Errorf("import %s printed %.300q, want no progress, and %q", c.name, got, c.want)
		}
	}
}

// export backfill draws its progress bar (the records the server has
// queued, of how many) on a terminal, then its summary, and nothing after
// it. The bar shows once the server has told the total, however fast the
// rest goes.
func TestExportBackfillProgress(t *testing.T) {
	dir, key := offlineSite(t)
	ctx := context.Background()
	c, err := httpd.OpenAdmin(ctx, dir, httpd.Options{Version: version})
	if err != nil {
		t.Fatal(err)
	}
	sites, err := c.Sites(ctx)
	c.Close()
	if err != nil || len(sites) != 1 {
		t.Fatalf("sites %v, %v", sites, err)
	}
	db := storetest.OpenAt(t, dir)
	now := time.Now().UnixMilli()
	if err := db.Update(ctx, func(tx *store.Tx) error {
		for i := range uint64(300) {
			s := store.Session{ID: i + 1, Started: now, LastHit: now}
			tx.Set(store.SessionKey(sites[0].ID, s.ID), s.Encode())
			h := store.Hit{ID: 1, Session: s.ID, Time: now, URL: "https://shop.example/"}
			tx.Set(store.HitKey(sites[0].ID, s.ID, h.ID), h.Encode())
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	db.Close()
	n := exporttest.Start(t)

	got, err := runOnTerminal(t, appliance("export", "backfill", "--data", dir, "--site", key,
		"--from", "2020-01-01", "--export", n.URL, "--export-stream", "STREAM"))
	if err != nil {
		t.Fatalf("export backfill: %v\n%q", err, got)
	}
	before, after, ok := strings.Cut(got, "queued 300 hits")
	// The in-process exporter's log lines each start a line of their
	// own: after a newline, or with the bar's line cleared.
	if logs := regexp.MustCompile(`(?:^|\n|\r\x1b\[K)?time=\S+ level=`).FindAllString(got, -1); len(logs) == 0 {
		t.Errorf("export backfill on a terminal printed %.600q, want the exporter's log lines", got)
	} else {
		for _, l := range logs {
			if !strings.HasPrefix(l, "\n") && !strings.HasPrefix(l, "\r\x1b[K") && l != got[:len(l)] {
				t.Errorf("export backfill on a terminal printed %.600q: a log line runs on from what is before it", got)
				break
			}
		}
	}
	if !regexp.MustCompile(`\rbackfill +\d+% .*\(\d+/300, `).MatchString(before) {
		t.Errorf("export backfill on a terminal printed %.400q, want its progress", got)
	}
	if !ok || !strings.Contains(after, "all of them are in the stream") {
		t.Errorf("export backfill on a terminal printed %.400q, want its summary", got)
	} else if barDrawn.MatchString(after) || progressDrawn("backfill").MatchString(after) {
		t.Errorf("export backfill on a terminal drew %q after its summary", after)
	}
}

// A log line written while a bar is drawn clears the bar's line in the
// same write, so that it does not run on from the bar's text; with no bar
// drawn it is written as is.
func TestLogLinesClearBar(t *testing.T) {
	var out bytes.Buffer
	l := &barLines{w: &out}
	if n, err := l.Write([]byte("level=INFO msg=one\n")); err != nil || n != 19 || out.String() != "level=INFO msg=one\n" {
		t.Fatalf("with no bar: wrote %d, %v: %q", n, err, out.String())
	}
	p := drawProgress(&out, "import", 10, "rows")
	p.Add(3)
	l.bar.Store(p)
	out.Reset()
	if n, err := l.Write([]byte("level=INFO msg=two\n")); err != nil || n != 19 {
		t.Fatalf("wrote %d, %v", n, err)
	}
	if got := out.String(); got != "\r\033[Klevel=INFO msg=two\n" {
		t.Errorf("with a bar: %q, want the line cleared, then the log line", got)
	}
	p.Done()
}

// backup -o - with stdout on a terminal, and restore - with stdin on one,
// are usage errors that say to redirect or pipe: the one would print a
// binary archive on the screen, the other wait, silent, for one typed in.
func TestArchiveStreamsRefuseATerminal(t *testing.T) {
	src, _ := offlineSite(t)
	for _, c := range []struct {
		args  []string
		stdin bool
		say   string
	}{
		{[]string{"backup", "--data", src, "-o", "-"}, false, "backup -o - writes the archive to stdout, which is a terminal here"},
		{[]string{"restore", "-", "--data", t.TempDir()}, true, "restore - reads the archive from stdin, which is a terminal here"},
	} {
		ptmx, tty, err := pty.Open()
		if err != nil {
			t.Skipf("no pseudo-terminal here: %v", err)
		}
		cmd := appliance(c.args...)
		cmd.Stdout, cmd.Stderr = tty, tty
		if c.stdin {
			cmd.Stdin = tty
		}
		err = cmd.Start()
		tty.Close()
		if err != nil {
			ptmx.Close()
			t.Fatal(err)
		}
		if c.stdin {
			// End of input (^D), should the command read the terminal.
			ptmx.Write([]byte{4})
		}
		var out bytes.Buffer
		// Reading the terminal ends with EIO once the command has exited.
		if _, err := io.Copy(&out, ptmx); err != nil && !errors.Is(err, syscall.EIO) {
			t.Fatal(err)
		}
		ptmx.Close()
		err = cmd.Wait()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 2 || !strings.Contains(out.String(), c.say) {
			t.Errorf("%s on a terminal: %v, printed %q; want exit 2 and %q", strings.Join(c.args, " "), err, out.String(), c.say)
		}
	}
}

// backup -o - (to a pipe, as the README's docker exec and gzip examples
// run it) prints its closing line on stderr as backup to a file does, with
// the size of what went to stdout; and restore - says it read stdin, not
// "restored - into".
func TestArchiveStreamsSayWhatTheyDid(t *testing.T) {
	src, _ := offlineSite(t)
	var archive, stderr bytes.Buffer
	cmd := appliance("backup", "--data", src, "-o", "-")
	cmd.Stdout, cmd.Stderr = &archive, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("backup -o -: %v\n%s", err, stderr.String())
	}
	if want := fmt.Sprintf("backup: wrote %d bytes to stdout (verified)\n", archive.Len()); stderr.String() != want {
		t.Errorf("backup -o - printed %q on stderr, want %q", stderr.String(), want)
	}
	dst := t.TempDir()
	cmd = appliance("restore", "-", "--data", dst)
	cmd.Stdin = &archive
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("restore -: %v\n%s", err, out)
	}
	if want := "restored the archive from stdin into " + dst + "\n"; string(out) != want {
		t.Errorf("restore - printed %q, want %q", out, want)
	}
}
