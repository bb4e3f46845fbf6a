package templatetest

import (
	"archive/zip"
	"bytes"
	"context"
	"strings"

	"github.com/paved-dev/paved/scaffold"
)

// Case is one answer set of a built-in template.
type Case struct {
	Name   string
	Module string
	Set    []string // KEY=VALUE answers; the rest take their defaults
	// SameCode names a case whose rendered files this one shares but for
	// those only the verify gate reads (VerifyOnly): the end-to-end test
	// runs only that gate.
	SameCode string
}

// VerifyOnly reports whether a rendered path is read by no gate of a
// generated repository's `mage ci` but verify: the deployment manifests,
// the workflows, paved's answers and lock, and the README.
func VerifyOnly(path string) bool {
	switch path {
	case "README.md", scaffold.AnswersFileName, scaffold.LockFileName:
		return true
	}
	return strings.HasPrefix(path, "deploy/") || strings.HasPrefix(path, ".github/workflows/")
}

// ServiceCases cover every question and every conditional file of the
// service template. The golden, end-to-end and API-server tests all use them.
var ServiceCases = []Case{
	{Name: "defaults", Module: "example.com/acme/payments"},
	{Name: "no-kubernetes", Module: "example.com/acme/ledger", Set: []string{"Kubernetes=false"}},
	{Name: "kubernetes-no-chaos", Module: "github.com/acme/orders", Set: []string{"Chaos=false", "SLOTarget=99.95", "Coverage=90", "License=MIT", "Owners=@acme/orders-team @acme/sre"}},
	{Name: "unusual-names", Module: "example.com/acme/billing-api-gateway-for-eu2-region/v2",
		Set: []string{"Name=b2b-billing-api-gateway-for-eu2-region1", "Description=Billing API: \"quoted\" & <escaped>", "Registry=registry.example.com:5000/team-9/apps", "GitHubRepo=acme-9/billing.api", "License=BSD-3-Clause"}},
	// The defaults but Delivery: the same module, so the same code.
	{Name: "argocd", Module: "example.com/acme/payments", Set: []string{"Delivery=argocd"}, SameCode: "defaults"},
}

// RenderCase renders the template directory dir as its embedded zip would
// hold it (Zip's file selection), with a case's answers, as built-in
// template name at version. Nothing is written.
func RenderCase(ctx context.Context, dir, name string, c Case, version string) (*scaffold.Plan, []scaffold.File, error) {
	data, err := Zip(ctx, dir)
	if err != nil {
		return nil, nil, err
	}
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return nil, nil, err
	}
	r := &scaffold.Resolver{Builtins: scaffold.Builtins{name: zr}, BuiltinVersion: version}
	plan, err := scaffold.Prepare(ctx, r, name, c.Module, version, scaffold.AnswerInput{Set: c.Set})
	if err != nil {
		return nil, nil, err
	}
	files, err := plan.Render(ctx)
	return plan, files, err
}
