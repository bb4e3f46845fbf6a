package verify

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// TestControls: each directory under testdata/verify/_controls overlays
// the base like a case, in a shape a correct repository takes (a chart
// that renders a Rollout with its VirtualService, DestinationRule,
// AnalysisTemplate and an HPA on the Rollout; Argo CD Applications), and
// every check passes on it, with the checks it is about running.
func TestControls(t *testing.T) {
	dirs, err := os.ReadDir("../../testdata/verify/_controls")
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range dirs {
		t.Run(d.Name(), func(t *testing.T) {
			rep := runClean(t, caseRepo(t, filepath.Join("../../testdata/verify/_controls", d.Name())))
			for _, c := range []string{"rollouts", "argocd", "istio", "references"} {
				if !slices.Contains(rep.Ran, c) {
					t.Errorf("check %s did not run (skipped: %v)", c, rep.Skipped)
				}
			}
		})
	}
}
