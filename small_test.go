package main

import (
	"bytes"
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
