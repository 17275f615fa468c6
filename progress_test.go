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

	"github.com/creack/pty"
)

// appliance runs the real binary (this test binary as main) with args.
func appliance(args ...string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), "APPLIANCE_TEST_MAIN=1")
	return cmd
}

// barDrawn matches what a progress bar draws: a redrawn line and a percent.
var barDrawn = regexp.MustCompile(`\r.*\d+%`)

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

// On a terminal, backup and restore draw a progress bar on stderr, then
// clear it for their summary.
func TestProgressOnTerminal(t *testing.T) {
	src, _ := offlineSite(t)
	archive := filepath.Join(t.TempDir(), "b.tar")
	for _, c := range []struct {
		args    []string
		summary string
	}{
		{[]string{"backup", "--data", src, "-o", archive}, "backup: wrote " + archive},
		{[]string{"restore", archive, "--data", t.TempDir()}, "restored " + archive},
	} {
		ptmx, tty, err := pty.Open()
		if err != nil {
			t.Skipf("no pseudo-terminal here: %v", err)
		}
		cmd := appliance(c.args...)
		cmd.Stdout, cmd.Stderr = tty, tty
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		tty.Close()
		var out bytes.Buffer
		_, err = io.Copy(&out, ptmx)
		// Reading the terminal ends with EIO once the command has exited.
		if err != nil && !errors.Is(err, syscall.EIO) {
			t.Fatal(err)
		}
		ptmx.Close()
		if err := cmd.Wait(); err != nil {
			t.Fatalf("%s: %v\n%q", c.args[0], err, out.String())
		}
		got := out.String()
		if !barDrawn.MatchString(got) {
			t.Errorf("%s on a terminal printed %q, want a progress bar", c.args[0], got)
		}
		if !strings.Contains(got, c.summary) {
			t.Errorf("%s on a terminal printed %q, want its summary %q", c.args[0], got, c.summary)
		}
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
		ptmx, tty, err := pty.Open()
		if err != nil {
			t.Skipf("no pseudo-terminal here: %v", err)
		}
		cmd.Stdout, cmd.Stderr = tty, tty
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		tty.Close()
		// Reading the terminal ends with EIO once the command has exited.
		if _, err := io.Copy(&out, ptmx); err != nil && !errors.Is(err, syscall.EIO) {
			t.Fatal(err)
		}
		ptmx.Close()
		if err := cmd.Wait(); err != nil {
			t.Fatalf("import %s: %v\n%q", file, err, out.String())
		}
		return out.String()
	}

	got := run(file, "", true)
	if !barDrawn.MatchString(got) || !strings.Contains(got, "import") {
		t.Errorf("import on a terminal printed %.300q, want a progress bar", got)
	}
	if !strings.Contains(got, `imported 1000 number(s) into pool "ads"`) {
		t.Errorf("import on a terminal printed %.300q, want its summary", got)
	}
	for _, c := range []struct {
		name, file, stdin string
		terminal          bool
		want              string
	}{
		{"to a pipe", file, "", false, `imported 0 number(s) into pool "ads", skipped 1000`},
		{"from stdin", "-", "74952000001\n74952000002\n", true, `imported 2 number(s) into pool "ads"`},
	} {
		got := run(c.file, c.stdin, c.terminal)
		if barDrawn.MatchString(got) || !strings.Contains(got, c.want) {
			t.Errorf("import %s printed %.300q, want no progress, and %q", c.name, got, c.want)
		}
	}
}
