package main

import (
	"encoding/binary"
	"strings"
	"testing"

	"appliance/store"
	"appliance/store/storetest"
)

// A data directory a newer appliance wrote is refused by this one's
// commands with the way out, before they read or write anything of it.
func TestNewerStoreRefusedByCommands(t *testing.T) {
	dir, _ := offlineSite(t)
	db := storetest.OpenAt(t, dir)
	if err := db.Set(t.Context(), store.MetaKey("data-version"), binary.BigEndian.AppendUint64(nil, store.DataVersion+1)); err != nil {
		t.Fatal(err)
	}
	db.Close()
	for _, args := range [][]string{{"token", "list"}, {"site", "list"}, {"user", "list"}} {
		out, err := cli(t, dir, args...)
		if err == nil || !strings.Contains(err.Error(), "written by a newer appliance") || !strings.Contains(err.Error(), "restore a backup made before the upgrade") {
			t.Errorf("appliance %s on a newer store: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
}
