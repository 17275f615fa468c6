package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
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
