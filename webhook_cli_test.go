package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"regexp"
	"strings"
	"testing"
	"unicode"
)

// The webhook commands, run with no server (the store opened in-process):
// add prints the id and the secret once, list shows the endpoint without
// it, remove removes it; a bad URL or site is an error.
func TestWebhookCommands(t *testing.T) {
	dir, site := offlineSite(t)
	ctx := context.Background()
	var out bytes.Buffer
	err := runWebhookAdd(ctx, WebhookAddOptions{Data: dir, Site: site, URL: "https://crm.example/hook", Events: []string{"lead", "callback"}}, &out)
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`webhook (\d+) added: https://crm.example/hook \(lead,callback\)\n.*\n(whsec_\S+)\n`).FindStringSubmatch(out.String())
	if m == nil {
		t.Fatalf("webhook add printed:\n%s", out.String())
	}
	id, secret := m[1], m[2]

	out.Reset()
	if err := runWebhookList(ctx, WebhookOptions{Data: dir, Site: site}, &out); err != nil {
		t.Fatal(err)
	}
	if got := out.String(); !strings.Contains(got, id+"  lead,callback") || !strings.Contains(got, "https://crm.example/hook") || strings.Contains(got, secret) {
		t.Fatalf("webhook list printed:\n%s", got)
	}

	// An email address: no secret to print, it is not signed.
	out.Reset()
	if err := runWebhookAdd(ctx, WebhookAddOptions{Data: dir, Site: site, URL: "mailto:owner@shop.example", Events: []string{"lead"}}, &out); err != nil {
		t.Fatal(err)
	}
	if got := out.String(); !strings.Contains(got, "added: mailto:owner@shop.example (lead), sent by email") || strings.Contains(got, "whsec_") {
		t.Errorf("webhook add mailto printed:\n%s", got)
	}

	for name, o := range map[string]WebhookAddOptions{
		"bad email":    {Data: dir, Site: site, URL: "mailto:owner"},
		"bad url":      {Data: dir, Site: site, URL: "crm.example"},
		"unknown site": {Data: dir, Site: "nope", URL: "https://crm.example/hook"},
		"bad kind":     {Data: dir, Site: site, URL: "https://crm.example/hook", Events: []string{"sms"}},
	} {
		if err := runWebhookAdd(ctx, o, &out); err == nil {
			t.Errorf("%s: no error", name)
		}
	}

	out.Reset()
	var n uint64
	for _, c := range id {
		n = n*10 + uint64(c-'0')
	}
	// change: the URL given, the events and secret kept.
	if err := runWebhookChange(ctx, WebhookChangeOptions{Data: dir, Site: site, ID: n, URL: "https://crm2.example/hook"}, &out); err != nil {
		t.Fatal(err)
	}
	if got := out.String(); got != "webhook "+id+" changed: https://crm2.example/hook (lead,callback); what it has still to deliver goes there\n" {
		t.Errorf("webhook change printed %q", got)
	}
	if err := runWebhookChange(ctx, WebhookChangeOptions{Data: dir, Site: site, ID: n + 1000}, &out); err == nil {
		t.Error("changing a webhook that is not there: no error")
	}
	if err := runWebhookChange(ctx, WebhookChangeOptions{Data: dir, Site: site, ID: n, Secret: "short"}, &out); err == nil {
		t.Error("a short secret: no error")
	}
	out.Reset()
	runWebhookList(ctx, WebhookOptions{Data: dir, Site: site}, &out)
	if got := out.String(); !strings.Contains(got, "https://crm2.example/hook") || !strings.Contains(got, id+"  lead,callback") {
		t.Errorf("after change, list printed:\n%s", got)
	}
	out.Reset()
	if err := runWebhookRemove(ctx, WebhookOptions{Data: dir, Site: site, ID: n}, &out); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	runWebhookList(ctx, WebhookOptions{Data: dir, Site: site}, &out)
	if strings.Contains(out.String(), "crm.example") || !strings.Contains(out.String(), "mailto:owner@shop.example") {
		t.Fatalf("after remove, list printed:\n%s", out.String())
	}
}

