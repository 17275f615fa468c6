// Package exporttest runs a real NATS server with JetStream inside a test
// process, on 127.0.0.1, for the event stream's tests: it can be stopped
// and started again on the same port and storage, as an outage would.
package exporttest

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// NATS is an in-process NATS server with JetStream.
type NATS struct {
	URL  string // nats://127.0.0.1:PORT
	Dir  string // JetStream storage
	port int
	srv  *server.Server
}

// Start starts a server on a free port with storage in a temporary
// directory; it is shut down at the end of the test.
func Start(t testing.TB) *NATS {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	n := &NATS{URL: "nats://127.0.0.1:" + strconv.Itoa(port), Dir: t.TempDir(), port: port}
	n.Restart(t)
	t.Cleanup(n.Stop)
	return n
}

// Restart starts the server (again) on its port and storage.
func (n *NATS) Restart(t testing.TB) {
	t.Helper()
	srv, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: n.port, JetStream: true,
		StoreDir: n.Dir, NoSigs: true, NoLog: true})
	if err != nil {
		t.Fatal(err)
	}
	go srv.Start()
	if !srv.ReadyForConnections(30 * time.Second) {
		t.Fatal("nats: not ready in 30 s")
	}
	n.srv = srv
}

// Stop shuts the server down (as an outage); Restart brings it back.
func (n *NATS) Stop() {
	if n.srv == nil {
		return
	}
	n.srv.Shutdown()
	n.srv.WaitForShutdown()
	n.srv = nil
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
