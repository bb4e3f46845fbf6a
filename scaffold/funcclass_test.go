package scaffold

import (
	"context"
	"go/ast"
	"go/parser"
	"go/token"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"text/template"
	"text/template/parse"

	"github.com/Masterminds/sprig/v3"
)

// TestFuncTable holds funcTable to every function a template can reach:
// sprig's (a sprig upgrade that adds one fails here until it is
// classified), text/template's builtins and the function map's; and the
// function map to the table: what it refuses is not in the map, what it
// makes deterministic is paved's own, not sprig's.
func TestFuncTable(t *testing.T) {
	seen := map[string]funcClass{}
	for _, row := range funcTable {
		if row.reason == "" || row.class < deterministic || row.class > refused {
			t.Errorf("row %v: want a class and a reason", row.names)
		}
		if row.readsMap && row.class == refused {
			t.Errorf("row %v: a refused function is never called, with maps or not", row.names)
		}
		for _, name := range row.names {
			if c, dup := seen[name]; dup {
				t.Errorf("%s is classified twice (%v and %v)", name, c, row.class)
			}
			seen[name] = row.class
		}
	}
	reachable := map[string]string{}
	for name := range sprig.TxtFuncMap() {
		reachable[name] = "sprig"
	}
	for _, name := range textTemplateBuiltins(t) {
		reachable[name] = "text/template"
	}
	fm := uncappedFuncMap()
	for name, fn := range funcMap(newFuncBudget()) { // and what funcMap adds to it
		if _, ok := fm[name]; !ok {
			fm[name] = fn
		}
	}
	for name := range fm {
		if reachable[name] == "" {
			reachable[name] = "paved"
		}
	}
	for _, name := range slices.Sorted(maps.Keys(reachable)) {
		if _, ok := seen[name]; !ok {
			t.Errorf("%s (%s) is not classified in funcTable: say whether it is deterministic, made deterministic or refused, and why", name, reachable[name])
		}
	}
	sprigFuncs := sprig.TxtFuncMap()
	for _, name := range slices.Sorted(maps.Keys(seen)) {
		class := seen[name]
		_, inMap := fm[name]
		switch {
		case reachable[name] == "":
			t.Errorf("%s is classified but no template can call it: drop it from funcTable", name)
		case class == refused && inMap:
			t.Errorf("%s is refused but in the function map", name)
		case class != refused && !inMap && reachable[name] != "text/template":
			t.Errorf("%s is %v but not in the function map", name, class)
		case class == madeDeterministic && sprigFuncs[name] != nil && reflect.ValueOf(fm[name]).Pointer() == reflect.ValueOf(sprigFuncs[name]).Pointer():
			t.Errorf("%s is made deterministic but the function map holds sprig's", name)
		}
	}
}

// textTemplateBuiltins reads the names of text/template's builtins from
// the standard library's source (they are not exported), so that a Go
// release that adds one fails TestFuncTable too.
func textTemplateBuiltins(t *testing.T) []string {
	t.Helper()
	goroot, err := exec.CommandContext(context.Background(), "go", "env", "GOROOT").Output()
	if err != nil {
		t.Fatalf("go env GOROOT: %v", err)
	}
	file := filepath.Join(strings.TrimSpace(string(goroot)), "src", "text", "template", "funcs.go")
	f, err := parser.ParseFile(token.NewFileSet(), file, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	ast.Inspect(f, func(n ast.Node) bool {
		fn, ok := n.(*ast.FuncDecl)
		if !ok || fn.Name.Name != "builtins" {
			return true
		}
		ast.Inspect(fn.Body, func(n ast.Node) bool {
			if kv, ok := n.(*ast.KeyValueExpr); ok {
				if lit, ok := kv.Key.(*ast.BasicLit); ok {
					name, _ := strconv.Unquote(lit.Value)
					names = append(names, name)
				}
			}
			return true
		})
		return false
	})
	if len(names) < 10 {
		t.Fatalf("%s: found builtins %v, want text/template's (and, or, len, ...)", file, names)
	}
	// Each is a builtin indeed: it parses without a function map.
	for _, name := range names {
		if _, err := template.New("b").Parse("{{ " + name + " }}"); err != nil {
			t.Errorf("builtin %s: %v", name, err)
		}
	}
	return names
}

// TestProbeCallsEveryMapFunction holds the probe template of
// TestRendersAreDeterministic to funcTable: it calls every function that
// iterates a map and every one paved makes deterministic.
func TestProbeCallsEveryMapFunction(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "funcs", "probe.txt.tmpl"))
	if err != nil {
		t.Fatal(err)
	}
	tmpl, err := template.New("probe").Funcs(funcMap(newFuncBudget())).Parse(string(data))
	if err != nil {
		t.Fatal(err)
	}
	called := map[string]bool{}
	for _, tt := range tmpl.Templates() {
		walkIdentifiers(tt.Root, func(id *parse.IdentifierNode) { called[id.Ident] = true })
	}
	for _, row := range funcTable {
		if !row.readsMap && row.class != madeDeterministic {
			continue
		}
		for _, name := range row.names {
			if !called[name] {
				t.Errorf("testdata/funcs/probe.txt.tmpl does not call %s (%v, reads a map: %v)", name, row.class, row.readsMap)
			}
		}
	}
}

