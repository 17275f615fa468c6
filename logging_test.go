package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// serveLog runs `appliance serve` as a child process with args and env
// added, stops it with SIGTERM and returns its stderr: its log.
func serveLog(t *testing.T, env []string, args ...string) string {
	t.Helper()
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], append([]string{"serve", "--data", dir, "--listen", "127.0.0.1:0"}, args...)...)
	cmd.Env = env
	var stderr bytes.Buffer
	cmd.Stderr = &syncWriter{w: &stderr}
	cmd, _ = startChildCmd(t, dir, cmd)
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("serve after SIGTERM: %v\n%s", err, stderr.String())
	}
	return stderr.String()
}

// With --log-format json every line serve logs is a JSON object with time,
// level and msg; --log-level (or its environment variable) drops what is
// less important.
func TestServeLogFormatAndLevel(t *testing.T) {
	for _, tc := range []struct {
		name      string
		env, args []string
		wantInfo  bool
	}{
		{"flags", nil, []string{"--log-format", "json", "--log-level", "debug"}, true},
		{"environment", []string{"APPLIANCE_LOG_FORMAT=json", "APPLIANCE_LOG_LEVEL=warn"}, nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			log := serveLog(t, tc.env, tc.args...)
			var infos int
			sc := bufio.NewScanner(strings.NewReader(log))
			for sc.Scan() {
				var line struct{ Time, Level, Msg string }
				if err := json.Unmarshal(sc.Bytes(), &line); err != nil || line.Time == "" || line.Level == "" || line.Msg == "" {
					t.Errorf("log line is not a JSON object with time, level and msg: %q (%v)", sc.Text(), err)
				}
				if line.Level == "INFO" {
					infos++
				}
			}
			// serve logs the open file limit at info when it starts.
			if got := infos > 0; got != tc.wantInfo {
				t.Errorf("%d info lines, want some: %v; log:\n%s", infos, tc.wantInfo, log)
			}
		})
	}
}

// A log format or level serve does not know is a usage error that says
// what it takes.
func TestServeLogFlagsRefuseUnknown(t *testing.T) {
	for _, args := range [][]string{{"--log-format", "xml"}, {"--log-level", "loud"}} {
		var out bytes.Buffer
		root := newRoot(&out)
		root.SetArgs(append([]string{"serve", "--data", t.TempDir(), "--listen", "127.0.0.1:0"}, args...))
		err := root.Execute()
		var stderr bytes.Buffer
		if code := exitCode(err, &stderr); code != 2 || !strings.Contains(stderr.String(), args[0]+" is ") {
			t.Errorf("serve %s: exit %d, %q; want 2 and what %s takes", strings.Join(args, " "), code, stderr.String(), args[0])
		}
	}
}

// serve's failure to start (a port another process holds, a --data that
// is a file) under --log-format json is one JSON log line on stderr, level
// ERROR, saying why, as journald or docker's log shipping read the rest of
// the log; exit 1 as under text, whose line stays as it was. Run as the
// binary.
func TestServeFailureInTheLogFormat(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, data, listen, say string
	}{
		{"taken port", t.TempDir(), ln.Addr().String(), "already listens there"},
		{"data is a file", file, "127.0.0.1:0", file},
	} {
		for _, format := range []string{"json", "text"} {
			cmd := exec.Command(os.Args[0], "serve", "--data", tc.data, "--listen", tc.listen, "--log-format", format)
			cmd.Env = append(os.Environ(), "APPLIANCE_TEST_MAIN=1")
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			err := cmd.Run()
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() != 1 {
				t.Errorf("%s, %s: %v, want exit 1; stderr %q", tc.name, format, err, stderr.String())
				continue
			}
			log := stderr.String()
			if format == "text" {
				lines := strings.Split(strings.TrimSuffix(log, "\n"), "\n")
				if last := lines[len(lines)-1]; !strings.HasPrefix(last, "appliance: serve: ") || !strings.Contains(last, tc.say) {
					t.Errorf("%s, text: stderr %q; want its last line appliance: serve: ... %s", tc.name, log, tc.say)
				}
				continue
			}
			var failed int
			sc := bufio.NewScanner(strings.NewReader(log))
			for sc.Scan() {
				var line struct{ Time, Level, Msg, Err string }
				if err := json.Unmarshal(sc.Bytes(), &line); err != nil || line.Time == "" || line.Level == "" || line.Msg == "" {
					t.Errorf("%s, json: a line that is not a JSON log line: %q (%v)", tc.name, sc.Text(), err)
					continue
				}
				if line.Level == "ERROR" && strings.Contains(line.Err, tc.say) {
					failed++
				}
			}
			if failed != 1 {
				t.Errorf("%s, json: %d ERROR lines saying %q, want 1; stderr:\n%s", tc.name, failed, tc.say, log)
			}
		}
	}
}
