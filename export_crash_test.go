package main

import (
	"context"
	"encoding/json"
	"math/rand/v2"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"appliance/export"
	"appliance/export/exporttest"
	"appliance/store"
	"appliance/store/storetest"
)

// A child `serve --export` under hit load is SIGKILLed at random moments
// while it publishes, several rounds on one data directory and one NATS
// server. At the end every hit in the store is in the stream exactly once,
// and the stream holds nothing else.
func TestExportCrashExactlyOnce(t *testing.T) {
	n := exporttest.Start(t)
	dir := t.TempDir()
	child := func() (*exec.Cmd, string) {
		cmd := exec.Command(os.Args[0], "serve", "--data", dir, "--listen", "127.0.0.1:0",
			"--export", n.URL, "--export-stream", "STREAM")
		return startChildCmd(t, dir, cmd)
	}
	rounds := 4
	if testing.Short() {
		rounds = 2
	}
	var site siteRef
	acked := 0
	for round := range rounds {
		cmd, addr := child()
		if round == 0 {
			site = addSite(t, dir)
		}
		ctx, cancel := context.WithCancel(context.Background())
		got, wait := hitLoad(ctx, "http://"+addr, site.Key, 8)
		before := n.Count(t, "STREAM")
		for len(got()) < 100 || n.Count(t, "STREAM") <= before {
			time.Sleep(2 * time.Millisecond)
		}
		time.Sleep(time.Duration(rand.IntN(100)) * time.Millisecond) // a random moment mid-export
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		cmd.Wait()
		cancel()
		wait()
		acked += len(got())
		t.Logf("round %d: %d hits acknowledged, %d messages in the stream at SIGKILL", round, len(got()), n.Count(t, "STREAM"))
	}
	// Restart without load until the export log is drained.
	for {
		cmd, _ := child()
		for n.Count(t, "STREAM") < uint64(acked) {
			time.Sleep(10 * time.Millisecond)
		}
		if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		if err := cmd.Wait(); err != nil {
			t.Fatalf("serve after SIGTERM: %v", err)
		}
		db := storetest.OpenAt(t, dir)
		backlog := db.ExportStats().Backlog
		db.Close()
		if backlog == 0 {
			break
		}
		t.Logf("%d events still on disk; again", backlog)
	}
	db := storetest.OpenAt(t, dir)
	inStore := map[uint64]bool{}
	err := db.ScanPrefix(context.Background(), store.SiteHitPrefix(site.ID), false, 0, func(k, _ []byte) bool {
		_, id, _ := store.SessionItemIDs(k)
		inStore[id] = true
		return true
	})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[uint64]int{}
	for _, m := range n.Messages(t, "STREAM") {
		var h export.Hit
		if err := json.Unmarshal(m.Data, &h); err != nil || h.Kind != export.KindHit {
			t.Fatalf("message %s: %v", m.Data, err)
		}
		seen[h.ID]++
		if !inStore[h.ID] {
			t.Errorf("hit %d in the stream but not in the store", h.ID)
		}
	}
	for id := range inStore {
		if seen[id] != 1 {
			t.Errorf("hit %d in the stream %d times", id, seen[id])
		}
	}
	if len(inStore) < acked {
		t.Errorf("%d hits in the store, %d acknowledged", len(inStore), acked)
	}
	t.Logf("%d hits in the store (%d acknowledged), each once in the stream", len(inStore), acked)
}
