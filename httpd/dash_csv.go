package httpd

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"regexp"
	"strings"

	"github.com/valyala/fasthttp"

	"appliance/httpd/i18n"
	"appliance/httpd/notice"
)

// csvSheet writes the rows of a download as the reader's spreadsheet opens
// it: Excel reads a CSV it is given with the separators of the system's
// region, so for a Russian reader the cells are separated by ";" and
// figures written with a decimal comma (on a Russian Windows a comma file
// opens as one column, and 12.5 becomes the 12th of May); for anyone else
// by "," with a decimal point.
type csvSheet struct {
	w     *csv.Writer
	comma bool // figures with a decimal comma
}

// row writes one row, every cell through csvCell.
func (c *csvSheet) row(cells []string) {
	for i, s := range cells {
		cells[i] = csvCell(s)
	}
	c.w.Write(cells)
}

// num is the figure s ("1500.50", "-3") as the reader's spreadsheet reads
// a number.
func (c *csvSheet) num(s string) string {
	if c.comma {
		return strings.Replace(s, ".", ",", 1)
	}
	return s
}

// csvExport answers a download named filename for a spreadsheet in the
// reader's language, tr's (csvSheet): UTF-8 with a byte-order mark (Excel
// needs it to read UTF-8), the header (csvColumn), then the rows fill
// writes; never cached.
func csvExport(ctx *fasthttp.RequestCtx, tr i18n.Printer, filename string, header []string, fill func(*csvSheet) error) error {
	var buf bytes.Buffer
	buf.WriteString("\ufeff")
	sheet := &csvSheet{w: csv.NewWriter(&buf)}
	if tr.Lang == i18n.Ru {
		sheet.w.Comma, sheet.comma = ';', true
	}
	names := make([]string, len(header))
	for i, key := range header {
		names[i] = csvColumn(tr, key)
	}
	sheet.w.Write(names)
	if err := fill(sheet); err != nil {
		return err
	}
	sheet.w.Flush()
	if err := sheet.w.Error(); err != nil {
		return err
	}
	ctx.SetContentType("text/csv; charset=utf-8")
	ctx.Response.Header.Set("Content-Disposition", fmt.Sprintf(`attachment; filename="%s"`, filename))
	ctx.Response.Header.Set("Cache-Control", "no-store")
	ctx.Response.Header.Set("X-Content-Type-Options", "nosniff")
	ctx.SetBody(buf.Bytes())
	return nil
}

// csvColumn is the header of the column key ("created_at") in tr's
// language: the catalog's "column KEY" ("Создано"), else key, which is
// what an English file has.
func csvColumn(tr i18n.Printer, key string) string {
	if name := tr.T("column " + key); name != "column "+key {
		return name
	}
	return key
}

// csvCell is a cell as a spreadsheet should show it. Bidi controls a
// visitor typed are shown as U+FFFD, as the dashboard's pages show them
// (showBidiControls): a spreadsheet obeys them, and would show a phone's
// digits reordered or a name pulling the next cells' text before it. A
// run of digits a
// spreadsheet would turn into a number and mangle (a phone number shown as
// 7,91E+10, or a number typed as 0079... losing its zeros) is
// written as the text formula ="…", the one form Excel and LibreOffice
// both keep as text (and show without the apostrophe csvSafe would put
// before +7 ...); any other cell goes through csvSafe.
func csvCell(c string) string {
	c = notice.ShowBidi(c)
	if keepDigits(c) {
		return `="` + c + `"`
	}
	return csvSafe(c)
}

// keepDigits reports whether c is digits that a spreadsheet would not
// keep as written: ten or more of them, a leading zero, or a phone number
// written with a leading + (and spaces, dashes, brackets), which it would
// run as a formula.
func keepDigits(c string) bool {
	if d, ok := strings.CutPrefix(c, "+"); ok {
		return strings.ContainsAny(d, "0123456789") && strings.Trim(d, "0123456789 ()-") == ""
	}
	if c == "" || strings.Trim(c, "0123456789") != "" {
		return false
	}
	return len(c) >= 10 || (len(c) > 1 && c[0] == '0')
}

// plainNumber matches a figure as csvSheet writes one.
var plainNumber = regexp.MustCompile(`^-?[0-9]+([.,][0-9]+)?$`)

// csvSafe defuses a cell a spreadsheet would run as a formula (CSV
// injection): one that starts with = + - @, a tab or a carriage return
// gets a leading apostrophe, which spreadsheets show as text. A plain
// number ("-12.5" or "-12,5", a report's negative ROI) is no formula and
// stays a number.
func csvSafe(c string) string {
	if plainNumber.MatchString(c) {
		return c
	}
	if c != "" && strings.ContainsRune("=+-@\t\r", rune(c[0])) {
		return "'" + c
	}
	return c
}
