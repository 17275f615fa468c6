package httpd_test

import (
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"appliance/httpd/httpdtest"
	"appliance/httpd/leads"
	"appliance/internal/cputime"
	"appliance/store"
)

// BenchmarkSiteSearch is a site with 100,000 leads, 100,000 calls,
// 20,000 callbacks (names, Russian messages, phones, emails, sources and
// landing pages as a busy small business has them), 10,000 chats of 10
// messages each and 20,000 visitors who gave a name, phone or email
// through addVisitorInfo (among 120,000 visitor records), and its search
// through the real HTTP server, signed in as the owner: by a phone written
// as a person says it, by an email, by a word of a name or message, by a
// lead's number, by a word said in 1% of the chats, by a surname given
// only through addVisitorInfo, and a search that finds nothing (the whole
// scan, no rows). The baseline, in the same run, is the leads page of the
// same site (its newest 500 rows), which owners already open daily.
// cpu-ms/op is the process's CPU per request, client included.
//
// The store is built once, by writing the records straight into it
// (not through the endpoints), and kept in
// $TMPDIR/appliance-bench-search-v2 for the next run; delete it to build it
// again. Its visitors are written as a version before the contact index
// wrote them: a server that has the index builds it as it first starts
// on the store (so that binaries from before and after it run on one
// store).
//
//	go test -run '^$' -bench BenchmarkSiteSearch -benchtime 20x ./httpd/
func BenchmarkSiteSearch(b *testing.B) {
	dir := filepath.Join(os.TempDir(), "appliance-bench-search-v2")
	if _, err := os.Stat(filepath.Join(dir, "ready")); err != nil {
		os.RemoveAll(dir)
		start := time.Now()
		buildSearchSite(b, dir)
		b.Logf("built the site in %s", time.Since(start).Round(time.Second))
		os.WriteFile(filepath.Join(dir, "ready"), []byte("v2\n"), 0o600)
	}
	srv := httpdtest.StartAt(b, dir, unlimited)
	site := srv.HTTP.Sites().List()[0]
	c := srv.Client(b)
	get := func(b *testing.B, path string) {
		resp, err := c.Get(srv.URL + path)
		if err != nil {
			b.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			b.Fatalf("%s: %d %s", path, resp.StatusCode, body)
		}
	}
	var lead store.Lead
	srv.DB.ScanPrefix(b.Context(), store.LeadPrefix(site.ID), true, 1, func(k, v []byte) bool {
		id, _ := store.IDFromKey(k)
		lead, _ = store.DecodeLead(id, v)
		return false
	})
	base := "sites/" + site.Key + "/"
	for _, bc := range []struct{ name, path string }{
		{"baseline-leads-page", base + "leads"},
		{"phone", base + "search?q=" + url.QueryEscape("8 (916) 555-12-34")},
		{"email", base + "search?q=" + url.QueryEscape("IVAN.SMIRNOV77@MAIL.RU")},
		{"word", base + "search?q=" + url.QueryEscape("смирнов")},
		{"lead-id", base + "search?q=" + strconv.FormatUint(lead.ID, 10)},
		{"chat-word", base + "search?q=" + url.QueryEscape("САМОВЫВОЗ")},
		{"visitor-name", base + "search?q=" + url.QueryEscape("кострова")},
		{"nothing", base + "search?q=" + url.QueryEscape("zzqx")},
	} {
		b.Run(bc.name, func(b *testing.B) {
			get(b, bc.path) // warm
			lat := make([]time.Duration, 0, b.N)
			b.ResetTimer()
			cpu := cputime.Process()
			for range b.N {
				t0 := time.Now()
				get(b, bc.path)
				lat = append(lat, time.Since(t0))
			}
			b.StopTimer()
			b.ReportMetric(float64(cputime.Process()-cpu)/float64(b.N)/1e6, "cpu-ms/op")
			reportPercentiles(b, lat)
		})
	}
}

