package verify

import "context"

// kubernetes checks plain manifests (YAML files outside charts): that they
// parse, and, for built-in kinds, what the helm check does for rendered
// objects: strict decoding into the Kubernetes type, the restricted Pod
// Security Standard and probe ports. Custom resources (Istio, Chaos Mesh,
// Prometheus Operator) have their own checks.
type kubernetes struct{}

func (kubernetes) Name() string { return "kubernetes" }

func (c kubernetes) Run(ctx context.Context, r *Repo) ([]Finding, error) {
	ms, err := r.manifests()
	if err != nil {
		return nil, err
	}
	if len(ms.Objects) == 0 && len(ms.Errors) == 0 {
		return nil, ErrNoInput
	}
	var out []Finding
	for _, f := range ms.Errors {
		f.Check = c.Name()
		out = append(out, f)
	}
	for _, o := range ms.Objects {
		out = append(out, checkBuiltin(c.Name(), o)...)
	}
	return out, nil
}
