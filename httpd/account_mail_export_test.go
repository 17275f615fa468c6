package httpd

import (
	"context"

	"appliance/httpd/i18n"
)

// QueueInvite makes an invite of email with role, its inviter written as
// by (the Team page gives the inviter's address; a test gives any words),
// and queues its email in lang, as the Team page does.
func (s *Server) QueueInvite(ctx context.Context, email, role, by string, lang i18n.Lang) error {
	token, inv, err := s.accounts.Invite(ctx, email, role, by)
	if err != nil {
		return err
	}
	return s.mail.queueInvite(ctx, token, inv, lang)
}
