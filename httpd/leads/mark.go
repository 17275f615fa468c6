package leads

import (
	"context"
	"errors"
	"fmt"
	"time"

	"appliance/store"
)

// Statuses of a lead (and a callback) as staff mark it; one never marked
// is StatusNew.
const (
	StatusNew      = "new"
	StatusProgress = "in_progress" // someone is on it
	StatusDone     = "done"
	StatusSpam     = "spam"
)

// Statuses are the statuses in the order the dashboard offers them.
var Statuses = [...]string{StatusNew, StatusProgress, StatusDone, StatusSpam}

// MaxNote is the longest note on a lead or callback, in bytes.
const MaxNote = 500

// ValidStatus reports whether s is a status a lead may be marked with.
func ValidStatus(s string) bool {
	return s == StatusNew || s == StatusProgress || s == StatusDone || s == StatusSpam
}

// CheckMark validates a status and note as staff set them: a known status,
// a note of at most MaxNote bytes of UTF-8 without control characters (new
// lines allowed). It returns the note trimmed. Errors wrap ErrInvalid.
func CheckMark(status, note string) (string, error) {
	if !ValidStatus(status) {
		return "", ErrInvalid.Errorf("status must be new, in_progress, done or spam")
	}
	return text("note", note, MaxNote, true)
}

// Mark sets the status and note of lead id of site, as user by; the lead
// must exist (else an error wrapping store.ErrNotFound).
func (s *Service) Mark(ctx context.Context, site uint32, id uint64, status, note, by string) (store.Mark, error) {
	return s.mark(ctx, site, id, status, &note, by)
}

// MarkStatus is Mark that keeps the lead's note as it is (an API client
// that sets only a status).
func (s *Service) MarkStatus(ctx context.Context, site uint32, id uint64, status, by string) (store.Mark, error) {
	return s.mark(ctx, site, id, status, nil, by)
}

func (s *Service) mark(ctx context.Context, site uint32, id uint64, status string, note *string, by string) (store.Mark, error) {
	m, err := NewMark(status, note, by, s.o.Now())
	if err != nil {
		return store.Mark{}, err
	}
	err = s.db.Update(ctx, func(tx *store.Tx) error {
		if _, err := tx.Get(store.LeadKey(site, id)); err != nil {
			return fmt.Errorf("lead %d: %w", id, err)
		}
		return WriteMark(ctx, tx, site, store.MarkLead, id, &m, note == nil, s.o.Spam)
	})
	if err != nil {
		return store.Mark{}, fmt.Errorf("mark lead %d: %w", id, err)
	}
	return m, nil
}

// NewMark is the mark of status and note (nil: the one the record has,
// which WriteMark with keepNote fills in) set by by at now, checked by
// CheckMark.
func NewMark(status string, note *string, by string, now time.Time) (store.Mark, error) {
	var n string
	if note != nil {
		n = *note
	}
	n, err := CheckMark(status, n)
	if err != nil {
		return store.Mark{}, err
	}
	return store.Mark{Status: status, Note: n, By: by, Time: now.UnixMilli()}, nil
}

// SpamFunc takes record id of kind of site out of the reports (spam true)
// or puts it back, in the write tx of its mark.
type SpamFunc func(ctx context.Context, tx *store.Tx, site uint32, kind store.MarkKind, id uint64, spam bool) error

// WriteMark stores m as the mark of record id of kind of site in tx and,
// when the mark makes the record spam or takes that away, calls spam (when
// not nil) in the same write: a spam lead is not counted in the reports.
// keepNote: m takes the note of the mark the record had (none: no note).
func WriteMark(ctx context.Context, tx *store.Tx, site uint32, kind store.MarkKind, id uint64, m *store.Mark, keepNote bool, spam SpamFunc) error {
	k := store.MarkKey(site, kind, id)
	was := false
	switch b, err := tx.Get(k); {
	case err == nil:
		old, err := store.DecodeMark(b)
		if err != nil {
			return fmt.Errorf("mark %d: %w", id, err)
		}
		was = old.Status == StatusSpam
		if keepNote {
			m.Note = old.Note
		}
	case !errors.Is(err, store.ErrNotFound):
		return fmt.Errorf("mark %d: %w", id, err)
	}
	tx.Set(k, m.Encode())
	if now := m.Status == StatusSpam; now != was && spam != nil {
		return spam(ctx, tx, site, kind, id, now)
	}
	return nil
}

// Marks returns the marks of site's leads by lead id; a lead not in it is
// StatusNew with no note.
func (s *Service) Marks(ctx context.Context, site uint32) (map[uint64]store.Mark, error) {
	return ReadMarks(ctx, s.db, site, store.MarkLead)
}

// ReadMarks reads every mark of kind of site by id.
func ReadMarks(ctx context.Context, db store.Reader, site uint32, kind store.MarkKind) (map[uint64]store.Mark, error) {
	out := map[uint64]store.Mark{}
	var derr error
	err := db.ScanPrefix(ctx, store.MarkPrefix(site, kind), false, 0, func(k, v []byte) bool {
		id, _ := store.IDFromKey(k)
		m, err := store.DecodeMark(v)
		if err != nil {
			derr = fmt.Errorf("mark %d: %w", id, err)
			return false
		}
		out[id] = m
		return true
	})
	if err == nil {
		err = derr
	}
	if err != nil {
		return nil, fmt.Errorf("read marks: %w", err)
	}
	return out, nil
}

// StatusOf is the status of a mark; the zero Mark is StatusNew.
func StatusOf(m store.Mark) string {
	if m.Status == "" {
		return StatusNew
	}
	return m.Status
}

// CountNew is how many of site's leads are StatusNew: every lead less those
// marked otherwise. It reads the keys of the site's leads and its marks,
// no lead is decoded.
func (s *Service) CountNew(ctx context.Context, site uint32) (int, error) {
	return CountNew(ctx, s.db, store.LeadPrefix(site), site, store.MarkLead)
}

// CountNew is how many records under prefix (a site's leads or callbacks)
// have no mark of kind, or a mark saying StatusNew.
func CountNew(ctx context.Context, db *store.DB, prefix []byte, site uint32, kind store.MarkKind) (int, error) {
	n := 0
	if err := db.ScanPrefix(ctx, prefix, false, 0, func(_, _ []byte) bool { n++; return true }); err != nil {
		return 0, fmt.Errorf("count new: %w", err)
	}
	var derr error
	err := db.ScanPrefix(ctx, store.MarkPrefix(site, kind), false, 0, func(_, v []byte) bool {
		m, err := store.DecodeMark(v)
		if err != nil {
			derr = err
			return false
		}
		if StatusOf(m) != StatusNew {
			n--
		}
		return true
	})
	if err == nil {
		err = derr
	}
	if err != nil {
		return 0, fmt.Errorf("count new: %w", err)
	}
	return max(n, 0), nil
}
