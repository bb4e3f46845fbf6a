package verify

import (
	"bytes"
	"context"
	"go/ast"
	"go/parser"
	"go/token"
	"slices"
	"strconv"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	dfparser "github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/paved-dev/paved/scaffold/internal/yamlnode"
	"go.yaml.in/yaml/v3"
)

// goenv finds Go environment settings that make every go command fail,
// wherever the repository sets them for its builds: in workflow env: maps
// and run: scripts, in Dockerfile ENV, ARG and RUN instructions, and in
// the magefiles' Go code.
//
//   - GOCACHE=off: the build cache is required since Go 1.12.
//   - GOFLAGS with -mod=vendor when the repository has no vendor/modules.txt.
//   - GOFLAGS with an entry that is not a flag (go refuses to parse it).
type goenv struct{}

func (goenv) Name() string { return "goenv" }

func (c goenv) Run(ctx context.Context, r *Repo) ([]Finding, error) {
	workflows := r.Glob(append(slices.Clone(workflowFiles), actionFiles...)...)
	dockerfiles := r.dockerfiles()
	magefiles := r.Glob("magefiles/*.go", "magefile.go")
	if len(workflows)+len(dockerfiles)+len(magefiles) == 0 {
		return nil, ErrNoInput
	}
	_, err := statInRoot(r.Dir, "vendor/modules.txt") // vendor/ is not among r.Files
	vendored := err == nil
	var out []Finding
	add := func(file string, line, col int, name, value string) {
		if msg := goenvProblem(name, value, vendored); msg != "" {
			out = append(out, Finding{Path: file, Line: max(line, 1), Col: max(col, 1), Message: msg})
		}
	}
	for _, f := range workflows {
		src, err := r.Read(f)
		if err != nil {
			return nil, err
		}
		root, _ := parseYAML(src) // syntax errors are the workflows check's
		workflowEnv(root, src, func(line, col int, name, value string) { add(f, line, col, name, value) })
	}
	for _, f := range dockerfiles {
		src, err := r.Read(f)
		if err != nil {
			return nil, err
		}
		dockerfileEnv(src, func(line int, name, value string) { add(f, line, 1, name, value) })
	}
	for _, f := range magefiles {
		src, err := r.Read(f)
		if err != nil {
			return nil, err
		}
		goSourceEnv(f, src, func(line, col int, name, value string) { add(f, line, col, name, value) })
	}
	return out, nil
}

// goenvProblem says what is wrong with setting name to value, or "".
func goenvProblem(name, value string, vendored bool) string {
	value = strings.Trim(value, `"'`)
	switch name {
	case "GOCACHE":
		if value == "off" {
			return "GOCACHE=off: the build cache is required since Go 1.12; every go build and go test fails (\"build cache is disabled by GOCACHE=off, but required\")"
		}
	case "GOFLAGS":
		for _, f := range strings.Fields(value) {
			switch {
			case !strings.HasPrefix(f, "-"):
				return "GOFLAGS=" + value + ": " + strconv.Quote(f) + " is not a flag; every go command fails (\"parsing $GOFLAGS: non-flag\")"
			case (f == "-mod=vendor" || f == "--mod=vendor") && !vendored:
				return "GOFLAGS=" + value + ": -mod=vendor, but the repository has no vendor/modules.txt; go commands fail (\"inconsistent vendoring\")"
			}
		}
	}
	return ""
}

// workflowEnv reports every Go setting of a workflow or action: env: maps
// at any level, and assignments in run: scripts.
func workflowEnv(n *yaml.Node, src []byte, report func(line, col int, name, value string)) {
	if n == nil {
		return
	}
	if n.Kind != yaml.MappingNode {
		for _, c := range n.Content {
			workflowEnv(c, src, report)
		}
		return
	}
	for k, v := range yamlnode.Pairs(n) {
		switch {
		case k.Value == "env" && v.Kind == yaml.MappingNode:
			for name, value := range yamlnode.Pairs(v) {
				report(value.Line, value.Column, name.Value, value.Value)
			}
		case k.Value == "run" && v.Kind == yaml.ScalarNode:
			scriptEnv(v, src, report)
		default:
			workflowEnv(v, src, report)
		}
	}
}

