package verify

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/rhysd/actionlint"
)

// workflows checks GitHub Actions workflows with actionlint (and, through
// it, shellcheck when it is on PATH), then applies paved's policy: every
// remote `uses:` pinned to a full commit SHA, read-only top-level
// permissions, no pull_request_target that checks out the pull request's
// head, and no ${{ github.event.* }} expanded inside a run: script.
type workflows struct{}

func (workflows) Name() string { return "workflows" }

func (c workflows) Run(ctx context.Context, r *Repo) ([]Finding, error) {
	files := r.Glob(workflowFiles...)
	if len(files) == 0 {
		return nil, ErrNoInput
	}
	sc := r.shellcheck
	switch sc {
	case "-":
		sc = ""
	case "":
		if p, err := exec.LookPath("shellcheck"); err == nil {
			sc = p
		}
	}
	// actionlint reads local actions and its configuration from disk and
	// follows links: it reads a copy of them that holds none.
	root, remove, err := r.stage("", func(f string) bool {
		base := path.Base(f)
		return strings.HasPrefix(f, ".github/") || base == "action.yml" || base == "action.yaml"
	})
	if err != nil {
		return nil, fmt.Errorf("actionlint: %w", err)
	}
	defer remove()
	l, err := actionlint.NewLinter(io.Discard, &actionlint.LinterOptions{
		Shellcheck: sc,
		WorkingDir: root,
		LogWriter:  io.Discard,
	})
	if err != nil {
		return nil, fmt.Errorf("actionlint: %w", err)
	}
	proj, err := actionlint.NewProject(root)
	if err != nil {
		return nil, fmt.Errorf("actionlint config: %w", err)
	}
	var abs []string
	for _, f := range files {
		abs = append(abs, filepath.Join(root, filepath.FromSlash(f)))
	}
	errs, err := l.LintFiles(abs, proj)
	if err != nil {
		return nil, fmt.Errorf("actionlint: %w", err)
	}
	var out []Finding
	for _, l := range r.Links {
		if strings.HasPrefix(l, ".github/") {
			out = append(out, Finding{Path: l, Line: 1, Col: 1, Message: "symbolic link to a file outside the repository (or to nothing): verify does not follow it"})
		}
	}
	for _, e := range errs {
		p := e.Filepath
		if filepath.IsAbs(p) {
			if rel, err := filepath.Rel(root, p); err == nil {
				p = rel
			}
		}
		out = append(out, Finding{Path: filepath.ToSlash(p), Line: e.Line, Col: e.Column, Check: c.Name(),
			Message: fmt.Sprintf("%s [%s]", e.Message, e.Kind)})
	}
	for _, f := range files {
		src, err := r.Read(f)
		if err != nil {
			return nil, err
		}
		out = append(out, workflowPolicy(f, src)...)
	}
	return out, nil
}

// workflowPolicy applies paved's rules to one workflow, parsed by actionlint.
// A workflow that does not parse has already been reported by actionlint.
func workflowPolicy(file string, src []byte) []Finding {
	w, errs := actionlint.Parse(src)
	if w == nil || len(errs) > 0 && len(w.Jobs) == 0 {
		return nil
	}
	var out []Finding
	add := func(pos *actionlint.Pos, format string, args ...any) {
		f := Finding{Path: file, Line: 1, Col: 1, Check: "workflows", Message: fmt.Sprintf(format, args...)}
		if pos != nil {
			f.Line, f.Col = pos.Line, pos.Col
		}
		out = append(out, f)
	}

	// Top-level permissions: present, and read-only.
	if w.Permissions == nil {
		add(nil, "no top-level permissions: add `permissions: contents: read` and grant writes per job")
	} else {
		p := w.Permissions
		if p.All != nil && p.All.Value != "read-all" {
			add(p.All.Pos, "top-level permissions %q are not read-only: use `contents: read` and grant writes per job", p.All.Value)
		}
		for _, name := range sortedKeys(p.Scopes) {
			s := p.Scopes[name]
			if s.Value != nil && s.Value.Value != "read" && s.Value.Value != "none" {
				add(s.Value.Pos, "top-level permission %s: %s is not read-only: grant it in the job that needs it", name, s.Value.Value)
			}
		}
	}

	prTarget := false
	for _, ev := range w.On {
		if we, ok := ev.(*actionlint.WebhookEvent); ok && we.Hook != nil && we.Hook.Value == "pull_request_target" {
			prTarget = true
		}
	}

	for _, id := range sortedKeys(w.Jobs) {
		job := w.Jobs[id]
		if job.WorkflowCall != nil && job.WorkflowCall.Uses != nil {
			if msg := checkUses(job.WorkflowCall.Uses.Value); msg != "" {
				add(job.WorkflowCall.Uses.Pos, "%s", msg)
			}
		}
		for _, step := range job.Steps {
			switch ex := step.Exec.(type) {
			case *actionlint.ExecAction:
				if ex.Uses == nil {
					continue
				}
				if msg := checkUses(ex.Uses.Value); msg != "" {
					add(ex.Uses.Pos, "%s", msg)
				}
				if prTarget && isCheckout(ex.Uses.Value) {
					if in := ex.Inputs["ref"]; in != nil && in.Value != nil && checksOutHead(in.Value.Value) {
						add(in.Value.Pos, "pull_request_target checks out the pull request's head (%s): untrusted code runs with the base repository's secrets", in.Value.Value)
					}
				}
			case *actionlint.ExecRun:
				if ex.Run == nil {
					continue
				}
				for _, m := range eventInRun.FindAllStringIndex(ex.Run.Value, -1) {
					line, col := scalarOffset(src, ex.Run, m[0])
					add(&actionlint.Pos{Line: line, Col: col},
						"%s expanded inside run: pass it through env: and use the variable instead (script injection)",
						ex.Run.Value[m[0]:m[1]])
				}
			}
		}
	}
	return out
}

