package httpd_test

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"appliance/httpd/callbacks"
	"appliance/httpd/chats"
	"appliance/httpd/httpdtest"
	"appliance/httpd/leads"
	"appliance/httpd/webhooks"
	"appliance/numbers/tracking"
	"appliance/store"
)

// webhooksREADME is the README's section on webhooks.
func webhooksREADME(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, sec, ok := strings.Cut(string(b), "\n## Webhooks\n")
	if !ok {
		t.Fatal("README has no Webhooks section")
	}
	sec, _, _ = strings.Cut(sec, "\n## ")
	return sec
}

// jsonNames lists the JSON names of the fields of t.
func jsonNames(t reflect.Type) []string {
	var out []string
	for _, f := range reflect.VisibleFields(t) {
		if name, _, _ := strings.Cut(f.Tag.Get("json"), ","); name != "" && name != "-" {
			out = append(out, name)
		}
	}
	return out
}

// The README documents every header and every field of every kind's data,
// so a developer can wire a CRM from it alone.
func TestWebhooksREADMEDocumentsEveryField(t *testing.T) {
	sec := webhooksREADME(t)
	for _, h := range []string{webhooks.HeaderSignature, webhooks.HeaderEvent, webhooks.HeaderDelivery, webhooks.HeaderAttempt} {
		if !strings.Contains(sec, "`"+h+"`") {
			t.Errorf("README does not document the header %s", h)
		}
	}
	for _, k := range webhooks.Kinds() {
		if !strings.Contains(sec, "| `"+string(k)+"` |") {
			t.Errorf("README has no data row for the kind %q", k)
		}
	}
	for what, v := range map[string]any{"lead": leads.View{}, "callback": callbacks.View{}, "call": tracking.CallView{},
		"chat": chats.WebhookView{}, "chat message": chats.MessageView{}, "source": store.Source{}} {
		for _, f := range jsonNames(reflect.TypeOf(v)) {
			if !strings.Contains(sec, "`"+f+"`") && !strings.Contains(sec, `"`+f+`"`) {
				t.Errorf("README does not document the %s field %s", what, f)
			}
		}
	}
}

// readmeReceiver is a CRM written from the README alone: it verifies the
// signature as the README says (not with webhooks.Verify) and keeps the
// bodies it took.
type readmeReceiver struct {
	secret string
	mu     sync.Mutex
	bodies []map[string]any
	errs   []string
	// raw and signature are the first delivery's body and signature header,
	// for the README's Python verify.
	raw       []byte
	signature string
}

