package chats_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"appliance/httpd/chats"
)

// A new page of the visitor's window gets their earlier chats, bounded:
// the MaxEarlierChats latest before the current one, ended within
// EarlierWindow, of them at most MaxEarlierMessages messages in all, the
// latest (an older chat's beginning is left out, the oldest chat with no
// room left not shown), oldest first.
func TestEarlierChatsBounded(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	var ids []uint64
	for i, n := range []int{2, 2, 30, 40} { // chats A, B, C, D, each closed
		var chat uint64
		for m := 1; m <= n; m++ {
			chat = f.send(t, fmt.Sprintf("chat %d message %d", i, m)).Chat.ID
		}
		if _, err := f.svc.Close(ctx, f.site.ID, chat, 0, chats.ClosedByOperator); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, chat)
		f.advance(time.Minute)
	}
	cur := f.send(t, "the current chat").Chat
	if cur.ID <= ids[3] {
		t.Fatalf("the current chat %d is not after %d", cur.ID, ids[3])
	}

	type shown struct {
		chat        uint64
		first, last uint64
		count       int
		firstText   string
		closedBy    string
	}
	got := func() []shown {
		t.Helper()
		es, err := f.svc.Earlier(ctx, &cur)
		if err != nil {
			t.Fatal(err)
		}
		var out []shown
		for _, e := range es {
			s := shown{chat: e.Chat.ID, count: len(e.Messages), closedBy: e.Chat.ClosedBy}
			if len(e.Messages) > 0 {
				s.first, s.last, s.firstText = e.Messages[0].ID, e.Messages[len(e.Messages)-1].ID, e.Messages[0].Text
			}
			out = append(out, s)
		}
		return out
	}
	// D whole (40), C's last 20 (11..30), then no room for B; A is past
	// the 3 chats.
	want := []shown{
		{chat: ids[2], first: 11, last: 30, count: 20, firstText: "chat 2 message 11", closedBy: chats.ClosedByOperator},
		{chat: ids[3], first: 1, last: 40, count: 40, firstText: "chat 3 message 1", closedBy: chats.ClosedByOperator},
	}
	if g := got(); fmt.Sprint(g) != fmt.Sprint(want) {
		t.Errorf("earlier chats\n%v\nwant\n%v", g, want)
	}
	total := 0
	for _, s := range got() {
		total += s.count
	}
	if total > chats.MaxEarlierMessages {
		t.Errorf("%d messages, over %d", total, chats.MaxEarlierMessages)
	}

	// Chats that ended more than EarlierWindow ago are not shown.
	f.advance(chats.EarlierWindow - 90*time.Second) // D ended within it, C just before
	if g := got(); len(g) != 1 || g[0].chat != ids[3] {
		t.Errorf("near the window's end: %v, want D alone", g)
	}
	f.advance(90 * time.Second)
	if g := got(); len(g) != 0 {
		t.Errorf("after the window: %v, want none", g)
	}
}
