package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"debug/buildinfo"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/paved-dev/paved/scaffold/scaffoldtest"
)

// releaseBinaries are the programs every release archive holds.
var releaseBinaries = []string{"paved", "paved-verify"}

// TestReleaseSnapshot runs the release as the release workflow does, with
// the goreleaser pinned in tools/goreleaser/go.mod: `goreleaser check` on
// .goreleaser.yaml, then a snapshot release (nothing published) of a copy
// of this checkout, its builds narrowed to this machine's platform (each
// platform is a full compile of paved-verify) and without the signing and
// SBOM steps, whose cosign and syft the workflow installs. The archive must
// hold both binaries, built with the same flags, and checksums.txt its
// digest.
func TestReleaseSnapshot(t *testing.T) {
	if testing.Short() {
		t.Skip("builds goreleaser and a snapshot release")
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	goreleaser := goTool(t, root, "tools/goreleaser/go.mod", "goreleaser")
	runIn(t, root, goreleaser, "check")

	dir := filepath.Join(t.TempDir(), "paved")
	scaffoldtest.CopyCheckout(t, root, dir)
	narrowBuilds(t, filepath.Join(dir, ".goreleaser.yaml"), runtime.GOOS, runtime.GOARCH)
	scaffoldtest.Git(t, dir, "init", "-q")
	scaffoldtest.Git(t, dir, "add", "-A")
	scaffoldtest.Git(t, dir, "commit", "-qm", "snapshot")
	runIn(t, dir, goreleaser, "release", "--snapshot", "--clean", "--skip=sign,sbom")

	archive, version := releaseArchive(t, filepath.Join(dir, "dist"))
	files := untar(t, archive)
	for _, want := range append(slices.Clone(releaseBinaries), "README.md") {
		if _, ok := files[want]; !ok {
			t.Errorf("%s lacks %s; it holds %v", filepath.Base(archive), want, slices.Sorted(maps.Keys(files)))
		}
	}
	checksums, err := os.ReadFile(filepath.Join(dir, "dist", "checksums.txt"))
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(archive)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	if want := hex.EncodeToString(sum[:]) + "  " + filepath.Base(archive); !strings.Contains(string(checksums), want) {
		t.Errorf("checksums.txt lacks %q:\n%s", want, checksums)
	}

	bin := t.TempDir()
	var settings []string
	for _, name := range releaseBinaries {
		p := filepath.Join(bin, name)
		if err := os.WriteFile(p, files[name], 0o755); err != nil {
			t.Fatal(err)
		}
		settings = append(settings, buildSettings(t, p))
	}
	if settings[0] != settings[1] {
		t.Errorf("paved and paved-verify are built differently:\n%s\n%s", settings[0], settings[1])
	}
	if out := runIn(t, bin, filepath.Join(bin, "paved"), "version"); out != "paved "+version+"\n" {
		t.Errorf("the released paved says %q, want %q", out, "paved "+version)
	}
}

// TestInstallBoth: `go install github.com/paved-dev/paved/cmd/...@VERSION`
// installs both programs, this checkout published at VERSION in a file://
// GOPROXY in front of the machine's.
func TestInstallBoth(t *testing.T) {
	if testing.Short() {
		t.Skip("builds paved-verify from a published copy of the checkout")
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	proxy := scaffoldtest.NewProxy(t)
	version := proxy.AddCheckout(t, scaffoldtest.PavedModule, root)
	gobin := t.TempDir()
	env := append(proxy.FrontEnv(t, os.Environ(), scaffoldtest.PavedModule), "GOBIN="+gobin)
	cmd := exec.CommandContext(t.Context(), "go", "install", scaffoldtest.PavedModule+"/cmd/...@"+version)
	cmd.Dir, cmd.Env = t.TempDir(), env
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go install %s/cmd/...@%s: %v\n%s", scaffoldtest.PavedModule, version, err, out)
	}
	entries, err := os.ReadDir(gobin)
	if err != nil {
		t.Fatal(err)
	}
	var installed []string
	for _, e := range entries {
		installed = append(installed, e.Name())
	}
	if !slices.Equal(installed, releaseBinaries) {
		t.Fatalf("installed %v, want %v", installed, releaseBinaries)
	}
	if out := runIn(t, gobin, filepath.Join(gobin, "paved"), "version"); out != "paved "+version+"\n" {
		t.Errorf("the installed paved says %q, want %q", out, "paved "+version)
	}
}

// goTool builds a tool of a tools module of the checkout in root with
// `go tool -n` (the go command caches it) and returns its path.
func goTool(t *testing.T, root, modfile, name string) string {
	t.Helper()
	return strings.TrimSpace(runIn(t, root, "go", "tool", "-modfile="+modfile, "-n", name))
}

// runIn runs a command in dir and returns its standard output; a failure
// fails the test with everything it printed.
func runIn(t *testing.T, dir, name string, args ...string) string {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), name, args...)
	cmd.Dir = dir
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s (in %s): %v\n%s%s", name, strings.Join(args, " "), dir, err, stdout.Bytes(), stderr.Bytes())
	}
	return stdout.String()
}

