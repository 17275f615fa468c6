package main

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"appliance/store"
)

// StoreOptions are serve's flags that tune the store.
type StoreOptions struct {
	CacheSize  byteSize // the block cache; 0: store.DefaultCacheSize
	BackupRate byteSize // bytes a second a backup reads; 0: no limit
	// L0Compaction is the level-0 sublevels at which the store compacts
	// level 0; 0: store.DefaultL0Compaction.
	L0Compaction int
}

// storeFlags adds --cache-size, --backup-rate and --l0-compaction to cmd.
func storeFlags(cmd *cobra.Command, o *StoreOptions) {
	f := cmd.Flags()
	f.Var(&o.CacheSize, "cache-size", "memory for the store's block cache, e.g. 256M or 1G; 0 or auto, the default: a 64th of the machine's memory (or of the container's limit), 16M to 64M (env APPLIANCE_CACHE_SIZE)")
	o.BackupRate = store.DefaultBackupRate
	f.Var(&o.BackupRate, "backup-rate", "most bytes a second a backup reads from the store while serving, so that traffic keeps the disk and CPU; 0: no limit (env APPLIANCE_BACKUP_RATE)")
	f.IntVar(&o.L0Compaction, "l0-compaction", store.DefaultL0Compaction, "level-0 tables at which the store compacts them; 8 rewrites less of the store in compactions for 8-15 MB more memory at load (env APPLIANCE_L0_COMPACTION)")
}

// byteSize is a flag value of a size in bytes, written as a number with an
// optional unit: 512K, 64M (or 64MB, 64MiB), 2G; units are binary (1M is
// 1,048,576 bytes). "auto" is 0, which leaves the choice to the program.
type byteSize int64

func (s *byteSize) Set(v string) error {
	v = strings.TrimSpace(v)
	if strings.EqualFold(v, "auto") {
		*s = 0
		return nil
	}
	num := strings.TrimRightFunc(v, func(r rune) bool { return r < '0' || r > '9' })
	unit := strings.ToUpper(strings.TrimSpace(v[len(num):]))
	unit = strings.TrimSuffix(strings.TrimSuffix(unit, "B"), "I")
	shift := map[string]uint{"": 0, "K": 10, "M": 20, "G": 30, "T": 40}
	sh, ok := shift[unit]
	n, err := strconv.ParseInt(num, 10, 64)
	if !ok || err != nil || n < 0 || n > (1<<62)>>sh {
		// The value is named by the caller (--cache-size "lots": ...).
		return errors.New("not a size: write a number of bytes with an optional unit, e.g. 64M or 2G")
	}
	*s = byteSize(n << sh)
	return nil
}

func (s *byteSize) String() string {
	n := int64(*s)
	switch {
	case n == 0:
		return "0"
	case n%(1<<30) == 0:
		return fmt.Sprintf("%dG", n>>30)
	case n%(1<<20) == 0:
		return fmt.Sprintf("%dM", n>>20)
	case n%(1<<10) == 0:
		return fmt.Sprintf("%dK", n>>10)
	}
	return strconv.FormatInt(n, 10)
}

func (s *byteSize) Type() string { return "size" }
