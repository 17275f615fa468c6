package export

import (
	"os"
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
