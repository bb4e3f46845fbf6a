package scaffold

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"go/version"
	"io/fs"
	"os/exec"
	"path"
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
	ConflictType   ConflictKind = "type"   // a file on one side, a directory on the other: the user's kept
)

// Change is the planned new state of one path of the working tree.
type Change struct {
	Path   string
	Action Action
	Data   []byte      // new content; nil for ActionRemove and ActionKeep
	Mode   fs.FileMode // new mode
	Old    []byte      // current content, for diffs; nil when absent
	// Stages hold base, ours and theirs of a conflict, for the git index,
	// with their modes (a link on one side, a file on another).
	Stages     [3][]byte
	StageModes [3]fs.FileMode
	Why        string // for a conflict: what could not be merged
	// KeepOurs marks a conflict that leaves the team's copy untouched
	// (a binary file, a link, a type change): it is only marked in the index.
	KeepOurs bool
	// ReplacesDir: an empty directory of the work tree (once the update's
	// removes are done) is where the new file goes.
	ReplacesDir bool
	Kind        ConflictKind
	From        string // for ActionRename: the old path, removed by a change of its own
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
func MergeTree(ctx context.Context, w *workTree, base, theirs []File, labels MergeLabels, twoWay bool) ([]Change, error) {
	baseBy, theirsBy := indexFiles(base), indexFiles(theirs)
	paths := unionKeys(baseBy, theirsBy)
	var changes []Change
	done := map[string]bool{} // paths of renames, merged already
	if !twoWay {
		for from, to := range detectRenames(baseBy, theirsBy) {
			c, err := renameChanges(ctx, w, from, to, baseBy[from], theirsBy[to], labels)
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
		if p == AnswersFileName || p == LockFileName || done[p] {
			continue
		}
		ours, err := w.read(p)
		if err != nil {
			return nil, err
		}
		b, inBase := baseBy[p]
		t, inTheirs := theirsBy[p]
		c, err := mergeFile(ctx, w, p, ours, b, inBase && !twoWay, t, inTheirs, labels)
		if err != nil {
			return nil, err
		}
		if c != nil {
			changes = append(changes, *c)
		}
	}
	slices.SortStableFunc(changes, func(a, b Change) int { return strings.Compare(a.Path, b.Path) })
	if err := settleTypeChanges(w, changes); err != nil {
		return nil, err
	}
	return keepBlockedRenames(changes), nil
}

// settleTypeChanges turns a write that the work tree's shape blocks into a
// conflict that keeps the team's copy: a file where the team has a
// directory that the update does not empty, or under a file of the team's
// that stays.
func settleTypeChanges(w *workTree, changes []Change) error {
	removed := map[string]bool{}
	for _, c := range changes {
		if c.Action == ActionRemove {
			removed[c.Path] = true
		}
	}
	for i := range changes {
		c := &changes[i]
		if !c.Writes() || c.Action == ActionRemove || c.KeepOurs {
			continue
		}
		if c.ReplacesDir {
			empty, err := emptiedBy(w, c.Path, removed)
			if err != nil {
				return err
			}
			if !empty {
				c.Action, c.KeepOurs, c.ReplacesDir, c.Kind = ActionConflict, true, false, ConflictType
				c.Why = "the template now has a file where you have a directory with your files; yours kept"
			}
			continue
		}
		for dir := path.Dir(c.Path); dir != "."; dir = path.Dir(dir) {
			fi, err := w.root.Lstat(filepath.FromSlash(dir))
			if err != nil || fi.IsDir() || removed[dir] {
				continue
			}
			c.Action, c.KeepOurs, c.Kind = ActionConflict, true, ConflictType
			c.Why = "the template now has a directory " + dir + " where you have a file; yours kept"
			break
		}
	}
	return nil
}

// emptiedBy reports whether every file below dir in the work tree is among
// the removed paths.
func emptiedBy(w *workTree, dir string, removed map[string]bool) (bool, error) {
	empty := true
	err := fs.WalkDir(w.root.FS(), filepath.FromSlash(dir), func(name string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && !removed[filepath.ToSlash(name)] {
			empty = false
			return fs.SkipAll
		}
		return nil
	})
	return empty, err
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

// mergeFile decides one path; nil means nothing to do.
func mergeFile(ctx context.Context, w *workTree, p string, ours *workFile, base File, inBase bool, theirs File, inTheirs bool, labels MergeLabels) (*Change, error) {
	switch {
	case !inTheirs && !inBase: // template had it only in a two-way base
		return nil, nil
	case !inTheirs: // the template dropped it
		if ours == nil || ours.mode == fs.ModeDir {
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
	case ours.mode == fs.ModeDir: // the team has a directory there
		return &Change{Path: p, Action: ActionAdd, Data: theirs.Data, Mode: theirs.Mode, ReplacesDir: true}, nil
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
	c := &Change{Path: p, Mode: mode, Old: ours.data, Stages: [3][]byte{baseData, ours.data, theirs.Data}, StageModes: [3]fs.FileMode{base.Mode, ours.mode, theirs.Mode}}
	switch {
	case ours.mode&fs.ModeSymlink != 0 || theirs.Mode&fs.ModeSymlink != 0 || isBinary(ours.data) || isBinary(theirs.Data):
		c.Action, c.Data, c.Mode, c.KeepOurs, c.Kind = ActionConflict, ours.data, ours.mode, true, ConflictBinary
		c.Why = "binary file or link changed on both sides; your copy kept"
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
	merged, conflicts, err := mergeText(ctx, w, ours.data, baseData, theirs.Data, labels)
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
// and returns the result and its number of conflicts. Its scratch files live
// in the update's staging directory and go with it.
func mergeText(ctx context.Context, w *workTree, ours, base, theirs []byte, labels MergeLabels) ([]byte, int, error) {
	scratch := filepath.Join(stagingDir, "merge")
	if err := w.root.MkdirAll(scratch, 0o700); err != nil {
		return nil, 0, err
	}
	names := [3]string{"ours", "base", "theirs"}
	for i, data := range [][]byte{ours, base, theirs} {
		if err := w.root.WriteFile(filepath.Join(scratch, names[i]), data, 0o600); err != nil {
			return nil, 0, err
		}
	}
	g := newGitRepo(filepath.Join(w.dir, scratch), nil)
	out, err := g.run(ctx, nil, []string{"merge-file", "-p",
		"-L", labels.Ours, "-L", labels.Base, "-L", labels.Theirs},
		names[0], names[1], names[2])
	var exitErr *exec.ExitError
	switch {
	case err == nil:
		return out, 0, nil
	case errors.As(err, &exitErr) && exitErr.ExitCode() > 0 && exitErr.ExitCode() < 128:
		return out, exitErr.ExitCode(), nil
	default:
		return nil, 0, err
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
	if t.Go != nil && (o.Go == nil || version.Compare("go"+t.Go.Version, "go"+o.Go.Version) > 0) {
		if err := o.AddGoStmt(t.Go.Version); err != nil {
			return nil, err
		}
	}
	if t.Toolchain != nil && (o.Toolchain == nil || version.Compare(t.Toolchain.Name, o.Toolchain.Name) > 0) {
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
