package scaffoldtest_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/paved-dev/paved/scaffold/scaffoldtest"
)

// TestAddCheckout publishes a git checkout, uncommitted edits included, and
// reads it back with the go command: ignored files and nested modules stay
// out, and an edit makes a new version.
func TestAddCheckout(t *testing.T) {
	root := t.TempDir()
	scaffoldtest.WriteTree(t, root, map[string]string{
		"go.mod":         "module example.com/m\n\ngo 1.26\n",
		"m.go":           "package m\n",
		".gitignore":     "/bin/\n",
		"bin/m":          "a build output\n",
		"sub/go.mod":     "module example.com/m/sub\n",
		"sub/sub.go":     "package sub\n",
		"untracked.go":   "package m\n\nconst X = 1\n",
		"testdata/a.txt": "data\n",
	})
	scaffoldtest.Git(t, root, "init", "--quiet")
	scaffoldtest.Git(t, root, "add", "go.mod", "m.go", ".gitignore", "sub")

	p := scaffoldtest.NewProxy(t)
	v1 := p.AddCheckout(t, "example.com/m", root)
	if v1 != p.AddCheckout(t, "example.com/m", root) {
		t.Errorf("the same tree got two versions")
	}
	env := p.GoEnv(t)
	got := download(t, env, "example.com/m@"+v1)
	want := map[string]bool{"go.mod": true, "m.go": true, ".gitignore": true, "untracked.go": true, "testdata/a.txt": true}
	if len(got) != len(want) {
		t.Errorf("module %s holds %v, want %v", v1, got, want)
	}
	for name := range want {
		if !got[name] {
			t.Errorf("module %s lacks %s (has %v)", v1, name, got)
		}
	}

	scaffoldtest.WriteTree(t, root, map[string]string{"m.go": "package m\n\n// Changed.\n"})
	v2 := p.AddCheckout(t, "example.com/m", root)
	if v2 == v1 {
		t.Fatalf("an edited tree kept version %s", v1)
	}
	if got := download(t, env, "example.com/m@"+v2); !got["m.go"] {
		t.Errorf("module %s lacks m.go", v2)
	}
}

// download fetches mod@version and lists the files of its directory.
func download(t *testing.T, env []string, modVersion string) map[string]bool {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), "go", "mod", "download", "-json", modVersion)
	cmd.Env = env
	cmd.Dir = t.TempDir()
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go mod download %s: %v\n%s", modVersion, err, out)
	}
	var info struct{ Dir, Error string }
	if err := json.Unmarshal(out, &info); err != nil || info.Dir == "" {
		t.Fatalf("go mod download %s: %v %s", modVersion, err, out)
	}
	files := map[string]bool{}
	walkErr := filepath.WalkDir(info.Dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(info.Dir, path)
		files[filepath.ToSlash(rel)] = true
		return err
	})
	if walkErr != nil {
		t.Fatal(walkErr)
	}
	return files
}
