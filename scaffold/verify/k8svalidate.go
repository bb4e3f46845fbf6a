package verify

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/paved-dev/paved/scaffold/internal/yamlnode"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation"
)

// apiValidation applies a subset of the API server's own validation of
// built-in objects (k8s.io/kubernetes/pkg/apis/*/validation, which is not
// importable as a module): rules that strict decoding cannot see, checked
// with apimachinery's validation helpers. Each finding names its field.
func apiValidation(check string, o *kobject, obj runtime.Object) []Finding {
	var out []Finding
	add := func(path, format string, args ...any) {
		n, _ := lookup(o.Doc.Root, parseFieldPath(path))
		out = append(out, o.finding(check, n, "%s: %s: %s", o.describe(), path, fmt.Sprintf(format, args...)))
	}
	if acc, ok := obj.(metav1.Object); ok {
		if name := acc.GetName(); name != "" && !strings.HasPrefix(o.group(), "rbac.") {
			check := validation.IsDNS1123Subdomain
			if _, ok := obj.(*corev1.Service); ok {
				check = validation.IsDNS1035Label
			}
			for _, msg := range check(name) {
				add("metadata.name", "%q: %s", name, msg)
			}
		}
		labelErrors(add, "metadata.labels", acc.GetLabels())
	}
	if _, spec, specPath := podTemplate(obj); spec != nil {
		base := strings.Join(specPath, ".")
		if meta, _, _ := podTemplate(obj); meta != nil && len(specPath) > 1 {
			labelErrors(add, strings.Join(specPath[:len(specPath)-1], ".")+".metadata.labels", meta.Labels)
		}
		validatePodSpec(add, base, spec)
		if _, ok := obj.(*batchv1.Job); ok || isCronJob(obj) {
			if p := spec.RestartPolicy; p != corev1.RestartPolicyOnFailure && p != corev1.RestartPolicyNever {
				add(base+".restartPolicy", "a Job's pods must have restartPolicy OnFailure or Never, not %q", p)
			}
		}
	}
	switch x := obj.(type) {
	case *appsv1.Deployment:
		selectorMatches(add, x.Spec.Selector, x.Spec.Template.Labels)
		if t := x.Spec.Strategy.Type; t != "" && t != appsv1.RecreateDeploymentStrategyType && t != appsv1.RollingUpdateDeploymentStrategyType {
			add("spec.strategy.type", "must be Recreate or RollingUpdate, not %q", t)
		}
	case *appsv1.StatefulSet:
		selectorMatches(add, x.Spec.Selector, x.Spec.Template.Labels)
	case *appsv1.DaemonSet:
		selectorMatches(add, x.Spec.Selector, x.Spec.Template.Labels)
	case *appsv1.ReplicaSet:
		selectorMatches(add, x.Spec.Selector, x.Spec.Template.Labels)
	case *corev1.Service:
		switch x.Spec.Type {
		case "", corev1.ServiceTypeClusterIP, corev1.ServiceTypeNodePort, corev1.ServiceTypeLoadBalancer, corev1.ServiceTypeExternalName:
		default:
			add("spec.type", "must be ClusterIP, NodePort, LoadBalancer or ExternalName, not %q", x.Spec.Type)
		}
		for i, p := range x.Spec.Ports {
			pp := fmt.Sprintf("spec.ports[%d]", i)
			portRange(add, pp+".port", p.Port)
			protocol(add, pp+".protocol", p.Protocol)
			if p.TargetPort.Type == 0 && p.TargetPort.IntVal != 0 {
				portRange(add, pp+".targetPort", p.TargetPort.IntVal)
			}
		}
	case *policyv1.PodDisruptionBudget:
		if x.Spec.MinAvailable != nil && x.Spec.MaxUnavailable != nil {
			add("spec.maxUnavailable", "minAvailable and maxUnavailable cannot both be set")
		}
	case *autoscalingv2.HorizontalPodAutoscaler:
		if x.Spec.MinReplicas != nil && *x.Spec.MinReplicas > x.Spec.MaxReplicas {
			add("spec.minReplicas", "%d is more than maxReplicas %d", *x.Spec.MinReplicas, x.Spec.MaxReplicas)
		}
	case *networkingv1.NetworkPolicy:
		for i, t := range x.Spec.PolicyTypes {
			if t != networkingv1.PolicyTypeIngress && t != networkingv1.PolicyTypeEgress {
				add(fmt.Sprintf("spec.policyTypes[%d]", i), "must be Ingress or Egress, not %q", t)
			}
		}
	}
	return out
}

func isCronJob(obj runtime.Object) bool {
	_, ok := obj.(*batchv1.CronJob)
	return ok
}

type addFunc func(path, format string, args ...any)

func labelErrors(add addFunc, path string, ls map[string]string) {
	for _, k := range sortedKeys(ls) {
		for _, msg := range validation.IsQualifiedName(k) {
			add(path, "label key %q: %s", k, msg)
		}
		for _, msg := range validation.IsValidLabelValue(ls[k]) {
			add(path+"["+k+"]", "label value %q: %s", ls[k], msg)
		}
	}
}