// scriptEnv reports the Go settings a shell script assigns: NAME=value
// words (also after export or env) and go env -w NAME=value.
func scriptEnv(n *yaml.Node, src []byte, report func(line, col int, name, value string)) {
	lines := strings.Split(n.Value, "\n")
	for i, l := range lines {
		for _, w := range shellWords(l) {
			name, value, ok := strings.Cut(w.text, "=")
			if !ok || (name != "GOCACHE" && name != "GOFLAGS") {
				continue
			}
			line, col := n.Line, n.Column+w.col
			if n.Style == yaml.LiteralStyle || n.Style == yaml.FoldedStyle {
				line = n.Line + 1 + i
				col = indentOf(src, line) + 1 + w.col
			} else if i > 0 {
				continue // a multi-line plain scalar: its lines are not the file's
			}
			report(line, col, name, value)
		}
	}
}

type shellWord struct {
	text string
	col  int // 0-based byte offset in the line
}

// shellWords splits a line into words, keeping quoted parts together and
// dropping the quotes; a # starts a comment.
func shellWords(l string) []shellWord {
	var out []shellWord
	var cur strings.Builder
	start, quote, in := 0, byte(0), false
	for i := 0; i < len(l); i++ {
		c := l[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			} else {
				cur.WriteByte(c)
			}
			continue
		case c == '"' || c == '\'':
			quote = c
		case c == ' ' || c == '\t' || c == ';' || c == '&' || c == '|':
			if in {
				out = append(out, shellWord{cur.String(), start})
				cur.Reset()
				in = false
			}
			continue
		case c == '#' && !in:
			return out
		default:
			cur.WriteByte(c)
		}
		if !in {
			start, in = i, true
		}
	}
	if in {
		out = append(out, shellWord{cur.String(), start})
	}
	return out
}

// dockerfileEnv reports the Go settings of ENV and ARG instructions and
// of the assignments in RUN commands.
func dockerfileEnv(src []byte, report func(line int, name, value string)) {
	res, err := dfparser.Parse(bytes.NewReader(src))
	if err != nil {
		return // the dockerfile check reports it
	}
	for _, node := range res.AST.Children {
		cmd, err := instructions.ParseInstruction(node)
		if err != nil {
			continue
		}
		line := node.StartLine
		switch c := cmd.(type) {
		case *instructions.EnvCommand:
			for _, kv := range c.Env {
				report(line, kv.Key, kv.Value)
			}
		case *instructions.ArgCommand:
			for _, kv := range c.Args {
				if kv.Value != nil {
					report(line, kv.Key, *kv.Value)
				}
			}
		case *instructions.RunCommand:
			for _, w := range shellWords(strings.Join(c.CmdLine, " ")) {
				if name, value, ok := strings.Cut(w.text, "="); ok {
					report(line, name, value)
				}
			}
		}
	}
}

// goSourceEnv reports the Go settings Go code makes: "NAME=value" string
// literals (an env list for exec.Cmd), "NAME": "value" map entries (mage's
// sh.RunWith) and os.Setenv("NAME", "value").
func goSourceEnv(name string, src []byte, report func(line, col int, name, value string)) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, name, src, parser.SkipObjectResolution)
	if err != nil {
		return // the build reports it
	}
	str := func(e ast.Expr) (string, bool) {
		lit, ok := e.(*ast.BasicLit)
		if !ok || lit.Kind != token.STRING {
			return "", false
		}
		s, err := strconv.Unquote(lit.Value)
		return s, err == nil
	}
	at := func(e ast.Expr) (int, int) {
		p := fset.Position(e.Pos())
		return p.Line, p.Column
	}
	ast.Inspect(f, func(n ast.Node) bool {
		switch x := n.(type) {
		case *ast.KeyValueExpr:
			k, ok1 := str(x.Key)
			v, ok2 := str(x.Value)
			if ok1 && ok2 {
				l, c := at(x.Value)
				report(l, c, k, v)
			}
		case *ast.CallExpr:
			if sel, ok := x.Fun.(*ast.SelectorExpr); ok && sel.Sel.Name == "Setenv" && len(x.Args) == 2 {
				k, ok1 := str(x.Args[0])
				v, ok2 := str(x.Args[1])
				if ok1 && ok2 {
					l, c := at(x.Args[1])
					report(l, c, k, v)
				}
				return false
			}
		case *ast.BasicLit:
			if s, ok := str(x); ok {
				if k, v, ok := strings.Cut(s, "="); ok {
					l, c := at(x)
					report(l, c, k, v)
				}
			}
		}
		return true
	})
}
