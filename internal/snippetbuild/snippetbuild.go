// Package snippetbuild builds the tracking snippet (SPEC §4) from its
// readable source, assets/snippet, into what the appliance serves: the
// core, minified, and the widget chunk, bundled from its modules and
// minified, at a content-hashed name the core learns at build time.
//
// It runs at `go generate ./assets` time, not in the server: the outputs
// are committed under assets/snippet/dist and embedded, so the binary links
// no JavaScript compiler and does no build at start. A test rebuilds them
// from the source and fails when the committed files differ.
package snippetbuild

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"path"
	"strconv"

	"github.com/evanw/esbuild/pkg/api"
)

const (
	// CoreName is the core's file name in the output, which is also its
	// URL under /static/: the install code's unversioned URL.
	CoreName = "cs.min.js"

	coreSrc   = "cs.js"
	widgetSrc = "widget.js"

	// widgetDefine is the identifier in cs.js that the build replaces with
	// the widget chunk's path (relative to the appliance's base URL).
	widgetDefine = "__CS_WIDGET_PATH__"

	// ManglePropsRe matches the snippet's own property names (ending in
	// "_"), which the build shortens; the API, the globals, the wire fields
	// and localStorage names never end in "_".
	ManglePropsRe = "_$"
)

// Output is the built snippet.
type Output struct {
	Core []byte // CoreName
	// Widget is the widget chunk, named WidgetName: "cs-widget." and the
	// first 4 bytes of its SHA-256 in hex, ".js". The core imports it
	// from "static/" + WidgetName.
	Widget     []byte
	WidgetName string
}

// Files returns the output by file name.
func (o *Output) Files() map[string][]byte {
	return map[string][]byte{CoreName: o.Core, o.WidgetName: o.Widget}
}

// Build minifies the core and bundles the widget chunk from the sources in
// src (cs.js, widget.js and the modules it imports). It fails when esbuild
// reports any error or warning: the source is ours, so either is a bug to
// fix before it ships. The same src gives the same bytes.
func Build(src fs.FS) (*Output, error) {
	// The widget chunk calls the core's helpers (core.send_ ...): both
	// builds shorten a name the same way through one cache.
	mangled := map[string]interface{}{}
	widget, err := bundle(src, widgetSrc, mangled)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(widget)
	name := "cs-widget." + hex.EncodeToString(sum[:4]) + ".js"
	quoted, err := json.Marshal("static/" + name)
	if err != nil {
		return nil, fmt.Errorf("build snippet: %w", err)
	}
	core, err := minify(src, coreSrc, map[string]string{widgetDefine: string(quoted)}, mangled)
	if err != nil {
		return nil, err
	}
	return &Output{Core: core, Widget: widget, WidgetName: name}, nil
}

// minify reads an ES2017 source and minifies it, shortening the properties
// ManglePropsRe matches as mangled says (and adding the new ones to it).
func minify(src fs.FS, name string, define map[string]string, mangled map[string]interface{}) ([]byte, error) {
	b, err := fs.ReadFile(src, name)
	if err != nil {
		return nil, fmt.Errorf("build snippet: %w", err)
	}
	res := api.Transform(string(b), api.TransformOptions{
		Sourcefile:        name,
		Loader:            api.LoaderJS,
		Target:            api.ES2017,
		MinifyWhitespace:  true,
		MinifyIdentifiers: true,
		MinifySyntax:      true,
		Define:            define,
		MangleProps:       ManglePropsRe,
		MangleCache:       mangled,
		LogLevel:          api.LogLevelSilent,
	})
	if err := buildError(append(res.Errors, res.Warnings...), name, name); err != nil {
		return nil, err
	}
	for k, v := range res.MangleCache {
		mangled[k] = v
	}
	return res.Code, nil
}

// bundle bundles an ES2017 entry point with the ES modules it imports
// (relative paths inside src) into one minified script: the widget chunk
// is written as small modules (widget.js, chat.js, modal.js) rather than one long
// closure. Properties are shortened as in minify.
func bundle(src fs.FS, entry string, mangled map[string]interface{}) ([]byte, error) {
	const ns = "snippet"
	fromSrc := api.Plugin{Name: ns, Setup: func(b api.PluginBuild) {
		b.OnResolve(api.OnResolveOptions{Filter: ".*"}, func(a api.OnResolveArgs) (api.OnResolveResult, error) {
			p := a.Path
			if a.Kind != api.ResolveEntryPoint {
				p = path.Join(path.Dir(a.Importer), a.Path)
			}
			return api.OnResolveResult{Path: p, Namespace: ns}, nil
		})
		b.OnLoad(api.OnLoadOptions{Filter: ".*", Namespace: ns}, func(a api.OnLoadArgs) (api.OnLoadResult, error) {
			b, err := fs.ReadFile(src, a.Path)
			if err != nil {
				return api.OnLoadResult{}, err
			}
			s := string(b)
			return api.OnLoadResult{Contents: &s, Loader: api.LoaderJS}, nil
		})
	}}
	res := api.Build(api.BuildOptions{
		EntryPoints:       []string{entry},
		Bundle:            true,
		Write:             false,
		Format:            api.FormatIIFE,
		Target:            api.ES2017,
		MinifyWhitespace:  true,
		MinifyIdentifiers: true,
		MinifySyntax:      true,
		Plugins:           []api.Plugin{fromSrc},
		MangleProps:       ManglePropsRe,
		MangleCache:       mangled,
		LogLevel:          api.LogLevelSilent,
	})
	if err := buildError(append(res.Errors, res.Warnings...), entry, ""); err != nil {
		return nil, err
	}
	if len(res.OutputFiles) != 1 {
		return nil, fmt.Errorf("build snippet: %s: %d output files", entry, len(res.OutputFiles))
	}
	for k, v := range res.MangleCache {
		mangled[k] = v
	}
	return res.OutputFiles[0].Contents, nil
}

// buildError is the first of msgs (a build's errors and warnings), if any, with
// where it is: file (the message's own file when file is "") and line,
// or what when the message has no location.
func buildError(msgs []api.Message, what, file string) error {
	if len(msgs) == 0 {
		return nil
	}
	m := msgs[0]
	where := what
	if m.Location != nil {
		if file == "" {
			file = m.Location.File
		}
		where = file + ":" + strconv.Itoa(m.Location.Line)
	}
	return fmt.Errorf("build snippet: %s: %s (%d messages)", where, m.Text, len(msgs))
}
