package scaffold

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"io/fs"
	"strings"
)

// The git index and status of the team's repository, through the one git
// runner.

// checkClean refuses a git work tree with uncommitted changes.
func checkClean(ctx context.Context, dir string) error {
	out, err := newGitRepo(dir, nil).run(ctx, nil, []string{"status", "--porcelain"})
	if err != nil {
		return nil //nolint:nilerr // not a git repository: nothing to compare against
	}
	if len(bytes.TrimSpace(out)) > 0 {
		return fmt.Errorf("%s has uncommitted changes; commit or stash them (or pass --allow-dirty)", dir)
	}
	return nil
}

// indexMode is a file mode as the git index writes it.
func indexMode(m fs.FileMode) string {
	switch {
	case m&fs.ModeSymlink != 0:
		return "120000"
	case m&0o111 != 0:
		return "100755"
	}
	return "100644"
}

// markConflicts records conflicted files as unmerged in the git index
// (stages 1, 2 and 3), as git merge does, so git status and merge tools
// see them. The stages' contents are the journal's staged files.
func markConflicts(ctx context.Context, w *workTree, conflicts []journalConflict) error {
	if len(conflicts) == 0 {
		return nil
	}
	g := newGitRepo(w.dir, nil)
	prefix, err := g.run(ctx, nil, []string{"rev-parse", "--show-prefix"})
	if err != nil {
		return nil //nolint:nilerr // not in git: no index to mark
	}
	var info strings.Builder
	for _, c := range conflicts {
		name := strings.TrimSpace(string(prefix)) + c.Path
		fmt.Fprintf(&info, "0 %s\t%s\n", strings.Repeat("0", 40), name)
		for stage, staged := range c.Stages {
			if staged == "" {
				continue
			}
			mode := indexMode(cmp.Or(c.Modes[stage], c.Mode))
			data, err := w.root.ReadFile(stagedPath(staged))
			if err != nil {
				return err
			}
			sha, err := g.run(ctx, data, []string{"hash-object", "-w", "--stdin"})
			if err != nil {
				return err
			}
			fmt.Fprintf(&info, "%s %s %d\t%s\n", mode, strings.TrimSpace(string(sha)), stage+1, name)
		}
	}
	_, err = g.run(ctx, []byte(info.String()), []string{"update-index", "--index-info"})
	return err
}