// buildSearchSite writes the benchmark's site into a new store in dir.
func buildSearchSite(b *testing.B, dir string) {
	srv := httpdtest.StartAt(b, dir, unlimited)
	defer srv.Stop()
	key := srv.Site(b, "Shop", "shop.example")
	site, err := srv.HTTP.Sites().ByKey(key)
	if err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	first := []string{"Иван", "Анна", "Сергей", "Мария", "Алексей", "Ольга", "Дмитрий", "Елена", "John", "Kate"}
	last := []string{"Смирнов", "Иванова", "Кузнецов", "Попова", "Васильев", "Петрова", "Соколов", "Михайлова", "Smith", "Brown"}
	msgs := []string{"Перезвоните, пожалуйста, после обеда", "Сколько стоит доставка в Тверь?", "Нужен счёт на оплату для юрлица",
		"Хочу записаться на пятницу", "Есть ли в наличии размер 42?", "", "Please call me back tomorrow"}
	phone := func() (string, string) {
		n := 9_000_000_000 + rng.Int64N(999_999_999)
		d := "7" + strconv.FormatInt(n, 10)
		return d, fmt.Sprintf("8 (%s) %s-%s-%s", d[1:4], d[4:7], d[7:9], d[9:])
	}
	src := func() store.Source {
		return store.Source{Channel: "ad", UTMSource: "yandex", UTMMedium: "cpc", UTMCampaign: "winter-sale-" + strconv.Itoa(rng.IntN(20)),
			Landing: "https://shop.example/catalog/item-" + strconv.Itoa(rng.IntN(5000)) + "?utm_source=yandex&utm_medium=cpc"}
	}
	const leadsN, callsN, callbacksN, batch = 100_000, 100_000, 20_000, 5_000
	start := time.Now().Add(-365 * 24 * time.Hour).UnixMilli()
	step := int64(365*24*time.Hour/time.Millisecond) / leadsN
	for i := 0; i < leadsN; i += batch {
		if err := srv.DB.Update(b.Context(), func(tx *store.Tx) error {
			for j := i; j < i+batch; j++ {
				d, raw := phone()
				f, l := first[rng.IntN(len(first))], last[rng.IntN(len(last))]
				email := fmt.Sprintf("user%d@example.ru", j)
				if j%1000 == 7 {
					d, raw, email = "79165551234", "+7 916 555-12-34", "ivan.smirnov77@mail.ru"
				}
				ld := store.Lead{ID: srv.DB.NextID(), Time: start + int64(j)*step, Via: "js", Name: f + " " + l, Email: email, EmailRaw: email,
					Phone: d, PhoneRaw: raw, Message: msgs[rng.IntN(len(msgs))], FormName: "Заявка",
					Attribution: store.Attribution{Visitor: srv.DB.NextID(), Session: srv.DB.NextID(), PageURL: "https://shop.example/contacts", Source: src()}}
				leads.Put(tx, site.ID, &ld)
			}
			return nil
		}); err != nil {
			b.Fatal(err)
		}
	}
	for i := 0; i < callsN; i += batch {
		if err := srv.DB.Update(b.Context(), func(tx *store.Tx) error {
			for j := i; j < i+batch; j++ {
				d, _ := phone()
				if j%1000 == 3 {
					d = "79165551234"
				}
				t := start + int64(j)*step
				c := store.Call{ID: srv.DB.NextID(), Time: t, Received: t + 1000, Called: "74951112233", Caller: d, Duration: uint32(rng.IntN(600)),
					Answered: rng.IntN(5) > 0, Kind: "dynamic", Attributed: true, Visitor: srv.DB.NextID(), Session: srv.DB.NextID(), Source: src(), Match: store.MatchLease}
				tx.Set(store.CallKey(site.ID, c.ID), c.Encode())
				tx.Set(store.CallStartKey(site.ID, c.Time, c.ID), nil)
			}
			return nil
		}); err != nil {
			b.Fatal(err)
		}
	}
	for i := 0; i < callbacksN; i += batch {
		if err := srv.DB.Update(b.Context(), func(tx *store.Tx) error {
			for j := i; j < i+batch; j++ {
				d, raw := phone()
				cb := store.Callback{ID: srv.DB.NextID(), Time: start + int64(j)*step*5, Phone: d, PhoneRaw: raw,
					Attribution: store.Attribution{Visitor: srv.DB.NextID(), PageURL: "https://shop.example/", Source: src()}}
				tx.Set(store.CallbackKey(site.ID, cb.ID), cb.Encode())
			}
			return nil
		}); err != nil {
			b.Fatal(err)
		}
	}
	// Visitors, a sixth of whom gave contacts through addVisitorInfo.
	const visitorsN, chatsN, perChat = 120_000, 10_000, 10
	for i := 0; i < visitorsN; i += batch {
		if err := srv.DB.Update(b.Context(), func(tx *store.Tx) error {
			for j := i; j < i+batch; j++ {
				t := start + int64(j)*step*leadsN/visitorsN
				v := store.Visitor{ID: srv.DB.NextID(), Site: site.ID, Created: t, LastSeen: t}
				if j%6 == 0 {
					v.Name = first[rng.IntN(len(first))] + " " + last[rng.IntN(len(last))]
					if j%6000 == 0 {
						v.Name = "Евгения Кострова"
					}
					if rng.IntN(2) == 0 {
						d, _ := phone()
						v.Phones = []string{d}
					}
					if rng.IntN(3) == 0 {
						v.Emails = []string{fmt.Sprintf("visitor%d@example.ru", j)}
					}
				}
				tx.Set(store.VisitorKey(v.ID), v.Encode())
			}
			return nil
		}); err != nil {
			b.Fatal(err)
		}
	}
	// Chats: the visitor asks, an operator answers, by turns.
	asks := []string{"Здравствуйте! Подскажите, есть ли в наличии размер 42?", "Сколько стоит доставка в Тверь?",
		"Можно оплатить картой при получении?", "Когда привезут заказ номер %d?", "Хочу вернуть товар, что для этого нужно?",
		"Добрый день, а скидка для постоянных покупателей есть?", "Мой телефон 8 916 %03d-12-34, перезвоните"}
	answers := []string{"Добрый день! Сейчас проверю.", "Да, есть, могу отложить до вечера.", "Доставка по области 350 рублей, 2-3 дня.",
		"Да, картой или наличными курьеру.", "Заказ %d передан в доставку, курьер позвонит заранее.", "Спасибо за обращение!"}
	say := func(lines []string) string {
		l := lines[rng.IntN(len(lines))]
		if strings.Contains(l, "%") {
			return fmt.Sprintf(l, rng.IntN(1000))
		}
		return l
	}
	for i := 0; i < chatsN; i += batch / perChat {
		if err := srv.DB.Update(b.Context(), func(tx *store.Tx) error {
			for j := i; j < i+batch/perChat; j++ {
				t := start + int64(j)*step*leadsN/chatsN
				c := store.Chat{ID: srv.DB.NextID(), Site: site.ID, Created: t, Closed: t + 600_000, ClosedBy: "visitor",
					Assigned: "olga@shop.example", Answered: t + 30_000, Last: perChat, LastAt: t + 590_000,
					Attribution: store.Attribution{Visitor: srv.DB.NextID(), Session: srv.DB.NextID(), PageURL: "https://shop.example/cart", Source: src()}}
				tx.Set(store.ChatKey(site.ID, c.ID), c.Encode())
				store.IndexVisitorItem(tx, c.Visitor, store.ItemChat, c.ID)
				for m := uint64(1); m <= perChat; m++ {
					msg := store.ChatMessage{ID: m, From: "visitor", Text: say(asks), At: t + int64(m)*60_000}
					if m%2 == 0 {
						msg.From, msg.Name, msg.Text = "operator", "olga", say(answers)
					}
					if j%100 == 42 && m == 3 {
						msg.Text = "А самовывоз у вас есть?"
					}
					tx.Set(store.ChatMessageKey(site.ID, c.ID, m), msg.Encode())
				}
			}
			return nil
		}); err != nil {
			b.Fatal(err)
		}
	}
	// As a store from before the contact index: a server with it builds
	// it as it starts.
	if err := srv.DB.Delete(b.Context(), store.MetaKey("contact-index")); err != nil {
		b.Fatal(err)
	}
	if err := srv.DB.Compact(b.Context()); err != nil {
		b.Fatal(err)
	}
}
