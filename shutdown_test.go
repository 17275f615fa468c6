package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/fasthttp/websocket"

	"appliance/httpd/admin"
	"appliance/store"
)

// A SIGTERM stops the server cleanly, by itself, whatever its clients are
// doing: a chat socket and a long poll open, an idle keep-alive
// connection, one that has sent nothing yet (a browser's preconnect), one
// whose client does not read the answers it asked for (a phone that lost
// its network), and a webhook receiver that hangs with a delivery in
// flight. The stop must not wait for any of them: the process exits 0 with
// the pools' leases sealed, while the receiver is still hanging. Before,
// the unread answers held the drain to its end (15 s, past `docker stop`'s
// 10 s grace), and the stop then failed: exit 1, nothing sealed.
func TestStopDoesNotWaitForIdleClients(t *testing.T) {
	dir := t.TempDir()
	cmd, addr := startChildCmd(t, dir, exec.Command(os.Args[0], "serve", "--data", dir, "--listen", "127.0.0.1:0", "--webhook-allow-private"))
	t.Cleanup(func() { cmd.Process.Signal(syscall.SIGKILL); cmd.Wait() })
	key := addAdsPoolSite(t, dir)

	// The receiver takes each delivery and answers none until the test ends.
	release := make(chan struct{})
	var received, answered atomic.Int32
	rl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	receiver := &http.Server{Handler: http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		received.Add(1)
		<-release
		answered.Add(1)
	})}
	go receiver.Serve(rl)
	t.Cleanup(func() { close(release); receiver.Close() })
	if _, err := dialAdmin(t, dir).AddWebhook(context.Background(), admin.AddWebhook{Site: key, URL: "http://" + rl.Addr().String() + "/hook", Events: []string{"lead"}}); err != nil {
		t.Fatal(err)
	}
	v := hit(t, addr, key, hitAnswer{}, "https://crash.example/promo?utm_source=google&utm_medium=cpc")
	if v.number() == "" {
		t.Fatal("the visitor leased no number: nothing to seal")
	}
	postJSON(t, "http://"+addr+"/t/v1/lead", "", map[string]any{"k": key, "ci": v.CI, "key": v.Key, "name": "Ann", "phone": "+7 910 123-45-67"})
	waitFor(t, "the webhook delivery to reach the receiver", func() bool { return received.Load() > 0 })

	// A visitor's chat socket, past its hello.
	ws, _, err := websocket.DefaultDialer.Dial("ws://"+addr+"/t/v1/chat/ws?k="+key, http.Header{"Origin": {"https://crash.example"}})
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	if err := ws.WriteJSON(map[string]any{"type": "hello", "ci": v.CI, "key": v.Key, "u": "https://crash.example/"}); err != nil {
		t.Fatal(err)
	}
	if _, m, err := ws.ReadMessage(); err != nil || !bytes.Contains(m, []byte(`"welcome"`)) {
		t.Fatalf("chat socket: %s %v, want its welcome", m, err)
	}
	// A long poll, waiting.
	poll, _ := json.Marshal(map[string]any{"k": key, "ci": v.CI, "key": v.Key, "u": "https://crash.example/", "wait": 25})
	go func() {
		req, _ := http.NewRequest("POST", "http://"+addr+"/t/v1/chat", bytes.NewReader(poll))
		req.Header.Set("Origin", "https://crash.example")
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
		}
	}()
	// An idle keep-alive connection.
	keepAlive := &http.Client{Transport: &http.Transport{}}
	resp, err := keepAlive.Get("http://" + addr + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	// A connection that sends nothing.
	silent, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	// A client that asks for more than the connection holds and reads
	// none of it: the server is left writing.
	d := net.Dialer{Control: func(_, _ string, c syscall.RawConn) error {
		return c.Control(func(fd uintptr) { syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096) })
	}}
	stalled, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer stalled.Close()
	go func() {
		req := []byte("GET /static/cs.min.js HTTP/1.1\r\nHost: " + addr + "\r\n\r\n")
		for i := 0; i < 5000; i++ {
			if _, err := stalled.Write(req); err != nil {
				return
			}
		}
	}()
	// Blocked: what it has queued for the client neither grows nor shrinks.
	last := int64(-1)
	waitFor(t, "the server to be left with answers the client does not read", func() bool {
		n := unsent(t, stalled)
		blocked := n > 0 && n == last
		last = n
		time.Sleep(100 * time.Millisecond)
		return blocked
	})

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("stop: %v, want a clean exit", err)
	}
	if answered.Load() != 0 {
		t.Fatal("the receiver answered: the test's hang did not hold")
	}
	db, err := store.Open(dir, store.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Get(store.SealedKey("pools")); err != nil {
		t.Fatalf("after the stop the pools' leases are not sealed: %v", err)
	}
}

// waitFor polls cond until it holds; a minute without is a hang, not a
// timing claim.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(time.Minute); !cond(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(end) {
			t.Fatalf("waited a minute for %s", what)
		}
	}
}

// unsent is how many bytes the peer of c (on this machine) has queued and
// not sent yet, from /proc/net/tcp.
func unsent(t *testing.T, c net.Conn) int64 {
	t.Helper()
	b, err := os.ReadFile("/proc/net/tcp")
	if err != nil {
		t.Skipf("no /proc/net/tcp: %v", err)
	}
	// The peer's local address is c's remote one and the other way round,
	// each as /proc writes it: little-endian IPv4 hex, port in hex.
	hexAddr := func(a net.Addr) string {
		ta := a.(*net.TCPAddr)
		ip := ta.IP.To4()
		return fmt.Sprintf("%02X%02X%02X%02X:%04X", ip[3], ip[2], ip[1], ip[0], ta.Port)
	}
	local, remote := hexAddr(c.RemoteAddr()), hexAddr(c.LocalAddr())
	for _, line := range strings.Split(string(b), "\n")[1:] {
		f := strings.Fields(line)
		if len(f) > 4 && f[1] == local && f[2] == remote {
			tx, _, _ := strings.Cut(f[4], ":")
			n, _ := strconv.ParseInt(tx, 16, 64)
			return n
		}
	}
	return 0
}
