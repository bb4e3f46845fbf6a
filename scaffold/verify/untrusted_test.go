package verify

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A pull request's chart that links to a file outside the repository and
// prints it (.Files.Get, .Files.Glob, a template or values file that is
// the link) must not get the file's bytes into a finding: Helm's loader
// follows links, so verify gives it a copy without them, and says where
// the link is.
func TestChartLinkLeavingRepository(t *testing.T) {
	const secret = "SECRET-KEY-MATERIAL-0123456789"
	chart := "deploy/helm/payments"
	tests := []struct {
		name  string
		link  string // the link, relative to the chart
		files map[string]string
	}{
		{"Files.Get into a field", "files/id_rsa", map[string]string{
			"templates/leak.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: leak\n  labels:\n    k: {{ .Files.Get \"files/id_rsa\" | quote }}\n",
		}},
		{"Files.Glob", "files/env", map[string]string{
			"templates/leak.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: leak\n  labels:\n{{- range $p, $_ := .Files.Glob \"files/*\" }}\n    {{ $p | base }}: {{ $.Files.Get $p | quote }}\n{{- end }}\n",
		}},
		{"a template that is the link", "templates/leak.yaml", nil},
		{"a values file that is the link", "values-leak.yaml", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			outside := filepath.Join(t.TempDir(), "id_rsa")
			if err := os.WriteFile(outside, []byte("kind: "+secret+"\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			dir := caseRepo(t, "")
			for name, content := range tt.files {
				writeFile(t, filepath.Join(dir, chart, name), content)
			}
			link := filepath.Join(dir, chart, filepath.FromSlash(tt.link))
			if err := os.MkdirAll(filepath.Dir(link), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(outside, link); err != nil {
				t.Fatal(err)
			}
			rep, err := Run(context.Background(), dir, Options{Shellcheck: "-", Checks: []string{"helm", "kubernetes", "consistency"}})
			if err != nil {
				t.Fatal(err)
			}
			var all strings.Builder
			found := false
			for _, f := range rep.Findings {
				all.WriteString(f.String() + "\n")
				if f.Path == chart+"/"+tt.link && strings.Contains(f.Message, "outside the repository") {
					found = true
				}
			}
			for _, e := range rep.Errors {
				all.WriteString(e.Error() + "\n")
			}
			if strings.Contains(all.String(), secret) {
				t.Errorf("verify printed bytes of a file outside the repository:\n%s", all.String())
			}
			if !found {
				t.Errorf("no finding at the link %s:\n%s", tt.link, all.String())
			}
		})
	}
}

// Read goes through the repository's root: a link that leaves is an
// error, a link to a file inside is that file.
func TestReadStaysInRepository(t *testing.T) {
	outside := filepath.Join(t.TempDir(), "secret")
	writeFile(t, outside, "secret")
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "inside.txt"), "inside")
	if err := os.Symlink(outside, filepath.Join(dir, "out.txt")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("inside.txt", filepath.Join(dir, "in.txt")); err != nil {
		t.Fatal(err)
	}
	r, err := OpenRepo(dir)
	if err != nil {
		t.Fatal(err)
	}
	if b, err := r.Read("out.txt"); err == nil {
		t.Errorf("Read followed a link out of the repository: %q", b)
	}
	if b, err := r.Read("in.txt"); err != nil || string(b) != "inside" {
		t.Errorf("Read(in.txt) = %q, %v; want the linked file inside", b, err)
	}
	if strings.Join(r.Links, ",") != "out.txt" {
		t.Errorf("Links = %q, want [out.txt]", r.Links)
	}
	if strings.Join(r.Files, ",") != "in.txt,inside.txt" {
		t.Errorf("Files = %q, want [in.txt inside.txt]", r.Files)
	}
}

func writeFile(t *testing.T, name, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(name, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// actionlint reads local actions from disk: a local action that is a link
// out of the repository must not be read, and the link is a finding.
func TestActionLinkLeavingRepository(t *testing.T) {
	const secret = "SECRET-TOKEN-abcdef0123456789"
	outside := filepath.Join(t.TempDir(), "environ")
	writeFile(t, outside, "name: x\nruns: {using: "+secret+"}\n")
	dir := caseRepo(t, "")
	writeFile(t, filepath.Join(dir, ".github/workflows/leak.yml"), "name: leak\non: push\npermissions:\n  contents: read\njobs:\n  a:\n    runs-on: ubuntu-24.04\n    steps:\n      - uses: ./.github/actions/leak\n")
	link := filepath.Join(dir, ".github/actions/leak/action.yml")
	if err := os.MkdirAll(filepath.Dir(link), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, link); err != nil {
		t.Fatal(err)
	}
	rep, err := Run(context.Background(), dir, Options{Shellcheck: "-", Checks: []string{"workflows"}})
	if err != nil {
		t.Fatal(err)
	}
	var all strings.Builder
	found := false
	for _, f := range rep.Findings {
		all.WriteString(f.String() + "\n")
		found = found || f.Path == ".github/actions/leak/action.yml" && strings.Contains(f.Message, "outside the repository")
	}
	for _, e := range rep.Errors {
		all.WriteString(e.Error() + "\n")
	}
	if strings.Contains(all.String(), secret) {
		t.Errorf("verify printed bytes of a file outside the repository:\n%s", all.String())
	}
	if !found {
		t.Errorf("no finding at the link:\n%s", all.String())
	}
}
