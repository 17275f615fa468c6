// Package assets embeds what the appliance serves to browsers: the
// snippet's readable JavaScript source (built and minified at start by
// httpd), the widget chunk, and the dashboard's HTML templates and CSS.
package assets

import "embed"

// FS holds the dashboard templates and static files under dashboard/, and
// the snippet sources under snippet/: cs.js (the core every page loads) and
// widget.js (the lazy UI chunk). The snippet files are the readable source;
// httpd minifies, hashes and precompresses them once at start.
//
//go:embed dashboard snippet
var FS embed.FS
