package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// `costs import` stores a cost file while serving (and says which lines
// of a bad one are wrong, storing nothing); `reports rebuild` recomputes
// the roll-ups, with or without a server.
func TestReportsAndCostsCommands(t *testing.T) {
	dir := t.TempDir()
	addr, stop := startServe(t, dir)
	ctx := context.Background()
	var out bytes.Buffer
	if err := runSiteAdd(ctx, SiteAddOptions{Data: dir, Name: "Shop", Domains: []string{"shop.example"}, TimeZone: "Europe/Moscow"}, &out); err != nil {
		t.Fatal(err)
	}
	_, after, _ := strings.Cut(out.String(), "site key: ")
	key, _, _ := strings.Cut(after, "\n")
	for _, u := range []string{"https://shop.example/?utm_source=yandex&utm_medium=cpc", "https://shop.example/about"} {
		b, _ := json.Marshal(map[string]string{"k": key, "u": u, "t": "x"})
		req, _ := http.NewRequest("POST", "http://"+addr+"/t/v1/hit", bytes.NewReader(b))
		req.Header.Set("User-Agent", "Mozilla/5.0 (X11; Linux x86_64) Chrome/120.0") // a person, not a bot
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("hit: %d", resp.StatusCode)
		}
	}
	good := filepath.Join(dir, "costs.csv")
	os.WriteFile(good, []byte("date,source,medium,campaign,cost\n2026-11-01,yandex,cpc,autumn,1500\n2026-11-02,yandex,cpc,autumn,99.50\n"), 0o600)
	out.Reset()
	if err := runCostsImport(ctx, CostsImportOptions{Data: dir, Site: key, File: good}, nil, &out); err != nil {
		t.Fatal(err)
	}
	if got := out.String(); !strings.Contains(got, "imported 2 lines") || !strings.Contains(got, "2026-11-01 to 2026-11-02, 1599.50 in all") {
		t.Errorf("costs import printed %q", got)
	}
	err := runCostsImport(ctx, CostsImportOptions{Data: dir, Site: key, File: "-"}, strings.NewReader("2026-11-01,yandex,cpc,autumn,1500\n2026-11-31,yandex,cpc,x,1\n"), &out)
	if err == nil || !strings.Contains(err.Error(), "line 2: date") || !strings.Contains(err.Error(), "nothing imported") {
		t.Errorf("bad cost file: %v", err)
	}
	out.Reset()
	if err := runReportsRebuild(ctx, RebuildOptions{Data: dir, Site: key}, &out); err != nil {
		t.Fatal(err)
	}
	if got := out.String(); !strings.Contains(got, "rebuilt from the raw records in Europe/Moscow") || !strings.Contains(got, "2 visitors") {
		t.Errorf("rebuild printed %q", got)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if err := runReportsRebuild(ctx, RebuildOptions{Data: dir, Site: key}, &out); err != nil || !strings.Contains(out.String(), "2 visitors") {
		t.Errorf("rebuild without a server: %v %q", err, out.String())
	}
	if err := runReportsRebuild(ctx, RebuildOptions{Data: dir, Site: "NoSuchSite0123456789012345678901"}, &out); err == nil {
		t.Error("rebuild of an unknown site succeeded")
	}
}
