package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"

	"appliance/export"
	"appliance/export/exporttest"
)

// `export backfill` replays a site's history: refused by a server that
// does not export; with no server running it publishes through --export
// and drains before it returns; again, JetStream drops the replay; with
// NATS away it says how much waits on disk instead of hanging.
func TestExportBackfillCommand(t *testing.T) {
	dir := t.TempDir()
	addr, stop := startServe(t, dir)
	ctx := context.Background()
	var out bytes.Buffer
	if err := runSiteAdd(ctx, SiteAddOptions{Data: dir, Name: "Shop", Domains: []string{"shop.example"}}, &out); err != nil {
		t.Fatal(err)
	}
	_, after, _ := strings.Cut(out.String(), "site key: ")
	key, _, _ := strings.Cut(after, "\n")
	for i := range 3 {
		b, _ := json.Marshal(map[string]string{"k": key, "u": fmt.Sprintf("https://shop.example/p%d?utm_source=yandex", i), "t": "x"})
		req, _ := http.NewRequest("POST", "http://"+addr+"/t/v1/hit", bytes.NewReader(b))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("hit: %d", resp.StatusCode)
		}
	}
	o := BackfillOptions{Data: dir, Site: key, From: "2020-01-01"}
	if err := runExportBackfill(ctx, o, &out); err == nil || !strings.Contains(err.Error(), "export is off") {
		t.Errorf("backfill on a server without --export: %v", err)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}

	n := exporttest.Start(t)
	o.Export = ExportOptions{URL: n.URL, Subject: "appliance.events", Stream: "STREAM", Backlog: 1000}
	for round := range 2 {
		out.Reset()
		if err := runExportBackfill(ctx, o, &out); err != nil {
			t.Fatal(err)
		}
		if got := out.String(); !strings.Contains(got, "queued 3 hits") || !strings.Contains(got, "all of them are in the stream") {
			t.Errorf("round %d printed %q", round, got)
		}
		msgs := n.Messages(t, "STREAM")
		if len(msgs) != 3 {
			t.Fatalf("round %d: %d messages in the stream, want 3", round, len(msgs))
		}
		for _, m := range msgs {
			var h export.Hit
			if err := json.Unmarshal(m.Data, &h); err != nil || h.Kind != "hit" || h.Site != key || h.UTMSource != "yandex" {
				t.Errorf("message %s", m.Data)
			}
		}
	}
	if err := runExportBackfill(ctx, BackfillOptions{Data: dir, Site: key, From: "2020-02-30", Export: o.Export}, &out); err == nil {
		t.Error("backfill from 2020-02-30 accepted")
	}

	n.Stop()
	out.Reset()
	if err := runExportBackfill(ctx, o, &out); err != nil {
		t.Fatal(err)
	}
	if got := out.String(); !strings.Contains(got, "queued 3 hits") || !strings.Contains(got, "3 events wait on disk") {
		t.Errorf("with NATS away printed %q", got)
	}
}

// export backfill's --export flags are for a backfill with no server
// running: while one runs, which publishes with its own serve --export
// settings, they are refused given on the command line (they were taken
// and ignored), and not set through APPLIANCE_EXPORT_*, which an
// environment file shared with serve may set. Run as the binary.
func TestExportBackfillRefusesFlagsAServerIgnores(t *testing.T) {
	dir := t.TempDir()
	startServe(t, dir)
	key := addSite(t, dir).Key
	backfill := []string{"export", "backfill", "--site", key, "--from", "2026-01-01", "--data", dir}
	code, stderr := runBinary(t, "", append(backfill, "--export", "nats://127.0.0.1:4222", "--export-subject", "shop.events")...)
	want := "appliance: export backfill: --export, --export-subject apply only with no server running, and a server runs on --data " + dir +
		": it publishes with its own serve --export settings; leave out --export, --export-subject, or stop the server\n" +
		"Run 'appliance export backfill --help' for usage.\n"
	if code != 2 || stderr != want {
		t.Errorf("backfill with --export flags beside a server: exit %d, stderr %q; want exit 2 and %q", code, stderr, want)
	}
	cmd := exec.Command(os.Args[0], backfill...)
	cmd.Env = append(os.Environ(), "APPLIANCE_TEST_MAIN=1", "APPLIANCE_EXPORT=nats://127.0.0.1:4222", "APPLIANCE_EXPORT_SUBJECT=shop.events")
	var errOut bytes.Buffer
	cmd.Stderr = &errOut
	_ = cmd.Run()
	// The server's own answer: it runs without --export.
	if got := errOut.String(); cmd.ProcessState.ExitCode() != 1 || !strings.Contains(got, "export is off") {
		t.Errorf("backfill with APPLIANCE_EXPORT_* beside a server: exit %d, stderr %q; want exit 1, export is off", cmd.ProcessState.ExitCode(), got)
	}
}
