package main

import (
	"bytes"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"appliance/store"
)

// A store that the user appliance runs as may not write (made by root and
// served by a service user, or a container's bind mount) is not "in use by
// another process": serve and the admin commands say permission denied,
// who runs and who owns it, and what to do. Run as the binary, as another
// user when the test runs as root (who may write anything).
func TestStoreOfAnotherUserSaysSo(t *testing.T) {
	root := os.Geteuid() == 0
	base := t.TempDir()
	if root {
		base = shareableTempDir(t)
	}
	dir := filepath.Join(base, "data")
	db, err := store.Open(dir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	bin := os.Args[0]
	var cred *syscall.Credential
	if root {
		// nobody runs a copy of the test binary it may execute, on root's
		// store.
		bin = filepath.Join(shareableTempDir(t), "appliance.test")
		copyFile(t, os.Args[0], bin)
		cred = &syscall.Credential{Uid: 65534, Gid: 65534}
	}
	dbDir := filepath.Join(dir, store.DBDir)
	t.Cleanup(func() {
		os.Chmod(dir, 0o700)
		os.Chmod(dbDir, 0o700)
	})
	// Modes for the data directory, its db/ and db/LOCK: the files are
	// root's, or the user's own made read-only.
	for _, tc := range []struct {
		name               string
		dataMode, dbMode   os.FileMode
		lockMode, rootLock os.FileMode
	}{
		{"store's files not writable", 0o755, 0o555, 0o444, 0o644},
		{"data directory not to be entered", 0o000, 0o700, 0o600, 0o600},
	} {
		lock := tc.lockMode
		if root {
			lock = tc.rootLock
		}
		if err := os.Chmod(filepath.Join(dbDir, "LOCK"), lock); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(dbDir, tc.dbMode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(dir, tc.dataMode); err != nil {
			t.Fatal(err)
		}
		for _, args := range [][]string{
			{"serve", "--listen", "127.0.0.1:0"},
			{"site", "list"},
		} {
			cmd := exec.Command(bin, args...)
			cmd.Dir = os.TempDir()
			cmd.Env = append(os.Environ(), "APPLIANCE_TEST_MAIN=1", "APPLIANCE_DATA="+dir)
			cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			err := cmd.Run()
			var ee *exec.ExitError
			if !errors.As(err, &ee) {
				t.Fatalf("%s: appliance %s: %v, want exit 1; stderr %q", tc.name, strings.Join(args, " "), err, stderr.String())
			}
			got := stderr.String()
			if ee.ExitCode() != 1 || strings.Contains(got, "in use") || strings.Contains(got, "held by") || strings.Contains(got, "no store") ||
				!strings.Contains(got, "permission denied: appliance runs as ") || !strings.Contains(got, "chown -R ") {
				t.Errorf("%s: appliance %s: exit %d, stderr %q; want exit 1, permission denied, who runs it and the chown",
					tc.name, strings.Join(args, " "), ee.ExitCode(), got)
			}
		}
	}
}

// shareableTempDir is a t.TempDir() that any user may enter, its parent
// included.
func shareableTempDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for _, d := range []string{filepath.Dir(dir), dir} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// copyFile copies the file src to a new executable dst.
func copyFile(t *testing.T, src, dst string) {
	t.Helper()
	in, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}

// restore run by root into a data directory that belongs to another user
// (the service's, a container's uid) gives the restored store to that user,
// who can then open it: here nobody lists the restored sites. Only root can
// give files away, so the test needs root.
func TestRestoreByRootGivesTheStoreToItsOwner(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("only root restores a store for another user")
	}
	src, _ := offlineSite(t)
	archive := filepath.Join(t.TempDir(), "b.tar")
	if err := runBackup(t.Context(), BackupOptions{Data: src, Output: archive}, io.Discard); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(shareableTempDir(t), "data")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(dir, 65534, 65534); err != nil {
		t.Fatal(err)
	}
	if err := runRestore(t.Context(), RestoreOptions{Data: dir, File: archive}, io.Discard); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(shareableTempDir(t), "appliance.test")
	copyFile(t, os.Args[0], bin)
	cmd := exec.Command(bin, "site", "list", "--data", dir)
	cmd.Dir = os.TempDir()
	cmd.Env = append(os.Environ(), "APPLIANCE_TEST_MAIN=1")
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "Shop") {
		t.Errorf("site list, as the owner of the data directory, after root's restore: %v\n%s", err, out)
	}
}
