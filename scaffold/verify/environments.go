package verify

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path"
	"strconv"
	"strings"

	"github.com/paved-dev/paved/scaffold/internal/yamlnode"
	"go.yaml.in/yaml/v3"
)

// environments holds what deploys the service to each environment to what
// deploy/environments.yaml states for it, the one place the repository
// states it (the README's environments table says the same, and is held
// to it too): each Argo CD Application renders the chart with its own
// environment's values file into its namespace from its branch, with the
// sync policy promised; each deploy workflow job of an environment passes
// that environment's values file (and branch); each values file keeps at
// least the replicas promised. Production rendered with staging's values,
// or a sync policy that prunes without healing, deploys without a word
// from any other check.
type environments struct{}

func (environments) Name() string { return "environments" }

// environmentsFile is where a repository states its environments.
const environmentsFile = "deploy/environments.yaml"

// An environment is one entry of environmentsFile.
type environment struct {
	Name        string `yaml:"name"`
	ValuesFile  string `yaml:"valuesFile"`
	MinReplicas int    `yaml:"minReplicas"`
	ArgoCD      *struct {
		Application string `yaml:"application"`
		Namespace   string `yaml:"namespace"`
		Branch      string `yaml:"branch"`
		Sync        struct {
			Automated bool `yaml:"automated"`
			Prune     bool `yaml:"prune"`
			SelfHeal  bool `yaml:"selfHeal"`
		} `yaml:"sync"`
	} `yaml:"argocd"`

	line int // where the entry starts in environmentsFile
}

// where names the entry, for messages: "deploy/environments.yaml:12".
func (e *environment) where() string { return fmt.Sprintf("%s:%d", environmentsFile, e.line) }

// syncText is the promised sync policy in words.
func (e *environment) syncText() string {
	if e.ArgoCD == nil || !e.ArgoCD.Sync.Automated {
		return "manual"
	}
	s := "automated"
	if e.ArgoCD.Sync.Prune {
		s += ", prune"
	}
	if e.ArgoCD.Sync.SelfHeal {
		s += ", selfHeal"
	}
	return s
}

func (c environments) Run(ctx context.Context, r *Repo) ([]Finding, error) {
	src, err := r.Read(environmentsFile)
	if err != nil {
		return nil, ErrNoInput
	}
	envs, fs := parseEnvironments(src)
	if len(fs) > 0 || len(envs) == 0 {
		if len(fs) == 0 {
			fs = []Finding{{Path: environmentsFile, Line: 1, Col: 1, Message: "states no environment (environments: a list of name, valuesFile, minReplicas and, with Argo CD, argocd)"}}
		}
		return fs, nil
	}
	out := valuesFindings(r, envs)
	apps, err := r.objectsOf(ctx, "argoproj.io")
	if err != nil && !errors.Is(err, ErrNoInput) {
		return nil, err
	}
	for _, o := range apps {
		if o.Kind == "Application" {
			out = append(out, applicationFindings(c.Name(), o, envs)...)
		}
	}
	wf, err := r.eachFile(workflowFiles, func(file string, src []byte) ([]Finding, error) {
		return workflowEnvFindings(file, src, envs), nil
	})
	if err != nil && !errors.Is(err, ErrNoInput) {
		return nil, err
	}
	out = append(out, wf...)
	if readme, err := r.Read("README.md"); err == nil {
		out = append(out, readmeEnvFindings("README.md", readme, envs)...)
	}
	return out, nil
}

// parseEnvironments reads environmentsFile strictly: an unknown key is a
// finding, as a promise verify cannot hold.
func parseEnvironments(src []byte) ([]*environment, []Finding) {
	// Decoded twice: strictly (yaml.Node.Decode knows no KnownFields), and
	// as nodes for each entry's line.
	var strict struct {
		Environments []environment `yaml:"environments"`
	}
	dec := yaml.NewDecoder(bytes.NewReader(src))
	dec.KnownFields(true)
	if err := dec.Decode(&strict); err != nil {
		return nil, decodeFindings(environmentsFile, src, err)
	}
	var nodes struct {
		Environments []yaml.Node `yaml:"environments"`
	}
	if err := yaml.Unmarshal(src, &nodes); err != nil || len(nodes.Environments) != len(strict.Environments) {
		return nil, []Finding{{Path: environmentsFile, Line: 1, Col: 1, Message: "cannot read the environments"}}
	}
	var envs []*environment
	var out []Finding
	for i := range strict.Environments {
		n := &nodes.Environments[i]
		e := &strict.Environments[i]
		e.line = n.Line
		if e.Name == "" || e.ValuesFile == "" || path.Base(e.ValuesFile) != e.ValuesFile {
			out = append(out, Finding{Path: environmentsFile, Line: n.Line, Col: n.Column, Message: "an environment needs a name and a valuesFile (a file name beside the chart's values.yaml)"})
			continue
		}
		envs = append(envs, e)
	}
	return envs, out
}

// envOfValues returns the environment whose values file is name, or nil.
func envOfValues(envs []*environment, name string) *environment {
	for _, e := range envs {
		if e.ValuesFile == path.Base(name) {
			return e
		}
	}
	return nil
}

