package scaffold

import "fmt"

// ReadLimits cap what paved reads of a template: a module zip or a git
// commit may hold a file of any size.
type ReadLimits struct {
	File  int64 // bytes of one file
	Total int64 // bytes of all files
}

// defaultReadLimits are generous for a repository template; they match the
// render's (see DefaultLimits).
func defaultReadLimits() ReadLimits {
	l := DefaultLimits()
	return ReadLimits{File: l.MaxFile, Total: l.MaxTotal}
}

func (l ReadLimits) check(name string, size, total int64) error {
	switch {
	case l.File > 0 && size > l.File:
		return fmt.Errorf("%s: %d bytes, over the limit of %s for one template file", name, size, formatSize(l.File))
	case l.Total > 0 && total > l.Total:
		return fmt.Errorf("%s: the template passes the limit of %s in all", name, formatSize(l.Total))
	}
	return nil
}
