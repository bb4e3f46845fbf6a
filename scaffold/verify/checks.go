package verify

// Checks returns every check, in the order they are listed and reported:
// the repository's own configuration first (workflows, Dependabot, lint,
// release, images), then what it deploys (the chart and the plain
// manifests, then the custom resources on top of them), then the checks
// that compare files with each other. Adding a check is adding a file and
// a line here.
func Checks() []Check {
	return []Check{
		workflows{},
		dependabot{},
		golangci{},
		goreleaser{},
		dockerfile{},
		goenv{},
		helm{},
		kubernetes{},
		istio{},
		chaos{},
		rollouts{},
		argocd{},
		environments{},
		prometheus{},
		references{},
		consistency{},
	}
}

// Names lists the check names, in the order of Checks.
func Names() []string {
	var names []string
	for _, c := range Checks() {
		names = append(names, c.Name())
	}
	return names
}
