package httpd_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"
	"time"

	"appliance/httpd"
	"appliance/httpd/httpdtest"
	"appliance/numbers"
	"appliance/numbers/tracking"
	"appliance/store"
)

// The pools' memory and start-up figures (README: performance): a real
// server in a child process, so that its RSS is its own, started on a
// store with 16 sites of one pool of 5,000 numbers, every number leased
// (the most a restart restores), beside the same server on an empty store
// in the same run. It reports figures and asserts none (the machine is
// shared): APPLIANCE_POOL_LOAD=1 go test -run TestPoolLoad -v ./httpd/

const poolLoadChildEnv = "APPLIANCE_POOL_LOAD_DIR"

// TestPoolLoadChild is the server of TestPoolLoad, run only as its child:
// it writes how long the server took to start, then serves until killed.
func TestPoolLoadChild(t *testing.T) {
	dir := os.Getenv(poolLoadChildEnv)
	if dir == "" {
		t.Skip("the child process of TestPoolLoad")
	}
	start := time.Now()
	httpdtest.StartAt(t, filepath.Join(dir, "db"), func(o *httpd.Options) { o.Log = nil })
	took := time.Since(start)
	if os.Getenv("APPLIANCE_POOL_LOAD_FREE") != "" {
		debug.FreeOSMemory()
	}
	if err := os.WriteFile(filepath.Join(dir, "info.tmp"), []byte(fmt.Sprint(took.Nanoseconds())), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(filepath.Join(dir, "info.tmp"), filepath.Join(dir, "info")); err != nil {
		t.Fatal(err)
	}
	select {}
}

func TestPoolLoad(t *testing.T) {
	if os.Getenv("APPLIANCE_POOL_LOAD") == "" {
		t.Skip("a load test: APPLIANCE_POOL_LOAD=1")
	}
	empty, pools := t.TempDir(), t.TempDir()
	leasePools(t, filepath.Join(pools, "db"), 16, 5000)
	// Alternate the two servers, as the figures of a noisy machine must.
	for round := range 2 {
		for _, c := range []struct{ name, dir string }{{"empty store", empty}, {"16 pools x 5,000 numbers, all leased", pools}} {
			took, rss, anon := poolLoadChild(t, c.dir)
			t.Logf("FIGURE round %d, %s: start-up %s, server RSS %d KB, of it anonymous %d KB (load average %.1f)", round+1, c.name,
				took.Round(time.Millisecond), rss, anon, loadAverage())
		}
	}
}

// poolLoadChild starts the child server on dir and returns its start-up
// time and RSS once serving, all of it and its anonymous part (the rest
// is the pages of the test binary's file it has touched, which the page
// cache may keep or drop: a test binary's are some 50 MB).
//
// With APPLIANCE_POOL_LOAD_BIN set to a built appliance (go build -o
// /tmp/appliance .), the child is that binary's `serve`, what a user
// runs: its start-up is from exec to its systemd READY=1 on a
// NOTIFY_SOCKET of the test's, and its RSS holds its own file's pages.
func poolLoadChild(t *testing.T, dir string) (time.Duration, int, int) {
	if bin := os.Getenv("APPLIANCE_POOL_LOAD_BIN"); bin != "" {
		return poolLoadBinary(t, bin, dir)
	}
	os.Remove(filepath.Join(dir, "info"))
	cmd := exec.Command(os.Args[0], "-test.run=^TestPoolLoadChild$")
	cmd.Env = append(os.Environ(), poolLoadChildEnv+"="+dir)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	for range 2400 {
		if b, err := os.ReadFile(filepath.Join(dir, "info")); err == nil {
			var ns int64
			fmt.Sscan(strings.TrimSpace(string(b)), &ns)
			time.Sleep(time.Second) // let start-up's garbage be collected
			pid := cmd.Process.Pid
			return time.Duration(ns), rssKB(t, pid), procStatusKB(t, pid, "RssAnon")
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("the child server did not start")
	return 0, 0, 0
}

// poolLoadBinary is poolLoadChild with bin's serve as the server.
func poolLoadBinary(t *testing.T, bin, dir string) (time.Duration, int, int) {
	sock := filepath.Join(t.TempDir(), "notify")
	ln, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	cmd := exec.Command(bin, "serve", "--data", filepath.Join(dir, "db"), "--listen", "127.0.0.1:0")
	cmd.Env = append(os.Environ(), "NOTIFY_SOCKET="+sock)
	start := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	_ = ln.SetReadDeadline(time.Now().Add(2 * time.Minute))
	buf := make([]byte, 512)
	for {
		n, err := ln.Read(buf)
		if err != nil {
			t.Fatalf("%s serve sent no READY=1: %v", bin, err)
		}
		if strings.Contains(string(buf[:n]), "READY=1") {
			break
		}
	}
	took := time.Since(start)
	time.Sleep(time.Second) // let start-up's garbage be collected
	pid := cmd.Process.Pid
	return took, rssKB(t, pid), procStatusKB(t, pid, "RssAnon")
}

// leasePools stores sites of one pool of size numbers each in a new store
// at dir, and leases every number to a visitor, as Assign and Persist do
// on the hit path.
func leasePools(t *testing.T, dir string, sites, size int) {
	ctx := context.Background()
	db, err := store.Open(dir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	now := time.Now()
	tr, err := tracking.Open(ctx, db, now, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	for s := range uint32(sites) {
		site := s + 1
		if _, err := tr.SetSiteNumbers(ctx, site, []string{fmt.Sprintf("+7 487 275-%02d-04", s)}, now); err != nil {
			t.Fatal(err)
		}
		nums := make([]string, size)
		for i := range nums {
			nums[i] = fmt.Sprintf("7496%02d%05d", s, i)
		}
		if _, err := tr.AddPool(ctx, site, tracking.PoolInput{Name: "ads", Numbers: nums, Reserve: 24 * time.Hour}, now); err != nil {
			t.Fatal(err)
		}
		batch := make([]tracking.Assignment, 0, 500)
		for v := range uint64(size) {
			a, err := tr.Assign(site, uint64(site)<<32|v+1, v+1, numbers.Visit{Channel: "direct"}, false, now)
			if err != nil {
				t.Fatal(err)
			}
			batch = append(batch, a)
			if len(batch) == cap(batch) || v == uint64(size-1) {
				if err := db.Update(ctx, func(tx *store.Tx) error {
					for i := range batch {
						if err := batch[i].Persist(tx); err != nil {
							return err
						}
					}
					return nil
				}); err != nil {
					t.Fatal(err)
				}
				batch = batch[:0]
			}
		}
	}
}
