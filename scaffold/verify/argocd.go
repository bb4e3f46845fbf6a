package verify

import (
	"context"
	"fmt"
	"path"
	"slices"
	"strings"

	"github.com/gobwas/glob"

	"github.com/paved-dev/paved/scaffold"
	"github.com/paved-dev/paved/scaffold/internal/yamlnode"
)

// argocd checks Argo CD Applications and AppProjects (argoproj.io): as the
// API server would accept them with Argo CD's CRDs (crdvalidate.go), then
// what Argo CD resolves when it syncs: an Application's project is an
// AppProject of the repository (or Argo CD's own "default"; a repository
// without AppProjects uses the platform's, not judged); its source,
// when it is this repository, is a chart directory whose Helm values
// files exist; and the project permits its source repository and its
// destination (server or name, and namespace), matched as Argo CD matches
// them (AppProject.IsSourcePermitted and isDestinationMatched in
// github.com/argoproj/argo-cd/v3 v3.6.1: globs, "!" denies); and when the
// chart's Rollout shifts Istio traffic, the Application leaves the fields
// the Rollouts controller writes to it (ignoreDifferences with
// RespectIgnoreDifferences=true).
type argocd struct{}

func (argocd) Name() string { return "argocd" }

type appSource struct {
	RepoURL string `json:"repoURL"`
	Path    string `json:"path"`
	Chart   string `json:"chart"`
	Ref     string `json:"ref"`
	Helm    *struct {
		ValueFiles              []string `json:"valueFiles"`
		IgnoreMissingValueFiles bool     `json:"ignoreMissingValueFiles"`
	} `json:"helm"`
}

type applicationShape struct {
	Spec struct {
		IgnoreDifferences []struct {
			Group             string   `json:"group"`
			Kind              string   `json:"kind"`
			JSONPointers      []string `json:"jsonPointers"`
			JQPathExpressions []string `json:"jqPathExpressions"`
		} `json:"ignoreDifferences"`
		SyncPolicy *struct {
			SyncOptions []string `json:"syncOptions"`
		} `json:"syncPolicy"`
		Project     string      `json:"project"`
		Source      *appSource  `json:"source"`
		Sources     []appSource `json:"sources"`
		Destination struct {
			Server    string `json:"server"`
			Name      string `json:"name"`
			Namespace string `json:"namespace"`
		} `json:"destination"`
	} `json:"spec"`
}

type appProjectShape struct {
	Spec struct {
		SourceRepos  []string `json:"sourceRepos"`
		Destinations []struct {
			Server    string `json:"server"`
			Name      string `json:"name"`
			Namespace string `json:"namespace"`
		} `json:"destinations"`
	} `json:"spec"`
}

func (c argocd) Run(ctx context.Context, r *Repo) ([]Finding, error) {
	objs, err := r.allObjects(ctx)
	if err != nil {
		return nil, err
	}
	isArgoCD := func(group, kind string) bool {
		return group == "argoproj.io" && slices.Contains(argoCDKinds, kind) && kind != "ApplicationSet"
	}
	if !slices.ContainsFunc(objs, func(o *kobject) bool { return isArgoCD(o.group(), o.Kind) }) {
		return nil, ErrNoInput
	}
	out, ok, err := crdObjects(ctx, c.Name(), objs, isArgoCD)
	if err != nil {
		return nil, err
	}
	projects := map[string]*appProjectShape{}
	var projectNames []string
	for _, x := range ok {
		if x.o.Kind != "AppProject" {
			continue
		}
		var p appProjectShape
		if x.decode(&p) == nil {
			projects[x.o.Name] = &p
			projectNames = append(projectNames, x.o.Name)
		}
	}
	slices.Sort(projectNames)
	self := repoURLs(r)
	for _, x := range ok {
		if x.o.Kind != "Application" {
			continue
		}
		var app applicationShape
		if x.decode(&app) != nil {
			continue
		}
		o := x.o
		proj := projects[app.Spec.Project]
		// A repository with no AppProject deploys into one the platform
		// keeps: only a project missing beside others is a mistake.
		if proj == nil && app.Spec.Project != "default" && len(projects) > 0 {
			out = append(out, o.finding(c.Name(), nodeAt(o, "spec.project"), "%s: project %q is no AppProject of the repository (AppProjects: %s)", o.describe(), app.Spec.Project, strings.Join(append(projectNames, "default"), ", ")))
		}
		var srcs []appSource
		var paths []string
		if app.Spec.Source != nil {
			srcs, paths = append(srcs, *app.Spec.Source), append(paths, "spec.source")
		}
		for i, s := range app.Spec.Sources {
			srcs, paths = append(srcs, s), append(paths, fmt.Sprintf("spec.sources[%d]", i))
		}
		for i, s := range srcs {
			if proj != nil && !sourcePermitted(proj.Spec.SourceRepos, s.RepoURL) {
				out = append(out, o.finding(c.Name(), nodeAt(o, paths[i]+".repoURL"), "%s: AppProject %s does not permit source repository %q (sourceRepos: %s)", o.describe(), app.Spec.Project, s.RepoURL, strings.Join(proj.Spec.SourceRepos, ", ")))
			}
			if s.Chart != "" || s.Path == "" || !self(s.RepoURL) {
				continue // a chart from a Helm repository, or another repository's files
			}
			out = append(out, appSourceFindings(c.Name(), r, o, paths[i], s)...)
			if rollout := istioRollout(ctx, r, s.Path); rollout != "" {
				out = append(out, weightOwnership(c.Name(), o, &app, rollout)...)
			}
		}
		if proj != nil {
			d := app.Spec.Destination
			if !destinationPermitted(proj, d.Server, d.Name, d.Namespace) {
				out = append(out, o.finding(c.Name(), nodeAt(o, "spec.destination.namespace"), "%s: AppProject %s does not permit destination %s namespace %q", o.describe(), app.Spec.Project, destName(d.Server, d.Name), d.Namespace))
			}
		}
	}
	return out, nil
}

