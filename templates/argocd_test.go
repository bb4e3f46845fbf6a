package templates_test

// The GitOps option's promises (Delivery=argocd), checked on what the
// template renders: the AppProject lets in exactly this repository, the
// Applications' namespaces and the kinds the chart renders; each
// Application points at the chart, a values file it has and the branch the
// deploy workflow writes; the fields the Rollouts controller owns are
// ignored by the diff and respected by a sync; and Delivery=helm (also an
// answers file from before the question existed) renders none of it.

import (
	"archive/zip"
	"bytes"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/paved-dev/paved/scaffold"
	"github.com/paved-dev/paved/templates/templatetest"
)

// argoCase finds the golden case that answers Delivery=argocd.
func argoCase(t *testing.T) templatetest.Case {
	t.Helper()
	for _, c := range templatetest.ServiceCases {
		if slices.Contains(c.Set, "Delivery=argocd") {
			return c
		}
	}
	t.Fatal("no golden case answers Delivery=argocd")
	return templatetest.Case{}
}

// rendered maps output path to content.
func rendered(files []scaffold.File) map[string]string {
	out := map[string]string{}
	for _, f := range files {
		out[f.Path] = string(f.Data)
	}
	return out
}

func decodeObj(t *testing.T, name, text string) obj {
	t.Helper()
	var m map[string]any
	if err := yaml.Unmarshal([]byte(text), &m); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return obj(m)
}

func TestArgoCDApplications(t *testing.T) {
	t.Parallel()
	base := argoCase(t)
	cases := []templatetest.Case{
		base,
		{Name: "argocd-no-chaos", Module: "github.com/acme-9/billing.api", Set: []string{"Delivery=argocd", "Chaos=false", "Name=b2b-billing"}},
	}
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			t.Parallel()
			plan, files, err := templatetest.RenderCase(t.Context(), "service", "service", c, "v0.0.0-golden")
			if err != nil {
				t.Fatal(err)
			}
			out := rendered(files)
			name, _ := plan.Answers["Name"].(string)
			repo, _ := plan.Answers["GitHubRepo"].(string)
			chaos, _ := plan.Answers["Chaos"].(bool)
			checkArgoCD(t, c, out, name, repo, chaos)
		})
	}
}

