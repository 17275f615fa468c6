package store

// Chats, their messages and settings join the generic codec tests of
// records_test.go (round trip, truncation, versions, UTF-8, fuzzing).
func init() {
	codecs = append(codecs,
		codec{"chat", func(b []byte) (any, error) { return DecodeChat(3, 9, b) }, func(r any) []byte { c := r.(Chat); return c.Encode() }},
		codec{"chat message", func(b []byte) (any, error) { return DecodeChatMessage(4, b) }, func(r any) []byte { m := r.(ChatMessage); return m.Encode() }},
		codec{"chat settings", func(b []byte) (any, error) { return DecodeChatSettings(b) }, func(r any) []byte { s := r.(ChatSettings); return s.Encode() }},
	)
	samples["chat"] = []any{
		Chat{ID: 9, Site: 3},
		Chat{ID: 9, Site: 3, Created: 1700000000000, Closed: 1700000060000, ClosedBy: "lead", Assigned: unicode,
			Answered: 1700000001000, Last: 1 << 40, LastAt: -1 << 63, VisitorRead: 5, OperatorRead: 7, Lead: 1<<64 - 1,
			Refs: []ChatRef{{Ref: "a", ID: 1}, {Ref: long, ID: 1 << 63}}, IP: "2001:db8::1",
			Attribution: Attribution{Visitor: 1, Session: 2, Hit: 3, PageURL: long,
				Source: Source{Channel: "ad", UTMSource: unicode, Landing: "https://example.com/"}}},
	}
	samples["chat message"] = []any{
		ChatMessage{ID: 4},
		ChatMessage{ID: 4, From: "operator", Name: unicode, Text: "<script>alert(1)</script>\n" + long, At: 1700000000000},
	}
	samples["chat settings"] = []any{
		ChatSettings{},
		ChatSettings{Button: true, ButtonPosition: "left", ButtonColor: "#1a73e8", Greeting: unicode,
			Unanswered: 1<<32 - 1, Canned: []string{"Здравствуйте!", long, ""}},
	}
}
