package verify

import (
	"bytes"
	"context"
	"fmt"
	"regexp"
	"strings"

	"github.com/distribution/reference"
	"github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/client/llb/sourceresolver"
	"github.com/moby/buildkit/frontend/dockerfile/dockerfile2llb"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/buildkit/frontend/dockerfile/shell"
	digest "github.com/opencontainers/go-digest"
)

// dockerfile runs BuildKit's own Dockerfile parser and lint rules (what
// `docker build --check` reports, without an engine or a registry), then
// paved's policy: the final stage runs as a numeric non-root USER, every
// base image is pinned by digest and none is :latest, and no
// -buildmode=pie with CGO_ENABLED=0 when the final base is static (such a
// binary asks for a dynamic loader the image does not have).
type dockerfile struct{}

func (dockerfile) Name() string { return "dockerfile" }

func (c dockerfile) Run(ctx context.Context, r *Repo) ([]Finding, error) {
	return r.eachOf(r.dockerfiles(), func(f string, src []byte) ([]Finding, error) {
		return checkDockerfile(ctx, f, src)
	})
}

// offlineResolver answers BuildKit's image-config lookups without a
// registry: every image is a linux/amd64 image with an empty config.
type offlineResolver struct{}

func (offlineResolver) ResolveImageConfig(_ context.Context, ref string, _ sourceresolver.Opt) (string, digest.Digest, []byte, error) {
	return ref, digest.FromString(ref), []byte(`{"architecture":"amd64","os":"linux","rootfs":{"type":"layers"},"config":{}}`), nil
}

func checkDockerfile(ctx context.Context, file string, src []byte) ([]Finding, error) {
	var out []Finding
	add := func(line, col int, format string, args ...any) {
		if line < 1 {
			line = 1
		}
		if col < 1 {
			col = 1
		}
		out = append(out, Finding{Path: file, Line: line, Col: col, Check: "dockerfile", Message: fmt.Sprintf(format, args...)})
	}

	// BuildKit's lint rules, as `docker build --check` runs them.
	st := llb.Scratch()
	def, err := st.Marshal(ctx)
	if err != nil {
		return nil, fmt.Errorf("buildkit: %w", err)
	}
	sm := llb.NewSourceMap(&st, file, "Dockerfile", src)
	sm.Definition = def
	res, err := dockerfile2llb.DockerfileLint(ctx, src, dockerfile2llb.ConvertOpt{SourceMap: sm, MetaResolver: offlineResolver{}})
	if err != nil {
		return nil, fmt.Errorf("buildkit lint: %w", err)
	}
	for _, w := range res.Warnings {
		line, col := 1, 1
		if w.Location != nil && len(w.Location.Ranges) > 0 {
			line, col = int(w.Location.Ranges[0].Start.Line), int(w.Location.Ranges[0].Start.Character)+1
		}
		add(line, col, "%s: %s", w.RuleName, w.Detail)
	}
	if res.Error != nil {
		line := 1
		if len(res.Error.Location.Ranges) > 0 {
			line = int(res.Error.Location.Ranges[0].Start.Line)
		}
		add(line, 1, "%s", res.Error.Message)
		return out, nil
	}

	// Policy, on BuildKit's parse.
	ast, err := parser.Parse(bytes.NewReader(src))
	if err != nil {
		return out, nil //nolint:nilerr // reported by the lint above
	}
	stages, metaArgs, err := instructions.Parse(ast.AST, nil)
	if err != nil || len(stages) == 0 {
		return out, nil //nolint:nilerr // reported by the lint above
	}
	lex := shell.NewLex(ast.EscapeToken)
	global := envList{}
	for _, a := range metaArgs {
		for _, kv := range a.Args {
			if kv.Value != nil {
				global.set(kv.Key, *kv.Value)
			} else {
				global.set(kv.Key, "")
			}
		}
	}
	expand := func(s string, env envList) string {
		if v, _, err := lex.ProcessWord(s, env); err == nil {
			return v
		}
		return s
	}
	stageIndex := map[string]int{}
	base := make([]string, len(stages)) // resolved external base image of each stage ("" if scratch)
	for i, s := range stages {
		name := expand(s.BaseName, global)
		line := 1
		if len(s.Location) > 0 {
			line = s.Location[0].Start.Line
		}
		if j, ok := stageIndex[strings.ToLower(name)]; ok {
			base[i] = base[j]
		} else if name == "scratch" {
			base[i] = "scratch"
		} else {
			base[i] = name
			if msg := checkImageRef(name); msg != "" {
				add(line, 1, "%s", msg)
			}
		}
		if s.Name != "" {
			stageIndex[strings.ToLower(s.Name)] = i
		}
	}

	// The final stage (the default target) must run as a numeric non-root user.
	final := len(stages) - 1
	if user, line, ok := stageUser(stages, final, stageIndex, expand, global); !ok {
		fl := 1
		if len(stages[final].Location) > 0 {
			fl = stages[final].Location[0].Start.Line
		}
		add(fl, 1, "final stage sets no USER: the container runs as root; add USER 65532:65532 (numeric)")
	} else if !numericUserRE.MatchString(user) {
		add(line, 1, "USER %s is not numeric: Kubernetes can enforce runAsNonRoot only for a numeric UID (e.g. USER 65532:65532)", user)
	} else if uid, _, _ := strings.Cut(user, ":"); strings.TrimLeft(uid, "0") == "" {
		add(line, 1, "USER %s is root: the final stage must run as a non-root UID", user)
	}

	// No PIE with CGO_ENABLED=0 on a static final base.
	if isStaticBase(base[final]) {
		for _, s := range stages {
			env := global.clone()
			for _, cmd := range s.Commands {
				switch c := cmd.(type) {
				case *instructions.EnvCommand:
					for _, kv := range c.Env {
						env.set(kv.Key, expand(kv.Value, env))
					}
				case *instructions.ArgCommand:
					for _, kv := range c.Args {
						if kv.Value != nil {
							env.set(kv.Key, expand(*kv.Value, env))
						}
					}
				case *instructions.RunCommand:
					text := strings.Join(c.CmdLine, " ")
					if !pieRE.MatchString(text) {
						continue
					}
					v, _ := env.Get("CGO_ENABLED")
					if cgoOffRE.MatchString(text) || v == "0" {
						line := 1
						if loc := c.Location(); len(loc) > 0 {
							line = loc[0].Start.Line
						}
						add(line, 1, "-buildmode=pie with CGO_ENABLED=0 on a static base (%s): the binary asks for a dynamic loader the image does not have; drop -buildmode=pie", base[final])
					}
				}
			}
		}
	}
	return out, nil
}

