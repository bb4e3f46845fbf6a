package verify

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// What a Rollout needs of the objects deployed with it, as the Rollouts
// controller checks it when it reconciles (rollout/trafficrouting/istio's
// ValidateHTTPRoutes and validateVirtualServiceRouteDestinations, and
// utils/analysis.MergeArgs, in github.com/argoproj/argo-rollouts v1.10.2):
// checked here before anything is deployed.

// The fields of Argo Rollouts objects the cross-checks read (the objects
// have passed the CRD schema by then).
type rolloutShape struct {
	Spec struct {
		Selector    *metav1.LabelSelector `json:"selector"`
		WorkloadRef *struct {
			APIVersion string `json:"apiVersion"`
			Kind       string `json:"kind"`
			Name       string `json:"name"`
		} `json:"workloadRef"`
		Template *struct {
			Metadata struct {
				Labels map[string]string `json:"labels"`
			} `json:"metadata"`
		} `json:"template"`
		Strategy struct {
			Canary *struct {
				CanaryService  string `json:"canaryService"`
				StableService  string `json:"stableService"`
				TrafficRouting *struct {
					Istio *struct {
						VirtualService  *istioVSRef  `json:"virtualService"`
						VirtualServices []istioVSRef `json:"virtualServices"`
						DestinationRule *struct {
							Name             string `json:"name"`
							CanarySubsetName string `json:"canarySubsetName"`
							StableSubsetName string `json:"stableSubsetName"`
						} `json:"destinationRule"`
					} `json:"istio"`
				} `json:"trafficRouting"`
				Steps []struct {
					Analysis *rolloutAnalysis `json:"analysis"`
				} `json:"steps"`
				Analysis *rolloutAnalysis `json:"analysis"`
			} `json:"canary"`
			BlueGreen *struct {
				ActiveService         string           `json:"activeService"`
				PreviewService        string           `json:"previewService"`
				PrePromotionAnalysis  *rolloutAnalysis `json:"prePromotionAnalysis"`
				PostPromotionAnalysis *rolloutAnalysis `json:"postPromotionAnalysis"`
			} `json:"blueGreen"`
		} `json:"strategy"`
	} `json:"spec"`
}

type istioVSRef struct {
	Name   string   `json:"name"`
	Routes []string `json:"routes"`
}

type rolloutAnalysis struct {
	Templates []struct {
		TemplateName string `json:"templateName"`
		ClusterScope bool   `json:"clusterScope"`
	} `json:"templates"`
	Args []struct {
		Name      string  `json:"name"`
		Value     *string `json:"value"`
		ValueFrom *struct {
			PodTemplateHashValue *string `json:"podTemplateHashValue"`
			FieldRef             *struct {
				FieldPath string `json:"fieldPath"`
			} `json:"fieldRef"`
		} `json:"valueFrom"`
	} `json:"args"`
}

// The fields of Istio objects a Rollout names.
type vsShape struct {
	Spec struct {
		HTTP []struct {
			Name  string               `json:"name"`
			Route []vsDestinationShape `json:"route"`
		} `json:"http"`
	} `json:"spec"`
}

// vsDestinationShape is one destination of an HTTP route.
type vsDestinationShape struct {
	Destination struct {
		Host   string `json:"host"`
		Subset string `json:"subset"`
	} `json:"destination"`
}

type drShape struct {
	Spec struct {
		Host    string `json:"host"`
		Subsets []struct {
			Name string `json:"name"`
		} `json:"subsets"`
	} `json:"spec"`
}

// rolloutSet is one set of objects deployed together, for the Rollout
// cross-checks.
type rolloutSet struct {
	r         *Repo
	all       []*kobject
	rollouts  []crdObject
	templates []crdObject // AnalysisTemplates and ClusterAnalysisTemplates
}

func newRolloutSet(r *Repo, all []*kobject, ok []crdObject) *rolloutSet {
	rs := &rolloutSet{r: r, all: all}
	for _, c := range ok {
		switch c.o.Kind {
		case "Rollout":
			rs.rollouts = append(rs.rollouts, c)
		case "AnalysisTemplate", "ClusterAnalysisTemplate":
			rs.templates = append(rs.templates, c)
		}
	}
	return rs
}

func (rs *rolloutSet) findings(ctx context.Context, check string) []Finding {
	var out []Finding
	for _, ro := range rs.rollouts {
		var shape rolloutShape
		if ro.decode(&shape) != nil {
			continue
		}
		out = append(out, rolloutSpecFindings(check, ro)...)
		out = append(out, rs.trafficFindings(check, ro.o, &shape)...)
		out = append(out, rs.analysisRefFindings(check, ro.o, &shape)...)
		out = append(out, rs.workloadFindings(check, ro.o, &shape)...)
	}
	out = append(out, rs.queryFindings(ctx, check)...)
	return out
}

