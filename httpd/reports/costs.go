package reports

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"appliance/httpd/leads"
	"appliance/internal/usererr"
	"appliance/store"
)

// Ad costs: what the owner spent per day on a source, medium and campaign,
// imported from a CSV file (date,source,medium,campaign,cost). The sources
// report puts them on the rows of the same source, medium or campaign (the
// ad channel for group channel), and in the total.

// Limits of a cost file.
const (
	MaxCostFile  = 10 << 20
	MaxCostLines = 100_000
	// maxCostErrors is how many bad lines an error lists.
	maxCostErrors = 20
)

// CostLine is one line of a cost file.
type CostLine struct {
	Line                     int // in the file, from 1
	Day                      Day
	Source, Medium, Campaign string
	Amount                   Money
}

// ParseCosts reads a cost file: CSV with the columns date (YYYY-MM-DD),
// source, medium, campaign, cost (a decimal in currency units: "1500",
// "1 500,50"), comma or semicolon separated (the one the first line
// uses), with an optional header line (its first field is "date"). Empty
// lines are skipped. Every bad line is reported with its number, and then
// no line is returned: a file is imported whole or not at all. Errors are
// of kind ErrInvalid.
func ParseCosts(r io.Reader) ([]CostLine, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxCostFile+1))
	if err != nil {
		return nil, fmt.Errorf("read cost file: %w", err)
	}
	if len(data) > MaxCostFile {
		return nil, ErrInvalid.Errorf("the cost file is larger than %d MiB", MaxCostFile>>20)
	}
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")) // a BOM spreadsheets write
	if !utf8.Valid(data) {
		return nil, ErrInvalid.Errorf("the cost file is not UTF-8 text")
	}
	first, _, _ := bytes.Cut(data, []byte("\n"))
	cr := csv.NewReader(bytes.NewReader(data))
	if bytes.Count(first, []byte(";")) > bytes.Count(first, []byte(",")) {
		cr.Comma = ';'
	}
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	var out []CostLine
	var bad []any // usererr.Phrases: a reader's language says each its own way
	for n := 0; ; n++ {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			bad = append(bad, usererr.CSV(err))
			break // the reader cannot go on past a broken quote
		}
		line, _ := cr.FieldPos(0)
		if len(out)+len(bad) >= MaxCostLines {
			return nil, ErrInvalid.Errorf("the cost file has more than %d lines", MaxCostLines)
		}
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
			continue
		}
		if n == 0 && len(rec) > 0 && strings.EqualFold(strings.TrimSpace(rec[0]), "date") {
			continue
		}
		cl, why := costLine(rec)
		if why != nil {
			bad = append(bad, usererr.P("line %d: %v", line, *why))
			continue
		}
		cl.Line = line
		out = append(out, cl)
	}
	if len(bad) > 0 {
		var more any = ""
		if len(bad) > maxCostErrors {
			more = usererr.P("\n%v", usererr.P("(and %d more)", len(bad)-maxCostErrors))
			bad = bad[:maxCostErrors]
		}
		return nil, ErrInvalid.Errorf("nothing imported; fix these lines:%s%s", usererr.P(strings.Repeat("\n%v", len(bad)), bad...), more)
	}
	if len(out) == 0 {
		return nil, ErrInvalid.Errorf("the cost file has no lines (want date,source,medium,campaign,cost)")
	}
	return out, nil
}

