package store

// Chat is a conversation between a visitor and a site's operators
// (ChatKey). Its messages are their own records (ChatMessageKey), numbered
// 1..Last; the chat is rewritten with every message (Last, LastAt), in the
// same write, so that the next id is read and taken under the writer's
// serialisation.
type Chat struct {
	ID      uint64 // in the key
	Site    uint32 // in the key
	Created int64  // Unix ms
	// Closed is when the chat ended (Unix ms), 0 while it is open;
	// ClosedBy says how: "visitor", "operator", "lead" (nobody answered:
	// it became lead Lead) or "idle".
	Closed   int64
	ClosedBy string
	Assigned string // the chat's operator: who answered or took it first, or whom it was transferred to; "" nobody
	Answered int64  // Unix ms of the first operator message; 0 none
	Last     uint64 // id of the latest message; 0 none
	LastAt   int64  // Unix ms of the latest message
	// VisitorRead and OperatorRead are the highest message ids each side
	// has seen.
	VisitorRead, OperatorRead uint64
	Lead                      uint64 // the lead an unanswered chat became; 0 none
	// Refs are the clients' ids of the latest messages (at most
	// MaxChatRefs, oldest first), so that a client resending a message
	// whose acknowledgement it missed gets the id stored the first time.
	Refs []ChatRef
	IP   string // of the visitor when the chat began
	Attribution
}

// ChatRef ties a client's ref of a sent message to the message's id.
type ChatRef struct {
	Ref string
	ID  uint64
}

// MaxChatRefs is how many refs a chat remembers.
const MaxChatRefs = 32

const chatVersion = 1

func (c *Chat) strings() []*string {
	return append([]*string{&c.ClosedBy, &c.Assigned, &c.IP, &c.PageURL}, c.Source.fields()...)
}

// Encode returns the versioned encoding of c; site and id are in the key.
func (c *Chat) Encode() []byte {
	e := newEncoder(chatVersion, 256+len(c.PageURL)+len(c.Landing)+len(c.Referrer)+40*len(c.Refs))
	e.int(c.Created)
	e.int(c.Closed)
	e.int(c.Answered)
	e.uint(c.Last)
	e.int(c.LastAt)
	e.uint(c.VisitorRead)
	e.uint(c.OperatorRead)
	e.uint(c.Lead)
	e.uint(c.Visitor)
	e.uint(c.Session)
	e.uint(c.Hit)
	for _, f := range c.strings() {
		e.str(*f)
	}
	e.uint(uint64(len(c.Refs)))
	for _, r := range c.Refs {
		e.str(r.Ref)
		e.uint(r.ID)
	}
	return e.b
}

// DecodeChat decodes a Chat; site and id come from the key.
func DecodeChat(site uint32, id uint64, b []byte) (Chat, error) {
	d, _ := newDecoder(b, "chat", chatVersion)
	c := Chat{ID: id, Site: site}
	c.Created = d.int()
	c.Closed = d.int()
	c.Answered = d.int()
	c.Last = d.uint()
	c.LastAt = d.int()
	c.VisitorRead = d.uint()
	c.OperatorRead = d.uint()
	c.Lead = d.uint()
	c.Visitor = d.uint()
	c.Session = d.uint()
	c.Hit = d.uint()
	for _, f := range c.strings() {
		*f = d.str()
	}
	n := d.uint()
	if n > MaxChatRefs {
		d.fail("too many chat refs")
	}
	for i := uint64(0); i < n && d.err == nil; i++ {
		c.Refs = append(c.Refs, ChatRef{Ref: d.str(), ID: d.uint()})
	}
	return c, d.done()
}

// ChatMessage is one message of a chat; its id is in the key.
type ChatMessage struct {
	ID   uint64 // in the key
	From string // "visitor", "operator" or "system"
	Name string // the operator's name; "" for the visitor and the system
	Text string
	At   int64 // Unix ms
}

const chatMessageVersion = 1

// Encode returns the versioned encoding of m; the id is in the key.
func (m *ChatMessage) Encode() []byte {
	e := newEncoder(chatMessageVersion, 16+len(m.From)+len(m.Name)+len(m.Text))
	e.str(m.From)
	e.str(m.Name)
	e.str(m.Text)
	e.int(m.At)
	return e.b
}

// DecodeChatMessage decodes a ChatMessage; the id comes from the key.
func DecodeChatMessage(id uint64, b []byte) (ChatMessage, error) {
	d, _ := newDecoder(b, "chat message", chatMessageVersion)
	m := ChatMessage{ID: id, From: d.str(), Name: d.str(), Text: d.str(), At: d.int()}
	return m, d.done()
}

// ChatSettings are a site's chat settings (ChatSettingsKey). A site
// without a record has the zero value, which callers read as the
// defaults.
type ChatSettings struct {
	Button         bool   // show the floating chat button
	ButtonPosition string // "right" or "left" (bottom corner); "" right
	ButtonColor    string // CSS hex colour, "#1a73e8"; "" the default
	Greeting       string // first line shown in an empty chat window; "" the default
	// Unanswered is how long (seconds) a visitor's message may wait for
	// an operator before the chat becomes a lead; 0 the default.
	Unanswered uint32
	Canned     []string // canned replies, in the order shown
}

const chatSettingsVersion = 1

// Encode returns the versioned encoding of s.
func (s *ChatSettings) Encode() []byte {
	e := newEncoder(chatSettingsVersion, 64+len(s.Greeting)+64*len(s.Canned))
	e.bool(s.Button)
	e.str(s.ButtonPosition)
	e.str(s.ButtonColor)
	e.str(s.Greeting)
	e.uint(uint64(s.Unanswered))
	e.strs(s.Canned)
	return e.b
}

// DecodeChatSettings decodes ChatSettings of any version.
func DecodeChatSettings(b []byte) (ChatSettings, error) {
	d, _ := newDecoder(b, "chat settings", chatSettingsVersion)
	s := ChatSettings{Button: d.bool(), ButtonPosition: d.str(), ButtonColor: d.str(), Greeting: d.str(),
		Unanswered: d.uint32("chat unanswered"), Canned: d.strs()}
	return s, d.done()
}
