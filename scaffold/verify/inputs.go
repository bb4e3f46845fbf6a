package verify

import (
	"context"
	"path"
)

// The inputs of the checks, collected in one place so that each check
// starts at its own logic: files by pattern, read once; objects by API
// group, from the plain manifests and every rendering of every chart. A
// check with nothing to read gets ErrNoInput from here and is skipped.

// Patterns of the files several checks read.
var (
	workflowFiles   = []string{".github/workflows/*.yml", ".github/workflows/*.yaml"}
	actionFiles     = []string{".github/actions/**/action.yml", ".github/actions/**/action.yaml"}
	dockerfileGlobs = []string{"**/Dockerfile", "**/Dockerfile.*", "**/*.Dockerfile", "**/Containerfile", "**/Containerfile.*"}
)

// eachFile calls check on every file matching any of patterns, with its
// content, and gathers the findings; ErrNoInput when no file matches.
func (r *Repo) eachFile(patterns []string, check func(file string, src []byte) ([]Finding, error)) ([]Finding, error) {
	return r.eachOf(r.Glob(patterns...), check)
}

// eachOf is eachFile over a list of files already chosen.
func (r *Repo) eachOf(files []string, check func(file string, src []byte) ([]Finding, error)) ([]Finding, error) {
	if len(files) == 0 {
		return nil, ErrNoInput
	}
	var out []Finding
	for _, f := range files {
		src, err := r.Read(f)
		if err != nil {
			return nil, err
		}
		fs, err := check(f, src)
		if err != nil {
			return nil, err
		}
		out = append(out, fs...)
	}
	return out, nil
}

// dockerfiles are the repository's Dockerfiles and Containerfiles, not
// the templates, ignore files and documents named like them.
func (r *Repo) dockerfiles() []string {
	var out []string
	for _, f := range r.Glob(dockerfileGlobs...) {
		switch path.Ext(f) {
		case ".dockerignore", ".tmpl", ".tpl", ".md", ".j2":
			continue
		}
		out = append(out, f)
	}
	return out
}

// objectsOf returns the objects of an API group ("" is the core group),
// plain and rendered; ErrNoInput when there is none.
func (r *Repo) objectsOf(ctx context.Context, group string) ([]*kobject, error) {
	all, err := r.allObjects(ctx)
	if err != nil {
		return nil, err
	}
	var out []*kobject
	for _, o := range all {
		if o.group() == group {
			out = append(out, o)
		}
	}
	if len(out) == 0 {
		return nil, ErrNoInput
	}
	return out, nil
}

// findingsIn places problems found in one file (positions as the parser
// gave them; 0 is the file's start) as findings in it.
func findingsIn(file string, errs []posError) []Finding {
	out := make([]Finding, 0, len(errs))
	for _, e := range errs {
		out = append(out, Finding{Path: file, Line: max(e.Line, 1), Col: max(e.Col, 1), Message: e.Msg})
	}
	return out
}
