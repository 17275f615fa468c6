package chats_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"appliance/httpd/chats"
	"appliance/httpd/leads"
	"appliance/httpd/sites"
	"appliance/httpd/visits"
	"appliance/httpd/webhooks"
	"appliance/numbers"
	"appliance/store"
	"appliance/store/storetest"
)

type fixture struct {
	db    *store.DB
	svc   *chats.Service
	leads *leads.Service
	hooks *webhooks.Hooks
	site  *store.Site
	reg   *sites.Registry
	hit   visits.HitResult
	mu    sync.Mutex
	now   time.Time
}

func (f *fixture) clock() time.Time { f.mu.Lock(); defer f.mu.Unlock(); return f.now }
func (f *fixture) advance(d time.Duration) {
	f.mu.Lock()
	f.now = f.now.Add(d)
	f.mu.Unlock()
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctx := context.Background()
	f := &fixture{db: storetest.Open(t), now: time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)}
	reg, err := sites.Open(ctx, f.db, f.clock)
	if err != nil {
		t.Fatal(err)
	}
	if f.site, err = reg.Create(ctx, "Shop", []string{"shop.example"}); err != nil {
		t.Fatal(err)
	}
	f.reg = reg
	tr := visits.NewTracker(f.db, f.clock, "")
	f.hooks = webhooks.New(f.db, webhooks.Options{Now: f.clock, Policy: webhooks.Policy{AllowPrivate: true}})
	if _, err := f.hooks.Add(ctx, f.site.ID, "http://127.0.0.1:9/hook", "", []webhooks.Kind{webhooks.KindLead, webhooks.KindChat}); err != nil {
		t.Fatal(err)
	}
	f.leads = leads.New(f.db, tr, f.hooks, leads.Options{Now: f.clock})
	f.svc = chats.New(f.db, reg, tr, f.leads, f.hooks, chats.Options{Now: f.clock})
	f.hit, err = tr.Hit(ctx, f.site, visits.PageView{URL: "https://shop.example/cart?utm_source=google&utm_medium=cpc",
		Title: "Cart", UserAgent: "Mozilla/5.0 (X11; Linux x86_64) Chrome/120.0"})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *fixture) visitor() chats.Visitor {
	return chats.Visitor{Site: f.site, Visitor: f.hit.CI.Visitor, Session: f.hit.CI.Session, Page: "https://shop.example/cart", IP: "192.0.2.1"}
}

func (f *fixture) deliveries(t *testing.T, kind webhooks.Kind) []store.Delivery {
	t.Helper()
	ds, err := f.hooks.Deliveries(context.Background(), f.site.ID, 100)
	if err != nil {
		t.Fatal(err)
	}
	var out []store.Delivery
	for _, d := range ds {
		if d.Event == string(kind) {
			out = append(out, d)
		}
	}
	return out
}

// send stores the visitor's message text (the first opens a chat); the
// test fails when it is not stored.
func (f *fixture) send(t *testing.T, text string) chats.Ack {
	t.Helper()
	a, err := f.svc.Send(context.Background(), f.visitor(), "", text)
	if err != nil {
		t.Fatalf("send %q: %v", text, err)
	}
	return a
}

// online opens operator name's console on the site; release closes it.
func (f *fixture) online(name string) (op chats.Operator, release func()) {
	op = chats.Operator{Name: name}
	return op, f.svc.Connect(op, []uint32{f.site.ID}, chats.Online)
}

// sweepAfter moves the clock on by d, the operators in active at their
// consoles at that moment, and sweeps, as Run does on each tick.
func (f *fixture) sweepAfter(d time.Duration, active ...chats.Operator) {
	f.advance(d)
	for _, op := range active {
		f.svc.Active(op, []uint32{f.site.ID})
	}
	f.svc.Sweep(context.Background())
}

// chat reads the site's chat id.
func (f *fixture) chat(t *testing.T, id uint64) store.Chat {
	t.Helper()
	c, err := f.svc.Chat(f.site.ID, id)
	if err != nil {
		t.Fatalf("chat %d: %v", id, err)
	}
	return c
}

// storedLeads reads the site's leads, newest first.
func (f *fixture) storedLeads(t *testing.T) []store.Lead {
	t.Helper()
	var got []store.Lead
	if err := f.leads.List(context.Background(), f.site.ID, leads.Filter{}, 0, func(l store.Lead) bool { got = append(got, l); return true }); err != nil {
		t.Fatal(err)
	}
	return got
}

