package httpd_test

import (
	"encoding/csv"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"appliance/httpd/accounts"
)

// csvRows reads a CSV export (after its byte-order mark) as rows.
func csvRows(t *testing.T, body string) [][]string {
	t.Helper()
	rows, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(body, "\ufeff"))).ReadAll()
	if err != nil || len(rows) == 0 {
		t.Fatalf("csv %v:\n%s", err, body)
	}
	return rows
}

// cell is the cell of row under column name of the header.
func cell(t *testing.T, header, row []string, name string) string {
	t.Helper()
	for i, h := range header {
		if h == name && i < len(row) {
			return row[i]
		}
	}
	t.Fatalf("no column %q in %v", name, header)
	return ""
}

// Staff mark a lead spam with a note from the leads page: the page and the
// CSV show it, the status filter selects it, the note is escaped, a form
// without the CSRF token or with a control character changes nothing.
func TestMarkLeadSpam(t *testing.T) {
	f := newCBFixture(t)
	c := f.srv.Client(t)
	status, out, _ := postJSON(t, f.srv.URL+"t/v1/lead", leadBody(f.key, f.v, map[string]any{"name": "Иван", "message": "buy pills"}))
	if status != http.StatusOK || out["success"] != true {
		t.Fatalf("lead: %d %v", status, out)
	}
	l := siteLeads(t, f.srv, f.key)[0]
	id := strconv.FormatUint(l.ID, 10)
	page := f.srv.URL + "sites/" + f.key + "/leads"
	mark := page + "/mark"
	note := `bot <script>alert(1)</script>`

	form := url.Values{"id": {id}, "status": {"spam"}, "note": {note}}
	if status, _, _ := postForm(t, c, mark, form); status != http.StatusForbidden {
		t.Errorf("mark without the CSRF token: %d, want 403", status)
	}
	if _, body := getPage(t, c, page+"?status=spam"); strings.Contains(body, `id="lead-`+id+`"`) {
		t.Fatalf("a form without the CSRF token marked the lead")
	}
	form.Set("csrf", f.srv.FormToken(t, c, "sites/"+f.key+"/leads"))
	bad := url.Values{"csrf": form["csrf"], "id": {id}, "status": {"spam"}, "note": {"a\x00b"}}
	if status, _, _ := postForm(t, c, mark, bad); status != http.StatusBadRequest {
		t.Errorf("note with a control character: %d, want 400", status)
	}
	long := url.Values{"csrf": form["csrf"], "id": {id}, "status": {"spam"}, "note": {strings.Repeat("x", 501)}}
	if status, _, _ := postForm(t, c, mark, long); status != http.StatusBadRequest {
		t.Errorf("note over 500 bytes: %d, want 400", status)
	}
	unknown := url.Values{"csrf": form["csrf"], "id": {id}, "status": {"maybe"}}
	if status, _, _ := postForm(t, c, mark, unknown); status != http.StatusBadRequest {
		t.Errorf("unknown status: %d, want 400", status)
	}
	missing := url.Values{"csrf": form["csrf"], "id": {strconv.FormatUint(l.ID+1000, 10)}, "status": {"spam"}}
	if status, _, _ := postForm(t, c, mark, missing); status != http.StatusNotFound {
		t.Errorf("mark of no lead: %d, want 404", status)
	}
	if _, body := getPage(t, c, page+"?status=new"); !strings.Contains(body, `id="lead-`+id+`"`) {
		t.Fatalf("refused marks changed the lead's status:\n%s", body)
	}

	form.Set("back", "status=new")
	status, _, h := postForm(t, c, mark, form)
	if status != http.StatusSeeOther || !strings.HasSuffix(h.Get("Location"), "/sites/"+f.key+"/leads?status=new#lead-"+id) {
		t.Fatalf("mark: %d %v", status, h)
	}
	resp, err := c.Get(page)
	if err != nil {
		t.Fatal(err)
	}
	raw := make([]byte, 1<<20)
	n, _ := resp.Body.Read(raw)
	resp.Body.Close()
	if strings.Contains(string(raw[:n]), "<script>alert(1)") {
		t.Errorf("the note is not escaped")
	}
	_, body := getPage(t, c, page)
	if !strings.Contains(body, `<span class="tag mark-status">spam</span>`) || !strings.Contains(body, note) {
		t.Errorf("the page does not show the mark:\n%s", body)
	}
	if _, body := getPage(t, c, page+"?status=new"); strings.Contains(body, `id="lead-`+id+`"`) {
		t.Errorf("a spam lead is listed as new")
	}
	if _, body := getPage(t, c, page+"?status=spam"); !strings.Contains(body, `id="lead-`+id+`"`) {
		t.Errorf("the spam filter misses the lead")
	}
	_, body = getPage(t, c, page+".csv")
	rows := csvRows(t, body)
	if len(rows) != 2 || cell(t, rows[0], rows[1], "status") != "spam" || cell(t, rows[0], rows[1], "note") != note {
		t.Errorf("csv: %v", rows)
	}
	if _, body := getPage(t, c, page+".csv?status=done"); len(csvRows(t, body)) != 1 {
		t.Errorf("the done export has the spam lead")
	}
}

