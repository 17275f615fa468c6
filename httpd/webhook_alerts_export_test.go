package httpd

import (
	"context"

	"appliance/httpd/webhooks"
)

// HookHealth is the health of site's webhook endpoints that failed since
// their last 2xx (webhooks.Hooks.Health): for tests that wait for an
// attempt's outcome to be recorded.
func (s *Server) HookHealth(ctx context.Context, site uint32) (map[uint64]webhooks.Health, error) {
	return s.hooks.Health(ctx, site)
}
