package visits

import (
	"strconv"
	"strings"
	"time"
)

// SessionIdle is how long a session lasts without a hit.
const SessionIdle = 30 * time.Minute

// Continues reports whether a hit at now that brings campaign next
// continues a session whose last hit was at last and whose campaign is
// prev: the session has not been idle for SessionIdle, and the hit brings
// no campaign or the same one. A hit earlier than last (clocks of
// concurrent requests) continues it.
func Continues(last time.Time, prev Campaign, now time.Time, next Campaign) bool {
	if now.Sub(last) >= SessionIdle {
		return false
	}
	return next.IsZero() || next == prev
}

// maxID bounds visitor, session and hit ids: exact in JavaScript.
const maxID = 1<<53 - 1

// CI is the compound id the snippet keeps in its cookie:
// "visitor_id.session_id.first_visit_unix".
type CI struct {
	Visitor uint64
	Session uint64
	First   int64 // Unix seconds of the visitor's first visit
}

// String is the cookie form of c.
func (c CI) String() string {
	var buf [MaxCILen]byte
	return string(c.Append(buf[:0]))
}

// MaxCILen is the length of the longest cookie form of a CI.
const MaxCILen = 3 * 20

// Append appends the cookie form of c to b.
func (c CI) Append(b []byte) []byte {
	b = strconv.AppendUint(b, c.Visitor, 10)
	b = append(b, '.')
	b = strconv.AppendUint(b, c.Session, 10)
	b = append(b, '.')
	return strconv.AppendInt(b, c.First, 10)
}

// ParseCI parses a compound id: three decimal numbers joined by dots,
// visitor and session ids in [1, 2^53), the first visit in [0, 2^53).
func ParseCI(s string) (CI, error) {
	if len(s) > 60 {
		return CI{}, invalid("ci is too long")
	}
	var parts [3]string
	rest, ok := s, true
	for i := range parts {
		if !ok {
			return CI{}, invalid("ci must be visitor_id.session_id.first_visit_unix")
		}
		parts[i], rest, ok = strings.Cut(rest, ".")
	}
	if ok {
		return CI{}, invalid("ci must be visitor_id.session_id.first_visit_unix")
	}
	var n [3]uint64
	for i, p := range parts {
		v, err := parseID(p)
		if err != nil || (v == 0 && i < 2) {
			return CI{}, invalid("ci must be visitor_id.session_id.first_visit_unix with ids from 1 to 2^53-1")
		}
		n[i] = v
	}
	return CI{Visitor: n[0], Session: n[1], First: int64(n[2])}, nil
}

// ParseID parses a decimal id below 2^53 (a hit id of a request); only
// digits are allowed.
func ParseID(s string) (uint64, error) {
	v, err := parseID(s)
	if err != nil || v == 0 {
		return 0, invalid("an id must be a number from 1 to 2^53-1")
	}
	return v, nil
}

func parseID(s string) (uint64, error) {
	if s == "" || len(s) > 16 {
		return 0, ErrInvalid
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, ErrInvalid
		}
	}
	v, err := strconv.ParseUint(s, 10, 64)
	if err != nil || v > maxID {
		return 0, ErrInvalid
	}
	return v, nil
}
