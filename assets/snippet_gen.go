//go:build ignore

// snippet_gen writes snippet/dist: the snippet built from snippet/ by
// appliance/internal/snippetbuild (go generate ./assets after editing a
// source; the assets test fails until then). Files of an earlier build
// (a widget chunk of another hash) are removed.
package main

import (
	"log"
	"os"
	"path/filepath"

	"appliance/internal/snippetbuild"
)

func main() {
	out, err := snippetbuild.Build(os.DirFS("snippet"))
	if err != nil {
		log.Fatal(err)
	}
	const dist = "snippet/dist"
	if err := os.RemoveAll(dist); err != nil {
		log.Fatal(err)
	}
	if err := os.Mkdir(dist, 0o755); err != nil {
		log.Fatal(err)
	}
	for name, b := range out.Files() {
		if err := os.WriteFile(filepath.Join(dist, name), b, 0o644); err != nil {
			log.Fatal(err)
		}
	}
}
