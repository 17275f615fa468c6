package httpd

import "appliance/httpd/reports"

// RebuildKey is the store's marker of a site's reports rebuild in flight:
// for tests that leave one as a crash would.
var RebuildKey = rebuildKey

// Reports is the server's reports service, for tests that read the
// roll-ups as the report pages do.
func (s *Server) Reports() *reports.Service { return s.reports }

// OnRebuildStep has step told each step of every rebuild from now on,
// after the settings page can see it; step may block, holding the
// rebuild there, for a test to look at one half-way.
func (s *Server) OnRebuildStep(step func(done, total int64)) {
	s.rebuilds.mu.Lock()
	s.rebuilds.step = step
	s.rebuilds.mu.Unlock()
}
