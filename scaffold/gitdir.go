package scaffold

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/mod/semver"
)

// ErrNotInGit is a local template directory outside any git repository:
// it can make a repository, but that repository cannot be updated from it.
var ErrNotInGit = errors.New("the template directory is not in a git repository")

// gitDirSource is a template in a local directory. In a git repository its
// versions are commits, named by `git describe` (a tag, or tag-N-gHASH) and
// recorded with their full hash; the newest is the highest semantic-version
// tag, or HEAD when there is none. Old versions are read as raw objects.
type gitDirSource struct {
	dir    string
	git    *gitRepo
	limits ReadLimits

	// where is the directory's place in its repository, found once.
	where *gitWhere
}

type gitWhere struct {
	prefix string
	ok     bool
}

func (s *gitDirSource) Spec() string { return s.dir }

func (s *gitDirSource) Kind() SourceKind { return SourceDir }

// inGit reports whether the directory is in a git repository with commits,
// and its path inside it.
func (s *gitDirSource) inGit(ctx context.Context) (prefix string, ok bool) {
	if s.where == nil {
		s.where = &gitWhere{}
		if !underGit(s.dir) {
			return "", false // no git to start
		}
		if p, err := s.git.prefix(ctx); err == nil {
			if _, err := s.git.resolve(ctx, "HEAD"); err == nil {
				s.where.prefix, s.where.ok = p, true
			}
		}
	}
	return s.where.prefix, s.where.ok
}

func (s *gitDirSource) Open(ctx context.Context, version string) (*Template, error) {
	if fi, err := os.Stat(s.dir); err != nil || !fi.IsDir() {
		return nil, fmt.Errorf("template directory %s: not a directory", s.dir)
	}
	prefix, ok := s.inGit(ctx)
	if !ok {
		if version != "" {
			return nil, fmt.Errorf("%w: %s (cannot read version %s)", ErrVersionUnavailable, s.dir, version)
		}
		return s.workTree(ctx, "")
	}
	if version == "" {
		tag, err := s.latestTag(ctx)
		if err != nil {
			return nil, err
		}
		if tag == "" {
			// No tags: HEAD, or the working tree when it has uncommitted changes.
			if dirty, err := s.dirty(ctx); err != nil {
				return nil, err
			} else if dirty {
				name, err := s.describe(ctx, "HEAD")
				if err != nil {
					return nil, err
				}
				t, err := s.workTree(ctx, name+"-dirty")
				if t != nil {
					t.Dirty = true
				}
				return t, err
			}
			tag = "HEAD"
		}
		version = tag
	}
	commit, err := s.git.resolve(ctx, version)
	if err != nil {
		if strings.HasPrefix(version, "-") {
			return nil, err
		}
		return nil, fmt.Errorf("%w: template %s at %s: %w", ErrVersionUnavailable, s.dir, version, err)
	}
	name, err := s.describeCommit(ctx, commit)
	if err != nil {
		return nil, err
	}
	// A directory with files on disk but none in the commit is a template
	// added since (or never committed): rendering nothing would be wrong.
	// hasTree is asked only once reading failed: a good read costs no more git.
	noFiles := fmt.Errorf("template %s at %s: the commit has no files in this directory (commit the template, or tag a commit that has it)", s.dir, name)
	fsys, err := s.git.readTree(ctx, commit, prefix, s.limits)
	if err != nil {
		if prefix != "" && !s.git.hasTree(ctx, commit, prefix) {
			return nil, noFiles
		}
		return nil, fmt.Errorf("template %s at %s: %w", s.dir, name, err)
	}
	if entries, _ := fs.ReadDir(fsys, "."); len(entries) == 0 {
		return nil, noFiles
	}
	return &Template{FS: fsys, Source: s.dir, Version: name, Commit: commit}, nil
}

// workTree is the directory as it is on disk.
func (s *gitDirSource) workTree(_ context.Context, version string) (*Template, error) {
	fsys, err := DirFS(s.dir)
	if err != nil {
		return nil, fmt.Errorf("template %s: %w", s.dir, err)
	}
	if err := checkSizes(fsys, s.limits); err != nil {
		return nil, fmt.Errorf("template %s: %w", s.dir, err)
	}
	return &Template{FS: fsys, Source: s.dir, Version: version}, nil
}