func checkArgoCD(t *testing.T, c templatetest.Case, out map[string]string, name, repo string, chaos bool) {
	t.Helper()
	proj := decodeObj(t, "appproject.yaml", out["deploy/argocd/appproject.yaml"])
	if proj.str("kind") != "AppProject" || proj.str("metadata", "namespace") != "argocd" || proj.str("metadata", "name") != name {
		t.Fatalf("appproject.yaml is %s in namespace %q, want AppProject %s in argocd", proj.id(), proj.str("metadata", "namespace"), name)
	}
	repoURL := "https://github.com/" + repo + ".git"
	if got := anyStrings(proj.get("spec", "sourceRepos")); !slices.Equal(got, []string{repoURL}) {
		t.Errorf("AppProject sourceRepos = %q, want only %s", got, repoURL)
	}
	var destinations []string
	for _, d := range anySlice(proj.get("spec", "destinations")) {
		d := obj(d.(map[string]any))
		destinations = append(destinations, d.str("server")+" "+d.str("namespace"))
	}
	var namespaces []string
	for _, r := range anySlice(proj.get("spec", "clusterResourceWhitelist")) {
		r := obj(r.(map[string]any))
		if r.str("group") != "" || r.str("kind") != "Namespace" || r.str("name") == "" || strings.ContainsAny(r.str("name"), "*?[") {
			t.Errorf("AppProject allows cluster resource %v: only Namespaces, each by its exact name", r)
		}
		namespaces = append(namespaces, r.str("name"))
	}

	chartDir := "deploy/helm/" + name
	appNamespaces := map[string]bool{}
	for _, env := range []struct{ file, namespace, branch, values string }{
		{"application-staging.yaml", name + "-staging", "deploy/staging", "values-staging.yaml"},
		{"application-production.yaml", name + "-production", "deploy/production", "values-prod.yaml"},
	} {
		app := decodeObj(t, env.file, out["deploy/argocd/"+env.file])
		where := env.file + ": "
		if app.str("kind") != "Application" || app.str("metadata", "namespace") != "argocd" {
			t.Errorf("%sis %s in namespace %q, want an Application in argocd", where, app.id(), app.str("metadata", "namespace"))
		}
		if got := app.str("spec", "project"); got != name {
			t.Errorf("%sproject %q, want %s", where, got, name)
		}
		if got := app.str("spec", "source", "repoURL"); got != repoURL {
			t.Errorf("%srepoURL %q, want %s (the AppProject's only source)", where, got, repoURL)
		}
		if got := app.str("spec", "source", "targetRevision"); got != env.branch {
			t.Errorf("%stargetRevision %q, want %s", where, got, env.branch)
		}
		p := app.str("spec", "source", "path")
		if _, ok := out[path.Join(p, "Chart.yaml")]; !ok || p != chartDir {
			t.Errorf("%spath %q is not the chart %s", where, p, chartDir)
		}
		if got := app.str("spec", "source", "helm", "releaseName"); got != name {
			t.Errorf("%shelm.releaseName %q, want %s (the objects' names follow it)", where, got, name)
		}
		values := anyStrings(app.get("spec", "source", "helm", "valueFiles"))
		if !slices.Equal(values, []string{env.values}) {
			t.Errorf("%svalueFiles %q, want [%s]", where, values, env.values)
		}
		for _, v := range values {
			if _, ok := out[path.Join(chartDir, v)]; !ok {
				t.Errorf("%svalues file %s is not in the chart", where, v)
			}
		}
		dest := app.str("spec", "destination", "server") + " " + app.str("spec", "destination", "namespace")
		if app.str("spec", "destination", "namespace") != env.namespace || !slices.Contains(destinations, dest) {
			t.Errorf("%sdestination %q: want namespace %s, one of the AppProject's destinations %q", where, dest, env.namespace, destinations)
		}
		appNamespaces[env.namespace] = true
		opts := anyStrings(app.get("spec", "syncPolicy", "syncOptions"))
		for _, want := range []string{"RespectIgnoreDifferences=true", "ApplyOutOfSyncOnly=true", "CreateNamespace=true"} {
			if !slices.Contains(opts, want) {
				t.Errorf("%ssyncOptions %q lack %s", where, opts, want)
			}
		}
		if app.str("spec", "syncPolicy", "managedNamespaceMetadata", "labels", "pod-security.kubernetes.io/enforce") != "restricted" {
			t.Errorf("%sthe namespace it creates does not enforce the restricted Pod Security Standard", where)
		}
		ignored := map[string][]string{}
		for _, d := range anySlice(app.get("spec", "ignoreDifferences")) {
			d := obj(d.(map[string]any))
			ignored[d.str("group")+"/"+d.str("kind")] = anyStrings(d.get("jqPathExpressions"))
		}
		for gk, want := range map[string]string{
			"networking.istio.io/VirtualService":  ".spec.http[].route[].weight",
			"networking.istio.io/DestinationRule": ".spec.subsets[].labels",
		} {
			if !slices.Contains(ignored[gk], want) {
				t.Errorf("%signoreDifferences for %s = %q, want %s", where, gk, ignored[gk], want)
			}
		}
	}
	slices.Sort(namespaces)
	if !slices.Equal(namespaces, sortedKeys(appNamespaces)) {
		t.Errorf("AppProject lets Argo CD create namespaces %q, the Applications use %q", namespaces, sortedKeys(appNamespaces))
	}
	edits := checkGitOpsWorkflow(t, out[".github/workflows/deploy.yml"], chartDir)
	t.Run("kinds", func(t *testing.T) { checkWhitelist(t, c, proj, chaos) })
	t.Run("bumped values", func(t *testing.T) { checkBumpedValues(t, c, name, edits) })
}

