package export

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unsafe"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// ackTimeout is how long a batch waits for JetStream's acknowledgements
// before the connection is given up.
const ackTimeout = 10 * time.Second

// publisher publishes a batch on one connection and takes JetStream's
// acknowledgements on one subscription. It has two ways:
//
// Fast batch (nats-server 2.14+, on a stream that allows it: the one the
// exporter makes does): the batch's messages are one JetStream fast batch,
// their sequence in it and the batch's id in their reply subjects, ended
// by a commit that JetStream acknowledges once, when every message before
// it is stored, with how many there were; in gap-fail mode a lost or
// refused message ends the batch there, and the acknowledgement says how
// far it got. One acknowledgement a batch (and a flow message every few
// hundred) instead of one a message: the acknowledgements were most of
// what the exporter and the NATS server did per event beside the publish.
//
// One at a time, the fallback: each message with its own reply subject, the
// acknowledgements taken as they come (what jetstream.PublishMsgAsync does,
// without its future, timer, map entry and JSON decoding per message).
// Used on a stream that does not allow fast batches, and for the rest of a
// batch whose fast batch ended early (its first message a duplicate, which
// ends a fast batch at once: the replay after a crash).
type publisher struct {
	nc     *nats.Conn
	closed <-chan nats.Status
	inbox  string // reply subjects are inbox + the message's number, or the fast batch's reply
	acks   chan ack
	fast   bool // the stream takes fast batches
	mode   bool // this batch is one
	withID nats.Header

	base    uint64     // the number of the batch's first entry
	state   []pubState // per batch entry
	waiting int        // published, not yet answered
	msg     nats.Msg
	reply   []byte
	id      []string // msg's Nats-Msg-Id header value

	// The fast batch under way: its id, the entries its messages are
	// (sent[k-1] is the entry of batch sequence k), and the subject of
	// the last, where its end is sent.
	batchID []byte
	batches uint64
	sent    []int
	last    string
	stored  uint64 // its messages stored, as flow messages said
	refusal error  // the first of its messages refused
}
type pubState uint8

const (
	unpublished pubState = iota
	published
	skipped
	acked
	refused
)

// ack is an answer: to message n (one at a time), or to a message of
// fast batch n (batch): a flow message (flow) saying its messages up to
// count are stored; the acknowledgement that ends it (end), count of its
// messages stored; or a refusal of one of its messages (err), which ends
// it when that message is its end.
type ack struct {
	n     uint64
	batch bool
	flow  bool
	end   bool
	count uint64
	err   error
}

// fastSuffix ends the reply subject of a fast batch's message:
// INBOX.ID.FLOW.GAP.SEQ.OP.$FI (nats-server stream.go, getFastBatch).
const fastSuffix = ".$FI"

// Operations of a fast batch's message.
const (
	fastStart  = "0" // the first message
	fastAppend = "1"
	fastEnd    = "3" // commit the messages before it; this one is not stored
)

// fastFlow is the most messages JetStream may store before it sends a
// flow message; we take them only to know the batch is alive.
const fastFlow = "500"

// inboxPrefix starts nats.NewInbox's subjects; a unique token follows.
const inboxPrefix = "_INBOX."

func newPublisher(nc *nats.Conn, closed <-chan nats.Status, batch int, fast bool) (*publisher, error) {
	inbox := nats.NewInbox()
	if !strings.HasPrefix(inbox, inboxPrefix) || strings.Contains(inbox[len(inboxPrefix):], ".") {
		return nil, fmt.Errorf("export: inbox %q is not %s and one token", inbox, inboxPrefix)
	}
	p := &publisher{nc: nc, closed: closed, inbox: inbox + ".", acks: make(chan ack, 2*batch+16),
		id: make([]string, 1), fast: fast}
	p.withID = nats.Header{jetstream.MsgIDHeader: p.id}
	_, err := nc.Subscribe(p.inbox+">", func(m *nats.Msg) {
		tail := m.Subject[len(p.inbox):]
		if unique := len(p.inbox) - len(inboxPrefix) - 1; strings.HasSuffix(tail, fastSuffix) && len(tail) > unique {
			if a, ok := fastAck(tail[unique:], m.Data); ok {
				p.acks <- a
			}
			return
		}
		n, err := strconv.ParseUint(tail, 10, 64)
		if err != nil {
			return // not ours
		}
		p.acks <- ack{n: n, err: ackError(m)}
	})
	if err != nil {
		return nil, fmt.Errorf("subscribe to acknowledgements: %w", err)
	}
	return p, nil
}

