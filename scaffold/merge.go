package scaffold

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"

	"golang.org/x/mod/modfile"
	"golang.org/x/mod/semver"
)

// Action is what an update does to one path.
type Action string

const (
	ActionUpdate   Action = "updated"  // the user never changed it: the template's new version
	ActionMerge    Action = "merged"   // both changed it; merged cleanly
	ActionAdd      Action = "added"    // new in the template
	ActionRemove   Action = "removed"  // dropped by the template, never changed by the user
	ActionConflict Action = "conflict" // both changed it and the changes overlap
	ActionKeep     Action = "kept"     // dropped by the template but changed by the user
	ActionRename   Action = "renamed"  // moved by the template: the user's copy, merged, at the new path
)

// ConflictKind says what a conflict holds, and so how to resolve it.
type ConflictKind string

const (
	ConflictText   ConflictKind = "text"   // conflict markers in the file
	ConflictBinary ConflictKind = "binary" // no markers: the user's copy kept
	ConflictLink   ConflictKind = "link"   // a symbolic link on either side: the user's kept
)

// Change is the planned new state of one path of the working tree.
type Change struct {
	Path   string
	Action Action
	Data   []byte      // new content; nil for ActionRemove and ActionKeep
	Mode   fs.FileMode // new mode
	Old    []byte      // current content, for diffs; nil when absent
	// Stages hold base, ours and theirs of a conflict, for the git index.
	Stages [3][]byte
	Why    string // for a conflict: what could not be merged
	Kind   ConflictKind
	From   string // for ActionRename: the old path, removed by a change of its own
}

// Writes reports whether applying the change touches the tree.
func (c Change) Writes() bool { return c.Action != ActionKeep }

// MergeLabels name the sides of conflict markers.
type MergeLabels struct {
	Ours, Base, Theirs string
}

// MergeTree plans the three-way merge of a template update into the working
// tree at dir, file by file. It reads only the paths the template has (base
// or new), so its cost follows the template's size, not the repository's.
// twoWay means base is unknown: every file that differs is a conflict.
func MergeTree(ctx context.Context, dir string, base, theirs []File, labels MergeLabels, twoWay bool) ([]Change, error) {
	baseBy, theirsBy := indexFiles(base), indexFiles(theirs)
	var paths []string
	for p := range baseBy {
		paths = append(paths, p)
	}
	for p := range theirsBy {
		if _, ok := baseBy[p]; !ok {
			paths = append(paths, p)
		}
	}
	slices.Sort(paths)
	var changes []Change
	done := map[string]bool{} // paths of renames, merged already
	if !twoWay {
		for from, to := range detectRenames(baseBy, theirsBy) {
			c, err := renameChanges(ctx, dir, from, to, baseBy[from], theirsBy[to], labels)
			if err != nil {
				return nil, err
			}
			if c != nil {
				done[from], done[to] = true, true
				changes = append(changes, c...)
			}
		}
	}
	for _, p := range paths {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if p == AnswersFileName || done[p] {
			continue
		}
		ours, err := readWorkFile(dir, p)
		if err != nil {
			return nil, err
		}
		b, inBase := baseBy[p]
		t, inTheirs := theirsBy[p]
		c, err := mergeFile(ctx, p, ours, b, inBase && !twoWay, t, inTheirs, labels)
		if err != nil {
			return nil, err
		}
		if c != nil {
			changes = append(changes, *c)
		}
	}
	slices.SortStableFunc(changes, func(a, b Change) int { return strings.Compare(a.Path, b.Path) })
	return changes, nil
}

func indexFiles(files []File) map[string]File {
	m := make(map[string]File, len(files))
	for _, f := range files {
		if f.Mode&fs.ModeSymlink != 0 {
			// Links are compared by target.
			f.Data = []byte(f.Link)
		}
		m[f.Path] = f
	}
	return m
}

// workFile is a file of the working tree; nil means absent.
type workFile struct {
	data []byte
	mode fs.FileMode
}

func readWorkFile(dir, p string) (*workFile, error) {
	name := filepath.Join(dir, filepath.FromSlash(p))
	fi, err := os.Lstat(name)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if fi.Mode()&fs.ModeSymlink != 0 {
		target, err := os.Readlink(name)
		return &workFile{data: []byte(target), mode: fs.ModeSymlink}, err
	}
	if fi.IsDir() {
		return nil, fmt.Errorf("%s: a directory where the template has a file", p)
	}
	data, err := os.ReadFile(name)
	mode := fs.FileMode(0o644)
	if fi.Mode()&0o111 != 0 {
		mode = 0o755
	}
	return &workFile{data: data, mode: mode}, err
}

