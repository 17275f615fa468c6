package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// `appliance --version` prints what `appliance version` prints.
func TestVersionFlag(t *testing.T) {
	for _, args := range [][]string{{"--version"}, {"version"}} {
		var out bytes.Buffer
		root := newRoot(&out)
		root.SetArgs(args)
		if err := root.Execute(); err != nil {
			t.Fatalf("appliance %s: %v", args[0], err)
		}
		if got := out.String(); got != "appliance "+version+"\n" {
			t.Errorf("appliance %s printed %q", args[0], got)
		}
	}
}

// `site list` prints each site's install code, as the README says.
func TestSiteListPrintsInstallCode(t *testing.T) {
	dir, key := offlineSite(t)
	var out bytes.Buffer
	if err := runSiteList(context.Background(), AdminOptions{Data: dir}, &out); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{key + "  Shop", "install code:", `__cs.push(["setCsAccount", "` + key + `"]);`, "static/cs.min.js"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("site list printed %q, want %q in it", out.String(), want)
		}
	}
}
