package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"appliance/httpd"
	"appliance/httpd/webhooks"
	"appliance/numbers"
)

// ServeOptions are the flags of `appliance serve`.
type ServeOptions struct {
	Data         string
	Listen       string
	PublicURL    string
	TLSCert      string
	TLSKey       string
	TrustProxy   bool
	MetricsToken string
	MaxConns     int // 0: from the open file limit
	Version      string
	Outbound     OutboundOptions
	PhoneRegion  string // where a phone number without a country code is read: RU, GB, ...
}

// runServe checks the flags and runs the server (httpd.Run) until ctx
// ends; ready, when set, is called with the bound address.
func runServe(ctx context.Context, o ServeOptions, stdout io.Writer, ready func(addr string)) error {
	policy, err := o.Outbound.policy()
	if err != nil {
		return err
	}
	region := strings.ToUpper(strings.TrimSpace(o.PhoneRegion))
	if region == "" {
		region = numbers.DefaultRegion
	}
	if err := numbers.CheckRegion(region); err != nil {
		return usageError{fmt.Errorf("--phone-region: %w", err)}
	}
	return httpd.Run(ctx, o.Data, httpd.Options{
		Listen: o.Listen, PublicURL: o.PublicURL, TLSCert: o.TLSCert, TLSKey: o.TLSKey,
		TrustProxy: o.TrustProxy, MetricsToken: o.MetricsToken, Version: o.Version, Stdout: stdout,
		MaxConns: o.MaxConns,
		Webhooks: webhooks.Options{Policy: policy}, PhoneRegion: region,
	}, ready)
}
