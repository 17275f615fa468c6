package main

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync/atomic"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// progress shows how far a long command is (done / total, rate, time left)
// on a line of stderr that it redraws, when a person watches: only when
// both the command's stdout and stderr are terminals. Otherwise (a pipe,
// a file, cron, a test, `backup -o -`) every method does nothing, so
// callers need no check of their own. The zero value and nil are quiet.
//
// Commands that work long call it so:
//
//	p := newProgress(stdout, "importing", -1, "rows")
//	defer p.Done()
//	p.SetTotal(int64(len(rows)))
//	for ... { ...; p.Add(1) }
//
// or wrap what they read: r = p.Reader(r) (unit "bytes"), or pass
// p.Report to a call that reports (done, total) as it goes.
type progress struct {
	bar *progressbar.ProgressBar
	w   io.Writer // where bar draws
}

// newProgress starts a progress of total units (-1: not known yet; a
// spinner then shows the count and the rate until SetTotal). unit "bytes"
// shows sizes and bytes a second; any other is a plural noun ("rows",
// "days"). It stays quiet unless stdout and os.Stderr are terminals.
func newProgress(stdout io.Writer, what string, total int64, unit string) *progress {
	if !isTerminal(stdout) || !isTerminal(os.Stderr) {
		return nil
	}
	p := drawProgress(os.Stderr, what, total, unit)
	logLines.bar.Store(p)
	return p
}

// logLines is where the log of a server a command runs in-process goes
// (stderr, inProcessLog): a line written while a progress bar is drawn
// there first clears the bar's line, so that it does not run on from
// the bar's text; the bar is drawn again under it at its next redraw.
var logLines = &barLines{w: os.Stderr}

// barLines writes log lines to w, clearing the line of the bar drawn on
// it, if any, in the same write as each line (the bar's redraws, from
// its own goroutine, come before or after a whole line).
type barLines struct {
	w   io.Writer
	bar atomic.Pointer[progress] // the bar drawn on w; nil: none
}

func (l *barLines) Write(b []byte) (int, error) {
	if l.bar.Load() == nil {
		return l.w.Write(b)
	}
	n, err := l.w.Write(append([]byte(clearLine), b...))
	return max(n-len(clearLine), 0), err
}

// clearLine moves a terminal's cursor to the start of its line and
// clears the line: what is left of a bar once it is done, and what goes
// before a log line written while one is drawn.
const clearLine = "\r\033[K"

// inProcessLog is the log of a server a command runs in-process
// (httpd.OpenAdmin): serve's default text log, on logLines.
func inProcessLog() *slog.Logger { return slog.New(slog.NewTextHandler(logLines, nil)) }

// drawProgress is newProgress drawn on w, a terminal or not.
func drawProgress(w io.Writer, what string, total int64, unit string) *progress {
	opts := []progressbar.Option{
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetDescription(what),
		progressbar.OptionSetWidth(20),
		progressbar.OptionThrottle(100 * time.Millisecond),
		progressbar.OptionShowCount(),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionSpinnerType(14),
		progressbar.OptionFullWidth(),
		progressbar.OptionSetRenderBlankState(true),
		progressbar.OptionClearOnFinish(),
	}
	if unit == "bytes" {
		opts = append(opts, progressbar.OptionShowBytes(true), progressbar.OptionShowTotalBytes(true))
	} else {
		opts = append(opts, progressbar.OptionShowIts(), progressbar.OptionSetItsString(unit))
	}
	return &progress{bar: progressbar.NewOptions64(total, opts...), w: w}
}

// isTerminal reports whether w is a terminal.
func isTerminal(w any) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// SetTotal sets the total once it is known. While nothing is done yet it
// draws the bar at once, not at the next redraw the throttle allows: work
// told its total first (Report's (0, total)) and done within 100 ms showed
// only the spinner. A total of 0 (nothing to do) keeps the spinner: the
// bar cannot be at the end of 0, nor finished (see Done).
func (p *progress) SetTotal(n int64) {
	if p != nil && p.bar != nil && n > 0 {
		p.bar.ChangeMax64(n)
		_ = p.bar.RenderBlank() // redraws only when nothing is done yet
	}
}

// Report sets how many units are done, of how many (a callback's way:
// admin.Client.Rebuild's progress).
func (p *progress) Report(done, total int64) {
	if p == nil || p.bar == nil {
		return
	}
	if total != p.bar.GetMax64() {
		p.SetTotal(total)
	}
	_ = p.bar.Set64(done)
}

// Add counts n more units done.
func (p *progress) Add(n int64) {
	if p != nil && p.bar != nil {
		_ = p.bar.Add64(n)
	}
}

// Reader counts the bytes read from r.
func (p *progress) Reader(r io.Reader) io.Reader {
	if p == nil || p.bar == nil {
		return r
	}
	return countingReader{r, p}
}

type countingReader struct {
	r io.Reader
	p *progress
}

func (c countingReader) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	c.p.Add(int64(n))
	return n, err
}

// Done removes the bar, leaving the terminal to what the command prints
// next (its summary line). Call it when the work ends, also on failure.
//
// A bar started with total -1 has a ticker that redraws it every 100 ms
// until it is finished, even once it has exited: Exit alone left the bar
// drawn again under the summary. Finish marks it finished, so the ticker
// stops at its next tick and a tick already waiting for the bar's lock
// draws nothing; with OptionClearOnFinish, Finish clears the line instead
// of drawing 100%. Exit then stops any later Add.
func (p *progress) Done() {
	if p != nil && p.bar != nil {
		_ = p.bar.Finish()
		_ = p.bar.Exit()
		fmt.Fprint(p.w, clearLine)
		logLines.bar.CompareAndSwap(p, nil)
	}
}
