package scaffold

import (
	"context"
	"fmt"
	"strings"
)

// ConflictAdvice says how to resolve one conflict, fitting its kind and
// whether the repository is in git (which holds both sides in its index).
func ConflictAdvice(c Change, inGit bool) string {
	name := shellQuote(c.Path)
	switch {
	case inGit && c.Kind == ConflictText:
		return fmt.Sprintf("resolve the conflict markers in %s, then git add %s", name, name)
	case c.Kind == ConflictType:
		return fmt.Sprintf("yours was kept and the template's %s was not written: to take it, move yours aside and copy it from the template by hand", name)
	case inGit:
		return fmt.Sprintf("no markers in a %s: keep yours with git checkout --ours -- %s or take the template's with git checkout --theirs -- %s, then git add %s", c.Kind, name, name, name)
	case c.Kind == ConflictText:
		return fmt.Sprintf("resolve the conflict markers in %s by hand; outside git there is no undo, and paved kept no backup", name)
	default:
		return fmt.Sprintf("your copy of %s was kept and the template's was not saved; outside git there is no undo, and paved kept no backup", name)
	}
}

// InGit reports whether dir is inside a git work tree.
func InGit(ctx context.Context, dir string) bool {
	out, err := newGitRepo(dir, nil).run(ctx, nil, []string{"rev-parse", "--is-inside-work-tree"})
	return err == nil && strings.TrimSpace(string(out)) == "true"
}

// shellQuote quotes a path for a command line when it needs it.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._/-+") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
