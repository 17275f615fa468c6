package httpd

import "appliance/httpd/reports"

// RebuildKey is the store's marker of a site's reports rebuild in flight:
// for tests that leave one as a crash would.
var RebuildKey = rebuildKey

// Reports is the server's reports service, for tests that read the
// roll-ups as the report pages do.
func (s *Server) Reports() *reports.Service { return s.reports }
