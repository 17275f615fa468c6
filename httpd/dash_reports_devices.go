package httpd

import (
	"strings"

	"github.com/valyala/fasthttp"

	"appliance/httpd/i18n"
	"appliance/httpd/period"
	"appliance/httpd/visits"
	"appliance/store"
)

// deviceTables are the devices report's tables: by device type, browser
// and operating system, each with its share of the sessions.
func (s *dashboardHandlers) deviceTables(ctx *fasthttp.RequestCtx, tr i18n.Printer, site *store.Site, p period.Period) ([]reportTable, error) {
	rep, err := s.visits.Devices(ctx, site.ID, p.Start(), p.End())
	if err != nil {
		return nil, err
	}
	table := func(by, caption, head, none string, rows []visits.DeviceRow) reportTable {
		t := reportTable{ID: "devices-" + by, Caption: caption,
			Columns: []reportColumn{{head, by, false}, {tr.T("Sessions"), "sessions", true}, {tr.T("Share"), "share", true}, {tr.T("Visitors"), "visitors", true}},
			Empty:   tr.T("No visits in this period.")}
		var total int64
		for _, r := range rows {
			total += r.Sessions
		}
		for _, r := range rows {
			name := textCell(r.Name, none)
			if by == "type" && r.Name != "" {
				name.Text = deviceTypeLabel(tr, r.Name)
			}
			t.Rows = append(t.Rows, []reportCell{name, countCell(r.Sessions), percentCell(r.Sessions, total), countCell(r.Visitors)})
		}
		return t
	}
	return []reportTable{
		table("type", tr.T("Device types"), tr.T("Device"), tr.T("(unknown)"), rep.Types),
		table("browser", tr.T("Browsers"), tr.T("Browser"), tr.T("(unknown)"), rep.Browsers),
		table("os", tr.T("Operating systems"), tr.T("Operating system"), tr.T("(unknown)"), rep.OSes),
	}, nil
}

// deviceTypeLabel is a device type's name in tr's language.
func deviceTypeLabel(tr i18n.Printer, t string) string {
	switch visits.DeviceType(t) {
	case visits.DeviceDesktop:
		return tr.T("desktop")
	case visits.DeviceMobile:
		return tr.T("mobile")
	case visits.DeviceTablet:
		return tr.T("tablet")
	case visits.DeviceTV:
		return tr.T("TV")
	}
	return t
}

// devicesReport is GET /sites/KEY/reports/devices, and with csv set
// devices.csv?by=type|browser|os (one of its tables).
func (s *dashboardHandlers) devicesReport(csv bool) func(*fasthttp.RequestCtx, signedIn) error {
	return func(ctx *fasthttp.RequestCtx, who signedIn) error {
		site, p, err := s.reportSite(ctx)
		if err != nil {
			return err
		}
		tr := s.pages.printer(ctx, &who.user)
		tables, err := s.deviceTables(ctx, tr, site, p)
		if err != nil {
			return err
		}
		if csv {
			by := string(ctx.QueryArgs().Peek("by"))
			for _, t := range tables {
				if t.ID == "devices-"+by {
					return tableCSV(ctx, tr, site, "devices-"+by, p, t)
				}
			}
			return errorf(fasthttp.StatusBadRequest, "Say which table to export: by=type, by=browser or by=os.")
		}
		f := newReportFrame(tr, site, "devices", p, nil)
		for i := range tables {
			tables[i].CSV = f.csvLink("devices.csv", []keepParam{{Name: "by", Value: strings.TrimPrefix(tables[i].ID, "devices-"), Set: true}})
			tables[i] = cutRows(tables[i])
		}
		return s.renderReport(ctx, who, tr, reportData{reportFrame: f, Tables: tables,
			Note: tr.T("Read from each visit's browser user agent; bots left out.")})
	}
}
