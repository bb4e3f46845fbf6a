package scaffold_test

import (
	"context"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/paved-dev/paved/scaffold"
	"github.com/paved-dev/paved/scaffold/scaffoldtest"
)

var builtins = scaffold.Builtins{"service": fstest.MapFS{"paved.yaml": {Data: []byte("description: x\n")}}}

func TestParseSource(t *testing.T) {
	tests := []struct {
		spec string
		want scaffold.ParsedSource
		err  string
	}{
		{spec: "service", want: scaffold.ParsedSource{Kind: scaffold.SourceBuiltin, Name: "service"}},
		{spec: "./tmpl", want: scaffold.ParsedSource{Kind: scaffold.SourceDir, Name: "./tmpl"}},
		{spec: "/abs/tmpl", want: scaffold.ParsedSource{Kind: scaffold.SourceDir, Name: "/abs/tmpl"}},
		{spec: "github.com/acme/tmpl@v1.2.0", want: scaffold.ParsedSource{Kind: scaffold.SourceModule, Module: "github.com/acme/tmpl", Version: "v1.2.0"}},
		{spec: "github.com/acme/tmpl@latest//service", want: scaffold.ParsedSource{Kind: scaffold.SourceModule, Module: "github.com/acme/tmpl", Version: "latest", Subdir: "service"}},
		{spec: "", err: "empty template source"},
		{spec: "servce", err: `unknown template "servce": want a built-in (service)`},
		{spec: "github.com/acme/tmpl@", err: "empty version after @"},
		{spec: "not a path@v1.0.0", err: "malformed module path"},
		{spec: "github.com/acme/tmpl@v1.0.0//../x", err: "must be a relative path inside the module"},
	}
	for _, tt := range tests {
		t.Run(tt.spec, func(t *testing.T) {
			got, err := scaffold.ParseSource(tt.spec, builtins)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("got %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}
}

func TestOpenLocalDir(t *testing.T) {
	dir := t.TempDir()
	scaffoldtest.WriteTree(t, dir, map[string]string{"paved.yaml": "description: local\n"})
	r := &scaffold.Resolver{Builtins: builtins}

	tmpl, err := r.Open(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	if tmpl.Version != "" || tmpl.Source != dir {
		t.Errorf("outside git: %+v", tmpl)
	}

	scaffoldtest.Git(t, dir, "init", "-q")
	scaffoldtest.Git(t, dir, "add", ".")
	scaffoldtest.Git(t, dir, "commit", "-qm", "one")
	scaffoldtest.Git(t, dir, "tag", "v1.0.0")
	if tmpl, err = r.Open(context.Background(), dir); err != nil || tmpl.Version != "v1.0.0" {
		t.Errorf("tagged: version %q, %v", tmpl.Version, err)
	}
	scaffoldtest.WriteTree(t, dir, map[string]string{"more": "x"})
	scaffoldtest.Git(t, dir, "add", ".")
	scaffoldtest.Git(t, dir, "commit", "-qm", "two")
	// The newest version is the newest tag; a commit past it is named by describe.
	if tmpl, err = r.Open(context.Background(), dir); err != nil || tmpl.Version != "v1.0.0" {
		t.Errorf("after tag: version %q, %v", tmpl.Version, err)
	}
	if tmpl, err = r.Open(context.Background(), dir+"@HEAD"); err != nil || !strings.HasPrefix(tmpl.Version, "v1.0.0-1-g") || len(tmpl.Commit) != 40 {
		t.Errorf("at HEAD: version %q commit %q, %v", tmpl.Version, tmpl.Commit, err)
	}
	if _, err := fs.Stat(tmpl.FS, "paved.yaml"); err != nil {
		t.Error(err)
	}

	if _, err := r.Open(context.Background(), filepath.Join(dir, "missing")); err == nil {
		t.Error("missing directory accepted")
	}
}

func TestOpenModule(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the go command")
	}
	proxy := scaffoldtest.NewProxy(t)
	for _, v := range []string{"v1.0.0", "v1.1.0"} {
		src := t.TempDir()
		scaffoldtest.WriteTree(t, src, map[string]string{
			"go.mod":             "module example.com/tmpl\n\ngo 1.26\n",
			"tmpl.go":            "package tmpl\n",
			"service/paved.yaml": "description: " + v + "\n",
		})
		proxy.Add(t, "example.com/tmpl", v, src)
	}
	r := &scaffold.Resolver{Builtins: builtins, Env: proxy.GoEnv(t)}
	ctx := context.Background()

	tmpl, err := r.Open(ctx, "example.com/tmpl@latest//service")
	if err != nil {
		t.Fatal(err)
	}
	if tmpl.Version != "v1.1.0" || tmpl.Source != "example.com/tmpl//service" {
		t.Errorf("latest: %+v", tmpl)
	}
	data, err := fs.ReadFile(tmpl.FS, "paved.yaml")
	if err != nil || string(data) != "description: v1.1.0\n" {
		t.Errorf("paved.yaml = %q, %v", data, err)
	}
	if tmpl, err = r.Open(ctx, "example.com/tmpl@v1.0.0"); err != nil || tmpl.Version != "v1.0.0" {
		t.Errorf("pinned: %+v %v", tmpl, err)
	}
	// Now in the module cache: the exact version is read from there, with
	// no go command to run; a query still needs it.
	offline := &scaffold.Resolver{Builtins: builtins, Env: r.Env, Go: "/nonexistent/go"}
	if tmpl, err = offline.Open(ctx, "example.com/tmpl@v1.0.0//service"); err != nil || tmpl.Version != "v1.0.0" {
		t.Errorf("from the module cache: %+v %v", tmpl, err)
	} else if data, _ := fs.ReadFile(tmpl.FS, "paved.yaml"); string(data) != "description: v1.0.0\n" {
		t.Errorf("from the module cache: paved.yaml = %q", data)
	}
	if _, err := offline.Open(ctx, "example.com/tmpl@latest"); err == nil {
		t.Error("a query was answered without the go command")
	}
	for spec, want := range map[string]string{
		"example.com/tmpl@v9.0.0":             "example.com/tmpl@v9.0.0",
		"example.com/nothere@v1.0.0":          "example.com/nothere@v1.0.0",
		"example.com/tmpl@v1.0.0//nosuch/dir": "no directory nosuch/dir in the module",
	} {
		if _, err := r.Open(ctx, spec); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Open(%s) = %v, want %q", spec, err, want)
		}
	}
}
