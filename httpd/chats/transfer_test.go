package chats_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"appliance/httpd/chats"
	"appliance/store"
)

// events drains what sub holds now (the hub delivers before Transfer
// returns).
func events(sub *chats.Sub) []*chats.Event {
	var out []*chats.Event
	for {
		select {
		case ev := <-sub.C:
			out = append(out, ev)
		default:
			return out
		}
	}
}

// A chat Anna holds goes to Boris, online: his from then on, with a note
// in its history, the visitor told who answers now and the consoles the
// chat's new operator. Anna may no longer answer it while Boris is online;
// Boris may.
func TestTransferToColleagueOnline(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	anna, release := f.online("anna@shop.example")
	defer release()
	boris, releaseBoris := f.online("boris@shop.example")
	defer releaseBoris()
	a := f.send(t, "Где мой заказ 1042?")
	if _, err := f.svc.OperatorSend(ctx, anna, f.site.ID, a.Chat.ID, "", "Сейчас передам коллеге"); err != nil {
		t.Fatal(err)
	}
	vis := f.svc.SubscribeVisitor(chats.LiveVisitor{Site: f.site.ID, Visitor: f.hit.CI.Visitor, Session: f.hit.CI.Session}, nil)
	defer f.svc.Unsubscribe(vis)
	con := f.svc.SubscribeConsole([]uint32{f.site.ID}, nil)
	defer f.svc.Unsubscribe(con)

	c, err := f.svc.Transfer(ctx, anna, false, f.site.ID, a.Chat.ID, chats.Move{To: "boris@shop.example"})
	if err != nil || c.Assigned != "boris@shop.example" {
		t.Fatalf("transfer: %+v, %v", c, err)
	}
	if got := f.chat(t, a.Chat.ID); got.Assigned != "boris@shop.example" || got.Last != 3 {
		t.Fatalf("stored chat: assigned %q, last %d", got.Assigned, got.Last)
	}
	msgs, err := f.svc.Messages(ctx, f.site.ID, a.Chat.ID, 2, 0)
	if err != nil || len(msgs) != 1 {
		t.Fatalf("messages after the answer: %+v, %v", msgs, err)
	}
	by, to, ok := chats.Transferred(&msgs[0])
	if !ok || by != "anna@shop.example" || to != "boris@shop.example" || chats.SystemCode(&msgs[0]) != chats.CodeTransfer || !chats.OperatorsOnly(&msgs[0]) {
		t.Fatalf("the note %+v: %q → %q, %v, code %q", msgs[0], by, to, ok, chats.SystemCode(&msgs[0]))
	}
	var assigned, note bool
	for _, ev := range events(vis) {
		switch {
		case ev.Kind == chats.EvAssigned && ev.Name == "boris@shop.example":
			assigned = true
		case ev.Kind == chats.EvMessage && ev.Message.ID == 3:
			note = true // the visitor's socket leaves it out (OperatorsOnly)
		}
	}
	if !assigned || !note {
		t.Errorf("the visitor's events: assigned %v, note %v", assigned, note)
	}
	var toConsole bool
	for _, ev := range events(con) {
		if ev.Kind == chats.EvChat && ev.Chat.Assigned == "boris@shop.example" {
			toConsole = true
		}
	}
	if !toConsole {
		t.Error("the consoles were not told the chat is Boris's")
	}

	if _, err := f.svc.OperatorSend(ctx, anna, f.site.ID, a.Chat.ID, "", "И ещё..."); !errors.Is(err, chats.ErrAssigned) {
		t.Fatalf("anna answers Boris's chat: %v, want ErrAssigned", err)
	}
	if _, err := f.svc.OperatorSend(ctx, boris, f.site.ID, a.Chat.ID, "", "Здравствуйте, это Борис"); err != nil {
		t.Fatalf("boris answers: %v", err)
	}
	// Again to Boris: nothing changes, no second note.
	if c, err := f.svc.Transfer(ctx, boris, false, f.site.ID, a.Chat.ID, chats.Move{To: "boris@shop.example"}); err != nil || c.Last != 4 {
		t.Fatalf("transfer to whom has it: %+v, %v", c, err)
	}
}

