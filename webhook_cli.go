package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"appliance/httpd/admin"
)

// WebhookAddOptions are the flags of `appliance webhook add`.
type WebhookAddOptions struct {
	Data   string
	Site   string
	URL    string
	Events []string
	Secret string
	// Outbound applies when no server runs; a running server checks the
	// URL with its own.
	Outbound OutboundOptions
}

// WebhookOptions are the flags of `appliance webhook list|remove`.
type WebhookOptions struct {
	Data string
	Site string
	ID   uint64
}

func runWebhookAdd(ctx context.Context, o WebhookAddOptions, stdout io.Writer) error {
	policy, err := o.Outbound.policy()
	if err != nil {
		return err
	}
	return withAdminPolicy(ctx, o.Data, policy, func(c *admin.Client) error {
		ep, err := c.AddWebhook(ctx, admin.AddWebhook{Site: o.Site, URL: o.URL, Events: o.Events, Secret: o.Secret})
		if err != nil {
			return fmt.Errorf("webhook add: %w", err)
		}
		fmt.Fprintf(stdout, "webhook %d added: %s (%s)\nsecret (shown once; verify X-Appliance-Signature with it):\n%s\n",
			ep.ID, ep.URL, strings.Join(ep.Events, ","), ep.Secret)
		return nil
	})
}

func runWebhookList(ctx context.Context, o WebhookOptions, stdout io.Writer) error {
	return withAdmin(ctx, o.Data, func(c *admin.Client) error {
		list, err := c.Webhooks(ctx, o.Site)
		if err != nil {
			return fmt.Errorf("webhook list: %w", err)
		}
		if len(list) == 0 {
			fmt.Fprintf(stdout, "no webhooks yet: appliance webhook add --site %s --url URL\n", o.Site)
		}
		for _, ep := range list {
			fmt.Fprintf(stdout, "%d  %-18s %s\n", ep.ID, strings.Join(ep.Events, ","), ep.URL)
		}
		return nil
	})
}

func runWebhookRemove(ctx context.Context, o WebhookOptions, stdout io.Writer) error {
	return withAdmin(ctx, o.Data, func(c *admin.Client) error {
		if _, err := c.RemoveWebhook(ctx, admin.RemoveWebhook{Site: o.Site, ID: o.ID}); err != nil {
			return fmt.Errorf("webhook remove: %w", err)
		}
		fmt.Fprintf(stdout, "webhook %d removed\n", o.ID)
		return nil
	})
}
