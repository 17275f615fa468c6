package main

import "github.com/spf13/cobra"

// mailFlags adds serve's SMTP flags: the server that notifications to
// mailto: endpoints go through (webhook add --url mailto:...), and the
// dashboard's password reset links and invites.
func mailFlags(cmd *cobra.Command, o *ServeOptions) {
	cmd.Flags().StringVar(&o.SMTP, "smtp", "",
		"SMTP server for email notifications, password resets and invites: smtp://[user:password@]host[:587] (STARTTLS; plain only to this machine's own relay) or smtps://...:465 (env APPLIANCE_SMTP)")
	cmd.Flags().StringVar(&o.SMTPFrom, "smtp-from", "",
		"sender of the emails, e.g. \"Shop <noreply@shop.example>\" (env APPLIANCE_SMTP_FROM)")
}
