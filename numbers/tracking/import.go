package tracking

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding/charmap"

	"appliance/internal/usererr"
	"appliance/numbers"
	"appliance/store"
)

// Limits of an import file.
const (
	MaxImportBytes = 1 << 20
	MaxImportLines = 10_000
)

// ImportLine is one number of an import file: the value as written and the
// number it parses to, or why it does not.
type ImportLine struct {
	Line   int    // 1-based line of the file
	Value  string // as written
	Number string // E.164 digits; "" when Err is set
	Err    error
	form   store.NumberForm // how Number reads, so ImportNumbers need not parse it again
}

// headerNames are the column names that say "the numbers are here".
var headerNames = []string{"number", "numbers", "phone", "phones", "phone number", "tel", "msisdn", "номер", "телефон"}

// ParseImport reads a list of numbers: one a line, or a CSV file (comma,
// semicolon or tab separated, as spreadsheets save it) whose number column
// is named by its header (number, phone, номер, телефон, ...) or is the
// only column or the first one holding a phone number in the first record,
// or in the second when the first holds none (a header of other names:
// "Номер телефона;Тариф"). Empty
// lines and lines starting with "#" are skipped. It returns every number
// line, each parsed or with its error; the error is for a file it cannot
// read at all (too large, UTF-16, no number column). A file that is not
// UTF-8 is read as Windows-1251, as Excel saves CSV in a Russian locale. progress, when not
// nil, is told how many bytes of the file are read, of how many, as it goes
// (parsing 10,000 numbers takes a while).
func ParseImport(r io.Reader, region string, progress func(done, total int64)) ([]ImportLine, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxImportBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read import: %w", err)
	}
	if len(data) > MaxImportBytes {
		return nil, ErrInvalid.Errorf("read import: larger than %d bytes", MaxImportBytes)
	}
	data = bytes.TrimPrefix(data, []byte("\ufeff")) // Excel's byte order mark
	if !utf8.Valid(data) {
		// Excel in a Russian locale saves CSV in Windows-1251 ("Номер;..."):
		// its numbers are ASCII, its header is not. A byte-order mark or a
		// NUL is UTF-16's, which is no such text.
		if bytes.HasPrefix(data, []byte{0xff, 0xfe}) || bytes.HasPrefix(data, []byte{0xfe, 0xff}) || bytes.IndexByte(data, 0) >= 0 {
			return nil, ErrInvalid.Errorf("read import: not UTF-8 (save the file as UTF-8 CSV)")
		}
		if data, err = charmap.Windows1251.NewDecoder().Bytes(data); err != nil {
			return nil, ErrInvalid.Errorf("read import: not UTF-8 (save the file as UTF-8 CSV)")
		}
	}
	cr := csv.NewReader(bytes.NewReader(data))
	cr.Comma = separator(data)
	cr.Comment = '#'
	cr.FieldsPerRecord = -1
	cr.LazyQuotes = true
	cr.TrimLeadingSpace = true
	col := -1
	header := 0 // the line of a first record that holds no number: a header naming its columns otherwise
	var out []ImportLine
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		line, _ := cr.FieldPos(0)
		if err != nil {
			return nil, ErrInvalid.Errorf("read import: %v", usererr.CSV(err))
		}
		if blank(rec) {
			continue
		}
		if col < 0 {
			var named bool
			if col, named = numberColumn(rec, region); col < 0 {
				if header == 0 && len(rec) > 1 {
					// "Номер телефона;Тариф", as operators export them:
					// the first line with numbers tells.
					header = line
					continue
				}
				if header != 0 {
					line = header
				}
				return nil, ErrInvalid.Errorf("read import: line %d: cannot tell which column holds the numbers; name it \"number\"", line)
			}
			if named {
				continue
			}
		}
		if len(out) == MaxImportLines {
			return nil, ErrInvalid.Errorf("read import: more than %d numbers", MaxImportLines)
		}
		il := ImportLine{Line: line}
		if col < len(rec) {
			il.Value = strings.TrimSpace(rec[col])
		}
		if il.Value == "" {
			il.Err = ErrInvalid.Errorf("no number in column %d", col+1)
		} else {
			var p numbers.Phone
			if p, il.Err = parsePhone(il.Value, region); il.Err == nil {
				il.Number, il.form = p.Digits, formOf(p)
			}
		}
		out = append(out, il)
		if progress != nil && len(out)%200 == 0 {
			progress(cr.InputOffset(), int64(len(data)))
		}
	}
	if progress != nil {
		progress(int64(len(data)), int64(len(data)))
	}
	return out, nil
}

// separator guesses the field separator from the first line: semicolon
// (what spreadsheets in Russian locales write), tab, else comma.
func separator(data []byte) rune {
	first, _, _ := bytes.Cut(data, []byte("\n"))
	switch {
	case bytes.ContainsRune(first, ';'):
		return ';'
	case bytes.ContainsRune(first, '\t'):
		return '\t'
	}
	return ','
}

func blank(rec []string) bool {
	for _, f := range rec {
		if strings.TrimSpace(f) != "" {
			return false
		}
	}
	return true
}

// numberColumn finds the number column from the first record: a header
// naming it, the only column, or the first field that is a phone number.
func numberColumn(rec []string, region string) (col int, header bool) {
	for i, f := range rec {
		name := strings.ToLower(strings.TrimSpace(f))
		for _, h := range headerNames {
			if name == h {
				return i, true
			}
		}
	}
	if len(rec) == 1 {
		return 0, false
	}
	for i, f := range rec {
		if _, err := digitsOf(f, region); err == nil {
			return i, false
		}
	}
	return -1, false
}
