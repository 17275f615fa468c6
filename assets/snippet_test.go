package assets_test

import (
	"bytes"
	"io/fs"
	"os"
	"regexp"
	"slices"
	"testing"

	"appliance/assets"
	"appliance/internal/snippetbuild"
)

// The built snippet the binary embeds is what its source builds to today:
// a source edited without `go generate ./assets` fails here, as does a
// file of an older build left in snippet/dist.
func TestSnippetDistIsCurrent(t *testing.T) {
	out, err := snippetbuild.Build(os.DirFS("snippet"))
	if err != nil {
		t.Fatal(err)
	}
	want := out.Files()
	entries, err := fs.ReadDir(assets.FS, "snippet/dist")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
		b, err := fs.ReadFile(assets.FS, "snippet/dist/"+e.Name())
		if err != nil {
			t.Fatal(err)
		}
		if w, ok := want[e.Name()]; !ok || !bytes.Equal(b, w) {
			t.Errorf("snippet/dist/%s is not what snippet/ builds to: run go generate ./assets", e.Name())
		}
	}
	for name := range want {
		if !slices.Contains(names, name) {
			t.Errorf("snippet/dist lacks %s: run go generate ./assets", name)
		}
	}
	// A second build gives the same bytes, or no committed build could
	// ever be current.
	again, err := snippetbuild.Build(os.DirFS("snippet"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(again.Core, out.Core) || !bytes.Equal(again.Widget, out.Widget) || again.WidgetName != out.WidgetName {
		t.Error("two builds of the same source differ")
	}
}

// ownProp is a property access of the snippet's own names, the ones the
// build shortens (snippetbuild.ManglePropsRe): they end in "_".
var ownProp = regexp.MustCompile(`\.([A-Za-z$][\w$]*_)\b`)

// The snippet's own property names (ending in "_") are shortened in both
// files, the same way: none is left in the output, though the sources use
// them, some across the core and the widget chunk (core.send_).
func TestSnippetManglesOwnProperties(t *testing.T) {
	src := os.DirFS("snippet")
	out, err := snippetbuild.Build(src)
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, file := range []string{"cs.js", "widget.js", "chat.js"} {
		b, err := fs.ReadFile(src, file)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range ownProp.FindAllSubmatch(b, -1) {
			names[string(m[1])] = true
		}
	}
	if !names["send_"] || len(names) < 5 {
		t.Fatalf("the sources use %d own properties (%v): the test no longer reads them", len(names), names)
	}
	for name := range names {
		word := regexp.MustCompile(`(^|[^\w$])` + regexp.QuoteMeta(name) + `($|[^\w$])`)
		for file, b := range out.Files() {
			if word.Match(b) {
				t.Errorf("%s keeps %q: not shortened", file, name)
			}
		}
	}
}
