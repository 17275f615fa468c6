package visits

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/x-way/crawlerdetect"
)

// listIsBot is IsBot as CrawlerDetect alone answers it: what the fast
// path must agree with.
func listIsBot(ua string) bool {
	if strings.TrimSpace(ua) == "" {
		return true
	}
	return crawlerdetect.IsCrawler(strings.ReplaceAll(ua, "HeadlessChrome/", "Chrome/"))
}

// crawlerLists reads the crawler and exclusion patterns of the
// CrawlerDetect linked in, which it keeps unexported.
func crawlerLists() (crawlers, exclusions []string) {
	v := reflect.ValueOf(crawlerdetect.New()).Elem()
	read := func(name string) []string {
		f := v.FieldByName(name)
		if !f.IsValid() || f.Kind() != reflect.Slice || f.Type().Elem().Kind() != reflect.String {
			return nil
		}
		out := make([]string, f.Len())
		for i := range out {
			out[i] = f.Index(i).String()
		}
		return out
	}
	return read("crawlers"), read("exclusions")
}

// The lists botlist_data.go holds are those of the CrawlerDetect in
// go.mod.
func TestBotListData(t *testing.T) {
	crawlers, exclusions := crawlerLists()
	if len(crawlers) == 0 || !slices.Equal(crawlers, crawlerPatterns) || !slices.Equal(exclusions, exclusionPatterns) {
		t.Fatal("botlist_data.go is not CrawlerDetect's lists: run go generate ./httpd/visits")
	}
}

// exclusionsRegexp is CrawlerDetect's exclusions as it compiles them.
func exclusionsRegexp(t testing.TB) *regexp.Regexp {
	_, exclusions := crawlerLists()
	if len(exclusions) == 0 {
		t.Fatal("CrawlerDetect's exclusions are not readable")
	}
	return regexp.MustCompile("(?i)(" + strings.Join(exclusions, "|") + ")")
}