// Messages are numbered 1, 2, 3 per chat; a resent ref is answered with
// the first id and stored once; a reader resumes after any id.
func TestSendNumbersAndDeduplicates(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	a1, err := f.svc.Send(ctx, f.visitor(), "r1", "  Hello  ")
	if err != nil {
		t.Fatal(err)
	}
	if !a1.Created || a1.Message.ID != 1 || a1.Message.Text != "Hello" || a1.Chat.Source.UTMSource != "google" {
		t.Fatalf("first send = %+v", a1)
	}
	a2, err := f.svc.Send(ctx, f.visitor(), "r2", "second")
	if err != nil {
		t.Fatal(err)
	}
	again, err := f.svc.Send(ctx, f.visitor(), "r1", "Hello")
	if err != nil {
		t.Fatal(err)
	}
	if a2.Chat.ID != a1.Chat.ID || a2.Message.ID != 2 || !again.Dup || again.Message.ID != 1 {
		t.Fatalf("second = %+v, resend = %+v", a2, again)
	}
	op := chats.Operator{Name: "anna@shop.example"}
	a3, err := f.svc.OperatorSend(ctx, op, f.site.ID, a1.Chat.ID, "o1", "Hi, how can I help?")
	if err != nil {
		t.Fatal(err)
	}
	if a3.Message.ID != 3 || a3.Chat.Assigned != op.Name {
		t.Fatalf("operator send = %+v", a3)
	}
	msgs, err := f.svc.Messages(ctx, f.site.ID, a1.Chat.ID, 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 2 || msgs[0].ID != 2 || msgs[1].ID != 3 || msgs[1].From != chats.FromOperator {
		t.Fatalf("messages after 1 = %+v", msgs)
	}
	for _, bad := range []string{"", "   ", strings.Repeat("я", chats.MaxText), "a\x00b", "\xff"} {
		if _, err := f.svc.Send(ctx, f.visitor(), "", bad); err == nil {
			t.Errorf("Send(%q) stored", bad)
		}
	}
	if c := f.chat(t, a1.Chat.ID); c.Last != 3 {
		t.Errorf("refused messages changed the chat: last %d", c.Last)
	}
}

// Concurrent senders on both sides get distinct ids 1..N, and a
// subscriber sees the messages in id order.
func TestConcurrentSendsInOrder(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	first := f.send(t, "start")
	sub := f.svc.SubscribeConsole([]uint32{f.site.ID}, nil)
	defer f.svc.Unsubscribe(sub)
	const n = 40
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var err error
			if i%2 == 0 {
				_, err = f.svc.Send(ctx, f.visitor(), "", "v")
			} else {
				_, err = f.svc.OperatorSend(ctx, chats.Operator{Name: "op"}, f.site.ID, first.Chat.ID, "", "o")
			}
			if err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	want := uint64(2)
	for want <= n+1 {
		ev := <-sub.C
		if ev.Kind != chats.EvMessage {
			continue
		}
		if ev.Message.ID != want {
			t.Fatalf("event message id %d, want %d", ev.Message.ID, want)
		}
		want++
	}
}

// The transcript a chat's lead carries writes its times in the site's
// zone, as the leads page writes the lead's own time beside it: a chat
// at 12:00 UTC reads 22:00 for a site in Vladivostok. It wrote UTC, so
// "call me in an hour" read ten hours off next to the lead's time.
func TestChatLeadTranscriptInSiteZone(t *testing.T) {
	f := newFixture(t)
	if _, err := f.reg.SetTimeZone(context.Background(), f.site.Key, "Asia/Vladivostok"); err != nil {
		t.Fatal(err)
	}
	f.send(t, "Перезвоните через час")
	f.sweepAfter(61 * time.Second)
	got := f.storedLeads(t)
	if len(got) != 1 || !strings.Contains(got[0].Message, "[2026-12-01 22:00:00] Visitor: Перезвоните через час") {
		t.Fatalf("leads = %+v", got)
	}
}

// With no operator online for the grace, an unanswered chat becomes a lead
// with the transcript, and the chat closes with its webhook, in one write.
func TestUnansweredChatBecomesLead(t *testing.T) {
	f := newFixture(t)
	a := f.send(t, "Do you deliver to Tula? <script>alert(1)</script>")
	f.send(t, "my phone 8 912 345-67-89")
	f.sweepAfter(0)
	if c := f.chat(t, a.Chat.ID); c.Closed != 0 {
		t.Fatal("the chat became a lead before the grace")
	}
	f.sweepAfter(61 * time.Second)
	c := f.chat(t, a.Chat.ID)
	if c.Closed == 0 || c.ClosedBy != chats.ClosedByLead || c.Lead == 0 {
		t.Fatalf("chat after the sweep = %+v", c)
	}
	got := f.storedLeads(t)
	if len(got) != 1 || got[0].ID != c.Lead || got[0].Via != leads.ViaChat ||
		!strings.Contains(got[0].Message, "Do you deliver to Tula? <script>") || !strings.Contains(got[0].Message, "my phone") ||
		got[0].Source.UTMSource != "google" {
		t.Fatalf("leads = %+v", got)
	}
	if n := len(f.deliveries(t, webhooks.KindLead)); n != 1 {
		t.Errorf("%d lead deliveries, want 1", n)
	}
	ds := f.deliveries(t, webhooks.KindChat)
	if len(ds) != 1 {
		t.Fatalf("%d chat deliveries, want 1", len(ds))
	}
	var body struct {
		Event string
		Data  chats.WebhookView
	}
	if err := json.Unmarshal(ds[0].Body, &body); err != nil {
		t.Fatal(err)
	}
	if body.Event != "chat" || body.Data.LeadID != c.Lead || len(body.Data.Messages) != 3 || body.Data.Source.UTMSource != "google" {
		t.Errorf("chat webhook = %s", ds[0].Body)
	}
	f.sweepAfter(time.Hour)
	if n := len(f.deliveries(t, webhooks.KindLead)); n != 1 {
		t.Errorf("a second sweep made %d lead deliveries, want 1", n)
	}
	// The next message opens a new chat.
	if b := f.send(t, "hello again"); !b.Created || b.Chat.ID == a.Chat.ID || b.Message.ID != 1 {
		t.Errorf("send after the lead = %+v", b)
	}
}

// An operator online keeps a chat from becoming a lead until the site's
// unanswered time; an answered chat never becomes one.
func TestOnlineOperatorAndUnansweredTime(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	op, release := f.online("anna")
	defer release()
	if !f.svc.SiteOnline(f.site.ID) {
		t.Fatal("site offline with an operator's console open")
	}
	a := f.send(t, "anyone?")
	f.sweepAfter(4*time.Minute, op)
	if c := f.chat(t, a.Chat.ID); c.Closed != 0 {
		t.Fatal("closed before the unanswered time")
	}
	f.sweepAfter(61 * time.Second)
	if c := f.chat(t, a.Chat.ID); c.ClosedBy != chats.ClosedByLead {
		t.Fatalf("after 5 minutes unanswered: %+v", c)
	}
	b := f.send(t, "again")
	if _, err := f.svc.OperatorSend(ctx, op, f.site.ID, b.Chat.ID, "", "here"); err != nil {
		t.Fatal(err)
	}
	f.sweepAfter(10*time.Minute, op)
	if c := f.chat(t, b.Chat.ID); c.Closed != 0 {
		t.Fatalf("an answered chat closed: %+v", c)
	}
	f.sweepAfter(31 * time.Minute)
	if c := f.chat(t, b.Chat.ID); c.ClosedBy != chats.ClosedByIdle {
		t.Fatalf("an idle chat: %+v", c)
	}
}

// A site may give its operators longer than the idle close (30 minutes)
// to answer: a chat no one answered waits for that time and then becomes
// a lead; it is never closed as idle, which would leave the visitor's
// words out of the leads.
func TestUnansweredChatWaitsForItsTimeNotIdleClose(t *testing.T) {
	f := newFixture(t)
	if err := f.svc.SetSettings(context.Background(), f.site.ID, store.ChatSettings{Unanswered: 3600}); err != nil {
		t.Fatal(err)
	}
	op, release := f.online("anna")
	defer release()
	a := f.send(t, "Is the blue one in stock? 8 912 345-67-89")
	for range 11 { // 55 minutes with the operator at the console
		f.sweepAfter(5*time.Minute, op)
	}
	if c := f.chat(t, a.Chat.ID); c.Closed != 0 {
		t.Fatalf("an unanswered chat closed before the site's unanswered time: %+v", c)
	}
	f.sweepAfter(5*time.Minute, op)
	if c := f.chat(t, a.Chat.ID); c.ClosedBy != chats.ClosedByLead || c.Lead == 0 {
		t.Fatalf("after the site's unanswered time: %+v, want closed by lead", c)
	}
}

// A visitor who writes again after an operator answered and left is not
// left waiting for the idle close: once no operator has been online for
// the lead grace, the chat becomes a lead with the whole conversation. A
// chat where the operator had the last word stays a chat.
func TestFollowUpAfterOperatorLeftBecomesLead(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	op, release := f.online("anna")
	a := f.send(t, "Do you deliver to Tula?")
	if _, err := f.svc.OperatorSend(ctx, op, f.site.ID, a.Chat.ID, "", "Yes, in two days"); err != nil {
		t.Fatal(err)
	}
	release()
	for range 5 { // the sweeps of Run see the operator go offline after the grace
		f.sweepAfter(30 * time.Second)
	}
	if c := f.chat(t, a.Chat.ID); c.Closed != 0 {
		t.Fatalf("a chat the operator answered last was closed: %+v", c)
	}
	f.send(t, "Great, call me at 8 912 345-67-89")
	f.sweepAfter(0)
	c := f.chat(t, a.Chat.ID)
	if c.ClosedBy != chats.ClosedByLead || c.Lead == 0 {
		t.Fatalf("the follow-up nobody was left to read: chat %+v, want closed by lead", c)
	}
	got := f.storedLeads(t)
	if len(got) != 1 || got[0].ID != c.Lead || !strings.Contains(got[0].Message, "call me at 8 912 345-67-89") ||
		!strings.Contains(got[0].Message, "Operator anna: Yes, in two days") {
		t.Fatalf("leads = %+v", got)
	}

	// The operator had the last word: the chat waits for the idle close.
	b := f.send(t, "One more question")
	op, release = f.online("anna")
	if _, err := f.svc.OperatorSend(ctx, op, f.site.ID, b.Chat.ID, "", "Ask away"); err != nil {
		t.Fatal(err)
	}
	release()
	for range 10 {
		f.sweepAfter(30 * time.Second)
	}
	if c := f.chat(t, b.Chat.ID); c.Closed != 0 {
		t.Fatalf("a chat the operator answered last: %+v", c)
	}
	f.sweepAfter(30 * time.Minute)
	if c := f.chat(t, b.Chat.ID); c.ClosedBy != chats.ClosedByIdle {
		t.Fatalf("an idle chat the operator answered last: %+v", c)
	}
}

// The operator who took a chat left mid-way (laptop closed) while another
// stayed at the console: the visitor's question after the answer, which
// nobody answered, is not closed away with the idle chat but goes on as a
// lead with the whole conversation.
func TestIdleChatWithVisitorsLastWordBecomesLead(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	anna, release := f.online("anna")
	boris, releaseBoris := f.online("boris")
	defer releaseBoris()
	a := f.send(t, "Есть ли чёрные кроссовки 42 размера?")
	if _, err := f.svc.OperatorSend(ctx, anna, f.site.ID, a.Chat.ID, "", "Да, есть две модели"); err != nil {
		t.Fatal(err)
	}
	release()
	f.send(t, "А какая из них легче? Перезвоните: 8 912 345-67-89")
	for range 7 { // 35 minutes, Boris at his console all along
		f.sweepAfter(5*time.Minute, boris)
	}
	c := f.chat(t, a.Chat.ID)
	if c.ClosedBy != chats.ClosedByLead || c.Lead == 0 {
		t.Fatalf("the unanswered follow-up: chat %+v, want closed by lead", c)
	}
	got := f.storedLeads(t)
	if len(got) != 1 || got[0].ID != c.Lead || !strings.Contains(got[0].Message, "Перезвоните: 8 912 345-67-89") ||
		!strings.Contains(got[0].Message, "Operator anna: Да, есть две модели") {
		t.Fatalf("leads = %+v", got)
	}
}

// Presence: a console makes the site online; its release keeps it online
// for the grace; visitors get the site's status on each change.
func TestPresence(t *testing.T) {
	f := newFixture(t)
	sub := f.svc.SubscribeVisitor(chats.LiveVisitor{Site: f.site.ID, Visitor: 7, Session: 8}, nil)
	defer f.svc.Unsubscribe(sub)
	op, release := f.online("anna")
	if ev := <-sub.C; ev.Kind != chats.EvSiteStatus || !ev.Online {
		t.Fatalf("event %+v, want the site online", ev)
	}
	release()
	f.sweepAfter(0)
	if !f.svc.SiteOnline(f.site.ID) {
		t.Fatal("offline within the grace")
	}
	f.sweepAfter(31 * time.Second)
	if f.svc.SiteOnline(f.site.ID) {
		t.Fatal("online after the grace")
	}
	if ev := <-sub.C; ev.Kind != chats.EvSiteStatus || ev.Online {
		t.Fatalf("event %+v, want the site offline", ev)
	}
	if err := f.svc.SetStatus(op, []uint32{f.site.ID}, chats.Online, true); err != nil {
		t.Fatal(err)
	}
	if !f.svc.SiteOnline(f.site.ID) {
		t.Fatal("an API operator set online is offline")
	}
	if err := f.svc.SetStatus(op, []uint32{f.site.ID}, chats.Away, true); err != nil || f.svc.SiteOnline(f.site.ID) {
		t.Fatalf("away: %v, online %v", err, f.svc.SiteOnline(f.site.ID))
	}
	if err := f.svc.SetStatus(op, []uint32{f.site.ID}, "busy", true); err == nil {
		t.Error("status busy taken")
	}
}

// Search finds finished chats by the words of their transcript; CSVRows
// gives them with their transcripts.
func TestSearchAndCSV(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	a := f.send(t, "=HYPERLINK(\"x\") Pizza delivery")
	if _, err := f.svc.Close(ctx, f.site.ID, a.Chat.ID, 0, chats.ClosedByOperator); err != nil {
		t.Fatal(err)
	}
	b := f.send(t, "sushi please")
	found, err := f.svc.Search(ctx, f.site.ID, "PIZZA deliv", nil, 10)
	if err != nil || len(found) != 1 || found[0].ID != a.Chat.ID {
		t.Fatalf("search = %+v, %v", found, err)
	}
	if found, _ := f.svc.Search(ctx, f.site.ID, "sushi", nil, 10); len(found) != 0 {
		t.Errorf("search found open chat %d", b.Chat.ID)
	}
	var rows [][]string
	if err := f.svc.CSVRows(ctx, found, time.UTC, func(r []string) { rows = append(rows, r) }); err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1 || len(rows[0]) != len(chats.CSVHeader()) || !strings.Contains(rows[0][len(rows[0])-1], "Visitor: =HYPERLINK") {
		t.Errorf("csv rows = %q", rows)
	}
}

// ButtonOn answers the stored setting, also after it changes, and a
// refused change leaves it as it was.
func TestButtonOn(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	if f.svc.ButtonOn(f.site.ID) {
		t.Fatal("the button is on before any setting")
	}
	if err := f.svc.SetSettings(ctx, f.site.ID, store.ChatSettings{Button: true, ButtonPosition: "left"}); err != nil {
		t.Fatal(err)
	}
	if !f.svc.ButtonOn(f.site.ID) {
		t.Fatal("the button is off after it was turned on")
	}
	if err := f.svc.SetSettings(ctx, f.site.ID, store.ChatSettings{Button: false, ButtonColor: "red"}); err == nil {
		t.Fatal("a colour that is not #RRGGBB was taken")
	}
	if !f.svc.ButtonOn(f.site.ID) {
		t.Fatal("a refused change turned the button off")
	}
	if err := f.svc.SetSettings(ctx, f.site.ID, store.ChatSettings{}); err != nil {
		t.Fatal(err)
	}
	if f.svc.ButtonOn(f.site.ID) {
		t.Fatal("the button is on after it was turned off")
	}
}

// Sends to different chats do not wait for each other's durable write:
// sent while the writer is busy, they join one group commit. (Every send
// used to hold one lock of the site through its sync, so each was a group
// of its own and 1,000 chats waited for each other's fsyncs in turn; then
// chats shared 256 striped locks, and 300 chats' sends, 600 locks, queued
// behind each other's writes up to ten deep.)
func TestSendsOfDifferentChatsShareCommits(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	const n = 300
	vs := make([]chats.Visitor, n)
	for i := range vs {
		vs[i] = f.visitor()
		vs[i].Visitor = 1000 + uint64(i)
		if _, err := f.svc.Send(ctx, vs[i], "", "hello"); err != nil {
			t.Fatal(err)
		}
	}
	// The writer is held busy by an update (its function runs in the
	// writer) while the sends queue up behind it.
	release, busy := make(chan struct{}), make(chan struct{})
	held := make(chan error, 1)
	go func() {
		held <- f.db.Update(ctx, func(*store.Tx) error { close(busy); <-release; return nil })
	}()
	<-busy
	before := f.db.Stats()
	var wg sync.WaitGroup
	for i := range vs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := f.svc.Send(ctx, vs[i], "", "again"); err != nil {
				t.Error(err)
			}
		}()
	}
	time.Sleep(time.Second) // the sends' chance to queue; not an assertion
	close(release)
	wg.Wait()
	if err := <-held; err != nil {
		t.Fatal(err)
	}
	after := f.db.Stats()
	if commits := after.Commits - before.Commits; commits > 2 {
		t.Errorf("%d sends to %d chats took %d group commits, want them to share one (two if some came late)", n, n, commits)
	}
}

