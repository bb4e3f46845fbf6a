package scaffold

import (
	"bytes"
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
)

const renderManifest = `delims: ["<%", "%>"]
questions:
  - name: Name
    default: app
  - name: Kube
    type: bool
    default: true
files:
  - path: 'deploy/**'
    when: '<% .Kube %>'
rename:
  cmd/app: 'cmd/<% .Name %>'
exclude: ['internal/name.go']
`

func renderMapFS(t *testing.T, fsys fstest.MapFS, modPath string, set ...string) ([]File, error) {
	t.Helper()
	tmpl := &Template{FS: fsys, Source: "test", Version: "v1.0.0"}
	m, err := ReadManifest(fsys)
	if err != nil {
		t.Fatal(err)
	}
	data := RenderData(modPath, tmpl, "v9.9.9")
	if m != nil {
		if _, err := ResolveAnswers(m, data, AnswerInput{Set: set}); err != nil {
			t.Fatal(err)
		}
	}
	return Render(context.Background(), RenderInput{Template: tmpl, Manifest: m, Module: modPath, Data: data})
}

func filesByPath(files []File) map[string]File {
	out := map[string]File{}
	for _, f := range files {
		out[f.Path] = f
	}
	return out
}

func TestRender(t *testing.T) {
	fsys := fstest.MapFS{
		"paved.yaml":              {Data: []byte(renderManifest)},
		"go.mod":                  {Data: []byte("module example.com/tmpl\n\ngo 1.26\n")},
		"cmd/app/main.go":         {Data: []byte("package main\n\nimport _ \"example.com/tmpl/internal\"\n\nfunc main() {}\n")},
		"internal/name.go":        {Data: []byte("package internal\n\nconst Name = \"app\"\n")},
		"internal/name.go.tmpl":   {Data: []byte("package internal\n\nconst Name = \"<% .Name %>\"\n")},
		"README.md.tmpl":          {Data: []byte("# <% .Name %> (<% .Module %>) from <% .Template.Source %>@<% .Template.Version %> by paved <% .Paved.Version %>\n{{ keep }} ${{ keep }}\n")},
		"raw.txt":                 {Data: []byte("<% .Name %> stays raw\n")},
		"deploy/<% .Name %>.yaml": {Data: []byte("kind: x\n")},
		"scripts/run.sh":          {Data: []byte("#!/bin/sh\n"), Mode: 0o755},
		"tools/go.mod":            {Data: []byte("module example.com/tmpl/tools\n\ngo 1.26\n")},
	}
	files, err := renderMapFS(t, fsys, "example.com/acme/payments", "Name=payments")
	if err != nil {
		t.Fatal(err)
	}
	got := filesByPath(files)
	want := map[string]string{
		"go.mod":               "module example.com/acme/payments\n\ngo 1.26\n",
		"cmd/payments/main.go": "package main\n\nimport _ \"example.com/acme/payments/internal\"\n\nfunc main() {}\n",
		"internal/name.go":     "package internal\n\nconst Name = \"payments\"\n",
		"README.md":            "# payments (example.com/acme/payments) from test@v1.0.0 by paved v9.9.9\n{{ keep }} ${{ keep }}\n",
		"raw.txt":              "<% .Name %> stays raw\n",
		"deploy/payments.yaml": "kind: x\n",
		"scripts/run.sh":       "#!/bin/sh\n",
		"tools/go.mod":         "module example.com/acme/payments/tools\n\ngo 1.26\n",
	}
	if len(got) != len(want) {
		t.Errorf("rendered %d files, want %d: %v", len(got), len(want), files)
	}
	for p, content := range want {
		f, ok := got[p]
		if !ok {
			t.Errorf("missing %s", p)
			continue
		}
		if string(f.Data) != content {
			t.Errorf("%s =\n%s\nwant\n%s", p, f.Data, content)
		}
	}
	if got["scripts/run.sh"].Mode != 0o755 || got["raw.txt"].Mode != 0o644 {
		t.Errorf("modes not kept: run.sh %v raw.txt %v", got["scripts/run.sh"].Mode, got["raw.txt"].Mode)
	}

	// A condition that is false drops its files.
	files, err = renderMapFS(t, fsys, "example.com/acme/payments", "Kube=false")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if strings.HasPrefix(f.Path, "deploy/") {
			t.Errorf("%s rendered although Kube=false", f.Path)
		}
	}
}

