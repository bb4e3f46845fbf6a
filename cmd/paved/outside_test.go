package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/paved-dev/paved/scaffold/scaffoldtest"
)

// TestTemplateCommandsReadNothingOutside: a template directory's links to
// files outside it (a key, a CI secret) are never followed, whichever file
// they stand for, by new, template check or template test: no command
// prints or writes the outside bytes.
func TestTemplateCommandsReadNothingOutside(t *testing.T) {
	const secret = "SECRET-BYTES-OF-THE-HOST"
	for _, link := range []string{"paved.yaml", "paved-tests.yaml", "notes.txt.tmpl", "notes.txt", "conf"} {
		t.Run(link, func(t *testing.T) {
			work := t.TempDir()
			outside := filepath.Join(t.TempDir(), "secret")
			scaffoldtest.WriteTree(t, outside, map[string]string{"key": "cases:\n  - name: " + secret + "\n    module: 'not a module'\n", "dir/inner": secret})
			files := map[string]string{
				"tmpl/paved.yaml":       "questions:\n  - name: Name\n    default: x\n",
				"tmpl/paved-tests.yaml": "cases:\n  - name: a\n    module: example.com/acme/a\n",
				"tmpl/keep.txt":         "keep\n",
			}
			delete(files, "tmpl/"+link)
			scaffoldtest.WriteTree(t, work, files)
			target := filepath.Join(outside, "key")
			if link == "conf" {
				target = outside
			}
			if err := os.Symlink(target, filepath.Join(work, "tmpl", link)); err != nil {
				t.Fatal(err)
			}
			for _, args := range [][]string{
				{"template", "check", "tmpl"},
				{"template", "test", "-update", "-golden-only", "tmpl"},
				{"new", "--defaults", "--template", "./tmpl", "example.com/acme/app", "app"},
			} {
				code, stdout, stderr := runPaved(t, work, args...)
				t.Logf("paved %s: exit %d\n%s%s", strings.Join(args, " "), code, stdout, stderr)
				if strings.Contains(stdout+stderr, secret) {
					t.Errorf("paved %s printed bytes from outside the template:\n%s%s", strings.Join(args, " "), stdout, stderr)
				}
			}
			filepath.WalkDir(work, func(p string, d os.DirEntry, err error) error {
				if err == nil && d.Type().IsRegular() {
					if data, _ := os.ReadFile(p); strings.Contains(string(data), secret) {
						t.Errorf("%s holds bytes from outside the template", p)
					}
				}
				return nil
			})
		})
	}
}