// checkWhitelist: the AppProject's namespaced kinds are exactly the kinds
// the chart renders with the Applications' values files.
func checkWhitelist(t *testing.T, c templatetest.Case, proj obj, chaos bool) {
	t.Helper()
	var allowed []string
	for _, r := range anySlice(proj.get("spec", "namespaceResourceWhitelist")) {
		r := obj(r.(map[string]any))
		allowed = append(allowed, r.str("group")+"/"+r.str("kind"))
	}
	slices.Sort(allowed)
	chart := writeChart(t, c)
	kinds := map[string]bool{}
	for _, values := range []string{"values-staging.yaml", "values-prod.yaml"} {
		for _, o := range renderedObjects(t, helmTemplate(t, chart, values, "argocd-test")) {
			group, _, _ := strings.Cut(o.str("apiVersion"), "/")
			if !strings.Contains(o.str("apiVersion"), "/") {
				group = ""
			}
			kinds[group+"/"+o.str("kind")] = true
		}
	}
	if got := sortedKeys(kinds); !slices.Equal(allowed, got) {
		t.Errorf("AppProject namespaceResourceWhitelist %q, the chart renders %q", allowed, got)
	}
	if hasChaos := slices.Contains(allowed, "chaos-mesh.org/PodChaos"); hasChaos != chaos {
		t.Errorf("Chaos=%v, but the AppProject allows chaos kinds: %v", chaos, hasChaos)
	}
}

// yqSet is one `.a.b = strenv(VAR)` of the deploy workflow's yq edit.
var yqSet = regexp.MustCompile(`\.([A-Za-z][A-Za-z.]*) = strenv\(([A-Z_]+)\)`)

// checkGitOpsWorkflow: the deploy workflow's jobs write the branches and
// values files the Applications read, and run no Helm. It returns the
// values the commit step sets (dotted path to environment variable).
func checkGitOpsWorkflow(t *testing.T, text, chartDir string) map[string]string {
	t.Helper()
	var wf struct {
		Env  map[string]string `yaml:"env"`
		Jobs map[string]struct {
			Environment string `yaml:"environment"`
			Steps       []struct {
				Name string            `yaml:"name"`
				Uses string            `yaml:"uses"`
				Env  map[string]string `yaml:"env"`
				Run  string            `yaml:"run"`
			} `yaml:"steps"`
		} `yaml:"jobs"`
	}
	if err := yaml.Unmarshal([]byte(text), &wf); err != nil {
		t.Fatalf("deploy.yml: %v", err)
	}
	edits := map[string]string{}
	if wf.Env["CHART"] != chartDir {
		t.Errorf("deploy.yml: CHART is %q, want %s", wf.Env["CHART"], chartDir)
	}
	for job, want := range map[string][2]string{"staging": {"deploy/staging", "values-staging.yaml"}, "production": {"deploy/production", "values-prod.yaml"}} {
		j, ok := wf.Jobs[job]
		if !ok || j.Environment != job {
			t.Errorf("deploy.yml: no job %s in environment %s", job, job)
			continue
		}
		pushes := false
		for _, s := range j.Steps {
			if strings.Contains(s.Uses, "setup-helm") || strings.Contains(s.Run, "helm ") {
				t.Errorf("deploy.yml: job %s, step %q runs Helm; with Argo CD the job only commits", job, s.Name)
			}
			if s.Env["BRANCH"] == want[0] && s.Env["VALUES_FILE"] == want[1] && strings.Contains(s.Run, `git push origin "$commit:refs/heads/$BRANCH"`) {
				pushes = true
				for _, m := range yqSet.FindAllStringSubmatch(s.Run, -1) {
					edits[m[1]] = m[2]
				}
			}
		}
		if !pushes {
			t.Errorf("deploy.yml: job %s has no step that commits %s to %s", job, want[1], want[0])
		}
	}
	return edits
}