// valuesFindings checks each chart's values file of each environment: it
// exists, and the replicas it runs with (autoscaling.minReplicas when
// autoscaling is enabled, else replicaCount; over values.yaml) are at
// least the environment's minimum.
func valuesFindings(r *Repo, envs []*environment) []Finding {
	var out []Finding
	for _, dir := range r.chartDirs() {
		base := parseValues(r, path.Join(dir, "values.yaml"))
		for _, e := range envs {
			file := path.Join(dir, e.ValuesFile)
			if !r.Exists(file) {
				out = append(out, Finding{Path: environmentsFile, Line: e.line, Col: 1, Message: fmt.Sprintf("environment %s: its values file %s does not exist", e.Name, file)})
				continue
			}
			over := parseValues(r, file)
			// The winning node of a value: the environment's file, then values.yaml.
			get := func(keys ...string) (*yaml.Node, string) {
				if n := yamlnode.At(over, keys...); n != nil {
					return n, file
				}
				return yamlnode.At(base, keys...), path.Join(dir, "values.yaml")
			}
			n, at := get("replicaCount")
			what := "replicaCount"
			if en, _ := get("autoscaling", "enabled"); en != nil && en.Value == "true" {
				n, at = get("autoscaling", "minReplicas")
				what = "autoscaling.minReplicas"
			}
			if n == nil || e.MinReplicas == 0 {
				continue
			}
			if v, err := strconv.Atoi(n.Value); err == nil && v < e.MinReplicas {
				out = append(out, Finding{Path: at, Line: n.Line, Col: n.Column, Message: fmt.Sprintf("%s %d in %s: %s promises at least %d replicas in %s", what, v, e.Name, e.where(), e.MinReplicas, e.Name)})
			}
		}
	}
	return out
}

// parseValues parses a values file, nil when it does not parse (the helm
// check says where).
func parseValues(r *Repo, file string) *yaml.Node {
	src, err := r.Read(file)
	if err != nil {
		return nil
	}
	var n yaml.Node
	if yaml.Unmarshal(src, &n) != nil {
		return nil
	}
	return &n
}

// applicationFindings checks an Argo CD Application stated for an
// environment (by its name) against what the environment promises.
func applicationFindings(check string, o *kobject, envs []*environment) []Finding {
	var e *environment
	for _, c := range envs {
		if c.ArgoCD != nil && c.ArgoCD.Application == o.Name {
			e = c
		}
	}
	if e == nil {
		return nil
	}
	var out []Finding
	add := func(n *yaml.Node, format string, args ...any) {
		out = append(out, o.finding(check, n, "Application %s (%s): "+format, append([]any{o.Name, e.Name}, args...)...))
	}
	spec := yamlnode.Value(o.Doc.Root, "spec")
	source := yamlnode.Value(spec, "source")
	files := yamlnode.At(source, "helm", "valueFiles")
	switch {
	case files == nil || files.Kind != yaml.SequenceNode || len(files.Content) == 0:
		add(yamlnode.Value(source, "helm"), "renders the chart without %s, the values file %s states for %s", e.ValuesFile, e.where(), e.Name)
	default:
		has := false
		for _, f := range files.Content {
			if path.Base(f.Value) == e.ValuesFile {
				has = true
			} else if other := envOfValues(envs, f.Value); other != nil {
				add(f, "renders the chart with %s, the values file of %s; %s states %s for %s", f.Value, other.Name, e.where(), e.ValuesFile, e.Name)
			}
		}
		if !has {
			add(files, "renders the chart without %s, the values file %s states for %s", e.ValuesFile, e.where(), e.Name)
		}
	}
	if ns := yamlnode.At(spec, "destination", "namespace"); ns == nil || ns.Value != e.ArgoCD.Namespace {
		add(orNode(ns, yamlnode.Value(spec, "destination")), "deploys to namespace %q; %s states %q for %s", valueOf(ns), e.where(), e.ArgoCD.Namespace, e.Name)
	}
	if rev := yamlnode.Value(source, "targetRevision"); e.ArgoCD.Branch != "" && (rev == nil || rev.Value != e.ArgoCD.Branch) {
		add(orNode(rev, source), "tracks %q; %s states the branch %s for %s", valueOf(rev), e.where(), e.ArgoCD.Branch, e.Name)
	}
	policy := yamlnode.Value(spec, "syncPolicy")
	auto := yamlnode.Value(policy, "automated")
	got := "manual"
	// at is the line to edit: the first setting that breaks the promise.
	at := orNode(yamlnode.Key(policy, "automated"), orNode(yamlnode.Key(spec, "syncPolicy"), spec))
	if auto != nil {
		got = "automated"
		for _, s := range []struct {
			key  string
			want bool
		}{{"prune", e.ArgoCD.Sync.Prune}, {"selfHeal", e.ArgoCD.Sync.SelfHeal}} {
			b := yamlnode.Value(auto, s.key)
			on := b != nil && b.Value == "true"
			if on {
				got += ", " + s.key
			}
			if on != s.want && b != nil && at == yamlnode.Key(policy, "automated") {
				at = b
			}
		}
	}
	if want := e.syncText(); got != want {
		add(at, "syncs %s; %s promises %s for %s", got, e.where(), want, e.Name)
	}
	return out
}

