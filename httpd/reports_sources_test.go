package httpd_test

import (
	"bytes"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// sourcesFixture is reportsFixture plus a sale: visitor A (from a Google
// ad) leaves a lead that is a sale of 1500.
func sourcesFixture(t *testing.T) (*trFixture, *http.Client) {
	t.Helper()
	f, c := reportsFixture(t)
	a := f.hit(t, "", "https://shop.example.com/promo?utm_source=google&utm_medium=cpc&utm_campaign=bf", "", "Promo")
	f.clock.Add(time.Minute)
	if r := f.post(t, "t/v1/lead", f.creds(a, map[string]any{"hi": a.HitID, "name": "Ann", "phone": "+79161234567", "is_sale": true, "sale_cost": "1500"})); r.Status != 200 {
		t.Fatalf("lead: %d %s", r.Status, r.Raw)
	}
	return f, c
}

func TestReportSources(t *testing.T) {
	f, c := sourcesFixture(t)
	base := f.srv.URL + "sites/" + f.site.Key + "/reports"
	status, body, _ := reportGet(t, c, base+"?period=today")
	if status != 200 {
		t.Fatalf("status %d: %.500s", status, body)
	}
	for _, want := range []string{`id="kpi-sessions"`, `id="chart-traffic-svg"`, `role="img"`, `<title id="chart-traffic-t">Traffic</title>`,
		`id="sources-table"`, `>ad</a>`, `>referral</a>`} {
		if !strings.Contains(body, want) {
			t.Errorf("the sources report lacks %s", want)
		}
	}
	// The ad row drills down to its sources, then to the mediums of
	// google, each a link that carries the filters.
	link := `/sites/` + f.site.Key + `/reports?channel=ad&amp;group=source&amp;period=today`
	if !strings.Contains(body, `<a href="`+link+`">ad</a>`) {
		t.Fatalf("no drill-down link %s", link)
	}
	_, body, _ = reportGet(t, c, base+"?channel=ad&group=source&period=today")
	if !strings.Contains(body, `<a href="/sites/`+f.site.Key+`/reports?channel=ad&amp;group=medium&amp;period=today&amp;source=google">google</a>`) {
		t.Errorf("the ad channel's sources lack google's drill-down link")
	}
	if !strings.Contains(body, `id="drill-trail"`) || !strings.Contains(body, `Channel: ad`) {
		t.Errorf("no drill-down trail")
	}
	// Its CSV: the same rows, the totals last, figures as numbers.
	_, csvBody, _ := reportGet(t, c, base+"/sources.csv?channel=ad&group=source&period=today")
	want := "key,sessions,visitors,new_visitors,events,leads,callbacks,calls,attributed_calls,answered_calls,first_time_callers,chats,sales,revenue,conversion\n" +
		"google,2,2,2,2,1,0,0,0,0,0,0,1,1500.00,50.0\n" +
		"total,2,2,2,2,1,0,0,0,0,0,0,1,1500.00,50.0\n"
	if got := strings.ReplaceAll(strings.TrimPrefix(csvBody, "\ufeff"), "\r\n", "\n"); got != want {
		t.Errorf("sources CSV:\n%s\nwant:\n%s", got, want)
	}
	// Landing pages and referrer domains are other groupings.
	_, body, _ = reportGet(t, c, base+"?group=referrer&period=today")
	if !strings.Contains(body, ">news.example.org<") || !strings.Contains(body, "(no referrer)") {
		t.Errorf("the referrer grouping lacks news.example.org or the direct row")
	}
	_, body, _ = reportGet(t, c, base+"?group=landing_page&period=today&model=first")
	if !strings.Contains(body, "/promo") || !strings.Contains(body, `<option value="first" selected>`) {
		t.Errorf("the landing page grouping lacks /promo or the model")
	}
	for q, want := range map[string]string{
		"?group=country": "Unknown grouping", "?model=linear": "Unknown attribution model", "?period=never": "unknown period",
	} {
		if status, body, _ := reportGet(t, c, base+q); status != 400 || !strings.Contains(body, want) {
			t.Errorf("%s: %d, want 400 saying %s", q, status, want)
		}
	}
}

// The owner uploads ad costs: the cost columns appear, with cost per lead
// and ROI; a file with a bad line is refused whole, saying which line.
func TestReportCostsUpload(t *testing.T) {
	f, c := sourcesFixture(t)
	csrf := f.srv.FormToken(t, c, "/sites/"+f.site.Key+"/reports/costs")
	status, body := uploadCosts(t, f, c, csrf, "date,source,medium,campaign,cost\n2026-11-26,google,cpc,bf,abc\n2026-11-26,google,cpc\n")
	if status != 400 || !strings.Contains(body, "line 2: cost") || !strings.Contains(body, "line 3: 3 fields") {
		t.Fatalf("bad file: %d %.2000s", status, body)
	}
	if status, body := uploadCosts(t, f, c, "wrong", "2026-11-26,google,cpc,bf,1000\n"); status != 403 {
		t.Fatalf("upload without the form's token: %d %.300s", status, body)
	}
	status, body = uploadCosts(t, f, c, csrf, "\ufeff2026-11-26;google;cpc;bf;1 000,50\n")
	if status != 200 || !strings.Contains(body, `id="costs-imported"`) || !strings.Contains(body, "1\u00a0000.50 in total") ||
		!strings.Contains(body, "Imported 1 line (1 day and campaign row) from") {
		t.Fatalf("good file: %d %.3000s", status, cutAt(body, `id="costs-imported"`, "</p>"))
	}
	// In Russian, the import's days and total are written as Russian writes
	// dates and money.
	if resp, err := c.PostForm(f.srv.URL+"lang", url.Values{"csrf": {csrf}, "lang": {"ru"}, "back": {"/account"}}); err != nil {
		t.Fatal(err)
	} else {
		resp.Body.Close()
	}
	// The form says how large a file it takes as the refusal of a larger
	// one does, in KB: it said "до 1032192 байт".
	if page := okPage(t, c, f.srv.URL+"sites/"+f.site.Key+"/reports/costs"); !strings.Contains(page, "Файл расходов (CSV, до 1008 КБ)") {
		t.Errorf("the upload's label: %s", cutAt(page, "Файл расходов", "<input"))
	}
	csrf = f.srv.FormToken(t, c, "/sites/"+f.site.Key+"/reports/costs")
	status, body = uploadCosts(t, f, c, csrf, "2026-11-26;google;cpc;bf;1 000,50\n")
	if status != 200 || !strings.Contains(body, "с 26.11.2026 по 26.11.2026") || !strings.Contains(body, "1\u00a0000,50") ||
		!strings.Contains(body, "Загружено: 1 строка (1 строка дня и кампании) с") {
		t.Fatalf("good file, in Russian: %d %.3000s", status, cutAt(body, `id="costs-imported"`, "</p>"))
	}
	// A bad file's lines say what is wrong with them in Russian too.
	status, body = uploadCosts(t, f, c, csrf, "date,source,medium,campaign,cost\n2026-11-26,google,cpc,bf,abc\n2026-11-26,google,cpc\n")
	if status != 400 || !strings.Contains(body, "Ничего не загружено; исправьте эти строки:\nстрока 2: расход &#34;abc&#34; — не сумма вида 1500 или 1500.50\nстрока 3: полей: 3, а нужно 5") {
		t.Fatalf("bad file, in Russian: %d %s", status, cutAt(body, `role="alert"`, "</p>"))
	}
	// What the CSV reader finds wrong is said in words too, at its line,
	// not in the reader's English ("bare \" in non-quoted-field").
	for file, want := range map[string]string{
		"2026-11-26,google,cpc,bf,1000\n2026-11-26,google,cpc,5\" screen,1000\n":                          "строка 2: кавычка (&#34;) внутри поля, которое не начинается с кавычки: заключите всё поле в кавычки, а каждую кавычку внутри него удвойте",
		"2026-11-26,google,cpc,bf,1000\n2026-11-26,google,cpc,\"bf,1000\n2026-11-27,google,cpc,bf,1000\n": "строка 2: поле в кавычках не закрыто или после закрывающей кавычки идёт ещё текст",
	} {
		status, body = uploadCosts(t, f, c, csrf, file)
		if problem := cutAt(body, `id="costs-problem">`, "</p>"); status != 400 || !strings.Contains(problem, "Ничего не загружено; исправьте эти строки:\n"+want) || latinWordRE.MatchString(strings.TrimPrefix(problem, `id="costs-problem">`)) {
			t.Errorf("a file the CSV reader refuses, in Russian: %d %s", status, problem)
		}
	}
	_, csvBody, _ := reportGet(t, c, f.srv.URL+"sites/"+f.site.Key+"/reports/sources.csv?period=today&group=source&channel=ad")
	// The CSV is for a Russian Excel: ";" between cells, decimal commas,
	// the page's column titles.
	rows := readCSVSep(t, csvBody, ';')
	if got := strings.Join(rows[0][len(rows[0])-4:], "|"); got != "Расход|Цена заявки|Цена звонка|ROI" {
		t.Fatalf("cost columns %s", got)
	}
	if got := strings.Join(rows[1][len(rows[1])-4:], "|"); got != "1000,50|1000,50||49,9" {
		t.Errorf("google's cost cells %s, want 1000,50|1000,50||49,9", got)
	}
}

// uploadCosts posts a cost file through the dashboard's form.
func uploadCosts(t *testing.T, f *trFixture, c *http.Client, csrf, file string) (int, string) {
	t.Helper()
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	w.WriteField("csrf", csrf)
	fw, _ := w.CreateFormFile("file", "costs.csv")
	fw.Write([]byte(file))
	w.Close()
	resp, err := c.Post(f.srv.URL+"sites/"+f.site.Key+"/reports/costs", w.FormDataContentType(), &buf)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	b.ReadFrom(resp.Body)
	return resp.StatusCode, b.String()
}