// mergeFile decides one path; nil means nothing to do.
func mergeFile(ctx context.Context, p string, ours *workFile, base File, inBase bool, theirs File, inTheirs bool, labels MergeLabels) (*Change, error) {
	switch {
	case !inTheirs && !inBase: // template had it only in a two-way base
		return nil, nil
	case !inTheirs: // the template dropped it
		if ours == nil {
			return nil, nil
		}
		if bytes.Equal(ours.data, base.Data) {
			return &Change{Path: p, Action: ActionRemove, Old: ours.data}, nil
		}
		return &Change{Path: p, Action: ActionKeep, Old: ours.data}, nil
	case ours == nil && inBase: // the user deleted it: it stays deleted
		return nil, nil
	case ours == nil: // new in the template
		return &Change{Path: p, Action: ActionAdd, Data: theirs.Data, Mode: theirs.Mode}, nil
	}

	mode := ours.mode
	if inBase && ours.mode == base.Mode {
		mode = theirs.Mode
	}
	sameContent := bytes.Equal(ours.data, theirs.Data)
	switch {
	case sameContent && mode == ours.mode:
		return nil, nil
	case sameContent:
		return &Change{Path: p, Action: ActionUpdate, Data: theirs.Data, Mode: mode, Old: ours.data}, nil
	case inBase && bytes.Equal(ours.data, base.Data):
		return &Change{Path: p, Action: ActionUpdate, Data: theirs.Data, Mode: mode, Old: ours.data}, nil
	case inBase && bytes.Equal(theirs.Data, base.Data):
		if mode == ours.mode {
			return nil, nil
		}
		return &Change{Path: p, Action: ActionUpdate, Data: ours.data, Mode: mode, Old: ours.data}, nil
	}

	var baseData []byte
	if inBase {
		baseData = base.Data
	}
	c := &Change{Path: p, Mode: mode, Old: ours.data, Stages: [3][]byte{baseData, ours.data, theirs.Data}}
	switch {
	case ours.mode&fs.ModeSymlink != 0 || theirs.Mode&fs.ModeSymlink != 0 || isBinary(ours.data) || isBinary(theirs.Data):
		c.Action, c.Data, c.Why, c.Kind = ActionConflict, ours.data, "binary file or link changed on both sides; your copy kept", ConflictBinary
		if ours.mode&fs.ModeSymlink != 0 || theirs.Mode&fs.ModeSymlink != 0 {
			c.Kind = ConflictLink
		}
		return c, nil
	case filepath.Base(p) == "go.mod" && inBase:
		merged, err := mergeGoMod(p, baseData, ours.data, theirs.Data)
		if err == nil {
			c.Action, c.Data = ActionMerge, merged
			return c, nil
		}
		// A go.mod that does not parse merges as text.
	case filepath.Base(p) == "go.sum":
		c.Action, c.Data = ActionMerge, mergeGoSum(ours.data, theirs.Data)
		return c, nil
	}
	merged, conflicts, err := mergeText(ctx, ours.data, baseData, theirs.Data, labels)
	if err != nil {
		return nil, fmt.Errorf("merging %s: %w", p, err)
	}
	if conflicts > 0 && inBase && isYAMLPath(p) {
		// Lines next to each other may be different keys: merge the trees.
		if m, n, ok := mergeYAML(ours.data, baseData, theirs.Data, labels); ok {
			merged, conflicts = m, n
		}
	}
	c.Data = merged
	c.Action = ActionMerge
	if conflicts > 0 {
		c.Action, c.Kind = ActionConflict, ConflictText
		c.Why = fmt.Sprintf("%d conflicting hunk(s)", conflicts)
	}
	return c, nil
}

func isBinary(data []byte) bool {
	return bytes.IndexByte(data[:min(len(data), 8000)], 0) >= 0
}