// describe names a commit as git describe does, a tag or tag-N-gHASH, or
// the abbreviated hash when no tag is reachable.
func (s *gitDirSource) describe(ctx context.Context, rev string) (string, error) {
	commit, err := s.git.resolve(ctx, rev)
	if err != nil {
		return "", err
	}
	return s.describeCommit(ctx, commit)
}

func (s *gitDirSource) describeCommit(ctx context.Context, commit string) (string, error) {
	out, err := s.git.run(ctx, nil, []string{"describe", "--tags", "--always"}, commit)
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(out)), nil
}

// dirty reports whether the template directory has uncommitted changes.
func (s *gitDirSource) dirty(ctx context.Context) (bool, error) {
	out, err := s.git.run(ctx, nil, []string{"status", "--porcelain", "--untracked-files=normal"}, ".")
	if err != nil {
		return false, err
	}
	return len(strings.TrimSpace(string(out))) > 0, nil
}

func (s *gitDirSource) Latest(ctx context.Context) (string, error) {
	if _, ok := s.inGit(ctx); !ok {
		return "", fmt.Errorf("%w: %s has no versions to update from", ErrNotInGit, s.dir)
	}
	tag, err := s.latestTag(ctx)
	if err != nil || tag != "" {
		return tag, err
	}
	return s.describe(ctx, "HEAD")
}

// latestTag is the highest semantic-version tag (a release before a
// prerelease), or "" when there is none.
func (s *gitDirSource) latestTag(ctx context.Context) (string, error) {
	out, err := s.git.run(ctx, nil, []string{"tag", "--list"})
	if err != nil {
		return "", err
	}
	latest, latestPre := "", ""
	for tag := range strings.FieldsSeq(string(out)) {
		if !semver.IsValid(tag) {
			continue
		}
		best := &latest
		if semver.Prerelease(tag) != "" {
			best = &latestPre
		}
		if *best == "" || semver.Compare(tag, *best) > 0 {
			*best = tag
		}
	}
	if latest != "" {
		return latest, nil
	}
	return latestPre, nil
}

// Newer orders commits by ancestry: candidate is newer when it contains
// current. A commit past a tag is not older than the tag.
func (s *gitDirSource) Newer(ctx context.Context, current, candidate string) (bool, error) {
	// A dirty version is ordered by the commit it was made on.
	current, candidate = strings.TrimSuffix(current, "-dirty"), strings.TrimSuffix(candidate, "-dirty")
	cur, err := s.git.resolve(ctx, current)
	if err != nil {
		return false, fmt.Errorf("template %s: the recorded version is not in its git history: %w", s.dir, err)
	}
	cand, err := s.git.resolve(ctx, candidate)
	if err != nil {
		return false, fmt.Errorf("template %s: %w", s.dir, err)
	}
	if cur == cand {
		return false, nil
	}
	if s.ancestor(ctx, cur, cand) {
		return true, nil
	}
	if s.ancestor(ctx, cand, cur) {
		return false, nil
	}
	return false, fmt.Errorf("template %s: versions %s and %s are on diverged histories; name the one you want with --to", s.dir, current, candidate)
}

// underGit reports whether dir or a parent holds a .git: without one, git
// would find no repository, so none is started.
func underGit(dir string) bool {
	_, ok := gitTop(dir)
	return ok
}

// gitTop is the nearest of dir (absolute) and its parents that holds a
// .git (a directory, or the file of a linked work tree or submodule): the
// top of its work tree as the file system says, whatever the repository's
// configuration claims.
func gitTop(dir string) (string, bool) {
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Lstat(filepath.Join(d, ".git")); err == nil {
			return d, true
		}
		if filepath.Dir(d) == d {
			return "", false
		}
	}
}

// ancestor reports whether commit a is an ancestor of commit b.
func (s *gitDirSource) ancestor(ctx context.Context, a, b string) bool {
	_, err := s.git.run(ctx, nil, []string{"merge-base", "--is-ancestor"}, a, b)
	return err == nil
}
