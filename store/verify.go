package store

import (
	"archive/tar"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
)

// VerifyArchive reads a backup archive from r and checks it against its
// manifest (every file present, sizes and SHA-256 sums right) without
// writing anything. Restore checks the same and more (it opens the store).
func VerifyArchive(r io.Reader) error {
	tr := tar.NewReader(r)
	hdr, err := tr.Next()
	if err != nil || hdr.Name != manifestName || hdr.Size > maxManifest {
		return fmt.Errorf("%w: no manifest first (%v)", ErrBadArchive, err)
	}
	var m manifest
	if err := json.NewDecoder(io.LimitReader(tr, maxManifest)).Decode(&m); err != nil {
		return fmt.Errorf("%w: manifest: %v", ErrBadArchive, err)
	}
	if m.Format != manifestFormat || len(m.Files) == 0 {
		return fmt.Errorf("%w: unknown format %d or no files", ErrBadArchive, m.Format)
	}
	want := make(map[string]manifestFile, len(m.Files))
	for _, f := range m.Files {
		want["db/"+f.Name] = f
	}
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("%w: %v", ErrBadArchive, err)
		}
		f, ok := want[hdr.Name]
		if !ok || hdr.Size != f.Size {
			return fmt.Errorf("%w: unexpected entry %q", ErrBadArchive, hdr.Name)
		}
		delete(want, hdr.Name)
		h := sha256.New()
		if n, err := io.Copy(h, tr); err != nil || n != f.Size {
			return fmt.Errorf("%w: %s truncated", ErrBadArchive, f.Name)
		}
		if hex.EncodeToString(h.Sum(nil)) != f.SHA256 {
			return fmt.Errorf("%w: %s checksum mismatch", ErrBadArchive, f.Name)
		}
	}
	if len(want) > 0 {
		return fmt.Errorf("%w: %d files missing", ErrBadArchive, len(want))
	}
	return nil
}