var eventInRun = regexp.MustCompile(`\$\{\{[^}]*?\bgithub\.event\.[^}]*\}\}`)

// checksOutHead reports whether a checkout ref names the pull request's
// head, which pull_request_target must not run.
func checksOutHead(ref string) bool {
	r := strings.ReplaceAll(ref, " ", "")
	for _, s := range []string{"github.event.pull_request.head", "github.head_ref", "refs/pull/", "merge_commit_sha", "github.event.number"} {
		if strings.Contains(r, s) {
			return true
		}
	}
	return false
}

func isCheckout(uses string) bool {
	u, err := parseUses(uses)
	return err == nil && u.Owner == "actions" && u.Repo == "checkout"
}

// scalarOffset maps a byte offset in a string's value to its file position.
// For a block scalar (| or >), the value starts on the line after the key
// and keeps its line breaks; for a plain or quoted scalar, the offset is
// counted from the value's start.
func scalarOffset(src []byte, s *actionlint.String, off int) (line, col int) {
	if s.Pos == nil {
		return 1, 1
	}
	lines := bytes.Split(src, []byte("\n"))
	if s.Pos.Line < 1 || s.Pos.Line > len(lines) {
		return s.Pos.Line, s.Pos.Col
	}
	head := lines[s.Pos.Line-1]
	var at []byte
	if s.Pos.Col-1 < len(head) && s.Pos.Col >= 1 {
		at = bytes.TrimSpace(head[s.Pos.Col-1:])
	}
	if len(at) == 0 || at[0] != '|' && at[0] != '>' {
		return s.Pos.Line, s.Pos.Col + off + boolToInt(s.Quoted)
	}
	before := s.Value[:off]
	nl := strings.Count(before, "\n")
	line = s.Pos.Line + 1 + nl
	colInLine := off - (strings.LastIndexByte(before, '\n') + 1)
	indent := 0
	if line-1 < len(lines) {
		l := lines[line-1]
		for indent < len(l) && l[indent] == ' ' {
			indent++
		}
	}
	return line, indent + colInLine + 1
}

func boolToInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// usesRef is a parsed `uses:` value.
type usesRef struct {
	Local  bool   // ./path/to/action
	Docker string // docker://IMAGE: the image
	Owner  string
	Repo   string
	Path   string // sub-directory or workflow file within the repository
	Ref    string // after @
}

var shaRE = regexp.MustCompile(`^[0-9a-f]{40}$`)

// parseUses parses a step's or job's uses: ./local, docker://image,
// OWNER/REPO[/PATH]@REF.
func parseUses(s string) (usesRef, error) {
	switch {
	case s == "":
		return usesRef{}, fmt.Errorf("empty uses")
	case strings.HasPrefix(s, "./") || s == ".":
		return usesRef{Local: true, Path: s}, nil
	case strings.HasPrefix(s, "docker://"):
		img := strings.TrimPrefix(s, "docker://")
		if img == "" {
			return usesRef{}, fmt.Errorf("uses %q: no image", s)
		}
		return usesRef{Docker: img}, nil
	}
	spec, ref, ok := strings.Cut(s, "@")
	if !ok || ref == "" {
		return usesRef{}, fmt.Errorf("uses %q has no @ref", s)
	}
	if strings.Contains(ref, "@") {
		return usesRef{}, fmt.Errorf("uses %q has more than one @", s)
	}
	parts := strings.SplitN(spec, "/", 3)
	if len(parts) < 2 || parts[0] == "" || parts[1] == "" {
		return usesRef{}, fmt.Errorf("uses %q is not OWNER/REPO[/PATH]@REF", s)
	}
	u := usesRef{Owner: parts[0], Repo: parts[1], Ref: ref}
	if len(parts) == 3 {
		if parts[2] == "" {
			return usesRef{}, fmt.Errorf("uses %q has an empty path", s)
		}
		u.Path = parts[2]
	}
	return u, nil
}

// checkUses returns why a uses: value breaks the pinning policy, or "".
func checkUses(s string) string {
	if strings.Contains(s, "${{") {
		return "" // actionlint reports expressions in uses:
	}
	u, err := parseUses(s)
	switch {
	case err != nil:
		return "" // actionlint reports malformed uses:
	case u.Local:
		return ""
	case u.Docker != "":
		if !strings.Contains(u.Docker, "@sha256:") {
			return fmt.Sprintf("%q is not pinned by digest: use docker://IMAGE@sha256:...", s)
		}
		return ""
	case !shaRE.MatchString(u.Ref):
		spec, _, _ := strings.Cut(s, "@")
		return fmt.Sprintf("%q is not pinned to a commit SHA: use %s@<40-hex commit> # %s", s, spec, u.Ref)
	}
	return ""
}
