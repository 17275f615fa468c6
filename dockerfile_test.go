package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// dockerInstruction is one instruction of the Dockerfile: its keyword
// (upper case) and the rest, continuation lines joined.
type dockerInstruction struct{ cmd, args string }

// readDockerfile splits the Dockerfile into instructions the way docker
// reads it: comments dropped, lines ending in \ joined.
func readDockerfile(t *testing.T) []dockerInstruction {
	t.Helper()
	data, err := os.ReadFile("Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	var out []dockerInstruction
	var cur strings.Builder
	for _, line := range strings.Split(string(data), "\n") {
		trimmed := strings.TrimSpace(line)
		if strings.HasPrefix(trimmed, "#") || (trimmed == "" && cur.Len() == 0) {
			continue
		}
		if strings.HasSuffix(trimmed, `\`) {
			cur.WriteString(strings.TrimSuffix(trimmed, `\`) + " ")
			continue
		}
		cur.WriteString(trimmed)
		cmd, args, _ := strings.Cut(cur.String(), " ")
		out = append(out, dockerInstruction{strings.ToUpper(cmd), strings.TrimSpace(args)})
		cur.Reset()
	}
	if cur.Len() > 0 {
		t.Fatalf("Dockerfile ends in a continued line: %q", cur.String())
	}
	return out
}

// The Dockerfile is what the README promises: a multi-stage static build
// on the Go release of go.mod, a non-root user, the data directory a
// volume the commands find through APPLIANCE_DATA, a health check on
// /healthz where the server listens, exec-form entry point. (Docker is not
// on the test machines; TestBuiltBinary runs its build command.)
func TestDockerfile(t *testing.T) {
	known := map[string]bool{"FROM": true, "RUN": true, "COPY": true, "ARG": true, "ENV": true, "USER": true, "VOLUME": true,
		"EXPOSE": true, "HEALTHCHECK": true, "ENTRYPOINT": true, "CMD": true, "WORKDIR": true, "STOPSIGNAL": true}
	stages := map[string]bool{}
	var froms []string
	var user, volume, health, entry, build string
	stop := "SIGTERM" // docker's default
	env := map[string]string{}
	for _, in := range readDockerfile(t) {
		if !known[in.cmd] {
			t.Errorf("unknown or unexpected instruction %s %s", in.cmd, in.args)
		}
		switch in.cmd {
		case "FROM":
			froms = append(froms, in.args)
			if f := strings.Fields(in.args); len(f) == 3 && strings.EqualFold(f[1], "AS") {
				stages[f[2]] = true
			}
		case "COPY":
			if m := regexp.MustCompile(`--from=(\S+)`).FindStringSubmatch(in.args); m != nil && !stages[m[1]] {
				t.Errorf("COPY --from=%s: no stage of that name", m[1])
			}
		case "RUN":
			if strings.Contains(in.args, "go build") {
				build = in.args
			}
		case "ENV":
			for _, kv := range strings.Fields(in.args) {
				k, v, _ := strings.Cut(kv, "=")
				env[k] = v
			}
		case "USER":
			user = in.args
		case "VOLUME":
			volume = in.args
		case "HEALTHCHECK":
			health = in.args
		case "ENTRYPOINT":
			entry = in.args
		case "STOPSIGNAL":
			stop = in.args
		}
	}
	if len(froms) < 2 {
		t.Fatalf("FROM %q: want a build stage and a run stage", froms)
	}
	mod, err := os.ReadFile("go.mod")
	if err != nil {
		t.Fatal(err)
	}
	goVersion := regexp.MustCompile(`(?m)^go (\S+)$`).FindSubmatch(mod)
	if goVersion == nil || !strings.HasPrefix(froms[0], "golang:"+string(goVersion[1])) {
		t.Errorf("build stage FROM %s: want golang:%s, the go.mod release", froms[0], goVersion[1])
	}
	if !strings.HasPrefix(build, "CGO_ENABLED=0 go build ") || !strings.Contains(build, "-o /out/appliance") {
		t.Errorf("build RUN %q: want CGO_ENABLED=0 go build ... -o /out/appliance", build)
	}
	// The image has no .git for the go command to stamp the commit from:
	// the build takes it as an argument (version.go's revision).
	if !strings.Contains(build, "-X main.revision=${REVISION}") {
		t.Errorf("build RUN %q: want -X main.revision=${REVISION}, the commit as a build argument", build)
	}
	if u, _, _ := strings.Cut(user, ":"); u == "" || u == "0" || u == "root" {
		t.Errorf("USER %q: want a non-root user", user)
	}
	var volumes []string
	if err := json.Unmarshal([]byte(volume), &volumes); err != nil || len(volumes) != 1 || volumes[0] != env["APPLIANCE_DATA"] {
		t.Errorf("VOLUME %s with APPLIANCE_DATA=%s: want the data directory as the volume", volume, env["APPLIANCE_DATA"])
	}
	if port := strings.TrimPrefix(env["APPLIANCE_LISTEN"], ":"); port == "" || !strings.Contains(health, "http://127.0.0.1:"+port+"/healthz") {
		t.Errorf("HEALTHCHECK %q: want /healthz on APPLIANCE_LISTEN=%s", health, env["APPLIANCE_LISTEN"])
	}
	var argv []string
	if err := json.Unmarshal([]byte(entry), &argv); err != nil || len(argv) == 0 {
		t.Errorf("ENTRYPOINT %s: want the exec form, so that serve gets SIGTERM itself", entry)
	}
	// docker stop sends it, then SIGKILL after the grace: serve stops
	// cleanly (drains, seals, flushes) on SIGTERM and SIGINT only.
	if stop != "SIGTERM" && stop != "SIGINT" {
		t.Errorf("STOPSIGNAL %s: want SIGTERM or SIGINT, on which serve stops cleanly", stop)
	}
}

// dockerBuild runs the Dockerfile's build command here, into a temporary
// file: it must build a static binary without cgo. GOFLAGS asks for the
// VCS stamp the image (no .git) cannot have.
func dockerBuild(t *testing.T) string {
	t.Helper()
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("the go command is not installed: cannot build the binary")
	}
	var build string
	for _, in := range readDockerfile(t) {
		if in.cmd == "RUN" && strings.Contains(in.args, "go build") {
			build = in.args
		}
	}
	bin := filepath.Join(t.TempDir(), "appliance")
	cmd := exec.Command("sh", "-c", strings.Replace(build, "/out/appliance", bin, 1))
	cmd.Env = append(os.Environ(), "VERSION=dev", "REVISION=", "GOFLAGS=-buildvcs=true")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("the Dockerfile's build %q: %v\n%s", build, err, out)
	}
	return bin
}
