package scaffold

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"
)

// TestCheckTemplate has one case per defect class `paved template check`
// finds, each with its exact findings.
func TestCheckTemplate(t *testing.T) {
	const q = "questions:\n  - name: Name\n    default: '{{ .Module | moduleBase }}'\n"
	tests := []struct {
		name  string
		files map[string]string
		links map[string]string
		want  []string
	}{
		{
			name:  "clean",
			files: map[string]string{"paved.yaml": q, "README.md.tmpl": "# {{ .Name }} ({{ .Module }}, {{ .Template.Version }})\n", "{{ .Name }}/main.go": "package main\n"},
		},
		{
			name:  "manifest",
			files: map[string]string{"paved.yaml": "questions:\n  - name: A\n    tpye: bool\n"},
			want:  []string{`paved.yaml:3:1: unknown key "tpye" in question (known: choices, default, help, name, type, validate, when)`},
		},
		{
			name:  "undefined answer in a file",
			files: map[string]string{"paved.yaml": q, "a.txt.tmpl": "hello\n  {{ .Nmae }} and {{ range .Module }}{{ .Ignored }}{{ $.Port }}{{ end }}\n"},
			want:  []string{"a.txt.tmpl:2:5: uses .Nmae, which no question defines", "a.txt.tmpl:2:55: uses .Port, which no question defines"},
		},
		{
			name:  "undefined answer in a path",
			files: map[string]string{"paved.yaml": q, "cmd/{{ .Binary }}/main.go": "package main\n"},
			want:  []string{"cmd/{{ .Binary }}/main.go:1:1: path uses .Binary, which no question defines"},
		},
		{
			name: "when of a later question or none",
			files: map[string]string{"paved.yaml": "questions:\n  - name: A\n    type: bool\n    when: '{{ .B }}'\n  - name: B\n    type: bool\n    when: '{{ .C }}'\n",
				"x.txt": "x"},
			want: []string{
				"paved.yaml:4:11: question A: when uses .B, which is asked later (questions are asked in order)",
				"paved.yaml:7:11: question B: when uses .C, which no question defines",
			},
		},
		{
			name:  "default fails to render",
			files: map[string]string{"paved.yaml": "questions:\n  - name: N\n    type: int\n    default: '{{ .Module | len }}x'\n", "x.txt": "x"},
			want:  []string{`paved.yaml:4:14: question N: default does not render for module example.com/acme/example: answer N: "24x" is not an integer`},
		},
		{
			name: "unmatched files, rename and exclude",
			files: map[string]string{"paved.yaml": q + "files:\n  - path: 'deploy/**'\n    when: '{{ .Name }}'\nrename:\n  cmd/servce: 'cmd/{{ .Name }}'\nexclude:\n  - 'internal/stub.go'\n",
				"cmd/service/main.go": "package main\n"},
			want: []string{
				`paved.yaml:5:11: files[0]: path "deploy/**" matches no template file`,
				`paved.yaml:8:3: rename: "cmd/servce" is no template file or directory`,
				`paved.yaml:10:5: exclude: "internal/stub.go" matches no template file`,
			},
		},
		{
			name:  "tmpl that does not parse",
			files: map[string]string{"paved.yaml": "delims: ['<%', '%>']\n", "a.yaml.tmpl": "ok: <% .Module %>\nbad: <% if .Module %>\n"},
			want:  []string{`a.yaml.tmpl:3:1: does not parse with delims <% %>: unexpected EOF`},
		},
		{
			name:  "braces outside tmpl with default delims",
			files: map[string]string{"paved.yaml": q, "chart/templates/svc.yaml": "kind: Service\nmetadata:\n  name: {{ .Release.Name }}\n"},
			want:  []string{`chart/templates/svc.yaml:3:9: holds {{ but is not a .tmpl file, so it is copied as it is; if it is a Helm or Actions file, set delims: ["<%", "%>"] in paved.yaml so that it can be a .tmpl file and keep its {{ }}; if it should be rendered, add .tmpl`},
		},
		{
			name:  "tmpl without an action",
			files: map[string]string{"paved.yaml": q, "notes.txt.tmpl": "plain text\n", "inner.txt.tmpl.tmpl": "{{ \"{{\" }}later{{ \"}}\" }}\n", "later.txt.tmpl.tmpl": "no action for now\n"},
			want:  []string{"notes.txt.tmpl:1:1: ends in .tmpl but holds no {{ action: drop the .tmpl suffix (it is copied as it is)"},
		},
		{
			name:  "binary tmpl",
			files: map[string]string{"paved.yaml": q, "logo.png.tmpl": "\x89PNG\r\n\x1a\n\x00\x00"},
			want:  []string{"logo.png.tmpl:1:1: is binary but ends in .tmpl: it would be rendered as text; drop the .tmpl suffix"},
		},
		{
			name: "paths the policy refuses",
			files: map[string]string{"paved.yaml": "questions:\n  - name: D\n    default: '..'\n", "{{ .D }}/evil.txt": "x", ".paved-answers.yaml.tmpl": "{{ .D }}",
				"A.txt": "a", "a.txt": "a"},
			links: map[string]string{"out": "../../etc"},
			want: []string{
				`.paved-answers.yaml.tmpl:1:1: the output-path policy refuses it (module example.com/acme/example): path ".paved-answers.yaml.tmpl": is reserved for paved's own files (.paved-*)`,
				`a.txt:1:1: the output-path policy refuses it: path "a.txt": is the same file as "A.txt" on case-insensitive file systems`,
				`out:1:1: the output-path policy refuses it: path "out": symbolic link to ../../etc leaves the repository`,
				`{{ .D }}/evil.txt:1:1: the output-path policy refuses it (module example.com/acme/example): path "../evil.txt": segment .. (the path must be clean and stay in the repository)`,
			},
		},
		{
			name:  "every refusal of the tree, not only the first",
			files: map[string]string{"paved.yaml": q, "A.txt": "a", "a.txt": "a", "B.md": "b", "b.md": "b"},
			links: map[string]string{"up": "../x"},
			want: []string{
				`a.txt:1:1: the output-path policy refuses it: path "a.txt": is the same file as "A.txt" on case-insensitive file systems`,
				`b.md:1:1: the output-path policy refuses it: path "b.md": is the same file as "B.md" on case-insensitive file systems`,
				`up:1:1: the output-path policy refuses it: path "up": symbolic link to ../x leaves the repository`,
			},
		},
		{
			name:  "link leaving the tree",
			files: map[string]string{"paved.yaml": q, "x.txt": "x"},
			links: map[string]string{"out": "../../etc/passwd"},
			want:  []string{`out:1:1: the output-path policy refuses it: path "out": symbolic link to ../../etc/passwd leaves the repository`},
		},
		{
			name: "cases file",
			files: map[string]string{"paved.yaml": q, "x.txt": "x", "testdata/golden/a/x.txt": "x",
				"paved-tests.yaml": "cases:\n  - name: a\n    module: example.com/a\n    answers: {Nmae: x}\n"},
			want: []string{
				"paved-tests.yaml:1:1: golden trees in testdata/golden would be rendered into repositories: add 'testdata/golden/**' to exclude in paved.yaml",
				"paved-tests.yaml:2:5: case a: answer Nmae: the template has no such question",
			},
		},
		{
			name: "refused functions, every call where it is",
			files: map[string]string{
				"paved.yaml": "questions:\n  - name: Name\n    default: '{{ env \"USER\" }}'\n  - name: On\n    type: bool\n    when: '{{ now | toString | empty }}'\n" +
					"files:\n  - path: 'x.txt'\n    when: '{{ randAlpha 3 }}'\nrename:\n  cmd/service: 'cmd/{{ uuidv4 }}'\n",
				"x.txt":                     "x",
				"cmd/service/main.go":       "package main\n",
				"a.txt.tmpl":                "{{ .Name }}\n  {{ keys (dict) }} {{ now | date \"2006\" }}\n{{ define \"t\" }}{{ if true }}{{ (getHostByName \"x\") }}{{ end }}{{ end }}\n",
				"{{ shuffle .Name }}/b.txt": "b",
			},
			want: []string{
				`a.txt.tmpl:2:23: function "now" is refused: it reads the clock (a render gives the same bytes on every run and every machine)`,
				`a.txt.tmpl:2:29: function "date" is refused: it formats a date in the host's time zone (and no date is now) (a render gives the same bytes on every run and every machine)`,
				`a.txt.tmpl:3:33: function "getHostByName" is refused: it asks DNS: the network (a render gives the same bytes on every run and every machine)`,
				`paved.yaml:3:14: question Name: default: function "env" is refused: it reads the environment (a render gives the same bytes on every run and every machine)`,
				`paved.yaml:6:11: question On: when: function "now" is refused: it reads the clock (a render gives the same bytes on every run and every machine)`,
				`paved.yaml:9:11: files[0] (x.txt): when: function "randAlpha" is refused: it is random (a render gives the same bytes on every run and every machine)`,
				`paved.yaml:11:16: rename cmd/service: target: function "uuidv4" is refused: it is random (a render gives the same bytes on every run and every machine)`,
				`{{ shuffle .Name }}/b.txt:1:1: path: function "shuffle" is refused: it is random (a render gives the same bytes on every run and every machine)`,
			},
		},
		{
			name:  "cases file that does not parse",
			files: map[string]string{"paved.yaml": q, "x.txt": "x", "paved-tests.yaml": "cases:\n  - name: a\n    modul: example.com/a\n"},
			want:  []string{`paved-tests.yaml:3:1: unknown key "modul" in case (known: name, module, answers, commands, timeout)`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fsys := fstest.MapFS{}
			for name, data := range tt.files {
				fsys[name] = &fstest.MapFile{Data: []byte(data), Mode: 0o644}
			}
			for name, target := range tt.links {
				fsys[name] = &fstest.MapFile{Data: []byte(target), Mode: fs.ModeSymlink}
			}
			findings, err := CheckTemplate(t.Context(), fsys)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, f := range findings {
				got = append(got, f.String())
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("findings (-want +got):\n%s", diff)
			}
		})
	}
}

