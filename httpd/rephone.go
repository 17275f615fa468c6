package httpd

import (
	"context"
	"log/slog"
	"time"

	"appliance/httpd/sites"
	"appliance/numbers"
	"appliance/store"
)

// rereadPhones gives the leads, callbacks and visitors stored before
// numbers.ParsePhone read 00 and 8 10 before a country code (and an
// extension after such a number) the number it reads now, once per store
// (store.DB.RereadPhones; numbers.Reread decides, in the site's phone
// region): "00 44 20 7946 0958" typed on a RU site was stored as the
// invalid +7 00442079460958 or left unparsed, and so shown, searched,
// exported and matched against callers. A site no longer registered is
// left as it is.
func rereadPhones(ctx context.Context, db *store.DB, reg *sites.Registry, def string, now time.Time, log *slog.Logger) error {
	start := time.Now()
	st, err := db.RereadPhones(ctx, now.UnixMilli(), func(site uint32, digits, typed string) (string, bool) {
		s, err := reg.ByID(site)
		if err != nil {
			return "", false
		}
		p, ok := numbers.Reread(digits, typed, s.Region(def))
		return p.Digits, ok
	})
	if err != nil {
		return err
	}
	if st.Read > 0 {
		log.Info("phone numbers reread", "records", st.Read, "leads", st.Leads, "callbacks", st.Callbacks,
			"visitors", st.Visitors, "took", time.Since(start).Round(time.Millisecond))
	}
	return nil
}
