package verify

import (
	"os"
	"path"
	"path/filepath"
	"strings"
)

// stage copies the repository's files under dir ("" for all) that keep
// accepts (nil: all) into a new temporary directory of the same base name
// and returns it; remove removes the copy. Tools that read a tree
// from disk themselves (Helm's loader and linter) read the copy: it holds
// only regular files the repository's root let Read open, so no link in a
// pull request reaches past the repository.
func (r *Repo) stage(dir string, keep func(file string) bool) (copyDir string, remove func(), err error) {
	tmp, err := os.MkdirTemp("", "paved-verify-*")
	if err != nil {
		return "", nil, err
	}
	remove = func() { os.RemoveAll(tmp) }
	// The same base name: Helm's messages name the chart's directory.
	copyDir = filepath.Join(tmp, path.Base(dir))
	for _, f := range r.Files {
		within, ok := f, true
		if dir != "" {
			within, ok = strings.CutPrefix(f, dir+"/")
		}
		if !ok || keep != nil && !keep(f) {
			continue
		}
		b, err := r.Read(f)
		if err == nil {
			dst := filepath.Join(copyDir, filepath.FromSlash(within))
			if err = os.MkdirAll(filepath.Dir(dst), 0o700); err == nil {
				err = os.WriteFile(dst, b, 0o600)
			}
		}
		if err != nil {
			remove()
			return "", nil, err
		}
	}
	return copyDir, remove, nil
}