// named returns the objects of a kind (and group) with a name in the
// namespace of o.
func (rs *rolloutSet) named(o *kobject, group, kind, name string) []*kobject {
	var out []*kobject
	for _, x := range rs.all {
		if x.Kind == kind && x.group() == group && x.Name == name && sameNamespace(o, x) {
			out = append(out, x)
		}
	}
	return out
}

// names lists the names of the objects of a kind, for messages.
func (rs *rolloutSet) names(group, kind string) string {
	var ns []string
	for _, x := range rs.all {
		if x.Kind == kind && x.group() == group && !slices.Contains(ns, x.Name) {
			ns = append(ns, x.Name)
		}
	}
	if len(ns) == 0 {
		return "none"
	}
	slices.Sort(ns)
	return strings.Join(ns, ", ")
}

// trafficFindings: the Services, VirtualService routes and DestinationRule
// subsets of a canary's traffic routing.
func (rs *rolloutSet) trafficFindings(check string, o *kobject, ro *rolloutShape) []Finding {
	var out []Finding
	service := func(path, name string) {
		if name != "" && len(rs.named(o, "", "Service", name)) == 0 {
			out = append(out, o.finding(check, nodeAt(o, path), "%s: %s names Service %q, which is not deployed with it (Services: %s)", o.describe(), lastKey(path), name, rs.names("", "Service")))
		}
	}
	if bg := ro.Spec.Strategy.BlueGreen; bg != nil {
		service("spec.strategy.blueGreen.activeService", bg.ActiveService)
		service("spec.strategy.blueGreen.previewService", bg.PreviewService)
	}
	canary := ro.Spec.Strategy.Canary
	if canary == nil {
		return out
	}
	service("spec.strategy.canary.canaryService", canary.CanaryService)
	service("spec.strategy.canary.stableService", canary.StableService)
	if canary.TrafficRouting == nil || canary.TrafficRouting.Istio == nil {
		return out
	}
	istio := canary.TrafficRouting.Istio
	const base = "spec.strategy.canary.trafficRouting.istio"
	var subsets []string
	var drFound bool
	if dr := istio.DestinationRule; dr != nil {
		objs := rs.named(o, "networking.istio.io", "DestinationRule", dr.Name)
		if len(objs) == 0 {
			out = append(out, o.finding(check, nodeAt(o, base+".destinationRule.name"), "%s: names DestinationRule %q, which is not deployed with it (DestinationRules: %s)", o.describe(), dr.Name, rs.names("networking.istio.io", "DestinationRule")))
		} else {
			var d drShape
			if decodeObject(objs[0], &d) == nil {
				drFound = true
				for _, s := range d.Spec.Subsets {
					subsets = append(subsets, s.Name)
				}
				for _, f := range []struct{ key, name string }{{"canarySubsetName", dr.CanarySubsetName}, {"stableSubsetName", dr.StableSubsetName}} {
					if !slices.Contains(subsets, f.name) {
						out = append(out, o.finding(check, nodeAt(o, base+".destinationRule."+f.key), "%s: %s %q is not a subset of DestinationRule %s (subsets: %s)", o.describe(), f.key, f.name, dr.Name, strings.Join(subsets, ", ")))
					}
				}
			}
		}
	}
	refs := istio.VirtualServices
	paths := make([]string, len(refs))
	for i := range refs {
		paths[i] = fmt.Sprintf("%s.virtualServices[%d]", base, i)
	}
	if istio.VirtualService != nil {
		refs = append(refs, *istio.VirtualService)
		paths = append(paths, base+".virtualService")
	}
	for i, ref := range refs {
		objs := rs.named(o, "networking.istio.io", "VirtualService", ref.Name)
		if len(objs) == 0 {
			out = append(out, o.finding(check, nodeAt(o, paths[i]+".name"), "%s: names VirtualService %q, which is not deployed with it (VirtualServices: %s)", o.describe(), ref.Name, rs.names("networking.istio.io", "VirtualService")))
			continue
		}
		var vs vsShape
		if decodeObject(objs[0], &vs) != nil {
			continue
		}
		var routeNames []string
		for _, h := range vs.Spec.HTTP {
			routeNames = append(routeNames, h.Name)
		}
		if len(ref.Routes) == 0 && len(vs.Spec.HTTP) != 1 {
			out = append(out, o.finding(check, nodeAt(o, paths[i]), "%s: VirtualService %s has %d HTTP routes: name the ones to shift in routes (the controller edits the only route when routes is omitted)", o.describe(), ref.Name, len(vs.Spec.HTTP)))
		}
		for j, name := range ref.Routes {
			k := slices.Index(routeNames, name)
			at := nodeAt(o, fmt.Sprintf("%s.routes[%d]", paths[i], j))
			if k < 0 {
				out = append(out, o.finding(check, at, "%s: HTTP route %q is not in VirtualService %s (routes: %s)", o.describe(), name, ref.Name, strings.Join(routeNames, ", ")))
				continue
			}
			// The route must send to both subsets (or both Services),
			// whose weights the controller sets.
			var have []string
			for _, d := range vs.Spec.HTTP[k].Route {
				if istio.DestinationRule != nil {
					have = append(have, d.Destination.Subset)
				} else {
					have = append(have, hostKey(d.Destination.Host))
				}
			}
			var want []string
			if dr := istio.DestinationRule; dr != nil {
				for _, n := range []string{dr.CanarySubsetName, dr.StableSubsetName} {
					if drFound && slices.Contains(subsets, n) {
						want = append(want, n) // (a subset the rule lacks is reported above)
					}
				}
			} else {
				want = []string{canary.CanaryService, canary.StableService}
			}
			for _, w := range want {
				if w != "" && !slices.Contains(have, w) {
					what := "subset"
					if istio.DestinationRule == nil {
						what = "Service"
					}
					if brokenDestination(vs.Spec.HTTP[k].Route, subsets, istio.DestinationRule != nil) {
						// The route sends to a subset the DestinationRule
						// lacks (or to none): the VirtualService's text is
						// what must change, there.
						vsAt := nodeAt(objs[0], fmt.Sprintf("spec.http[%d].route", k))
						out = append(out, objs[0].finding(check, vsAt, "%s: HTTP route %q has no destination with %s %q, which %s shifts traffic to: the controller cannot set its weight", objs[0].describe(), name, what, w, o.describe()))
						continue
					}
					out = append(out, o.finding(check, at, "%s: HTTP route %q of VirtualService %s has no destination with %s %q: the controller cannot set its weight", o.describe(), name, ref.Name, what, w))
				}
			}
		}
	}
	return out
}

