package main

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
)

// A password piped in is one line of stdin; SIGINT or SIGTERM while the
// pipe has not written it yet ends the command as interrupted (exit 130,
// README: Commands), rather than waiting on the pipe.
func TestReadPasswordPipeInterrupted(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = readPassword(ctx, r, &strings.Builder{})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("readPassword on a silent pipe after the interrupt: %v, want context.Canceled", err)
	}
	var sb strings.Builder
	if code := exitCode(err, &sb); code != 130 {
		t.Errorf("exit code %d, want 130 (%s)", code, sb.String())
	}

	r2, w2, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r2.Close()
	if _, err := w2.WriteString("correct horse\n"); err != nil {
		t.Fatal(err)
	}
	w2.Close()
	pw, err := readPassword(context.Background(), r2, &strings.Builder{})
	if err != nil || pw != "correct horse" {
		t.Errorf("readPassword of a piped line: %q, %v", pw, err)
	}
}
