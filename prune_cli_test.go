package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// site set --retention-days and prune --dry-run with no server running:
// the retention is stored and shown, the dry run lists every kind.
func TestPruneCommands(t *testing.T) {
	dir, site := offlineSite(t)
	run := func(args ...string) (string, error) {
		var out bytes.Buffer
		root := newRoot(&out)
		root.SetArgs(append(args, "--data", dir))
		err := root.ExecuteContext(context.Background())
		return out.String(), err
	}
	if out, err := run("site", "set", "--site", site, "--retention-days", "90"); err != nil || !strings.Contains(out, "visits kept 90 days") {
		t.Fatalf("site set --retention-days 90: %v\n%s", err, out)
	}
	if out, err := run("site", "set", "--site", site, "--retention-days", "-1"); err == nil {
		t.Fatalf("--retention-days -1 taken:\n%s", out)
	}
	out, err := run("prune", "--dry-run")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"would delete (dry run, nothing changed)", "0 sessions", "0 page views", "0 delivered webhooks", "0 leases of the lease history", "0 expired captchas"} {
		if !strings.Contains(out, want) {
			t.Errorf("prune --dry-run lacks %q:\n%s", want, out)
		}
	}
	if out, err := run("prune"); err != nil || !strings.Contains(out, "deleted:") {
		t.Errorf("prune: %v\n%s", err, out)
	}
}
