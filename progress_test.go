package main

import (
	"bytes"
	"errors"
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