// costLine parses one line of a cost file; why is what is wrong with it.
func costLine(rec []string) (cl CostLine, why *usererr.Phrase) {
	bad := func(p usererr.Phrase) (CostLine, *usererr.Phrase) { return cl, &p }
	if len(rec) != 5 {
		return bad(usererr.P("%d fields, want 5: date,source,medium,campaign,cost", len(rec)))
	}
	for i := range rec {
		rec[i] = strings.TrimSpace(rec[i])
	}
	d, err := ParseDay(rec[0])
	if err != nil {
		return bad(usererr.P("date %q: want YYYY-MM-DD", rec[0])) // as ParseDay says it
	}
	if d < Date(2000, 1, 1) || d > Date(2200, 1, 1) {
		return bad(usererr.P("date %s is not between 2000 and 2200", rec[0]))
	}
	cl.Day = d
	for i, p := range []*string{&cl.Source, &cl.Medium, &cl.Campaign} {
		v := rec[i+1]
		if len(v) > MaxField {
			return bad(usererr.P("%s is longer than %d bytes", [...]string{"source", "medium", "campaign"}[i], MaxField))
		}
		if strings.IndexFunc(v, func(r rune) bool { return r < ' ' || r == 0x7f }) >= 0 {
			return bad(usererr.P("%s has control characters", [...]string{"source", "medium", "campaign"}[i]))
		}
		*p = v
	}
	if cl.Source == "" {
		return bad(usererr.P("source is empty"))
	}
	amount, err := leads.ParseCost(rec[4])
	if err != nil {
		return bad(usererr.P("cost %q is not an amount like 1500 or 1500.50", rec[4]))
	}
	cl.Amount = Money(amount)
	return cl, nil
}

// ImportResult says what an import stored.
type ImportResult struct {
	Lines    int   // lines of the file
	Rows     int   // day, source, medium and campaign rows stored
	From, To Day   // the days it covers
	Total    Money // their sum
}

// ImportCosts parses a cost file (ParseCosts) and stores its costs for
// site, in one write: each day, source, medium and campaign of the file
// replaces what an earlier import stored for it (lines naming the same
// ones add up), so importing a file twice stores it once.
func (s *Service) ImportCosts(ctx context.Context, site *store.Site, r io.Reader) (ImportResult, error) {
	lines, err := ParseCosts(r)
	if err != nil {
		return ImportResult{}, err
	}
	return s.StoreCosts(ctx, site, lines)
}

// StoreCosts stores parsed cost lines of site as ImportCosts does.
func (s *Service) StoreCosts(ctx context.Context, site *store.Site, lines []CostLine) (ImportResult, error) {
	res := ImportResult{Lines: len(lines)}
	sums := map[string]int64{}
	var keys []string
	for i, l := range lines {
		k := string(store.CostKey(site.ID, uint32(l.Day), costRow(l.Source, l.Medium, l.Campaign)))
		if _, ok := sums[k]; !ok {
			keys = append(keys, k)
		}
		sums[k] += int64(l.Amount)
		res.Total += l.Amount
		if i == 0 || l.Day < res.From {
			res.From = l.Day
		}
		if i == 0 || l.Day > res.To {
			res.To = l.Day
		}
	}
	now := s.o.Now().UnixMilli()
	err := s.db.Update(ctx, func(tx *store.Tx) error {
		for _, k := range keys {
			c := store.Cost{Amount: sums[k], Imported: now}
			tx.Set([]byte(k), c.Encode())
		}
		return nil
	})
	if err != nil {
		return ImportResult{}, fmt.Errorf("import costs: %w", err)
	}
	res.Rows = len(keys)
	return res, nil
}

func costRow(source, medium, campaign string) []byte {
	var b []byte
	for _, f := range [...]string{source, medium, campaign} {
		b = binary.AppendUvarint(b, uint64(len(f)))
		b = append(b, f...)
	}
	return b
}

// scanCosts calls fn with every cost of site on the days from..to.
func scanCosts(ctx context.Context, db *store.DB, site uint32, from, to Day, fn func(day Day, source, medium, campaign string, amount Money)) error {
	var derr error
	err := db.Scan(ctx, store.CostDayKey(site, uint32(from)), store.CostDayKey(site, uint32(to)+1), false, 0, func(k, v []byte) bool {
		day, row, ok := store.ParseCostKey(k)
		if !ok {
			return true
		}
		var f [3]string
		for i := range f {
			n, w := binary.Uvarint(row)
			if w <= 0 || uint64(len(row)-w) < n {
				derr = fmt.Errorf("cost key %x: %w", k, store.ErrCorrupt)
				return false
			}
			f[i] = string(row[w : w+int(n)])
			row = row[w+int(n):]
		}
		c, err := store.DecodeCost(v)
		if err != nil {
			derr = fmt.Errorf("cost: %w", err)
			return false
		}
		fn(Day(day), f[0], f[1], f[2], Money(c.Amount))
		return true
	})
	if err == nil {
		err = derr
	}
	return err
}
