package verify

import (
	"regexp"
	"sync"

	"github.com/paved-dev/paved/scaffold/internal/yamlnode"
	"go.yaml.in/yaml/v3"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	psaapi "k8s.io/pod-security-admission/api"
	"k8s.io/pod-security-admission/policy"
)

// The checks of a workload's pod template: the restricted Pod Security
// Standard, and probes that target ports of the pod.

// podTemplate returns the pod metadata and spec of a workload, with the
// YAML path of its pod spec, or nil.
func podTemplate(obj runtime.Object) (*metav1.ObjectMeta, *corev1.PodSpec, []string) {
	switch x := obj.(type) {
	case *corev1.Pod:
		return &x.ObjectMeta, &x.Spec, []string{"spec"}
	}
	tmpl, p := podTemplateSpec(obj)
	if tmpl == nil {
		return nil, nil, nil
	}
	return &tmpl.ObjectMeta, &tmpl.Spec, p
}

// podTemplateSpec returns the pod template of a workload and its YAML path.
func podTemplateSpec(obj runtime.Object) (*corev1.PodTemplateSpec, []string) {
	tp := []string{"spec", "template", "spec"}
	switch x := obj.(type) {
	case *appsv1.Deployment:
		return &x.Spec.Template, tp
	case *appsv1.StatefulSet:
		return &x.Spec.Template, tp
	case *appsv1.DaemonSet:
		return &x.Spec.Template, tp
	case *appsv1.ReplicaSet:
		return &x.Spec.Template, tp
	case *batchv1.Job:
		return &x.Spec.Template, tp
	case *batchv1.CronJob:
		return &x.Spec.JobTemplate.Spec.Template, []string{"spec", "jobTemplate", "spec", "template", "spec"}
	case *corev1.ReplicationController:
		if x.Spec.Template != nil {
			return x.Spec.Template, tp
		}
	case *corev1.PodTemplate:
		return &x.Template, []string{"template", "spec"}
	case *rolloutPods:
		return &x.Spec.Template, tp
	}
	return nil, nil
}

var restrictedEvaluator = sync.OnceValue(func() policy.Evaluator {
	e, err := policy.NewEvaluator(policy.DefaultChecks(), nil)
	if err != nil {
		panic(err) // the library's own checks are valid
	}
	return e
})

func restrictedLevel() psaapi.LevelVersion {
	return psaapi.LevelVersion{Level: psaapi.LevelRestricted, Version: psaapi.LatestVersion()}
}

// podChecks evaluates a pod spec at the restricted Pod Security Standard
// and checks that every probe targets a port of the pod.
func podChecks(check string, o *kobject, obj runtime.Object) []Finding {
	meta, spec, specPath := podTemplate(obj)
	if spec == nil {
		return nil
	}
	specNode := yamlnode.At(o.Doc.Root, specPath...)
	var out []Finding
	for _, r := range restrictedEvaluator().EvaluatePod(restrictedLevel(), meta, spec) {
		if r.Allowed {
			continue
		}
		n := pssNode(specNode, r.ForbiddenDetail)
		detail := r.ForbiddenReason
		if r.ForbiddenDetail != "" {
			detail += " (" + r.ForbiddenDetail + ")"
		}
		out = append(out, o.finding(check, n, "%s: violates the restricted Pod Security Standard: %s", o.describe(), detail))
	}
	out = append(out, probeChecks(check, o, spec, specNode)...)
	return out
}

var quotedNameRE = regexp.MustCompile(`"([^"]+)"`)

// pssNode picks where a Pod Security violation is reported: the named
// container's securityContext (or the container), else the pod's
// securityContext, else the pod spec.
func pssNode(spec *yaml.Node, detail string) *yaml.Node {
	if spec == nil {
		return nil
	}
	if m := quotedNameRE.FindStringSubmatch(detail); m != nil {
		for _, list := range []string{"containers", "initContainers", "ephemeralContainers"} {
			for _, c := range yamlnode.Items(yamlnode.Value(spec, list)) {
				if v := yamlnode.Value(c, "name"); v != nil && v.Value == m[1] {
					if k := yamlnode.Key(c, "securityContext"); k != nil {
						return k
					}
					return c
				}
			}
		}
	}
	if k := yamlnode.Key(spec, "securityContext"); k != nil {
		return k
	}
	return spec
}

// probeChecks: a probe's port must be one of the pod's container ports (a
// named port must be one of its own container's).
func probeChecks(check string, o *kobject, spec *corev1.PodSpec, specNode *yaml.Node) []Finding {
	var out []Finding
	numbers := map[int32]bool{}
	for _, c := range spec.Containers {
		for _, p := range c.Ports {
			numbers[p.ContainerPort] = true
		}
	}
	containers := yamlnode.Items(yamlnode.Value(specNode, "containers"))
	for i, c := range spec.Containers {
		names := map[string]bool{}
		for _, p := range c.Ports {
			if p.Name != "" {
				names[p.Name] = true
			}
		}
		var cnode *yaml.Node
		if i < len(containers) {
			cnode = containers[i]
		}
		probes := []struct {
			key string
			p   *corev1.Probe
		}{{"startupProbe", c.StartupProbe}, {"livenessProbe", c.LivenessProbe}, {"readinessProbe", c.ReadinessProbe}}
		for _, pr := range probes {
			if pr.p == nil {
				continue
			}
			var port string
			var num int32
			var byName bool
			var handler string
			switch {
			case pr.p.HTTPGet != nil:
				handler = "httpGet"
				if pr.p.HTTPGet.Port.Type == intstr.String {
					port, byName = pr.p.HTTPGet.Port.StrVal, true
				} else {
					num = pr.p.HTTPGet.Port.IntVal
				}
			case pr.p.TCPSocket != nil:
				handler = "tcpSocket"
				if pr.p.TCPSocket.Port.Type == intstr.String {
					port, byName = pr.p.TCPSocket.Port.StrVal, true
				} else {
					num = pr.p.TCPSocket.Port.IntVal
				}
			case pr.p.GRPC != nil:
				handler = "grpc"
				num = pr.p.GRPC.Port
			default:
				continue
			}
			n := yamlnode.At(cnode, pr.key, handler, "port")
			if n == nil {
				n = cnode
			}
			switch {
			case byName && !names[port]:
				out = append(out, o.finding(check, n, "%s: container %q: %s port %q is not a named port of the container", o.describe(), c.Name, pr.key, port))
			case !byName && !numbers[num]:
				out = append(out, o.finding(check, n, "%s: container %q: %s port %d is not a container port of the pod", o.describe(), c.Name, pr.key, num))
			}
		}
	}
	return out
}
