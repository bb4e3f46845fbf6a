package verify

import (
	"context"
	"slices"
	"strings"

	"github.com/paved-dev/paved/scaffold/internal/yamlnode"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// rollouts checks Argo Rollouts objects (argoproj.io Rollout,
// AnalysisTemplate, ClusterAnalysisTemplate, AnalysisRun, Experiment),
// plain or rendered from a chart: as the API server would accept them
// with the project's CRDs (crdvalidate.go), then what the controller
// needs of the objects deployed with them (rolloutrefs.go, analysis.go):
// the VirtualService, routes, DestinationRule, subsets and Services a
// Rollout names exist and fit; every analysis names a template that
// exists with the arguments it declares, the pod-template hash an analysis
// selects by is the new pods' (podTemplateHashValue: Latest) and a
// ServiceMonitor copies that label onto the series; the templates'
// Prometheus queries read metrics the service exposes, with probe routes
// left out as the SLO rules leave them out, and their conditions make a
// canary without traffic Inconclusive (analysiscond.go); an HPA on a Rollout finds it
// (the references check); and the Rollout's pod template meets the
// restricted Pod Security Standard, which admission never checks for a
// Rollout (it sees the Pods the controller creates, too late).
type rollouts struct{}

func (rollouts) Name() string { return "rollouts" }

// rolloutKinds are the kinds of the Argo Rollouts CRDs.
var rolloutKinds = []string{"Rollout", "AnalysisTemplate", "ClusterAnalysisTemplate", "AnalysisRun", "Experiment"}

// argoCDKinds are the kinds of the Argo CD CRDs verify embeds; an
// ApplicationSet is Argo CD's too, and not validated.
var argoCDKinds = []string{"Application", "AppProject", "ApplicationSet"}

func (c rollouts) Run(ctx context.Context, r *Repo) ([]Finding, error) {
	prefetchCRDs(r)
	sets, err := deploySets(ctx, r)
	if err != nil {
		return nil, err
	}
	isRollouts := func(group, kind string) bool {
		return group == "argoproj.io" && (slices.Contains(rolloutKinds, kind) || !slices.Contains(argoCDKinds, kind) && nearArgoKind(kind) != "")
	}
	ran := false
	var out []Finding
	for _, set := range sets {
		if !slices.ContainsFunc(set, func(o *kobject) bool { return isRollouts(o.group(), o.Kind) }) {
			continue
		}
		ran = true
		fs, ok, err := crdObjects(ctx, c.Name(), set, isRollouts)
		if err != nil {
			return nil, err
		}
		out = append(out, fs...)
		out = append(out, unknownArgoKinds(c.Name(), set, isRollouts)...)
		rs := newRolloutSet(r, set, ok)
		out = append(out, rs.findings(ctx, c.Name())...)
	}
	if !ran {
		return nil, ErrNoInput
	}
	return out, nil
}

// unknownArgoKinds reports an object of argoproj.io whose kind is a near
// miss of a kind of Argo Rollouts or Argo CD (AnalysisTemplates, Rolout):
// no CRD defines it, and nothing applies. Other kinds of the group are
// other Argo projects' (Argo Workflows' Workflow, Argo Events' Sensor) and
// are left alone.
func unknownArgoKinds(check string, objs []*kobject, mine func(group, kind string) bool) []Finding {
	var out []Finding
	for _, o := range objs {
		if o.group() != "argoproj.io" || !mine(o.group(), o.Kind) || slices.Contains(rolloutKinds, o.Kind) || slices.Contains(argoCDKinds, o.Kind) {
			continue
		}
		near := nearArgoKind(o.Kind)
		if near == "" {
			continue
		}
		out = append(out, o.finding(check, yamlnode.Key(o.Doc.Root, "kind"), "%s: argoproj.io has no kind %s: did you mean %s? (Argo Rollouts: %s; Argo CD: %s)",
			o.describe(), o.Kind, near, strings.Join(rolloutKinds, ", "), strings.Join(argoCDKinds, ", ")))
	}
	return out
}

// nearArgoKind returns the kind of Argo Rollouts or Argo CD that kind
// misspells (at most two edits, any case), or "".
func nearArgoKind(kind string) string {
	for _, k := range append(slices.Clone(rolloutKinds), argoCDKinds...) {
		if k != kind && editDistance(strings.ToLower(kind), strings.ToLower(k)) <= 2 {
			return k
		}
	}
	return ""
}

// editDistance is the Levenshtein distance of two short strings.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}

// rolloutPods is the part of a Rollout that is a workload: its pod
// template, as a runtime.Object so the pod checks (Pod Security, probes,
// the API server's pod spec rules) take it like a Deployment.
type rolloutPods struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`
	Spec              struct {
		Replicas *int32                 `json:"replicas,omitempty"`
		Selector *metav1.LabelSelector  `json:"selector,omitempty"`
		Template corev1.PodTemplateSpec `json:"template"`
	} `json:"spec"`
}

func (p *rolloutPods) DeepCopyObject() runtime.Object {
	c := *p
	c.ObjectMeta = *p.DeepCopy()
	c.Spec.Template = *p.Spec.Template.DeepCopy()
	return &c
}

// isRollout reports whether o is an Argo Rollouts Rollout.
func isRollout(o *kobject) bool { return o.Kind == "Rollout" && o.group() == "argoproj.io" }

// rolloutWorkload decodes a Rollout's pod template; nil when it has none
// of its own (spec.workloadRef) or does not decode.
func rolloutWorkload(o *kobject) *rolloutPods {
	if !isRollout(o) || yamlnode.At(o.Doc.Root, "spec", "template") == nil {
		return nil
	}
	var p rolloutPods
	if decodeObject(o, &p) != nil {
		return nil
	}
	return &p
}