// appSourceFindings checks a source in this repository: its path is a
// chart directory and each Helm values file exists beside its Chart.yaml.
func appSourceFindings(check string, r *Repo, o *kobject, at string, s appSource) []Finding {
	dir := path.Clean(strings.TrimPrefix(s.Path, "./"))
	if strings.HasPrefix(dir, "../") || dir == ".." || path.IsAbs(dir) {
		return []Finding{o.finding(check, nodeAt(o, at+".path"), "%s: path %q leaves the repository", o.describe(), s.Path)}
	}
	if !r.IsDir(dir) {
		return []Finding{o.finding(check, nodeAt(o, at+".path"), "%s: path %q is not a directory of the repository", o.describe(), s.Path)}
	}
	if !r.Exists(path.Join(dir, "Chart.yaml")) {
		if s.Helm != nil {
			return []Finding{o.finding(check, nodeAt(o, at+".path"), "%s: path %q has no Chart.yaml, so its helm settings do nothing", o.describe(), s.Path)}
		}
		return nil // plain manifests or kustomize
	}
	if s.Helm == nil || s.Helm.IgnoreMissingValueFiles {
		return nil
	}
	var out []Finding
	for i, vf := range s.Helm.ValueFiles {
		if strings.HasPrefix(vf, "$") || strings.Contains(vf, "://") {
			continue // another source's files ($ref/...) or a URL
		}
		p := path.Clean(path.Join(dir, vf))
		if !r.Exists(p) {
			var have []string
			for _, f := range r.Glob(dir+"/values*.yaml", dir+"/values*.yml") {
				have = append(have, strings.TrimPrefix(f, dir+"/"))
			}
			out = append(out, o.finding(check, nodeAt(o, fmt.Sprintf("%s.helm.valueFiles[%d]", at, i)), "%s: values file %q is not in the chart %s (values files: %s)", o.describe(), vf, dir, strings.Join(have, ", ")))
		}
	}
	return out
}

// repoURLs returns a test for "this repository's URL": the answers file's
// GitHubRepo (owner/name) on github.com, in any of its spellings. With no
// GitHubRepo every URL counts as this repository.
func repoURLs(r *Repo) func(url string) bool {
	var slug string
	if b, err := r.Read(AnswersFile); err == nil {
		if af, err := scaffold.ParseAnswersFile(AnswersFile, b); err == nil {
			slug, _ = af.Answers["GitHubRepo"].(string)
		}
	}
	if slug == "" {
		return func(string) bool { return true }
	}
	want := normalizeGitURL("https://github.com/" + slug)
	return func(url string) bool { return normalizeGitURL(url) == want }
}

// normalizeGitURL folds the spellings of one repository's URL together,
// as Argo CD's git.NormalizeGitURL does for the common ones: case, a
// trailing .git or slash, and the scp-like ssh form.
func normalizeGitURL(u string) string {
	u = strings.ToLower(strings.TrimSpace(u))
	if rest, ok := strings.CutPrefix(u, "git@"); ok {
		host, p, _ := strings.Cut(rest, ":")
		u = "ssh://git@" + host + "/" + p
	}
	for _, p := range []string{"https://", "http://", "ssh://git@", "ssh://", "git://"} {
		u = strings.TrimPrefix(u, p)
	}
	u = strings.TrimSuffix(strings.TrimSuffix(u, "/"), ".git")
	return u
}

