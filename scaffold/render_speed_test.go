package scaffold

import (
	"context"
	"strconv"
	"strings"
	"testing"
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
