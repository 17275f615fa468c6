package main

import (
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"appliance/store"
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
	if code := exitCode(err, &sb); code != 130 || sb.String() != "appliance: interrupted\n" {
		t.Errorf("exit code %d, printed %q; want 130, \"appliance: interrupted\"", code, sb.String())
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

// backup -o naming a folder is refused before the archive is made (it
// was refused by the final rename, after the whole backup), saying what to
// give instead, and nothing is left beside it; a usage error, exit 2.
func TestBackupOutputIsAFolder(t *testing.T) {
	src, _ := offlineSite(t)
	parent := t.TempDir()
	dir := filepath.Join(parent, "backups")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	err := runBackup(t.Context(), BackupOptions{Data: src, Output: dir}, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "is a folder") || !strings.Contains(err.Error(), filepath.Join(dir, "backup.tar")) {
		t.Fatalf("backup -o a folder: %v; want it refused as a folder, naming a file in it", err)
	}
	if code := exitCode(err, io.Discard); code != 2 {
		t.Errorf("backup -o a folder: exit %d, want 2 (a value -o cannot take)", code)
	}
	if ents, _ := os.ReadDir(parent); len(ents) != 1 {
		t.Errorf("backup -o a folder left %d entries beside it, want only the folder", len(ents))
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Errorf("backup -o a folder wrote %d files into it", len(ents))
	}
}

// backup -o into the store's own folder (DATA/db) is refused before
// anything is written: a restore replaces that folder whole, the archive
// with it. Beside it, in DATA, is fine.
func TestBackupOutputInsideTheStore(t *testing.T) {
	src, _ := offlineSite(t)
	for _, out := range []string{filepath.Join(src, store.DBDir, "b.tar"), filepath.Join(src, store.DBDir, ".", "x", "..", "b.tar")} {
		err := runBackup(t.Context(), BackupOptions{Data: src, Output: out}, io.Discard)
		if err == nil || !strings.Contains(err.Error(), "inside the store's folder") {
			t.Errorf("backup -o %s: %v; want it refused as inside the store", out, err)
		}
		if code := exitCode(err, io.Discard); code != 2 {
			t.Errorf("backup -o %s: exit %d, want 2 (a value -o cannot take)", out, code)
		}
		if _, err := os.Stat(filepath.Join(src, store.DBDir, "b.tar")); err == nil {
			t.Fatalf("backup -o %s wrote the archive into the store", out)
		}
	}
	beside := filepath.Join(src, "b.tar")
	if err := runBackup(t.Context(), BackupOptions{Data: src, Output: beside}, io.Discard); err != nil {
		t.Fatalf("backup -o %s (beside the store): %v", beside, err)
	}
}

// restore - reading a pipe that stalls (a download cut off halfway) ends on
// SIGINT as interrupted (130), leaving the data directory as it was: no
// half-unpacked db.restore, no empty store. It waited on the pipe for ever.
func TestRestoreFromStalledPipeInterrupted(t *testing.T) {
	src, _ := offlineSite(t)
	archive := filepath.Join(t.TempDir(), "b.tar")
	if err := runBackup(t.Context(), BackupOptions{Data: src, Output: archive}, io.Discard); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(archive)
	if err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(t.TempDir(), "data")
	cmd := exec.Command(os.Args[0], "restore", "-", "--data", dst)
	cmd.Env = append(os.Environ(), "APPLIANCE_TEST_MAIN=1")
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	if _, err := in.Write(raw[:len(raw)/8]); err != nil {
		t.Fatal(err)
	}
	// Unpacking has begun (its directory exists) once the signal handler
	// is in place; then the pipe sends nothing more.
	for {
		if _, err := os.Stat(filepath.Join(dst, store.DBDir+".restore")); err == nil {
			break
		}
		runtime.Gosched()
	}
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	err = cmd.Wait()
	in.Close()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 130 {
		t.Fatalf("restore - interrupted on a stalled pipe: %v, want exit 130; stderr %q", err, stderr.String())
	}
	if got := stderr.String(); got != "appliance: interrupted\n" {
		t.Errorf("stderr %q, want \"appliance: interrupted\"", got)
	}
	ents, _ := os.ReadDir(dst)
	for _, e := range ents {
		t.Errorf("interrupted restore left %s in the data directory", e.Name())
	}
}

// numbers import - and costs import - read stdin whole before they send
// it; SIGINT or SIGTERM while the pipe stalls ends them (130) rather than
// waiting on the pipe.
func TestImportsFromStalledPipeInterrupted(t *testing.T) {
	for _, run := range map[string]func(context.Context, io.Reader) error{
		"numbers import": func(ctx context.Context, in io.Reader) error {
			return runNumbersImport(ctx, ImportOptions{Data: t.TempDir(), Site: "x", Pool: "ads", File: "-"}, in, io.Discard)
		},
		"costs import": func(ctx context.Context, in io.Reader) error {
			return runCostsImport(ctx, CostsImportOptions{Data: t.TempDir(), Site: "x", File: "-"}, in, io.Discard)
		},
	} {
		r, w, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.WriteString("2026-12-01,google,cpc,winter,100\n"); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		err = run(ctx, r)
		r.Close()
		w.Close()
		var sb strings.Builder
		if code := exitCode(err, &sb); code != 130 {
			t.Errorf("%d, %q after an interrupt on a stalled pipe; want 130, interrupted", code, sb.String())
		}
	}
}

// callback set --lang with a language the widgets do not have is a usage
// error (exit 2, README: Commands), as --captcha-digits 5 is; it was the
// server's refusal, exit 1.
func TestCallbackSetLangIsAUsageError(t *testing.T) {
	dir, site := offlineSite(t)
	de := "de"
	err := runCallbackSet(t.Context(), CallbackSetOptions{Data: dir, Site: site, Lang: &de}, io.Discard)
	var sb strings.Builder
	if code := exitCode(err, &sb); code != 2 || !strings.Contains(sb.String(), "--lang") {
		t.Errorf("callback set --lang de: exit %d, %q; want 2 naming --lang", code, sb.String())
	}
	for _, ok := range []string{"ru", "EN", "auto"} {
		if err := runCallbackSet(t.Context(), CallbackSetOptions{Data: dir, Site: site, Lang: &ok}, io.Discard); err != nil {
			t.Errorf("callback set --lang %s: %v", ok, err)
		}
	}
}

// site set --retention-days out of its range is a usage error (exit 2),
// refused before anything given with it is changed; it was the server's
// refusal, exit 1, after --name had been set.
func TestSiteSetRetentionOutOfRange(t *testing.T) {
	dir, site := offlineSite(t)
	for _, days := range []int{-1, 3661} {
		name := "Renamed"
		err := runSiteSet(t.Context(), SiteSetOptions{Data: dir, Site: site, Name: &name, RetentionDays: &days}, io.Discard)
		var sb strings.Builder
		if code := exitCode(err, &sb); code != 2 || !strings.Contains(sb.String(), "--retention-days") {
			t.Errorf("site set --retention-days %d: exit %d, %q; want 2 naming --retention-days", days, code, sb.String())
		}
	}
	var out strings.Builder
	if err := runSiteList(t.Context(), AdminOptions{Data: dir}, &out); err != nil || strings.Contains(out.String(), "Renamed") {
		t.Errorf("a refused site set changed the site: %v\n%s", err, out.String())
	}
}
