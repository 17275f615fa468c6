package httpd

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/valyala/fasthttp"

	"appliance/httpd/reports"
)

// Ad costs on the reports screen: the owner uploads a CSV file (date,
// source, medium, campaign, cost) and the sources report gains cost, cost
// per lead and call, and ROI. reports.ImportCosts parses and stores it,
// all or nothing; a file with bad lines is refused with each line's fault.

// costsData is the costs tab: the upload form and the last import.
type costsData struct {
	CanUpload bool
	Imported  *reports.ImportResult
	From, To  string // the import's first and last day, as the reader's language writes a date
	Total     string // what it adds up to, as the reports write money
	Problem   string // why the file was refused, one fault a line
	MaxKB     int    // the largest file, in KB as the refusal of a larger one says it
}

// maxCostUpload is the largest cost file the dashboard takes: the
// server's request limit less room for the form; larger files go through
// `appliance costs import`.
const maxCostUpload = maxBodySize - 16<<10

func (s *dashboardHandlers) costsFrame(ctx *fasthttp.RequestCtx, who signedIn, d costsData, status int) error {
	site, p, err := s.reportSite(ctx)
	if err != nil {
		return err
	}
	d.CanUpload = changeSites.allows(who.user.Role)
	d.MaxKB = maxCostUpload >> 10
	tr := s.pages.printer(ctx, &who.user)
	data := reportData{reportFrame: newReportFrame(tr, site, "costs", p, nil), Costs: &d}
	if err := s.renderReport(ctx, who, tr, data); err != nil {
		return err
	}
	ctx.SetStatusCode(status)
	return nil
}

// costsPage is GET /sites/KEY/reports/costs.
func (s *dashboardHandlers) costsPage(ctx *fasthttp.RequestCtx, who signedIn) error {
	return s.costsFrame(ctx, who, costsData{}, fasthttp.StatusOK)
}

// costsUpload is POST /sites/KEY/reports/costs: a multipart form with the
// cost file in "file".
func (s *dashboardHandlers) costsUpload(ctx *fasthttp.RequestCtx, who signedIn) error {
	site, _, err := s.siteFromPath(ctx)
	if err != nil {
		return err
	}
	body, err := costFile(ctx)
	if err == nil {
		var res reports.ImportResult
		res, err = s.reports.ImportCosts(ctx, site, bytes.NewReader(body))
		if err == nil {
			tr := s.pages.printer(ctx, &who.user)
			return s.costsFrame(ctx, who, costsData{Imported: &res, From: tr.Date(res.From.Start(time.UTC)), To: tr.Date(res.To.Start(time.UTC)),
				Total: moneyText(tr, int64(res.Total))}, fasthttp.StatusOK)
		}
	}
	if ue := asUserError(err); ue != nil && ue.Status() < 500 {
		return s.costsFrame(ctx, who, costsData{Problem: errText(s.pages.printer(ctx, &who.user), err)}, ue.Status())
	}
	return err
}

// costFile reads the uploaded file of the form.
func costFile(ctx *fasthttp.RequestCtx) ([]byte, error) {
	form, err := ctx.MultipartForm()
	if err != nil {
		return nil, errorf(fasthttp.StatusBadRequest, "Choose a CSV file to upload.")
	}
	files := form.File["file"]
	if len(files) == 0 || files[0].Size == 0 {
		return nil, errorf(fasthttp.StatusBadRequest, "Choose a CSV file to upload: the form had no file, or an empty one.")
	}
	if files[0].Size > maxCostUpload {
		return nil, errorf(fasthttp.StatusRequestEntityTooLarge, "The file is larger than %d KB; import it with `appliance costs import --site KEY FILE`.", maxCostUpload>>10)
	}
	f, err := files[0].Open()
	if err != nil {
		return nil, fmt.Errorf("open uploaded cost file: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxCostUpload+1))
	if err != nil {
		return nil, fmt.Errorf("read uploaded cost file: %w", err)
	}
	if len(b) > maxCostUpload {
		return nil, errors.New("cost file grew while read")
	}
	return b, nil
}