// An operator marks a callback done from the callbacks page, but may not
// mark a lead; the callbacks CSV shows the mark.
func TestOperatorMarksCallbacksNotLeads(t *testing.T) {
	f := newCBFixture(t)
	f.srv.Owner(t)
	if status, out := f.order(t, f.v, map[string]any{"phone": "+7 916 123-45-67"}); status != http.StatusOK {
		t.Fatalf("callback: %d %v", status, out)
	}
	postJSON(t, f.srv.URL+"t/v1/lead", leadBody(f.key, f.v, map[string]any{"name": "Иван"}))
	cbs, ls := f.callbacks(t), siteLeads(t, f.srv, f.key)
	if len(cbs) != 1 || len(ls) != 1 {
		t.Fatalf("%d callbacks, %d leads", len(cbs), len(ls))
	}
	ops := signInAs(t, f.srv, accounts.RoleOperator)
	page := f.srv.URL + "sites/" + f.key + "/callbacks"
	csrf := f.srv.FormToken(t, ops, "sites/"+f.key+"/callbacks")
	cbID := strconv.FormatUint(cbs[0].ID, 10)
	status, _, _ := postForm(t, ops, page+"/mark", url.Values{"csrf": {csrf}, "id": {cbID}, "status": {"done"}, "note": {"called, booked for Friday"}})
	if status != http.StatusSeeOther {
		t.Fatalf("operator marks a callback: %d", status)
	}
	if _, body := getPage(t, ops, page+"?status=done"); !strings.Contains(body, `id="callback-`+cbID+`"`) || !strings.Contains(body, "called, booked for Friday") {
		t.Errorf("the callbacks page does not show the mark:\n%s", body)
	}
	_, body := getPage(t, ops, page+".csv")
	rows := csvRows(t, body)
	if len(rows) != 2 || cell(t, rows[0], rows[1], "status") != "done" || cell(t, rows[0], rows[1], "note") != "called, booked for Friday" {
		t.Errorf("callbacks csv: %v", rows)
	}
	lID := strconv.FormatUint(ls[0].ID, 10)
	leadsMark := f.srv.URL + "sites/" + f.key + "/leads/mark"
	if status, _, _ := postForm(t, ops, leadsMark, url.Values{"csrf": {csrf}, "id": {lID}, "status": {"spam"}}); status != http.StatusForbidden {
		t.Errorf("operator marks a lead: %d, want 403", status)
	}
	marks, err := f.srv.HTTP.Leads().Marks(t.Context(), f.site.ID)
	if err != nil || len(marks) != 0 {
		t.Errorf("lead marks after the operator's try: %v %v", marks, err)
	}
}
