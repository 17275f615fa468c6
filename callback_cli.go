package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"appliance/httpd/admin"
)

// CallbackSetOptions are the flags of `appliance callback set`; a nil
// field was not given and keeps its value.
type CallbackSetOptions struct {
	Data    string
	Site    string
	Webhook *string
	Secret  *string
	Captcha string // "on", "off", or "" to keep
	Lang    *string
	Groups  *string
	// Outbound applies when no server runs; a running server checks the
	// URL with its own.
	Outbound OutboundOptions
}

func callbackCmd(stdout io.Writer) *cobra.Command {
	cmd := &cobra.Command{Use: "callback", Short: "Set up callbacks (sitephone): the PBX scenario, captcha, widget language and groups"}
	var o CallbackSetOptions
	var webhook, secret, lang, groups string
	setCmd := &cobra.Command{
		Use:   "set",
		Short: "Set a site's callback scenario (a signed webhook the PBX acts on) and widget settings, and print them",
		Example: `  appliance callback set --site KEY --webhook https://pbx.example.com/callback
  appliance callback set --site KEY --webhook https://pbx.example.com/callback --secret "$SECRET" --captcha on
  appliance callback set --site KEY --lang ru --groups "16587 Sales; 16588 Support"
  appliance callback set --site KEY --webhook ""    # no scenario: visitors are told so (status 2)`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			f := c.Flags()
			for name, dst := range map[string]**string{"webhook": &o.Webhook, "secret": &o.Secret, "lang": &o.Lang, "groups": &o.Groups} {
				if f.Changed(name) {
					v, _ := f.GetString(name)
					*dst = &v
				}
			}
			if o.Webhook == nil && o.Secret == nil && o.Captcha == "" && o.Lang == nil && o.Groups == nil {
				return usageError{fmt.Errorf("callback set: give at least one of --webhook, --secret, --captcha, --lang, --groups")}
			}
			return runCallbackSet(c.Context(), o, stdout)
		},
	}
	dataFlag(setCmd, &o.Data)
	siteFlag(setCmd, &o.Site)
	fl := setCmd.Flags()
	fl.StringVar(&webhook, "webhook", "", `http(s) URL of the callback scenario; "" removes it`)
	fl.StringVar(&secret, "secret", "", "signing secret of the scenario; default: keep it, or generate one")
	fl.StringVar(&o.Captcha, "captcha", "", "require a captcha for callbacks: on or off")
	fl.StringVar(&lang, "lang", "", "language of the built-in widgets: ru, en or auto (the visitor's browser)")
	fl.StringVar(&groups, "groups", "", `groups the callback panel offers, "ID NAME" separated by ";"`)
	outboundFlags(setCmd, &o.Outbound, whenNoServer)
	bindEnv(setCmd)
	cmd.AddCommand(setCmd)
	return cmd
}

func runCallbackSet(ctx context.Context, o CallbackSetOptions, stdout io.Writer) error {
	if o.Captcha != "" && o.Captcha != "on" && o.Captcha != "off" {
		return usageError{fmt.Errorf("callback set: --captcha is on or off, not %q", o.Captcha)}
	}
	policy, err := o.Outbound.policy()
	if err != nil {
		return err
	}
	return withAdminPolicy(ctx, o.Data, policy, func(c *admin.Client) error {
		info, err := c.SetCallbacks(ctx, admin.SetCallbacks{Site: o.Site, Webhook: o.Webhook, Secret: o.Secret,
			Captcha: o.Captcha, Lang: o.Lang, Groups: o.Groups})
		if err != nil {
			return fmt.Errorf("callback set: %w", err)
		}
		printCallbackSettings(stdout, info)
		return nil
	})
}

func printCallbackSettings(w io.Writer, info admin.CallbackSettings) {
	fmt.Fprintf(w, "callbacks of site %s:\n", info.Site)
	if info.Webhook == "" {
		fmt.Fprintln(w, "  scenario: none (callbacks are kept and sent to webhooks; visitors get status 2)")
	} else {
		fmt.Fprintf(w, "  scenario: %s\n", info.Webhook)
	}
	if info.Secret != "" {
		fmt.Fprintf(w, "  secret (shown once; verify X-Appliance-Signature with it): %s\n", info.Secret)
	}
	onOff := map[bool]string{true: "on", false: "off"}
	fmt.Fprintf(w, "  captcha: %s\n", onOff[info.Captcha])
	lang := info.Lang
	if lang == "" {
		lang = "auto (the visitor's browser)"
	}
	fmt.Fprintf(w, "  language: %s\n", lang)
	var gs []string
	for _, g := range info.Groups {
		gs = append(gs, fmt.Sprintf("%d %s", g.ID, g.Name))
	}
	if len(gs) == 0 {
		gs = []string{"none"}
	}
	fmt.Fprintf(w, "  groups: %s\n", strings.Join(gs, "; "))
}
