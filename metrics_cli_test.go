package main

import (
	"io"
	"net/http"
	"testing"
)

// serve --pprof opens /debug/pprof to the metrics token's bearer.
func TestServePprofFlag(t *testing.T) {
	dir, _ := offlineSite(t)
	base := serveArgs(t, "--data", dir, "--metrics-token", "tok", "--pprof")
	req, _ := http.NewRequest("GET", base+"/debug/pprof/heap", nil)
	req.Header.Set("Authorization", "Bearer tok")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("/debug/pprof/heap with --pprof: %d", resp.StatusCode)
	}
}
