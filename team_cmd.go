package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"appliance/httpd"
	"appliance/httpd/admin"
	"appliance/httpd/webhooks"
)

// The team commands (users, invites, API tokens) and a site's name,
// domains and removal: what the dashboard's Team, API tokens and site
// settings pages do.

// userTeamCmds are `user list|invite|invites|uninvite|role|remove`.
func userTeamCmds(stdout io.Writer) []*cobra.Command {
	var list AdminOptions
	listCmd := &cobra.Command{
		Use:     "list",
		Short:   "List dashboard users with their role and last sign-in",
		Example: `  appliance user list`,
		Args:    cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			return adminCall(c.Context(), list.Data, "user list", func(cl *admin.Client) ([]admin.UserInfo, error) {
				return cl.Users(c.Context())
			}, func(l []admin.UserInfo) { admin.PrintUsers(stdout, l) })
		},
	}
	dataFlag(listCmd, &list.Data)
	bindEnv(listCmd)

	var inv InviteOptions
	invCmd := &cobra.Command{
		Use:   "invite EMAIL",
		Short: "Make a one-time link (valid 7 days) that lets EMAIL set a password and sign in with a role",
		Example: `  appliance user invite anna@example.com --role manager
  appliance user invite ops@example.com --role operator --send --lang en`,
		Args: exactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			if c.Flags().Changed("lang") && !fromEnv(c, "lang") && !inv.Send {
				// It was ignored: the language is the email's, and
				// without --send there is none.
				return usageError{errors.New("user invite: --lang applies only with --send, which is not given: add --send to email the link in that language, or leave out --lang")}
			}
			return runUserInvite(c.Context(), InviteOptions{Data: inv.Data, Email: args[0], Role: inv.Role, Send: inv.Send, Lang: inv.Lang}, stdout)
		},
	}
	dataFlag(invCmd, &inv.Data)
	invCmd.Flags().StringVar(&inv.Role, "role", "operator", "owner, manager (all but users and tokens) or operator (callbacks and the chat console)")
	invCmd.Flags().BoolVar(&inv.Send, "send", false, "email the link to EMAIL too: the running server queues it and sends it through its --smtp (the link is still printed)")
	invCmd.Flags().StringVar(&inv.Lang, "lang", "ru", "language of the email: ru or en")
	bindEnv(invCmd)

	var invs AdminOptions
	invsCmd := &cobra.Command{
		Use:     "invites",
		Short:   "List the invites not yet taken up",
		Example: `  appliance user invites`,
		Args:    cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			return adminCall(c.Context(), invs.Data, "user invites", func(cl *admin.Client) ([]admin.Invited, error) {
				return cl.Invites(c.Context())
			}, func(l []admin.Invited) { admin.PrintInvites(stdout, l) })
		},
	}
	dataFlag(invsCmd, &invs.Data)
	bindEnv(invsCmd)

	var un AdminOptions
	unCmd := &cobra.Command{
		Use:     "uninvite ID",
		Short:   "Cancel an invite (its ID from `appliance user invites`)",
		Example: `  appliance user uninvite 3f2a...`,
		Args:    exactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			return withAdmin(c.Context(), un.Data, webhooks.Policy{}, "user uninvite", func(cl *admin.Client) error {
				if err := cl.CancelInvite(c.Context(), admin.CancelInvite{ID: args[0]}); err != nil {
					return fmt.Errorf("user uninvite: %w", err)
				}
				fmt.Fprintln(stdout, "invite cancelled")
				return nil
			})
		},
	}
	dataFlag(unCmd, &un.Data)
	bindEnv(unCmd)

	var role AdminOptions
	roleCmd := &cobra.Command{
		Use:     "role EMAIL ROLE",
		Short:   "Give a user a role: owner, manager or operator (the last owner keeps theirs)",
		Example: `  appliance user role anna@example.com manager`,
		Args:    exactArgs(2),
		RunE: func(c *cobra.Command, args []string) error {
			return adminCall(c.Context(), role.Data, "user role", func(cl *admin.Client) (admin.User, error) {
				return cl.SetRole(c.Context(), admin.SetRole{Email: args[0], Role: args[1]})
			}, func(u admin.User) { fmt.Fprintf(stdout, "%s is now %s\n", u.Email, u.Role) })
		},
	}
	dataFlag(roleCmd, &role.Data)
	bindEnv(roleCmd)

	var rm AdminOptions
	rmCmd := &cobra.Command{
		Use:     "remove EMAIL",
		Short:   "Remove a user; their sessions end at once",
		Example: `  appliance user remove anna@example.com`,
		Args:    exactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			return adminCall(c.Context(), rm.Data, "user remove", func(cl *admin.Client) (admin.User, error) {
				return cl.RemoveUser(c.Context(), admin.RemoveUser{Email: args[0]})
			}, func(u admin.User) { fmt.Fprintf(stdout, "user %s removed and signed out\n", u.Email) })
		},
	}
	dataFlag(rmCmd, &rm.Data)
	bindEnv(rmCmd)
	return []*cobra.Command{listCmd, invCmd, invsCmd, unCmd, roleCmd, rmCmd}
}

