package scaffold

import (
	"bytes"
	"fmt"
	"go/parser"
	"go/token"
	"io/fs"
	"path"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/mod/modfile"
	"golang.org/x/mod/module"
)

// rewriteGoMod renames the module of a go.mod from srcMod (or a nested
// module below it) to dstMod. The root go.mod is parsed and formatted as
// the go command does, as gonew does (TestGonewParity). A nested go.mod,
// which gonew leaves alone, only has its module path changed: the line that
// names it is edited in place, so the rest of the file stays byte for byte
// and a long one (a tools module's hundreds of requirements) is not parsed
// whole on every paved new; one whose module line is not a plain
// `module PATH` line is parsed and formatted.
func rewriteGoMod(name string, data []byte, srcMod, dstMod string) ([]byte, error) {
	old := modfile.ModulePath(data)
	if old == "" || old == "(" { // no plain module line: perhaps a module ( … ) block
		f, err := modfile.ParseLax(name, data, nil)
		if err != nil {
			return nil, err
		}
		if f.Module != nil {
			old = f.Module.Mod.Path
		}
	}
	var dst string
	switch {
	case old == srcMod:
		dst = dstMod
	case strings.HasPrefix(old, srcMod+"/"):
		dst = dstMod + strings.TrimPrefix(old, srcMod)
	default:
		return data, nil
	}
	if name != "go.mod" {
		if out, ok := replaceModuleLine(data, old, dst); ok {
			return out, nil
		}
	}
	f, err := modfile.ParseLax(name, data, nil)
	if err != nil {
		return nil, err
	}
	if f.Module == nil || f.Module.Mod.Path != old {
		return nil, fmt.Errorf("%s: cannot find the module line naming %s", name, old)
	}
	if err := f.AddModuleStmt(dst); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return f.Format()
}

// replaceModuleLine replaces the path on the one line of data that reads
// `module PATH` (PATH = old, bare or quoted, a comment after it allowed);
// ok is false when there is not exactly one such line.
func replaceModuleLine(data []byte, old, dst string) (out []byte, ok bool) {
	start, end, found := 0, 0, 0
	for off := 0; off < len(data); {
		line := data[off:]
		if i := bytes.IndexByte(line, '\n'); i >= 0 {
			line = line[:i]
		}
		// Cheap test first: only a line starting with "module" is split.
		if trimmed := bytes.TrimLeft(line, " \t"); bytes.HasPrefix(trimmed, []byte("module")) {
			fields := strings.Fields(string(line))
			if fields[0] == "module" {
				if len(fields) < 2 || (fields[1] != old && fields[1] != strconv.Quote(old)) ||
					(len(fields) > 2 && !strings.HasPrefix(fields[2], "//")) {
					return nil, false
				}
				i := bytes.Index(line, []byte(fields[1]))
				start, end = off+i, off+i+len(fields[1])
				found++
			}
		}
		off += len(line) + 1
	}
	if found != 1 {
		return nil, false
	}
	return slices.Concat(data[:start], []byte(modfile.AutoQuote(dst)), data[end:]), true
}

// edit replaces data[start:end] with text.
type edit struct {
	start, end int
	text       string
}

// rewriteGoImports points imports of srcMod and its packages at dstMod. In the
// module's root directory a package named after srcMod is renamed after dstMod;
// an import of the root package that relied on the old name keeps it with an
// explicit name.
func rewriteGoImports(name string, data []byte, srcMod, dstMod string, inRoot bool) ([]byte, error) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, name, data, parser.ImportsOnly)
	if err != nil {
		return nil, fmt.Errorf("rewriting imports: %w", err)
	}
	offset := func(p token.Pos) int { return fset.Position(p).Offset }
	srcName, dstName := path.Base(srcMod), path.Base(dstMod)

	var edits []edit
	if inRoot {
		if pkg := f.Name.Name; pkg == srcName || pkg == srcName+"_test" {
			newPkg := dstName + strings.TrimPrefix(pkg, srcName)
			if !token.IsIdentifier(newPkg) {
				return nil, fmt.Errorf("%s: cannot rename package %s to %s: not a valid package name", name, pkg, newPkg)
			}
			edits = append(edits, edit{offset(f.Name.Pos()), offset(f.Name.End()), newPkg})
		}
	}
	for _, spec := range f.Imports {
		imp, err := strconv.Unquote(spec.Path.Value)
		if err != nil {
			continue
		}
		var text string
		switch {
		case imp == srcMod:
			text = strconv.Quote(dstMod)
			if srcName != dstName && spec.Name == nil {
				text = srcName + " " + text
			}
		case strings.HasPrefix(imp, srcMod+"/"):
			text = strconv.Quote(dstMod + strings.TrimPrefix(imp, srcMod))
		default:
			continue
		}
		edits = append(edits, edit{offset(spec.Path.Pos()), offset(spec.Path.End()), text})
	}
	return applyEdits(data, edits), nil
}

