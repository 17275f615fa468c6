package main

import (
	"fmt"
	"runtime/debug"
	"strings"
)

// version is set at build time with -ldflags "-X main.version=v1.2.3"; when
// it is not, the module version the go command stamped into the binary
// (v0.0.0-20261201191414-20b321e1a2b3+dirty in a git checkout) stands in.
var version = "dev"

// revision is the commit the binary was built from, set at build time with
// -ldflags "-X main.revision=<commit>" where the go command cannot stamp it
// (the Dockerfile's build, which has no .git); the stamp wins when there is
// one.
var revision = ""

func init() {
	if bi, ok := debug.ReadBuildInfo(); ok {
		version = moduleVersion(bi, version)
	}
}

// moduleVersion is the version to show: the one set at build time, else
// the main module's, else "dev".
func moduleVersion(bi *debug.BuildInfo, set string) string {
	if set != "" && set != "dev" {
		return set
	}
	if v := bi.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	return "dev"
}

// versionLine is what `appliance version` and `--version` print after the
// name: the version, then from the build info the VCS revision (else rev,
// the one set at link time), its commit time and whether the tree had
// uncommitted changes, and the Go release, e.g. "v1.2.3 (commit 20b321e…,
// 2026-12-01T19:14:14Z, with uncommitted changes; go1.26.8)". bi is nil
// when the binary carries no build info.
func versionLine(ver, rev string, bi *debug.BuildInfo) string {
	if bi == nil {
		if rev != "" {
			return fmt.Sprintf("%s (commit %s)", ver, rev)
		}
		return ver
	}
	var at string
	modified := false
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.time":
			at = s.Value
		case "vcs.modified":
			modified = s.Value == "true"
		}
	}
	var parts []string
	if rev != "" {
		parts = append(parts, "commit "+rev)
	}
	if at != "" {
		parts = append(parts, at)
	}
	if modified {
		parts = append(parts, "with uncommitted changes")
	}
	detail := strings.Join(parts, ", ")
	if bi.GoVersion != "" {
		if detail != "" {
			detail += "; "
		}
		detail += bi.GoVersion
	}
	if detail == "" {
		return ver
	}
	return fmt.Sprintf("%s (%s)", ver, detail)
}

// fullVersion is versionLine for this binary.
func fullVersion() string {
	bi, _ := debug.ReadBuildInfo()
	return versionLine(version, revision, bi)
}
