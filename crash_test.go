package main

import (
	"bufio"
	"context"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"appliance/httpd/accounts"
	"appliance/store"
)

// startChild runs `appliance serve` as a separate process (this test
// binary, see TestMain) and waits until its admin socket answers.
func startChild(t *testing.T, dir string) (*exec.Cmd, string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "serve", "--data", dir, "--listen", "127.0.0.1:0")
	cmd.Env = append(os.Environ(), "APPLIANCE_TEST_MAIN=1")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if _, rest, ok := strings.Cut(sc.Text(), " on "); ok && strings.Contains(sc.Text(), "serving") {
				addr <- strings.Fields(rest)[0]
			}
		}
	}()
	select {
	case a := <-addr:
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		for {
			if _, err := pingSocket(ctx, filepath.Join(dir, SocketName)); err == nil {
				return cmd, a
			}
			if ctx.Err() != nil {
				t.Fatal("child server did not answer on its admin socket")
			}
			time.Sleep(10 * time.Millisecond)
		}
	case <-time.After(time.Minute):
		cmd.Process.Kill()
		t.Fatal("child server did not start")
	}
	return nil, ""
}

// A serving child process under write load is SIGKILLed at random moments,
// several rounds on one data directory. Every restart must open the store
// without a repair step, and at the end every acknowledged write must be
// there.
func TestCrashLosesNoAcknowledgedWrite(t *testing.T) {
	dir := t.TempDir()
	rounds := 5
	if testing.Short() {
		rounds = 2
	}
	var acked []string
	for round := 0; round < rounds; round++ {
		cmd, _ := startChild(t, dir)
		ctx, cancel := context.WithCancel(context.Background())
		got, wait := writeLoad(ctx, dir, 16)
		for len(got()) < 50 {
			time.Sleep(2 * time.Millisecond)
		}
		time.Sleep(time.Duration(rand.IntN(200)) * time.Millisecond) // a random moment mid-load
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		cmd.Wait()
		cancel()
		wait()
		acked = append(acked, got()...)
		t.Logf("round %d: %d writes acknowledged before SIGKILL", round, len(got()))
	}
	db, err := store.Open(dir, store.Options{})
	if err != nil {
		t.Fatalf("open after crashes: %v", err)
	}
	defer db.Close()
	a := accounts.New(db)
	for _, tok := range acked {
		if _, err := a.CheckToken(tok); err != nil {
			t.Fatalf("acknowledged write lost: %v", err)
		}
	}
}
