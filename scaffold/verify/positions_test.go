package verify

import (
	"strings"
	"testing"
)

// A finding is placed where the text that must change is: the template
// line that wrote a value the template computed, the values file's line
// only when the value printed is the one set there, and for a
// cross-object problem the object whose text is wrong.
func TestPositionsInjections(t *testing.T) {
	const (
		rollout = "deploy/helm/payments/templates/rollout.yaml"
		vs      = "deploy/helm/payments/templates/virtualservice.yaml"
		values  = "deploy/helm/payments/values.yaml"
	)
	weightMsg := "rollouts: Rollout payments: spec.strategy.canary.steps[%s].setWeight: SetWeight needs to be between 0 and 100"
	at := func(file string, line, msg string) string { return file + ":" + line + ": " + msg }
	step := func(i string) string { return strings.Replace(weightMsg, "%s", i, 1) }
	runInjections(t, []injection{
		{name: "weights over 100 computed in the Rollout template", golden: "defaults", file: rollout,
			old: "        - setWeight: {{ .weight }}\n", new: "        - setWeight: {{ mul .weight 10 }}\n",
			want: []string{at(rollout, "46", step("3")), at(rollout, "46", step("6"))}},
		{name: "a weight over 100 written in the template (Argo CD variant)", golden: "argocd", file: rollout,
			old: "        - setWeight: {{ .weight }}\n", new: "        - setWeight: {{ .weight }}0\n",
			want: []string{at(rollout, "46", step("3")), at(rollout, "46", step("6"))}},
		{name: "a weight over 100 set in values.yaml: at that element", golden: "defaults", file: values,
			old: "    - weight: 50\n", new: "    - weight: 150\n",
			want: []string{
				at(values, "203", step("6")),
				at(values, "203", "helm: values: rollout.steps.2.weight: maximum: got 150, want 99"),
			}},
		{name: "a subset renamed in the VirtualService's helper", golden: "defaults", file: vs,
			old: "    subset: canary\n", new: "    subset: canari\n",
			want: []string{
				at(vs, "46", `rollouts: VirtualService payments: HTTP route "idempotent" has no destination with subset "canary", which Rollout payments shifts traffic to`),
				at(vs, "54", `rollouts: VirtualService payments: HTTP route "default" has no destination with subset "canary"`),
				at(vs, "47", `istio: VirtualService payments: subset "canari" is not defined by the DestinationRule`),
				at(vs, "55", `istio: VirtualService payments: subset "canari" is not defined by the DestinationRule`),
			}},
		{name: "a key misspelled in the VirtualService's helper: at the include, not values.yaml", golden: "argocd", file: vs,
			old: "    subset: canary\n", new: "    subsett: canary\n",
			want: []string{
				at(vs, "46", `rollouts: VirtualService payments: HTTP route "idempotent" has no destination with subset "canary"`),
				at(vs, "54", `rollouts: VirtualService payments: HTTP route "default" has no destination with subset "canary"`),
				at(vs, "47", `istio: VirtualService payments: spec: unknown field "subsett"`),
				at(vs, "55", `istio: VirtualService payments: spec: unknown field "subsett"`),
			}},
	})
}
