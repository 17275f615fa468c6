package export

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// jsonFields lists the JSON names of t's fields, embedded structs' too.
func jsonFields(t reflect.Type) []string {
	var out []string
	for _, f := range reflect.VisibleFields(t) {
		if f.Anonymous {
			continue
		}
		if name, _, _ := strings.Cut(f.Tag.Get("json"), ","); name != "" && name != "-" {
			out = append(out, name)
		}
	}
	return out
}

// The README documents every field of every message, and every kind.
func TestREADMEDocumentsEveryField(t *testing.T) {
	b, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, sec, ok := strings.Cut(string(b), "## Event stream (NATS JetStream)")
	if !ok {
		t.Fatal("README has no event stream section")
	}
	sec, _, _ = strings.Cut(sec, "\n## ")
	for kind, v := range map[string]any{KindHit: Hit{}, KindEvent: Event{}, KindVisitor: Visitor{}, KindLead: Lead{},
		KindCallback: Callback{}, KindCall: Call{}, KindChat: Chat{}, KindChatMessage: ChatMessage{}} {
		if !strings.Contains(sec, "`"+kind+"`") {
			t.Errorf("README does not name the kind %q", kind)
		}
		for _, f := range jsonFields(reflect.TypeOf(v)) {
			if !strings.Contains(sec, "`"+f+"`") {
				t.Errorf("README does not document %s.%s", kind, f)
			}
		}
	}
}

// The README's JetStream consumer builds against the nats.go this module
// requires, as a reader pastes it: in a function given its ctx, its nc and
// its insert (the ClickHouse side, which the README leaves to the reader).
// An API of nats.go it calls that changed or went away fails here.
func TestREADMEConsumerBuilds(t *testing.T) {
	b, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, sec, _ := strings.Cut(string(b), "## Event stream (NATS JetStream)")
	_, code, ok := strings.Cut(sec, "\n```go\n")
	code, _, ok2 := strings.Cut(code, "\n```\n")
	if !ok || !ok2 || !strings.Contains(code, "jetstream.") {
		t.Fatal("README's event stream section has no Go consumer")
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("no go tool on PATH")
		}
		t.Skip("no go tool on PATH")
	}
	src := `package main

import (
	"context"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

func consume(ctx context.Context, nc *nats.Conn, insert func([][]byte) error) {
` + code + `
}

func main() { _ = consume; _ = time.Second }
`
	dir := t.TempDir()
	file := filepath.Join(dir, "main.go")
	if err := os.WriteFile(file, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	// The package exists only in the overlay: nothing is written into
	// the module's tree.
	pkg, err := filepath.Abs("readmeconsumer")
	if err != nil {
		t.Fatal(err)
	}
	overlay, _ := json.Marshal(map[string]any{"Replace": map[string]string{filepath.Join(pkg, "main.go"): file}})
	overlayFile := filepath.Join(dir, "overlay.json")
	if err := os.WriteFile(overlayFile, overlay, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(goTool, "build", "-overlay", overlayFile, "-o", os.DevNull, "./readmeconsumer").CombinedOutput()
	if err != nil {
		t.Errorf("README's consumer does not build:\n%s\n%s", out, src)
	}
}
