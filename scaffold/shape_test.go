package scaffold

import (
	"bytes"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// yamlLibraries says where each YAML library other than yaml.v3 (which
// decodes and gives node trees everywhere) may be imported: each does
// what only it does, and does not spread.
var yamlLibraries = map[string][]string{
	// Token positions yaml.v3 does not expose: byte spans for the
	// structural merge, syntax-error columns, a scalar's own position
	// after its anchor or tag.
	"github.com/goccy/go-yaml": {"scaffold/yamltree.go", "scaffold/verify/yamldoc.go", "scaffold/verify/helmvalues.go"},
	// Kubernetes' own YAML-to-JSON conversion, as kubectl does it.
	"sigs.k8s.io/yaml": {"scaffold/verify/k8s.go", "scaffold/verify/crdschema.go"},
}

// maxLines is how long a non-test Go file may grow before it holds more
// than one concept.
const maxLines = 500

// TestShape holds the repository's shape, for every Go file that is not a
// test (the module, its nested modules and the built-in templates' code;
// not testdata):
//   - none imports testing or testing/*: test support takes its own small
//     interfaces, so a test dependency never reaches paved's binary;
//   - templates/ imports no paved package: templates are data;
//   - the engine (scaffold/*.go) imports neither templates nor verify;
//   - none registers itself in init();
//   - a YAML library other than yaml.v3 only where yamlLibraries says;
//   - none is over maxLines lines.
func TestShape(t *testing.T) {
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if d.Name() == "testdata" || d.Name() == ".git" {
				return filepath.SkipDir
			}
			return nil
		}
		rel := filepath.ToSlash(must(filepath.Rel(root, p)))
		if !strings.HasSuffix(rel, ".go") || strings.HasSuffix(rel, "_test.go") {
			return nil
		}
		for _, problem := range shapeProblems(rel, must(os.ReadFile(p))) {
			t.Error(problem)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// shapeProblems lists what is wrong with the shape of one non-test Go file.
func shapeProblems(rel string, src []byte) []string {
	var problems []string
	if n := bytes.Count(src, []byte("\n")); n > maxLines {
		problems = append(problems, rel+": "+strconv.Itoa(n)+" lines, more than "+strconv.Itoa(maxLines)+": split it by concept")
	}
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, rel, src, parser.SkipObjectResolution)
	if err != nil {
		// A template's Go file may hold template actions; it is data.
		if strings.HasPrefix(rel, "templates/service/") || strings.HasPrefix(rel, "templates/template/") {
			return problems
		}
		return append(problems, err.Error())
	}
	inPackage := func(dir string) bool {
		rest, ok := strings.CutPrefix(rel, dir)
		return ok && !strings.Contains(rest, "/")
	}
	templatesPackage, enginePackage := inPackage("templates/"), inPackage("scaffold/")
	for _, imp := range f.Imports {
		path, _ := strconv.Unquote(imp.Path.Value)
		where := rel + ":" + strconv.Itoa(fset.Position(imp.Pos()).Line)
		if path == "testing" || strings.HasPrefix(path, "testing/") {
			problems = append(problems, where+": imports "+path+" outside a test: take a small interface instead")
		}
		if templatesPackage && strings.HasPrefix(path, "github.com/paved-dev/paved/") {
			problems = append(problems, where+": templates imports "+path+": templates are data, move the code to test support")
		}
		for lib, files := range yamlLibraries {
			if (path == lib || strings.HasPrefix(path, lib+"/")) && !slices.Contains(files, rel) {
				problems = append(problems, where+": imports "+path+": use go.yaml.in/yaml/v3 (and scaffold/internal/yamlnode); "+lib+" is for "+strings.Join(files, ", ")+" only")
			}
		}
		if enginePackage && (path == "github.com/paved-dev/paved/templates" || path == "github.com/paved-dev/paved/scaffold/verify") {
			problems = append(problems, where+": the engine imports "+path+": cmd/paved hands it what it needs")
		}
	}
	for _, decl := range f.Decls {
		if fd, ok := decl.(*ast.FuncDecl); ok && fd.Recv == nil && fd.Name.Name == "init" {
			problems = append(problems, rel+":"+strconv.Itoa(fset.Position(fd.Pos()).Line)+": func init(): no package registers itself; say it where it is used")
		}
	}
	return problems
}

// TestShapeProblems: each rule of TestShape finds what it is for.
func TestShapeProblems(t *testing.T) {
	long := "package x\n" + strings.Repeat("\n", maxLines)
	tests := []struct {
		rel, src string
		want     string // a substring of the one problem; "" for none
	}{
		{"scaffold/x.go", "package x\nimport \"testing\"\n", "scaffold/x.go:2: imports testing"},
		{"scaffold/scaffoldtest/x.go", "package x\nimport \"testing/fstest\"\n", "imports testing/fstest"},
		{"scaffold/x.go", "package x\nimport \"io/fs\"\n", ""},
		{"templates/x.go", "package x\nimport \"github.com/paved-dev/paved/scaffold\"\n", "templates imports github.com/paved-dev/paved/scaffold"},
		{"templates/templatetest/x.go", "package x\nimport \"github.com/paved-dev/paved/scaffold\"\n", ""},
		{"scaffold/x.go", "package x\nimport \"github.com/paved-dev/paved/templates\"\n", "the engine imports github.com/paved-dev/paved/templates"},
		{"scaffold/x.go", "package x\nimport \"github.com/paved-dev/paved/scaffold/verify\"\n", "the engine imports"},
		{"cmd/paved/x.go", "package x\nimport \"github.com/paved-dev/paved/scaffold/verify\"\n", ""},
		{"scaffold/verify/x.go", "package x\nfunc init() {}\n", "scaffold/verify/x.go:2: func init()"},
		{"scaffold/verify/x.go", "package x\nimport \"github.com/goccy/go-yaml/ast\"\n", "imports github.com/goccy/go-yaml/ast: use go.yaml.in/yaml/v3"},
		{"scaffold/yamltree.go", "package x\nimport \"github.com/goccy/go-yaml/ast\"\n", ""},
		{"scaffold/merge.go", "package x\nimport \"sigs.k8s.io/yaml\"\n", "sigs.k8s.io/yaml is for"},
		{"scaffold/x.go", "package x\nimport \"github.com/goccy/go-yamlx\"\n", ""},
		{"scaffold/x.go", "package x\ntype T struct{}\nfunc (T) init() {}\n", ""},
		{"scaffold/x.go", long, "501 lines"},
		{"scaffold/x.go", long[:len(long)-1], ""},
		{"templates/service/x.go", "package {{.Name}}\n", ""},
		{"scaffold/x.go", "package {{.Name}}\n", "expected"},
	}
	for _, tt := range tests {
		got := shapeProblems(tt.rel, []byte(tt.src))
		switch {
		case tt.want == "" && len(got) != 0:
			t.Errorf("%s %q: %q, want none", tt.rel, tt.src[:min(len(tt.src), 40)], got)
		case tt.want != "" && (len(got) != 1 || !strings.Contains(got[0], tt.want)):
			t.Errorf("%s %q: %q, want one with %q", tt.rel, tt.src[:min(len(tt.src), 40)], got, tt.want)
		}
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
