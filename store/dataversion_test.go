package store

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/cockroachdb/pebble/v2"
)

// recordVersions are the encoding versions of the stored records at each
// DataVersion: the constants named …Version anywhere in the module (store's
// records, the tracker's sealed leases, the asset cache...). A change to
// one of them, a new one or one gone is a change to what a store holds,
// which an older binary must not be left to misread: bump DataVersion and
// add its row here.
//
// The one exception: a record of a new key family that no older binary
// reads (none decodes keys outside the families it knows: restore's check
// reads every key for its checksums alone, backup and restore copy the
// store whole) may join the current row, since an older binary opening the
// store ignores it. keptAssetVersion joined row 2 so (the current row
// then, and every row after): the widget chunks kept under prefixKeptAsset
// ('X'), which a binary of data version 2 without them never reads.
var recordVersions = map[uint64]map[string]int{
	1: {
		"accountMailVersion": 1, "callStartIndexVersion": 1, "callVersion": 3, "callbackVersion": 2,
		"chatMessageVersion": 1, "chatSettingsVersion": 1, "chatVersion": 1, "compressedVersion": 1,
		"contactsVersion": 1, "costVersion": 1, "deliveryVersion": 2, "dueVersion": 2,
		"eventVersion": 1, "exportVersion": 2, "hitVersion": 1, "inviteVersion": 1,
		"leadVersion": 2, "leaseVersion": 1, "loginVersion": 2, "markVersion": 1,
		"numbersVersion": 2, "phoneRereadVersion": 1, "phoneVisitorVersion": 1, "propertyVersion": 2,
		"resetVersion": 1, "sealedVersion": 1, "sessionVersion": 1, "siteVersion": 5,
		"tokenVersion": 5, "touchVersion": 1, "userVersion": 4,
		"visitorIndexVersion": 1, "visitorVersion": 2, "webhooksVersion": 1, "widgetVersion": 3,
	},
	2: {
		"accountMailVersion": 1, "callStartIndexVersion": 1, "callVersion": 4, "callbackVersion": 2,
		"chatMessageVersion": 1, "chatSettingsVersion": 1, "chatVersion": 1, "compressedVersion": 1,
		"contactsVersion": 1, "costVersion": 1, "deliveryVersion": 2, "dueVersion": 2,
		"eventVersion": 1, "exportVersion": 2, "hitVersion": 1, "inviteVersion": 1,
		"leadVersion": 2, "leaseVersion": 1, "loginVersion": 2, "markVersion": 1,
		"numbersVersion": 3, "phoneRereadVersion": 1, "phoneVisitorVersion": 1, "propertyVersion": 2,
		"resetVersion": 1, "sealedVersion": 1, "sessionVersion": 1, "siteVersion": 5,
		"tokenVersion": 5, "touchVersion": 1, "userVersion": 4,
		"visitorIndexVersion": 1, "visitorVersion": 2, "webhooksVersion": 1, "widgetVersion": 3,
		"keptAssetVersion": 1,
	},
	3: {
		"accountMailVersion": 1, "callStartIndexVersion": 1, "callVersion": 4, "callbackVersion": 2,
		"chatMessageVersion": 1, "chatSettingsVersion": 1, "chatVersion": 1, "compressedVersion": 1,
		"contactsVersion": 1, "costVersion": 1, "deliveryVersion": 2, "dueVersion": 2,
		"eventVersion": 1, "exportVersion": 2, "hitVersion": 1, "inviteVersion": 1,
		"leadVersion": 2, "leaseVersion": 1, "loginVersion": 2, "markVersion": 1,
		"numbersVersion": 3, "phoneRereadVersion": 1, "phoneVisitorVersion": 1, "propertyVersion": 2,
		"resetVersion": 1, "sealedVersion": 1, "sessionVersion": 1, "siteVersion": 5,
		"tokenVersion": 5, "touchVersion": 1, "userVersion": 4,
		"visitorIndexVersion": 1, "visitorVersion": 2, "webhookHealthVersion": 1, "webhooksVersion": 1, "widgetVersion": 3,
		"keptAssetVersion": 1,
	},
	4: {
		"accountMailVersion": 1, "callStartIndexVersion": 1, "callVersion": 4, "callbackVersion": 2,
		"chatMessageVersion": 1, "chatSettingsVersion": 1, "chatVersion": 1, "compressedVersion": 1,
		"contactsVersion": 1, "costVersion": 1, "deliveryVersion": 2, "dueVersion": 2,
		"eventVersion": 1, "exportVersion": 2, "hitVersion": 1, "inviteVersion": 1,
		"leadVersion": 2, "leaseVersion": 1, "loginVersion": 2, "markVersion": 1,
		"numbersVersion": 4, "phoneRereadVersion": 1, "phoneVisitorVersion": 1, "propertyVersion": 2,
		"resetVersion": 1, "sealedVersion": 1, "sessionVersion": 1, "siteVersion": 5,
		"tokenVersion": 5, "touchVersion": 1, "userVersion": 4,
		"visitorIndexVersion": 1, "visitorVersion": 2, "webhookHealthVersion": 1, "webhooksVersion": 1, "widgetVersion": 3,
		"keptAssetVersion": 1,
	},
}

