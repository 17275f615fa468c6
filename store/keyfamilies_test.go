package store

import (
	"go/ast"
	"go/parser"
	"go/token"
	"strconv"
	"testing"
)

// TestKeyFamiliesDistinct holds every key family's first byte (the
// constants named prefix… in keys.go) to its own value: two families
// sharing one would read each other's records as theirs (a scan of one
// decodes the other's values, a site's removal deletes both). Go's
// compiler lets two constants share a value, and two branches that each
// took the free letter merge without a conflict.
func TestKeyFamiliesDistinct(t *testing.T) {
	f, err := parser.ParseFile(token.NewFileSet(), "keys.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	owner := map[rune]string{}
	for _, d := range f.Decls {
		g, ok := d.(*ast.GenDecl)
		if !ok || g.Tok != token.CONST {
			continue
		}
		for _, s := range g.Specs {
			v := s.(*ast.ValueSpec)
			for i, name := range v.Names {
				if len(name.Name) <= len("prefix") || name.Name[:len("prefix")] != "prefix" || i >= len(v.Values) {
					continue
				}
				lit, ok := v.Values[i].(*ast.BasicLit)
				if !ok || lit.Kind != token.CHAR {
					continue
				}
				c, _, _, err := strconv.UnquoteChar(lit.Value[1:len(lit.Value)-1], '\'')
				if err != nil {
					t.Fatalf("%s: %v", name.Name, err)
				}
				if other, dup := owner[c]; dup {
					t.Errorf("%s and %s are both key family %q", other, name.Name, c)
				}
				owner[c] = name.Name
			}
		}
	}
	if len(owner) < 40 {
		t.Fatalf("found %d key families in keys.go; the test no longer reads them", len(owner))
	}
}
