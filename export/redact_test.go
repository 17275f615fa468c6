package export_test

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"appliance/export"
	"appliance/store"
	"appliance/store/storetest"
)

func TestRedact(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"nats://127.0.0.1:4222", "nats://127.0.0.1:4222"},
		{"nats://user:s3cret@nats.example:4222", "nats://user:xxxxx@nats.example:4222"},
		{"nats://s3cret@nats.example", "nats://xxxxx@nats.example"},
		{"tls://user:p@ss@nats.example:4443/", "tls://user:xxxxx@nats.example:4443/"},
		{"nats://a:s3cret@one:4222,nats://a:s3cret@two:4222", "nats://a:xxxxx@one:4222,nats://a:xxxxx@two:4222"},
		{"user:s3cret@nats.example:4222", "user:xxxxx@nats.example:4222"},
		{"nats://nats.example:4222/?x=a@b", "nats://nats.example:4222/?x=a@b"},
	} {
		if got := export.Redact(tt.in); got != tt.want {
			t.Errorf("Redact(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// syncBuffer is a log destination safe for the exporter's goroutine.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// An --export URL with a password or a token in it keeps them out of the
// server's log and the exporter's last error while NATS cannot be
// reached (here a port on 127.0.0.1 nothing listens on).
func TestExportKeepsCredentialsOutOfLogs(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	for _, u := range []string{"nats://appliance:pw-s3cret@" + addr, "nats://tok-s3cret@" + addr} {
		db := storetest.Open(t)
		db.EnableExport(store.ExportOptions{})
		var logs syncBuffer
		x, err := export.New(db, export.Options{URL: u, Subject: "appliance.events", Retry: time.Millisecond,
			Log: slog.New(slog.NewTextHandler(&logs, nil))})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { x.Run(ctx); close(done) }()
		deadline := time.Now().Add(10 * time.Second)
		for x.Stats().LastError == "" || !strings.Contains(logs.String(), "NATS unavailable") {
			if time.Now().After(deadline) {
				t.Fatalf("no failure logged for %s: %q", u, logs.String())
			}
			time.Sleep(5 * time.Millisecond)
		}
		cancel()
		<-done
		for what, text := range map[string]string{"log": logs.String(), "last error": x.Stats().LastError} {
			if strings.Contains(text, "s3cret") {
				t.Errorf("%s: the %s shows the credentials: %s", u, what, text)
			}
			if !strings.Contains(text, addr) {
				t.Errorf("%s: the %s does not name the server %s: %s", u, what, addr, text)
			}
		}
	}
}

// Redact takes any --export value without panicking, and masks what it
// masks once: redacting again changes nothing.
func FuzzRedact(f *testing.F) {
	for _, s := range []string{"nats://127.0.0.1:4222", "nats://u:p@h:1,nats://t@h2", "u:p@h", "://@", "@,@", "nats://a@b@c/d@e"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r := export.Redact(s)
		if again := export.Redact(r); again != r {
			t.Errorf("Redact(%q) = %q, and again %q", s, r, again)
		}
	})
}
