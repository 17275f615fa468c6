package store

import (
	"context"
	"os"
	"strconv"
	"testing"

	"golang.org/x/sys/unix"
)

// threadWatch is a writer that records, at each write, the calling
// thread's nice value and whether it is in the idle I/O class.
type threadWatch struct {
	nice      []int
	idleClass []bool
}

func (w *threadWatch) Write(p []byte) (int, error) {
	tid := unix.Gettid()
	prio, _ := unix.Getpriority(unix.PRIO_PROCESS, tid)
	class, _, _ := unix.Syscall(unix.SYS_IOPRIO_GET, ioprioWhoProcess, uintptr(tid), 0)
	w.nice = append(w.nice, 20-prio) // getpriority(2) answers 20 - nice
	w.idleClass = append(w.idleClass, class&(7<<13) == ioprioClassIdle)
	return len(p), nil
}

// A bounded backup reads in the idle I/O class but at the CPU priority of
// the server: a nice-19 thread holds one of the runtime's Ps while the
// kernel keeps it waiting (see idleReads). Afterwards no thread of the
// process is left in the idle class.
func TestBackupKeepsCPUPriority(t *testing.T) {
	d, err := Open(t.TempDir(), Options{BackupRate: 1 << 30})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	fill(t, d, 200)
	var w threadWatch
	if err := d.Backup(context.Background(), &w); err != nil {
		t.Fatal(err)
	}
	if len(w.nice) == 0 {
		t.Fatal("no writes")
	}
	for i, n := range w.nice {
		if n != 0 {
			t.Fatalf("write %d from a thread at nice %d", i, n)
		}
		if !w.idleClass[i] {
			t.Fatalf("write %d from a thread not in the idle I/O class", i)
		}
	}
	tasks, err := os.ReadDir("/proc/self/task")
	if err != nil {
		t.Fatal(err)
	}
	for _, task := range tasks {
		tid, _ := strconv.Atoi(task.Name())
		class, _, errno := unix.Syscall(unix.SYS_IOPRIO_GET, ioprioWhoProcess, uintptr(tid), 0)
		if errno == 0 && class&(7<<13) == ioprioClassIdle {
			t.Errorf("thread %d left in the idle I/O class", tid)
		}
	}
}
