// Package mailtest is a real SMTP server on 127.0.0.1 for tests
// (emersion/go-smtp's): it keeps what it is given and can be told to
// refuse messages, as a mail relay that is down does, to stop listening
// and start again on the same address, to hold messages until the
// test lets them go, as a stalled relay does, and to ask for a login
// (AUTH PLAIN), as a relay that relays only for its users does, and to
// refuse some addresses at RCPT, as a relay does a mailbox that does not
// exist.
package mailtest

import (
	"errors"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// Message is one message the server took.
type Message struct {
	From string
	To   []string
	Data []byte
}

// Server is a running SMTP server.
type Server struct {
	Addr string // 127.0.0.1:port

	mu     sync.Mutex
	got    []Message
	refuse *smtp.SMTPError
	tries  int
	srv    *smtp.Server               // nil while stopped
	gate   chan struct{}              // non-nil: messages wait for it to close (Hold)
	held   int                        // messages waiting at the gate
	login  [2]string                  // user, password; "" user: no login asked
	rcpt   map[string]*smtp.SMTPError // addresses refused at RCPT, with the answer
	sender *smtp.SMTPError            // the answer to MAIL FROM; nil: taken
}

// Start runs a server until the test ends.
func Start(t testing.TB) *Server {
	t.Helper()
	s := &Server{}
	if err := s.listen("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Release(); s.Stop() })
	return s
}

func (s *Server) listen(addr string) error {
	srv := smtp.NewServer(backend{s})
	srv.Domain = "localhost"
	srv.AllowInsecureAuth = true
	srv.ReadTimeout, srv.WriteTimeout = 10*time.Second, 10*time.Second
	srv.MaxMessageBytes = 1 << 20
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	s.mu.Lock()
	if s.Addr == "" { // Start; Resume listens on it again
		s.Addr = ln.Addr().String()
	}
	s.srv = srv
	s.mu.Unlock()
	go srv.Serve(ln)
	return nil
}

// Stop closes the server, as a relay that is down: connections to it are
// refused until Resume.
func (s *Server) Stop() {
	s.mu.Lock()
	srv := s.srv
	s.srv = nil
	s.mu.Unlock()
	if srv != nil {
		srv.Close()
	}
}

// Resume starts the stopped server again on its address.
func (s *Server) Resume(t testing.TB) {
	t.Helper()
	if err := s.listen(s.Addr); err != nil {
		t.Fatalf("mailtest: listen again on %s: %v", s.Addr, err)
	}
}

// Hold makes every message's end wait, unanswered, until Release.
func (s *Server) Hold() {
	s.mu.Lock()
	if s.gate == nil {
		s.gate = make(chan struct{})
	}
	s.mu.Unlock()
}

// Release lets the held messages go on (and takes them) and holds no more.
func (s *Server) Release() {
	s.mu.Lock()
	if s.gate != nil {
		close(s.gate)
		s.gate = nil
	}
	s.mu.Unlock()
}

// Held counts the messages waiting for Release.
func (s *Server) Held() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.held
}

// Login makes the server take messages only after AUTH PLAIN as user with
// password, as a relay that relays only for its users: it answers a wrong
// login 535 and a message without one 530, as such relays do (RFC 4954).
func (s *Server) Login(user, password string) {
	s.mu.Lock()
	s.login = [2]string{user, password}
	s.mu.Unlock()
}

// URL is the server's smtp:// URL.
func (s *Server) URL() string { return "smtp://" + s.Addr }

// Refuse makes the server answer every message's end with err (nil: take
// them again).
func (s *Server) Refuse(err *smtp.SMTPError) {
	s.mu.Lock()
	s.refuse = err
	s.mu.Unlock()
}

// RefuseSender makes the server answer MAIL FROM with err, as a relay
// does a sender it may not send for (nil: take it again).
func (s *Server) RefuseSender(err *smtp.SMTPError) {
	s.mu.Lock()
	s.sender = err
	s.mu.Unlock()
}

// RefuseRcpt makes the server answer RCPT TO:<addr> with err, as a relay
// does to a mailbox that does not exist (nil: take it again); the
// message goes on to its other addresses.
func (s *Server) RefuseRcpt(addr string, err *smtp.SMTPError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.rcpt == nil {
		s.rcpt = map[string]*smtp.SMTPError{}
	}
	if err == nil {
		delete(s.rcpt, addr)
		return
	}
	s.rcpt[addr] = err
}

// Messages returns what the server took, oldest first.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.got...)
}

// Tries counts the messages sent to it, taken or refused.
func (s *Server) Tries() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tries
}

type backend struct{ s *Server }

func (b backend) NewSession(*smtp.Conn) (smtp.Session, error) { return &session{s: b.s}, nil }

type session struct {
	s      *Server
	msg    Message
	authed bool
}

func (x *session) AuthMechanisms() []string { return []string{sasl.Plain} }

func (x *session) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, password string) error {
		x.s.mu.Lock()
		defer x.s.mu.Unlock()
		if x.s.login[0] == "" || user != x.s.login[0] || password != x.s.login[1] {
			return smtp.ErrAuthFailed // 535
		}
		x.authed = true
		return nil
	}), nil
}

func (x *session) Mail(from string, _ *smtp.MailOptions) error {
	x.s.mu.Lock()
	asks, refuse := x.s.login[0] != "", x.s.sender
	x.s.mu.Unlock()
	if asks && !x.authed {
		return &smtp.SMTPError{Code: 530, EnhancedCode: smtp.EnhancedCode{5, 7, 0}, Message: "Authentication required"}
	}
	if refuse != nil {
		return refuse
	}
	x.msg = Message{From: from}
	return nil
}

func (x *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	x.s.mu.Lock()
	refuse := x.s.rcpt[to]
	x.s.mu.Unlock()
	if refuse != nil {
		return refuse
	}
	x.msg.To = append(x.msg.To, to)
	return nil
}

func (x *session) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	x.s.mu.Lock()
	if gate := x.s.gate; gate != nil {
		x.s.held++
		x.s.mu.Unlock()
		<-gate
		x.s.mu.Lock()
		x.s.held--
	}
	defer x.s.mu.Unlock()
	x.s.tries++
	if x.s.refuse != nil {
		return x.s.refuse
	}
	if len(x.msg.To) == 0 {
		return errors.New("no recipients")
	}
	x.msg.Data = b
	x.s.got = append(x.s.got, x.msg)
	return nil
}

func (x *session) Reset()        { x.msg = Message{} }
func (x *session) Logout() error { return nil }