func applyEdits(data []byte, edits []edit) []byte {
	if len(edits) == 0 {
		return data
	}
	slices.SortFunc(edits, func(a, b edit) int { return a.start - b.start })
	var out []byte
	last := 0
	for _, e := range edits {
		out = append(out, data[last:e.start]...)
		out = append(out, e.text...)
		last = e.end
	}
	return append(out, data[last:]...)
}

// rewriteModulePath renames the template's module to modPath, as gonew does:
// the module line of go.mod (and of nested modules below it) and every import
// of the old path in .go files.
func rewriteModulePath(files []File, modPath string) error {
	rw := newModuleRewrite(files, modPath)
	if rw == nil {
		return nil
	}
	todo := make([]int, len(files))
	for i := range files {
		todo[i] = i
	}
	errs := make([]error, len(files))
	rw.applyAll(files, todo, errs)
	for _, err := range errs {
		if err != nil {
			return err // the first file's in path order, as a loop would
		}
	}
	return nil
}

// moduleRewrite renames module src to dst in go.mod and .go files.
type moduleRewrite struct{ src, dst string }

// newModuleRewrite is the rewrite of the module the tree's root go.mod
// names to modPath; nil when there is nothing to rewrite.
func newModuleRewrite(files []File, modPath string) *moduleRewrite {
	i := slices.IndexFunc(files, func(f File) bool { return f.Path == "go.mod" })
	if i < 0 {
		return nil
	}
	src := modfile.ModulePath(files[i].Data)
	if src == "" || src == modPath {
		return nil
	}
	return &moduleRewrite{src: src, dst: modPath}
}

func (rw *moduleRewrite) applies(f *File) bool {
	return f.Mode&fs.ModeSymlink == 0 && (path.Base(f.Path) == "go.mod" || strings.HasSuffix(f.Path, ".go"))
}

func (rw *moduleRewrite) apply(f *File) error {
	var err error
	if path.Base(f.Path) == "go.mod" {
		f.Data, err = rewriteGoMod(f.Path, f.Data, rw.src, rw.dst)
	} else {
		f.Data, err = rewriteGoImports(f.Path, f.Data, rw.src, rw.dst, !strings.Contains(f.Path, "/"))
	}
	return err
}

// applyAll rewrites the files at the indexes todo (those it applies to),
// on all cores: each file's rewrite is its own, a go.mod is parsed and
// formatted whole, and a module such as gopls has hundreds of .go files.
// errs[i] is file i's error.
func (rw *moduleRewrite) applyAll(files []File, todo []int, errs []error) {
	todo = slices.DeleteFunc(slices.Clone(todo), func(i int) bool { return !rw.applies(&files[i]) })
	forEach(len(todo), func(k int) {
		errs[todo[k]] = rw.apply(&files[todo[k]])
	})
}

// rewriteCopied starts rewriting the module path of the files copied as
// they are, when the root go.mod is one of them (the module it names is
// then known before rendering), on all cores while the templates render.
// A file's rewrite goes to its rewrittenData, so that the render reads
// each file's bytes as they were read; rewritten is closed when all are
// done. The rewrite is nil when there is none to do now.
func rewriteCopied(jobs []fileJob, modPath string) (*moduleRewrite, <-chan struct{}) {
	done := make(chan struct{})
	i := slices.IndexFunc(jobs, func(j fileJob) bool { return j.file.Path == "go.mod" })
	if i < 0 || jobs[i].template || jobs[i].err != nil || jobs[i].file.Mode&fs.ModeSymlink != 0 {
		close(done)
		return nil, done
	}
	rw := newModuleRewrite([]File{jobs[i].file}, modPath)
	if rw == nil {
		close(done)
		return nil, done
	}
	var todo []*fileJob
	for k := range jobs {
		if j := &jobs[k]; j.err == nil && !j.template && rw.applies(&j.file) {
			todo = append(todo, j)
		}
	}
	go func() {
		defer close(done)
		forEach(len(todo), func(k int) {
			j := todo[k]
			f := j.file
			j.rewriteErr = rw.apply(&f)
			j.rewrittenData, j.rewritten = f.Data, true
		})
	}()
	return rw, done
}

// DefaultDir is where `paved new MODULE` writes when no DIR is given: the
// module path's last element, without a major version suffix
// (example.com/acme/orders/v2 -> orders, where gonew would say v2).
func DefaultDir(modPath string) string {
	return moduleBase(modPath)
}

// moduleBase is the last element of a module path without its major version
// suffix: example.com/acme/payments/v2 -> payments.
func moduleBase(modPath string) string {
	prefix, _, ok := module.SplitPathVersion(modPath)
	if !ok {
		prefix = modPath
	}
	for i := len(prefix) - 1; i >= 0; i-- {
		if prefix[i] == '/' {
			return prefix[i+1:]
		}
	}
	return prefix
}
