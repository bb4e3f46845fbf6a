package scaffold

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"golang.org/x/mod/semver"
)

// Version is one version of a template source.
type Version struct {
	Name   string `json:"name"`
	Commit string `json:"commit,omitempty"` // a git template's commit
	// Recorded: the repository in the current directory records it.
	Recorded bool `json:"recorded,omitempty"`
}

// Versions lists a source's versions, newest first: a git directory's tags
// with their commits (semantic versions by precedence, then other tags by
// name), a module's versions as the go command lists them (GOPROXY,
// GOPRIVATE apply), and for a built-in the released paved versions.
func (r *Resolver) Versions(ctx context.Context, spec string) ([]Version, Source, error) {
	src, _, err := r.Source(spec)
	if err != nil {
		return nil, nil, err
	}
	vs, err := src.Versions(ctx)
	return vs, src, err
}

// Versions are a git directory's tags with their commits.
func (s *gitDirSource) Versions(ctx context.Context) ([]Version, error) {
	if _, ok := s.inGit(ctx); !ok {
		return nil, fmt.Errorf("%w: %s has no versions (tag its commits)", ErrNotInGit, s.dir)
	}
	// %(*objectname) is the commit an annotated tag points to; empty for a
	// lightweight tag, whose %(objectname) is the commit.
	out, err := s.git.run(ctx, nil, []string{"for-each-ref", "--format=%(refname:strip=2)%00%(objectname)%00%(*objectname)", "refs/tags"})
	if err != nil {
		return nil, err
	}
	var vs []Version
	for line := range strings.SplitSeq(strings.TrimSpace(string(out)), "\n") {
		name, rest, ok := strings.Cut(line, "\x00")
		if !ok {
			continue
		}
		obj, peeled, _ := strings.Cut(rest, "\x00")
		if peeled != "" {
			obj = peeled
		}
		vs = append(vs, Version{Name: name, Commit: obj})
	}
	slices.SortStableFunc(vs, func(a, b Version) int { return compareVersions(b.Name, a.Name) })
	return vs, nil
}

// compareVersions orders semantic versions by precedence, above any other
// name; other names by their text.
func compareVersions(a, b string) int {
	va, vb := semver.IsValid(a), semver.IsValid(b)
	switch {
	case va && vb:
		if c := semver.Compare(a, b); c != 0 {
			return c
		}
		return strings.Compare(a, b)
	case va:
		return 1
	case vb:
		return -1
	}
	return strings.Compare(b, a)
}

// Versions are a module's versions as the go command lists them.
func (s *moduleSource) Versions(ctx context.Context) ([]Version, error) {
	out, err := s.r.goOutsideModule(ctx, "list", "-m", "-versions", "-json", "--", s.mod)
	if err != nil {
		return nil, err
	}
	var info struct {
		Versions []string
		Error    *struct{ Err string }
	}
	if err := json.Unmarshal(out, &info); err != nil {
		return nil, fmt.Errorf("go list -m -versions %s: %w", s.mod, err)
	}
	if info.Error != nil {
		return nil, fmt.Errorf("template %s: %s", s.mod, info.Error.Err)
	}
	vs := make([]Version, 0, len(info.Versions))
	for _, v := range slices.Backward(info.Versions) {
		vs = append(vs, Version{Name: v})
	}
	return vs, nil
}

// MarkRecorded marks the version that the answers file in dir records, if
// it was made from src; it reports whether it found one.
func MarkRecorded(vs []Version, src Source, dir string) (*AnswersFile, bool, error) {
	data, err := os.ReadFile(filepath.Join(dir, AnswersFileName))
	if os.IsNotExist(err) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	af, err := ParseAnswersFile(AnswersFileName, data)
	if err != nil {
		return nil, false, err
	}
	if af.Template != src.Spec() {
		return af, false, nil
	}
	// The recorded name first; else a tag on the recorded commit.
	i := slices.IndexFunc(vs, func(v Version) bool { return v.Name == af.Version })
	if i < 0 && af.Commit != "" {
		i = slices.IndexFunc(vs, func(v Version) bool { return v.Commit == af.Commit })
	}
	if i < 0 {
		return af, false, nil
	}
	vs[i].Recorded = true
	return af, true, nil
}