// mergeText merges with `git merge-file`, the reference three-way text merge,
// and returns the result and its number of conflicts.
func mergeText(ctx context.Context, ours, base, theirs []byte, labels MergeLabels) ([]byte, int, error) {
	tmp, err := os.MkdirTemp("", "paved-merge-")
	if err != nil {
		return nil, 0, err
	}
	defer os.RemoveAll(tmp)
	names := [3]string{filepath.Join(tmp, "ours"), filepath.Join(tmp, "base"), filepath.Join(tmp, "theirs")}
	for i, data := range [][]byte{ours, base, theirs} {
		if err := os.WriteFile(names[i], data, 0o600); err != nil {
			return nil, 0, err
		}
	}
	cmd := exec.CommandContext(ctx, "git", "merge-file", "-p",
		"-L", labels.Ours, "-L", labels.Base, "-L", labels.Theirs,
		names[0], names[1], names[2])
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()
	var exitErr *exec.ExitError
	switch {
	case err == nil:
		return stdout.Bytes(), 0, nil
	case errors.As(err, &exitErr) && exitErr.ExitCode() > 0 && exitErr.ExitCode() < 128:
		return stdout.Bytes(), exitErr.ExitCode(), nil
	default:
		return nil, 0, fmt.Errorf("git merge-file: %w: %s", err, strings.TrimSpace(stderr.String()))
	}
}

// mergeGoMod merges go.mod by meaning: the user's file, plus every
// requirement, tool and replacement the template added, each requirement at
// the higher of the two versions, and the higher go and toolchain lines.
func mergeGoMod(name string, base, ours, theirs []byte) ([]byte, error) {
	o, err := modfile.Parse(name, ours, nil)
	if err != nil {
		return nil, err
	}
	t, err := modfile.Parse(name, theirs, nil)
	if err != nil {
		return nil, err
	}
	b, err := modfile.Parse(name, base, nil)
	if err != nil {
		return nil, err
	}
	if t.Go != nil && (o.Go == nil || semver.Compare(gover(t.Go.Version), gover(o.Go.Version)) > 0) {
		if err := o.AddGoStmt(t.Go.Version); err != nil {
			return nil, err
		}
	}
	if t.Toolchain != nil && (o.Toolchain == nil || semver.Compare(gover(t.Toolchain.Name), gover(o.Toolchain.Name)) > 0) {
		if err := o.AddToolchainStmt(t.Toolchain.Name); err != nil {
			return nil, err
		}
	}
	oursReq := map[string]*modfile.Require{}
	for _, r := range o.Require {
		oursReq[r.Mod.Path] = r
	}
	baseReq := map[string]bool{}
	for _, r := range b.Require {
		baseReq[r.Mod.Path] = true
	}
	for _, r := range t.Require {
		mine, ok := oursReq[r.Mod.Path]
		switch {
		case !ok && baseReq[r.Mod.Path]:
			// The user removed a requirement the template still has: theirs to keep out.
		case !ok:
			o.AddNewRequire(r.Mod.Path, r.Mod.Version, r.Indirect)
		case semver.Compare(r.Mod.Version, mine.Mod.Version) > 0:
			if err := o.AddRequire(r.Mod.Path, r.Mod.Version); err != nil {
				return nil, err
			}
		}
	}
	haveTool := map[string]bool{}
	for _, tl := range o.Tool {
		haveTool[tl.Path] = true
	}
	for _, tl := range t.Tool {
		if !haveTool[tl.Path] {
			if err := o.AddTool(tl.Path); err != nil {
				return nil, err
			}
		}
	}
	haveReplace := map[string]bool{}
	for _, rp := range o.Replace {
		haveReplace[rp.Old.String()] = true
	}
	baseReplace := map[string]bool{}
	for _, rp := range b.Replace {
		baseReplace[rp.Old.String()] = true
	}
	for _, rp := range t.Replace {
		if !haveReplace[rp.Old.String()] && !baseReplace[rp.Old.String()] {
			if err := o.AddReplace(rp.Old.Path, rp.Old.Version, rp.New.Path, rp.New.Version); err != nil {
				return nil, err
			}
		}
	}
	o.SortBlocks()
	o.Cleanup()
	return o.Format()
}

// gover makes a Go version ("1.26", "go1.26.8") comparable with semver.
func gover(v string) string {
	return "v" + strings.TrimPrefix(v, "go")
}

// mergeGoSum is the union of both sides' lines: go mod tidy prunes the rest.
func mergeGoSum(ours, theirs []byte) []byte {
	seen := map[string]bool{}
	var lines []string
	for _, data := range [][]byte{ours, theirs} {
		for line := range strings.SplitSeq(string(data), "\n") {
			if line != "" && !seen[line] {
				seen[line] = true
				lines = append(lines, line)
			}
		}
	}
	if len(lines) == 0 {
		return nil
	}
	slices.Sort(lines)
	return []byte(strings.Join(lines, "\n") + "\n")
}
