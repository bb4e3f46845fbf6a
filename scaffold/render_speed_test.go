package scaffold

import (
	"context"
	"io/fs"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"
)

// TestRenderPathUnderRenderCaps: a path segment is rendered under the
// render's own caps (it runs inside the render), not the defaults: a
// segment larger than the file cap stops the render.
func TestRenderPathUnderRenderCaps(t *testing.T) {
	lim := Limits{MaxFile: 100}
	_, err := renderWith(context.Background(), t, lim, map[string]string{`{{ repeat 150 "a" }}/x.txt`: "x"})
	oneLine(t, err, "render exceeded 100 bytes")
}

// TestRenderPathsOnce: the segments a directory's files share render once,
// and every file still gets its own rendered path.
func TestRenderPathsOnce(t *testing.T) {
	files := map[string]string{}
	for i := range 50 {
		files["{{ .Module | base }}/f"+strconv.Itoa(i)+".txt"] = "x"
	}
	files["a/{{ .Module | base }}.txt.tmpl"] = "no actions, kept as it is }}"
	got, err := renderWith(context.Background(), t, Limits{}, files)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, f := range got {
		if strings.HasPrefix(f.Path, "x/f") {
			n++
		}
	}
	if n != 50 {
		t.Errorf("%d files under x/, want 50: %v", n, got)
	}
}

// TestRewriteModulePathManyFiles: the rewrite, spread over goroutines,
// rewrites every file, and of two bad files reports the first in path order.
func TestRewriteModulePathManyFiles(t *testing.T) {
	files := []File{{Path: "go.mod", Data: []byte("module example.com/old\n\ngo 1.26\n"), Mode: 0o644}}
	for i := range 300 {
		files = append(files, File{Path: "p" + strconv.Itoa(i/10) + "/f" + strconv.Itoa(i) + ".go", Data: []byte("package p\n\nimport _ \"example.com/old/q\"\n"), Mode: 0o644})
	}
	files = append(files, File{Path: "sub/go.mod", Data: []byte("module example.com/old/sub\n"), Mode: 0o644})
	if err := rewriteModulePath(files, "example.com/new"); err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if strings.Contains(string(f.Data), "example.com/old") {
			t.Errorf("%s not rewritten: %q", f.Path, f.Data)
		}
	}
	for range 20 {
		bad := []File{{Path: "go.mod", Data: []byte("module example.com/old\n"), Mode: 0o644},
			{Path: "a/bad.go", Data: []byte("not go"), Mode: 0o644},
			{Path: "b/bad.go", Data: []byte("not go either"), Mode: 0o644}}
		err := rewriteModulePath(bad, "example.com/new")
		if err == nil || !strings.Contains(err.Error(), "a/bad.go") {
			t.Fatalf("error %v, want a/bad.go's", err)
		}
	}
}

// TestLockOnAllCores: the lock made in parts is the lock made in one go.
func TestLockOnAllCores(t *testing.T) {
	for _, n := range []int{0, 1, 2, 3, 101} {
		var files []File
		for i := range n {
			files = append(files, File{Path: "f" + strconv.Itoa(i), Data: []byte(strconv.Itoa(i)), Mode: 0o644})
		}
		if n > 0 {
			files = append(files, File{Path: "l", Mode: fs.ModeSymlink, Link: "f0"}, File{Path: AnswersFileName, Data: []byte("x")})
		}
		answers := map[string]any{"A": 1}
		want, err := newLock(files, answers, "v1").Marshal()
		if err != nil {
			t.Fatal(err)
		}
		got, err := lockOnAllCores(files, answers, "v1").Marshal()
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != string(want) {
			t.Errorf("%d files: lock\n%s\nwant\n%s", n, got, want)
		}
	}
}

