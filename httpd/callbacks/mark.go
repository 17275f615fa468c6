package callbacks

import (
	"context"
	"fmt"

	"appliance/httpd/leads"
	"appliance/store"
)

// Mark sets the status (one of leads.Statuses) and note
// of callback id of site, as user by: the to-do list of callbacks staff
// call back. The callback must exist (else an error wrapping
// store.ErrNotFound); its own state (sent, failed...) is unchanged.
func (s *Service) Mark(ctx context.Context, site uint32, id uint64, status, note, by string) (store.Mark, error) {
	return s.mark(ctx, site, id, status, &note, by)
}

// MarkStatus is Mark that keeps the callback's note as it is (an API
// client that sets only a status).
func (s *Service) MarkStatus(ctx context.Context, site uint32, id uint64, status, by string) (store.Mark, error) {
	return s.mark(ctx, site, id, status, nil, by)
}

func (s *Service) mark(ctx context.Context, site uint32, id uint64, status string, note *string, by string) (store.Mark, error) {
	m, err := leads.NewMark(status, note, by, s.o.Now())
	if err != nil {
		return store.Mark{}, err
	}
	err = s.db.Update(ctx, func(tx *store.Tx) error {
		if _, err := tx.Get(store.CallbackKey(site, id)); err != nil {
			return fmt.Errorf("callback %d: %w", id, err)
		}
		return leads.WriteMark(ctx, tx, site, store.MarkCallback, id, &m, note == nil, s.o.Spam)
	})
	if err != nil {
		return store.Mark{}, fmt.Errorf("mark callback %d: %w", id, err)
	}
	return m, nil
}

// Marks returns the marks of site's callbacks by callback id; a callback
// not in it is leads.StatusNew with no note.
func (s *Service) Marks(ctx context.Context, site uint32) (map[uint64]store.Mark, error) {
	return leads.ReadMarks(ctx, s.db, site, store.MarkCallback)
}

// CountNew is how many of site's callbacks are leads.StatusNew.
func (s *Service) CountNew(ctx context.Context, site uint32) (int, error) {
	return leads.CountNew(ctx, s.db, store.CallbackPrefix(site), site, store.MarkCallback)
}
