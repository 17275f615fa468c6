package main

import (
	"appliance/store"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"unicode"
)

// readmeBlock is one fenced code block of the README: its language and lines.
type readmeBlock struct {
	lang  string
	lines []string
}

// readmeBlocks returns the README's fenced code blocks, continuation lines
// (ending in \) joined.
func readmeBlocks(t *testing.T) []readmeBlock {
	t.Helper()
	data, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	var out []readmeBlock
	var cur *readmeBlock
	cont := ""
	for _, line := range strings.Split(string(data), "\n") {
		switch {
		case cur == nil && strings.HasPrefix(line, "```"):
			cur = &readmeBlock{lang: strings.TrimPrefix(line, "```")}
		case cur != nil && line == "```":
			out = append(out, *cur)
			cur = nil
		case cur != nil && strings.HasSuffix(line, `\`):
			cont += strings.TrimSuffix(line, `\`) + " "
		case cur != nil:
			cur.lines = append(cur.lines, cont+line)
			cont = ""
		}
	}
	return out
}

// shellWords splits a shell command line into words as sh would for a
// simple command: quotes removed, $(...) kept whole, a comment dropped, and
// the words after the first |, >, &&, ; or & left out.
func shellWords(line string) []string {
	var words []string
	var w strings.Builder
	in, quote := false, byte(0)
	flush := func() {
		if in {
			words = append(words, w.String())
		}
		w.Reset()
		in = false
	}
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case quote != 0 && c == quote:
			quote = 0
		case quote != 0:
			w.WriteByte(c)
		case c == '$' && i+1 < len(line) && line[i+1] == '(':
			// A command substitution is part of the word it is in.
			end := strings.IndexByte(line[i:], ')')
			if end < 0 {
				end = len(line) - i - 1
			}
			w.WriteString(line[i : i+end+1])
			in = true
			i += end
		case c == '\'' || c == '"':
			quote, in = c, true
		case c == ' ' || c == '\t':
			flush()
		case !in && (c == '#' || c == '|' || c == '>' || c == '&' || c == ';'):
			flush()
			return words
		default:
			w.WriteByte(c)
			in = true
		}
	}
	flush()
	return words
}

// readmeCommand is the appliance command line in words, after what runs it
// (sudo -u USER, docker exec NAME, VAR=value), or nil when the line runs
// no appliance command.
func readmeCommand(words []string) []string {
	for len(words) > 0 {
		switch {
		case words[0] == "sudo" && len(words) > 2 && words[1] == "-u":
			words = words[3:]
		case words[0] == "docker" && len(words) > 2 && words[1] == "exec":
			words = words[3:]
		case strings.Contains(words[0], "=") && !strings.HasPrefix(words[0], "-"):
			words = words[1:]
		case words[0] == "appliance" || strings.HasSuffix(words[0], "/appliance"):
			return words[1:]
		default:
			return nil
		}
	}
	return nil
}

// envVar matches an APPLIANCE_* variable set in the README's blocks.
var envVar = regexp.MustCompile(`\bAPPLIANCE_([A-Z0-9_]+)=`)

// The README's shell and systemd blocks run the binary as it is: each
// appliance command exists and takes the flags and arguments given, each
// APPLIANCE_* variable set is a flag of serve's, the unit is Type=notify
// and reloads with SIGHUP; and where a block runs the commands beside
// systemd's service, each names the unit's data directory, which they do
// not find by themselves (./data is the default).
func TestReadmeCommandsRun(t *testing.T) {
	serve, _, err := newRoot(io.Discard).Find([]string{"serve"})
	if err != nil {
		t.Fatal(err)
	}
	// The unit's data directory, from its ExecStart.
	var unit []string
	unitData := ""
	for _, b := range readmeBlocks(t) {
		if b.lang != "ini" {
			continue
		}
		unit = b.lines
		for _, line := range b.lines {
			if exec, ok := strings.CutPrefix(line, "ExecStart="); ok {
				if err := serve.ParseFlags(readmeCommand(shellWords(exec))[1:]); err != nil {
					t.Fatalf("README: %q: %v", line, err)
				}
				unitData = serve.Flags().Lookup("data").Value.String()
			}
		}
	}
	if unitData == "" || unitData == "./data" {
		t.Fatalf("README: no systemd unit whose ExecStart names --data (%q)", unitData)
	}
	checked := 0
	for _, b := range readmeBlocks(t) {
		if b.lang != "sh" && b.lang != "ini" {
			continue
		}
		systemd := b.lang == "ini"
		for _, line := range b.lines {
			if strings.Contains(line, "systemctl ") {
				systemd = true
			}
		}
		for _, line := range b.lines {
			for _, m := range envVar.FindAllStringSubmatch(line, -1) {
				flag := strings.ToLower(strings.ReplaceAll(m[1], "_", "-"))
				if serve.Flags().Lookup(flag) == nil {
					t.Errorf("README: %q sets APPLIANCE_%s, but serve has no --%s", line, m[1], flag)
				}
			}
			if b.lang == "ini" {
				exec, ok := strings.CutPrefix(line, "ExecStart=")
				if !ok {
					continue
				}
				line = exec
			}
			args := readmeCommand(shellWords(line))
			if args == nil {
				continue
			}
			checked++
			c, rest, err := newRoot(io.Discard).Find(args)
			if err != nil || c.Name() == "appliance" || !c.Runnable() {
				t.Errorf("README: %q: no such command (%v)", line, err)
				continue
			}
			if err := c.ParseFlags(rest); err != nil {
				t.Errorf("README: %q: %v", line, err)
				continue
			}
			if err := c.ValidateArgs(c.Flags().Args()); err != nil {
				t.Errorf("README: %q: %v", line, err)
			}
			data := c.Flags().Lookup("data")
			if systemd && data != nil && c.Name() != "serve" && (!data.Changed || data.Value.String() != unitData) {
				t.Errorf("README: %q runs beside the systemd unit, whose store is in --data %q: say --data %s", line, unitData, unitData)
			}
		}
	}
	if checked < 5 {
		t.Fatalf("README: %d commands checked: the blocks were not found", checked)
	}
	for _, want := range []string{"Type=notify", "ExecReload=/bin/kill -HUP $MAINPID"} {
		if !strings.Contains(strings.Join(unit, "\n"), want) {
			t.Errorf("README's systemd unit has no %q", want)
		}
	}
}

// readmeSpan matches an inline code span of the README.
var readmeSpan = regexp.MustCompile("`([^`]+)`")

// The appliance commands the README's prose and its Commands table name in
// inline code (`appliance site add --name N ...`, `site list`, `[--dry-run]`,
// `--flag A|B`) exist and take the flags they are shown with: a renamed or
// dropped flag cannot stay documented. In the Commands table a span without
// "appliance " is a command of that row (`site list`, `user passwd EMAIL`).
func TestReadmeInlineCommands(t *testing.T) {
	data, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	root := newRoot(io.Discard)
	// The prose in paragraphs (a span may run over a line's end), each
	// table row apart.
	var paras []string
	para, inBlock := "", false
	for _, line := range strings.Split(string(data), "\n") {
		switch {
		case strings.HasPrefix(line, "```"):
			inBlock = !inBlock
		case inBlock:
		case strings.HasPrefix(line, "|") || strings.TrimSpace(line) == "":
			paras = append(paras, para, line)
			para = ""
		default:
			para += " " + line
		}
	}
	paras = append(paras, para)
	checked := 0
	for _, line := range paras {
		table := strings.HasPrefix(line, "| `appliance ")
		if table {
			line, _, _ = strings.Cut(strings.TrimPrefix(line, "| "), " | ")
		}
		for _, m := range readmeSpan.FindAllStringSubmatch(line, -1) {
			span := m[1]
			if !strings.HasPrefix(span, "appliance ") {
				// A span that begins with a command and a flag
				// (`site set --site KEY --retention-days N`) is one too.
				first, _, _ := strings.Cut(span, " ")
				if c, _, err := root.Find([]string{first}); !table && (err != nil || c == root || !strings.Contains(span, " --")) {
					continue
				}
				span = "appliance " + span
			}
			words := strings.Fields(strings.ReplaceAll(span, `\|`, "|"))[1:]
			// The command: the words before the first flag, argument or
			// placeholder.
			var path []string
			for _, w := range words {
				if strings.HasPrefix(w, "-") || strings.ContainsAny(w, "[]|.…=\"'$") || strings.ToUpper(w) == w {
					break
				}
				path = append(path, w)
			}
			if len(path) == 0 {
				continue
			}
			c, rest, err := root.Find(path)
			if err != nil || len(rest) > 0 || !c.Runnable() && len(path) > 0 {
				if c != nil && c.Name() == "appliance" {
					// `appliance` and a word that is no command is prose.
					continue
				}
				t.Errorf("README: `%s`: %v is no command", m[1], path)
				continue
			}
			checked++
			for _, w := range words[len(path):] {
				for _, part := range strings.Split(strings.Trim(w, "[]()…,"), "|") {
					part = strings.Trim(part, "[]()…,")
					name, ok := strings.CutPrefix(part, "--")
					if !ok {
						if short, ok := strings.CutPrefix(part, "-"); ok && len(short) == 1 && c.Flags().ShorthandLookup(short) == nil && c.InheritedFlags().ShorthandLookup(short) == nil {
							t.Errorf("README: `%s`: appliance %s has no -%s", m[1], strings.Join(path, " "), short)
						}
						continue
					}
					name, _, _ = strings.Cut(name, "=")
					if name == "" || name == "help" || name == "version" {
						continue
					}
					if c.Flags().Lookup(name) == nil {
						t.Errorf("README: `%s`: appliance %s has no --%s", m[1], strings.Join(path, " "), name)
					}
				}
			}
		}
	}
	if checked < 40 {
		t.Fatalf("README: %d inline commands checked: the spans were not found", checked)
	}
}

// Every command of the binary has its row in the README's Commands table,
// and every flag it takes is named somewhere in the README (a flag with a
// shorthand by either), so that a newcomer reading the README finds each
// command and what it takes without the --help of each.
func TestReadmeCommandsTableComplete(t *testing.T) {
	data, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	readme := string(data)
	// The commands the table's first column names, in words.
	table := map[string]bool{}
	for _, line := range strings.Split(readme, "\n") {
		if !strings.HasPrefix(line, "| `appliance ") {
			continue
		}
		first, _, _ := strings.Cut(strings.TrimPrefix(line, "| "), " | ")
		top := ""
		for _, m := range readmeSpan.FindAllStringSubmatch(first, -1) {
			words := strings.Fields(m[1])
			if len(words) > 0 && words[0] == "appliance" {
				words = words[1:]
				if len(words) > 0 {
					top = words[0]
				}
			} else if top != "" && len(words) > 0 && words[0] != top {
				// `pool add` in the row of `appliance numbers ...`
				words = append([]string{top}, words...)
			}
			for i := range words {
				table[strings.Join(words[:i+1], " ")] = true
			}
		}
	}
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		for _, sub := range c.Commands() {
			if sub.Name() == "help" || sub.Name() == "completion" || sub.Hidden {
				continue
			}
			walk(sub)
		}
		if !c.Runnable() || !c.HasParent() || c.HasSubCommands() {
			return
		}
		path := strings.TrimPrefix(c.CommandPath(), "appliance ")
		if !table[path] {
			t.Errorf("README: the Commands table has no row naming `appliance %s`", path)
		}
		c.Flags().VisitAll(func(f *pflag.Flag) {
			if f.Name == "help" || f.Hidden {
				return
			}
			named := regexp.MustCompile(`--` + regexp.QuoteMeta(f.Name) + `\b`).MatchString(readme)
			if f.Shorthand != "" {
				named = named || regexp.MustCompile(`(^|[\s\x60\[])-`+f.Shorthand+`\b`).MatchString(readme)
			}
			if !named {
				t.Errorf("README: appliance %s --%s is nowhere in the README", path, f.Name)
			}
		})
	}
	walk(newRoot(io.Discard))
}

// The README quotes the refusal of a store a newer version wrote as this
// binary words it (the data versions aside: an example's, which a raised
// DataVersion need not change).
func TestReadmeQuotesNewerDataError(t *testing.T) {
	data, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	readme := strings.Join(strings.Fields(string(data)), " ")
	msg := (&store.NewerDataError{Dir: "/var/lib/appliance", Stored: store.DataVersion + 1}).Error()
	quoted := regexp.MustCompile(`\d+`).ReplaceAllString(regexp.QuoteMeta("`"+msg+"`"), `\d+`)
	if !regexp.MustCompile(quoted).MatchString(readme) {
		t.Errorf("README does not quote the refusal as the binary words it:\n`%s`", msg)
	}
}

// The Commands table shows which flags a command needs as its --help does:
// a flag outside [...] is required, one inside optional, and none that the
// command requires is left out. `callback set --site KEY --webhook URL`
// had a newcomer look for a scenario URL to set the captcha alone, and
// `user invite EMAIL --role R` a role the command defaults.
func TestReadmeTableShowsRequiredFlags(t *testing.T) {
	data, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	root := newRoot(io.Discard)
	checked := 0
	for _, line := range strings.Split(string(data), "\n") {
		if !strings.HasPrefix(line, "| `appliance ") {
			continue
		}
		first, _, _ := strings.Cut(strings.TrimPrefix(line, "| "), " | ")
		top := ""
		for _, m := range readmeSpan.FindAllStringSubmatch(first, -1) {
			words := strings.Fields(strings.ReplaceAll(m[1], `\|`, "|"))
			if len(words) > 0 && words[0] == "appliance" {
				words = words[1:]
				if len(words) > 0 {
					top = words[0]
				}
			} else if len(words) > 0 && words[0] != top {
				words = append([]string{top}, words...)
			}
			var path []string
			for _, w := range words {
				if strings.HasPrefix(w, "-") || strings.ContainsAny(w, "[]|.…=\"'$()") || strings.ToUpper(w) == w {
					break
				}
				path = append(path, w)
			}
			rest := words[len(path):]
			if len(rest) > 0 && rest[0] == "…" {
				continue // `serve … --export`: more flags of a command shown in full in its own row
			}
			c, left, err := root.Find(path)
			if err != nil || len(left) > 0 || !c.Runnable() {
				continue
			}
			checked++
			shown := map[string]bool{} // flag name: shown outside [...]
			depth := 0
			for _, w := range rest {
				opens := depth + strings.Count(w, "[")
				if name, ok := strings.CutPrefix(strings.TrimLeft(w, "[("), "--"); ok {
					name, _, _ = strings.Cut(strings.Trim(name, "[]()…,"), "=")
					shown[name] = shown[name] || depth == 0 && !strings.HasPrefix(w, "[")
				} else if short, ok := strings.CutPrefix(strings.TrimLeft(w, "[("), "-"); ok && len(short) == 1 {
					if f := c.Flags().ShorthandLookup(short); f != nil {
						shown[f.Name] = shown[f.Name] || depth == 0 && !strings.HasPrefix(w, "[")
					}
				}
				depth = opens - strings.Count(w, "]")
			}
			c.Flags().VisitAll(func(f *pflag.Flag) {
				_, required := f.Annotations[cobra.BashCompOneRequiredFlag]
				out, named := shown[f.Name]
				switch {
				case required && !out:
					t.Errorf("README: `%s`: --%s is required (appliance %s --help), show it outside [...]", m[1], f.Name, strings.Join(path, " "))
				case !required && named && out:
					t.Errorf("README: `%s`: --%s is optional (appliance %s --help), show it in [...]", m[1], f.Name, strings.Join(path, " "))
				}
			})
		}
	}
	if checked < 30 {
		t.Fatalf("README: %d commands of the table checked: the rows were not found", checked)
	}
}

// markdownLink matches an inline link of Markdown, [text](target).
var markdownLink = regexp.MustCompile(`\]\(([^)\s]+)\)`)

// headingSlugs lists the anchors GitHub gives the headings of a Markdown
// file: lower case, punctuation dropped, spaces as hyphens, a repeated
// one numbered (-1, -2, …). Lines in fenced code are no headings.
func headingSlugs(text string) map[string]bool {
	slugs := map[string]bool{}
	seen := map[string]int{}
	fenced := false
	for _, line := range strings.Split(text, "\n") {
		if strings.HasPrefix(line, "```") {
			fenced = !fenced
			continue
		}
		title, ok := strings.CutPrefix(strings.TrimLeft(line, "#"), " ")
		if fenced || !ok || !strings.HasPrefix(line, "#") || len(line)-len(strings.TrimLeft(line, "#")) > 6 {
			continue
		}
		var b strings.Builder
		for _, r := range strings.ToLower(strings.TrimSpace(title)) {
			switch {
			case r == ' ':
				b.WriteByte('-')
			case r == '-' || r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r):
				b.WriteRune(r)
			}
		}
		slug := b.String()
		if n := seen[slug]; n > 0 {
			slugs[slug+"-"+strconv.Itoa(n)] = true
		} else {
			slugs[slug] = true
		}
		seen[slug]++
	}
	return slugs
}

// Every relative link of the README and docs/*.md leads somewhere: the file
// is in the repository and its #anchor is a heading of it (a heading renamed
// or reworded breaks the links to it without a word).
func TestReadmeLinksResolve(t *testing.T) {
	docs, err := filepath.Glob("docs/*.md")
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, file := range append([]string{"README.md"}, docs...) {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		fenced := false
		for n, line := range strings.Split(string(data), "\n") {
			if strings.HasPrefix(line, "```") {
				fenced = !fenced
			}
			if fenced {
				continue
			}
			// Code spans are not links.
			line = readmeSpan.ReplaceAllString(line, "")
			for _, m := range markdownLink.FindAllStringSubmatch(line, -1) {
				target := m[1]
				if u, err := url.Parse(target); err != nil || u.Scheme != "" {
					continue
				}
				checked++
				path, anchor, _ := strings.Cut(target, "#")
				dest := file
				if path != "" {
					dest = filepath.Join(filepath.Dir(file), filepath.FromSlash(path))
				}
				text, err := os.ReadFile(dest)
				if err != nil {
					t.Errorf("%s:%d: the link %s: %v", file, n+1, target, err)
					continue
				}
				if anchor != "" && !headingSlugs(string(text))[anchor] {
					t.Errorf("%s:%d: the link %s: %s has no heading #%s", file, n+1, target, dest, anchor)
				}
			}
		}
	}
	if checked < 10 {
		t.Fatalf("%d relative links checked: the links were not found", checked)
	}
}
