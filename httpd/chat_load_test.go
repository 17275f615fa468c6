package httpd_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"runtime/trace"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/fasthttp/websocket"

	"appliance/httpd"
	"appliance/httpd/accounts"
	"appliance/httpd/httpdtest"
)

// The chat's load test (README: figures): a server in a child process,
// so that its RSS is its own; 10,000 idle visitor sockets, then message
// delivery latency at 1,000 concurrent chats, both ways. It reports
// figures and asserts none of them (the machine is shared): run it with
// APPLIANCE_CHAT_LOAD=1 go test -run TestChatLoad -v ./httpd/

const chatLoadChildEnv = "APPLIANCE_CHAT_LOAD_DIR"

// TestChatLoadChild is the server of TestChatLoad, run only as its child.
func TestChatLoadChild(t *testing.T) {
	dir := os.Getenv(chatLoadChildEnv)
	if dir == "" {
		t.Skip("the child process of TestChatLoad")
	}
	srv := httpdtest.StartAt(t, dir, func(o *httpd.Options) {
		o.ChatLimits = httpd.ChatLimits{ConnsPerIP: 1000, MessagesPerVisitor: 1000, MessagesPerIP: 100_000}
		o.MaxConns = 15_000
		o.Log = nil
	})
	site := srv.Site(t, "Shop", "shop.example")
	a := accounts.New(srv.DB)
	if _, err := a.CreateUser(context.Background(), "op@shop.example", "a long enough passphrase", accounts.RoleOperator); err != nil {
		t.Fatal(err)
	}
	token, _, err := a.Login(context.Background(), "op@shop.example", "a long enough passphrase")
	if err != nil {
		t.Fatal(err)
	}
	if os.Getenv("APPLIANCE_CHAT_LOAD_FREE") != "" {
		debug.FreeOSMemory()
	}
	info := srv.URL + " " + site + " " + token
	if err := os.WriteFile(filepath.Join(dir, "info.tmp"), []byte(info), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(filepath.Join(dir, "info.tmp"), filepath.Join(dir, "info")); err != nil {
		t.Fatal(err)
	}
	// APPLIANCE_CHAT_LOAD_PROFILE=1: the parent asks for heap profiles
	// (SIGUSR1), written to dir/heap-N.pprof, to see what the server holds.
	cpu := make(chan os.Signal, 1)
	signal.Notify(cpu, syscall.SIGUSR2)
	go func() {
		for range cpu {
			f, err := os.Create(filepath.Join(dir, "cpu.tmp"))
			if err != nil {
				panic(err)
			}
			tf, err := os.Create(filepath.Join(dir, "trace.out"))
			if err != nil {
				panic(err)
			}
			if err := pprof.StartCPUProfile(f); err != nil {
				panic(err)
			}
			if err := trace.Start(tf); err != nil {
				panic(err)
			}
			<-cpu
			trace.Stop()
			pprof.StopCPUProfile()
			f.Close()
			tf.Close()
			if err := os.Rename(f.Name(), filepath.Join(dir, "cpu.pprof")); err != nil {
				panic(err)
			}
		}
	}()
	profiles := make(chan os.Signal, 1)
	signal.Notify(profiles, syscall.SIGUSR1)
	for n := 0; ; n++ {
		<-profiles
		runtime.GC()
		f, err := os.Create(filepath.Join(dir, fmt.Sprintf("heap-%d.tmp", n)))
		if err != nil {
			t.Fatal(err)
		}
		if err := pprof.WriteHeapProfile(f); err != nil {
			t.Fatal(err)
		}
		f.Close()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		stats := fmt.Sprintf("goroutines %d, heap in use %d KB, heap idle not returned %d KB, stacks %d KB, other runtime %d KB",
			runtime.NumGoroutine(), ms.HeapInuse>>10, (ms.HeapIdle-ms.HeapReleased)>>10, ms.StackInuse>>10,
			(ms.MSpanInuse+ms.MCacheInuse+ms.BuckHashSys+ms.GCSys+ms.OtherSys)>>10)
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("heap-%d.txt", n)), []byte(stats), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(f.Name(), filepath.Join(dir, fmt.Sprintf("heap-%d.pprof", n))); err != nil {
			t.Fatal(err)
		}
	}
}