// TestCheckTemplateBuiltins: the built-in templates are clean.
func TestCheckTemplateBuiltins(t *testing.T) {
	dirs, _ := filepath.Glob(filepath.Join("..", "templates", "*", ManifestName))
	if len(dirs) == 0 {
		t.Fatal("no built-in templates found")
	}
	for _, m := range dirs {
		dir := filepath.Dir(m)
		t.Run(filepath.Base(dir), func(t *testing.T) {
			findings, err := CheckTemplate(t.Context(), os.DirFS(dir))
			if err != nil {
				t.Fatal(err)
			}
			var lines []string
			for _, f := range findings {
				lines = append(lines, f.String())
			}
			if len(lines) > 0 {
				t.Errorf("findings in the built-in %s:\n%s", filepath.Base(dir), strings.Join(lines, "\n"))
			}
		})
	}
}

func TestCheckTemplateNoManifest(t *testing.T) {
	_, err := CheckTemplate(t.Context(), fstest.MapFS{"go.mod": {Data: []byte("module x\n")}})
	if err == nil || !strings.Contains(err.Error(), "no paved.yaml") {
		t.Fatalf("err = %v", err)
	}
}

// FuzzCheckTemplate: whatever a manifest and a file hold, check reports
// findings (or an error) and never panics.
func FuzzCheckTemplate(f *testing.F) {
	f.Add("questions:\n  - name: Name\n    default: '{{ .Module }}'\n    when: '{{ .X }}'\nfiles:\n  - path: 'a/**'\n    when: '{{ .Name }}'\n", "a/{{ .Name }}.tmpl", "{{ range .Name }}{{ $.Y }}{{ end }}")
	f.Add("delims: ['<%', '%>']\nrename:\n  a: 'b/<% .Q %>'\n", "a/x.tmpl", "<% if %>")
	f.Fuzz(func(t *testing.T, manifest, name, content string) {
		fsys := fstest.MapFS{"paved.yaml": {Data: []byte(manifest)}}
		if fs.ValidPath(name) && name != "paved.yaml" && name != "." {
			fsys[name] = &fstest.MapFile{Data: []byte(content)}
		}
		findings, err := CheckTemplate(t.Context(), fsys)
		for _, fd := range findings {
			if fd.Line < 1 || fd.Col < 1 || fd.File == "" || fd.Message == "" {
				t.Fatalf("malformed finding %+v", fd)
			}
		}
		_ = err
	})
}
