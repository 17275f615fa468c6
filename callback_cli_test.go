package main

import (
	"bytes"
	"context"
	"errors"
	"regexp"
	"strings"
	"testing"
)

// callback set, run with no server (the store opened in-process): it
// prints what it set, the generated secret once, and keeps what was not
// given; bad values are errors.
func TestCallbackSet(t *testing.T) {
	dir, site := offlineSite(t)
	ctx := context.Background()
	var out bytes.Buffer
	str := func(s string) *string { return &s }

	out.Reset()
	if err := runCallbackSet(ctx, CallbackSetOptions{Data: dir, Site: site, Webhook: str("https://pbx.example/cb"), Captcha: "on"}, &out); err != nil {
		t.Fatal(err)
	}
	got := out.String()
	secret := regexp.MustCompile(`secret \(shown once; verify X-Appliance-Signature with it\): (cbsec_\S+)\n`).FindStringSubmatch(got)
	if secret == nil || !strings.Contains(got, "callbacks of site "+site+":\n  scenario: https://pbx.example/cb\n") ||
		!strings.Contains(got, "  captcha: on, 4 digits\n  language: auto (the visitor's browser)\n  groups: none\n") {
		t.Fatalf("callback set printed:\n%s", got)
	}

	out.Reset()
	if err := runCallbackSet(ctx, CallbackSetOptions{Data: dir, Site: site, Lang: str("ru"), Groups: str("16587 Продажи; 16588=Support")}, &out); err != nil {
		t.Fatal(err)
	}
	got = out.String()
	if strings.Contains(got, "secret") || !strings.Contains(got, "scenario: https://pbx.example/cb\n  captcha: on, 4 digits\n  language: ru\n  groups: 16587 Продажи; 16588 Support\n") {
		t.Fatalf("second callback set printed:\n%s", got)
	}

	out.Reset()
	six := 6
	if err := runCallbackSet(ctx, CallbackSetOptions{Data: dir, Site: site, CaptchaDigits: &six}, &out); err != nil {
		t.Fatal(err)
	}
	if got = out.String(); !strings.Contains(got, "  captcha: on, 6 digits\n  language: ru\n") {
		t.Fatalf("callback set --captcha-digits 6 printed:\n%s", got)
	}
	five := 5

	for name, o := range map[string]CallbackSetOptions{
		"bad url":      {Data: dir, Site: site, Webhook: str("pbx.example")},
		"short secret": {Data: dir, Site: site, Secret: str("short")},
		"bad captcha":  {Data: dir, Site: site, Captcha: "maybe"},
		"5 digits":     {Data: dir, Site: site, CaptchaDigits: &five},
		"bad lang":     {Data: dir, Site: site, Lang: str("de")},
		"bad groups":   {Data: dir, Site: site, Groups: str("Sales")},
		"unknown site": {Data: dir, Site: "nope", Captcha: "off"},
	} {
		if err := runCallbackSet(ctx, o, &out); err == nil {
			t.Errorf("%s: no error", name)
		}
	}

	out.Reset()
	if err := runCallbackSet(ctx, CallbackSetOptions{Data: dir, Site: site, Webhook: str("")}, &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "scenario: none") {
		t.Errorf("removing the scenario printed:\n%s", out.String())
	}
}

// The command line: flags not given are not sent, so they keep their
// value; no flag at all is a usage error.
func TestCallbackSetFlags(t *testing.T) {
	var out bytes.Buffer
	root := newRoot(&out)
	root.SetArgs([]string{"callback", "set", "--site", "KEY", "--data", t.TempDir()})
	err := root.ExecuteContext(context.Background())
	var ue usageError
	if err == nil || !errors.As(err, &ue) || !strings.Contains(err.Error(), "at least one of") {
		t.Errorf("callback set with no setting: %v", err)
	}

	dir, site := offlineSite(t)
	out.Reset()
	root = newRoot(&out)
	root.SetArgs([]string{"callback", "set", "--site", site, "--data", dir, "--captcha-digits", "6"})
	if err := root.ExecuteContext(context.Background()); err != nil || !strings.Contains(out.String(), "  captcha: off (6 digits when on)\n") {
		t.Errorf("callback set --captcha-digits 6: %v\n%s", err, out.String())
	}
}
