package export

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"
	"unsafe"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// ackTimeout is how long a batch waits for JetStream's acknowledgements
// before the connection is given up.
const ackTimeout = 10 * time.Second

// publisher publishes a batch on one connection, each message with its own
// reply subject, and takes JetStream's acknowledgements on one
// subscription: what jetstream.PublishMsgAsync does, without its future,
// timer, map entry and JSON decoding per message, which cost the exporter
// more than building the message.
type publisher struct {
	nc     *nats.Conn
	closed <-chan nats.Status
	inbox  string // reply subjects are inbox + the message's number
	acks   chan ack

	base    uint64     // the number of the batch's first entry
	state   []pubState // per batch entry
	waiting int        // published, not yet answered
	msg     nats.Msg
	reply   []byte
	id      []string // msg's Nats-Msg-Id header value
}

type pubState uint8

const (
	unpublished pubState = iota
	published
	skipped
	acked
	refused
)

type ack struct {
	n   uint64
	err error
}

func newPublisher(nc *nats.Conn, closed <-chan nats.Status, batch int) (*publisher, error) {
	p := &publisher{nc: nc, closed: closed, inbox: nats.NewInbox() + ".", acks: make(chan ack, 2*batch),
		id: make([]string, 1)}
	p.msg.Header = nats.Header{jetstream.MsgIDHeader: p.id}
	_, err := nc.Subscribe(p.inbox+"*", func(m *nats.Msg) {
		n, err := strconv.ParseUint(m.Subject[len(p.inbox):], 10, 64)
		if err != nil {
			return // not ours
		}
		p.acks <- ack{n, ackError(m)}
	})
	if err != nil {
		return nil, fmt.Errorf("subscribe to acknowledgements: %w", err)
	}
	return p, nil
}

// ackError is the failure a JetStream acknowledgement reports, or nil.
func ackError(m *nats.Msg) error {
	if len(m.Data) == 0 && m.Header.Get("Status") == "503" {
		return jetstream.ErrNoStreamResponse
	}
	if bytes.Contains(m.Data, []byte(`"error"`)) {
		var r struct {
			Error *jetstream.APIError `json:"error"`
		}
		if err := json.Unmarshal(m.Data, &r); err == nil && r.Error != nil {
			return r.Error
		}
		return fmt.Errorf("%w: %q", jetstream.ErrInvalidJSAck, m.Data)
	}
	if !bytes.Contains(m.Data, []byte(`"stream":"`)) {
		return fmt.Errorf("%w: %q", jetstream.ErrInvalidJSAck, m.Data)
	}
	return nil
}

// start begins a batch of n entries.
func (p *publisher) start(n int) {
	p.base += uint64(len(p.state))
	p.state = resize(p.state, n)
	clear(p.state)
	p.waiting = 0
}

// skip marks entry i as having nothing to publish.
func (p *publisher) skip(i int) { p.state[i] = skipped }

// publish sends entry i's message; the connection copies it before
// returning.
func (p *publisher) publish(i int, subject, msgID string, body []byte) error {
	p.reply = strconv.AppendUint(append(p.reply[:0], p.inbox...), p.base+uint64(i), 10)
	// The reply is a view of p.reply: PublishMsg copies it.
	p.msg.Subject, p.msg.Reply, p.msg.Data = subject, unsafe.String(unsafe.SliceData(p.reply), len(p.reply)), body
	p.id[0] = msgID
	if err := p.nc.PublishMsg(&p.msg); err != nil {
		return err
	}
	p.state[i] = published
	p.waiting++
	return nil
}

// wait takes the batch's acknowledgements until every published message
// is answered, one is refused, the connection closes, ackTimeout passes
// or ctx ends. It returns the batch's longest run from the start of
// entries acknowledged or skipped, and how many of them were
// acknowledged.
func (p *publisher) wait(ctx context.Context) (ackedInRun, run int, err error) {
	t := time.NewTimer(ackTimeout)
	defer t.Stop()
	for p.waiting > 0 && err == nil {
		select {
		case a := <-p.acks:
			if a.n < p.base || a.n >= p.base+uint64(len(p.state)) || p.state[a.n-p.base] != published {
				continue // an answer to an earlier batch, or a repeat
			}
			p.waiting--
			if a.err != nil {
				p.state[a.n-p.base] = refused
				err = fmt.Errorf("publish: %w", a.err)
				continue
			}
			p.state[a.n-p.base] = acked
		case <-p.closed:
			err = errors.New("publish: connection closed")
		case <-t.C:
			err = fmt.Errorf("publish: %w", nats.ErrTimeout)
		case <-ctx.Done():
			err = ctx.Err()
		}
	}
	for _, s := range p.state {
		if s != acked && s != skipped {
			break
		}
		run++
		if s == acked {
			ackedInRun++
		}
	}
	return ackedInRun, run, err
}
