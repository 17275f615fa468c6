// Package assets embeds what the appliance serves to browsers: the
// snippet's readable JavaScript source (built and minified at start by
// httpd), the widget chunk, and the dashboard's HTML templates and CSS.
package assets

import "embed"

// FS holds the dashboard templates and static files under dashboard/, and
// the snippet sources under snippet/.
//
//go:embed dashboard
var FS embed.FS
