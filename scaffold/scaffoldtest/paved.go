package scaffoldtest

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"golang.org/x/mod/module"
	modzip "golang.org/x/mod/zip"
)

// PavedModule is paved's own module path.
const PavedModule = "github.com/paved-dev/paved"

// pseudoTime is the commit time of every checkout version: the hash, not
// the time, tells versions apart.
var pseudoTime = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// AddCheckout publishes the module whose go.mod is in root, as it is on
// disk (committed or not), under a pseudo-version derived from the files'
// paths and contents, and returns that version. In a git work tree only the
// files git tracks or would track are packed (.gitignore honoured, so build
// outputs stay out), as a module zip made from the checkout would hold them.
//
// The version names the content: a rebuilt checkout gets a new version, so
// a module cache shared between runs never serves an older copy under the
// same name.
func (p *Proxy) AddCheckout(t TB, modPath, root string) string {
	t.Helper()
	names := checkoutFiles(t, root)
	sum := sha256.New()
	for _, name := range names {
		data, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(name)))
		if err != nil {
			t.Fatal(err)
		}
		// Name and length first, so no two different trees hash alike.
		fmt.Fprintf(sum, "%s\x00%d\x00", name, len(data))
		_, _ = sum.Write(data)
	}
	version := module.PseudoVersion("v0", "", pseudoTime, hex.EncodeToString(sum.Sum(nil))[:12])

	files := make([]modzip.File, 0, len(names))
	for _, name := range names {
		files = append(files, diskFile{root: root, name: name})
	}
	var zipData bytes.Buffer
	if err := modzip.Create(&zipData, module.Version{Path: modPath, Version: version}, files); err != nil {
		t.Fatalf("module zip of %s: %v", root, err)
	}
	gomod, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	info, err := json.Marshal(map[string]string{"Version": version, "Time": pseudoTime.Format("2006-01-02T15:04:05Z")})
	if err != nil {
		t.Fatal(err)
	}
	p.publish(t, modPath, version, gomod, info, zipData.Bytes())
	return version
}

// publish writes one version of a module into the proxy's layout.
func (p *Proxy) publish(t TB, modPath, version string, gomod, info, zipData []byte) {
	t.Helper()
	escPath, err := module.EscapePath(modPath)
	if err != nil {
		t.Fatal(err)
	}
	escVer, err := module.EscapeVersion(version)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(p.Dir, filepath.FromSlash(escPath), "@v")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string][]byte{escVer + ".mod": gomod, escVer + ".info": info, escVer + ".zip": zipData} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	list, _ := os.ReadFile(filepath.Join(dir, "list"))
	if !strings.Contains("\n"+string(list), "\n"+version+"\n") {
		if err := os.WriteFile(filepath.Join(dir, "list"), append(list, version+"\n"...), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// checkoutFiles lists the regular files of the module in root, slash
// separated and sorted: git's tracked and untracked-but-not-ignored files
// when root is in a git work tree, else every file. Nested modules, which
// a module zip never holds, are left out by modzip itself.
func checkoutFiles(t TB, root string) []string {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), "git", "ls-files", "-z", "--cached", "--others", "--exclude-standard", "--", ".")
	cmd.Dir = root
	out, err := cmd.Output()
	var names []string
	if err == nil {
		for name := range strings.SplitSeq(strings.TrimSuffix(string(out), "\x00"), "\x00") {
			if name == "" {
				continue
			}
			// Deleted but still tracked files are not in the checkout.
			if fi, statErr := os.Lstat(filepath.Join(root, filepath.FromSlash(name))); statErr == nil && fi.Mode().IsRegular() {
				names = append(names, name)
			}
		}
	} else {
		walkErr := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
			if err != nil || !d.Type().IsRegular() {
				return err
			}
			rel, err := filepath.Rel(root, path)
			names = append(names, filepath.ToSlash(rel))
			return err
		})
		if walkErr != nil {
			t.Fatal(walkErr)
		}
	}
	slices.Sort(names)
	names = slices.Compact(names)
	return names
}

// diskFile is a file of a checkout, as modzip.Create reads it.
type diskFile struct{ root, name string }

func (f diskFile) Path() string { return f.name }

func (f diskFile) Lstat() (os.FileInfo, error) {
	return os.Lstat(filepath.Join(f.root, filepath.FromSlash(f.name)))
}

func (f diskFile) Open() (io.ReadCloser, error) {
	return os.Open(filepath.Join(f.root, filepath.FromSlash(f.name)))
}