// A transfer is refused, changing nothing, when the chat is a colleague's
// who is online (one took or was given it meanwhile), when the operator
// it goes to is away, gone or unknown, and when the chat is closed or not
// there. A manager may move a colleague's chat.
func TestTransferRefusals(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	anna, release := f.online("anna")
	defer release()
	boris, releaseBoris := f.online("boris")
	defer releaseBoris()
	carl, releaseCarl := f.online("carl")
	defer releaseCarl()
	a := f.send(t, "Здравствуйте")
	if _, err := f.svc.Claim(ctx, anna, f.site.ID, a.Chat.ID); err != nil {
		t.Fatal(err)
	}
	refusedMove := func(what string, op chats.Operator, manage bool, m chats.Move, want error) {
		t.Helper()
		before := f.chat(t, a.Chat.ID)
		if _, err := f.svc.Transfer(ctx, op, manage, f.site.ID, a.Chat.ID, m); !errors.Is(err, want) {
			t.Errorf("%s: %v, want %v", what, err, want)
		}
		if after := f.chat(t, a.Chat.ID); after.Assigned != before.Assigned || after.Last != before.Last {
			t.Errorf("%s changed the chat: %+v", what, after)
		}
	}
	refused := func(what string, op chats.Operator, manage bool, to string, want error) {
		t.Helper()
		refusedMove(what, op, manage, chats.Move{To: to}, want)
	}
	refused("carl moves anna's chat", carl, false, "boris", chats.ErrAssigned)
	refused("carl takes anna's chat", carl, false, "carl", chats.ErrAssigned)
	refused("carl releases anna's chat", carl, false, "", chats.ErrAssigned)
	if err := f.svc.SetStatus(boris, []uint32{f.site.ID}, chats.Away, false); err != nil {
		t.Fatal(err)
	}
	refused("to boris, away", anna, false, "boris", chats.ErrOperatorOffline)
	refused("to nobody known", anna, false, "dora", chats.ErrOperatorOffline)
	refused("to anna on a site she may not use", chats.Operator{Name: "anna", Sites: []uint32{f.site.ID + 1}}, false, "carl", chats.ErrForbidden)
	if _, err := f.svc.Transfer(ctx, anna, false, f.site.ID, 999999, chats.Move{To: "carl"}); !errors.Is(err, chats.ErrNoChat) {
		t.Errorf("no such chat: %v", err)
	}

	// The manager moves it, unless it changed hands since they looked.
	boris2, nobody := "boris", ""
	refusedMove("the manager's move of a chat they saw as boris's", carl, true, chats.Move{To: "carl", From: &boris2}, chats.ErrAssigned)
	refusedMove("the manager's move of a chat they saw as nobody's", carl, true, chats.Move{To: "carl", From: &nobody}, chats.ErrAssigned)
	anna2 := "anna"
	if c, err := f.svc.Transfer(ctx, carl, true, f.site.ID, a.Chat.ID, chats.Move{To: "carl", From: &anna2}); err != nil || c.Assigned != "carl" {
		t.Fatalf("manager's transfer: %+v, %v", c, err)
	}
	// Anna, who had it, now meets a chat that is someone else's.
	refused("anna moves it after it left her", anna, false, "boris", chats.ErrAssigned)

	if _, err := f.svc.Close(ctx, f.site.ID, a.Chat.ID, 0, chats.ClosedByOperator); err != nil {
		t.Fatal(err)
	}
	refused("closed chat", carl, true, "anna", chats.ErrClosed)
}

// A chat released to the queue is nobody's: it waits for every operator
// online, and the one who answers takes it. The waiting counts follow
// each transfer; the note does not count as an answer, so a visitor's
// last word still makes the chat a lead once nobody is left.
func TestTransferReleaseAndWaiting(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	anna, release := f.online("anna")
	boris, releaseBoris := f.online("boris")
	sites := []uint32{f.site.ID}
	a := f.send(t, "Подскажите размер")
	if _, err := f.svc.OperatorSend(ctx, anna, f.site.ID, a.Chat.ID, "", "Какой у вас рост?"); err != nil {
		t.Fatal(err)
	}
	f.send(t, "182")
	waiting := func(op string) int {
		t.Helper()
		n, err := f.svc.Waiting(ctx, sites, op)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	if a, b := waiting("anna"), waiting("boris"); a != 1 || b != 0 {
		t.Fatalf("anna's chat waits for anna %d, boris %d", a, b)
	}
	if _, err := f.svc.Transfer(ctx, anna, false, f.site.ID, a.Chat.ID, chats.Move{To: "boris"}); err != nil {
		t.Fatal(err)
	}
	if a, b := waiting("anna"), waiting("boris"); a != 0 || b != 1 {
		t.Fatalf("transferred to boris: waits for anna %d, boris %d", a, b)
	}
	c, err := f.svc.Transfer(ctx, boris, false, f.site.ID, a.Chat.ID, chats.Move{To: ""})
	if err != nil || c.Assigned != "" {
		t.Fatalf("release: %+v, %v", c, err)
	}
	if a, b := waiting("anna"), waiting("boris"); a != 1 || b != 1 {
		t.Fatalf("released: waits for anna %d, boris %d", a, b)
	}
	last, err := f.svc.Messages(ctx, f.site.ID, a.Chat.ID, c.Last-1, 0)
	if err != nil || len(last) != 1 || chats.SystemCode(&last[0]) != chats.CodeRelease {
		t.Fatalf("the release's note: %+v, %v", last, err)
	}
	if by, to, ok := chats.Transferred(&last[0]); !ok || by != "boris" || to != "" {
		t.Fatalf("the release's note reads %q → %q, %v", by, to, ok)
	}
	// Nobody is left: the visitor's "182" becomes a lead, the notes
	// after it notwithstanding.
	release()
	releaseBoris()
	f.sweepAfter(31 * time.Second)
	f.sweepAfter(61 * time.Second)
	if got := f.chat(t, a.Chat.ID); got.ClosedBy != chats.ClosedByLead {
		t.Fatalf("the chat after the operators left: closed by %q", got.ClosedBy)
	}
}

// Transferred reads only the notes a transfer writes: not a visitor's or
// an operator's words of the same form, not a note cut or padded.
func TestTransferredReadsOnlyItsNotes(t *testing.T) {
	for _, m := range []store.ChatMessage{
		{From: chats.FromOperator, Name: "anna", Text: "anna transferred the chat to boris. / anna передал(а) чат: boris."},
		{From: chats.FromSystem, Name: "anna", Text: "anna transferred the chat to boris. / anna передал(а) чат: boriss."},
		{From: chats.FromSystem, Name: "anna", Text: "anna transferred the chat to boris. / anna передал(а) чат: bori."},
		{From: chats.FromSystem, Name: "ann", Text: "anna transferred the chat to boris. / anna передал(а) чат: boris."},
		{From: chats.FromSystem, Name: "anna", Text: "anna transferred the chat to . / anna передал(а) чат: ."},
		{From: chats.FromSystem, Text: "No operator answered"},
	} {
		if _, _, ok := chats.Transferred(&m); ok || chats.OperatorsOnly(&m) {
			t.Errorf("%+v read as a transfer", m)
		}
	}
}
