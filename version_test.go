package main

import (
	"bytes"
	"debug/elf"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
)

// The binary the Dockerfile's command builds is static (no dynamic loader:
// it runs on any Linux image), and its `--version` and `version` print the
// same line: the module version, the commit the tree was at (when built in
// a git checkout) and the Go release. (A version set at link time is in
// TestVersionLine.)
func TestBuiltBinary(t *testing.T) {
	bin := dockerBuild(t)
	f, err := elf.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Errorf("the binary is dynamically linked (it names a program interpreter)")
		}
	}
	f.Close()
	run := func(bin string, args ...string) string {
		out, err := exec.Command(bin, args...).Output()
		if err != nil {
			t.Fatalf("appliance %s: %v", strings.Join(args, " "), err)
		}
		return string(out)
	}
	flag, cmd := run(bin, "--version"), run(bin, "version")
	if flag != cmd {
		t.Errorf("--version printed %q, version printed %q", flag, cmd)
	}
	if !strings.HasPrefix(flag, "appliance ") || !strings.HasSuffix(flag, runtime.Version()+")\n") {
		t.Errorf("version line %q: want appliance VERSION (... %s)", flag, runtime.Version())
	}
	// A git checkout (not a worktree, whose .git is a file the go command
	// does not stamp from) puts its HEAD into the binary.
	if st, err := os.Stat(".git"); err == nil && st.IsDir() {
		head, err := exec.Command("git", "rev-parse", "HEAD").Output()
		if err != nil {
			t.Fatalf("git rev-parse HEAD: %v", err)
		}
		if want := "commit " + strings.TrimSpace(string(head)); !strings.Contains(flag, want) {
			t.Errorf("version line %q lacks %q", flag, want)
		}
		if strings.Contains(flag, "appliance dev ") {
			t.Errorf("version line %q: the go command's module version is missing", flag)
		}
	}

}

func TestVersionLine(t *testing.T) {
	bi := func(version string, settings ...string) *debug.BuildInfo {
		b := &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Path: "appliance", Version: version}}
		for i := 0; i+1 < len(settings); i += 2 {
			b.Settings = append(b.Settings, debug.BuildSetting{Key: settings[i], Value: settings[i+1]})
		}
		return b
	}
	for _, tc := range []struct {
		name string
		set  string
		rev  string // set at link time
		bi   *debug.BuildInfo
		want string
	}{
		{"no build info", "dev", "", nil, "dev"},
		{"devel", "dev", "", bi("(devel)"), "dev (go1.26.8)"},
		{"clean checkout", "dev", "", bi("v0.0.0-20261201191414-20b321e2c35a",
			"vcs.revision", "20b321e2c35a148f8c3f7dfb16300b2fbc709a31", "vcs.time", "2026-12-01T19:14:14Z", "vcs.modified", "false"),
			"v0.0.0-20261201191414-20b321e2c35a (commit 20b321e2c35a148f8c3f7dfb16300b2fbc709a31, 2026-12-01T19:14:14Z; go1.26.8)"},
		{"dirty checkout", "dev", "", bi("v0.0.0-20261201191414-20b321e2c35a+dirty",
			"vcs.revision", "20b321e2c35a148f8c3f7dfb16300b2fbc709a31", "vcs.time", "2026-12-01T19:14:14Z", "vcs.modified", "true"),
			"v0.0.0-20261201191414-20b321e2c35a+dirty (commit 20b321e2c35a148f8c3f7dfb16300b2fbc709a31, 2026-12-01T19:14:14Z, with uncommitted changes; go1.26.8)"},
		{"set at link time", "v1.2.3", "", bi("v0.0.0-20261201191414-20b321e2c35a", "vcs.revision", "20b321e"),
			"v1.2.3 (commit 20b321e; go1.26.8)"},
		{"container build, commit set at link time", "v1.2.3", "20b321e2c35a", bi("(devel)"),
			"v1.2.3 (commit 20b321e2c35a; go1.26.8)"},
		{"the stamp over the link-time commit", "dev", "abc", bi("v0.0.0-20261201191414-20b321e2c35a", "vcs.revision", "20b321e"),
			"v0.0.0-20261201191414-20b321e2c35a (commit 20b321e; go1.26.8)"},
		{"no build info, commit set at link time", "v1.2.3", "20b321e", nil, "v1.2.3 (commit 20b321e)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ver := tc.set
			if tc.bi != nil {
				ver = moduleVersion(tc.bi, tc.set)
			}
			if got := versionLine(ver, tc.rev, tc.bi); got != tc.want {
				t.Errorf("got  %q\nwant %q", got, tc.want)
			}
		})
	}
}

// `appliance --version` prints what `appliance version` prints.
func TestVersionFlag(t *testing.T) {
	var outs []string
	for _, args := range [][]string{{"--version"}, {"version"}} {
		var out bytes.Buffer
		root := newRoot(&out)
		root.SetArgs(args)
		if err := root.Execute(); err != nil {
			t.Fatalf("appliance %s: %v", args[0], err)
		}
		outs = append(outs, out.String())
	}
	if want := "appliance " + fullVersion() + "\n"; outs[0] != want || outs[1] != want {
		t.Errorf("--version printed %q, version %q; want %q", outs[0], outs[1], want)
	}
}