func orNode(n, or *yaml.Node) *yaml.Node {
	if n != nil {
		return n
	}
	return or
}

func valueOf(n *yaml.Node) string {
	if n == nil {
		return ""
	}
	return n.Value
}

// workflowEnvFindings checks each job of a workflow that deploys to a
// stated environment (its environment: key): the values file and branch
// its steps name (env VALUES_FILE and BRANCH, and any values file in a
// run script) are the environment's own.
func workflowEnvFindings(file string, src []byte, envs []*environment) []Finding {
	var root yaml.Node
	if yaml.Unmarshal(src, &root) != nil {
		return nil // the workflows check reports it
	}
	var out []Finding
	add := func(n *yaml.Node, format string, args ...any) {
		out = append(out, Finding{Path: file, Line: n.Line, Col: n.Column, Message: fmt.Sprintf(format, args...)})
	}
	jobs := yamlnode.Value(&root, "jobs")
	for jobKey, job := range yamlnode.Pairs(jobs) {
		envNode := yamlnode.Value(job, "environment")
		if envNode != nil && envNode.Kind == yaml.MappingNode {
			envNode = yamlnode.Value(envNode, "name")
		}
		if envNode == nil {
			continue
		}
		var e *environment
		for _, c := range envs {
			if c.Name == envNode.Value {
				e = c
			}
		}
		if e == nil {
			continue
		}
		name := jobKey.Value
		steps := yamlnode.Value(job, "steps")
		if steps == nil {
			continue
		}
		for _, step := range steps.Content {
			if v := yamlnode.At(step, "env", "VALUES_FILE"); v != nil && v.Value != e.ValuesFile {
				add(v, "job %s deploys to %s with VALUES_FILE %s; %s states %s for %s", name, e.Name, v.Value, e.where(), e.ValuesFile, e.Name)
			}
			if v := yamlnode.At(step, "env", "BRANCH"); v != nil && e.ArgoCD != nil && e.ArgoCD.Branch != "" && v.Value != e.ArgoCD.Branch {
				add(v, "job %s deploys to %s through branch %s; %s states %s for %s", name, e.Name, v.Value, e.where(), e.ArgoCD.Branch, e.Name)
			}
			if run := yamlnode.Value(step, "run"); run != nil {
				for _, other := range envs {
					if other != e && other.ValuesFile != e.ValuesFile && strings.Contains(run.Value, other.ValuesFile) {
						add(run, "job %s deploys to %s with %s, the values file of %s; %s states %s for %s", name, e.Name, other.ValuesFile, other.Name, e.where(), e.ValuesFile, e.Name)
					}
				}
			}
		}
	}
	return out
}

// readmeEnvFindings holds the README's environments table (the one whose
// header starts "| Environment |") to environmentsFile: one row per
// environment, each saying what the file states.
func readmeEnvFindings(file string, src []byte, envs []*environment) []Finding {
	lines := strings.Split(string(src), "\n")
	header := -1
	for i, l := range lines {
		if strings.HasPrefix(l, "| Environment |") {
			header = i
			break
		}
	}
	if header < 0 {
		return nil
	}
	rows := map[string]int{} // environment name: line index
	for i := header + 2; i < len(lines) && strings.HasPrefix(lines[i], "|"); i++ {
		cells := tableCells(lines[i])
		if len(cells) > 0 {
			rows[cells[0]] = i
		}
	}
	var out []Finding
	for _, e := range envs {
		want := readmeEnvRow(e)
		i, ok := rows[e.Name]
		switch {
		case !ok:
			out = append(out, Finding{Path: file, Line: header + 1, Col: 1, Message: fmt.Sprintf("the environments table has no row for %s, which %s states", e.Name, e.where())})
		case strings.Join(tableCells(lines[i]), "|") != strings.Join(want, "|"):
			out = append(out, Finding{Path: file, Line: i + 1, Col: 1, Message: fmt.Sprintf("the environments table says %q for %s; %s states %q", strings.Join(tableCells(lines[i]), " | "), e.Name, e.where(), strings.Join(want, " | "))})
		}
	}
	return out
}

// readmeEnvRow is an environment's row of the README's table: name, values
// file, replicas at least, and with Argo CD the Application, namespace,
// branch and sync policy.
func readmeEnvRow(e *environment) []string {
	row := []string{e.Name, e.ValuesFile, strconv.Itoa(e.MinReplicas)}
	if e.ArgoCD != nil {
		row = append(row, e.ArgoCD.Application, e.ArgoCD.Namespace, e.ArgoCD.Branch, e.syncText())
	}
	return row
}

// tableCells splits a Markdown table row into its cells, code spans
// unquoted.
func tableCells(line string) []string {
	line = strings.TrimSpace(line)
	line = strings.TrimSuffix(strings.TrimPrefix(line, "|"), "|")
	var cells []string
	for _, c := range strings.Split(line, "|") {
		cells = append(cells, strings.Trim(strings.TrimSpace(c), "`"))
	}
	return cells
}