var (
	numericUserRE = regexp.MustCompile(`^[0-9]+(:[0-9]+)?$`)
	pieRE         = regexp.MustCompile(`-buildmode[= ]pie\b`)
	cgoOffRE      = regexp.MustCompile(`\bCGO_ENABLED=0\b`)
)

// stageUser returns the last USER of stage i, following FROM <stage> chains.
func stageUser(stages []instructions.Stage, i int, index map[string]int, expand func(string, envList) string, global envList) (string, int, bool) {
	for seen := 0; seen <= len(stages); seen++ {
		s := stages[i]
		for k := len(s.Commands) - 1; k >= 0; k-- {
			if u, ok := s.Commands[k].(*instructions.UserCommand); ok {
				line := 1
				if loc := u.Location(); len(loc) > 0 {
					line = loc[0].Start.Line
				}
				return expand(u.User, global), line, true
			}
		}
		j, ok := index[strings.ToLower(expand(s.BaseName, global))]
		if !ok || j >= i {
			return "", 0, false
		}
		i = j
	}
	return "", 0, false
}

// checkImageRef returns why a base image reference breaks the pinning
// policy, or "".
func checkImageRef(name string) string {
	if strings.Contains(name, "$") {
		return fmt.Sprintf("base image %q has an unresolved variable: give the ARG a default pinned by digest", name)
	}
	ref, err := reference.ParseNormalizedNamed(name)
	if err != nil {
		return fmt.Sprintf("base image %q: %v", name, err)
	}
	tagged, isTagged := ref.(reference.Tagged)
	_, digested := ref.(reference.Digested)
	switch {
	case isTagged && tagged.Tag() == "latest":
		return fmt.Sprintf("base image %q uses :latest: name a version and pin it by digest", name)
	case !digested && !isTagged:
		return fmt.Sprintf("base image %q has no tag or digest (implicitly :latest): pin it by digest (IMAGE:TAG@sha256:...)", name)
	case !digested:
		return fmt.Sprintf("base image %q is not pinned by digest: use %s@sha256:...", name, name)
	}
	return ""
}

// isStaticBase reports whether an image has no dynamic loader.
func isStaticBase(img string) bool {
	if img == "scratch" {
		return true
	}
	ref, err := reference.ParseNormalizedNamed(img)
	if err != nil {
		return false
	}
	n := ref.Name()
	return strings.Contains(n, "distroless/static") || strings.HasSuffix(n, "chainguard/static") || strings.HasSuffix(n, "/busybox-static")
}

// envList is a shell.EnvGetter over ordered keys.
type envList struct {
	keys []string
	vals map[string]string
}

func (e *envList) set(k, v string) {
	if e.vals == nil {
		e.vals = map[string]string{}
	}
	if _, ok := e.vals[k]; !ok {
		e.keys = append(e.keys, k)
	}
	e.vals[k] = v
}

func (e envList) Get(k string) (string, bool) { v, ok := e.vals[k]; return v, ok }
func (e envList) Keys() []string              { return e.keys }

func (e envList) clone() envList {
	c := envList{}
	for _, k := range e.keys {
		c.set(k, e.vals[k])
	}
	return c
}

var _ shell.EnvGetter = envList{}
