package verify

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"

	gw "github.com/chaos-mesh/chaos-mesh/api/genericwebhook"
	chaosv1alpha1 "github.com/chaos-mesh/chaos-mesh/api/v1alpha1"
	"github.com/go-logr/logr"
	"github.com/paved-dev/paved/scaffold/internal/yamlnode"
	"go.yaml.in/yaml/v3"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"
)

// chaos decodes chaos-mesh.org objects strictly into the Chaos Mesh API
// types, applies their webhook defaulting and validation offline, and
// checks that every pod selector selects pods of the repository's charts.
type chaos struct{}

func (chaos) Name() string { return "chaos" }

var chaosScheme = sync.OnceValue(func() *runtime.Scheme {
	// The webhooks log through controller-runtime; without a logger it
	// complains on stderr.
	ctrllog.SetLogger(logr.Discard())
	s := runtime.NewScheme()
	if err := chaosv1alpha1.AddToScheme(s); err != nil {
		panic(err)
	}
	return s
})

func (c chaos) Run(ctx context.Context, r *Repo) ([]Finding, error) {
	objs, err := r.objectsOf(ctx, "chaos-mesh.org")
	if err != nil {
		return nil, err
	}
	pods := chartPodLabels(ctx, r)
	var out []Finding
	for _, o := range objs {
		gv, _ := schema.ParseGroupVersion(o.APIVersion)
		obj, err := chaosScheme().New(gv.WithKind(o.Kind))
		if err != nil {
			out = append(out, o.finding(c.Name(), yamlnode.Key(o.Doc.Root, "kind"), "%s: unknown Chaos Mesh kind %s in %s", o.describe(), o.Kind, o.APIVersion))
			continue
		}
		fs := decodeStrict(c.Name(), o, obj)
		out = append(out, fs...)
		if len(fs) > 0 {
			continue
		}
		out = append(out, chaosValidate(ctx, c.Name(), o, obj)...)
		out = append(out, chaosSelectors(c.Name(), o, pods)...)
	}
	return out, nil
}

// chaosValidate runs the object's webhook: Default, then the field
// validation that its Validate method aggregates.
func chaosValidate(ctx context.Context, check string, o *kobject, obj runtime.Object) []Finding {
	if errs := chaosEnums(obj); len(errs) > 0 {
		var out []Finding
		for _, e := range errs {
			n, _ := lookup(o.Doc.Root, parseFieldPath(e.Field))
			out = append(out, o.finding(check, n, "%s: %s", o.describe(), e.Error()))
		}
		return out
	}
	if d, ok := obj.(interface {
		Default(context.Context, runtime.Object) error
	}); ok {
		_ = d.Default(ctx, obj)
	}
	var errs field.ErrorList
	if s, ok := obj.(*chaosv1alpha1.Schedule); ok {
		errs = s.Spec.Validate(&s.Spec)
	} else {
		errs = gw.Validate(obj)
	}
	var out []Finding
	for _, e := range errs {
		n, _ := lookup(o.Doc.Root, parseFieldPath(e.Field))
		out = append(out, o.finding(check, n, "%s: %s", o.describe(), e.Error()))
	}
	if len(out) > 0 {
		return out
	}
	// Whatever else the webhook rejects, without a field.
	if v, ok := obj.(interface {
		ValidateCreate(context.Context, runtime.Object) (admission.Warnings, error)
	}); ok {
		if _, err := v.ValidateCreate(ctx, obj); err != nil {
			out = append(out, o.finding(check, yamlnode.Key(o.Doc.Root, "spec"), "%s: %v", o.describe(), err))
		}
	}
	return out
}

// chaosSelectors checks every selector (spec.selector,
// spec.<kind>.selector of a Schedule, spec.target.selector, ...) against
// the pod labels of the charts' workloads.
func chaosSelectors(check string, o *kobject, pods []podLabels) []Finding {
	if len(pods) == 0 {
		return nil
	}
	var out []Finding
	var walk func(n *yaml.Node, depth int)
	walk = func(n *yaml.Node, depth int) {
		if n == nil || depth > 8 {
			return
		}
		switch n.Kind {
		case yaml.MappingNode:
			for k, v := range yamlnode.Pairs(n) {
				if k.Value == "selector" && v.Kind == yaml.MappingNode {
					if msg := selectorProblem(v, pods); msg != "" {
						out = append(out, o.finding(check, k, "%s: %s", o.describe(), msg))
					}
					continue
				}
				walk(v, depth+1)
			}
		case yaml.SequenceNode:
			for _, c := range n.Content {
				walk(c, depth+1)
			}
		}
	}
	walk(yamlnode.Value(o.Doc.Root, "spec"), 0)
	return out
}