// A chat whose operator has gone (console closed past the grace) or
// stepped away is handed over: another operator may take it, or takes it
// by answering; while its operator is online it stays theirs, and only
// they answer it.
func TestChatHandedOverWhenItsOperatorIsGone(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	anna, release := f.online("anna")
	boris, releaseBoris := f.online("boris")
	defer releaseBoris()
	a := f.send(t, "Здравствуйте, заказ 1042 ещё не пришёл")
	if _, err := f.svc.OperatorSend(ctx, anna, f.site.ID, a.Chat.ID, "", "Сейчас проверю"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Claim(ctx, boris, f.site.ID, a.Chat.ID); !errors.Is(err, chats.ErrAssigned) {
		t.Fatalf("claim of the chat of an operator online: %v, want ErrAssigned", err)
	}
	// Nor may he answer it: two operators answering at once would cross.
	if _, err := f.svc.OperatorSend(ctx, boris, f.site.ID, a.Chat.ID, "", "Добрый день"); !errors.Is(err, chats.ErrAssigned) {
		t.Fatalf("a colleague's word while anna is online: %v, want ErrAssigned", err)
	}
	if c := f.chat(t, a.Chat.ID); c.Assigned != "anna" || c.Last != 2 {
		t.Fatalf("a colleague's refused word: assigned to %q, %d messages", c.Assigned, c.Last)
	}

	release() // anna's laptop closes
	f.sweepAfter(time.Minute, boris)
	c, err := f.svc.Claim(ctx, boris, f.site.ID, a.Chat.ID)
	if err != nil || c.Assigned != "boris" {
		t.Fatalf("claim of the chat of an operator gone: %+v, %v", c, err)
	}

	// Boris steps away: Anna, back, takes it by answering.
	anna, release = f.online("anna")
	defer release()
	if err := f.svc.SetStatus(boris, []uint32{f.site.ID}, chats.Away, false); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.OperatorSend(ctx, anna, f.site.ID, a.Chat.ID, "", "Заказ приедет завтра"); err != nil {
		t.Fatal(err)
	}
	if c := f.chat(t, a.Chat.ID); c.Assigned != "anna" {
		t.Fatalf("anna answered while boris is away: assigned to %q", c.Assigned)
	}
}

// A message stored whose ack never reached the visitor (the tab closed,
// the phone lost the network) is resent with its ref from localStorage,
// maybe the next day: by then its chat became a lead and closed. The
// resend is answered with the message stored the first time; it opened a
// second chat with the same words, which became a second lead, with its
// webhooks, for one request.
func TestResendAfterChatClosedStoredOnce(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	first, err := f.svc.Send(ctx, f.visitor(), "r1", "Перезвоните, пожалуйста")
	if err != nil {
		t.Fatal(err)
	}
	f.sweepAfter(61 * time.Second)
	if c := f.chat(t, first.Chat.ID); c.Closed == 0 || c.Lead == 0 {
		t.Fatalf("the unanswered chat did not become a lead: %+v", c)
	}
	again, err := f.svc.Send(ctx, f.visitor(), "r1", "Перезвоните, пожалуйста")
	if err != nil {
		t.Fatal(err)
	}
	if !again.Dup || again.Created || again.Chat.ID != first.Chat.ID || again.Message.ID != first.Message.ID {
		t.Errorf("the resend = %+v, want the first message of chat %d again", again, first.Chat.ID)
	}
	f.sweepAfter(61 * time.Second)
	if got := f.storedLeads(t); len(got) != 1 {
		t.Errorf("%d leads, want 1", len(got))
	}
	if got := f.deliveries(t, webhooks.KindChat); len(got) != 1 {
		t.Errorf("%d chat webhooks, want 1", len(got))
	}
	// A new message (a ref not stored) after the closed chat opens a new one.
	next, err := f.svc.Send(ctx, f.visitor(), "r2", "Ещё вопрос")
	if err != nil {
		t.Fatal(err)
	}
	if !next.Created || next.Chat.ID == first.Chat.ID || next.Message.ID != 1 {
		t.Errorf("a new message after the closed chat = %+v", next)
	}
}

// A visitor who found no operator leaves their number and address in the
// chat, as the window asks them to write: the lead it becomes carries
// them in its phone and email (the leads page's columns, the lead
// webhook's fields a CRM reads, the phone index that ties a later call
// to the visitor), the latest the visitor wrote, as written. It carried
// only the transcript, with an empty phone and email. Numbers that are no
// phone number (an order, a date) and the operator's words are not taken.
func TestChatLeadCarriesContactFromChat(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	a := f.send(t, "Заказ 1234567 от 05.12.2026 10:00 не пришёл")
	if _, err := f.svc.OperatorSend(ctx, chats.Operator{Name: "anna@shop.example"}, f.site.ID, a.Chat.ID, "", "Напишите ваш телефон, +7 495 123-45-67 — наш"); err != nil {
		t.Fatal(err)
	}
	f.send(t, "Мой телефон +7 921 000-11-22")
	f.send(t, "Ой, лучше 8 (912) 345-67-89, или почта: Anna.K@Mail.ru.")
	f.sweepAfter(61 * time.Second)
	got := f.storedLeads(t)
	if len(got) != 1 {
		t.Fatalf("%d leads, want 1", len(got))
	}
	l := got[0]
	if l.PhoneRaw != "8 (912) 345-67-89" || l.Phone != "79123456789" || l.EmailRaw != "Anna.K@Mail.ru" || l.Email != "anna.k@mail.ru" {
		t.Errorf("lead phone %q (%q), email %q (%q); want the visitor's latest", l.PhoneRaw, l.Phone, l.EmailRaw, l.Email)
	}
	ds := f.deliveries(t, webhooks.KindLead)
	if len(ds) != 1 || !strings.Contains(string(ds[0].Body), `"phone":"79123456789"`) {
		t.Errorf("%d lead webhooks, the first without the phone", len(ds))
	}
}

func TestContactIn(t *testing.T) {
	v := func(texts ...string) []store.ChatMessage {
		var out []store.ChatMessage
		for _, s := range texts {
			out = append(out, store.ChatMessage{From: chats.FromVisitor, Text: s})
		}
		return out
	}
	for _, tt := range []struct {
		msgs         []store.ChatMessage
		phone, email string
	}{
		{v("позвоните 89123456789"), "89123456789", ""},
		{v("тел.: +7(912)345-67-89!"), "+7(912)345-67-89", ""},
		{v("(912) 345 67 89 — Анна"), "(912) 345 67 89", ""},
		{v("order 1234567, 2026-12-05"), "", ""},
		{v("12345678901234567890"), "", ""},
		{v("mail me: <bob@example.com>, thanks"), "", "bob@example.com"},
		{v("bob@localhost or @twitter"), "", ""},
		{v("+44 20 7946 0958", "later: 8 912 345 67 89"), "8 912 345 67 89", ""},
		{[]store.ChatMessage{{From: chats.FromOperator, Text: "наш номер 8 800 555-35-35, a@b.ru"}}, "", ""},
	} {
		phone, email := chats.ContactIn(tt.msgs, "RU")
		if phone != tt.phone || email != tt.email {
			t.Errorf("ContactIn(%v) = %q, %q; want %q, %q", tt.msgs, phone, email, tt.phone, tt.email)
		}
	}
}

// ContactIn reads what visitors type: whatever it is, it answers words
// of the visitor's text, a phone number that parses and an email that
// normalises, or nothing.
func FuzzContactIn(f *testing.F) {
	for _, s := range []string{"позвоните 8 (912) 345-67-89", "+7\u00a0921\u2011000 11 22", "a@b.ru.", "((((1", "+", "1-2-3-4-5-6-7-8-9-0-1", "\xe2\x80", "mail: <x@y.z>"} {
		f.Add(s, "RU")
	}
	f.Add("020 7946 0958", "GB")
	f.Fuzz(func(t *testing.T, text, region string) {
		if numbers.CheckRegion(region) != nil {
			region = "RU"
		}
		phone, email := chats.ContactIn([]store.ChatMessage{{From: chats.FromVisitor, Text: text}}, region)
		if phone != "" {
			if !strings.Contains(text, phone) {
				t.Fatalf("phone %q is not in %q", phone, text)
			}
			if p, err := numbers.ParsePhone(phone, region); err != nil || !p.Valid(region) {
				t.Fatalf("phone %q does not parse: %v", phone, err)
			}
		}
		if email != "" {
			if !strings.Contains(text, email) {
				t.Fatalf("email %q is not in %q", email, text)
			}
			if _, err := visits.NormalizeEmail(email); err != nil {
				t.Fatalf("email %q: %v", email, err)
			}
		}
	})
}

// A long chat (more than one page of messages, 1000) is searched and
// exported whole: a word of its last message finds it, and its CSV row
// counts and carries every message. Both read only its first 1000.
func TestSearchAndCSVReadLongChatWhole(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	first := f.send(t, "Здравствуйте")
	op := chats.Operator{Name: "anna@shop.example"}
	for i := range chats.MaxPageMessages {
		if _, err := f.svc.OperatorSend(ctx, op, f.site.ID, first.Chat.ID, "", fmt.Sprint("ответ ", i)); err != nil {
			t.Fatal(err)
		}
	}
	f.send(t, "Спасибо, доставьте в Занзибар")
	if _, err := f.svc.Close(ctx, f.site.ID, first.Chat.ID, 0, chats.ClosedByOperator); err != nil {
		t.Fatal(err)
	}
	found, err := f.svc.Search(ctx, f.site.ID, "занзибар", nil, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(found) != 1 {
		t.Fatalf("a word of the last message finds %d chats, want 1", len(found))
	}
	var rows [][]string
	if err := f.svc.CSVRows(ctx, found, time.UTC, func(r []string) { rows = append(rows, r) }); err != nil {
		t.Fatal(err)
	}
	if n := rows[0][13]; n != fmt.Sprint(chats.MaxPageMessages+2) {
		t.Errorf("the CSV row counts %s messages, want %d", n, chats.MaxPageMessages+2)
	}
	if !strings.HasSuffix(rows[0][len(rows[0])-1], "Visitor: Спасибо, доставьте в Занзибар") {
		t.Errorf("the CSV transcript does not end with the last message")
	}
}

// The greeting's and a canned reply's limits count characters, as the
// settings form's maxlength does: a Russian greeting of 500 letters (1,000
// bytes) is taken, one of 501 is not. Before, the limit was 500 bytes, so
// the form let through 250–500 Cyrillic letters the server refused.
func TestSettingsTextLimitsCountCharacters(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	greeting := strings.Repeat("Ж", chats.MaxGreeting)
	canned := []string{strings.Repeat("Д", chats.MaxCannedText)}
	if err := f.svc.SetSettings(ctx, f.site.ID, store.ChatSettings{Greeting: greeting, Canned: canned}); err != nil {
		t.Fatalf("a greeting of %d and a reply of %d Cyrillic letters: %v", chats.MaxGreeting, chats.MaxCannedText, err)
	}
	if st, err := f.svc.Settings(f.site.ID); err != nil || st.Greeting != greeting || len(st.Canned) != 1 || st.Canned[0] != canned[0] {
		t.Fatalf("settings as stored: %v; want the greeting and reply as sent", err)
	}
	for _, st := range []store.ChatSettings{
		{Greeting: greeting + "Ж"},
		{Canned: []string{canned[0] + "Д"}},
	} {
		err := f.svc.SetSettings(ctx, f.site.ID, st)
		if err == nil || !strings.Contains(err.Error(), "characters") {
			t.Errorf("one letter over the limit: %v, want refused in characters", err)
		}
	}
}
