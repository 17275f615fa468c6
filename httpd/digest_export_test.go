package httpd

import "appliance/store"

// DigestToken is the unsubscribe token of the weekly (or daily) digest
// of site for email, as the email's link has it: for tests that open the
// link without sending a digest (the screenshot sweep).
func (s *Server) DigestToken(email string, site uint32, weekly bool) string {
	kind := store.DigestDaily
	if weekly {
		kind = store.DigestWeekly
	}
	return s.digests.token(kind, site, email)
}