func (r *readmeReceiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	parts := map[string]string{}
	for _, p := range strings.Split(req.Header.Get("X-Appliance-Signature"), ",") {
		k, v, _ := strings.Cut(p, "=")
		parts[k] = v
	}
	m := hmac.New(sha256.New, []byte(r.secret))
	m.Write([]byte(parts["t"] + "."))
	m.Write(body)
	unix, err := strconv.ParseInt(parts["t"], 10, 64)
	r.mu.Lock()
	defer r.mu.Unlock()
	if !hmac.Equal([]byte(hex.EncodeToString(m.Sum(nil))), []byte(parts["v1"])) || err != nil ||
		time.Since(time.Unix(unix, 0)).Abs() > 5*time.Minute {
		r.errs = append(r.errs, "bad signature "+req.Header.Get("X-Appliance-Signature"))
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	if req.Header.Get("Content-Type") != "application/json" || req.Header.Get("X-Appliance-Event") == "" ||
		req.Header.Get("X-Appliance-Delivery") == "" || req.Header.Get("X-Appliance-Attempt") != "1" {
		r.errs = append(r.errs, "headers "+strings.Join([]string{req.Header.Get("Content-Type"), req.Header.Get("X-Appliance-Event"),
			req.Header.Get("X-Appliance-Delivery"), req.Header.Get("X-Appliance-Attempt")}, " "))
	}
	if r.raw == nil {
		r.raw, r.signature = body, req.Header.Get("X-Appliance-Signature")
	}
	var b map[string]any
	if err := json.Unmarshal(body, &b); err != nil {
		r.errs = append(r.errs, err.Error())
	}
	r.bodies = append(r.bodies, b)
}

// A receiver that follows only the README verifies a real lead's delivery,
// and every key of what it got is one the README names.
func TestWebhookReceiverFollowingREADME(t *testing.T) {
	sec := webhooksREADME(t)
	srv := httpdtest.Start(t, fastHooks)
	site := srv.Site(t, "Shop", "shop.example")
	c := srv.Client(t)
	rc := &readmeReceiver{}
	hook := httptest.NewServer(rc)
	defer hook.Close()
	rc.mu.Lock()
	rc.secret = addHook(t, srv, c, site, hook.URL+"/crm")
	rc.mu.Unlock()

	v := trackHit(t, srv, site, "", "https://shop.example/?utm_source=yandex&utm_medium=cpc", "")
	lead := map[string]any{"name": "Иван", "phone": "+7 (912) 345-67-89", "email": "Ivan@Example.com", "is_sale": true, "sale_cost": "1250.5"}
	if status, out, _ := postJSON(t, srv.URL+"t/v1/lead", leadBody(site, v, lead)); status != http.StatusOK {
		t.Fatalf("lead: %d %v", status, out)
	}
	eventually(t, "the lead at the README's receiver", func() bool {
		rc.mu.Lock()
		defer rc.mu.Unlock()
		return len(rc.bodies)+len(rc.errs) > 0
	})
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if len(rc.errs) > 0 || len(rc.bodies) != 1 {
		t.Fatalf("the README's receiver: %q, %d bodies", rc.errs, len(rc.bodies))
	}
	b := rc.bodies[0]
	data, _ := b["data"].(map[string]any)
	if b["event"] != "lead" || b["site_key"] != site || data["phone"] != "79123456789" || data["sale_cost"] != "1250.50" {
		t.Errorf("body %v", b)
	}
	var keys func(prefix string, m map[string]any)
	keys = func(prefix string, m map[string]any) {
		for k, v := range m {
			if !strings.Contains(sec, "`"+k+"`") && !strings.Contains(sec, `"`+k+`"`) {
				t.Errorf("the body has %s%s, which the README does not name", prefix, k)
			}
			if sub, ok := v.(map[string]any); ok {
				keys(prefix+k+".", sub)
			}
		}
	}
	keys("", b)
	pythonVerifies(t, sec, rc.secret, rc.signature, rc.raw)
}

// pythonVerifies runs the README's Python verify, as written, on a real
// delivery: it must take it, and refuse it with one byte of the body
// changed. Without python3 on the machine (CI=1 requires it) there is
// nothing to run it with.
func pythonVerifies(t *testing.T, sec, secret, signature string, body []byte) {
	t.Helper()
	_, code, ok := strings.Cut(sec, "```python\n")
	code, _, ok2 := strings.Cut(code, "```")
	if !ok || !ok2 || !strings.Contains(code, "def verify(") {
		t.Fatal("README's Webhooks section has no Python verify")
	}
	python, err := exec.LookPath("python3")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("CI: python3 is needed to run the README's verify")
		}
		t.Log("no python3: the README's Python verify is not run")
		return
	}
	script := code + `
import os, sys
body = sys.stdin.buffer.read()
secret, header = os.environ["HOOK_SECRET"], os.environ["HOOK_SIGNATURE"]
print(verify(secret, header, body), verify(secret, header, body[:-1] + b" "))
`
	cmd := exec.Command(python, "-c", script)
	cmd.Env = append(os.Environ(), "HOOK_SECRET="+secret, "HOOK_SIGNATURE="+signature)
	cmd.Stdin = bytes.NewReader(body)
	out, err := cmd.CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "True False" {
		t.Errorf("the README's Python verify on a real delivery (signature %q): %v\n%s", signature, err, out)
	}
}