// moduleVersions finds every unexported constant named …Version with an integer
// value in the module's Go source, tests and generated files left out.
func moduleVersions(t *testing.T) map[string]int {
	t.Helper()
	found := map[string]int{}
	root := ".."
	err := filepath.WalkDir(root, func(path string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if e.IsDir() {
			if n := e.Name(); path != root && (strings.HasPrefix(n, ".") || n == "testdata" || n == "test-artifacts" || n == "node_modules") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, src, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		for _, decl := range f.Decls {
			g, ok := decl.(*ast.GenDecl)
			if !ok || g.Tok != token.CONST {
				continue
			}
			for _, spec := range g.Specs {
				vs := spec.(*ast.ValueSpec)
				for i, name := range vs.Names {
					// Unexported: the exported ones are not records
					// (DataVersion, the export's SchemaVersion).
					if !strings.HasSuffix(name.Name, "Version") || name.IsExported() || i >= len(vs.Values) {
						continue
					}
					lit, ok := vs.Values[i].(*ast.BasicLit)
					if !ok || lit.Kind != token.INT {
						continue
					}
					n, err := strconv.Atoi(lit.Value)
					if err != nil {
						return err
					}
					if prev, ok := found[name.Name]; ok && prev != n {
						return fmt.Errorf("%s: two constants %s, %d and %d", path, name.Name, prev, n)
					}
					found[name.Name] = n
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return found
}

// A record's version changed without DataVersion (so an older binary would
// open a store it cannot read) fails here, naming what changed.
func TestDataVersionFollowsRecordVersions(t *testing.T) {
	want, ok := recordVersions[DataVersion]
	if !ok {
		t.Fatalf("DataVersion %d has no row in recordVersions: add the record versions it stands for", DataVersion)
	}
	got := moduleVersions(t)
	if len(got) < 20 {
		t.Fatalf("found only %d record versions in the module: %v", len(got), got)
	}
	for _, name := range slices.Sorted(maps.Keys(got)) {
		if w, ok := want[name]; !ok || w != got[name] {
			t.Errorf("%s is %d, DataVersion %d stands for %d (0: none): a stored record changed; bump store.DataVersion and add its row to recordVersions",
				name, got[name], DataVersion, w)
		}
	}
	for name := range want {
		if _, ok := got[name]; !ok {
			t.Errorf("%s is gone, DataVersion %d stands for it: bump store.DataVersion and add its row to recordVersions", name, DataVersion)
		}
	}
}

// A store a newer binary wrote (its data version above this binary's) is
// refused at open, read-only too, with the way out; nothing it holds
// changes (pebble's own files may: its open for writing starts a new log).
// A backup of it is refused by restore, leaving the data directory as it
// was. A store made before the version was kept is marked at its first
// open for writing.
func TestNewerDataRefused(t *testing.T) {
	dir := t.TempDir()
	d, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if v, err := d.DataVersion(); err != nil || v != DataVersion {
		t.Fatalf("a new store's data version %d %v, want %d", v, err, DataVersion)
	}
	fill(t, d, 10)
	newer := binary.BigEndian.AppendUint64(nil, DataVersion+1)
	if err := d.Set(t.Context(), dataVersionKey, newer); err != nil {
		t.Fatal(err)
	}
	archive := backup(t, d)
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	before := rawScan(t, dir)
	for _, ro := range []bool{false, true} {
		d, err := Open(dir, Options{ReadOnly: ro})
		if err == nil {
			d.Close()
			t.Fatalf("read-only %v: a newer store opened", ro)
		}
		var nd *NewerDataError
		if !errors.Is(err, ErrNewerData) || !errors.As(err, &nd) || nd.Stored != DataVersion+1 ||
			!strings.Contains(err.Error(), "written by a newer appliance") || !strings.Contains(err.Error(), "restore") {
			t.Errorf("read-only %v: %v", ro, err)
		}
	}
	if after := rawScan(t, dir); !reflect.DeepEqual(after, before) {
		t.Error("a refused open changed what the store holds")
	}

	empty := t.TempDir()
	err = Restore(bytes.NewReader(archive), empty, false)
	if !errors.Is(err, ErrNewerData) || !strings.Contains(err.Error(), "this backup was made by a newer appliance") {
		t.Errorf("restore of a newer backup: %v", err)
	}
	if ents, _ := os.ReadDir(empty); len(ents) != 0 {
		t.Errorf("a refused restore left %v", ents)
	}

	// A store of before the version was kept (no key): opened for writing,
	// it is marked; read-only, it is left as it is.
	old := t.TempDir()
	d = openDir(t, old)
	if err := d.Delete(t.Context(), dataVersionKey); err != nil {
		t.Fatal(err)
	}
	d.Close()
	ro, err := Open(old, Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	if v, err := ro.DataVersion(); err != nil || v != 0 {
		t.Errorf("read-only open of an unmarked store: %d %v", v, err)
	}
	ro.Close()
	d = openDir(t, old)
	if v, err := d.DataVersion(); err != nil || v != DataVersion {
		t.Errorf("an unmarked store opened for writing: data version %d %v, want %d", v, err, DataVersion)
	}
}

// rawScan is every key and value of the store in dir, read by pebble
// alone (Open would refuse a newer store).
func rawScan(t *testing.T, dir string) map[string]string {
	t.Helper()
	pdb, err := pebble.Open(filepath.Join(dir, DBDir), pebbleOptions(true, MinCacheSize))
	if err != nil {
		t.Fatal(err)
	}
	defer pdb.Close()
	it, err := pdb.NewIter(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer it.Close()
	m := map[string]string{}
	for ok := it.First(); ok; ok = it.Next() {
		m[string(it.Key())] = string(it.Value())
	}
	if len(m) < 10 {
		t.Fatalf("the store holds only %d keys", len(m))
	}
	return m
}
