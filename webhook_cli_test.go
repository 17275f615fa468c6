package main

import (
	"bytes"
	"context"
	"regexp"
	"strings"
	"testing"
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

	for name, o := range map[string]WebhookAddOptions{
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
	if err := runWebhookRemove(ctx, WebhookOptions{Data: dir, Site: site, ID: n}, &out); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	runWebhookList(ctx, WebhookOptions{Data: dir, Site: site}, &out)
	if !strings.Contains(out.String(), "no webhooks yet") {
		t.Fatalf("after remove, list printed:\n%s", out.String())
	}
}
