package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"appliance/store"
)

// A paused server (SIGSTOP) does not answer its admin socket but still has
// the store open: restore --force must refuse, naming its pid, and leave
// the store alone; an admin command says the server does not answer.
func TestRestoreRefusesPausedServer(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	cmd, addr := startChild(t, dir)
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGCONT)
		cmd.Process.Kill()
		cmd.Wait()
	})
	addSite(t, dir)
	archive := filepath.Join(t.TempDir(), "b.tar")
	if err := runBackup(ctx, BackupOptions{Data: dir, Output: archive}, io.Discard); err != nil {
		t.Fatalf("backup: %v", err)
	}
	if err := cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	waitStopped(t, cmd.Process.Pid)
	err := runRestore(ctx, RestoreOptions{Data: dir, File: archive, Force: true}, io.Discard)
	if !errors.Is(err, store.ErrLocked) || !strings.Contains(err.Error(), fmt.Sprintf("process %d", cmd.Process.Pid)) {
		t.Fatalf("restore --force onto a paused server: err = %v, want it refused naming pid %d", err, cmd.Process.Pid)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 2 { // db and admin.sock
		t.Errorf("refused restore left %v in the data dir", ents)
	}
	// An admin command finds no answer on the socket and the store held:
	// it says who holds it and how to resume a paused server.
	err = runSiteList(ctx, AdminOptions{Data: dir}, io.Discard)
	if want := fmt.Sprintf("site list: the store in %s is held by process %d, which does not answer on its admin socket: a paused server (kill -CONT resumes it)", dir, cmd.Process.Pid); !errors.Is(err, store.ErrLocked) || !strings.HasPrefix(err.Error(), want) {
		t.Errorf("site list with the server paused: %v, want %q", err, want)
	}
	if err := cmd.Process.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get("http://" + addr + "/healthz")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("the resumed server: %v %v", resp, err)
	}
	resp.Body.Close()
}

// serve refuses a store a restore is writing, naming the restore's pid,
// and starts once the restore is done.
func TestServeRefusesWhileRestoreRuns(t *testing.T) {
	ctx := context.Background()
	src, _ := offlineSite(t)
	archive := filepath.Join(t.TempDir(), "b.tar")
	if err := runBackup(ctx, BackupOptions{Data: src, Output: archive}, io.Discard); err != nil {
		t.Fatalf("backup: %v", err)
	}
	dir := t.TempDir()
	// The restore reads its archive from stdin: until it gets one it holds
	// the store, as it would while reading a large one.
	restore := exec.Command(os.Args[0], "restore", "-", "--data", dir, "--force")
	restore.Env = append(os.Environ(), "APPLIANCE_TEST_MAIN=1")
	stdin, err := restore.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	restore.Stdout, restore.Stderr = &out, &out
	if err := restore.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { restore.Process.Kill(); restore.Wait() })
	waitForLock(t, restore.Process.Pid)

	err = runServe(ctx, ServeOptions{Data: dir, Listen: "127.0.0.1:0"}, io.Discard, nil)
	if !errors.Is(err, store.ErrLocked) || !strings.Contains(err.Error(), fmt.Sprintf("process %d", restore.Process.Pid)) {
		t.Fatalf("serve during a restore: err = %v, want it refused naming pid %d", err, restore.Process.Pid)
	}

	f, err := os.Open(archive)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(stdin, f)
	f.Close()
	stdin.Close()
	if err := restore.Wait(); err != nil {
		t.Fatalf("restore: %v\n%s", err, out.String())
	}
	startServe(t, dir)
}

// waitForLock waits until process pid holds a POSIX lock (/proc/locks).
func waitForLock(t *testing.T, pid int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for {
		b, err := os.ReadFile("/proc/locks")
		if err != nil {
			t.Skipf("cannot tell when the restore holds the lock: %v", err)
		}
		for _, line := range strings.Split(string(b), "\n") {
			if f := strings.Fields(line); len(f) > 4 && f[1] == "POSIX" && f[4] == fmt.Sprint(pid) {
				return
			}
		}
		if ctx.Err() != nil {
			t.Fatalf("process %d never took the store's lock", pid)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// waitStopped waits until every thread of process pid is stopped (state
// T in /proc/PID/task/*/stat): kill(2) returns once SIGSTOP is sent, and
// the threads stop as each of them takes it, one in a system call (an
// fsync) only when that returns.
func waitStopped(t *testing.T, pid int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		tasks, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
		if err != nil {
			t.Fatalf("threads of process %d: %v", pid, err)
		}
		running := ""
		for _, task := range tasks {
			b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%s/stat", pid, task.Name()))
			if err != nil {
				continue // gone
			}
			// tid (comm) state ...: the state follows the last ")".
			if i := strings.LastIndexByte(string(b), ')'); i < 0 || i+2 >= len(b) || b[i+2] != 'T' {
				running = string(b)
			}
		}
		if running == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("process %d not stopped 30 s after SIGSTOP: %s", pid, running)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
