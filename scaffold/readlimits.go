package scaffold

import "fmt"

// ReadLimits cap what paved reads of a template: a module zip or a git
// commit may hold a file of any size.
type ReadLimits struct {
	File  int64 // bytes of one file
	Total int64 // bytes of all files
}

// DefaultReadLimits are generous for a repository template.
var DefaultReadLimits = ReadLimits{File: 64 << 20, Total: 256 << 20}

func (l ReadLimits) check(name string, size, total int64) error {
	switch {
	case l.File > 0 && size > l.File:
		return fmt.Errorf("%s: %d bytes, over the limit of %d MiB for one template file", name, size, l.File>>20)
	case l.Total > 0 && total > l.Total:
		return fmt.Errorf("%s: the template passes the limit of %d MiB in all", name, l.Total>>20)
	}
	return nil
}