func selectorMatches(add addFunc, sel *metav1.LabelSelector, podLabels map[string]string) {
	if sel == nil {
		return
	}
	s, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil {
		add("spec.selector", "%v", err)
		return
	}
	if !s.Matches(labels.Set(podLabels)) {
		add("spec.selector", "selector %s does not match the pod template's labels", s)
	}
}

func portRange(add addFunc, path string, p int32) {
	if p < 1 || p > 65535 {
		add(path, "port %d is outside 1-65535", p)
	}
}

func protocol(add addFunc, path string, p corev1.Protocol) {
	if p != "" && p != corev1.ProtocolTCP && p != corev1.ProtocolUDP && p != corev1.ProtocolSCTP {
		add(path, "protocol must be TCP, UDP or SCTP, not %q", p)
	}
}

func validatePodSpec(add addFunc, base string, spec *corev1.PodSpec) {
	lists := []struct {
		key string
		cs  []corev1.Container
	}{{"initContainers", spec.InitContainers}, {"containers", spec.Containers}}
	var names []string
	for _, l := range lists {
		for i, c := range l.cs {
			cp := fmt.Sprintf("%s.%s[%d]", base, l.key, i)
			for _, msg := range validation.IsDNS1123Label(c.Name) {
				add(cp+".name", "container name %q: %s", c.Name, msg)
			}
			if slices.Contains(names, c.Name) {
				add(cp+".name", "container name %q is used twice", c.Name)
			}
			names = append(names, c.Name)
			switch c.ImagePullPolicy {
			case "", corev1.PullAlways, corev1.PullIfNotPresent, corev1.PullNever:
			default:
				add(cp+".imagePullPolicy", "must be Always, IfNotPresent or Never, not %q", c.ImagePullPolicy)
			}
			portNames := map[string]bool{}
			for j, p := range c.Ports {
				pp := fmt.Sprintf("%s.ports[%d]", cp, j)
				portRange(add, pp+".containerPort", p.ContainerPort)
				protocol(add, pp+".protocol", p.Protocol)
				if p.Name != "" {
					for _, msg := range validation.IsValidPortName(p.Name) {
						add(pp+".name", "port name %q: %s", p.Name, msg)
					}
					if portNames[p.Name] {
						add(pp+".name", "port name %q is used twice in the container", p.Name)
					}
					portNames[p.Name] = true
				}
			}
			for _, res := range sortedKeys(resourceNames(c.Resources.Requests)) {
				req := c.Resources.Requests[corev1.ResourceName(res)]
				if lim, ok := c.Resources.Limits[corev1.ResourceName(res)]; ok && req.Cmp(lim) > 0 {
					add(cp+".resources.requests."+res, "request %s is more than the limit %s", req.String(), lim.String())
				}
			}
		}
	}
}

func resourceNames(l corev1.ResourceList) map[string]bool {
	out := map[string]bool{}
	for k := range l {
		out[string(k)] = true
	}
	return out
}

// apiGroups are the groups whose kinds verify knows all of: an object in
// one of them that no scheme knows uses a removed or misspelled
// apiVersion or kind.
var apiGroups = []string{
	"", "apps", "batch", "policy", "autoscaling", "networking.k8s.io", "rbac.authorization.k8s.io",
	"storage.k8s.io", "scheduling.k8s.io", "coordination.k8s.io", "discovery.k8s.io",
	"admissionregistration.k8s.io", "apiextensions.k8s.io", "certificates.k8s.io", "node.k8s.io",
	"extensions",
}

// unknownBuiltin reports an object of a built-in group whose apiVersion
// and kind the Kubernetes version verify knows does not serve.
func unknownBuiltin(check string, o *kobject) []Finding {
	if obj := builtinObject(o.APIVersion, o.Kind); obj != nil {
		// Known to client-go, but maybe no longer served.
		if rm, ok := obj.(interface{ APILifecycleRemoved() (int, int) }); ok {
			major, minor := rm.APILifecycleRemoved()
			kv := kubeVersion()
			cur, _ := strconv.Atoi(kv.Minor)
			if major > 0 && (major < 1 || major == 1 && minor <= cur) {
				return []Finding{o.finding(check, yamlnode.Key(o.Doc.Root, "apiVersion"), "%s: %s %s is no longer served since Kubernetes %d.%d (linted for %s)",
					o.describe(), o.APIVersion, o.Kind, major, minor, kv.Version)}
			}
		}
		return nil
	}
	group := o.group()
	if !strings.Contains(o.APIVersion, "/") {
		group = ""
	}
	if !slices.Contains(apiGroups, group) {
		return nil
	}
	if group == "apiextensions.k8s.io" { // CustomResourceDefinition: not in client-go's scheme
		return nil
	}
	return []Finding{o.finding(check, yamlnode.Key(o.Doc.Root, "apiVersion"), "%s: %s %s is not served by Kubernetes %s (removed, or a misspelled kind)",
		o.describe(), o.APIVersion, o.Kind, kubeVersion().Version)}
}