// crawlerAgents reads every step-th line of the test data file name
// (crawlers.txt: crawlers; devices.txt: people's browsers) that
// CrawlerDetect's module ships.
func crawlerAgents(t testing.TB, name string, step int) []string {
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/x-way/crawlerdetect").Output()
	if err != nil {
		t.Fatalf("find CrawlerDetect's module: %v", err)
	}
	f, err := os.Open(filepath.Join(strings.TrimSpace(string(out)), "testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	var uas []string
	for i := 0; sc.Scan(); i++ {
		if i%step == 0 {
			uas = append(uas, sc.Text())
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return uas
}

// The fast path is on for the linked CrawlerDetect, answers as it does
// for the agents of its own test data (its crawlers, a sample of its
// people's browsers), and decides most browsers' agents by itself.
func TestBotListAgrees(t *testing.T) {
	if theBotList() == nil {
		t.Fatal("the fast path is off: CrawlerDetect's lists are not what newBotList reads")
	}
	excl := exclusionsRegexp(t)
	step := 50
	if testing.Short() {
		step = 400
	}
	for _, file := range []struct {
		name string
		step int
		bot  bool
	}{{"crawlers.txt", 1, true}, {"devices.txt", step, false}} {
		uas := crawlerAgents(t, file.name, file.step)
		sure := 0
		for _, ua := range uas {
			// (HeadlessChrome alone is a person here: TestIsBot.)
			if got, want := IsBot(ua), listIsBot(ua); got != want || got != file.bot && !strings.Contains(ua, "HeadlessChrome/") {
				t.Errorf("IsBot(%q) = %v, CrawlerDetect says %v (%s)", ua, got, want, file.name)
			}
			s := strings.TrimSpace(ua)
			if !isASCII(s) {
				continue
			}
			if got, want := string(theBotList().exclude(nil, s, string(lowerASCII(nil, s)))), excl.ReplaceAllString(s, ""); got != want {
				t.Errorf("exclude(%q) = %q, want %q", s, got, want)
			}
			if theBotList().surelyPerson(s) {
				sure++
			}
		}
		t.Logf("%s: %d agents, %d decided without CrawlerDetect", file.name, len(uas), sure)
		if !file.bot && sure < len(uas)*9/10 {
			t.Errorf("only %d of %d browsers' agents decided without CrawlerDetect", sure, len(uas))
		}
	}
}

// FuzzBotList: for any agent, IsBot answers as CrawlerDetect, and the
// exclusions are deleted as its regular expression deletes them.
func FuzzBotList(f *testing.F) {
	for _, ua := range []string{
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
		"Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1",
		"Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
		"Mozilla/5.0 (Linux; Android 10; CUBOT X30) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Mobile Safari/537.36",
		"Opera/9.80 (J2ME/MIDP; Opera Mini/5.1.21214/28.2725; U; ru) Presto/2.8.119 Version/11.10",
		"Mozilla/5.0 (iPhone; CPU iPhone OS 11_1_2 like Mac OS X) AppleWebKit/604.3.5 (KHTML, like Gecko) Mobile/15B202 [FBAN/FBIOS;FBAV/151.0.0.61.202]",
		"like Gecko Gecko/2010 likeGecko Mozillabot Safari.b0t",
		"Java/1.8 Ruby/2 ZmEu 2ip.ru AHC ahc Zao",
		"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/131.0.0.0 Safari/537.36",
		"Chr\u212Ame Kelvin \u017Fafari",
		"   ", "",
	} {
		f.Add(ua)
	}
	excl := exclusionsRegexp(f)
	f.Fuzz(func(t *testing.T, ua string) {
		ua = cutUTF8(ua, MaxUserAgent) // as the tracker asks (the lists' regexps are slow on long input)
		if got, want := IsBot(ua), listIsBot(ua); got != want {
			t.Fatalf("IsBot(%q) = %v, CrawlerDetect says %v", ua, got, want)
		}
		s := strings.TrimSpace(ua)
		if !isASCII(s) {
			if theBotList().surelyPerson(s) {
				t.Fatalf("surelyPerson(%q) decided a non-ASCII agent", s)
			}
			return
		}
		if got, want := string(theBotList().exclude(nil, s, string(lowerASCII(nil, s)))), excl.ReplaceAllString(s, ""); got != want {
			t.Fatalf("exclude(%q) = %q, want %q", s, got, want)
		}
	})
}

// newBotList turns the fast path off for lists it cannot reason about.
func TestBotListRefuses(t *testing.T) {
	for _, tt := range []struct{ crawlers, exclusions []string }{
		{[]string{"bot"}, nil},
		{[]string{"bot"}, []string{"^Mozilla"}},   // anchored exclusion
		{[]string{"bot"}, []string{`\bSafari`}},   // word boundary
		{[]string{"bot"}, []string{"(Safari)?"}},  // matches nothing
		{[]string{"[0-9]+"}, []string{"Safari"}},  // a crawler that needs no word
		{[]string{"bot("}, []string{"Safari"}},    // does not parse
		{[]string{"a?b?"}, []string{"Mozilla.*"}}, // ditto, nullable
	} {
		if newBotList(tt.crawlers, tt.exclusions) != nil {
			t.Errorf("newBotList(%q, %q) is on", tt.crawlers, tt.exclusions)
		}
	}
	l := newBotList([]string{"^Java\\/", "Ruby|Python-urllib", "b[o0]t"}, []string{"Mozilla.[\\d\\.]*", " Chrome.[\\d\\.]*"})
	for ua, person := range map[string]bool{
		"Mozilla/5.0 Chrome/120.0 x": true,
		"java/1.8":                   false,
		"Mozilla/5.0 ruby":           false,
		"pyTHON-urllib/3":            false,
		"Mozilla/5.0 Chrome/1 xt":    true,
		"Mozilla/5.0 Chrome/1 bt":    false, // b[o0]t needs "b" or "t": the list decides
		"xBOTx":                      false,
		"xB0Tx":                      false, // the concat's words: "t" is needed
	} {
		if got := l.surelyPerson(ua); got != person {
			t.Errorf("surelyPerson(%q) = %v, want %v", ua, got, person)
		}
	}
}
