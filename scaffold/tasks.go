package scaffold

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// TaskError is a post-generation task that failed. The repository stays in
// place: it was written before the tasks ran.
type TaskError struct {
	Task   []string
	Err    error
	Dir    string
	NotRun [][]string // the tasks after it, not run
}

func (e *TaskError) Error() string {
	msg := fmt.Sprintf("task %q failed: %v (the repository was written)", strings.Join(e.Task, " "), e.Err)
	if len(e.NotRun) > 0 {
		var rest []string
		for _, t := range e.NotRun {
			rest = append(rest, strings.Join(t, " "))
		}
		msg += fmt.Sprintf("; not run: %s; fix it, then run them by hand in %s", strings.Join(rest, "; "), e.Dir)
	}
	return msg
}

func (e *TaskError) Unwrap() error { return e.Err }

// RunTasks runs commands in dir, in order, stopping at the first failure.
func RunTasks(ctx context.Context, dir string, tasks [][]string, log io.Writer) error {
	for i, task := range tasks {
		fmt.Fprintf(log, "paved: running %s\n", strings.Join(task, " "))
		cmd := exec.CommandContext(ctx, task[0], task[1:]...)
		cmd.Dir = dir
		cmd.Stdout = log
		cmd.Stderr = log
		cmd.Env = os.Environ()
		if err := cmd.Run(); err != nil {
			return &TaskError{Task: task, Err: err, Dir: dir, NotRun: tasks[i+1:]}
		}
	}
	return nil
}

// firstCommit commits the new tree when the tasks made dir a git
// repository without commits, so that the first `paved update` starts from
// a clean tree. Without a git identity it commits nothing and returns the
// commands that would.
func firstCommit(ctx context.Context, dir string, t *Template) (bool, string) {
	g := newGitRepo(dir, nil)
	top, err := g.run(ctx, nil, []string{"rev-parse", "--show-toplevel"})
	if err != nil {
		return false, ""
	}
	abs, _ := filepath.Abs(dir)
	if resolved, err := filepath.EvalSymlinks(abs); err == nil {
		abs = resolved
	}
	if strings.TrimSpace(string(top)) != abs {
		return false, "" // inside another repository: leave its history alone
	}
	if _, err := g.run(ctx, nil, []string{"rev-parse", "--verify", "--quiet"}, "HEAD"); err == nil {
		return false, "" // the tasks committed already
	}
	msg := "paved: " + t.Source + " " + t.Version
	hint := fmt.Sprintf("git -C %s add -A && git -C %s commit -m %q", dir, dir, msg)
	if _, err := g.run(ctx, nil, []string{"var", "GIT_COMMITTER_IDENT"}); err != nil {
		return false, "git has no identity (git config --global user.name/user.email); then make the first commit: " + hint
	}
	if _, err := g.run(ctx, nil, []string{"add", "-A"}); err != nil {
		return false, fmt.Sprintf("git add failed (%v); make the first commit: %s", err, hint)
	}
	if _, err := g.run(ctx, nil, []string{"commit", "--quiet", "--no-verify", "-m", msg}); err != nil {
		return false, fmt.Sprintf("git commit failed (%v); make the first commit: %s", err, hint)
	}
	return true, ""
}

// relock records in the lock the files the tasks changed (go mod tidy may
// rewrite go.sum), so that a later update knows them for paved's.
func relock(dir string, files []File, plan *Plan) error {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return err
	}
	defer root.Close()
	lock := newLock(files, plan.Answers, plan.Paved)
	changed := false
	for _, f := range files {
		e, ok := lock.Files[f.Path]
		if !ok || f.Mode&fs.ModeSymlink != 0 {
			continue
		}
		p := f.Path
		data, err := root.ReadFile(filepath.FromSlash(p))
		if err != nil {
			continue // a link, or removed by a task
		}
		if d := fileDigest(data, 0); d != e.Rendered {
			e.Written = d
			lock.Files[p] = e
			changed = true
		}
	}
	if !changed {
		return nil
	}
	data, err := lock.Marshal()
	if err != nil {
		return err
	}
	return root.WriteFile(LockFileName, data, 0o644)
}
