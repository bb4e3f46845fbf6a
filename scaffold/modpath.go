package scaffold

import (
	"fmt"
	"go/parser"
	"go/token"
	"path"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/mod/modfile"
)

// rewriteGoMod renames the module of a go.mod from srcMod (or a nested
// module below it) to dstMod, formatting the file as the go command does.
func rewriteGoMod(name string, data []byte, srcMod, dstMod string) ([]byte, error) {
	f, err := modfile.ParseLax(name, data, nil)
	if err != nil {
		return nil, err
	}
	if f.Module == nil {
		return data, nil
	}
	old := f.Module.Mod.Path
	switch {
	case old == srcMod:
		err = f.AddModuleStmt(dstMod)
	case strings.HasPrefix(old, srcMod+"/"):
		err = f.AddModuleStmt(dstMod + strings.TrimPrefix(old, srcMod))
	default:
		return data, nil
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return f.Format()
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