// selectorProblem says why a Chaos Mesh PodSelectorSpec selects none of
// the charts' pods; "" when it selects some, or selects by something other
// than labels.
func selectorProblem(n *yaml.Node, pods []podLabels) string {
	var sel struct {
		LabelSelectors      map[string]string                 `yaml:"labelSelectors"`
		ExpressionSelectors []metav1.LabelSelectorRequirement `yaml:"expressionSelectors"`
	}
	if err := n.Decode(&sel); err != nil {
		return ""
	}
	if len(sel.LabelSelectors) == 0 && len(sel.ExpressionSelectors) == 0 {
		return ""
	}
	s, err := metav1.LabelSelectorAsSelector(&metav1.LabelSelector{MatchLabels: sel.LabelSelectors, MatchExpressions: sel.ExpressionSelectors})
	if err != nil {
		return fmt.Sprintf("selector: %v", err)
	}
	for _, p := range pods {
		if s.Matches(labels.Set(p.Labels)) {
			return ""
		}
	}
	var names []string
	for _, p := range pods {
		names = append(names, p.Workload)
	}
	return fmt.Sprintf("selector %s matches no pod of the chart (pods of %s)", s.String(), strings.Join(names, ", "))
}

// podLabels are the pod template labels of one chart workload.
type podLabels struct {
	Workload string // "Deployment payments"
	Labels   map[string]string
}

// chartPodLabels returns the pod template labels of every workload the
// charts render with their default values.
func chartPodLabels(ctx context.Context, r *Repo) []podLabels {
	charts, err := r.charts(ctx)
	if err != nil {
		return nil
	}
	var out []podLabels
	for _, c := range charts {
		if len(c.Renders) == 0 || c.Renders[0].Variant != "" {
			continue
		}
		for _, o := range c.Renders[0].Objects {
			if p := rolloutWorkload(o); p != nil {
				out = append(out, podLabels{Workload: o.describe(), Labels: p.Spec.Template.Labels})
				continue
			}
			obj := builtinObject(o.APIVersion, o.Kind)
			if obj == nil {
				continue
			}
			if len(decodeStrict("", o, obj)) > 0 {
				continue
			}
			meta, _, _ := podTemplate(obj)
			if meta == nil || isHook(o) {
				continue
			}
			out = append(out, podLabels{Workload: o.describe(), Labels: meta.Labels})
		}
	}
	return out
}

// isHook reports whether a rendered object is a Helm hook (a Job that runs
// once, not a pod experiments should target).
func isHook(o *kobject) bool {
	return yamlnode.At(o.Doc.Root, "metadata", "annotations", "helm.sh/hook") != nil
}

// chaosEnums checks the fields that the Chaos Mesh CRDs restrict to a set
// of values (kubebuilder enums, which the API server enforces but neither
// the Go types nor their Validate do), against the api package's own
// constants.
func chaosEnums(obj runtime.Object) field.ErrorList {
	var errs field.ErrorList
	oneOf := func(p *field.Path, v string, allowed ...string) {
		if v != "" && !slices.Contains(allowed, v) {
			errs = append(errs, field.NotSupported(p, v, allowed))
		}
	}
	modes := []string{string(chaosv1alpha1.OneMode), string(chaosv1alpha1.AllMode), string(chaosv1alpha1.FixedMode),
		string(chaosv1alpha1.FixedPercentMode), string(chaosv1alpha1.RandomMaxPercentMode)}
	pod := func(p *field.Path, s *chaosv1alpha1.PodChaosSpec) {
		oneOf(p.Child("action"), string(s.Action), string(chaosv1alpha1.PodKillAction),
			string(chaosv1alpha1.PodFailureAction), string(chaosv1alpha1.ContainerKillAction))
		oneOf(p.Child("mode"), string(s.Mode), modes...)
	}
	network := func(p *field.Path, s *chaosv1alpha1.NetworkChaosSpec) {
		oneOf(p.Child("action"), string(s.Action), string(chaosv1alpha1.NetemAction), string(chaosv1alpha1.DelayAction),
			string(chaosv1alpha1.LossAction), string(chaosv1alpha1.DuplicateAction), string(chaosv1alpha1.CorruptAction),
			string(chaosv1alpha1.PartitionAction), string(chaosv1alpha1.BandwidthAction))
		oneOf(p.Child("mode"), string(s.Mode), modes...)
		oneOf(p.Child("direction"), string(s.Direction), string(chaosv1alpha1.To), string(chaosv1alpha1.From), string(chaosv1alpha1.Both))
		if s.Target != nil {
			oneOf(p.Child("target", "mode"), string(s.Target.Mode), modes...)
		}
	}
	spec := field.NewPath("spec")
	switch o := obj.(type) {
	case *chaosv1alpha1.PodChaos:
		pod(spec, &o.Spec)
	case *chaosv1alpha1.NetworkChaos:
		network(spec, &o.Spec)
	case *chaosv1alpha1.Schedule:
		if o.Spec.PodChaos != nil {
			pod(spec.Child("podChaos"), o.Spec.PodChaos)
		}
		if o.Spec.NetworkChaos != nil {
			network(spec.Child("networkChaos"), o.Spec.NetworkChaos)
		}
	}
	return errs
}
