// Package exporttest runs a real NATS server with JetStream for the event
// stream's tests, on 127.0.0.1: inside the test process (Start), or in a
// child process (StartProcess) where its CPU and allocations are its own,
// as in production, for benchmarks of the appliance's side. Either can be
// stopped and started again on the same port and storage, as an outage
// would.
package exporttest

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// NATS is a NATS server with JetStream, in this process or a child.
type NATS struct {
	URL  string // nats://127.0.0.1:PORT
	Dir  string // JetStream storage
	port int
	srv  *server.Server // in this process
	// child, when set, is the test that serves in a child process
	// (StartProcess); cmd is that process while it runs.
	child  string
	cmd    *exec.Cmd
	stdin  io.Closer
	exited chan struct{}
}

// Start starts a server in this process on a free port with storage in a
// temporary directory; it is shut down at the end of the test.
func Start(t testing.TB) *NATS {
	return start(t, "")
}

// StartProcess is Start with the server in a child process: the test
// binary run again with only the test named child, which must call
// ServeChild. The child ends when the server is stopped, at the end of the
// test, or when this process exits (its stdin closes).
func StartProcess(t testing.TB, child string) *NATS {
	return start(t, child)
}

func start(t testing.TB, child string) *NATS {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	n := &NATS{URL: "nats://127.0.0.1:" + strconv.Itoa(port), Dir: t.TempDir(), port: port, child: child}
	n.Restart(t)
	t.Cleanup(n.Stop)
	return n
}

func newServer(port int, dir string) (*server.Server, error) {
	srv, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: port, JetStream: true,
		StoreDir: dir, NoSigs: true, NoLog: true})
	if err != nil {
		return nil, err
	}
	go srv.Start()
	if !srv.ReadyForConnections(30 * time.Second) {
		srv.Shutdown()
		return nil, fmt.Errorf("nats: not ready in 30 s")
	}
	return srv, nil
}

// Restart starts the server (again) on its port and storage.
func (n *NATS) Restart(t testing.TB) {
	t.Helper()
	if n.child != "" {
		n.startChild(t)
		return
	}
	srv, err := newServer(n.port, n.Dir)
	if err != nil {
		t.Fatal(err)
	}
	n.srv = srv
}

// childEnv carries the port and storage of the server a child serves.
const childEnv = "APPLIANCE_NATS_CHILD"

// childReady is the line a child writes once its server takes connections.
const childReady = "exporttest: nats ready"

func (n *NATS) startChild(t testing.TB) {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "-test.run=^"+n.child+"$", "-test.timeout=0")
	cmd.Env = append(os.Environ(), childEnv+"="+strconv.Itoa(n.port)+" "+n.Dir)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	n.cmd, n.stdin, n.exited = cmd, stdin, make(chan struct{})
	ready := make(chan bool, 1)
	go func() {
		defer close(n.exited)
		sc := bufio.NewScanner(stdout)
		said := false
		for sc.Scan() {
			if !said && strings.TrimSpace(sc.Text()) == childReady {
				said = true
				ready <- true
			}
		}
		if !said {
			ready <- false
		}
		_ = cmd.Wait()
	}()
	select {
	case ok := <-ready:
		if !ok {
			t.Fatalf("nats: the child process %s ended before its server was ready", n.child)
		}
	case <-time.After(60 * time.Second):
		n.Stop()
		t.Fatal("nats: the child process not ready in 60 s")
	}
}

// ServeChild is the body of the test StartProcess names: in a child it
// runs the server its parent asked for until its stdin closes; anywhere
// else it skips the test.
func ServeChild(t *testing.T) {
	arg := os.Getenv(childEnv)
	if arg == "" {
		t.Skip("the NATS server of exporttest.StartProcess, run only as its child")
	}
	port, dir, _ := strings.Cut(arg, " ")
	p, err := strconv.Atoi(port)
	if err != nil {
		t.Fatalf("%s=%q: %v", childEnv, arg, err)
	}
	srv, err := newServer(p, dir)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Println(childReady)
	_, _ = io.Copy(io.Discard, os.Stdin)
	srv.Shutdown()
	srv.WaitForShutdown()
}

// Stop shuts the server down (as an outage); Restart brings it back.
func (n *NATS) Stop() {
	if n.cmd != nil {
		_ = n.stdin.Close()
		select {
		case <-n.exited:
		case <-time.After(30 * time.Second):
			_ = n.cmd.Process.Kill()
			<-n.exited
		}
		n.cmd = nil
	}
	if n.srv == nil {
		return
	}
	n.srv.Shutdown()
	n.srv.WaitForShutdown()
	n.srv = nil
}

// CPUTime is the CPU time (user and system) the child process of
// StartProcess has used since it started; 0 for a server in this process
// or where /proc cannot tell.
func (n *NATS) CPUTime() time.Duration {
	if n.cmd == nil {
		return 0
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(n.cmd.Process.Pid) + "/stat")
	if err != nil {
		return 0
	}
	// Fields after the command's name (which may hold spaces, so after
	// its closing parenthesis): utime and stime are the 12th and 13th,
	// in clock ticks of 1/100 s (USER_HZ on Linux).
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 13 {
		return 0
	}
	u, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(u+st) * 10 * time.Millisecond
}

// Message is one message read back from the stream.
type Message struct {
	Subject string
	MsgID   string
	Data    []byte
	Seq     uint64 // the stream's sequence
}

// Messages reads every message of stream, in stream order.
func (n *NATS) Messages(t testing.TB, stream string) []Message {
	t.Helper()
	nc, err := nats.Connect(n.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	s, err := js.Stream(ctx, stream)
	if err != nil {
		t.Fatalf("stream %s: %v", stream, err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var out []Message
	for seq := info.State.FirstSeq; seq <= info.State.LastSeq && info.State.Msgs > 0; seq++ {
		m, err := s.GetMsg(ctx, seq)
		if err != nil {
			t.Fatalf("message %d: %v", seq, err)
		}
		out = append(out, Message{Subject: m.Subject, MsgID: m.Header.Get(jetstream.MsgIDHeader), Data: m.Data, Seq: m.Sequence})
	}
	return out
}

// Count is how many messages stream holds (0 when it does not exist).
func (n *NATS) Count(t testing.TB, stream string) uint64 {
	t.Helper()
	nc, err := nats.Connect(n.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := js.Stream(ctx, stream)
	if err != nil {
		return 0
	}
	info, err := s.Info(ctx)
	if err != nil {
		t.Fatal(fmt.Errorf("stream info: %w", err))
	}
	return info.State.Msgs
}
