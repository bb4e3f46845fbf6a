package scaffold

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/paved-dev/paved/scaffold/scaffoldtest"
)

// BenchmarkUpdate updates a repository with many files of its own from a
// 100-file template, back and forth between two versions that differ in
// ten files (with renames: that also moves those ten to another
// directory, so rename detection runs). The repository is not in git, so
// the figure is paved's own cost (git status would add its own, which
// grows with the repository).
func BenchmarkUpdate(b *testing.B) {
	for _, bench := range []struct {
		userFiles int
		renames   bool
	}{{5000, false}, {50000, false}, {5000, true}, {50000, true}} {
		userFiles := bench.userFiles
		name := fmt.Sprintf("user-files=%d", userFiles)
		wantChanges := 12 // ten files, the answers file and the lock
		if bench.renames {
			name += "/renames"
			wantChanges = 22 // ten renamed, their ten old paths removed, the answers file, the lock
		}
		b.Run(name, func(b *testing.B) {
			tr := newTemplateRepo(b)
			for _, v := range []string{"v1.0.0", "v2.0.0"} {
				files := map[string]string{"paved.yaml": "questions:\n  - name: Name\n    default: app\n"}
				for i := range 100 {
					content := fmt.Sprintf("file %d of {{ .Name }}\nline 2\nline 3\n", i)
					dir := fmt.Sprintf("dir%d", i%7)
					if i%10 == 0 && v == "v2.0.0" {
						content += "added in v2\n"
						if bench.renames {
							dir = "moved"
						}
					}
					files[fmt.Sprintf("%s/file%d.txt.tmpl", dir, i)] = content
				}
				tr.tag(b, v, files)
			}
			r := &Resolver{Builtins: Builtins{}}
			dir := filepath.Join(b.TempDir(), "repo")
			ctx := context.Background()
			if _, err := New(ctx, NewOptions{Module: "example.com/acme/app", Dir: dir, Template: tr.dir, To: "v1.0.0", Resolver: r}); err != nil {
				b.Fatal(err)
			}
			user := map[string]string{}
			for i := range userFiles {
				user[fmt.Sprintf("user/pkg%d/file%d.go", i%100, i)] = "package x\n"
			}
			scaffoldtest.WriteTree(b, dir, user)
			targets := []string{"v2.0.0", "v1.0.0"}
			i := 0
			for b.Loop() {
				res, err := Update(ctx, UpdateOptions{Dir: dir, Resolver: r, To: targets[i%2], AllowDirty: true, AllowDowngrade: true})
				if err != nil {
					b.Fatal(err)
				}
				if len(res.Changes) != wantChanges {
					b.Fatalf("%d changes, want %d", len(res.Changes), wantChanges)
				}
				i++
			}
		})
	}
}