// narrowBuilds rewrites every build of a GoReleaser configuration to one
// platform, leaving the rest of the file as it is.
func narrowBuilds(t *testing.T, path, goos, goarch string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	builds := mappingValue(doc.Content[0], "builds")
	if builds == nil || len(builds.Content) == 0 {
		t.Fatalf("%s has no builds", path)
	}
	for _, b := range builds.Content {
		for key, value := range map[string]string{"goos": goos, "goarch": goarch} {
			v := mappingValue(b, key)
			if v == nil {
				t.Fatalf("%s: a build without %s", path, key)
			}
			*v = yaml.Node{Kind: yaml.SequenceNode, Style: yaml.FlowStyle, Content: []*yaml.Node{{Kind: yaml.ScalarNode, Value: value}}}
		}
	}
	out, err := yaml.Marshal(&doc)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, out, 0o644); err != nil {
		t.Fatal(err)
	}
}

func mappingValue(m *yaml.Node, key string) *yaml.Node {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

// releaseArchive finds the one archive of a snapshot in dist, from the
// artifacts.json GoReleaser writes, and the version it released.
func releaseArchive(t *testing.T, dist string) (path, version string) {
	t.Helper()
	var artifacts []struct{ Path, Type string }
	var meta struct{ Version string }
	for name, v := range map[string]any{"artifacts.json": &artifacts, "metadata.json": &meta} {
		data, err := os.ReadFile(filepath.Join(dist, name))
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(data, v); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	for _, a := range artifacts {
		if a.Type == "Archive" {
			if path != "" {
				t.Fatalf("two archives for one platform: %s and %s", path, a.Path)
			}
			path = a.Path
		}
	}
	if path == "" {
		t.Fatalf("no archive among %+v", artifacts)
	}
	if !filepath.IsAbs(path) {
		path = filepath.Join(filepath.Dir(dist), path)
	}
	return path, meta.Version
}

// untar reads a .tar.gz into memory: file name to contents.
func untar(t *testing.T, path string) map[string][]byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{}
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return files
		}
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		files[h.Name] = data
	}
}

// buildSettings are the build settings a Go binary records (flags,
// environment, ldflags), one per line, but for its revision.
func buildSettings(t *testing.T, path string) string {
	t.Helper()
	bi, err := buildinfo.ReadFile(path)
	if err != nil {
		t.Fatalf("build info of %s: %v", path, err)
	}
	var lines []string
	for _, s := range bi.Settings {
		if !strings.HasPrefix(s.Key, "vcs.") {
			lines = append(lines, s.Key+"="+s.Value)
		}
	}
	return strings.Join(lines, "\n")
}
