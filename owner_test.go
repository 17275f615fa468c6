package main

import (
	"bytes"
	"context"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"appliance/store"
)

// The admin commands, backup and serve, run by root (sudo) on a store whose
// data directory belongs to another user (the service's, a container's uid)
// with no server running, open the store themselves: whatever files they
// make in it (the store's log, its manifest, new tables, backup's sums) are
// given to that user, as restore's are, so the service still opens it.
// Before, they stayed root's, and the service no longer started. Only root
// can give files away, so the test needs root.
func TestRootCommandsLeaveTheStoreToItsOwner(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("only root writes a store for another user")
	}
	dir := filepath.Join(shareableTempDir(t), "data")
	db, err := store.Open(dir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	chownAll(t, dir, 65534)
	bin := filepath.Join(shareableTempDir(t), "appliance.test")
	copyFile(t, os.Args[0], bin)
	asOwner := func(args ...string) (string, error) {
		cmd := exec.Command(bin, append(args, "--data", dir)...)
		cmd.Dir = os.TempDir()
		cmd.Env = append(os.Environ(), "APPLIANCE_TEST_MAIN=1")
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	ctx := context.Background()
	var siteKey string
	for _, tc := range []struct {
		name string
		run  func() error
	}{
		{"site add", func() error {
			var out bytes.Buffer
			err := runSiteAdd(ctx, SiteAddOptions{Data: dir, Name: "Shop", Domains: []string{"shop.example"}}, &out)
			if _, rest, ok := strings.Cut(out.String(), "site key: "); ok {
				siteKey = strings.Fields(rest)[0]
			}
			return err
		}},
		{"user add", func() error {
			return runUserAdd(ctx, UserOptions{Data: dir, Email: "ann@shop.example"}, strings.NewReader("correct horse battery\n"), io.Discard)
		}},
		{"prune", func() error { return runPrune(ctx, PruneOptions{Data: dir}, io.Discard) }},
		{"backup", func() error {
			return runBackup(ctx, BackupOptions{Data: dir, Output: filepath.Join(t.TempDir(), "b.tar")}, io.Discard)
		}},
		{"serve", func() error { _, stop := startServe(t, dir); return stop() }},
	} {
		if err := tc.run(); err != nil {
			t.Fatalf("%s as root: %v", tc.name, err)
		}
		if root := rootOwned(t, dir); len(root) > 0 {
			t.Errorf("%s as root left files of root's in the store of uid 65534: %v", tc.name, root)
		}
		if out, err := asOwner("site", "list"); err != nil || siteKey == "" || !strings.Contains(out, siteKey) {
			t.Fatalf("after %s as root, site list as the owner: %v\n%s", tc.name, err, out)
		}
	}
}

// chownAll gives dir and everything in it to uid (and the group of that
// number).
func chownAll(t *testing.T, dir string, uid int) {
	t.Helper()
	err := filepath.WalkDir(dir, func(p string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, uid, uid)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// rootOwned lists what in dir belongs to root.
func rootOwned(t *testing.T, dir string) []string {
	t.Helper()
	var root []string
	err := filepath.WalkDir(dir, func(p string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		if fi.Sys().(*syscall.Stat_t).Uid == 0 {
			root = append(root, strings.TrimPrefix(p, dir+"/"))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return root
}
