package httpd

import "testing"

// SnippetOf is an option of httpdtest.Start: the server serves the built
// snippet with its widget chunk marked tag, as a binary of another version
// would (snippetVersion); chunk is that chunk's file name.
func SnippetOf(t *testing.T, tag string) (opt func(*Options), chunk string) {
	t.Helper()
	v := snippetVersion(t, tag)
	return func(o *Options) { o.snippetDist = v.dist }, v.name
}