// Offline (the store opened in-process), `webhook add` and `callback set`
// refuse a URL on the loopback as the server would, and take the flags
// that open the local network, from the command line or the environment.
// serve refuses a malformed network as a usage error.
func TestOutboundFlags(t *testing.T) {
	dir, site := offlineSite(t)
	run := func(t *testing.T, args ...string) (string, error) {
		var out bytes.Buffer
		root := newRoot(&out)
		root.SetArgs(append(args, "--data", dir, "--site", site))
		root.SetOut(io.Discard)
		root.SetErr(io.Discard)
		err := root.ExecuteContext(context.Background())
		return out.String(), err
	}
	for _, tc := range []struct {
		name  string
		env   string // APPLIANCE_WEBHOOK_ALLOW_PRIVATE
		args  []string
		allow bool
	}{
		{"default", "", nil, false},
		{"flag", "", []string{"--webhook-allow-private"}, true},
		{"env", "true", nil, true},
		{"env off", "false", nil, false},
		{"cidr", "", []string{"--webhook-allow-cidr", "10.0.0.0/8,127.0.0.0/8"}, true},
		{"other cidr", "", []string{"--webhook-allow-cidr", "10.0.0.0/8"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.env != "" {
				t.Setenv("APPLIANCE_WEBHOOK_ALLOW_PRIVATE", tc.env)
			}
			for _, cmd := range [][]string{
				{"webhook", "add", "--url", "http://127.0.0.1:9/hook"},
				{"callback", "set", "--webhook", "http://localhost:9/callback"},
			} {
				out, err := run(t, append(cmd, tc.args...)...)
				if tc.allow && err != nil {
					t.Errorf("%s: %v", cmd[:2], err)
				}
				if !tc.allow && (err == nil || !strings.Contains(err.Error(), "a loopback address") || !strings.Contains(err.Error(), "--webhook-allow-private")) {
					t.Errorf("%s: err %v, want a refusal of the loopback\n%s", cmd[:2], err, out)
				}
			}
		})
	}
	err := runServe(context.Background(), ServeOptions{Data: t.TempDir(), Listen: "127.0.0.1:0", Outbound: OutboundOptions{AllowCIDR: []string{"ten"}}}, io.Discard, nil)
	var ue usageError
	if !errors.As(err, &ue) || !strings.Contains(err.Error(), "--webhook-allow-cidr") {
		t.Errorf("serve with a bad network: %v, want a usage error", err)
	}
}

// A refused webhook URL reads as the command's other errors do, after its
// name and in lower case ("webhook add: the URL must be ..."), not as a
// page's capitalized sentence ("webhook add: The URL must be").
func TestWebhookRefusalReadsAsACommandError(t *testing.T) {
	dir, key := offlineSite(t)
	for _, args := range [][]string{
		{"webhook", "add", "--site", key, "--url", "ftp://x.example/"},
		{"webhook", "add", "--site", key, "--url", "http://127.0.0.1:9/x"},
	} {
		_, err := cli(t, dir, args...)
		var stderr bytes.Buffer
		exitCode(err, &stderr)
		if got := stderr.String(); !strings.HasPrefix(got, "appliance: webhook add: ") || !unicode.IsLower([]rune(strings.TrimPrefix(got, "appliance: webhook add: "))[0]) {
			t.Errorf("appliance %s printed %q, want appliance: webhook add: and the reason in lower case", strings.Join(args, " "), got)
		}
	}
}

// An email endpoint added where no server runs with --smtp says that its
// emails wait for one, rather than only "sent by email through serve's
// --smtp server", which a newcomer whose server has no --smtp took for
// emails on their way.
func TestMailtoWebhookWithoutSMTPSaysItWaits(t *testing.T) {
	dir, key := offlineSite(t)
	out, err := cli(t, dir, "webhook", "add", "--site", key, "--url", "mailto:owner@shop.example", "--events", "lead")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "no server runs with --smtp now, so its emails wait until one does") {
		t.Errorf("webhook add mailto: without --smtp printed %q", out)
	}
}

// A URL no endpoint can have says every kind webhook add takes, as its
// --help does: "http:// or https://" alone had a newcomer with a mailto:
// typo think email endpoints were not for the CLI.
func TestWebhookRefusedURLNamesEveryKind(t *testing.T) {
	dir, key := offlineSite(t)
	_, err := cli(t, dir, "webhook", "add", "--site", key, "--url", "mail:owner@shop.example")
	var stderr bytes.Buffer
	want := "appliance: webhook add: the URL must be http:// or https://host/..., mailto:ADDRESS or telegram:CHAT_ID, at most 2048 bytes\n"
	if code := exitCode(err, &stderr); code != 2 || !strings.HasPrefix(stderr.String(), want) {
		t.Errorf("webhook add --url mail:...: exit %d, printed %q; want 2, %q", code, stderr.String(), want)
	}
}
