package verify

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"
)

// The Rollouts controller's own spec validation (pkg/apis/rollouts/
// validation in github.com/argoproj/argo-rollouts v1.10.2), which the CRD
// schema does not carry: a Rollout that breaks it is accepted by the API
// server and then sits in InvalidSpec, never rolling out. The messages are
// the controller's.

// rolloutSpecShape holds the fields these rules read.
type rolloutSpecShape struct {
	Spec struct {
		Selector    *json.RawMessage `json:"selector"`
		WorkloadRef *json.RawMessage `json:"workloadRef"`
		Strategy    struct {
			BlueGreen *struct {
				ActiveService  string `json:"activeService"`
				PreviewService string `json:"previewService"`
			} `json:"blueGreen"`
			Canary *struct {
				CanaryService  string `json:"canaryService"`
				StableService  string `json:"stableService"`
				TrafficRouting *struct {
					Istio *struct {
						DestinationRule *json.RawMessage `json:"destinationRule"`
					} `json:"istio"`
				} `json:"trafficRouting"`
				PingPong *json.RawMessage             `json:"pingPong"`
				Steps    []map[string]json.RawMessage `json:"steps"`
			} `json:"canary"`
		} `json:"strategy"`
	} `json:"spec"`
}

// rolloutSpecFindings applies the controller's rules to a Rollout that
// passed the schema.
func rolloutSpecFindings(check string, c crdObject) []Finding {
	var ro rolloutSpecShape
	if c.decode(&ro) != nil {
		return nil
	}
	o := c.o
	var out []Finding
	add := func(path, format string, args ...any) {
		out = append(out, o.finding(check, nodeAt(o, path), "%s: %s: %s", o.describe(), path, fmt.Sprintf(format, args...)))
	}
	spec := ro.Spec
	if spec.WorkloadRef == nil && spec.Selector == nil {
		add("spec.selector", "Rollout has missing field '.spec.selector'")
	}
	st := spec.Strategy
	switch {
	case st.BlueGreen == nil && st.Canary == nil:
		add("spec.strategy", "Rollout has missing field '.spec.strategy.canary or .spec.strategy.blueGreen'")
	case st.BlueGreen != nil && st.Canary != nil:
		add("spec.strategy", "Multiple Strategies can not be listed")
	case st.BlueGreen != nil:
		if bg := st.BlueGreen; bg.ActiveService != "" && bg.ActiveService == bg.PreviewService {
			add("spec.strategy.blueGreen.activeService", "This rollout uses the same service for the active and preview services, but two different services are required.")
		}
	case st.Canary != nil:
		cn := st.Canary
		if cn.CanaryService != "" && cn.CanaryService == cn.StableService {
			add("spec.strategy.canary.stableService", "This rollout uses the same service for the stable and canary services, but two different services are required.")
		}
		// Istio splitting by host (no DestinationRule) routes to the two
		// Services, so both must be set.
		if tr := cn.TrafficRouting; tr != nil && tr.Istio != nil && tr.Istio.DestinationRule == nil && cn.PingPong == nil {
			for _, f := range []struct{ key, v string }{{"stableService", cn.StableService}, {"canaryService", cn.CanaryService}} {
				if f.v == "" {
					add("spec.strategy.canary."+f.key, "Canary service and Stable service must to be set to use Traffic Routing")
				}
			}
		}
		for i, step := range cn.Steps {
			p := fmt.Sprintf("spec.strategy.canary.steps[%d]", i)
			n := 0
			for _, k := range []string{"setWeight", "pause", "experiment", "analysis"} {
				if _, ok := step[k]; ok {
					n++
				}
			}
			others := 0
			for _, k := range []string{"setCanaryScale", "setHeaderRoute", "setMirrorRoute", "plugin"} {
				if _, ok := step[k]; ok {
					others++
				}
			}
			switch {
			case n > 1:
				add(p, "Step must have one of the following set: experiment, setWeight, setCanaryScale, plugin or pause (this one has %d: make them steps of their own)", n)
			case n+others == 0:
				add(p, "Step must have one of the following set: experiment, setWeight, setCanaryScale, plugin or pause")
			}
			if w, ok := step["setWeight"]; ok {
				var v int64
				if json.Unmarshal(w, &v) == nil && (v < 0 || v > 100) {
					add(p+".setWeight", "SetWeight needs to be between 0 and 100")
				}
			}
			if raw, ok := step["pause"]; ok {
				var pause struct {
					Duration *json.RawMessage `json:"duration"`
				}
				if json.Unmarshal(raw, &pause) == nil && pause.Duration != nil && pauseSeconds(*pause.Duration) < 0 {
					add(p+".pause.duration", "Duration needs to be greater than 0")
				}
			}
		}
	}
	return out
}

// pauseSeconds is RolloutPause.DurationSeconds: an integer is seconds, a
// string is a duration with a unit (or an integer); -1 when it is neither.
func pauseSeconds(raw json.RawMessage) int64 {
	var n int64
	if json.Unmarshal(raw, &n) == nil {
		return n
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return -1
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return n
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return -1
	}
	return int64(d.Seconds())
}
