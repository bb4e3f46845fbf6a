package verify

import "testing"

// Each environment's objects are held to what deploy/environments.yaml
// states for it: a defect here deploys without a word from any other check.
func TestEnvironmentsInjections(t *testing.T) {
	const (
		prodApp  = "deploy/argocd/application-production.yaml"
		stageApp = "deploy/argocd/application-staging.yaml"
	)
	runInjections(t, []injection{
		{name: "production Application renders with staging's values", golden: "argocd", file: prodApp,
			old: "        - values-prod.yaml\n", new: "        - values-staging.yaml\n",
			want: []string{
				prodApp + ":29: environments: Application payments-production (production): renders the chart with values-staging.yaml, the values file of staging",
				prodApp + ":29: environments: Application payments-production (production): renders the chart without values-prod.yaml",
			}},
		{name: "staging Application adds production's values", golden: "argocd", file: stageApp,
			old: "        - values-staging.yaml\n", new: "        - values-staging.yaml\n        - values-prod.yaml\n",
			want: []string{stageApp + ":30: environments: Application payments-staging (staging): renders the chart with values-prod.yaml, the values file of production"}},
		{name: "prune without selfHeal", golden: "argocd", file: prodApp,
			old: "      selfHeal: true\n", new: "      selfHeal: false\n",
			want: []string{prodApp + ":43: environments: Application payments-production (production): syncs automated, prune; deploy/environments.yaml:15 promises automated, prune, selfHeal"}},
		{name: "automated sync removed", golden: "argocd", file: stageApp,
			old: "    automated:\n      prune: true\n      selfHeal: true\n", new: "",
			want: []string{stageApp + ": environments: Application payments-staging (staging): syncs manual; deploy/environments.yaml:7 promises automated, prune, selfHeal"}},
		{name: "production Application in staging's namespace", golden: "argocd", file: prodApp,
			old: "    namespace: payments-production\n", new: "    namespace: payments-staging\n",
			want: []string{prodApp + ":32: environments: Application payments-production (production): deploys to namespace \"payments-staging\""}},
		{name: "deploy job of production with staging's values (helm)", golden: "defaults", file: ".github/workflows/deploy.yml",
			old: "          VALUES_FILE: values-prod.yaml\n", new: "          VALUES_FILE: values-staging.yaml\n",
			want: []string{".github/workflows/deploy.yml:393: environments: job production deploys to production with VALUES_FILE values-staging.yaml; deploy/environments.yaml:10 states values-prod.yaml"}},
		{name: "deploy job of production commits to staging's branch (argocd)", golden: "argocd", file: ".github/workflows/deploy.yml",
			old: "          BRANCH: deploy/production\n", new: "          BRANCH: deploy/staging\n",
			want: []string{".github/workflows/deploy.yml:276: environments: job production deploys to production through branch deploy/staging"}},
		{name: "production replicas under the promise", golden: "defaults", file: "deploy/helm/payments/values-prod.yaml",
			old: "  minReplicas: 3\n", new: "  minReplicas: 2\n",
			want: []string{"deploy/helm/payments/values-prod.yaml:11: environments: autoscaling.minReplicas 2 in production: deploy/environments.yaml:10 promises at least 3 replicas in production"}},
		{name: "README table drifts from the file", golden: "defaults", file: "README.md",
			old: "| `production` | `values-prod.yaml` | 3 |\n", new: "| `production` | `values-prod.yaml` | 2 |\n",
			want: []string{"README.md:327: environments: the environments table says \"production | values-prod.yaml | 2\" for production"}},
		{name: "a promise the file states wrongly", golden: "defaults", file: "deploy/environments.yaml",
			old: "    minReplicas: 3\n", new: "    minReplicas: 4\n",
			want: []string{
				"deploy/helm/payments/values-prod.yaml:11: environments: autoscaling.minReplicas 3 in production: deploy/environments.yaml:10 promises at least 4 replicas",
				"README.md:327: environments: the environments table says \"production | values-prod.yaml | 3\"",
			}},
		{name: "an unknown key in the file", golden: "defaults", file: "deploy/environments.yaml",
			old: "    minReplicas: 3\n", new: "    minReplica: 3\n",
			want: []string{"deploy/environments.yaml:12: environments: field minReplica not found"}},
	})
}

// FuzzParseEnvironments: whatever deploy/environments.yaml holds, reading
// it never panics, and every finding is placed in the file.
func FuzzParseEnvironments(f *testing.F) {
	f.Add([]byte("environments:\n  - name: staging\n    valuesFile: values-staging.yaml\n    minReplicas: 2\n"))
	f.Add([]byte("environments:\n  - name: p\n    valuesFile: ../x\n    argocd: {sync: {automated: yes}}\n"))
	f.Add([]byte("environments: [1, {minReplica: 3}]\n"))
	f.Fuzz(func(t *testing.T, src []byte) {
		envs, fs := parseEnvironments(src)
		for _, f := range fs {
			if f.Path != environmentsFile || f.Line < 1 || f.Col < 1 {
				t.Fatalf("finding out of place: %+v", f)
			}
		}
		for _, e := range envs {
			if e.Name == "" || e.ValuesFile == "" {
				t.Fatalf("environment without name or values file: %+v", e)
			}
		}
	})
}