// heapProfile has the child write a heap profile when
// APPLIANCE_CHAT_LOAD_PROFILE is set, and copies it to
// APPLIANCE_CHAT_LOAD_PROFILE's directory (or logs where it is).
func heapProfile(t *testing.T, cmd *exec.Cmd, dir string, n int, name string) {
	out := os.Getenv("APPLIANCE_CHAT_LOAD_PROFILE")
	if out == "" {
		return
	}
	if err := cmd.Process.Signal(syscall.SIGUSR1); err != nil {
		t.Fatal(err)
	}
	src := filepath.Join(dir, fmt.Sprintf("heap-%d.pprof", n))
	for range 1200 {
		if b, err := os.ReadFile(src); err == nil {
			dst := filepath.Join(out, name+".pprof")
			if err := os.WriteFile(dst, b, 0o644); err != nil {
				t.Fatal(err)
			}
			stats, _ := os.ReadFile(filepath.Join(dir, fmt.Sprintf("heap-%d.txt", n)))
			t.Logf("heap profile %s: go tool pprof -sample_index=inuse_space %s; %s", name, dst, stats)
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("the child wrote no heap profile")
}

// cpuProfile has the child start (name "start") or stop and copy its CPU
// profile and execution trace when APPLIANCE_CHAT_LOAD_PROFILE is set.
func cpuProfile(t *testing.T, cmd *exec.Cmd, dir, name string) {
	out := os.Getenv("APPLIANCE_CHAT_LOAD_PROFILE")
	if out == "" {
		return
	}
	if err := cmd.Process.Signal(syscall.SIGUSR2); err != nil {
		t.Fatal(err)
	}
	if name == "start" {
		return
	}
	src := filepath.Join(dir, "cpu.pprof")
	for range 1200 {
		if b, err := os.ReadFile(src); err == nil {
			dst := filepath.Join(out, name+"-cpu.pprof")
			if err := os.WriteFile(dst, b, 0o644); err != nil {
				t.Fatal(err)
			}
			tb, err := os.ReadFile(filepath.Join(dir, "trace.out"))
			if err != nil {
				t.Fatal(err)
			}
			tdst := filepath.Join(out, name+"-trace.out")
			if err := os.WriteFile(tdst, tb, 0o644); err != nil {
				t.Fatal(err)
			}
			t.Logf("CPU profile %s: go tool pprof %s; execution trace: go tool trace -pprof=sched %s (time runnable, waiting for a core)", name, dst, tdst)
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("the child wrote no CPU profile")
}

// loadAvg is the machine's load average over the last minute.
func loadAvg() string {
	b, _ := os.ReadFile("/proc/loadavg")
	if f := strings.Fields(string(b)); len(f) > 0 {
		return f[0]
	}
	return "?"
}

// loadStamp finds, in a frame with mark, the nanosecond time that follows
// prefix (the load test's message texts: "v 1234..." from visitors,
// "o 1234..." from operators).
func loadStamp(b []byte, mark, prefix string) (int64, bool) {
	if !bytes.Contains(b, []byte(mark)) || !bytes.Contains(b, []byte(`"type":"message"`)) {
		return 0, false
	}
	return loadNumber(b, prefix)
}

// loadNumber is the decimal number after the first key in b.
func loadNumber(b []byte, key string) (int64, bool) {
	i := bytes.Index(b, []byte(key))
	if i < 0 {
		return 0, false
	}
	b = b[i+len(key):]
	n, j := int64(0), 0
	for ; j < len(b) && b[j] >= '0' && b[j] <= '9'; j++ {
		n = n*10 + int64(b[j]-'0')
	}
	return n, j > 0
}

func rssKB(t *testing.T, pid int) int { return procStatusKB(t, pid, "VmRSS") }

// procStatusKB is a field of the process's /proc status in KB (VmRSS,
// RssAnon, RssFile).
func procStatusKB(t *testing.T, pid int, field string) int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			n, _ := strconv.Atoi(strings.Fields(v)[0])
			return n
		}
	}
	return 0
}

// loadDialer dials from one of many loopback addresses, so that the
// per-IP limits see many clients.
func loadDialer(i int) *websocket.Dialer {
	ip := net.IPv4(127, 0, byte(1+i/200), byte(1+i%200))
	return &websocket.Dialer{HandshakeTimeout: 30 * time.Second, ReadBufferSize: 512, WriteBufferSize: 512,
		NetDial: func(network, addr string) (net.Conn, error) {
			d := net.Dialer{LocalAddr: &net.TCPAddr{IP: ip}}
			return d.Dial(network, addr)
		}}
}

func TestChatLoad(t *testing.T) {
	if os.Getenv("APPLIANCE_CHAT_LOAD") == "" {
		t.Skip("a load test: APPLIANCE_CHAT_LOAD=1")
	}
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestChatLoadChild$")
	cmd.Env = append(os.Environ(), chatLoadChildEnv+"="+dir)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	var info []string
	for range 600 {
		if b, err := os.ReadFile(filepath.Join(dir, "info")); err == nil {
			info = strings.Fields(string(b))
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if len(info) != 3 {
		t.Fatal("the child server did not start")
	}
	base, site, session := info[0], info[1], info[2]
	pid := cmd.Process.Pid
	t.Logf("server RSS at start: %d KB", rssKB(t, pid))
	heapProfile(t, cmd, dir, 0, "start")

	const idle = 10_000
	// Visitors: a hit each (the tracker), then a socket with hello.
	type vis struct{ ci, key string }
	visitors := make([]vis, idle)
	var wg sync.WaitGroup
	sem := make(chan struct{}, 32)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	for i := range visitors {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			body := fmt.Sprintf(`{"k":%q,"u":"https://shop.example/p%d"}`, site, i)
			resp, err := client.Post(base+"t/v1/hit", "text/plain", strings.NewReader(body))
			if err != nil {
				t.Error(err)
				return
			}
			var out struct{ Result vis }
			var raw struct {
				Result struct {
					CI  string `json:"ci"`
					Key string `json:"key"`
				} `json:"result"`
			}
			_ = json.NewDecoder(resp.Body).Decode(&raw)
			resp.Body.Close()
			_ = out
			visitors[i] = vis{raw.Result.CI, raw.Result.Key}
		}()
	}
	wg.Wait()
	wsBase := "ws" + strings.TrimPrefix(base, "http")
	origin := http.Header{"Origin": {"https://shop.example"}}
	conns := make([]*websocket.Conn, idle)
	for i := range conns {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			c, _, err := loadDialer(i).Dial(wsBase+"t/v1/chat/ws?k="+site, origin)
			if err != nil {
				t.Error(err)
				return
			}
			_ = c.WriteJSON(map[string]any{"type": "hello", "ci": visitors[i].ci, "key": visitors[i].key, "u": "https://shop.example/"})
			_ = c.SetReadDeadline(time.Now().Add(time.Minute))
			if _, _, err := c.ReadMessage(); err != nil { // welcome
				t.Error(err)
			}
			conns[i] = c
		}()
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	time.Sleep(2 * time.Second) // let the server settle; not an assertion
	t.Logf("FIGURE idle visitor sockets: %d, server RSS %d KB", idle, rssKB(t, pid))
	heapProfile(t, cmd, dir, 1, "idle")

	// 1,000 chats: visitors 0..999 write; ten consoles of one operator
	// answer (a tenth of the chats each); console 0 measures what reaches
	// the operators.
	const chatsN, perChat, consolesN = 1000, 5, 10
	consoles := make([]*websocket.Conn, consolesN)
	for k := range consoles {
		c, _, err := websocket.DefaultDialer.Dial(wsBase+"chat/ws", http.Header{"Origin": {strings.TrimSuffix(base, "/")}, "Cookie": {"apl_session=" + session}})
		if err != nil {
			t.Fatal(err)
		}
		if err := c.WriteJSON(map[string]any{"type": "hello", "status": "online"}); err != nil {
			t.Fatal(err)
		}
		consoles[k] = c
		if k > 0 {
			go func() {
				for {
					if _, _, err := c.ReadMessage(); err != nil {
						return
					}
				}
			}()
		}
	}
	con := consoles[0]
	// The generator is kept cheap, so that the figures are the server's:
	// frames are built by appending to a buffer and read by looking for
	// their fields, not through encoding/json; one goroutine sends the
	// visitors' messages, spread over a second, and one per console the
	// answers.
	var mu sync.Mutex
	var toOp, toVis []time.Duration
	chatOf := make([]atomic.Uint64, chatsN)
	conDone := make(chan struct{})
	go func() {
		defer close(conDone)
		want := chatsN * perChat
		for want > 0 {
			_ = con.SetReadDeadline(time.Now().Add(2 * time.Minute))
			_, b, err := con.ReadMessage()
			if err != nil {
				t.Errorf("console: %v", err)
				return
			}
			if sent, ok := loadStamp(b, `"from":"visitor"`, `"text":"v `); ok {
				d := time.Since(time.Unix(0, sent))
				mu.Lock()
				toOp = append(toOp, d)
				mu.Unlock()
				want--
			}
		}
	}()
	// Each visitor reads its socket: its acks, its own messages, and
	// the operator's answers, whose latency it measures.
	readers := sync.WaitGroup{}
	for i := range chatsN {
		readers.Add(1)
		go func() {
			defer readers.Done()
			c := conns[i]
			got := 0
			for got < perChat {
				_ = c.SetReadDeadline(time.Now().Add(2 * time.Minute))
				_, b, err := c.ReadMessage()
				if err != nil {
					t.Errorf("visitor %d: %v", i, err)
					return
				}
				if chatOf[i].Load() == 0 && bytes.Contains(b, []byte(`"type":"ack"`)) {
					if chat, ok := loadNumber(b, `"chat":`); ok {
						chatOf[i].Store(uint64(chat))
					}
				}
				if sent, ok := loadStamp(b, `"from":"operator"`, `"text":"o `); ok {
					d := time.Since(time.Unix(0, sent))
					mu.Lock()
					toVis = append(toVis, d)
					mu.Unlock()
					got++
				}
			}
		}()
	}
	// The server's CPU profile over the chats (APPLIANCE_CHAT_LOAD_PROFILE).
	cpuProfile(t, cmd, dir, "start")
	load0 := loadAvg()
	start := time.Now()
	var frame []byte
	for round := range perChat {
		// Visitors 0..999 write, a millisecond apart.
		next := time.Now()
		for i := range chatsN {
			next = next.Add(time.Millisecond)
			if d := time.Until(next); d > 0 {
				time.Sleep(d)
			}
			frame = fmt.Appendf(frame[:0], `{"type":"send","ref":"%d","text":"v %d"}`, round, time.Now().UnixNano())
			if err := conns[i].WriteMessage(websocket.TextMessage, frame); err != nil {
				t.Fatal(err)
			}
		}
		var answers sync.WaitGroup
		for k := range consolesN {
			answers.Add(1)
			go func() {
				defer answers.Done()
				var frame []byte
				next := time.Now()
				for i := k; i < chatsN; i += consolesN {
					chat := chatOf[i].Load()
					for chat == 0 {
						time.Sleep(10 * time.Millisecond)
						chat = chatOf[i].Load()
					}
					next = next.Add(10 * time.Millisecond) // 100 a second per console
					if d := time.Until(next); d > 0 {
						time.Sleep(d)
					}
					frame = fmt.Appendf(frame[:0], `{"type":"send","chat":%d,"text":"o %d"}`, chat, time.Now().UnixNano())
					if err := consoles[k].WriteMessage(websocket.TextMessage, frame); err != nil {
						t.Error(err)
						return
					}
				}
			}()
		}
		answers.Wait()
	}
	<-conDone
	readers.Wait()
	elapsed := time.Since(start)
	cpuProfile(t, cmd, dir, "chats")
	pct := func(d []time.Duration, p float64) time.Duration {
		if len(d) == 0 {
			return 0
		}
		slices.Sort(d)
		return d[min(len(d)-1, int(float64(len(d))*p))]
	}
	t.Logf("FIGURE %d chats, %d messages each way in %s (load average %s → %s): visitor→operator p50 %s p99 %s; operator→visitor p50 %s p99 %s; server RSS %d KB",
		chatsN, len(toOp), elapsed.Round(time.Millisecond), load0, loadAvg(), pct(toOp, .5).Round(time.Microsecond), pct(toOp, .99).Round(time.Microsecond),
		pct(toVis, .5).Round(time.Microsecond), pct(toVis, .99).Round(time.Microsecond), rssKB(t, pid))
	for _, c := range append(conns, consoles...) {
		if c != nil {
			c.Close()
		}
	}
}