// brokenDestination reports whether a route sends to a subset the
// DestinationRule does not define, or to no subset, when subsets are
// what the Rollout shifts between.
func brokenDestination(route []vsDestinationShape, subsets []string, bySubset bool) bool {
	if !bySubset {
		return false
	}
	return slices.ContainsFunc(route, func(d vsDestinationShape) bool {
		return !slices.Contains(subsets, d.Destination.Subset)
	})
}

// analysisRefFindings: every analysis names a template that exists, and
// passes each argument the template declares without a value; an
// argument the template does not declare is ignored by the controller.
func (rs *rolloutSet) analysisRefFindings(check string, o *kobject, ro *rolloutShape) []Finding {
	type use struct {
		path string
		a    *rolloutAnalysis
	}
	var uses []use
	if c := ro.Spec.Strategy.Canary; c != nil {
		for i, s := range c.Steps {
			if s.Analysis != nil {
				uses = append(uses, use{fmt.Sprintf("spec.strategy.canary.steps[%d].analysis", i), s.Analysis})
			}
		}
		if c.Analysis != nil {
			uses = append(uses, use{"spec.strategy.canary.analysis", c.Analysis})
		}
	}
	if bg := ro.Spec.Strategy.BlueGreen; bg != nil {
		if bg.PrePromotionAnalysis != nil {
			uses = append(uses, use{"spec.strategy.blueGreen.prePromotionAnalysis", bg.PrePromotionAnalysis})
		}
		if bg.PostPromotionAnalysis != nil {
			uses = append(uses, use{"spec.strategy.blueGreen.postPromotionAnalysis", bg.PostPromotionAnalysis})
		}
	}
	var out []Finding
	for _, u := range uses {
		passed := map[string]bool{}
		for _, a := range u.a.Args {
			passed[a.Name] = true
		}
		declared := map[string]bool{}
		for i, t := range u.a.Templates {
			kind := "AnalysisTemplate"
			if t.ClusterScope {
				kind = "ClusterAnalysisTemplate"
			}
			tmpl := rs.template(o, kind, t.TemplateName)
			at := nodeAt(o, fmt.Sprintf("%s.templates[%d].templateName", u.path, i))
			if tmpl == nil {
				switch {
				case !t.ClusterScope:
					out = append(out, o.finding(check, at, "%s: names %s %q, which is not deployed with it (%ss: %s)", o.describe(), kind, t.TemplateName, kind, rs.names("argoproj.io", kind)))
				case rs.template(o, "AnalysisTemplate", t.TemplateName) != nil:
					out = append(out, o.finding(check, at, "%s: clusterScope names ClusterAnalysisTemplate %q, and only an AnalysisTemplate of that name is deployed with it: drop clusterScope", o.describe(), t.TemplateName))
				case rs.names("argoproj.io", kind) != "none":
					out = append(out, o.finding(check, at, "%s: names %s %q, which is not deployed with it (%ss: %s)", o.describe(), kind, t.TemplateName, kind, rs.names("argoproj.io", kind)))
				}
				// (A ClusterAnalysisTemplate the repository does not
				// define at all may be the platform's: not judged.)
				continue
			}
			var ts analysisTemplateShape
			if tmpl.decode(&ts) != nil {
				continue
			}
			hashArgs := map[string]bool{}
			for _, m := range ts.Spec.Metrics {
				if m.Provider.Prometheus != nil {
					for _, sm := range hashArgRE.FindAllStringSubmatch(m.Provider.Prometheus.Query, -1) {
						hashArgs[sm[1]] = true
					}
				}
			}
			for j, a := range u.a.Args {
				if !hashArgs[a.Name] {
					continue
				}
				at := nodeAt(o, fmt.Sprintf("%s.args[%d]", u.path, j))
				switch {
				case a.ValueFrom == nil || a.ValueFrom.PodTemplateHashValue == nil:
					out = append(out, o.finding(check, at, "%s: argument %q selects %s in %s %s: pass valueFrom.podTemplateHashValue: Latest (the new pods' hash), not a fixed value", o.describe(), a.Name, hashLabel, kind, t.TemplateName))
				case *a.ValueFrom.PodTemplateHashValue != "Latest":
					out = append(out, o.finding(check, nodeAt(o, fmt.Sprintf("%s.args[%d].valueFrom.podTemplateHashValue", u.path, j)), "%s: argument %q is the %s pods' hash: the analysis judges them, not the new pods (Latest)", o.describe(), a.Name, *a.ValueFrom.PodTemplateHashValue))
				}
			}
			for _, a := range ts.Spec.Args {
				declared[a.Name] = true
				if a.Value == nil && a.ValueFrom == nil && !passed[a.Name] {
					out = append(out, o.finding(check, at, "%s: %s %s needs argument %q, which the analysis does not pass (args.%s was not resolved)", o.describe(), kind, t.TemplateName, a.Name, a.Name))
				}
			}
		}
		if len(declared) == 0 {
			continue
		}
		for i, a := range u.a.Args {
			if !declared[a.Name] {
				out = append(out, o.finding(check, nodeAt(o, fmt.Sprintf("%s.args[%d].name", u.path, i)), "%s: argument %q is declared by none of the analysis's templates: the controller ignores it (declared: %s)", o.describe(), a.Name, strings.Join(sortedKeys(declared), ", ")))
			}
		}
	}
	return out
}

