package main

import (
	"io"
	"os"
	"regexp"
	"strings"
	"testing"
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
