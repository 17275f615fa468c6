// Package assets embeds what the appliance serves to browsers: the
// snippet, built from its readable JavaScript source, and the dashboard's
// HTML templates and CSS.
package assets

import "embed"

//go:generate go run snippet_gen.go

// FS holds the dashboard templates and static files under dashboard/, and
// the built snippet under snippet/dist: cs.min.js (the core every page
// loads) and cs-widget.<hash>.js (the lazy UI chunk), minified from the
// readable source in snippet/ by `go generate ./assets`. The source is not
// embedded; httpd compresses the built files once.
//
//go:embed dashboard snippet/dist
var FS embed.FS