// checkBumpedValues applies the deploy workflow's edit to each values file
// and renders the chart with it, as Argo CD would: the schema takes the
// values, the Rollout runs the verified image by digest, and its pods say
// which build and deployment they are.
func checkBumpedValues(t *testing.T, c templatetest.Case, name string, edits map[string]string) {
	t.Helper()
	const digest = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	env := map[string]string{"DIGEST": digest, "TAG": "1.2.3", "BUILD_ID": "0123456789abcdef0123456789abcdef01234567", "DEPLOYMENT_ID": "4711-1"}
	for _, want := range []string{"image.digest", "image.tag", "buildId", "deploymentId"} {
		if _, ok := edits[want]; !ok {
			t.Errorf("deploy.yml's commit step does not set %s (it sets %v)", want, edits)
		}
	}
	chart := writeChart(t, c)
	for _, values := range []string{"values-staging.yaml", "values-prod.yaml"} {
		data, err := os.ReadFile(filepath.Join(chart, values))
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		if err := yaml.Unmarshal(data, &m); err != nil {
			t.Fatalf("%s: %v", values, err)
		}
		if m == nil {
			m = map[string]any{}
		}
		for path, v := range edits {
			keys := strings.Split(path, ".")
			at := m
			for _, k := range keys[:len(keys)-1] {
				next, ok := at[k].(map[string]any)
				if !ok {
					next = map[string]any{}
					at[k] = next
				}
				at = next
			}
			at[keys[len(keys)-1]] = env[v]
		}
		bumped, err := yaml.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(chart, "bumped-"+values), bumped, 0o644); err != nil {
			t.Fatal(err)
		}
		var rollout obj
		for _, o := range renderedObjects(t, helmTemplate(t, chart, "bumped-"+values, name)) {
			if o.str("kind") == "Rollout" {
				rollout = o
			}
		}
		if rollout == nil {
			t.Fatalf("%s, bumped: the chart renders no Rollout", values)
		}
		if img, _ := firstContainer(rollout)["image"].(string); !strings.HasSuffix(img, "@"+digest) {
			t.Errorf("%s, bumped: the Rollout runs %s, not the digest %s", values, img, digest)
		}
		got := containerEnv(rollout)
		for k, want := range map[string]string{"BUILD_ID": env["BUILD_ID"], "DEPLOYMENT_ID": env["DEPLOYMENT_ID"]} {
			if got[k] != want {
				t.Errorf("%s, bumped: %s=%q, want %q", values, k, got[k], want)
			}
		}
	}
}

// TestDeliveryHelm: Delivery=helm, the default, and an answers file written
// before the question existed (paved update asks it then, or with
// --defaults takes helm) render no Argo CD file, and a deploy workflow that
// runs Helm and waits for the Rollout.
func TestDeliveryHelm(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name  string
		given map[string]any
	}{
		{"default", nil},
		{"answers file without Delivery", map[string]any{"Name": "payments", "Kubernetes": true, "Chaos": true, "SLOTarget": "99.9", "Coverage": 85, "License": "Apache-2.0"}},
		{"Kubernetes=false ignores Delivery=argocd", map[string]any{"Kubernetes": false, "Delivery": "argocd"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := builtinResolver(t)
			plan, err := scaffold.Prepare(t.Context(), r, "service", "example.com/acme/payments", "v0.0.0-golden", scaffold.AnswerInput{Given: tt.given})
			if err != nil {
				t.Fatal(err)
			}
			if got := plan.Answers["Delivery"]; got != "helm" {
				t.Errorf("Delivery = %v, want helm", got)
			}
			files, err := plan.Render(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			out := rendered(files)
			for p := range out {
				if strings.HasPrefix(p, "deploy/argocd/") {
					t.Errorf("Delivery=helm renders %s", p)
				}
			}
			wf, ok := out[".github/workflows/deploy.yml"]
			if plan.Answers["Kubernetes"] == false {
				if ok {
					t.Error("Kubernetes=false renders deploy.yml")
				}
				return
			}
			for _, want := range []string{"helm upgrade --install", "--wait=legacy --rollback-on-failure", "kubectl argo rollouts status", "helm rollback"} {
				if !strings.Contains(wf, want) {
					t.Errorf("deploy.yml lacks %q", want)
				}
			}
			if strings.Contains(wf, "GITOPS_DEPLOY_KEY") {
				t.Error("Delivery=helm: deploy.yml asks for GITOPS_DEPLOY_KEY")
			}
		})
	}
}

// builtinResolver serves the service template as its embedded zip would
// hold it.
func builtinResolver(t *testing.T) *scaffold.Resolver {
	t.Helper()
	data, err := templatetest.Zip(t.Context(), "service")
	if err != nil {
		t.Fatal(err)
	}
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	return &scaffold.Resolver{Builtins: scaffold.Builtins{"service": zr}, BuiltinVersion: "v0.0.0-golden"}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