// TestRenderReadsInParallel: files read on all cores keep their modes, and
// of two files that cannot be read the render reports the first in walk
// order, every time.
func TestRenderReadsInParallel(t *testing.T) {
	fsys := fstest.MapFS{
		"paved.yaml": {Data: []byte("description: x\n")},
		"run.sh":     {Data: []byte("#!/bin/sh\n"), Mode: 0o700},
		"a.txt":      {Data: []byte("a"), Mode: 0o600},
	}
	for i := range 40 {
		fsys["d/f"+strconv.Itoa(i)] = &fstest.MapFile{Data: []byte("x")}
	}
	tmpl := &Template{FS: fsys, Source: "test", Version: "v1.0.0"}
	m, err := ReadManifest(fsys)
	if err != nil {
		t.Fatal(err)
	}
	in := RenderInput{Template: tmpl, Manifest: m, Module: "example.com/x", Data: RenderData("example.com/x", tmpl, "v1")}
	files, err := Render(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	modes := map[string]fs.FileMode{}
	for _, f := range files {
		modes[f.Path] = f.Mode
	}
	if modes["run.sh"] != 0o755 || modes["a.txt"] != 0o644 || len(files) != 42 {
		t.Errorf("modes %v", modes)
	}
	fsys["b/big"] = &fstest.MapFile{Data: []byte("0123456789")}
	fsys["c/big"] = &fstest.MapFile{Data: []byte("0123456789")}
	in.Template = &Template{FS: LimitFS(fsys, ReadLimits{File: 5}), Source: "test", Version: "v1.0.0"}
	for range 20 {
		_, err := Render(context.Background(), in)
		if err == nil || !strings.Contains(err.Error(), "b/big") {
			t.Fatalf("error %v, want b/big's", err)
		}
	}
}

// TestRenderRewritesOnce: the module path of files copied as they are is
// rewritten as they are read (the root go.mod is one of them), the rest
// after rendering, and no file twice, even when the new path extends the
// old one; with a rendered root go.mod everything is rewritten after.
func TestRenderRewritesOnce(t *testing.T) {
	for _, rootTmpl := range []bool{false, true} {
		fsys := fstest.MapFS{
			"paved.yaml":  {Data: []byte("description: x\n")},
			"sub/go.mod":  {Data: []byte("module example.com/a/sub\n")},
			"x.go":        {Data: []byte("package a\n\nimport _ \"example.com/a/p\"\n")},
			"p/t.go.tmpl": {Data: []byte("package p\n\nimport _ \"example.com/a/q\" // {{ .Module }}\n")},
			"sub/s.go":    {Data: []byte("package sub\n\nimport _ \"example.com/a/sub/r\"\n")},
			"notes.txt":   {Data: []byte("example.com/a stays\n")},
			"cmd/main.go": {Data: []byte("package main\n\nimport _ \"example.com/a\"\n")},
		}
		root := "go.mod"
		if rootTmpl {
			root = "go.mod.tmpl"
		}
		fsys[root] = &fstest.MapFile{Data: []byte("module example.com/a\n\ngo 1.26\n")}
		tmpl := &Template{FS: fsys, Source: "test", Version: "v1.0.0"}
		m, err := ReadManifest(fsys)
		if err != nil {
			t.Fatal(err)
		}
		mod := "example.com/a/b"
		files, err := Render(context.Background(), RenderInput{Template: tmpl, Manifest: m, Module: mod, Data: RenderData(mod, tmpl, "v1")})
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]string{}
		for _, f := range files {
			got[f.Path] = string(f.Data)
		}
		want := map[string]string{
			"go.mod":      "module example.com/a/b\n\ngo 1.26\n",
			"sub/go.mod":  "module example.com/a/b/sub\n",
			"x.go":        "package b\n\nimport _ \"example.com/a/b/p\"\n",
			"p/t.go":      "package p\n\nimport _ \"example.com/a/b/q\" // example.com/a/b\n",
			"sub/s.go":    "package sub\n\nimport _ \"example.com/a/b/sub/r\"\n",
			"notes.txt":   "example.com/a stays\n",
			"cmd/main.go": "package main\n\nimport _ \"example.com/a/b\"\n",
		}
		for p, w := range want {
			if got[p] != w {
				t.Errorf("root template %v: %s = %q, want %q", rootTmpl, p, got[p], w)
			}
		}
	}
}

// statCounter counts the Stat calls of the files it opens.
type statCounter struct {
	fs.FS
	stats *int
}

type countedFile struct {
	fs.File
	stats *int
}

func (c statCounter) Open(name string) (fs.File, error) {
	f, err := c.FS.Open(name)
	if err != nil {
		return nil, err
	}
	return countedFile{f, c.stats}, nil
}

func (f countedFile) Stat() (fs.FileInfo, error) { *f.stats++; return f.File.Stat() }

// TestLimitFSStatOnce: a file LimitFS opened says its size and mode from
// the Stat Open made, with or without a per-file cap.
func TestLimitFSStatOnce(t *testing.T) {
	for _, lim := range []ReadLimits{{}, {File: 100}} {
		stats := 0
		fsys := LimitFS(statCounter{fstest.MapFS{"a": {Data: []byte("abc"), Mode: 0o755}}, &stats}, lim)
		data, mode, err := readTemplateFile(fsys, "a")
		if err != nil || string(data) != "abc" || mode != 0o755 {
			t.Fatalf("limits %+v: %q %v %v", lim, data, mode, err)
		}
		if stats != 1 {
			t.Errorf("limits %+v: %d Stat calls, want 1", lim, stats)
		}
	}
}