// TestRefusedAtRender: a refused function is refused by name, with why,
// wherever a render parses a template: a file, a path, a default.
func TestRefusedAtRender(t *testing.T) {
	for _, row := range funcTable {
		if row.class != refused {
			continue
		}
		for _, name := range row.names {
			why, _ := refusedReason(name)
			_, err := renderWith(t.Context(), t, Limits{}, map[string]string{"f.txt.tmpl": "ok\n{{ " + name + " }}\n"})
			oneLine(t, err, "f.txt.tmpl:2: "+why)
			if err != nil && err.Error() != "f.txt.tmpl:2: "+why {
				t.Errorf("%s in a file: %v", name, err)
			}
			_, err = renderWith(t.Context(), t, Limits{}, map[string]string{"{{ " + name + " }}/f.txt": "x"})
			oneLine(t, err, "paved.yaml: path {{ "+name+" }}/f.txt:1: "+why)
			m, err := ParseManifest(ManifestName, []byte("questions:\n  - name: A\n    default: '{{ "+name+" \"x\" }}'\n"))
			if err != nil {
				t.Fatal(err)
			}
			_, err = ResolveAnswers(m, map[string]any{}, AnswerInput{})
			oneLine(t, err, "paved.yaml: default of A:1: "+why)
		}
	}
	// A function no one defines is what text/template says it is.
	_, err := renderWith(t.Context(), t, Limits{}, map[string]string{"f.txt.tmpl": "{{ nwo }}"})
	oneLine(t, err, `f.txt.tmpl:1: function "nwo" not defined`)
	if got := explainRefused(`a:1: executing "a" at <fail>: error calling fail: x`); got != `a:1: executing "a" at <fail>: error calling fail: x` {
		t.Errorf("explainRefused changed an execution error: %s", got)
	}
}

// TestMadeDeterministic: paved's own versions of the functions it makes
// deterministic, one case at least for each.
func TestMadeDeterministic(t *testing.T) {
	tests := []struct {
		fn, text, want, wantErr string
	}{
		{fn: "keys", text: `{{ keys (dict "b" 1 "a" 2 "c" 3 "e" 4 "d" 5) }}`, want: "[a b c d e]"},
		{fn: "keys", text: `{{ keys (dict "b" 1 "a" 2) (dict "c" 1 "a" 3) }}`, want: "[a a b c]"},
		{fn: "keys", text: `{{ keys (dict) | len }}`, want: "0"},
		{fn: "values", text: `{{ values (dict "b" 1 "a" 2 "c" 3 "e" 4 "d" 5) }}`, want: "[2 1 3 5 4]"},
		{fn: "values", text: `{{ values (dict) | len }}`, want: "0"},
		{fn: "osBase", text: `{{ osBase "a/b/c.go" }} {{ osBase "a\\b" }}`, want: `c.go a\b`},
		{fn: "osClean", text: `{{ osClean "a//b/../c/" }}`, want: "a/c"},
		{fn: "osDir", text: `{{ osDir "a/b/c.go" }}`, want: "a/b"},
		{fn: "osExt", text: `{{ osExt "a/b.tar.gz" }}`, want: ".gz"},
		{fn: "osIsAbs", text: `{{ osIsAbs "/a" }} {{ osIsAbs "C:\\a" }}`, want: "true false"},
		{fn: "printf", text: `{{ printf "%v %s %q %x %T" (list (semver "1.2.3")) (list (semver "1.2.3")) (list (semver "1.2.3")) (list (semver "1.2.3")) (list (semver "1.2.3")) }}`,
			want: `[1.2.3] [1.2.3] ["1.2.3"] [312e322e33] []interface {}`},
		{fn: "printf", text: `{{ printf "%d %+v" (semver "1.2.3") (dict "a" (list 1)) }}`, want: "&{1 2 3 %!d(string=) %!d(string=) %!d(string=1.2.3)} map[a:[1]]"},
		{fn: "printf", text: `{{ printf "%d" (list (semver "1.2.3")) }}`, wantErr: "error calling printf: printf: %d prints a pointer inside a list or map (a semver) as its memory address"},
		{fn: "printf", text: `{{ printf "%#v" (dict "v" (semver "1.2.3")) }}`, wantErr: "printf: %#v prints a pointer"},
		{fn: "printf", text: `{{ printf "%z" (list (semver "1.2.3")) }}`, wantErr: "printf: %z prints a pointer"},
		{fn: "printf", text: `{{ printf "%.5.3v" (list (semver "1.2.3")) }}`, wantErr: "printf: %. prints a pointer"},
		{fn: "printf", text: `{{ printf "%[1][2]v" (list (semver "1.2.3")) }}`, wantErr: "printf: %[ prints a pointer"},
		{fn: "printf", text: `{{ printf "%p" (list 1) }}`, wantErr: "printf: %p prints a memory address"},
		{fn: "printf", text: `{{ printf "%5.2[1]p" "x" }}`, wantErr: "printf: %p prints a memory address"},
		{fn: "printf", text: `{{ printf "100%% %d%%" 5 }}`, want: "100% 5%"},
	}
	tested := map[string]bool{}
	for _, tt := range tests {
		tested[tt.fn] = true
		tmpl, err := template.New("f").Funcs(funcMap(newFuncBudget())).Parse(tt.text)
		if err != nil {
			t.Fatalf("%s: %v", tt.text, err)
		}
		var b strings.Builder
		err = tmpl.Execute(&b, nil)
		switch {
		case tt.wantErr != "":
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("%s: error %v, want %q", tt.text, err, tt.wantErr)
			}
		case err != nil:
			t.Errorf("%s: %v", tt.text, err)
		case b.String() != tt.want:
			t.Errorf("%s = %q, want %q", tt.text, b.String(), tt.want)
		}
	}
	for _, row := range funcTable {
		for _, name := range row.names {
			if row.class == madeDeterministic && !tested[name] {
				t.Errorf("%s is made deterministic but TestMadeDeterministic has no case for it", name)
			}
		}
	}
}
