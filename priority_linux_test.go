package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"

	"golang.org/x/sys/unix"
)

// printThreadNices is this test binary run by TestBackgroundPriority (see
// TestMain): it calls backgroundPriority, then makes new threads, and
// prints the nice value of each of its threads, one a line.
func printThreadNices() {
	backgroundPriority()
	var started, hold sync.WaitGroup
	hold.Add(1)
	for range 4 {
		started.Add(1)
		go func() {
			runtime.LockOSThread() // a thread of its own, made after
			started.Done()
			hold.Wait()
		}()
	}
	started.Wait()
	tasks, err := os.ReadDir("/proc/self/task")
	if err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	for _, t := range tasks {
		tid, _ := strconv.Atoi(t.Name())
		// getpriority(2) answers 20 - nice.
		p, err := unix.Getpriority(unix.PRIO_PROCESS, tid)
		if err != nil {
			continue // the thread ended
		}
		fmt.Println(20 - p)
	}
	hold.Done()
}

// backgroundPriority sets every thread of the process to nice 19, those
// it had and those it makes afterwards (Linux keeps a nice value per
// thread: setpriority of the process's id sets only its first thread).
func TestBackgroundPriority(t *testing.T) {
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), "APPLIANCE_TEST_PRIORITY=1")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("%v: %s", err, out.String())
	}
	lines := strings.Fields(out.String())
	if len(lines) < 5 {
		t.Fatalf("the child printed %q, want the nice value of each of its threads (at least 5)", out.String())
	}
	for _, l := range lines {
		if l != "19" {
			t.Fatalf("threads' nice values %v, want all 19", lines)
		}
	}
}
