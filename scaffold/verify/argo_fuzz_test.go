package verify

import (
	"context"
	"os"
	"strings"
	"testing"
)

// FuzzArgoObjects feeds a YAML stream of Argo Rollouts and Argo CD objects
// (outside input: a repository's manifests) through the CRD validation
// and the Rollout and Application cross-checks. Whatever it holds, every
// finding is in the file, at a line of it, with a message.
func FuzzArgoObjects(f *testing.F) {
	for _, p := range []string{
		"../../testdata/verify/_repo/deploy/rollouts/rollout.yaml",
		"../../testdata/verify/_repo/deploy/rollouts/analysistemplate.yaml",
		"../../testdata/verify/_repo/deploy/argocd/application-staging.yaml",
		"../../testdata/verify/_repo/deploy/argocd/appproject.yaml",
		"../../testdata/verify/rollouts/pod-security/deploy/rollouts/rollout.yaml",
	} {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("apiVersion: argoproj.io/v1alpha1\nkind: Rollout\nmetadata: {name: x}\nspec: {strategy: {canary: {steps: [{setWeight: \"a\"}]}}}\n"))
	f.Add([]byte("apiVersion: argoproj.io/v1alpha1\nkind: Rollout\nmetadata: [1]\nspec: null\n"))
	f.Add([]byte("apiVersion: argoproj.io/v1\nkind: Application\n---\napiVersion: argoproj.io/v1alpha1\nkind: Rolout\n"))
	f.Fuzz(func(t *testing.T, src []byte) {
		if len(src) > 1<<16 {
			return
		}
		docs, _ := splitYAML(src)
		objs := newObjects("deploy/x.yaml", docs)
		for _, o := range objs {
			o.text = src
		}
		lines := strings.Count(string(src), "\n") + 1
		check := func(fs []Finding) {
			for _, fd := range fs {
				if fd.Path != "deploy/x.yaml" || fd.Line < 0 || fd.Line > lines || fd.Message == "" {
					t.Fatalf("bad finding %+v", fd)
				}
			}
		}
		r := &Repo{Dir: "/nonexistent", data: map[string][]byte{}}
		r.metrics = func() *metricSet { return nil }
		ctx := context.Background()
		fs, ok, err := crdObjects(ctx, "rollouts", objs, func(g, k string) bool { return g == "argoproj.io" })
		if err != nil {
			t.Fatal(err)
		}
		check(fs)
		check(unknownArgoKinds("rollouts", objs, func(g, k string) bool { return true }))
		check(newRolloutSet(r, objs, ok).findings(context.Background(), "rollouts"))
	})
}

// FuzzArgoGlobs: Argo CD's source and destination matching never panics,
// and a plain URL (no glob syntax) permits itself.
func FuzzArgoGlobs(f *testing.F) {
	f.Add("https://github.com/acme/payments.git", "payments-*", "payments-staging")
	f.Add("git@github.com:Acme/Payments", "!kube-*", "kube-system")
	f.Add("", "[", "x")
	f.Fuzz(func(t *testing.T, url, pattern, ns string) {
		_ = globMatch(pattern, ns, true)
		_ = sourcePermitted([]string{pattern}, url)
		p := &appProjectShape{}
		p.Spec.Destinations = append(p.Spec.Destinations, struct {
			Server    string `json:"server"`
			Name      string `json:"name"`
			Namespace string `json:"namespace"`
		}{Server: "*", Namespace: pattern})
		_ = destinationPermitted(p, "https://kubernetes.default.svc", "", ns)
		plain := url != "" && strings.Trim(url, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789:/._@-") == ""
		if plain && !sourcePermitted([]string{url}, url) {
			t.Fatalf("%q does not permit itself", url)
		}
	})
}

// FuzzAnalysisConditions: an analysis metric's conditions (outside input)
// evaluate to one of the controller's phases, whatever they hold.
func FuzzAnalysisConditions(f *testing.F) {
	f.Add("len(result) > 0 && !isNaN(result[0]) && result[0] <= 14.4", "len(result) > 0 && result[0] > 14.4")
	f.Add("result[0] <= 1", "")
	f.Add("", "asInt(result) > 2")
	f.Add("default(result, 0) == 0", "isNil(result)")
	f.Add("all(1..1000000000, {# > 0})", "map(result, {# * 2})[0] > 1")
	f.Fuzz(func(t *testing.T, success, failure string) {
		if len(success)+len(failure) > 512 {
			return
		}
		for _, r := range []any{[]float64{}, []float64{1, 2}, 1.0} {
			phase, err := analysisPhase(r, success, failure)
			switch phase {
			case "Successful", "Failed", "Inconclusive":
				if err != nil {
					t.Fatalf("%s with an error: %v", phase, err)
				}
			case "Error":
				if err == nil {
					t.Fatal("Error without an error")
				}
			default:
				t.Fatalf("phase %q", phase)
			}
		}
	})
}
