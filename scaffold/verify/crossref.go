package verify

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/paved-dev/paved/scaffold/internal/yamlnode"
	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// references checks that the objects a repository deploys refer to each
// other correctly, within each set deployed together (a chart's rendering
// with the plain manifests beside it):
//
//   - a ServiceMonitor selects a Service, and each endpoint's port is a port
//     name of a Service it selects (else nothing is scraped, and no SLO
//     alert ever fires);
//   - a Service's selector matches the pod template labels of a workload;
//   - an HPA's scaleTargetRef names a workload (or Rollout) deployed with it;
//   - a PodDisruptionBudget leaves at least one pod available (from two
//     replicas on) and allows at least one disruption at the workload's
//     minimum replica count.
type references struct{}

func (references) Name() string { return "references" }

func (c references) Run(ctx context.Context, r *Repo) ([]Finding, error) {
	sets, err := deploySets(ctx, r)
	if err != nil {
		return nil, err
	}
	var out []Finding
	ran := false
	for _, set := range sets {
		rs := newRefSet(set)
		if len(rs.services)+len(rs.monitors)+len(rs.pdbs)+len(rs.hpas) == 0 {
			continue
		}
		ran = true
		out = append(out, rs.hpaFindings(c.Name())...)
		out = append(out, rs.monitorFindings(c.Name())...)
		out = append(out, rs.serviceFindings(c.Name())...)
		out = append(out, rs.pdbFindings(c.Name())...)
	}
	if !ran {
		return nil, ErrNoInput
	}
	return out, nil
}

type refService struct {
	o   *kobject
	svc corev1.Service
}

type refWorkload struct {
	o        *kobject
	labels   map[string]string // pod template labels
	replicas int32             // spec.replicas (1 when unset)
}

// refSet is one set of objects deployed together, decoded.
type refSet struct {
	services  []refService
	workloads []refWorkload
	monitors  []*kobject
	pdbs      []*kobject
	hpas      []autoscalingv2.HorizontalPodAutoscaler
	hpaObjs   []*kobject // the objects of hpas, in order
	targets   []*kobject // objects an HPA can scale: workloads and Rollouts
}

func newRefSet(objs []*kobject) *refSet {
	rs := &refSet{}
	for _, o := range objs {
		switch {
		case o.Kind == "Service" && o.APIVersion == "v1":
			var s corev1.Service
			if decodeObject(o, &s) == nil {
				rs.services = append(rs.services, refService{o, s})
			}
		case o.Kind == "ServiceMonitor" && o.group() == "monitoring.coreos.com":
			rs.monitors = append(rs.monitors, o)
		case o.Kind == "PodDisruptionBudget" && o.APIVersion == "policy/v1":
			rs.pdbs = append(rs.pdbs, o)
		case o.Kind == "HorizontalPodAutoscaler" && o.APIVersion == "autoscaling/v2":
			var h autoscalingv2.HorizontalPodAutoscaler
			if decodeObject(o, &h) == nil {
				rs.hpas = append(rs.hpas, h)
				rs.hpaObjs = append(rs.hpaObjs, o)
			}
		case isRollout(o):
			// A Rollout with its own pod template is a workload like a
			// Deployment (one with a workloadRef uses the Deployment's).
			if p := rolloutWorkload(o); p != nil {
				w := refWorkload{o: o, labels: p.Spec.Template.Labels, replicas: 1}
				if p.Spec.Replicas != nil {
					w.replicas = *p.Spec.Replicas
				}
				rs.workloads = append(rs.workloads, w)
			}
			rs.targets = append(rs.targets, o)
		default:
			obj := builtinObject(o.APIVersion, o.Kind)
			if obj == nil || decodeObject(o, obj) != nil {
				continue
			}
			tmpl, _ := podTemplateSpec(obj)
			if tmpl == nil {
				continue
			}
			if slices.Contains([]string{"Deployment", "StatefulSet", "ReplicaSet", "ReplicationController"}, o.Kind) {
				rs.targets = append(rs.targets, o) // (kinds with a scale subresource)
			}
			w := refWorkload{o: o, labels: tmpl.Labels, replicas: 1}
			var spec struct {
				Spec struct {
					Replicas *int32 `json:"replicas"`
				} `json:"spec"`
			}
			if decodeObject(o, &spec) == nil && spec.Spec.Replicas != nil {
				w.replicas = *spec.Spec.Replicas
			}
			rs.workloads = append(rs.workloads, w)
		}
	}
	return rs
}

