package scaffold

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"
	"unicode/utf8"
)

// The output-path policy: every path the engine creates, changes or removes
// in a repository passes CheckPath, and every tree it writes passes
// CheckTree. A template, an answer or a journal can name any string; only
// what passes here reaches the file system.

// PathError is a path the policy refuses, and the rule it breaks.
type PathError struct {
	Path string
	Rule string
}

func (e *PathError) Error() string { return fmt.Sprintf("path %q: %s", e.Path, e.Rule) }

// stateDirPrefix starts every name paved keeps for itself at a
// repository's root (the answers file, the update's staging directory).
const stateDirPrefix = ".paved-"

// CheckPath reports whether p, a slash-separated path relative to a
// repository's root, is one the engine may create or touch: relative,
// clean, no "..", no NUL or backslash, no segment that git would take for
// .git on any platform, and nothing in paved's own state.
func CheckPath(p string) error {
	refuse := func(rule string) error { return &PathError{Path: p, Rule: rule} }
	switch {
	case p == "" || p == ".":
		return refuse("empty path")
	case !utf8.ValidString(p):
		return refuse("not valid UTF-8")
	case strings.ContainsFunc(p, func(r rune) bool { return r < 0x20 || r == 0x7f }):
		return refuse("contains a control character (NUL, newline, ...)")
	case strings.Contains(p, `\`):
		return refuse("contains a backslash (a separator on Windows)")
	case strings.HasPrefix(p, "/"):
		return refuse("absolute path")
	}
	for i, seg := range strings.Split(p, "/") {
		switch {
		case seg == "":
			return refuse("empty segment")
		case seg == "." || seg == "..":
			return refuse("segment " + seg + " (the path must be clean and stay in the repository)")
		case isDotGit(seg):
			return refuse("names .git (git's own directory, in one of the spellings git refuses)")
		case i == 0 && strings.HasPrefix(foldName(seg), stateDirPrefix):
			return refuse("is reserved for paved's own files (" + stateDirPrefix + "*)")
		}
	}
	return nil
}

// isDotGit reports whether a path segment is one that git's verify_path
// refuses as .git: any letter case, HFS+ ignorable code points anywhere,
// trailing dots or spaces and NTFS alternate streams (".git. ", ".git::$x"),
// and the NTFS short name git~1.
func isDotGit(seg string) bool {
	s := strings.ToLower(stripIgnorable(seg))
	var rest string
	switch {
	case strings.HasPrefix(s, ".git"):
		rest = s[len(".git"):]
	case strings.HasPrefix(s, "git~1"):
		rest = s[len("git~1"):]
	default:
		return false
	}
	if i := strings.IndexByte(rest, ':'); i >= 0 {
		rest = rest[:i]
	}
	return strings.Trim(rest, ". ") == ""
}

// stripIgnorable removes the code points HFS+ ignores when it compares
// names, as git's is_hfs_dotgit does.
func stripIgnorable(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 0x200c && r <= 0x200f, r >= 0x202a && r <= 0x202e, r >= 0x206a && r <= 0x206f, r == 0xfeff:
			return -1
		}
		return r
	}, s)
}

// foldName is a path as case-insensitive file systems (macOS, Windows)
// compare it.
func foldName(p string) string {
	return strings.ToLower(stripIgnorable(p))
}

// CheckTree checks a whole tree to be written: every path passes
// CheckPath, no two paths are one on a case-insensitive file system, no
// file sits where another is a directory, no path passes through a
// symbolic link, and every link resolves inside the tree.
func CheckTree(files []File) error { return checkTree(files, CheckPath) }

// CheckTreeAll is CheckTree reporting every refusal, not just the first:
// for `paved template check`, which lists all a template author must fix.
func CheckTreeAll(files []File) []error {
	var errs []error
	eachTreeError(files, CheckPath, func(err error) bool { errs = append(errs, err); return true })
	return errs
}

// checkTree is CheckTree with the per-path rule given: the engine's own
// writes may also create its answers file.
func checkTree(files []File, checkPath func(string) error) error {
	var first error
	eachTreeError(files, checkPath, func(err error) bool { first = err; return false })
	return first
}

// eachTreeError calls report with each refusal of files, in the order of
// the checks (paths, then directories, then links), until it returns false.
func eachTreeError(files []File, checkPath func(string) error, report func(error) bool) {
	byPath := make(map[string]*File, len(files))
	folded := make(map[string]string, len(files))
	for i := range files {
		f := &files[i]
		if err := checkPath(f.Path); err != nil {
			if !report(fileError(f, err)) {
				return
			}
			continue
		}
		k := foldName(f.Path)
		if other, ok := folded[k]; ok {
			if !report(fileError(f, &PathError{Path: f.Path, Rule: fmt.Sprintf("is the same file as %q on case-insensitive file systems", other)})) {
				return
			}
			continue
		}
		folded[k] = f.Path
		byPath[f.Path] = f
	}
	links := func(p string) (string, bool) {
		if f, ok := byPath[p]; ok && f.Mode&fs.ModeSymlink != 0 {
			return f.Link, true
		}
		return "", false
	}
	dirs := map[string]bool{}
	for i := range files {
		f := &files[i]
		for dir := path.Dir(f.Path); dir != "."; dir = path.Dir(dir) {
			if dirs[dir] {
				break // checked for an earlier file
			}
			dirs[dir] = true
			if parent, ok := byPath[dir]; ok {
				rule := "is inside " + dir + ", which is a file"
				if parent.Mode&fs.ModeSymlink != 0 {
					rule = "passes through the symbolic link " + dir
				}
				if !report(fileError(f, &PathError{Path: f.Path, Rule: rule})) {
					return
				}
				break
			}
			if other, ok := folded[foldName(dir)]; ok {
				if !report(fileError(f, &PathError{Path: f.Path, Rule: fmt.Sprintf("directory %s is the same as file %q on case-insensitive file systems", dir, other)})) {
					return
				}
				break
			}
		}
	}
	for i := range files {
		f := &files[i]
		if f.Mode&fs.ModeSymlink == 0 {
			continue
		}
		if _, err := ResolveLink(f.Path, f.Link, links); err != nil {
			if !report(fileError(f, err)) {
				return
			}
		}
	}
}

// fileError names the template file a refused path came from.
func fileError(f *File, err error) error {
	if f.Source != "" && f.Source != f.Path {
		return fmt.Errorf("%s: %w", f.Source, err)
	}
	return err
}

// maxLinkHops bounds link chains, as the kernel's ELOOP does.
const maxLinkHops = 40

// ResolveLink returns the tree path that the symbolic link at p, pointing
// to target, resolves to, following the links of the tree (linkAt gives a
// path's link target, if it is a link). It fails when the resolution leaves
// the tree at any step, is absolute, or loops.
func ResolveLink(p, target string, linkAt func(string) (string, bool)) (string, error) {
	refuse := func(rule string) error { return &PathError{Path: p, Rule: "symbolic link to " + target + " " + rule} }
	if target == "" || path.IsAbs(target) || strings.Contains(target, `\`) || strings.ContainsRune(target, 0) {
		return "", refuse("is empty, absolute or has a backslash or NUL")
	}
	queue := slices.DeleteFunc(strings.Split(path.Dir(p)+"/"+target, "/"), func(s string) bool { return s == "" || s == "." })
	var resolved []string
	hops := 0
	for len(queue) > 0 {
		seg := queue[0]
		queue = queue[1:]
		switch seg {
		case ".", "":
			continue
		case "..":
			if len(resolved) == 0 {
				return "", refuse("leaves the repository")
			}
			resolved = resolved[:len(resolved)-1]
			continue
		}
		at := strings.Join(append(resolved, seg), "/")
		if next, ok := linkAt(at); ok {
			if hops++; hops > maxLinkHops {
				return "", refuse("is a loop of links")
			}
			if next == "" || path.IsAbs(next) {
				return "", refuse("goes through " + at + ", an absolute or empty link")
			}
			queue = append(strings.Split(next, "/"), queue...)
			continue
		}
		resolved = append(resolved, seg)
	}
	out := strings.Join(resolved, "/")
	if out == "" {
		return "", refuse("is the repository's root")
	}
	var refused *PathError
	if err := CheckPath(out); errors.As(err, &refused) {
		return "", refuse("reaches a path the policy refuses: " + refused.Rule)
	}
	return out, nil
}