// fastAck reads an answer to a fast batch's message, whose reply subject
// after the inbox and the batch id's unique token is tail
// (N.FLOW.GAP.SEQ.OP.$FI). Gap and error notices are not taken (not ok):
// the acknowledgement that ends the batch sums them up.
func fastAck(tail string, data []byte) (ack, bool) {
	f := strings.Split(strings.TrimSuffix(tail, fastSuffix), ".")
	if len(f) != 5 {
		return ack{}, false
	}
	n, err := strconv.ParseUint(f[0], 10, 64)
	if err != nil {
		return ack{}, false // not ours
	}
	a := ack{n: n, batch: true}
	if bytes.HasPrefix(data, []byte(`{"type":`)) {
		var flow struct {
			Type string `json:"type"`
			Seq  uint64 `json:"seq"`
		}
		if json.Unmarshal(data, &flow) != nil || flow.Type != "ack" {
			return ack{}, false
		}
		a.flow, a.count = true, flow.Seq
		return a, true
	}
	var r struct {
		Stream string              `json:"stream"`
		Count  uint64              `json:"count"`
		Error  *jetstream.APIError `json:"error"`
	}
	switch err := json.Unmarshal(data, &r); {
	case err != nil:
		a.err = fmt.Errorf("%w: %q", jetstream.ErrInvalidJSAck, data)
	case r.Error != nil:
		a.err = r.Error
	case r.Stream == "":
		a.err = fmt.Errorf("%w: %q", jetstream.ErrInvalidJSAck, data)
	default:
		a.end, a.count = true, r.Count
	}
	a.end = a.end || f[4] == fastEnd
	return a, true
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

// start begins a batch of n entries, a fast batch when fast (and the
// stream takes them).
func (p *publisher) start(n int, fast bool) {
	p.mode = fast && p.fast
	p.base += uint64(len(p.state))
	p.state = resize(p.state, n)
	clear(p.state)
	p.waiting = 0
	p.sent, p.stored, p.refusal = p.sent[:0], 0, nil
	p.batches++
	// A fast batch's id is the stream's, not the connection's: the
	// inbox's unique token and the batch's number.
	p.batchID = strconv.AppendUint(append(p.batchID[:0], p.inbox[len(inboxPrefix):len(p.inbox)-1]...), p.batches, 10)
}

// skip marks entry i as having nothing to publish.
func (p *publisher) skip(i int) { p.state[i] = skipped }

// publish sends entry i's message; the connection copies it before
// returning.
func (p *publisher) publish(i int, subject, msgID string, body []byte) error {
	if p.mode {
		op := fastAppend
		if len(p.sent) == 0 {
			op = fastStart
		}
		p.sent = append(p.sent, i)
		p.last = subject
		p.fastReply(uint64(len(p.sent)), op)
	} else {
		p.reply = strconv.AppendUint(append(p.reply[:0], p.inbox...), p.base+uint64(i), 10)
	}
	p.id[0] = msgID
	if err := p.send(subject, body, true); err != nil {
		return err
	}
	p.state[i] = published
	if !p.mode {
		p.waiting++
	}
	return nil
}

// fastReply writes the reply subject of the fast batch's message seq.
func (p *publisher) fastReply(seq uint64, op string) {
	r := append(append(p.reply[:0], p.inbox...), p.batchID...)
	r = append(append(append(r, '.'), fastFlow...), ".fail."...)
	r = strconv.AppendUint(r, seq, 10)
	p.reply = append(append(append(r, '.'), op...), fastSuffix...)
}

// send publishes p.reply's message, with the Nats-Msg-Id p.id when id.
func (p *publisher) send(subject string, body []byte, id bool) error {
	// The reply is a view of p.reply: PublishMsg copies it.
	p.msg.Subject, p.msg.Reply, p.msg.Data = subject, unsafe.String(unsafe.SliceData(p.reply), len(p.reply)), body
	if id {
		p.msg.Header = p.withID
	} else {
		p.msg.Header = nil
	}
	return p.nc.PublishMsg(&p.msg)
}

// end ends the fast batch under way, if it has messages: JetStream
// acknowledges it once the messages before the end are stored.
func (p *publisher) end() error {
	if !p.mode || len(p.sent) == 0 {
		return nil
	}
	p.fastReply(uint64(len(p.sent))+1, fastEnd)
	if err := p.send(p.last, nil, false); err != nil {
		return err
	}
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
			if a.batch {
				if !p.mode || a.n != p.batches {
					continue // an earlier batch's
				}
				switch {
				case a.flow:
					p.stored = max(p.stored, a.count)
					continue
				case !a.end:
					// A message refused: the batch goes on (or ends, in
					// gap-fail mode, at the next message, with an
					// acknowledgement that says how far it got).
					if p.refusal == nil {
						p.refusal = a.err
					}
					continue
				}
				p.waiting--
				count := a.count
				if a.err != nil {
					// Its end refused: what the flow messages said was
					// stored is. The first refusal is the cause.
					count = p.stored
					if p.refusal == nil {
						p.refusal = a.err
					}
				}
				// In gap-fail mode the first count messages are stored,
				// in order; the rest were not.
				for k, i := range p.sent {
					if uint64(k) < count {
						p.state[i] = acked
					} else if p.state[i] == published {
						p.state[i] = refused
					}
				}
				if p.refusal != nil && count < uint64(len(p.sent)) {
					err = fmt.Errorf("publish: %w", p.refusal)
				}
				continue
			}
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
