package main

import (
	"io"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// Every flag of every command takes its APPLIANCE_* variable, as the
// README says, and its --help names it: serve's flags said so, the other
// commands' (--site, backup's --low-priority, restore's --force) did not,
// so a newcomer could not tell from --help that APPLIANCE_SITE works.
func TestEveryFlagHelpNamesItsVariable(t *testing.T) {
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		for _, sub := range c.Commands() {
			if sub.Name() != "help" && sub.Name() != "completion" {
				walk(sub)
			}
		}
		if !c.Runnable() || !c.HasParent() || c.HasSubCommands() || c.Name() == "version" {
			return
		}
		if c.Annotations[envAnnotation] == "" {
			t.Errorf("appliance %s: its flags take no APPLIANCE_* variable", strings.TrimPrefix(c.CommandPath(), "appliance "))
		}
		c.Flags().VisitAll(func(f *pflag.Flag) {
			if f.Name == "help" {
				return
			}
			if want := "(env " + envName(f.Name) + ")"; !strings.Contains(f.Usage, want) {
				t.Errorf("appliance %s --%s: help %q does not name %s", strings.TrimPrefix(c.CommandPath(), "appliance "), f.Name, f.Usage, want)
			}
		})
	}
	walk(newRoot(io.Discard))
}