func (rs *refSet) monitorFindings(check string) []Finding {
	var out []Finding
	for _, o := range rs.monitors {
		var sm monitoringv1.ServiceMonitor
		if decodeObject(o, &sm) != nil {
			continue // the prometheus check reports it
		}
		sel, err := metaSelector(sm.Spec.Selector.MatchLabels, len(sm.Spec.Selector.MatchExpressions) > 0)
		if err != nil {
			continue
		}
		var selected []refService
		for _, s := range rs.services {
			if sameNamespace(o, s.o) || sm.Spec.NamespaceSelector.Any || len(sm.Spec.NamespaceSelector.MatchNames) > 0 {
				if sel.Matches(labels.Set(s.o.Labels)) {
					selected = append(selected, s)
				}
			}
		}
		if len(selected) == 0 {
			if len(rs.services) > 0 {
				out = append(out, o.finding(check, nodeAt(o, "spec.selector"), "%s: selects no Service (Service labels: %s)", o.describe(), serviceLabels(rs.services)))
			}
			continue
		}
		for i, ep := range sm.Spec.Endpoints {
			if ep.Port == "" {
				continue
			}
			var names []string
			found := false
			for _, s := range selected {
				for _, p := range s.svc.Spec.Ports {
					names = append(names, p.Name)
					found = found || p.Name == ep.Port
				}
			}
			if !found {
				out = append(out, o.finding(check, nodeAt(o, fmt.Sprintf("spec.endpoints[%d].port", i)),
					"%s: endpoint port %q is not a port name of the Service it selects (%s: %s); nothing is scraped", o.describe(), ep.Port, selected[0].o.describe(), strings.Join(names, ", ")))
			}
		}
	}
	return out
}

func (rs *refSet) serviceFindings(check string) []Finding {
	if len(rs.workloads) == 0 {
		return nil
	}
	var out []Finding
	for _, s := range rs.services {
		if len(s.svc.Spec.Selector) == 0 || s.o.render == nil {
			continue // no selector (endpoints by hand), or a plain Service that may select another repository's pods
		}
		sel := labels.SelectorFromSet(s.svc.Spec.Selector)
		matched := false
		for _, w := range rs.workloads {
			if sameNamespace(s.o, w.o) && sel.Matches(labels.Set(w.labels)) {
				matched = true
			}
		}
		if !matched {
			// At the first selector label no workload's pods carry.
			at := nodeAt(s.o, "spec.selector")
			for _, k := range sortedKeys(s.svc.Spec.Selector) {
				if !slices.ContainsFunc(rs.workloads, func(w refWorkload) bool { return w.labels[k] == s.svc.Spec.Selector[k] }) {
					if v := yamlnode.At(s.o.Doc.Root, "spec", "selector", k); v != nil {
						at = v
					}
					break
				}
			}
			out = append(out, s.o.finding(check, at, "%s: selector %s matches the pods of no workload (%s)", s.o.describe(), sel, workloadLabels(rs.workloads, s.svc.Spec.Selector)))
		}
	}
	return out
}