func TestRenderDeterministic(t *testing.T) {
	fsys := fstest.MapFS{
		"paved.yaml": {Data: []byte(renderManifest)},
		"a.tmpl":     {Data: []byte(`<% range $k, $v := dict "b" 1 "a" 2 "c" 3 %><% $k %><% end %> <% list 3 1 2 | sortAlpha %>`)},
	}
	first, err := renderMapFS(t, fsys, "example.com/x")
	if err != nil {
		t.Fatal(err)
	}
	for range 20 {
		again, err := renderMapFS(t, fsys, "example.com/x")
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(again[0].Data, first[0].Data) {
			t.Fatalf("render differs between runs: %q vs %q", again[0].Data, first[0].Data)
		}
	}
}

func TestRenderErrors(t *testing.T) {
	tests := []struct {
		name  string
		files fstest.MapFS
		want  string
	}{
		{"env removed", fstest.MapFS{"a.tmpl": {Data: []byte("line1\n<% env \"HOME\" %>")}}, `a.tmpl:2: function "env" is refused: it reads the environment`},
		{"expandenv removed", fstest.MapFS{"a.tmpl": {Data: []byte("<% expandenv \"$HOME\" %>")}}, `a.tmpl:1: function "expandenv" is refused: it reads the environment`},
		{"clock removed", fstest.MapFS{"a.tmpl": {Data: []byte("<% now %>")}}, `a.tmpl:1: function "now" is refused: it reads the clock`},
		{"dns removed", fstest.MapFS{"a.tmpl": {Data: []byte("<% getHostByName \"x\" %>")}}, `a.tmpl:1: function "getHostByName" is refused: it asks DNS`},
		{"missing key", fstest.MapFS{"b/a.tmpl": {Data: []byte("\n\n<% .Nope %>")}}, `b/a.tmpl:3:3: executing "b/a.tmpl" at <.Nope>: map has no entry for key "Nope"`},
		{"path escapes", fstest.MapFS{"<% .Up %>/x": {Data: []byte("x")}}, `<% .Up %>/x: path "../x": segment ..`},
		{"two files one path", fstest.MapFS{"a": {}, "a.tmpl": {}}, "a and a.tmpl both render to a"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.files["paved.yaml"] = &fstest.MapFile{Data: []byte("delims: ['<%', '%>']\nquestions:\n  - name: Up\n    default: '..'\n")}
			_, err := renderMapFS(t, tt.files, "example.com/x")
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want %q", err, tt.want)
			}
		})
	}
}

func TestRenderEmptySegmentDropsFile(t *testing.T) {
	fsys := fstest.MapFS{
		"paved.yaml":                          {Data: []byte("delims: ['<%', '%>']\nquestions:\n  - name: On\n    type: bool\n")},
		"<% if .On %>extra<% end %>/file.txt": {Data: []byte("x")},
		"keep.txt":                            {Data: []byte("y")},
	}
	files, err := renderMapFS(t, fsys, "example.com/x")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 1 || files[0].Path != "keep.txt" {
		t.Fatalf("files = %v", files)
	}
}

func TestRenderSymlinks(t *testing.T) {
	dir := t.TempDir()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.WriteFile(filepath.Join(dir, "target.txt"), []byte("t"), 0o644))
	must(os.Mkdir(filepath.Join(dir, "sub"), 0o755))
	must(os.Symlink("../target.txt", filepath.Join(dir, "sub", "inside")))
	tmpl := &Template{FS: os.DirFS(dir)}
	files, err := Render(context.Background(), RenderInput{Template: tmpl, Module: "example.com/x", Data: map[string]any{}})
	if err != nil {
		t.Fatal(err)
	}
	got := filesByPath(files)
	if f := got["sub/inside"]; f.Mode&fs.ModeSymlink == 0 || f.Link != "../target.txt" {
		t.Errorf("link not kept: %+v", f)
	}

	for _, target := range []string{"../../outside", "/etc/passwd"} {
		link := filepath.Join(dir, "sub", "bad")
		os.Remove(link)
		must(os.Symlink(target, link))
		_, err := Render(context.Background(), RenderInput{Template: tmpl, Module: "example.com/x", Data: map[string]any{}})
		if err == nil || !strings.Contains(err.Error(), `path "sub/bad": symbolic link to `+target) {
			t.Errorf("link to %s: error %v, want it rejected", target, err)
		}
	}
}