// InviteOptions are the flags of `appliance user invite`.
type InviteOptions struct {
	Data  string
	Email string
	Role  string
	Send  bool   // email the link too (the server's --smtp)
	Lang  string // the email's language
}

// runUserInvite makes an invite and prints its link; with Send the server
// queues its email too (and sends it in a moment, retrying while the SMTP
// server is down), and a link whose email could not be queued is printed
// and fails the command (exit 1), saying why.
func runUserInvite(ctx context.Context, o InviteOptions, stdout io.Writer) error {
	var notSent string
	err := adminCall(ctx, o.Data, "user invite", func(c *admin.Client) (admin.Invited, error) {
		return c.Invite(ctx, admin.Invite{Email: o.Email, Role: o.Role, Send: o.Send, Lang: o.Lang})
	}, func(in admin.Invited) {
		admin.PrintInvited(stdout, in)
		notSent = in.SendError
	})
	if err == nil && notSent != "" {
		err = fmt.Errorf("user invite: the invite is made, but its email could not be queued: %s; send the link above yourself", notSent)
	}
	return err
}

// tokenTeamCmds are `token list|revoke`.
func tokenTeamCmds(stdout io.Writer) []*cobra.Command {
	var list AdminOptions
	listCmd := &cobra.Command{
		Use:     "list",
		Short:   "List API tokens: id, name, sites and last use (never the token)",
		Example: `  appliance token list`,
		Args:    cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			return adminCall(c.Context(), list.Data, "token list", func(cl *admin.Client) ([]admin.TokenInfo, error) {
				return cl.Tokens(c.Context())
			}, func(l []admin.TokenInfo) { admin.PrintTokens(stdout, l) })
		},
	}
	dataFlag(listCmd, &list.Data)
	bindEnv(listCmd)

	var rv AdminOptions
	rvCmd := &cobra.Command{
		Use:     "revoke ID",
		Short:   "Revoke an API token (its ID from `appliance token list`); requests with it are refused at once",
		Example: `  appliance token revoke 9c1e...`,
		Args:    exactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			return adminCall(c.Context(), rv.Data, "token revoke", func(cl *admin.Client) (admin.TokenInfo, error) {
				return cl.RevokeToken(c.Context(), admin.RevokeToken{ID: args[0]})
			}, func(t admin.TokenInfo) { fmt.Fprintf(stdout, "API token %q revoked\n", t.Name) })
		},
	}
	dataFlag(rvCmd, &rv.Data)
	bindEnv(rvCmd)
	return []*cobra.Command{listCmd, rvCmd, tokenChangeCmd(stdout)}
}

// TokenChangeOptions are the flags of `appliance token change`.
type TokenChangeOptions struct {
	Data       string
	Name       string
	Sites      []string
	Scopes     []string
	EverySite  bool
	EveryScope bool
}