func (rs *refSet) pdbFindings(check string) []Finding {
	var out []Finding
	for _, o := range rs.pdbs {
		var pdb policyv1.PodDisruptionBudget
		if decodeObject(o, &pdb) != nil || pdb.Spec.Selector == nil {
			continue
		}
		sel, err := metaSelector(pdb.Spec.Selector.MatchLabels, len(pdb.Spec.Selector.MatchExpressions) > 0)
		if err != nil {
			continue
		}
		for _, w := range rs.workloads {
			if !sameNamespace(o, w.o) || !sel.Matches(labels.Set(w.labels)) {
				continue
			}
			n := rs.minReplicas(w)
			var available int
			var field string
			switch {
			case pdb.Spec.MinAvailable != nil:
				field = "spec.minAvailable"
				available = scaled(*pdb.Spec.MinAvailable, n)
			case pdb.Spec.MaxUnavailable != nil:
				field = "spec.maxUnavailable"
				available = int(n) - scaled(*pdb.Spec.MaxUnavailable, n)
			default:
				continue
			}
			switch {
			case available < 1 && n >= 2:
				// (At one replica no budget can keep a pod and let a node
				// drain: the replica count is the problem, not the budget.)
				out = append(out, o.finding(check, nodeAt(o, field), "%s: at %s's minimum of %d replica(s) it keeps no pod available during a disruption", o.describe(), w.o.describe(), n))
			case available >= int(n):
				out = append(out, o.finding(check, nodeAt(o, field), "%s: at %s's minimum of %d replica(s) it allows no disruption: node drains block", o.describe(), w.o.describe(), n))
			}
		}
	}
	return out
}

// hpaFindings: each HPA scales a workload or Rollout of the set (when the
// set has any), by apiVersion, kind and name.
func (rs *refSet) hpaFindings(check string) []Finding {
	if len(rs.targets) == 0 {
		return nil
	}
	var out []Finding
	for i, h := range rs.hpas {
		o, ref := rs.hpaObjs[i], h.Spec.ScaleTargetRef
		found := slices.ContainsFunc(rs.targets, func(t *kobject) bool {
			return t.APIVersion == ref.APIVersion && t.Kind == ref.Kind && t.Name == ref.Name && sameNamespace(o, t)
		})
		if found {
			continue
		}
		var have []string
		for _, t := range rs.targets {
			have = append(have, t.APIVersion+" "+t.describe())
		}
		out = append(out, o.finding(check, nodeAt(o, "spec.scaleTargetRef"), "%s: scaleTargetRef %s %s %q is not deployed with it (%s)", o.describe(), ref.APIVersion, ref.Kind, ref.Name, strings.Join(have, ", ")))
	}
	return out
}

// minReplicas is a workload's lowest replica count: its HPA's minReplicas
// (1 when unset) when an HPA scales it, else spec.replicas.
func (rs *refSet) minReplicas(w refWorkload) int32 {
	for _, h := range rs.hpas {
		ref := h.Spec.ScaleTargetRef
		if ref.Kind == w.o.Kind && ref.Name == w.o.Name && h.Namespace == w.o.Namespace {
			if h.Spec.MinReplicas != nil {
				return *h.Spec.MinReplicas
			}
			return 1
		}
	}
	return w.replicas
}

// scaled is an int-or-percent of n as the disruption controller computes
// it (percentages round up).
func scaled(v intstr.IntOrString, n int32) int {
	if v.Type == intstr.Int {
		return v.IntValue()
	}
	p, err := intstr.GetScaledValueFromIntOrPercent(&v, int(n), true)
	if err != nil {
		return int(math.MaxInt32)
	}
	return p
}

// metaSelector builds a label selector from matchLabels; one with
// matchExpressions is not judged (an error).
func metaSelector(ml map[string]string, exprs bool) (labels.Selector, error) {
	if exprs {
		return nil, fmt.Errorf("matchExpressions")
	}
	return labels.SelectorFromSet(ml), nil
}

func sameNamespace(a, b *kobject) bool { return a.Namespace == b.Namespace }

func serviceLabels(ss []refService) string {
	var out []string
	for _, s := range ss {
		out = append(out, s.o.describe()+" "+labels.Set(s.o.Labels).String())
	}
	return strings.Join(out, "; ")
}

// workloadLabels names each workload with its values of the selector's
// label keys.
func workloadLabels(ws []refWorkload, selector map[string]string) string {
	var out []string
	for _, w := range ws {
		have := labels.Set{}
		for k := range selector {
			have[k] = w.labels[k]
		}
		out = append(out, w.o.describe()+": "+have.String())
	}
	return strings.Join(out, "; ")
}

// decodeObject is decodeNode for an object, from its JSON converted once.
func decodeObject(o *kobject, into any) error {
	js, err := o.json()
	if err != nil {
		return err
	}
	return json.Unmarshal(js, into)
}