// hashArgRE finds the argument a query selects the pod-template hash
// label by: rollouts_pod_template_hash="{{args.NAME}}".
var hashArgRE = regexp.MustCompile(`rollouts_pod_template_hash\s*=~?\s*"\{\{\s*args\.([^\s}]+)\s*\}\}"`)

// template finds an AnalysisTemplate (in o's namespace) or a
// ClusterAnalysisTemplate by name.
func (rs *rolloutSet) template(o *kobject, kind, name string) *crdObject {
	for i, t := range rs.templates {
		if t.o.Kind == kind && t.o.Name == name && (kind == "ClusterAnalysisTemplate" || sameNamespace(o, t.o)) {
			return &rs.templates[i]
		}
	}
	return nil
}

// workloadFindings: a Rollout with its own pod template is checked as a
// workload (restricted Pod Security, probes, the pod spec rules, its
// selector); one with a workloadRef names a workload that exists.
func (rs *rolloutSet) workloadFindings(check string, o *kobject, ro *rolloutShape) []Finding {
	if ref := ro.Spec.WorkloadRef; ref != nil {
		group, _, _ := strings.Cut(ref.APIVersion, "/")
		if !strings.Contains(ref.APIVersion, "/") {
			group = ""
		}
		if len(rs.named(o, group, ref.Kind, ref.Name)) == 0 {
			return []Finding{o.finding(check, nodeAt(o, "spec.workloadRef.name"), "%s: workloadRef names %s %q, which is not deployed with it", o.describe(), ref.Kind, ref.Name)}
		}
		return nil
	}
	p := rolloutWorkload(o)
	if p == nil {
		return nil
	}
	var out []Finding
	out = append(out, apiValidation(check, o, p)...)
	out = append(out, podChecks(check, o, p)...)
	if sel := ro.Spec.Selector; sel != nil && ro.Spec.Template != nil {
		s, err := metav1.LabelSelectorAsSelector(sel)
		if err == nil && !s.Matches(labels.Set(ro.Spec.Template.Metadata.Labels)) {
			out = append(out, o.finding(check, nodeAt(o, "spec.selector"), "%s: selector %s does not match the pod template's labels", o.describe(), s))
		}
	}
	return out
}

func lastKey(path string) string {
	if i := strings.LastIndexByte(path, '.'); i >= 0 {
		return path[i+1:]
	}
	return path
}