// tokenChangeCmd is `token change ID`: a token's name, sites or scopes
// changed in place, so the integration keeps its token.
func tokenChangeCmd(stdout io.Writer) *cobra.Command {
	var o TokenChangeOptions
	cmd := &cobra.Command{
		Use:   "change ID",
		Short: "Change an API token's name, sites or scopes (its ID from `appliance token list`); the token itself stays, its next request is held to the change",
		Example: `  appliance token change 9c1e... --scope calls
  appliance token change 9c1e... --site KEY1,KEY2 --scope leads:read,leads:write
  appliance token change 9c1e... --every-site --every-scope`,
		Args: exactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			in := admin.ChangeToken{ID: args[0]}
			f := c.Flags()
			if f.Changed("name") {
				in.Name = &o.Name
			}
			switch {
			case o.EverySite && f.Changed("site"):
				return usageError{errors.New("token change: give --site or --every-site, not both")}
			case o.EverySite:
				in.Sites = &[]string{}
			case f.Changed("site"):
				in.Sites = &o.Sites
			}
			switch {
			case o.EveryScope && f.Changed("scope"):
				return usageError{errors.New("token change: give --scope or --every-scope, not both")}
			case o.EveryScope:
				in.Scopes = &[]string{}
			case f.Changed("scope"):
				in.Scopes = &o.Scopes
			}
			if in.Name == nil && in.Sites == nil && in.Scopes == nil {
				return usageError{errors.New("token change: give what to change: --name, --site or --every-site, --scope or --every-scope")}
			}
			return adminCall(c.Context(), o.Data, "token change", func(cl *admin.Client) (admin.TokenInfo, error) {
				return cl.ChangeToken(c.Context(), in)
			}, func(t admin.TokenInfo) { admin.PrintTokens(stdout, []admin.TokenInfo{t}) })
		},
	}
	dataFlag(cmd, &o.Data)
	cmd.Flags().StringVar(&o.Name, "name", "", "a new name")
	cmd.Flags().StringSliceVar(&o.Sites, "site", nil, "keys of the sites it may use from now on; repeat or comma-separate (replaces its sites)")
	cmd.Flags().BoolVar(&o.EverySite, "every-site", false, "let it use every site")
	cmd.Flags().StringSliceVar(&o.Scopes, "scope", nil, "what it may do from now on: "+strings.Join(httpd.APIScopes(), ", ")+"; repeat or comma-separate (replaces its scopes)")
	cmd.Flags().BoolVar(&o.EveryScope, "every-scope", false, "let it do everything")
	bindEnv(cmd)
	return cmd
}

// SiteRemoveOptions are the flags of `appliance site remove`.
type SiteRemoveOptions struct {
	Data    string
	Site    string
	Confirm string
}

// siteRemoveCmd is `site remove`.
func siteRemoveCmd(stdout io.Writer) *cobra.Command {
	var o SiteRemoveOptions
	cmd := &cobra.Command{
		Use:     "remove",
		Short:   "Remove a site: its key stops working and it leaves the dashboard; what it gathered stays in the store and in backups",
		Example: `  appliance site remove --site KEY --confirm "My shop"`,
		Args:    cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			return adminCall(c.Context(), o.Data, "site remove", func(cl *admin.Client) (admin.Site, error) {
				return cl.RemoveSite(c.Context(), admin.RemoveSite{Site: o.Site, Confirm: o.Confirm})
			}, func(s admin.Site) {
				fmt.Fprintf(stdout, "site %q removed; its data stays in the store and in backups\n", s.Name)
			})
		},
	}
	dataFlag(cmd, &o.Data)
	cmd.Flags().StringVar(&o.Site, "site", "", "site key (required)")
	cmd.Flags().StringVar(&o.Confirm, "confirm", "", "the site's name, to confirm (required)")
	_ = cmd.MarkFlagRequired("site")
	_ = cmd.MarkFlagRequired("confirm")
	bindEnv(cmd)
	return cmd
}
