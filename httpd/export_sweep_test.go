package httpd

import "slices"

// DashboardPages lists the GET routes of the dashboard, as registered
// ("/sites/*/leads"; a prefix route ends in "*": "/sites/*"), for tests
// outside the package that visit every page: a page added later is
// visited without touching them.
func (s *Server) DashboardPages() []string {
	var out []string
	for _, rt := range s.routes.all {
		if rt.page && rt.method == "GET" {
			p := rt.path
			if slices.Contains(s.routes.prefix, rt) {
				p += "*"
			}
			out = append(out, p)
		}
	}
	return out
}