// globMatch is Argo CD's: "*" matches anything, "!" negates, gobwas globs.
func globMatch(pattern, val string, allowNegation bool, separators ...rune) bool {
	if allowNegation && strings.HasPrefix(pattern, "!") {
		return !globMatch(pattern[1:], val, false, separators...)
	}
	if pattern == "*" {
		return true
	}
	g, err := glob.Compile(pattern, separators...)
	if err != nil {
		return false
	}
	return g.Match(val)
}

func sourcePermitted(repos []string, repoURL string) bool {
	src := normalizeGitURL(repoURL)
	matched := false
	for _, p := range repos {
		pattern := normalizeGitURL(p)
		if strings.HasPrefix(p, "!") {
			pattern = "!" + normalizeGitURL(p[1:])
		}
		switch ok := globMatch(pattern, src, true, '/'); {
		case ok:
			matched = true
		case strings.HasPrefix(pattern, "!"):
			return false
		}
	}
	return matched
}

func destinationPermitted(p *appProjectShape, server, name, namespace string) bool {
	matched := false
	for _, d := range p.Spec.Destinations {
		nameOK := name != "" && globMatch(d.Name, name, true)
		serverOK := server != "" && globMatch(d.Server, server, true)
		nsOK := globMatch(d.Namespace, namespace, true)
		switch {
		case (serverOK || nameOK) && nsOK:
			matched = true
		case ((!nameOK && strings.HasPrefix(d.Name, "!")) || (!serverOK && strings.HasPrefix(d.Server, "!"))) && nsOK:
			return false
		case !nsOK && strings.HasPrefix(d.Namespace, "!") && serverOK:
			return false
		}
	}
	return matched
}

func destName(server, name string) string {
	if name != "" {
		return fmt.Sprintf("cluster %q", name)
	}
	return fmt.Sprintf("server %q", server)
}

// istioRollout names a Rollout with Istio traffic routing that the chart
// at dir renders ("" when none): the Rollouts controller owns that
// VirtualService's weights and that DestinationRule's subset labels.
func istioRollout(ctx context.Context, r *Repo, dir string) string {
	dir = path.Clean(strings.TrimPrefix(dir, "./"))
	charts, err := r.charts(ctx)
	if err != nil {
		return ""
	}
	for _, ch := range charts {
		if ch.Dir != dir {
			continue
		}
		for _, rd := range ch.Renders {
			for _, o := range rd.Objects {
				if isRollout(o) && yamlnode.At(o.Doc.Root, "spec", "strategy", "canary", "trafficRouting", "istio") != nil {
					return o.describe()
				}
			}
		}
	}
	return ""
}

// weightOwnership: an Application that syncs a chart whose Rollout shifts
// Istio traffic must leave the weights and subset labels the controller
// writes alone (ignoreDifferences, and RespectIgnoreDifferences=true so a
// sync does not apply them either), else every sync (and self-heal) in
// the middle of a canary sends all traffic back to the stable pods.
func weightOwnership(check string, o *kobject, app *applicationShape, rollout string) []Finding {
	covers := func(kind, jqPart, pointerPart string) bool {
		for _, d := range app.Spec.IgnoreDifferences {
			if d.Kind != kind || d.Group != "networking.istio.io" {
				continue
			}
			for _, e := range d.JQPathExpressions {
				if strings.Contains(e, jqPart) {
					return true
				}
			}
			for _, p := range d.JSONPointers {
				if p == "/spec" || strings.HasPrefix(p, pointerPart) {
					return true
				}
			}
		}
		return false
	}
	var out []Finding
	at := nodeAt(o, "spec.ignoreDifferences")
	if at == nil {
		at = yamlnode.Key(o.Doc.Root, "spec")
	}
	if !covers("VirtualService", "weight", "/spec/http") {
		out = append(out, o.finding(check, at, "%s: %s sets the VirtualService's route weights during a canary: ignore them (ignoreDifferences: group networking.istio.io, kind VirtualService, jqPathExpressions: [.spec.http[].route[].weight]) or each sync resets them", o.describe(), rollout))
	}
	if !covers("DestinationRule", "labels", "/spec/subsets") {
		out = append(out, o.finding(check, at, "%s: %s sets the DestinationRule's subset labels: ignore them (ignoreDifferences: group networking.istio.io, kind DestinationRule, jqPathExpressions: [.spec.subsets[].labels]) or each sync resets them", o.describe(), rollout))
	}
	if len(out) == 0 && (app.Spec.SyncPolicy == nil || !slices.Contains(app.Spec.SyncPolicy.SyncOptions, "RespectIgnoreDifferences=true")) {
		at := nodeAt(o, "spec.syncPolicy.syncOptions")
		if at == nil {
			at = yamlnode.Key(o.Doc.Root, "spec")
		}
		out = append(out, o.finding(check, at, "%s: ignoreDifferences covers what %s writes, but a sync still applies those fields without syncOptions RespectIgnoreDifferences=true", o.describe(), rollout))
	}
	return out
}
